"""Tests for squall.http1connection: the client side against raw-socket servers,
the server side driven directly, and the parameters.

(squall.httpserver's tests cover the server side through HTTPServer.)  Every
test runs over both HTTP/1 parsers; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from httpserver_helpers import parser_fixture  # noqa: F401  (every test over both parsers)

from squall.http1connection import (
    HTTP1Connection,
    HTTP1ConnectionParameters,
    HTTP1ServerConnection,
)
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPOutputError,
    HTTPServerConnectionDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.ioloop import IOLoop
from squall.iostream import IOStream, StreamClosedError


def run(io_loop: IOLoop, main: Callable[[], Awaitable[None]]) -> None:
    async def main_then_settle() -> None:
        try:
            await main()
        finally:
            # Close the peers while the loop runs, so that every stream sees
            # its connection end before the loop closes.
            while _peers:
                _peers.pop().close()
            for _ in range(20):
                await asyncio.sleep(0)

    io_loop.run_sync(main_then_settle, timeout=30)


class Recorder(HTTPMessageDelegate):
    """Records what the connection delivers."""

    def __init__(self) -> None:
        self.heads: list[tuple[Any, HTTPHeaders]] = []
        self.chunks: list[bytes] = []
        self.finished = False
        self.closed = False

    def headers_received(self, start_line: Any, headers: HTTPHeaders) -> Awaitable[None] | None:
        self.heads.append((start_line, headers))
        return None

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self.chunks.append(chunk)
        return None

    def finish(self) -> None:
        self.finished = True

    def on_connection_close(self) -> None:
        self.closed = True

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


# -- a scripted peer -----------------------------------------------------------


async def stream_pair() -> tuple[IOStream, socket.socket]:
    """A connected IOStream and the raw (blocking-mode off) socket at the other end."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    server.setblocking(False)
    return IOStream(client), server


async def recv_until(sock: socket.socket, marker: bytes, limit: float = 10) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while marker not in data:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), limit)
        if not chunk:
            break
        data += chunk
    return data


async def send(sock: socket.socket, data: bytes) -> None:
    await asyncio.wait_for(asyncio.get_running_loop().sock_sendall(sock, data), 10)


GET = RequestStartLine("GET", "/", "HTTP/1.1")


async def exchange(
    response: bytes,
    *,
    method: str = "GET",
    params: HTTP1ConnectionParameters | None = None,
    delegate: HTTPMessageDelegate | None = None,
    close_after: bool = False,
) -> tuple[HTTP1Connection, Recorder | HTTPMessageDelegate, asyncio.Future[bool], IOStream]:
    """Send a request, have the peer answer `response`, start reading it."""
    stream, peer = await stream_pair()
    conn = HTTP1Connection(stream, True, params)
    conn.write_headers(RequestStartLine(method, "/", "HTTP/1.1"), HTTPHeaders({"Host": "x"}))
    conn.finish()
    await recv_until(peer, b"\r\n\r\n")
    await send(peer, response)
    if close_after:
        peer.close()
    else:
        _peers.append(peer)
    recorder = delegate if delegate is not None else Recorder()
    return conn, recorder, conn.read_response(recorder), stream


_peers: list[socket.socket] = []


@pytest.fixture(autouse=True)
def close_peers() -> Any:
    yield
    while _peers:
        _peers.pop().close()


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def test_parameters() -> None:
    params = HTTP1ConnectionParameters()
    assert params.no_keep_alive is False
    assert params.chunk_size == 65536
    assert params.max_header_size == 65536
    assert params.header_timeout is None
    assert params.max_body_size is None
    assert params.body_timeout is None
    assert params.decompress is False
    assert params.idle_timeout is None
    positional = HTTP1ConnectionParameters(True, 10, 20, 1.0, 30, 2.0, True)
    assert (
        positional.no_keep_alive,
        positional.chunk_size,
        positional.max_header_size,
        positional.header_timeout,
        positional.max_body_size,
        positional.body_timeout,
        positional.decompress,
    ) == (True, 10, 20, 1.0, 30, 2.0, True)
    assert "chunk_size=10" in repr(positional)


# ---------------------------------------------------------------------------
# Client side: reading responses
# ---------------------------------------------------------------------------


def test_read_response_with_length_keeps_what_follows(io_loop: IOLoop) -> None:
    async def main() -> None:
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhelloEXTRA"
        )
        assert await asyncio.wait_for(reading, 10) is True
        assert isinstance(recorder, Recorder)
        ((start_line, headers),) = recorder.heads
        assert start_line == ResponseStartLine("HTTP/1.1", 200, "OK")
        assert headers["X-A"] == "1"
        assert (recorder.body, recorder.finished, recorder.closed) == (b"hello", True, False)
        # The stream is usable again, the bytes after the response waiting in it.
        assert not stream.closed()
        assert await asyncio.wait_for(stream.read_bytes(5), 10) == b"EXTRA"
        stream.close()

    run(io_loop, main)


def test_read_chunked_response(io_loop: IOLoop) -> None:
    async def main() -> None:
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n"
        )
        assert await asyncio.wait_for(reading, 10) is True
        assert isinstance(recorder, Recorder)
        assert recorder.body == b"abcde"
        stream.close()

    run(io_loop, main)


def test_read_until_close(io_loop: IOLoop) -> None:
    async def main() -> None:
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\n\r\nall of this", close_after=True
        )
        assert await asyncio.wait_for(reading, 10) is True
        assert isinstance(recorder, Recorder)
        assert recorder.body == b"all of this"
        assert stream.closed()

    run(io_loop, main)


def test_connection_close_response_closes_the_stream(io_loop: IOLoop) -> None:
    async def main() -> None:
        _, _, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        assert await asyncio.wait_for(reading, 10) is True
        assert stream.closed()

    run(io_loop, main)


def test_head_response_has_no_body(io_loop: IOLoop) -> None:
    async def main() -> None:
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nNEXT", method="HEAD"
        )
        assert await asyncio.wait_for(reading, 10) is True
        assert isinstance(recorder, Recorder)
        assert recorder.body == b""
        assert await asyncio.wait_for(stream.read_bytes(4), 10) == b"NEXT"
        stream.close()

    run(io_loop, main)


def test_interim_responses_reach_the_delegate(io_loop: IOLoop) -> None:
    async def main() -> None:
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        )
        assert await asyncio.wait_for(reading, 10) is True
        assert isinstance(recorder, Recorder)
        assert [start_line.code for start_line, _ in recorder.heads] == [100, 103, 200]
        assert recorder.body == b"ok"
        stream.close()

    run(io_loop, main)


def test_gzip_response_decompressed(io_loop: IOLoop) -> None:
    body = b"compressible " * 10000
    compressed = gzip.compress(body)

    async def main() -> None:
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
            % (len(compressed), compressed),
            params=HTTP1ConnectionParameters(decompress=True, chunk_size=1000),
        )
        assert await asyncio.wait_for(reading, 10) is True
        assert isinstance(recorder, Recorder)
        assert recorder.body == body
        assert max(map(len, recorder.chunks)) <= 1000
        headers = recorder.heads[0][1]
        assert "Content-Encoding" not in headers
        assert headers["X-Consumed-Content-Encoding"] == "gzip"
        stream.close()

    run(io_loop, main)


@pytest.mark.parametrize(
    "response",
    [
        b"NOT HTTP\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_response(io_loop: IOLoop, response: bytes) -> None:
    async def main() -> None:
        _, _, reading, stream = await exchange(response)
        with pytest.raises(HTTPInputError):
            await asyncio.wait_for(reading, 10)
        assert stream.closed()

    run(io_loop, main)


def test_body_too_large(io_loop: IOLoop) -> None:
    async def main() -> None:
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
            params=HTTP1ConnectionParameters(max_body_size=10),
        )
        with pytest.raises(HTTPInputError, match="too large"):
            await asyncio.wait_for(reading, 10)
        assert isinstance(recorder, Recorder)
        assert recorder.closed
        assert stream.closed()
        # Chunked, found out while reading.
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"5\r\n12345\r\n" * 3,
            params=HTTP1ConnectionParameters(max_body_size=10),
        )
        with pytest.raises(HTTPInputError, match="too large"):
            await asyncio.wait_for(reading, 10)

    run(io_loop, main)


def test_closed_before_or_during_the_response(io_loop: IOLoop) -> None:
    async def main() -> None:
        _, recorder, reading, _ = await exchange(b"", close_after=True)
        with pytest.raises(StreamClosedError):
            await asyncio.wait_for(reading, 10)
        assert isinstance(recorder, Recorder)
        assert not recorder.closed  # its headers_received was never called
        _, recorder, reading, _ = await exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", close_after=True
        )
        with pytest.raises(StreamClosedError):
            await asyncio.wait_for(reading, 10)
        assert isinstance(recorder, Recorder)
        assert recorder.closed
        assert not recorder.finished

    run(io_loop, main)


def test_header_and_body_timeouts(io_loop: IOLoop) -> None:
    async def main() -> None:
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\n", params=HTTP1ConnectionParameters(header_timeout=0.05)
        )
        assert await asyncio.wait_for(reading, 10) is False
        assert stream.closed()
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
            params=HTTP1ConnectionParameters(body_timeout=0.05),
        )
        assert await asyncio.wait_for(reading, 10) is False
        assert isinstance(recorder, Recorder)
        assert recorder.closed
        assert stream.closed()

    run(io_loop, main)


def test_delegate_exception_fails_the_read(io_loop: IOLoop) -> None:
    class Failing(Recorder):
        def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
            raise ZeroDivisionError("delegate bug")

    async def main() -> None:
        _, _, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", delegate=Failing()
        )
        with pytest.raises(ZeroDivisionError):
            await asyncio.wait_for(reading, 10)
        assert stream.closed()

    run(io_loop, main)


def test_slow_delegate_flow_control(io_loop: IOLoop) -> None:
    class Slow(Recorder):
        def headers_received(self, start_line: Any, headers: HTTPHeaders) -> Awaitable[None]:
            super().headers_received(start_line, headers)
            return asyncio.sleep(0.01)

        def data_received(self, chunk: bytes) -> Awaitable[None]:
            super().data_received(chunk)
            return asyncio.sleep(0)

    body = bytes(range(256)) * 1000

    async def main() -> None:
        _, recorder, reading, stream = await exchange(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
            params=HTTP1ConnectionParameters(chunk_size=4096),
            delegate=Slow(),
        )
        assert await asyncio.wait_for(reading, 10) is True
        assert isinstance(recorder, Recorder)
        assert recorder.body == body
        assert max(map(len, recorder.chunks)) <= 4096
        stream.close()

    run(io_loop, main)


def test_detach_after_101_keeps_the_new_protocols_bytes(io_loop: IOLoop) -> None:
    detached: list[IOStream] = []

    class Upgrading(Recorder):
        connection: HTTP1Connection

        def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
            super().headers_received(start_line, headers)
            detached.append(self.connection.detach())

    async def main() -> None:
        delegate = Upgrading()
        stream, peer = await stream_pair()
        _peers.append(peer)
        conn = HTTP1Connection(stream, True)
        delegate.connection = conn
        conn.write_headers(GET, HTTPHeaders({"Connection": "Upgrade", "Upgrade": "x"}))
        conn.finish()
        await recv_until(peer, b"\r\n\r\n")
        await send(peer, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nframe1")
        assert await asyncio.wait_for(conn.read_response(delegate), 10) is False
        assert detached == [stream]
        assert await asyncio.wait_for(stream.read_bytes(6), 10) == b"frame1"
        await send(peer, b"frame2")
        assert await asyncio.wait_for(stream.read_bytes(6), 10) == b"frame2"
        stream.close()

    run(io_loop, main)


# ---------------------------------------------------------------------------
# Client side: writing requests
# ---------------------------------------------------------------------------


def test_request_bodies_on_the_wire(io_loop: IOLoop) -> None:
    async def main() -> None:
        stream, peer = await stream_pair()
        _peers.append(peer)
        conn = HTTP1Connection(stream, True)
        conn.write_headers(RequestStartLine("POST", "/up?x=1", "HTTP/1.1"), HTTPHeaders())
        conn.write(b"abc")
        conn.write(b"")
        conn.write(b"de")
        conn.finish()
        wire = await recv_until(peer, b"0\r\n\r\n")
        assert wire == (
            b"POST /up?x=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
        stream.close()

        stream, peer = await stream_pair()
        _peers.append(peer)
        conn = HTTP1Connection(stream, True)
        conn.write_headers(
            RequestStartLine("PUT", "/", "HTTP/1.1"), HTTPHeaders({"Content-Length": "5"}), b"12"
        )
        conn.write(b"345")
        conn.finish()
        assert await recv_until(peer, b"12345") == (
            b"PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\n12345"
        )
        stream.close()

    run(io_loop, main)


def test_request_output_errors(io_loop: IOLoop) -> None:
    async def main() -> None:
        stream, peer = await stream_pair()
        _peers.append(peer)
        conn = HTTP1Connection(stream, True)
        with pytest.raises(HTTPOutputError, match="Unsafe"):
            conn.write_headers(GET, HTTPHeaders({"X": "a\r\nEvil: 1"}))
        with pytest.raises(HTTPOutputError, match="request line"):
            conn.write_headers(RequestStartLine("GET", "/a b", "HTTP/1.1"), HTTPHeaders())
        with pytest.raises(HTTPOutputError, match="request line"):
            conn.write_headers(RequestStartLine("GE T", "/", "HTTP/1.1"), HTTPHeaders())
        with pytest.raises(HTTPOutputError, match="latin-1"):
            conn.write_headers(GET, HTTPHeaders({"X": "snow \u2603"}))
        conn.write_headers(
            RequestStartLine("POST", "/", "HTTP/1.1"), HTTPHeaders({"Content-Length": "2"})
        )
        with pytest.raises(HTTPOutputError, match="twice"):
            conn.write_headers(GET, HTTPHeaders())
        with pytest.raises(HTTPOutputError, match="more data"):
            conn.write(b"abc")
        assert stream.closed()  # the request cannot be completed any more

        stream, peer = await stream_pair()
        _peers.append(peer)
        conn = HTTP1Connection(stream, True)
        conn.write_headers(
            RequestStartLine("POST", "/", "HTTP/1.1"), HTTPHeaders({"Content-Length": "2"})
        )
        with pytest.raises(HTTPOutputError, match="less than"):
            conn.finish()

        stream, peer = await stream_pair()
        _peers.append(peer)
        conn = HTTP1Connection(stream, True)
        conn.write_headers(GET, HTTPHeaders())
        conn.finish()
        with pytest.raises(HTTPOutputError, match="after finish"):
            conn.write(b"x")
        with pytest.raises(HTTPOutputError, match="twice"):
            conn.finish()
        stream.close()

    run(io_loop, main)


def test_write_to_a_closed_stream_returns_a_failed_future(io_loop: IOLoop) -> None:
    async def main() -> None:
        stream, peer = await stream_pair()
        peer.close()
        conn = HTTP1Connection(stream, True)
        stream.close()
        future = conn.write_headers(GET, HTTPHeaders())
        with pytest.raises(StreamClosedError):
            await future

    run(io_loop, main)


def test_deprecated_write_callbacks(io_loop: IOLoop) -> None:
    async def main() -> None:
        stream, peer = await stream_pair()
        _peers.append(peer)
        conn = HTTP1Connection(stream, True)
        called: list[str] = []
        with pytest.warns(DeprecationWarning, match="callback"):
            future = conn.write_headers(
                RequestStartLine("POST", "/", "HTTP/1.1"),
                HTTPHeaders({"Content-Length": "1"}),
                callback=lambda: called.append("headers"),
            )
        await future
        with pytest.warns(DeprecationWarning, match="callback"):
            await conn.write(b"x", callback=lambda: called.append("write"))
        for _ in range(3):
            await asyncio.sleep(0)
        assert called == ["headers", "write"]
        stream.close()

    run(io_loop, main)


def test_expect_100_continue_client_flow(io_loop: IOLoop) -> None:
    """The body goes out once the 100 arrives (the delegate sees the interim head)."""

    async def main() -> None:
        stream, peer = await stream_pair()
        _peers.append(peer)
        conn = HTTP1Connection(stream, True)

        class Continue(Recorder):
            def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
                super().headers_received(start_line, headers)
                if start_line.code == 100:
                    conn.write(b"body!")
                    conn.finish()

        conn.write_headers(
            RequestStartLine("PUT", "/", "HTTP/1.1"),
            HTTPHeaders({"Content-Length": "5", "Expect": "100-continue"}),
        )
        recorder = Continue()
        reading = conn.read_response(recorder)
        await recv_until(peer, b"\r\n\r\n")
        await send(peer, b"HTTP/1.1 100 Continue\r\n\r\n")
        assert await recv_until(peer, b"body!") == b"body!"
        await send(peer, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        assert await asyncio.wait_for(reading, 10) is True
        assert [head[0].code for head in recorder.heads] == [100, 201]
        stream.close()

    run(io_loop, main)


def test_read_response_is_client_only(io_loop: IOLoop) -> None:
    async def main() -> None:
        stream, peer = await stream_pair()
        _peers.append(peer)
        with pytest.raises(RuntimeError):
            HTTP1Connection(stream, False).read_response(Recorder())
        stream.close()

    run(io_loop, main)


# ---------------------------------------------------------------------------
# Server side, driven directly
# ---------------------------------------------------------------------------


class App(HTTPServerConnectionDelegate):
    """Answers each request with its body, after `delay` seconds (None: never)."""

    def __init__(self, delay: float | None = 0) -> None:
        self.delay = delay
        self.connections: list[HTTP1Connection] = []
        self.events: list[str] = []
        self.closed: list[object] = []
        self.tasks: set[asyncio.Future[None]] = set()

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> Any:
        assert isinstance(request_conn, HTTP1Connection)
        self.connections.append(request_conn)
        app = self

        class Delegate(Recorder):
            def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
                super().headers_received(start_line, headers)
                request_conn.set_close_callback(lambda: app.events.append("close callback"))
                if start_line.path == "/slow-body":
                    request_conn.set_body_timeout(0.05)

            def finish(self) -> None:
                super().finish()
                app.events.append("finish")
                if app.delay is not None:
                    task = asyncio.ensure_future(app.answer(request_conn, self.body))
                    app.tasks.add(task)

            def on_connection_close(self) -> None:
                super().on_connection_close()
                app.events.append("on_connection_close")

        return Delegate()

    async def answer(self, connection: HTTP1Connection, body: bytes) -> None:
        await asyncio.sleep(self.delay or 0)
        connection.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"),
            HTTPHeaders({"Content-Length": str(len(body))}),
            body,
        )
        connection.finish()

    def on_close(self, server_conn: object) -> None:
        self.closed.append(server_conn)


async def serve_one(app: App, params: HTTP1ConnectionParameters | None = None) -> Any:
    """An HTTP1ServerConnection serving `app` on one end of a pair; the raw peer."""
    stream, peer = await stream_pair()
    _peers.append(peer)
    server_conn = HTTP1ServerConnection(stream, params, context="the context")
    server_conn.start_serving(app)
    return server_conn, peer


def test_server_connection_serves_and_closes(io_loop: IOLoop) -> None:
    app = App(delay=0.001)

    async def main() -> None:
        server_conn, peer = await serve_one(app)
        await send(peer, b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n")
        answer = await recv_until(peer, b"\r\n\r\nabc")
        assert answer.endswith(b"Content-Length: 3\r\n\r\nabc")
        await recv_until(peer, b"Content-Length: 0\r\n\r\n")
        assert [c.context for c in app.connections] == ["the context"] * 2
        closing = server_conn.close()
        await asyncio.wait_for(closing, 10)
        assert app.closed == [server_conn]
        assert await recv_until(peer, b"never") == b""  # closed
        # Finished requests have no close callback left to run.
        assert app.events == ["finish", "finish"]

    run(io_loop, main)


def test_close_callback_when_the_client_goes_away(io_loop: IOLoop) -> None:
    app = App(delay=None)  # never answers (long polling)

    async def main() -> None:
        _, peer = await serve_one(app)
        await send(peer, b"GET /poll HTTP/1.1\r\n\r\n")
        for _ in range(500):
            if "finish" in app.events:
                break
            await asyncio.sleep(0.01)
        peer.close()
        _peers.remove(peer)
        for _ in range(500):
            if app.closed:
                break
            await asyncio.sleep(0.01)
        # The request had been read: its delegate finished, only the close
        # callback hears of the close.
        assert app.events == ["finish", "close callback"]

    run(io_loop, main)


def test_set_body_timeout_per_request(io_loop: IOLoop) -> None:
    app = App()

    async def main() -> None:
        _, peer = await serve_one(app)
        await send(peer, b"POST /slow-body HTTP/1.1\r\nContent-Length: 9\r\n\r\nab")
        answer = await recv_until(peer, b"never")
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert app.events == ["close callback", "on_connection_close"]

    run(io_loop, main)


def test_server_side_write_rules(io_loop: IOLoop) -> None:
    errors: list[str] = []

    class Checks(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> Any:
            class Delegate(HTTPMessageDelegate):
                def finish(self) -> None:
                    with pytest.raises(HTTPOutputError, match="before write_headers") as info:
                        request_conn.finish()
                    errors.append(str(info.value))
                    request_conn.write_headers(
                        ResponseStartLine("HTTP/1.1", 200, "OK"),
                        HTTPHeaders({"Content-Length": "2", "X": "1"}),
                        b"ok",
                    )
                    request_conn.finish()
                    with pytest.raises(HTTPOutputError, match="after finish"):
                        request_conn.write(b"more")

            return Delegate()

    async def main() -> None:
        stream, peer = await stream_pair()
        _peers.append(peer)
        HTTP1ServerConnection(stream).start_serving(Checks())
        await send(peer, b"GET / HTTP/1.1\r\n\r\n")
        assert await recv_until(peer, b"ok") == (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: 1\r\n\r\nok"
        )

    run(io_loop, main)
    assert len(errors) == 1


def test_headers_as_a_plain_dict(io_loop: IOLoop) -> None:
    class Plain(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> Any:
            class Delegate(HTTPMessageDelegate):
                def finish(self) -> None:
                    request_conn.write_headers(
                        ResponseStartLine("HTTP/1.1", 200, "OK"),
                        {"content-length": 2, "x-thing": "v"},  # type: ignore[arg-type]
                        b"ok",
                    )
                    request_conn.finish()

            return Delegate()

    async def main() -> None:
        stream, peer = await stream_pair()
        _peers.append(peer)
        HTTP1ServerConnection(stream).start_serving(Plain())
        await send(peer, b"GET / HTTP/1.1\r\n\r\n")
        assert await recv_until(peer, b"ok") == (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Thing: v\r\n\r\nok"
        )

    run(io_loop, main)


def test_deprecated_warnings_are_not_emitted_on_the_main_paths(io_loop: IOLoop) -> None:
    app = App()

    async def main() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _, peer = await serve_one(app)
            await send(peer, b"GET / HTTP/1.1\r\n\r\n")
            await recv_until(peer, b"\r\n\r\n")

    run(io_loop, main)


# ---------------------------------------------------------------------------
# Serializing header fields (squall._http1._writer)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["a\r\nX-Injected: 1", "a\rb", "a\nb", "a\0b", "\r\n"],
)
def test_serialize_fields_rejects_unsafe_values_of_known_names(value: str) -> None:
    from squall._http1._writer import serialize_fields

    # The name is seen (and remembered as valid) first: the value is still checked.
    good = HTTPHeaders({"X-Known": "fine", "Content-Length": "3"})
    assert serialize_fields(good, False) == (
        "X-Known: fine\r\nContent-Length: 3\r\n",
        "3",
        None,
        None,
    )
    assert serialize_fields(good, False)[0] == "X-Known: fine\r\nContent-Length: 3\r\n"
    with pytest.raises(HTTPOutputError):
        serialize_fields(HTTPHeaders({"X-Known": value}), False)


@pytest.mark.parametrize("name", ["Bad Name", "Bad:Name", "Bad\r\nName", ""])
def test_serialize_fields_rejects_invalid_names(name: str) -> None:
    from squall._http1._writer import serialize_fields

    headers = HTTPHeaders()
    headers._dict[name] = "v"  # as a subclass or direct manipulation could
    with pytest.raises(HTTPOutputError):
        serialize_fields(headers, False)
    with pytest.raises(HTTPOutputError):
        serialize_fields(headers, False)  # not remembered as valid


def test_serialize_fields_forms() -> None:
    from squall._http1._writer import serialize_fields

    assert serialize_fields(HTTPHeaders(), False) == ("", None, None, None)
    repeated = HTTPHeaders()
    repeated.add("Set-Cookie", "a=1")
    repeated.add("Set-Cookie", "b=2")
    assert serialize_fields(repeated, False)[0] == "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
    framed = HTTPHeaders({"Content-Length": "0", "Connection": "close", "X-A": "1"})
    expected = ("Connection: close\r\nX-A: 1\r\n", None, None, "close")
    assert serialize_fields(framed, True) == expected
    numeric = HTTPHeaders()
    numeric._dict["Content-Length"] = 5  # type: ignore[assignment]
    assert serialize_fields(numeric, False) == ("Content-Length: 5\r\n", 5, None, None)
    assert serialize_fields({"content-type": "text/plain"}, False)[0] == (
        "Content-Type: text/plain\r\n"
    )
