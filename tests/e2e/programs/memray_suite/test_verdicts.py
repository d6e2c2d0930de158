# limit_memory verdicts, heapshape against pytest-memray: each workload runs twice, once with a
# limit well below what it allocates at its high-water mark and once well above, so both tools
# must agree on every test (pytest-memray counts pymalloc arenas, heapshape the blocks in them;
# the limits leave room for that). Expected verdicts: expected_verdicts.json, recorded from a
# real pytest-memray run by bench/memray_verdicts.py; tests/e2e/test_memray_verdicts.py checks
# heapshape's against them.
import io
import threading
import time

import numpy as np
import pytest

import helpers

MB = 1 << 20
CACHE = [bytearray(30 * MB)]  # allocated at import, freed by test_frees_older_memory_*


def big40():
    b = bytearray(40_000_000)
    time.sleep(0.05)
    del b


def ten_by_4():
    for _ in range(10):
        b = bytearray(4 * MB)
        time.sleep(0.005)
        del b


def realloc_grow():
    b = bytearray()
    chunk = bytes(MB)
    for _ in range(32):
        b += chunk  # bytearray's buffer grows with realloc
    return len(b)


def thread_big():
    def work():
        b = bytearray(30 * MB)
        time.sleep(0.02)
        del b
    t = threading.Thread(target=work)
    t.start()
    t.join()


def threads_together():
    barrier = threading.Barrier(8)

    def work():
        b = bytearray(4 * MB)
        barrier.wait()  # all eight buffers live at once
        time.sleep(0.01)
        del b
    ts = [threading.Thread(target=work) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def numpy_ones():
    a = np.ones(5_000_000)  # 40 MB
    return float(a.sum())


def numpy_temporaries():
    a = np.arange(2_000_000, dtype=np.float64)  # 16 MB
    return float((a * 2 + 1).sum())  # two 16 MB temporaries


def generator_chunks():
    return sum(len(c) for c in helpers.chunks(10, 8 * MB))


def helper_buffers():
    bufs = helpers.make_buffers(20, MB)
    return len(bufs)


def small_tuples():
    data = [(i, i + 1) for i in range(400_000)]
    return len(data)


def dict_build():
    d = {i: str(i) for i in range(200_000)}
    return len(d)


def short_lived_loop():
    for _ in range(100):
        b = bytearray(2 * MB)
        del b


def string_join():
    return len("".join([str(i) for i in range(500_000)]))


def bytesio_writes():
    f = io.BytesIO()
    chunk = bytes(MB)
    for _ in range(16):
        f.write(chunk)
    return len(f.getvalue())


@pytest.fixture
def fixture_50mb():
    return bytearray(50 * MB)  # allocated by the fixture: not the test's


@pytest.mark.limit_memory("10 MB")
def test_big40_low():
    big40()


@pytest.mark.limit_memory("64 MB")
def test_big40_high():
    big40()


@pytest.mark.limit_memory("2 MB")
def test_ten_by_4_low():
    ten_by_4()


@pytest.mark.limit_memory("8 MB")
def test_ten_by_4_high():
    ten_by_4()


@pytest.mark.limit_memory("16 MB")
def test_realloc_grow_low():
    realloc_grow()


@pytest.mark.limit_memory("80 MB")
def test_realloc_grow_high():
    realloc_grow()


@pytest.mark.limit_memory("10 MB")
def test_thread_big_low():
    thread_big()


@pytest.mark.limit_memory("64 MB")
def test_thread_big_high():
    thread_big()


@pytest.mark.limit_memory("16 MB")
def test_threads_together_low():
    threads_together()


@pytest.mark.limit_memory("80 MB")
def test_threads_together_high():
    threads_together()


@pytest.mark.limit_memory("10 MB")
def test_numpy_ones_low():
    numpy_ones()


@pytest.mark.limit_memory("64 MB")
def test_numpy_ones_high():
    numpy_ones()


@pytest.mark.limit_memory("20 MB")
def test_numpy_temporaries_low():
    numpy_temporaries()


@pytest.mark.limit_memory("100 MB")
def test_numpy_temporaries_high():
    numpy_temporaries()


@pytest.mark.limit_memory("4 MB")
def test_generator_chunks_low():
    generator_chunks()


@pytest.mark.limit_memory("40 MB")
def test_generator_chunks_high():
    generator_chunks()


@pytest.mark.limit_memory("8 MB")
def test_helper_buffers_low():
    helper_buffers()


@pytest.mark.limit_memory("48 MB")
def test_helper_buffers_high():
    helper_buffers()


@pytest.mark.limit_memory("8 MB")
def test_small_tuples_low():
    small_tuples()


@pytest.mark.limit_memory("128 MB")
def test_small_tuples_high():
    small_tuples()


@pytest.mark.limit_memory("4 MB")
def test_dict_build_low():
    dict_build()


@pytest.mark.limit_memory("96 MB")
def test_dict_build_high():
    dict_build()


@pytest.mark.limit_memory("1 MB")
def test_short_lived_loop_low():
    short_lived_loop()


@pytest.mark.limit_memory("8 MB")
def test_short_lived_loop_high():
    short_lived_loop()


@pytest.mark.limit_memory("8 MB")
def test_string_join_low():
    string_join()


@pytest.mark.limit_memory("128 MB")
def test_string_join_high():
    string_join()


@pytest.mark.limit_memory("8 MB")
def test_bytesio_writes_low():
    bytesio_writes()


@pytest.mark.limit_memory("96 MB")
def test_bytesio_writes_high():
    bytesio_writes()


@pytest.mark.limit_memory("512 KB")
def test_fixture_memory_not_counted_low(fixture_50mb):
    b = bytearray(MB)
    del b


@pytest.mark.limit_memory("10 MB")
def test_fixture_memory_not_counted_high(fixture_50mb):
    b = bytearray(MB)
    del b


# Freeing memory older than the test gives it nothing to spend: 20 MB allocated after 30 MB
# of the module's were freed still counts 20 MB (a "net growth" measure would say -10 MB).
@pytest.mark.limit_memory("10 MB")
def test_frees_older_memory_low():
    CACHE.clear()
    b = bytearray(20 * MB)
    del b


@pytest.mark.limit_memory("48 MB")
def test_frees_older_memory_high():
    b = bytearray(20 * MB)
    del b


def test_unmarked_big():
    b = bytearray(100 * MB)
    del b
