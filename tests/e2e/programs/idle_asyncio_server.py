"""An asyncio TCP server that builds its data, says "ready" and then waits for clients that
never come (test_interval)."""
import asyncio

cache = {"k%d" % i: str(i) * 3 for i in range(50000)}  # CACHE


async def handle(reader, writer):
    writer.write(cache.get((await reader.readline()).decode().strip(), "").encode())
    await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
