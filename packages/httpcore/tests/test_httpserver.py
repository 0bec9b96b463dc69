"""Tests for squall.httpserver: real loopback sockets, stdlib http.client, curl, raw bytes.

Every test runs over both HTTP/1 parsers (the ``parser`` fixture of
httpserver_helpers.py, where the helpers are, sets ``squall._http1.Parser``,
which connections read when they start).  Waits are bounded; nothing asserts
how long anything took.  Limits, timeouts,
malformed input and TLS have their own modules (test_httpserver_*.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
import warnings
from typing import Any

import pytest
from httpserver_helpers import (
    OK,
    RawClient,
    Streaming,
    echo,
    http_client,
    in_thread,
    parser_fixture,  # noqa: F401
    respond,
    run,
    run_curl,
    serving,
)

from squall import httpserver
from squall.http1connection import HTTP1Connection, HTTP1ServerConnection
from squall.httpserver import HTTPServer
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPOutputError,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from squall.ioloop import IOLoop
from squall.iostream import IOStream
from squall.netutil import bind_sockets

# ---------------------------------------------------------------------------
# A plain callback, through real clients
# ---------------------------------------------------------------------------


def test_http_client_keep_alive(io_loop: IOLoop) -> None:
    peers = []

    def handler(request: HTTPServerRequest) -> None:
        peers.append(request.remote_ip)
        echo(request)

    async def main() -> None:
        async with serving(handler) as served:

            def fetch() -> list[tuple[int, bytes, str | None]]:
                conn = http_client(served.port)
                results = []
                for method, path, body in [("GET", "/a?x=1", None), ("POST", "/b", b"data")]:
                    conn.request(method, path, body=body)
                    response = conn.getresponse()
                    results.append(
                        (response.status, response.read(), response.getheader("Connection"))
                    )
                sock = conn.sock
                conn.close()
                assert sock is not None
                return results

            assert await in_thread(fetch) == [
                (200, b"GET /a?x=1 ", None),
                (200, b"POST /b data", None),
            ]
        assert peers == ["127.0.0.1", "127.0.0.1"]

    run(io_loop, main)


def test_one_connection_serves_many_requests(io_loop: IOLoop) -> None:
    connections: list[object] = []

    def handler(request: HTTPServerRequest) -> None:
        connections.append(request.server_connection)
        echo(request)

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            for i in range(20):
                await client.send(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
                response = await client.read_response()
                assert response.body == b"GET /%d " % i
            client.close()
        assert len(set(map(id, connections))) == 1

    run(io_loop, main)


def test_curl_get_post_and_reuse(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo) as served:
            code, out, err = await run_curl(
                "--write-out",
                " %{http_code} %{num_connects}\n",
                served.url("/one"),
                served.url("/two?q=1"),
            )
            assert code == 0, err
            # The second transfer reused the first one's connection.
            assert out == b"GET /one  200 1\nGET /two?q=1  200 0\n"
            code, out, err = await run_curl("--data-binary", "payload", served.url("/post"))
            assert (code, out) == (0, b"POST /post payload"), err

    run(io_loop, main)


def test_request_attributes(io_loop: IOLoop) -> None:
    seen: list[HTTPServerRequest] = []

    def handler(request: HTTPServerRequest) -> None:
        seen.append(request)
        respond(request, b"ok")

    async def main() -> None:
        async with serving(handler) as served:
            code, _, err = await run_curl(
                "-H", "X-Custom: a", "-H", "X-Custom: b",
                "--data", "f=1&f=2&g=3",
                served.url("/path/x?q=1&q=2&empty="),
            )  # fmt: skip
            assert code == 0, err
        (request,) = seen
        assert request.method == "POST"
        assert request.uri == "/path/x?q=1&q=2&empty="
        assert request.path == "/path/x"
        assert request.query == "q=1&q=2&empty="
        assert request.version == "HTTP/1.1"
        assert request.protocol == "http"
        assert request.host == f"127.0.0.1:{served.port}"
        assert request.host_name == "127.0.0.1"
        assert request.remote_ip == "127.0.0.1"
        assert request.headers.get_list("X-Custom") == ["a", "b"]
        assert request.body == b"f=1&f=2&g=3"
        assert request.query_arguments == {"q": [b"1", b"2"], "empty": [b""]}
        assert request.body_arguments == {"f": [b"1", b"2"], "g": [b"3"]}
        assert request.arguments["q"] == [b"1", b"2"]
        assert request.arguments["f"] == [b"1", b"2"]
        assert isinstance(request.connection, HTTP1Connection)
        assert isinstance(request.server_connection, HTTP1ServerConnection)
        assert request.full_url() == f"http://127.0.0.1:{served.port}/path/x?q=1&q=2&empty="

    run(io_loop, main)


#: HTTPServerRequest's documented attributes.
_REQUEST_ATTRIBUTES = (
    "method",
    "uri",
    "path",
    "query",
    "version",
    "headers",
    "body",
    "remote_ip",
    "protocol",
    "host",
    "host_name",
    "arguments",
    "query_arguments",
    "body_arguments",
    "files",
    "connection",
    "server_connection",
    "cookies",
)


def test_bodiless_request_is_the_request_init_would_make(io_loop: IOLoop) -> None:
    # A GET is served without the callback adapter (a fast path): its
    # request has exactly the attributes HTTPServerRequest() gives it.
    seen: list[HTTPServerRequest] = []

    def handler(request: HTTPServerRequest) -> None:
        seen.append(request)
        respond(request, b"ok")

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\n")
            assert (await client.read_response()).status == 200
            await client.send(b"GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            assert (await client.read_response()).status == 200
        for request in seen:
            assert request.connection is not None
            expected = HTTPServerRequest(
                connection=request.connection,
                start_line=RequestStartLine(request.method, request.uri, request.version),
                headers=request.headers,
                server_connection=request.server_connection,
            )
            # Every attribute __init__ sets (the fast path makes some on
            # first use), and the documented ones.
            names = set(vars(expected)) | set(_REQUEST_ATTRIBUTES)
            for name in names - {"_start_time"}:
                assert getattr(request, name) == getattr(expected, name), name
            assert request.request_time() >= 0
            with pytest.raises(AttributeError, match="no_such_attribute"):
                request.no_such_attribute  # noqa: B018
        assert seen[0].host == "example.com"
        assert seen[0].query_arguments == {"b": [b"1"]}
        assert seen[1].host == "127.0.0.1"
        assert seen[1].version == "HTTP/1.0"

    run(io_loop, main)


def test_subclass_start_request_sees_every_request(io_loop: IOLoop) -> None:
    # A subclass's own start_request is not bypassed for bodiless requests.
    started: list[object] = []

    class Server(HTTPServer):
        def start_request(self, server_conn: object, request_conn: HTTPConnection) -> Any:
            started.append(request_conn)
            return super().start_request(server_conn, request_conn)

    async def main() -> None:
        server = Server(echo)
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        try:
            client = await RawClient.connect(sockets[0].getsockname()[1])
            await client.send(b"GET /x HTTP/1.1\r\n\r\n")
            response = await client.read_response()
            assert response.body == b"GET /x "
        finally:
            server.stop()
            await server.close_all_connections()
        assert len(started) == 1

    run(io_loop, main)


def test_multipart_upload_with_curl(io_loop: IOLoop, tmp_path: Any) -> None:
    seen: list[HTTPServerRequest] = []
    upload = tmp_path / "hello.txt"
    upload.write_bytes(b"file contents\x00\xff")

    def handler(request: HTTPServerRequest) -> None:
        seen.append(request)
        respond(request, b"ok")

    async def main() -> None:
        async with serving(handler) as served:
            code, out, err = await run_curl(
                "-F", "name=value", "-F", f"file=@{upload};type=text/plain", served.url("/up")
            )  # fmt: skip
            assert (code, out) == (0, b"ok"), err
        (request,) = seen
        assert request.body_arguments == {"name": [b"value"]}
        (uploaded,) = request.files["file"]
        assert uploaded.filename == "hello.txt"
        assert uploaded.body == b"file contents\x00\xff"
        assert uploaded.content_type == "text/plain"

    run(io_loop, main)


def test_coroutine_callback(io_loop: IOLoop) -> None:
    async def handler(request: HTTPServerRequest) -> None:
        await asyncio.sleep(0.01)
        echo(request)

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            # Pipelined: the second request waits for the first response.
            await client.send(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
            assert (await client.read_response()).body == b"GET /1 "
            assert (await client.read_response()).body == b"GET /2 "
            client.close()

    run(io_loop, main)


def test_many_concurrent_clients(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo) as served:

            async def one(i: int) -> bytes:
                client = await RawClient.connect(served.port)
                await client.send(b"GET /%d HTTP/1.1\r\n\r\n" % i)
                response = await client.read_response()
                client.close()
                return response.body

            bodies = await asyncio.gather(*(one(i) for i in range(100)))
            assert bodies == [b"GET /%d " % i for i in range(100)]

    run(io_loop, main)


# ---------------------------------------------------------------------------
# Response framing
# ---------------------------------------------------------------------------


def chunked_handler(request: HTTPServerRequest) -> None:
    """Answers without a length, in three writes."""
    connection = request.connection
    assert connection is not None
    connection.write_headers(OK, HTTPHeaders({"Content-Type": "text/plain"}), b"first,")
    connection.write(b"")  # an empty write is not the last chunk
    connection.write(b"second,")
    connection.write(b"third")
    connection.finish()


def test_chunked_response_to_http11(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(chunked_handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 10)
            assert b"Transfer-Encoding: chunked\r\n" in head
            assert b"Content-Length" not in head
            wire = await asyncio.wait_for(client.reader.readuntil(b"0\r\n\r\n"), 10)
            assert wire == b"6\r\nfirst,\r\n7\r\nsecond,\r\n5\r\nthird\r\n0\r\n\r\n"
            # Still usable.
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            assert (await client.read_response()).body == b"first,second,third"
            client.close()

            def fetch() -> bytes:
                conn = http_client(served.port)
                conn.request("GET", "/")
                body = conn.getresponse().read()
                conn.close()
                return body

            assert await in_thread(fetch) == b"first,second,third"

    run(io_loop, main)


def test_unframed_response_to_http10_ends_with_the_connection(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(chunked_handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            data = await client.read_until_close()
            head, _, body = data.partition(b"\r\n\r\n")
            assert body == b"first,second,third"
            assert b"Transfer-Encoding" not in head
            assert b"Connection: close" not in head  # HTTP/1.0 closes by default

    run(io_loop, main)


def test_http10_keep_alive_only_when_asked(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            response = await client.read_response()
            assert response.headers["Connection"] == "keep-alive"
            await client.send(b"GET /b HTTP/1.0\r\n\r\n")
            response = await client.read_response()
            assert response.body == b"GET /b "
            assert "Connection" not in response.headers
            assert await client.closed()

    run(io_loop, main)


def test_connection_close_from_client_or_app(io_loop: IOLoop) -> None:
    def handler(request: HTTPServerRequest) -> None:
        if request.path == "/app-closes":
            respond(request, b"bye", Connection="close")
        else:
            echo(request)

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n")
            response = await client.read_response()
            assert response.headers["Connection"] == "close"
            assert await client.closed()
            client = await RawClient.connect(served.port)
            await client.send(b"GET /app-closes HTTP/1.1\r\n\r\n")
            assert (await client.read_response()).body == b"bye"
            assert await client.closed()

    run(io_loop, main)


def test_no_keep_alive(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(echo, no_keep_alive=True) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            response = await client.read_response()
            assert response.headers["Connection"] == "close"
            assert await client.closed()

    run(io_loop, main)


def test_head_response_has_no_body(io_loop: IOLoop) -> None:
    def handler(request: HTTPServerRequest) -> None:
        # The same response as for GET: the body is not sent.
        respond(request, b"twelve bytes")

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n")
            head = await client.read_response("HEAD")
            assert head.headers["Content-Length"] == "12"
            get = await client.read_response()
            assert get.body == b"twelve bytes"
            client.close()

    run(io_loop, main)


@pytest.mark.parametrize("status", [204, 304])
def test_bodiless_statuses(io_loop: IOLoop, status: int) -> None:
    def handler(request: HTTPServerRequest) -> None:
        assert request.connection is not None
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", status, ""), HTTPHeaders({"X-A": "1"})
        )
        request.connection.finish()

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n")
            for _ in range(2):
                response = await client.read_response()
                assert response.status == status
                assert "Transfer-Encoding" not in response.headers
                assert "Content-Length" not in response.headers
            client.close()

    run(io_loop, main)


def test_reason_phrase_default_and_enum_status(io_loop: IOLoop) -> None:
    import http as http_module

    def handler(request: HTTPServerRequest) -> None:
        assert request.connection is not None
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", http_module.HTTPStatus.NOT_FOUND, ""),
            HTTPHeaders({"Content-Length": "0"}),
        )
        request.connection.finish()

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            response = await client.read_response()
            assert response.raw_head.startswith(b"HTTP/1.1 404 Not Found\r\n")
            client.close()

    run(io_loop, main)


def test_repeated_response_headers_are_separate_lines(io_loop: IOLoop) -> None:
    def handler(request: HTTPServerRequest) -> None:
        headers = HTTPHeaders({"Content-Length": "0"})
        headers.add("Set-Cookie", "a=1")
        headers.add("Set-Cookie", "b=2")
        assert request.connection is not None
        request.connection.write_headers(OK, headers)
        request.connection.finish()

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            response = await client.read_response()
            assert b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n" in response.raw_head
            client.close()

    run(io_loop, main)


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


# ---------------------------------------------------------------------------
# The application's errors
# ---------------------------------------------------------------------------


def test_callback_exception_closes_only_that_connection(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(request: HTTPServerRequest) -> None:
        if request.path == "/fail":
            raise ZeroDivisionError("handler bug")
        echo(request)

    async def main() -> None:
        async with serving(handler) as served:
            other = await RawClient.connect(served.port)
            await other.send(b"GET /before HTTP/1.1\r\n\r\n")
            assert (await other.read_response()).body == b"GET /before "
            client = await RawClient.connect(served.port)
            await client.send(b"GET /fail HTTP/1.1\r\n\r\n")
            assert await client.read_until_close() == b""
            await other.send(b"GET /after HTTP/1.1\r\n\r\n")
            assert (await other.read_response()).body == b"GET /after "
            other.close()

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        run(io_loop, main)
    (record,) = [r for r in caplog.records if r.name == "squall.application"]
    assert record.exc_info is not None
    assert record.exc_info[0] is ZeroDivisionError


def test_coroutine_callback_exception_is_logged(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(request: HTTPServerRequest) -> None:
        await asyncio.sleep(0)
        raise ZeroDivisionError("async handler bug")

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            assert await client.read_until_close() == b""

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        run(io_loop, main)
    assert any(
        r.exc_info is not None and r.exc_info[0] is ZeroDivisionError for r in caplog.records
    )


@pytest.mark.parametrize(
    ("headers", "chunks", "message"),
    [
        ({"Content-Length": "3"}, [b"four"], "more data than Content-Length"),
        ({"Content-Length": "10"}, [b"four"], "less than Content-Length"),
        ({"X-Evil": "a\r\nSet-Cookie: injected=1"}, [], "Unsafe value"),
        ({"X-Evil": "a\nb"}, [], "Unsafe value"),
        ({"Bad Name": "x"}, [], "Invalid header name"),
        ({"Content-Length": "-1"}, [], "Invalid Content-Length"),
    ],
)
def test_output_errors(
    io_loop: IOLoop, headers: dict[str, str], chunks: list[bytes], message: str
) -> None:
    errors: list[Exception] = []

    def handler(request: HTTPServerRequest) -> None:
        connection = request.connection
        assert connection is not None
        try:
            connection.write_headers(OK, HTTPHeaders(headers))
            for chunk in chunks:
                connection.write(chunk)
            connection.finish()
        except HTTPOutputError as exc:
            errors.append(exc)
            request.connection.stream.close()  # type: ignore[union-attr]

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            received = await client.read_until_close()
            assert b"injected" not in received

    run(io_loop, main)
    assert len(errors) == 1
    assert message in str(errors[0])


def test_body_on_204_is_an_output_error(io_loop: IOLoop) -> None:
    errors: list[Exception] = []

    def handler(request: HTTPServerRequest) -> None:
        connection = request.connection
        assert connection is not None
        try:
            connection.write_headers(ResponseStartLine("HTTP/1.1", 204, ""), HTTPHeaders(), b"x")
        except HTTPOutputError as exc:
            errors.append(exc)

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            assert await client.read_until_close() == b""

    run(io_loop, main)
    assert "must not have a body" in str(errors[0])


# ---------------------------------------------------------------------------
# xheaders
# ---------------------------------------------------------------------------


def ip_and_protocol(request: HTTPServerRequest) -> None:
    respond(request, f"{request.remote_ip} {request.protocol}".encode())


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "127.0.0.1 http"),
        ({"X-Real-Ip": "10.0.0.1"}, "10.0.0.1 http"),
        ({"X-Forwarded-For": "10.0.0.1, 10.0.0.2"}, "10.0.0.2 http"),
        ({"X-Forwarded-For": "10.0.0.1, 10.0.0.2, 10.0.0.99"}, "10.0.0.2 http"),
        ({"X-Forwarded-For": "10.0.0.1, 10.0.0.98, 10.0.0.99"}, "10.0.0.1 http"),
        ({"X-Forwarded-For": "2001:db8::1"}, "2001:db8::1 http"),
        ({"X-Real-Ip": "not an ip"}, "127.0.0.1 http"),
        ({"X-Forwarded-For": "<script>"}, "127.0.0.1 http"),
        ({"X-Scheme": "https"}, "127.0.0.1 https"),
        ({"X-Forwarded-Proto": "https"}, "127.0.0.1 https"),
        ({"X-Forwarded-Proto": "http, https"}, "127.0.0.1 https"),
        ({"X-Forwarded-Proto": "gopher"}, "127.0.0.1 http"),
    ],
)
def test_xheaders(io_loop: IOLoop, headers: dict[str, str], expected: str) -> None:
    async def main() -> None:
        async with serving(
            ip_and_protocol, xheaders=True, trusted_downstream=["10.0.0.98", "10.0.0.99"]
        ) as served:
            client = await RawClient.connect(served.port)
            fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            await client.send(f"GET / HTTP/1.1\r\n{fields}\r\n".encode())
            assert (await client.read_response()).body == expected.encode()
            # Applied to that request only.
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            assert (await client.read_response()).body == b"127.0.0.1 http"
            client.close()

    run(io_loop, main)


def test_xheaders_off_and_protocol_argument(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(ip_and_protocol, protocol="https") as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\nX-Real-Ip: 10.0.0.1\r\nX-Scheme: http\r\n\r\n")
            assert (await client.read_response()).body == b"127.0.0.1 https"
            client.close()

    run(io_loop, main)


# ---------------------------------------------------------------------------
# Taking the stream over (websocket-style)
# ---------------------------------------------------------------------------


class Upgrade(HTTPServerConnectionDelegate):
    """Answers 101, detaches and echoes lines on the raw stream."""

    def __init__(self, in_headers_received: bool) -> None:
        self.in_headers_received = in_headers_received
        self.closed: list[object] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> Any:
        app = self

        class Delegate(HTTPMessageDelegate):
            def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
                if app.in_headers_received:
                    app.switch(request_conn)

            def finish(self) -> None:
                if not app.in_headers_received:
                    app.switch(request_conn)

        return Delegate()

    def switch(self, connection: HTTPConnection) -> None:
        connection.write_headers(
            ResponseStartLine("HTTP/1.1", 101, "Switching Protocols"),
            HTTPHeaders({"Upgrade": "echo", "Connection": "Upgrade"}),
        )
        connection.finish()
        assert isinstance(connection, HTTP1Connection)
        stream = connection.detach()
        task = asyncio.ensure_future(self.echo(stream))
        self.tasks.add(task)

    async def echo(self, stream: IOStream) -> None:
        while True:
            line = await stream.read_until(b"\n")
            await stream.write(b"echo " + line)
            if line == b"bye\n":
                stream.close()
                return

    def on_close(self, server_conn: object) -> None:
        self.closed.append(server_conn)


@pytest.mark.parametrize("in_headers_received", [True, False])
def test_detach_after_101(io_loop: IOLoop, in_headers_received: bool) -> None:
    app = Upgrade(in_headers_received)

    async def main() -> None:
        async with serving(app) as served:
            client = await RawClient.connect(served.port)
            # The new protocol's first bytes arrive with the request.
            await client.send(
                b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst\n"
            )
            response = await client.read_response()
            assert response.status == 101
            assert await asyncio.wait_for(client.reader.readline(), 10) == b"echo first\n"
            await client.send(b"GET / HTTP/1.1\r\n")  # not HTTP any more
            assert (
                await asyncio.wait_for(client.reader.readline(), 10) == b"echo GET / HTTP/1.1\r\n"
            )
            await client.send(b"bye\n")
            assert await client.read_until_close() == b"echo bye\n"
            # Detached connections are not the server's any more.
            assert len(app.closed) == 1
            assert not served.server._connections
            await asyncio.gather(*app.tasks)

    run(io_loop, main)


# ---------------------------------------------------------------------------
# Shutting down, configuration, legacy interfaces
# ---------------------------------------------------------------------------


def test_close_all_connections(io_loop: IOLoop) -> None:
    app = Streaming()

    async def main() -> None:
        server = HTTPServer(app)
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        idle = await RawClient.connect(port)
        await idle.send(b"GET / HTTP/1.1\r\n\r\n")
        await idle.read_response()
        busy = await RawClient.connect(port)
        await busy.send(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        for _ in range(500):
            if len(app.delegates) == 2 and app.delegates[1].pieces:
                break
            await asyncio.sleep(0.01)
        server.stop()
        await server.close_all_connections()
        assert await idle.closed()
        assert await busy.closed()
        assert app.delegates[1].closed
        assert len(app.closed_connections) == 2

    run(io_loop, main)


def test_configurable(io_loop: IOLoop) -> None:
    class MyServer(HTTPServer):
        pass

    saved = HTTPServer._save_configuration()
    try:
        HTTPServer.configure(MyServer, xheaders=True)
        server = HTTPServer(echo)
        assert isinstance(server, MyServer)
        assert server.xheaders is True
    finally:
        HTTPServer._restore_configuration(saved)
    assert type(HTTPServer(echo)) is HTTPServer


def test_tornado4_positional_io_loop(io_loop: IOLoop) -> None:
    with pytest.warns(DeprecationWarning, match="io_loop"):
        server = HTTPServer(echo, False, io_loop, True)
    assert server.xheaders is True


def test_http_request_alias_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="HTTPServerRequest"):
        alias = httpserver.HTTPRequest
    assert alias is HTTPServerRequest
    assert "HTTPRequest" not in httpserver.__all__


def test_legacy_request_write_and_finish(io_loop: IOLoop) -> None:
    def handler(request: HTTPServerRequest) -> None:
        message = b"You requested " + request.uri.encode()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            request.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(message), message)
            )
            request.finish()

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
            assert (await client.read_response()).body == b"You requested /a"
            assert (await client.read_response()).body == b"You requested /b"
            client.close()

    run(io_loop, main)


def test_legacy_raw_write_warns(io_loop: IOLoop) -> None:
    caught: list[warnings.WarningMessage] = []

    def handler(request: HTTPServerRequest) -> None:
        connection = request.connection
        assert connection is not None
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            connection.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nraw")
        caught.extend(record)
        connection.finish()

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            assert (await client.read_until_close()).endswith(b"\r\n\r\nraw")

    run(io_loop, main)
    assert [w.category for w in caught] == [DeprecationWarning]


# ---------------------------------------------------------------------------
# Several processes
# ---------------------------------------------------------------------------

MULTI_PROCESS_SERVER = textwrap.dedent(
    """
    import os, sys
    from squall.httpserver import HTTPServer
    from squall.httputil import HTTPHeaders, ResponseStartLine
    from squall.ioloop import IOLoop

    def handle(request):
        body = str(os.getpid()).encode()
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"),
            HTTPHeaders({"Content-Length": str(len(body))}),
            body,
        )
        request.connection.finish()

    server = HTTPServer(handle)
    server.bind(0, "127.0.0.1")
    port = next(iter(server._pending_sockets)).getsockname()[1]
    print(port, flush=True)
    server.start(2)
    IOLoop.current().start()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_bind_and_start_forks_processes(tmp_path: Any, parser: str) -> None:
    script = tmp_path / "server.py"
    script.write_text(MULTI_PROCESS_SERVER)
    env = {**os.environ, "SQUALL_NO_EXTENSIONS": "1" if parser == "python" else ""}
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, start_new_session=True, env=env
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        pids = set()
        for _ in range(20):
            conn = http_client(port)
            for _ in range(100):
                try:
                    conn.request("GET", "/")
                    break
                except ConnectionRefusedError:  # children still starting
                    conn.close()
                    conn = http_client(port)
                    import time

                    time.sleep(0.05)
            response = conn.getresponse()
            assert response.status == 200
            pids.add(int(response.read()))
            conn.close()
        assert pids
        assert process.pid not in pids  # the parent only supervises
    finally:
        os.killpg(process.pid, 9)
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()


# ---------------------------------------------------------------------------
# Unix sockets
# ---------------------------------------------------------------------------


def test_unix_socket(io_loop: IOLoop, tmp_path: Any) -> None:
    from squall.netutil import bind_unix_socket

    path = str(tmp_path / "http.sock")

    async def main() -> None:
        server = HTTPServer(ip_and_protocol)
        server.add_socket(bind_unix_socket(path))
        try:
            code, out, err = await run_curl("--unix-socket", path, "http://localhost/")
            assert (code, out) == (0, b"0.0.0.0 http"), err
        finally:
            server.stop()
            await server.close_all_connections()

    run(io_loop, main)
