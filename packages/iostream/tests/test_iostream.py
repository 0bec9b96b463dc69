"""IOStream-specific tests: construction, connect, set_nodelay, fd methods.

The behaviour shared by every kind of stream is in test_iostream_conformance.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from squall.ioloop import IOLoop
from squall.iostream import BaseIOStream, IOStream, StreamClosedError


def run(io_loop: IOLoop, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    async def main_then_settle() -> None:
        await main()
        for _ in range(5):  # let closing transports finish closing
            await asyncio.sleep(0)

    io_loop.run_sync(main_then_settle)


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

    run(io_loop, main)


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

    run(io_loop, main)


def test_operations_before_the_transport_exists(io_loop: IOLoop) -> None:
    async def main() -> None:
        a, b = socket.socketpair()
        left, right = IOStream(a), IOStream(b)
        # Nothing is attached yet: these are queued, then carried out.
        writing = left.write(b"early bird\n")
        assert left.writing()
        reading = right.read_until(b"\n")
        assert right.reading()
        assert await asyncio.wait_for(reading, 10) == b"early bird\n"
        await asyncio.wait_for(writing, 10)
        assert not left.writing()
        left.close()
        right.close()

    run(io_loop, main)


def test_close_before_the_transport_exists(io_loop: IOLoop) -> None:
    async def main() -> None:
        a, b = socket.socketpair()
        left = IOStream(a)
        writing = left.write(b"never sent")
        left.close()
        with pytest.raises(StreamClosedError):
            await writing
        right = IOStream(b)
        assert await asyncio.wait_for(right.read_until_close(), 10) == b""
        for _ in range(5):
            await asyncio.sleep(0)
        assert a.fileno() == -1

    run(io_loop, main)


def test_close_while_connecting(io_loop: IOLoop) -> None:
    async def main() -> None:
        # A listener that never accepts: the connection stays in its backlog,
        # or (to an unroutable address) in progress.
        with socket.create_server(("127.0.0.1", 0)) as listener:
            stream = IOStream(socket.socket())
            connecting = stream.connect(listener.getsockname())
            stream.close()
            with pytest.raises(StreamClosedError):
                await connecting
            for _ in range(5):
                await asyncio.sleep(0)
            assert stream.socket.fileno() == -1

    run(io_loop, main)


def test_connect_twice_is_an_error(io_loop: IOLoop) -> None:
    async def main() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            stream = IOStream(socket.socket())
            connecting = stream.connect(listener.getsockname())
            with pytest.raises(RuntimeError):
                stream.connect(listener.getsockname())
            await connecting
            stream.close()

    run(io_loop, main)


def test_connect_by_host_name(io_loop: IOLoop) -> None:
    async def main() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            stream = IOStream(socket.socket(socket.AF_INET))
            assert await stream.connect(("localhost", listener.getsockname()[1])) is stream
            stream.close()

    run(io_loop, main)


def test_connect_callback_is_deprecated(io_loop: IOLoop) -> None:
    async def main() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            stream = IOStream(socket.socket())
            connected = asyncio.get_running_loop().create_future()
            with pytest.deprecated_call():
                stream.connect(listener.getsockname(), callback=lambda: connected.set_result(1))
            assert await asyncio.wait_for(connected, 10) == 1
            stream.close()

    run(io_loop, main)


def test_set_nodelay(io_loop: IOLoop) -> None:
    async def main() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            stream = IOStream(socket.socket())
            await stream.connect(listener.getsockname())
            sock = stream.socket
            stream.set_nodelay(False)
            assert not sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            stream.set_nodelay(True)
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            stream.close()
            stream.set_nodelay(True)  # closed: nothing to do
        a, b = socket.socketpair()
        unix = IOStream(a)
        unix.set_nodelay(True)  # not TCP: nothing to do
        unix.close()
        b.close()

    run(io_loop, main)


def test_half_closed_peer_still_gets_the_answer(io_loop: IOLoop) -> None:
    async def main() -> None:
        # Like `printf 'GET ...' | nc`: the client sends its request, then
        # shuts down its sending side, and waits for the response.
        a, b = socket.socketpair()
        server = IOStream(a)
        b.sendall(b"request\n")
        b.shutdown(socket.SHUT_WR)
        assert await asyncio.wait_for(server.read_until(b"\n"), 10) == b"request\n"
        for _ in range(5):
            await asyncio.sleep(0)  # the EOF arrives meanwhile
        assert not server.closed()
        await asyncio.wait_for(server.write(b"response\n"), 10)
        # The next read finds the end of the stream.
        with pytest.raises(StreamClosedError):
            await asyncio.wait_for(server.read_bytes(1), 10)
        assert server.closed()
        b.setblocking(False)
        assert await asyncio.get_running_loop().sock_recv(b, 100) == b"response\n"
        b.close()

    run(io_loop, main)


def test_fd_methods(io_loop: IOLoop) -> None:
    async def main() -> None:
        a, b = socket.socketpair()
        stream = IOStream(a)
        assert stream.fileno() == a.fileno()
        assert stream.get_fd_error() is None
        assert stream.read_from_fd() is None  # nothing to read
        assert stream.write_to_fd(memoryview(b"raw")) == 3
        assert b.recv(3) == b"raw"
        b.send(b"xy")
        buf = bytearray(4)
        # (The stream has no transport yet: nobody else reads the socket.)
        assert stream.read_from_fd(buf) == 2
        assert buf[:2] == b"xy"
        stream.close()
        b.close()

    run(io_loop, main)


def test_reset_socket_before_the_stream(io_loop: IOLoop) -> None:
    async def main() -> None:
        import struct

        with socket.create_server(("127.0.0.1", 0)) as listener:
            client = socket.create_connection(listener.getsockname())
            conn, _ = listener.accept()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # a reset
        stream = IOStream(conn)
        with pytest.raises(StreamClosedError) as info:
            await asyncio.wait_for(stream.read_bytes(1), 10)
        assert isinstance(info.value.real_error, ConnectionResetError)

    run(io_loop, main)


def test_tornado4_positional_io_loop(io_loop: IOLoop) -> None:
    async def main() -> None:
        a, b = socket.socketpair()
        with pytest.deprecated_call():
            stream = IOStream(a, io_loop, 1024)
        assert stream.io_loop is io_loop
        assert stream.max_buffer_size == 1024
        stream.close()
        b.close()

    run(io_loop, main)


def test_close_linger_aborts_a_peer_that_never_reads(
    io_loop: IOLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from squall._iostream import _base

    monkeypatch.setattr(_base, "CLOSE_LINGER_SECONDS", 0.05)

    async def main() -> None:
        a, b = socket.socketpair()
        stream = IOStream(a)
        while stream._transport is None:
            await asyncio.sleep(0)
        transport = stream._transport
        # More than the socket buffers hold, and the peer never reads.
        stream.write(b"x" * (16 * 1024 * 1024))
        stream.close()
        assert transport.get_write_buffer_size()  # close() sends what is buffered first...

        async def aborted() -> None:
            while a.fileno() != -1:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(aborted(), 10)  # ... but not forever
        b.close()

    run(io_loop, main)


def test_exceptions() -> None:
    from squall.iostream import StreamBufferFullError, UnsatisfiableReadError

    error = StreamClosedError()
    assert isinstance(error, OSError)
    assert error.real_error is None
    cause = ConnectionResetError()
    assert StreamClosedError(real_error=cause).real_error is cause
    assert issubclass(UnsatisfiableReadError, Exception)
    assert issubclass(StreamBufferFullError, Exception)
    assert StreamClosedError.__module__ == "squall.iostream"


class _Tornado6Stream(BaseIOStream):
    """A stream written the way Tornado documents subclassing BaseIOStream."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.setblocking(False)
        super().__init__()

    def fileno(self) -> int:
        return self.sock.fileno()

    def close_fd(self) -> None:
        self.sock.close()

    def write_to_fd(self, data: memoryview) -> int:
        return self.sock.send(data)

    def read_from_fd(self, buf: bytearray | memoryview | None = None) -> int | None:
        assert buf is not None
        try:
            return self.sock.recv_into(buf)
        except BlockingIOError:
            return None


class _Tornado4Stream(_Tornado6Stream):
    def read_from_fd(self) -> bytes | None:  # type: ignore[override]
        try:
            chunk = self.sock.recv(4096)
        except BlockingIOError:
            return None
        if not chunk:
            self.close()
            return None
        return chunk


@pytest.mark.parametrize("stream_class", [_Tornado6Stream, _Tornado4Stream])
def test_subclass_with_fd_methods(io_loop: IOLoop, stream_class: type[_Tornado6Stream]) -> None:
    async def main() -> None:
        a, b = socket.socketpair()
        stream = stream_class(a)
        peer = IOStream(b)
        await asyncio.wait_for(stream.write(b"x" * 3_000_000), 10)  # more than a socket takes
        assert len(await asyncio.wait_for(peer.read_bytes(3_000_000), 10)) == 3_000_000
        await peer.write(b"hello\nworld")
        assert await asyncio.wait_for(stream.read_until(b"\n"), 10) == b"hello\n"
        peer.close()
        assert await asyncio.wait_for(stream.read_until_close(), 10) == b"world"
        assert stream.closed()
        for _ in range(5):
            await asyncio.sleep(0)
        assert a.fileno() == -1

    run(io_loop, main)


def test_read_until_close_after_the_peer_finished(io_loop: IOLoop) -> None:
    async def main() -> None:
        a, b = socket.socketpair()
        stream = IOStream(a)
        b.sendall(b"all of it")
        b.shutdown(socket.SHUT_WR)
        while not stream._eof:
            await asyncio.sleep(0.001)
        assert not stream.closed()  # half-closed: still open for writing
        assert await asyncio.wait_for(stream.read_until_close(), 10) == b"all of it"
        assert stream.closed()  # as when the EOF arrives during the read
        b.close()

    run(io_loop, main)
