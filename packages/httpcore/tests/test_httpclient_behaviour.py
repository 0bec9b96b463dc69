"""One behavioural suite for every HTTP client implementation.

Each test runs over ``simple`` (`SimpleAsyncHTTPClient`) and ``curl``
(`CurlAsyncHTTPClient`): what a user of `AsyncHTTPClient` may rely on
whichever implementation is configured.  Implementation details (the
simple client's pool, libcurl's options) are tested in
``test_simple_httpclient.py`` and ``test_curl_httpclient.py``.

The peers are scripted servers on the test's own event loop (asyncio
streams): an origin whose handler sees each parsed request and writes any
bytes it likes (so malformed and truncated responses are exact), a
forward proxy, and squall's own HTTPServer.  Loopback only; no timed
assertions; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import os
import socket
import ssl
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from httpcore_peers import (
    Handler,
    Proxy,
    Request,
    Server,
    answer,
    digest_server,
    echo,
    fetch,
    fetch_error,
    never_answer,
    raw,
    response,
    run,
)

from squall.httpclient import AsyncHTTPClient, HTTPClient, HTTPClientError
from squall.ioloop import IOLoop

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


class SquallServer:
    """squall.httpserver.HTTPServer answering with the request's method, target and body."""

    def __init__(self, **kwargs: Any) -> None:
        from squall.httpserver import HTTPServer
        from squall.netutil import bind_sockets

        self.server = HTTPServer(self.handle, **kwargs)
        sockets = bind_sockets(0, "127.0.0.1")
        self.server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        self.scheme = "https" if kwargs.get("ssl_options") else "http"

    def handle(self, request: Any) -> None:
        from squall.httputil import HTTPHeaders, ResponseStartLine

        connection = request.connection
        body = f"{request.method} {request.uri} ".encode() + request.body
        if request.uri.startswith("/redirect"):
            fields = HTTPHeaders({"Location": "/final", "Content-Length": "0"})
            connection.write_headers(ResponseStartLine("HTTP/1.1", 302, ""), fields, b"")
        elif request.uri.startswith("/chunked"):
            connection.write_headers(ResponseStartLine("HTTP/1.1", 200, ""), HTTPHeaders())
            for _ in range(3):
                connection.write(body)
        else:
            fields = HTTPHeaders({"Content-Length": str(len(body))})
            connection.write_headers(ResponseStartLine("HTTP/1.1", 200, ""), fields, body)
        connection.finish()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    async def close(self) -> None:
        self.server.stop()
        await self.server.close_all_connections()


# ---------------------------------------------------------------------------
# The implementations, and the harness
# ---------------------------------------------------------------------------

IMPLEMENTATIONS = ["simple", "curl"]


def client_class(kind: str) -> type[AsyncHTTPClient]:
    if kind == "simple":
        from squall.simple_httpclient import SimpleAsyncHTTPClient

        return SimpleAsyncHTTPClient
    from squall.curl_httpclient import CurlAsyncHTTPClient

    return CurlAsyncHTTPClient


class Harness:
    """The clients (of one implementation) and the peers of one test, closed together."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.clients: list[AsyncHTTPClient] = []
        self.peers: list[Any] = []

    def client(self, **kwargs: Any) -> AsyncHTTPClient:
        client = client_class(self.kind)(force_instance=True, **kwargs)
        self.clients.append(client)
        return client

    async def server(self, handler: Handler, **kwargs: Any) -> Server:
        server = await Server(handler, **kwargs).start()
        self.peers.append(server)
        return server

    async def proxy(self, **kwargs: Any) -> Proxy:
        proxy = await Proxy(**kwargs).start()
        self.peers.append(proxy)
        return proxy

    def squall_server(self, **kwargs: Any) -> SquallServer:
        server = SquallServer(**kwargs)
        self.peers.append(server)
        return server

    async def close(self) -> None:
        for client in self.clients:
            client.close()
        for client in self.clients:
            await client._wait_closed()
        for peer in self.peers:
            await peer.close()
        for _ in range(3):
            await asyncio.sleep(0)


@pytest.fixture(params=IMPLEMENTATIONS)
def harness(request: pytest.FixtureRequest, io_loop: IOLoop) -> Iterator[Harness]:
    h = Harness(request.param)
    try:
        yield h
    finally:
        io_loop.run_sync(h.close, timeout=30)


@pytest.fixture
def ca_file(tls_ca: trustme.CA, tmp_path: Any) -> str:
    path = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


# ---------------------------------------------------------------------------
# Basics
# ---------------------------------------------------------------------------


def test_get(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(response(200, b"hello", {"X-A": "1"})))
        client = harness.client()
        result = await fetch(client, server.url("/path?q=1"))
        assert result.code == 200
        assert result.reason == "OK"
        assert result.body == b"hello"
        assert result.buffer is not None
        assert result.buffer.getvalue() == b"hello"
        assert result.headers["X-A"] == "1"
        assert result.effective_url == server.url("/path?q=1")
        assert result.error is None
        assert result.request_time is not None
        assert result.request_time >= 0
        assert result.start_time is not None
        assert {"queue", "connect", "total"} <= set(result.time_info)
        request = server.requests[0]
        assert (request.method, request.target, request.version) == (
            "GET",
            "/path?q=1",
            "HTTP/1.1",
        )
        assert request.headers["host"] == f"127.0.0.1:{server.port}"
        assert request.headers["user-agent"].startswith("squall")
        assert "gzip" in request.headers["accept-encoding"]
        assert "content-length" not in request.headers

    run(io_loop, f)


def test_repeated_response_fields(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        head = b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n"
        server = await harness.server(answer(head + b"\r\nok"))
        client = harness.client()
        result = await fetch(client, server.url())
        assert result.headers.get_list("Set-Cookie") == ["a=1", "b=2"]
        assert result.body == b"ok"

    run(io_loop, f)


def test_reason_phrase_is_the_servers(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(response(200, b"x", reason="Fine Indeed")))
        client = harness.client()
        assert (await fetch(client, server.url())).reason == "Fine Indeed"

    run(io_loop, f)


def test_request_options_on_the_wire(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        await fetch(
            client,
            server.url("/caf\u00e9 x?a=\u00e9#fragment"),
            user_agent="Agent/2",
            headers={"X-Custom": "v", "Accept-Encoding": "identity"},
            if_modified_since=0,
        )
        request = server.requests[0]
        assert request.target == "/caf%C3%A9%20x?a=%C3%A9"
        assert request.headers["user-agent"] == "Agent/2"
        assert request.headers["x-custom"] == "v"
        assert request.headers["accept-encoding"] == "identity"
        assert request.headers["if-modified-since"] == "Thu, 01 Jan 1970 00:00:00 GMT"
        await fetch(client, server.url(), decompress_response=False, headers={"Host": "h.example"})
        assert "accept-encoding" not in server.requests[1].headers
        assert server.requests[1].headers["host"] == "h.example"

    run(io_loop, f)


def test_defaults(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client(defaults={"user_agent": "Default/1"})
        await fetch(client, server.url())
        await fetch(client, server.url(), user_agent="Mine/2")
        assert server.requests[0].headers["user-agent"] == "Default/1"
        assert server.requests[1].headers["user-agent"] == "Mine/2"

    run(io_loop, f)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_request_bodies(io_loop: IOLoop, harness: Harness, method: str) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        await fetch(client, server.url(), method=method, body="d\u00e9ta")
        await fetch(client, server.url(), method=method, body=b"")
        big = os.urandom(300_000)
        await fetch(client, server.url(), method=method, body=big)
        first, empty, large = server.requests
        assert (first.method, first.body) == (method, "d\u00e9ta".encode())
        assert first.headers["content-length"] == str(len("d\u00e9ta".encode()))
        assert "content-type" not in first.headers
        assert "expect" not in first.headers
        assert (empty.body, empty.headers["content-length"]) == (b"", "0")
        assert large.body == big
        assert "expect" not in large.headers

    run(io_loop, f)


def test_delete_and_options_without_body(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        for method in ("DELETE", "OPTIONS", "HEAD"):
            await fetch(client, server.url(), method=method)
        assert [r.method for r in server.requests] == ["DELETE", "OPTIONS", "HEAD"]
        assert all(r.body == b"" for r in server.requests)

    run(io_loop, f)


def test_invalid_requests_raise_value_error(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        client = harness.client()
        url = "http://127.0.0.1:1/"
        with pytest.raises(ValueError):
            await fetch(client, url, method="POST")
        with pytest.raises(ValueError):
            await fetch(client, url, body=b"x")
        with pytest.raises(ValueError):
            await fetch(client, url, method="FROB")
        with pytest.raises(ValueError):
            await fetch(client, "ftp://127.0.0.1/x")
        with pytest.raises(ValueError):
            await fetch(client, url, headers={"X": "a\r\nInjected: 1"})
        # Even with raise_error=False: the request itself is wrong.
        with pytest.raises(ValueError):
            await fetch(client, "nope://x/", raise_error=False)

    run(io_loop, f)


def test_nonstandard_methods_allowed(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        await fetch(client, server.url(), method="PROPFIND", allow_nonstandard_methods=True)
        await fetch(
            client, server.url(), method="GET", body=b"odd", allow_nonstandard_methods=True
        )
        assert server.requests[0].method == "PROPFIND"
        assert (server.requests[1].method, server.requests[1].body) == ("GET", b"odd")

    run(io_loop, f)


def test_error_status_and_raise_error(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(response(404, b"missing")))
        client = harness.client()
        error = await fetch_error(client, server.url())
        assert error.code == 404
        assert error.response is not None
        assert error.response.body == b"missing"
        result = await fetch(client, server.url(), raise_error=False)
        assert result.code == 404
        assert isinstance(result.error, HTTPClientError)
        with pytest.raises(HTTPClientError):
            result.rethrow()

    run(io_loop, f)


def test_head_204_304(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(
            answer(
                response(200, b"", {"Content-Length": "1000"}),
                response(204),
                response(304, headers={"ETag": '"e"'}),
            )
        )
        client = harness.client()
        head = await fetch(client, server.url(), method="HEAD")
        assert (head.code, head.body, head.headers["Content-Length"]) == (200, b"", "1000")
        empty = await fetch(client, server.url())
        assert (empty.code, empty.body) == (204, b"")
        not_modified = await fetch(client, server.url(), raise_error=False)
        assert not_modified.code == 304
        assert not_modified.headers["ETag"] == '"e"'
        # Nothing was left unread: the next request works.
        assert (await fetch(client, server.url(), raise_error=False)).code == 304

    run(io_loop, f)


def test_interim_responses_are_skipped(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        server = await harness.server(answer(interim + response(200, b"final")))
        client = harness.client()
        lines: list[str] = []
        result = await fetch(client, server.url())
        assert (result.code, result.body) == (200, b"final")
        assert "Link" not in result.headers
        await fetch(client, server.url(), header_callback=lines.append)
        assert lines[0] == "HTTP/1.1 200 OK\r\n"

    run(io_loop, f)


def test_sequential_requests_reuse_the_connection(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(response(200, b"x")))
        client = harness.client()
        for _ in range(3):
            await fetch(client, server.url())
        assert server.connections == 1

    run(io_loop, f)


# ---------------------------------------------------------------------------
# max_clients
# ---------------------------------------------------------------------------


def test_max_clients_queues_fetches(io_loop: IOLoop, harness: Harness) -> None:
    async def slow(request: Request, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.02)
        writer.write(response(200, request.target.encode()))
        return True

    async def f() -> None:
        server = await harness.server(slow)
        client = harness.client(max_clients=2)
        results = await asyncio.wait_for(
            asyncio.gather(*(client.fetch(server.url(f"/{i}")) for i in range(7))), 20
        )
        assert [r.body for r in results] == [f"/{i}".encode() for i in range(7)]
        assert server.max_open <= 2
        assert all("queue" in r.time_info for r in results)
        assert max(r.time_info["queue"] for r in results) > 0

    run(io_loop, f)


def test_queue_timeout(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(never_answer)
        client = harness.client(max_clients=1)
        first = client.fetch(server.url(), request_timeout=5, raise_error=False)
        error = await fetch_error(client, server.url(), connect_timeout=0.1, request_timeout=5)
        assert error.code == 599
        assert "queue" in str(error)
        client.close()
        closed = await asyncio.wait_for(first, 10)
        assert closed.code == 599

    run(io_loop, f)


def test_close_fails_active_and_queued_fetches(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(never_answer)
        client = harness.client(max_clients=1)
        active = client.fetch(server.url(), raise_error=False)
        queued = client.fetch(server.url(), raise_error=False)
        for _ in range(20):
            await asyncio.sleep(0.01)
            if server.requests:
                break
        client.close()
        results = await asyncio.wait_for(asyncio.gather(active, queued), 10)
        assert [r.code for r in results] == [599, 599]
        with pytest.raises(RuntimeError):
            client.fetch(server.url())

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Redirects
# ---------------------------------------------------------------------------


def redirecting(code: int) -> Handler:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.target == "/start":
            writer.write(response(code, b"moved", {"Location": "/end"}))
        else:
            writer.write(echo(request))
        return True

    return handler


@pytest.mark.parametrize("code", [301, 302, 303])
def test_redirect_post_becomes_get(io_loop: IOLoop, harness: Harness, code: int) -> None:
    async def f() -> None:
        server = await harness.server(redirecting(code))
        client = harness.client()
        result = await fetch(
            client, server.url("/start"), method="POST", body=b"data",
            headers={"Content-Type": "text/plain"},
        )  # fmt: skip
        assert result.code == 200
        assert result.effective_url == server.url("/end")
        final = server.requests[-1]
        assert (final.method, final.target, final.body) == ("GET", "/end", b"")
        assert "content-length" not in final.headers
        assert "content-type" not in final.headers

    run(io_loop, f)


@pytest.mark.parametrize("code", [307, 308])
def test_redirect_keeps_method_and_body(io_loop: IOLoop, harness: Harness, code: int) -> None:
    async def f() -> None:
        server = await harness.server(redirecting(code))
        client = harness.client()
        result = await fetch(client, server.url("/start"), method="PUT", body=b"data")
        assert result.code == 200
        final = server.requests[-1]
        assert (final.method, final.target, final.body) == ("PUT", "/end", b"data")

    run(io_loop, f)


def test_redirect_callbacks_only_see_the_final_response(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(redirecting(302))
        client = harness.client()
        chunks: list[bytes] = []
        lines: list[str] = []
        await fetch(
            client,
            server.url("/start"),
            streaming_callback=chunks.append,
            header_callback=lines.append,
        )
        assert b"moved" not in b"".join(chunks)
        assert b"".join(chunks).startswith(b"GET /end")
        assert lines[0] == "HTTP/1.1 200 OK\r\n"
        assert sum(1 for line in lines if line.startswith("HTTP/")) == 1

    run(io_loop, f)


def test_redirect_not_followed(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(redirecting(302))
        client = harness.client()
        error = await fetch_error(client, server.url("/start"), follow_redirects=False)
        assert error.code == 302
        assert error.response is not None
        assert error.response.headers["Location"] == "/end"
        assert error.response.body == b"moved"

    run(io_loop, f)


def test_max_redirects(io_loop: IOLoop, harness: Harness) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        n = int(request.target.strip("/") or 0)
        writer.write(response(302, b"", {"Location": f"/{n + 1}"}))
        return True

    async def f() -> None:
        server = await harness.server(handler)
        client = harness.client()
        error = await fetch_error(client, server.url("/0"), max_redirects=3)
        assert error.code == 302
        assert error.response is not None
        assert error.response.effective_url == server.url("/3")
        assert len(server.requests) == 4

    run(io_loop, f)


def test_redirect_to_another_origin_drops_credentials(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        other = await harness.server(answer(echo))

        async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
            writer.write(response(302, b"", {"Location": other.url("/there")}))
            return True

        server = await harness.server(handler)
        client = harness.client()
        result = await fetch(
            client, server.url("/here"), auth_username="u", auth_password="p",
            headers={"Cookie": "a=b"},
        )  # fmt: skip
        assert result.effective_url == other.url("/there")
        assert "authorization" in server.requests[0].headers
        assert "authorization" not in other.requests[0].headers
        assert "cookie" not in other.requests[0].headers

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Content codings, callbacks
# ---------------------------------------------------------------------------


def test_gzip_and_deflate(io_loop: IOLoop, harness: Harness) -> None:
    payload = b"squall " * 1000

    async def f() -> None:
        server = await harness.server(
            answer(
                response(200, gzip.compress(payload), {"Content-Encoding": "gzip"}),
                response(200, zlib.compress(payload), {"Content-Encoding": "deflate"}),
                response(200, gzip.compress(payload), {"Content-Encoding": "gzip"}),
            )
        )
        client = harness.client()
        decoded = await fetch(client, server.url())
        assert decoded.body == payload
        # The body is no longer gzip: the header says what was undone.
        assert "Content-Encoding" not in decoded.headers
        assert decoded.headers["X-Consumed-Content-Encoding"] == "gzip"
        assert (await fetch(client, server.url())).body == payload
        undecoded = await fetch(client, server.url(), decompress_response=False)
        assert gzip.decompress(undecoded.body) == payload
        assert undecoded.headers["Content-Encoding"] == "gzip"

    run(io_loop, f)


def test_chunked_response(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        server = await harness.server(
            answer(response(200, body, {"Transfer-Encoding": "chunked"}, length=False))
        )
        client = harness.client()
        assert (await fetch(client, server.url())).body == b"hello world"

    run(io_loop, f)


def test_streaming_and_header_callbacks(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        payload = b"z" * 200_000
        server = await harness.server(answer(response(200, payload, {"X-Y": "1"})))
        client = harness.client()
        chunks: list[bytes] = []
        lines: list[str] = []
        result = await fetch(
            client, server.url(), streaming_callback=chunks.append, header_callback=lines.append
        )
        assert b"".join(chunks) == payload
        assert result.body == b""
        assert lines[0] == "HTTP/1.1 200 OK\r\n"
        assert "X-Y: 1\r\n" in lines
        assert lines[-1] == "\r\n"
        assert len(result.headers) == 0  # documented: empty with a header_callback

    run(io_loop, f)


def test_callback_exceptions_fail_the_request(io_loop: IOLoop, harness: Harness) -> None:
    def broken(chunk: bytes) -> None:
        raise RuntimeError("callback bug")

    async def f() -> None:
        server = await harness.server(answer(response(200, b"data")))
        client = harness.client()
        with pytest.raises(RuntimeError, match="callback bug"):
            await fetch(client, server.url(), streaming_callback=broken)
        result = await fetch(client, server.url(), streaming_callback=broken, raise_error=False)
        assert result.code == 599
        assert isinstance(result.error, RuntimeError)
        assert (await fetch(client, server.url())).body == b"data"

    run(io_loop, f)


def test_expect_100_continue(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        result = await fetch(
            client, server.url(), method="POST", body=b"after continue", expect_100_continue=True
        )
        assert result.body.endswith(b"after continue")
        request = server.requests[0]
        assert request.headers["expect"] == "100-continue"
        assert request.body == b"after continue"

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Timeouts and transport errors (599)
# ---------------------------------------------------------------------------


def test_request_timeout(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(never_answer)
        client = harness.client()
        error = await fetch_error(client, server.url(), request_timeout=0.2)
        assert error.code == 599
        assert "time" in str(error).lower()
        result = await fetch(client, server.url(), request_timeout=0.2, raise_error=False)
        assert result.code == 599
        assert result.error is not None

    run(io_loop, f)


def test_connect_timeout(io_loop: IOLoop, harness: Harness) -> None:
    # A listener that never accepts, its backlog filled: the kernel drops
    # further SYNs, so connecting hangs until the connect timeout.
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(5):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)

        async def f() -> None:
            client = harness.client()
            error = await fetch_error(
                client, f"http://127.0.0.1:{port}/", connect_timeout=0.2, request_timeout=10
            )
            assert error.code == 599
            assert "time" in str(error).lower()

        run(io_loop, f)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_connection_refused(io_loop: IOLoop, harness: Harness) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    async def f() -> None:
        client = harness.client()
        error = await fetch_error(client, f"http://127.0.0.1:{port}/")
        assert error.code == 599
        assert str(port) in str(error)
        result = await fetch(client, f"http://127.0.0.1:{port}/", raise_error=False)
        assert result.code == 599
        assert result.error is not None

    run(io_loop, f)


@pytest.mark.parametrize(
    ("reply", "then"),
    [
        (b"garbage\r\n\r\n", "close"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "close"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "keep"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", "close"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "close"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "close"),
        (b"", "close"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", "reset"),
        (b"", "reset"),
    ],
)
def test_bad_responses_fail_cleanly(
    io_loop: IOLoop, harness: Harness, reply: bytes, then: str
) -> None:
    async def f() -> None:
        bad = await harness.server(raw(reply, then))
        good = await harness.server(answer(response(200, b"fine")))
        client = harness.client(max_clients=1)
        error = await fetch_error(client, bad.url())
        assert error.code == 599
        # Nothing is left behind: the next request works.
        assert (await fetch(client, good.url())).body == b"fine"

    run(io_loop, f)


def test_invalid_gzip_fails(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(
            answer(response(200, b"not gzip at all", {"Content-Encoding": "gzip"}))
        )
        client = harness.client()
        error = await fetch_error(client, server.url())
        assert error.code == 599

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------


def test_basic_auth(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        await fetch(client, server.url(), auth_username="Aladdin", auth_password="open sesame")
        assert server.requests[0].headers["authorization"] == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        await fetch(client, server.url().replace("://", "://us%40r:p%3Ass@"))
        expected = base64.b64encode(b"us@r:p:ss").decode()
        assert server.requests[1].headers["authorization"] == f"Basic {expected}"
        await fetch(client, server.url(), auth_username="empty")
        expected = base64.b64encode(b"empty:").decode()
        assert server.requests[2].headers["authorization"] == f"Basic {expected}"

    run(io_loop, f)


def test_digest_auth(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(digest_server("mufasa", "circle of life"))
        client = harness.client()
        lines: list[str] = []
        chunks: list[bytes] = []
        result = await fetch(
            client,
            server.url("/dir/index.html?x=1"),
            auth_username="mufasa",
            auth_password="circle of life",
            auth_mode="digest",
        )
        assert result.body == b"welcome"
        assert len(server.requests) == 2
        await fetch(
            client,
            server.url("/again"),
            auth_username="mufasa",
            auth_password="circle of life",
            auth_mode="digest",
            header_callback=lines.append,
            streaming_callback=chunks.append,
        )
        # The callbacks see the final response only, not the challenge.
        assert [line for line in lines if line.startswith("HTTP/")] == ["HTTP/1.1 200 OK\r\n"]
        assert b"".join(chunks) == b"welcome"
        wrong = await fetch_error(
            client, server.url(), auth_username="mufasa", auth_password="x", auth_mode="digest"
        )
        assert wrong.code == 401
        assert wrong.response is not None
        assert wrong.response.body == b"who?"
        basic = await fetch_error(client, server.url(), auth_username="mufasa", auth_password="x")
        assert basic.code == 401

    run(io_loop, f)


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------


def test_https_verified_with_ca_certs(
    io_loop: IOLoop, harness: Harness, server_ssl_context: ssl.SSLContext, ca_file: str
) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo), ssl_context=server_ssl_context)
        client = harness.client()
        for host in ("localhost", "127.0.0.1"):
            result = await fetch(client, server.url(host=host), ca_certs=ca_file, allow_ipv6=False)
            assert result.code == 200
            assert result.effective_url.startswith("https://")

    run(io_loop, f)


def test_https_verification_is_on_by_default(
    io_loop: IOLoop, harness: Harness, server_ssl_context: ssl.SSLContext
) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo), ssl_context=server_ssl_context)
        client = harness.client()
        error = await fetch_error(client, server.url())
        assert error.code == 599
        result = await fetch(client, server.url(), validate_cert=False)
        assert result.code == 200

    run(io_loop, f)


def test_https_host_name_mismatch(
    io_loop: IOLoop, harness: Harness, tls_ca: trustme.CA, ca_file: str
) -> None:
    async def f() -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ca.issue_cert("other.example").configure_cert(context)
        server = await harness.server(answer(echo), ssl_context=context)
        client = harness.client()
        error = await fetch_error(client, server.url(), ca_certs=ca_file)
        assert error.code == 599

    run(io_loop, f)


def test_client_certificate(
    io_loop: IOLoop, harness: Harness, tls_ca: trustme.CA, tls_server_cert: Any, tmp_path: Any,
    ca_file: str,
) -> None:  # fmt: skip
    async def f() -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_server_cert.configure_cert(context)
        tls_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
        seen: list[Any] = []

        async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
            seen.append(writer.get_extra_info("peercert"))
            writer.write(response(200, b"hi"))
            return True

        server = await harness.server(handler, ssl_context=context)
        leaf = tls_ca.issue_cert("client@example")
        cert = tmp_path / "client.pem"
        key = tmp_path / "client.key"
        leaf.cert_chain_pems[0].write_to_path(str(cert))
        leaf.private_key_pem.write_to_path(str(key))
        client = harness.client()
        result = await fetch(
            client, server.url(), ca_certs=ca_file, client_cert=str(cert), client_key=str(key)
        )
        assert result.body == b"hi"
        assert seen
        assert seen[0] is not None

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Proxies
# ---------------------------------------------------------------------------


def test_http_through_proxy(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        proxy = await harness.proxy(credentials="pu:pp")
        client = harness.client()
        result = await fetch(
            client,
            server.url("/via?x=1"),
            proxy_host="127.0.0.1",
            proxy_port=proxy.port,
            proxy_username="pu",
            proxy_password="pp",
        )
        assert result.code == 200
        assert result.body.startswith(b"GET /via?x=1")
        assert proxy.requests[-1].target == server.url("/via?x=1")
        assert "proxy-authorization" not in server.requests[0].headers

    run(io_loop, f)


def test_https_through_proxy_tunnel(
    io_loop: IOLoop, harness: Harness, server_ssl_context: ssl.SSLContext, ca_file: str
) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo), ssl_context=server_ssl_context)
        proxy = await harness.proxy()
        client = harness.client()
        lines: list[str] = []
        result = await fetch(
            client,
            server.url("/secret", host="localhost"),
            proxy_host="127.0.0.1",
            proxy_port=proxy.port,
            ca_certs=ca_file,
            allow_ipv6=False,
            header_callback=lines.append,
        )
        assert result.code == 200
        assert proxy.tunnels == [f"localhost:{server.port}"]
        assert server.requests[0].target == "/secret"
        assert lines[0] == "HTTP/1.1 200 OK\r\n"  # not the proxy's answer to CONNECT

    run(io_loop, f)


def test_proxy_digest_auth(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        proxy = await harness.proxy(credentials="pu:secret", digest=True)
        client = harness.client()
        result = await fetch(
            client,
            server.url("/d"),
            proxy_host="127.0.0.1",
            proxy_port=proxy.port,
            proxy_username="pu",
            proxy_password="secret",
            proxy_auth_mode="digest",
        )
        assert result.code == 200
        assert result.body.startswith(b"GET /d")

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Against squall's own server
# ---------------------------------------------------------------------------


def test_squall_server(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = harness.squall_server()
        client = harness.client(max_clients=4)
        results = await asyncio.wait_for(
            asyncio.gather(*(client.fetch(server.url(f"/{i}")) for i in range(20))), 20
        )
        assert [r.body for r in results] == [f"GET /{i} ".encode() for i in range(20)]
        posted = await fetch(client, server.url("/p"), method="POST", body=b"payload")
        assert posted.body == b"POST /p payload"
        chunked = await fetch(client, server.url("/chunked"))
        assert chunked.body == b"GET /chunked " * 3
        redirected = await fetch(client, server.url("/redirect"))
        assert redirected.effective_url == server.url("/final")

    run(io_loop, f)


def test_squall_server_tls(
    io_loop: IOLoop, harness: Harness, server_ssl_context: ssl.SSLContext, ca_file: str
) -> None:
    async def f() -> None:
        server = harness.squall_server(ssl_options=server_ssl_context)
        client = harness.client()
        for i in range(3):
            result = await fetch(client, server.url(f"/{i}", host="localhost"), ca_certs=ca_file)
            assert result.body == f"GET /{i} ".encode()

    run(io_loop, f)


def test_blocking_client(harness: Harness) -> None:
    # The blocking client runs its own loop: the server runs on a thread's.
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        holder["server"] = await Server(answer(echo)).start()
        holder["stop"] = asyncio.Event()
        ready.set()
        await holder["stop"].wait()
        await holder["server"].close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    try:
        assert ready.wait(10)
        client = HTTPClient(client_class(harness.kind))
        try:
            result = client.fetch(holder["server"].url("/blocking"))
            assert result.body.startswith(b"GET /blocking")
        finally:
            client.close()
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()
