#!/usr/bin/env python3
"""A TCP relay that holds every byte for DELAY_MS in each direction: a long link on loopback.

    benches/delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

Used by `RTT_MS=... benches/ssh.sh` (round trip = 2 x DELAY_MS). Bandwidth is not limited and
nothing is dropped, so a transfer through it is bounded by how much data each side keeps in
flight (the SSH window, the SFTP requests outstanding), as on a real long link. Memory is bounded
the same way: a relay holds at most what the sender may have in flight. Prints "ready" once
listening.
"""

import asyncio
import sys

CHUNK = 256 * 1024


async def relay(reader, writer, delay):
    """Copies reader to writer, each chunk released `delay` seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def release():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    releasing = asyncio.create_task(release())
    try:
        while True:
            data = await reader.read(CHUNK)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                break
        await releasing
    except (ConnectionError, asyncio.CancelledError):
        releasing.cancel()


async def serve(listen_port, target_port, delay):
    async def accepted(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            relay(client_reader, server_writer, delay),
            relay(server_reader, client_writer, delay),
            return_exceptions=True,
        )
        for writer in (client_writer, server_writer):
            writer.close()

    server = await asyncio.start_server(accepted, "127.0.0.1", listen_port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000))
