"""Tests for squall.httpserver: a plain callback through real clients, and response framing.

Real loopback sockets; stdlib http.client, curl and raw bytes as clients.
Every test runs over both HTTP/1 parsers (the ``parser`` fixture of
httpserver_helpers.py, where the helpers are).  Waits are bounded; nothing
asserts how long anything took.  Request bodies, the server's life cycle,
limits, timeouts, malformed input and TLS have their own modules
(test_httpserver_*.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpserver_helpers import (
    OK,
    RawClient,
    echo,
    http_client,
    in_thread,
    parser_fixture,  # noqa: F401
    respond,
    run,
    run_curl,
    serving,
)

from squall.http1connection import HTTP1Connection, HTTP1ServerConnection
from squall.httpserver import HTTPServer
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPOutputError,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from squall.ioloop import IOLoop
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


def test_a_refused_head_changes_nothing(io_loop: IOLoop) -> None:
    # write_headers raises HTTPOutputError before it changes the connection:
    # the application may answer again, and that answer alone frames the
    # response (not chunked, not bodiless, the connection kept open).
    refused: list[HTTPOutputError] = []
    attempts = [
        (ResponseStartLine("HTTP/1.1", 200, "O\r\nK"), HTTPHeaders()),  # would be chunked
        (ResponseStartLine("HTTP/1.1", 204, "No Content"), HTTPHeaders({"X": "a\nb"})),
        (OK, HTTPHeaders({"Connection": "close", "X": "\0"})),  # would close
        (OK, HTTPHeaders({"Content-Length": "x1"})),
        (OK, HTTPHeaders({"Bad Name": "1"})),
    ]

    def handler(request: HTTPServerRequest) -> None:
        connection = request.connection
        assert connection is not None
        for start_line, headers in attempts:
            with pytest.raises(HTTPOutputError) as info:
                connection.write_headers(start_line, headers)
            refused.append(info.value)
        connection.write_headers(OK, HTTPHeaders({"Content-Length": "2"}), b"ok")
        connection.finish()

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            for _ in range(2):  # the same connection: kept open
                await client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
                response = await client.read_response()
                assert (response.status, response.body) == (200, b"ok")
                assert response.raw_head == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
            client.close()

    run(io_loop, main)
    assert len(refused) == 2 * len(attempts)


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
