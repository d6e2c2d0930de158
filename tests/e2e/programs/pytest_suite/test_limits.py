# A small suite for tests/e2e/test_pytest_plugin.py (run with pytest --heapshape).
import pytest

LEAK = []


@pytest.mark.limit_memory("1 MB")
def test_over_limit():
    data = [bytes(1000) for _ in range(3000)]  # OVER_LINE: about 3 MB at the peak
    assert len(data) == 3000


@pytest.mark.limit_memory("1 MB")
def test_under_limit():
    data = [bytes(100) for _ in range(100)]
    assert len(data) == 100


@pytest.mark.limit_leaks("100 KB")
def test_leaks():
    LEAK.extend(bytes(1000) for _ in range(500))  # LEAK_LINE


@pytest.mark.limit_leaks("1 MB")
def test_leaks_within_limit():
    LEAK.extend(bytes(1000) for _ in range(100))


def test_unmarked():
    assert sum(range(10)) == 45
