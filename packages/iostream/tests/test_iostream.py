"""IOStream-specific tests: construction, connect, set_nodelay, fd methods.

The behaviour shared by every kind of stream is in test_iostream_conformance.py.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from squall.ioloop import IOLoop
from squall.iostream import IOStream, StreamClosedError


def test_connect_read_write_close(io_loop: IOLoop) -> None:
    async def main() -> None:
        server = socket.create_server(("127.0.0.1", 0))
        server.setblocking(False)
        port = server.getsockname()[1]
        client = IOStream(socket.socket())
        connecting = client.connect(("127.0.0.1", port))
        client.write(b"written while connecting\n")
        conn, _ = await asyncio.get_running_loop().sock_accept(server)
        served = IOStream(conn)
        assert await connecting is client
        assert await served.read_until(b"\n") == b"written while connecting\n"
        await served.write(b"reply")
        assert await client.read_bytes(5) == b"reply"
        client.close()
        with pytest.raises(StreamClosedError):
            await served.read_bytes(1)
        assert served.closed()
        server.close()

    io_loop.run_sync(main)


def test_connect_refused(io_loop: IOLoop) -> None:
    async def main() -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.close()  # nobody listens on the port any more
        stream = IOStream(socket.socket())
        with pytest.raises(StreamClosedError) as info:
            await stream.connect(("127.0.0.1", port))
        assert isinstance(info.value.real_error, ConnectionRefusedError)
        assert stream.closed()
        assert stream.error is info.value.real_error

    io_loop.run_sync(main)
