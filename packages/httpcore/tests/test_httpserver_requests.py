"""squall.httpserver reading requests: chunked and streamed bodies, pipelining, 100-continue.

Raw bytes, curl and http.client as clients, over both HTTP/1 parsers (the
``parser`` fixture of httpserver_helpers.py); ``Streaming`` (there too) is a
connection delegate that collects bodies piece by piece.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from httpserver_helpers import (
    RawClient,
    Streaming,
    echo,
    http_client,
    in_thread,
    parser_fixture,  # noqa: F401
    run,
    run_curl,
    serving,
)

from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    ResponseStartLine,
)
from squall.ioloop import IOLoop

# ---------------------------------------------------------------------------
# Request bodies: chunked, streamed, pipelined, 100-continue
# ---------------------------------------------------------------------------


def test_chunked_request_body(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo) as served:
            client = await RawClient.connect(served.port)
            await client.send(
                b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"
            )
            assert (await client.read_response()).body == b"POST /c hello world"
            # The connection is in a clean state for the next request.
            await client.send(b"GET /next HTTP/1.1\r\n\r\n")
            assert (await client.read_response()).body == b"GET /next "
            client.close()

            def post_chunked() -> bytes:
                conn = http_client(served.port)
                conn.request("POST", "/h", body=iter([b"abc", b"def"]), encode_chunked=True)
                body = conn.getresponse().read()
                conn.close()
                return body

            assert await in_thread(post_chunked) == b"POST /h abcdef"

    run(io_loop, main)


def test_chunked_request_with_curl(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo) as served:
            code, out, err = await run_curl(
                "-H", "Transfer-Encoding: chunked", "--data-binary", "x" * 5000, served.url("/c")
            )  # fmt: skip
            assert (code, out) == (0, b"POST /c " + b"x" * 5000), err

    run(io_loop, main)


def test_pipelined_requests_answered_in_order(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo) as served:
            client = await RawClient.connect(served.port)
            await client.send(
                b"GET /1 HTTP/1.1\r\n\r\n"
                b"POST /2 HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"
                b"POST /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
                b"GET /4 HTTP/1.1\r\n\r\n"
            )
            bodies = [(await client.read_response()).body for _ in range(4)]
            assert bodies == [b"GET /1 ", b"POST /2 body", b"POST /3 hi", b"GET /4 "]
            client.close()

    run(io_loop, main)


def test_pipelining_with_a_slow_application_pauses_reading(io_loop: IOLoop) -> None:
    release = asyncio.Event()
    count = 0

    async def handler(request: HTTPServerRequest) -> None:
        nonlocal count
        count += 1
        await release.wait()
        echo(request)

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            requests = b"".join(b"GET /%d HTTP/1.1\r\n\r\n" % i for i in range(20000))
            send = asyncio.ensure_future(client.send(requests))
            await asyncio.sleep(0.2)
            # One request at a time reaches the application.
            assert count == 1
            release.set()
            for i in range(20000):
                assert (await client.read_response()).body == b"GET /%d " % i
            await asyncio.wait_for(send, 10)
            client.close()

    run(io_loop, main, timeout=60)


@pytest.mark.parametrize("slow", [False, True])
def test_streamed_body_in_chunk_size_pieces(io_loop: IOLoop, slow: bool) -> None:
    app = Streaming(slow)
    body = os.urandom(300_000)

    async def main() -> None:
        async with serving(app, chunk_size=16384) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"PUT /big HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body))
            await client.send(body)
            response = await client.read_response()
            (delegate,) = app.delegates
            assert b"".join(delegate.pieces) == body
            assert max(map(len, delegate.pieces)) <= 16384
            assert response.body == b"%d pieces, %d bytes" % (len(delegate.pieces), len(body))
            client.close()

    run(io_loop, main)


def test_delegate_sees_close_and_server_sees_on_close(io_loop: IOLoop) -> None:
    app = Streaming()

    async def main() -> None:
        async with serving(app) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly part")
            for _ in range(500):
                if app.delegates and app.delegates[0].pieces:
                    break
                await asyncio.sleep(0.01)
            client.close()
            for _ in range(500):
                if app.closed_connections:
                    break
                await asyncio.sleep(0.01)
            (delegate,) = app.delegates
            assert delegate.closed
            assert len(app.closed_connections) == 1
            assert not served.server._connections

    run(io_loop, main)


def test_expect_100_continue(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo) as served:
            client = await RawClient.connect(served.port)
            await client.send(
                b"PUT /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            interim = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 10)
            assert interim == b"HTTP/1.1 100 (Continue)\r\n\r\n"
            await client.send(b"hello")
            assert (await client.read_response()).body == b"PUT /x hello"
            # A client that does not wait gets no 100 (the body is already there).
            await client.send(
                b"PUT /y HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi"
            )
            response = await client.read_response()
            assert (response.status, response.body) == (200, b"PUT /y hi")
            client.close()

            # curl waits for the 100 before sending a body.
            code, out, err = await run_curl(
                "-H", "Expect: 100-continue", "--expect100-timeout", "30",
                "--data-binary", "abc", served.url("/curl"),
            )  # fmt: skip
            assert (code, out) == (0, b"POST /curl abc"), err

    run(io_loop, main)


def test_expect_100_continue_refused_by_the_application(io_loop: IOLoop) -> None:
    class Refuse(HTTPMessageDelegate):
        def __init__(self, connection: HTTPConnection) -> None:
            self.connection = connection

        def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
            self.connection.write_headers(
                ResponseStartLine("HTTP/1.1", 403, "Forbidden"),
                HTTPHeaders({"Content-Length": "0"}),
            )
            self.connection.finish()

    class App(HTTPServerConnectionDelegate):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> Refuse:
            return Refuse(request_conn)

    async def main() -> None:
        async with serving(App()) as served:
            client = await RawClient.connect(served.port)
            await client.send(
                b"PUT /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
            )
            response = await client.read_response()
            assert response.status == 403  # no 100 first
            assert await client.closed()  # the unread body makes the connection unusable

    run(io_loop, main)
