"""heapshape 'asyncio_server': an asyncio TCP server on 127.0.0.1 (a port the kernel picks)
answering ITERATIONS requests from 50 client connections in the same process; each request
is a line, each answer a small JSON document built from a dict."""
import asyncio
import json

from _common import iterations, report

n = iterations(10_000)
CLIENTS = 50


async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        key, _, num = line.decode().strip().partition(" ")
        body = json.dumps({"key": key, "n": int(num), "items": [int(num) * k for k in range(8)],
                           "ok": True})
        writer.write(body.encode() + b"\n")
        await writer.drain()
    writer.close()


async def client(port, count, cid):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    total = 0
    for i in range(count):
        writer.write(("k%d %d\n" % (cid, i)).encode())
        await writer.drain()
        total += json.loads(await reader.readline())["items"][-1]
    writer.close()
    await writer.wait_closed()
    return total


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    per = [n // CLIENTS + (1 if c < n % CLIENTS else 0) for c in range(CLIENTS)]
    totals = await asyncio.wait_for(
        asyncio.gather(*(client(port, per[c], c) for c in range(CLIENTS))), 120)
    server.close()
    await server.wait_closed()
    return sum(totals)


report("asyncio_server", n, "%d" % asyncio.run(main()))
