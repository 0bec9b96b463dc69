"""squall.httpserver under bad input: malformed requests, every limit, every timeout, gzip.

Each bad request must get its status with ``Connection: close`` and close
only its own connection: a second connection, opened before, keeps being
served.  Timeouts are tiny (0.05 s); the tests assert *that* the connection
is closed (within a generous bound), never how fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpserver_helpers
import pytest
from httpserver_helpers import RawClient as Raw
from httpserver_helpers import (
    echo,
    parser_fixture,  # noqa: F401
    respond,
    run,
)

from squall.httpserver import HTTPServer
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    ResponseStartLine,
)
from squall.ioloop import IOLoop
from squall.netutil import bind_sockets


@contextlib.asynccontextmanager
async def serving(handler: Any, **kwargs: Any) -> AsyncIterator[int]:
    """httpserver_helpers.serving, giving the port alone: all these tests use."""
    async with httpserver_helpers.serving(handler, **kwargs) as served:
        yield served.port


def status_and_headers(data: bytes) -> tuple[int, HTTPHeaders]:
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1")
    status_line, _, fields = head.partition("\r\n")
    return int(status_line.split(" ")[1]), HTTPHeaders.parse(fields)


async def rejected(port: int, request: bytes) -> int:
    """Send `request` on a new connection; check the answer closes it; its status.

    Meanwhile a keep-alive connection opened before keeps being served.
    """
    other = await Raw.connect(port)
    await other.send(b"GET /before HTTP/1.1\r\n\r\n")
    before = await other.body()
    client = await Raw.connect(port)
    await client.send(request)
    answer = await client.read_until_close()  # the server closes
    status, headers = status_and_headers(answer)
    assert headers["Connection"] == "close"
    assert answer.endswith(b"\r\n\r\n")  # no body
    await other.send(b"GET /after HTTP/1.1\r\n\r\n")
    assert await other.body() == before.replace(b"before", b"after")
    return status


# ---------------------------------------------------------------------------
# Malformed requests
# ---------------------------------------------------------------------------

MALFORMED = {
    "garbage": (b"GARBAGE\r\n\r\n", 400),
    "no colon": (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    "space before colon": (b"GET / HTTP/1.1\r\nName : v\r\n\r\n", 400),
    "bare CR": (b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400),
    "NUL": (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400),
    "obsolete folding": (b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400),
    "CL and TE": (
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "two lengths": (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    "signed length": (b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", 400),
    "chunked not final": (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    "unknown coding": (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    "bad chunk size": (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    "hex prefix": (
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    "HTTP/2.0": (b"GET / HTTP/2.0\r\n\r\n", 505),
    "method": (b"G(T / HTTP/1.1\r\n\r\n", 400),
    "space in target": (b"GET /a b HTTP/1.1\r\n\r\n", 400),
    "request line too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
    "head too large": (b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
    "too many fields": (
        b"GET / HTTP/1.1\r\n" + b"".join(b"X%d: a\r\n" % i for i in range(300)) + b"\r\n",
        431,
    ),
    "TE in HTTP/1.0": (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_request(io_loop: IOLoop, name: str, caplog: pytest.LogCaptureFixture) -> None:
    request, expected = MALFORMED[name]
    seen: list[str] = []

    def handler(req: HTTPServerRequest) -> None:
        seen.append(req.path)
        echo(req)

    async def main() -> None:
        async with serving(handler) as port:
            assert await rejected(port, request) == expected

    with caplog.at_level(logging.INFO):
        run(io_loop, main)
    assert seen == ["/before", "/after"]  # the bad request never reached the application
    # Logged for the operator, at info at most (the peer's fault, not ours).
    assert not [r for r in caplog.records if r.levelno > logging.INFO]


def test_malformed_pipelined_request_after_good_ones(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo) as port:
            client = await Raw.connect(port)
            await client.send(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nBAD\r\n\r\n")
            data = await client.read_until_close()
            first, second, bad = data.split(b"HTTP/1.1 ")[1:]
            assert first.endswith(b"GET /1 ")
            assert second.endswith(b"GET /2 ")
            assert bad.startswith(b"400 Bad Request\r\n")

    run(io_loop, main)


def test_smaller_max_header_size(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo, max_header_size=1024) as port:
            assert (
                await rejected(port, b"GET / HTTP/1.1\r\nX: " + b"a" * 2000 + b"\r\n\r\n") == 431
            )
            assert await rejected(port, b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\n\r\n") == 414
            client = await Raw.connect(port)
            await client.send(b"GET / HTTP/1.1\r\nX: " + b"a" * 900 + b"\r\n\r\n")
            assert await client.body() == b"GET / "

    run(io_loop, main)


# ---------------------------------------------------------------------------
# Body size
# ---------------------------------------------------------------------------


def test_content_length_over_the_limit(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo, max_body_size=1000) as port:
            status = await rejected(port, b"POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n")
            assert status == 413
            # The whole body sent anyway: still a clean 413.
            status = await rejected(
                port, b"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
            )
            assert status == 413
            # A client waiting for 100-continue gets the 413 instead.
            status = await rejected(
                port,
                b"POST / HTTP/1.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n",
            )
            assert status == 413
            client = await Raw.connect(port)
            await client.send(b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + b"y" * 1000)
            assert await client.body() == b"POST / " + b"y" * 1000

    run(io_loop, main)


def test_chunked_body_over_the_limit(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo, max_body_size=1000) as port:
            chunks = b"".join(b"100\r\n" + b"z" * 256 + b"\r\n" for _ in range(5))
            status = await rejected(
                port, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
            )
            assert status == 413

    run(io_loop, main)


def test_max_buffer_size_is_the_default_body_limit(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo, max_buffer_size=2000) as port:
            status = await rejected(port, b"POST / HTTP/1.1\r\nContent-Length: 2001\r\n\r\n")
            assert status == 413

    run(io_loop, main)


class PerRequestLimits(HTTPServerConnectionDelegate):
    """Raises the body limit for /big, in headers_received (as streaming handlers do)."""

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> Any:
        class Delegate(HTTPMessageDelegate):
            size = 0

            def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
                if start_line.path == "/big":
                    request_conn.set_max_body_size(10_000)  # type: ignore[attr-defined]

            def data_received(self, chunk: bytes) -> None:
                self.size += len(chunk)

            def finish(self) -> None:
                body = b"%d" % self.size
                request_conn.write_headers(
                    ResponseStartLine("HTTP/1.1", 200, "OK"),
                    HTTPHeaders({"Content-Length": str(len(body))}),
                    body,
                )
                request_conn.finish()

        return Delegate()


def test_set_max_body_size_in_headers_received(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(PerRequestLimits(), max_body_size=100) as port:
            client = await Raw.connect(port)
            await client.send(b"POST /big HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + b"b" * 5000)
            assert await client.body() == b"5000"
            status = await rejected(port, b"POST /small HTTP/1.1\r\nContent-Length: 5000\r\n\r\n")
            assert status == 413

    run(io_loop, main)


# ---------------------------------------------------------------------------
# Timeouts
# ---------------------------------------------------------------------------


def test_idle_connection_timeout(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo, idle_connection_timeout=0.05) as port:
            # Closed when no request comes at all...
            silent = await Raw.connect(port)
            assert await silent.read_until_close() == b""
            # ... and between keep-alive requests.
            client = await Raw.connect(port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            assert await client.body() == b"GET / "
            assert await client.read_until_close() == b""

    run(io_loop, main)


def test_header_timeout(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo, header_timeout=0.05) as port:
            # The idle timeout is long: an idle connection stays open...
            idle = await Raw.connect(port)
            # ... while a client trickling a head is cut off, with 408.
            client = await Raw.connect(port)
            await client.send(b"GET / HTTP/1.1\r\nX-Slow: ")
            status, headers = status_and_headers(await client.read_until_close())
            assert (status, headers["Connection"]) == (408, "close")
            await idle.send(b"GET /still-here HTTP/1.1\r\n\r\n")
            assert await idle.body() == b"GET /still-here "

    run(io_loop, main)


def test_idle_timeout_covers_the_head_by_default(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo, idle_connection_timeout=0.05) as port:
            client = await Raw.connect(port)
            await client.send(b"GET / HTTP/1.1\r\n")
            status, _ = status_and_headers(await client.read_until_close())
            assert status == 408

    run(io_loop, main)


def test_body_timeout(io_loop: IOLoop) -> None:
    closed: list[bool] = []

    class Delegate(HTTPMessageDelegate):
        def on_connection_close(self) -> None:
            closed.append(True)

    class App(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> Delegate:
            return Delegate()

    async def main() -> None:
        async with serving(App(), body_timeout=0.05) as port:
            client = await Raw.connect(port)
            await client.send(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab")
            status, headers = status_and_headers(await client.read_until_close())
            assert (status, headers["Connection"]) == (408, "close")

    run(io_loop, main)
    assert closed == [True]


def test_a_client_that_does_not_read_is_cut_off(io_loop: IOLoop) -> None:
    big = b"x" * (64 * 1024 * 1024)

    def handler(request: HTTPServerRequest) -> None:
        respond(request, big)

    async def main() -> None:
        server = HTTPServer(handler, idle_connection_timeout=0.2)
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        client = await Raw.connect(sockets[0].getsockname()[1])
        await client.send(b"GET / HTTP/1.1\r\n\r\n")
        try:
            for _ in range(1000):
                await asyncio.sleep(0.01)
                if not server._connections:
                    break
            assert not server._connections  # the stuck response was given up
        finally:
            server.stop()
            await server.close_all_connections()

    run(io_loop, main)


# ---------------------------------------------------------------------------
# gzip request bodies
# ---------------------------------------------------------------------------


def test_gzip_request_body_decoded(io_loop: IOLoop) -> None:
    seen: list[HTTPServerRequest] = []

    def handler(request: HTTPServerRequest) -> None:
        seen.append(request)
        echo(request)

    body = b"a=1&b=" + b"x" * 100_000
    compressed = gzip.compress(body)

    async def main() -> None:
        async with serving(handler, decompress_request=True, chunk_size=4096) as port:
            client = await Raw.connect(port)
            await client.send(
                b"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(compressed), compressed)
            )
            assert await client.body() == b"POST / " + body

    run(io_loop, main)
    (request,) = seen
    assert "Content-Encoding" not in request.headers
    assert request.headers["X-Consumed-Content-Encoding"] == "gzip"
    assert request.body_arguments["a"] == [b"1"]


def test_gzip_left_alone_without_decompress_request(io_loop: IOLoop) -> None:
    compressed = gzip.compress(b"hello")

    async def main() -> None:
        async with serving(echo) as port:
            client = await Raw.connect(port)
            await client.send(
                b"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(compressed), compressed)
            )
            assert await client.body() == b"POST / " + compressed

    run(io_loop, main)


def test_gzip_bomb_is_limited_by_its_decoded_size(io_loop: IOLoop) -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)  # about 10 KB
    assert len(bomb) < 20_000

    async def main() -> None:
        async with serving(echo, decompress_request=True, max_body_size=100_000) as port:
            status = await rejected(
                port,
                b"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(bomb), bomb),
            )
            assert status == 413

    run(io_loop, main)


def test_invalid_gzip_body(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo, decompress_request=True) as port:
            status = await rejected(
                port,
                b"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
            )
            assert status == 400

    run(io_loop, main)
