"""heapshape 'bytesio': realloc-heavy buffers: bytearray += in small pieces, io.BytesIO
written and read back, bytes joined (ITERATIONS buffers of about 256 KB)."""
import io

from _common import iterations, report

n = iterations(120)
digest = 0
for r in range(n):
    ba = bytearray()
    chunk = bytes(range(r % 200, r % 200 + 50))
    for i in range(5000):
        ba += chunk
    bio = io.BytesIO()
    for i in range(4000):
        bio.write(chunk)
        if i % 1000 == 999:
            bio.seek(0, io.SEEK_END)
    data = bio.getvalue()
    pieces = [bytes(ba[i:i + 4096]) for i in range(0, len(ba), 4096)]
    joined = b"".join(pieces)
    digest = (digest + len(ba) + len(data) + len(joined) + joined[r % len(joined)]) % 1_000_003
report("bytesio", n, "%d" % digest)
