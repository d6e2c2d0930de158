"""Known allocations for the export and report tests (test_export.py, test_html_report.py):
2,000 bytearrays of 10,000 bytes kept alive at the BUFFERS line, reached as
main() -> build() -> that line; 120,000 two-field dicts at the RECORDS line (advice: numpy
columns); 300 bytearrays of 100,000 bytes (30 MB) at the TEMP line, freed before exit, so the peak view differs
from the exit view. HS_KNOWN_N changes the number of bytearrays (the diff report test)."""
import os

N = int(os.environ.get("HS_KNOWN_N", "2000"))


def build(n):
    out = []
    for _ in range(n):
        out.append(bytearray(10_000))  # BUFFERS
    return out


def records(n):
    rows = []
    for i in range(n):
        rows.append({"x": float(i) + 0.5, "y": float(i) * 2.0 + 0.25})  # RECORDS
    return rows


def spike():
    tmp = []
    for _ in range(300):
        tmp.append(bytearray(100_000))  # TEMP
    return len(tmp)


def main():
    keep = build(N)  # MAIN
    rows = records(120_000)
    spike()
    return keep, rows


if __name__ == "__main__":
    KEPT = main()
