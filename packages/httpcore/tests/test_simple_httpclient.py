"""Behavioural tests of squall.simple_httpclient over loopback.

What every client implementation must do is in test_httpclient_behaviour.py
(which runs over this client too); this file tests what is particular to
the simple client and its pool.  The peers (httpcore_peers.py) are scripted
servers on the test's own event loop (asyncio streams): an origin whose
handler sees each parsed request and writes any bytes it likes (so
malformed, truncated and reset responses are exact), and a forward proxy
(absolute-form requests and CONNECT tunnels).  The origin counts
connections: that is how keep-alive reuse is observed.  A few tests run
against squall's own HTTPServer.  No timed assertions; every wait is
bounded (short timeouts make the timeout tests fail fast).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import os
import socket
import ssl
import zlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import trustme
from httpcore_peers import (
    DIGEST_NONCE,
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

from squall.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from squall.httputil import HTTPHeaders
from squall.ioloop import IOLoop
from squall.netutil import OverrideResolver, Resolver
from squall.simple_httpclient import (
    HTTPStreamClosedError,
    HTTPTimeoutError,
    SimpleAsyncHTTPClient,
)


def digest_ok(
    header: str, method: str, uri: str, username: str, password: str, realm: str
) -> bool:
    """Check a Digest credential (RFC 7616, MD5, qop=auth) independently of the client."""
    if not header.startswith("Digest "):
        return False
    fields = {
        k.strip(): v.strip().strip('"')
        for k, v in (part.split("=", 1) for part in header[7:].split(","))
    }

    def h(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = h(f"{username}:{realm}:{password}")
    ha2 = h(f"{method}:{fields['uri']}")
    expected = h(f"{ha1}:{DIGEST_NONCE}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
    return (
        fields.get("response") == expected
        and fields.get("uri") == uri
        and fields.get("username") == username
    )


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


class Harness:
    """A client and the peers of one test, closed together."""

    def __init__(self) -> None:
        self.clients: list[AsyncHTTPClient] = []
        self.peers: list[Server | Proxy] = []

    def client(self, **kwargs: Any) -> SimpleAsyncHTTPClient:
        client = SimpleAsyncHTTPClient(force_instance=True, **kwargs)
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

    async def close(self) -> None:
        for client in self.clients:
            client.close()
        for client in self.clients:
            await client._wait_closed()
        for peer in self.peers:
            await peer.close()
        for _ in range(3):
            await asyncio.sleep(0)


@pytest.fixture
def harness(io_loop: IOLoop) -> Iterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        io_loop.run_sync(h.close, timeout=30)


# ---------------------------------------------------------------------------
# Basics
# ---------------------------------------------------------------------------


def test_post_put_patch_bodies(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        for method in ("POST", "PUT", "PATCH"):
            await fetch(client, server.url("/"), method=method, body="d\u00e9ta")
        await fetch(client, server.url("/"), method="POST", body=b"")
        bodies = [(r.method, r.body, r.headers.get("content-length")) for r in server.requests]
        assert bodies == [
            ("POST", "d\u00e9ta".encode(), "5"),
            ("PUT", "d\u00e9ta".encode(), "5"),
            ("PATCH", "d\u00e9ta".encode(), "5"),
            ("POST", b"", "0"),
        ]
        assert server.connections == 1

    run(io_loop, f)


def test_invalid_requests_raise_value_error(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        client = harness.client()
        bad: list[tuple[str, dict[str, Any]]] = [
            ("ftp://example.com/", {}),
            ("http:///nohost", {}),
            ("http://example.com:99999/", {}),
            ("http://example.com/", {"method": "GET", "body": b"x"}),
            ("http://example.com/", {"method": "POST"}),
            ("http://example.com/", {"method": "FROB"}),
            ("http://example.com/", {"method": "G T", "allow_nonstandard_methods": True}),
            ("http://example.com/", {"headers": {"X-A": "a\r\nX-Injected: 1"}}),
            ("http://example.com/", {"headers": {"Bad Name": "v"}}),
            ("http://example.com/", {"auth_mode": "ntlm", "auth_username": "u"}),
            ("http://example.com/", {"proxy_host": "127.0.0.1"}),
            ("http://example.com/", {"user_agent": "a\nb"}),
        ]
        for url, kwargs in bad:
            with pytest.raises(ValueError):
                await fetch(client, url, **kwargs)
            with pytest.raises(ValueError):
                await fetch(client, url, raise_error=False, **kwargs)

    run(io_loop, f)


def test_nonstandard_methods_allowed(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        await fetch(client, server.url("/"), method="PROPFIND", allow_nonstandard_methods=True)
        await fetch(
            client, server.url("/"), method="DELETE", body=b"x", allow_nonstandard_methods=True
        )
        await fetch(client, server.url("/"), method="POST", allow_nonstandard_methods=True)
        assert [(r.method, r.body) for r in server.requests] == [
            ("PROPFIND", b""),
            ("DELETE", b"x"),
            ("POST", b""),
        ]

    run(io_loop, f)


def test_head_204_304(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(
            answer(
                response(200, b"", {"Content-Length": "1000"}),
                response(204),
                response(304, headers={"ETag": '"x"'}),
                response(200, b"after"),
            )
        )
        client = harness.client()
        head = await fetch(client, server.url("/"), method="HEAD")
        assert head.body == b""
        assert head.headers["Content-Length"] == "1000"
        assert (await fetch(client, server.url("/"))).code == 204
        not_modified = await fetch(client, server.url("/"), raise_error=False)
        assert not_modified.code == 304
        assert (await fetch(client, server.url("/"))).body == b"after"
        assert server.connections == 1

    run(io_loop, f)


def test_interim_responses_are_skipped(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(
            answer(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + response(200, b"ok"))
        )
        client = harness.client()
        result = await fetch(client, server.url("/"))
        assert (result.code, result.body) == (200, b"ok")

    run(io_loop, f)


def test_module_surface() -> None:
    import squall.simple_httpclient as module

    assert module.__all__ == sorted(module.__all__)
    assert issubclass(HTTPTimeoutError, HTTPClientError)
    assert issubclass(HTTPStreamClosedError, HTTPClientError)
    assert HTTPTimeoutError("x").code == 599
    assert AsyncHTTPClient.configured_class() is SimpleAsyncHTTPClient


# ---------------------------------------------------------------------------
# Keep-alive, the pool and max_clients
# ---------------------------------------------------------------------------


def test_sequential_requests_share_one_connection(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        for i in range(5):
            result = await fetch(client, server.url(f"/{i}"))
            assert result.body.startswith(f"GET /{i}".encode())
        assert server.connections == 1
        assert [r.connection for r in server.requests] == [1] * 5

    run(io_loop, f)


def test_reused_connection_starts_every_exchange_afresh(io_loop: IOLoop, harness: Harness) -> None:
    # A pooled connection keeps one connection object (HTTP1Connection) for
    # its exchanges, returned to its initial state for each: nothing of a
    # response (its framing, coding, interim responses, method, callbacks)
    # may leak into the next.
    chunked_gzip = (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(gzip.compress(b'zipped')):x}\r\n".encode()
        + gzip.compress(b"zipped")
        + b"\r\n0\r\nX-Trailer: t\r\n\r\n"
    )

    async def f() -> None:
        server = await harness.server(
            answer(
                chunked_gzip,
                b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + response(200, b"after 103"),
                response(200, b"", {"Content-Length": "1000"}),
                response(200, b"plain"),
                response(404, b"missing"),
                response(200, b"streamed"),
                response(200, b"last"),
            )
        )
        client = harness.client()
        url = server.url("/")

        def h1_of_idle_connection() -> object:
            (connection,) = client._pool._lru
            return connection.h1

        zipped = await fetch(client, url)
        assert (zipped.body, zipped.headers.get("Content-Encoding")) == (b"zipped", None)
        h1 = h1_of_idle_connection()
        interim = await fetch(client, url)
        assert (interim.code, interim.body) == (200, b"after 103")
        head = await fetch(client, url, method="HEAD")
        assert (head.body, head.headers["Content-Length"]) == (b"", "1000")
        lines: list[str] = []
        plain = await fetch(client, url, header_callback=lines.append)
        assert plain.body == b"plain"
        assert "X-Consumed-Content-Encoding" not in plain.headers
        missing = await fetch(client, url, raise_error=False)
        assert (missing.code, missing.body) == (404, b"missing")
        assert h1_of_idle_connection() is h1
        chunks: list[bytes] = []
        streamed = await fetch(client, url, streaming_callback=chunks.append)
        assert (streamed.body, chunks) == (b"", [b"streamed"])
        assert h1_of_idle_connection() is not h1  # other parameters: another object
        last = await fetch(client, url)
        assert (last.body, last.headers["Content-Length"]) == (b"last", "4")
        # The header callback of one fetch only.
        assert lines == ["HTTP/1.1 200 OK\r\n", "Content-Length: 5\r\n", "\r\n"]
        assert server.connections == 1

    run(io_loop, f)


def test_head_callback_gets_the_final_head(io_loop: IOLoop, harness: Harness) -> None:
    # squall.client's hook (HTTPRequest._head_callback): the final head as
    # parsed, once, after the interim responses; its headers are the
    # response's (decoded: the coding moved to X-Consumed-Content-Encoding).
    async def f() -> None:
        server = await harness.server(
            answer(
                b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                + response(201, gzip.compress(b"made"), {"Content-Encoding": "gzip"}),
            )
        )
        client = harness.client()
        heads: list[tuple[Any, HTTPHeaders]] = []
        request = HTTPRequest(server.url("/"))
        request._head_callback = lambda start_line, headers: heads.append((start_line, headers))
        result = await fetch(client, request)
        assert (result.code, result.body) == (201, b"made")
        ((start_line, headers),) = heads
        assert tuple(start_line) == ("HTTP/1.1", 201, "Created")
        assert headers is result.headers
        assert headers["X-Consumed-Content-Encoding"] == "gzip"
        assert "Content-Encoding" not in headers

    run(io_loop, f)


def test_connections_are_per_host_and_port(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        one = await harness.server(answer(echo))
        two = await harness.server(answer(echo))
        client = harness.client()
        for _ in range(2):
            await fetch(client, one.url())
            await fetch(client, two.url())
            # "localhost" is another host name for the pool (and the Host field).
            await fetch(client, one.url(host="localhost"), allow_ipv6=False)
        assert one.connections == 2
        assert two.connections == 1

    run(io_loop, f)


def test_connection_close_is_honoured(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(
            answer(response(200, b"a", {"Connection": "close"}), response(200, b"b"))
        )
        client = harness.client()
        assert (await fetch(client, server.url())).body == b"a"
        assert (await fetch(client, server.url())).body == b"b"
        assert server.connections == 2
        # The client's own Connection: close (on the second connection).
        await fetch(client, server.url(), headers={"Connection": "close"})
        await fetch(client, server.url())
        assert server.connections == 3
        assert [r.connection for r in server.requests] == [1, 2, 2, 3]

    run(io_loop, f)


def test_http10_response_read_until_close(io_loop: IOLoop, harness: Harness) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.0 200 OK\r\nX-Old: 1\r\n\r\nuntil the end")
        return False

    async def f() -> None:
        server = await harness.server(handler)
        client = harness.client()
        result = await fetch(client, server.url())
        assert result.body == b"until the end"
        assert (await fetch(client, server.url())).body == b"until the end"
        assert server.connections == 2

    run(io_loop, f)


def test_idle_connection_closed_by_server_is_not_reused(io_loop: IOLoop, harness: Harness) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(200, b"x"))
        await writer.drain()
        return False  # close after answering, without saying so

    async def f() -> None:
        server = await harness.server(handler)
        client = harness.client()
        await fetch(client, server.url())
        # Wait until the client has seen the EOF and dropped the connection.
        for _ in range(200):
            if len(client._pool) == 0:
                break
            await asyncio.sleep(0.01)
        assert len(client._pool) == 0
        await fetch(client, server.url())
        assert server.connections == 2

    run(io_loop, f)


def stale_after_first(count: list[int]) -> Handler:
    """Answer the first request of each connection; close at the second without answering."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        count[0] += 1
        if request.connection in count[1:]:
            return False  # the race: the server closes the idle connection
        count.append(request.connection)
        writer.write(response(200, f"answer {count[0]}".encode()))
        return True

    return handler


def test_stale_connection_retried_for_idempotent_requests(
    io_loop: IOLoop, harness: Harness
) -> None:
    async def f() -> None:
        state = [0]
        server = await harness.server(stale_after_first(state))
        client = harness.client()
        await fetch(client, server.url())
        result = await fetch(client, server.url())  # on the stale connection, then a new one
        assert result.code == 200
        assert server.connections == 2
        put = await fetch(client, server.url(), method="PUT", body=b"idempotent")
        assert put.code == 200
        assert server.connections == 3

    run(io_loop, f)


def test_stale_connection_fails_non_idempotent_requests(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(stale_after_first([0]))
        client = harness.client()
        await fetch(client, server.url())
        error = await fetch_error(client, server.url(), method="POST", body=b"once")
        assert isinstance(error, HTTPStreamClosedError)
        assert error.code == 599
        assert server.connections == 1  # not retried
        assert (await fetch(client, server.url())).code == 200  # and the client goes on

    run(io_loop, f)


def test_max_clients_bounds_connections_and_reports_queue_time(
    io_loop: IOLoop, harness: Harness
) -> None:
    release = asyncio.Event()

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        await asyncio.wait_for(release.wait(), 10)
        writer.write(response(200, request.target.encode()))
        return True

    async def f() -> None:
        server = await harness.server(handler)
        client = harness.client(max_clients=2)
        futures = [client.fetch(server.url(f"/{i}")) for i in range(6)]
        for _ in range(100):
            if len(server.requests) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(client.active) == 2
        assert len(client.queue) == 4
        release.set()
        results = await asyncio.wait_for(asyncio.gather(*futures), 20)
        assert sorted(r.body for r in results) == [f"/{i}".encode() for i in range(6)]
        assert server.max_open <= 2
        assert server.connections == 2
        assert all(r.time_info["queue"] >= 0 for r in results)
        assert max(r.time_info["queue"] for r in results) > 0

    run(io_loop, f)


def test_pool_bound(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        servers = [await harness.server(answer(echo)) for _ in range(3)]
        client = harness.client(max_idle_connections=2)
        for server in servers:
            await fetch(client, server.url())
        assert len(client._pool) == 2
        await fetch(client, servers[0].url())  # evicted: a new connection
        await fetch(client, servers[2].url())  # kept: reused
        assert [s.connections for s in servers] == [2, 1, 1]
        off = harness.client(max_idle_connections=0)
        await fetch(off, servers[1].url())
        await fetch(off, servers[1].url())
        assert servers[1].connections == 3

    run(io_loop, f)


def test_shared_instance_and_configure(io_loop: IOLoop, harness: Harness) -> None:
    saved = AsyncHTTPClient._save_configuration()
    try:
        AsyncHTTPClient.configure("simple", max_clients=3, defaults={"user_agent": "Configured"})

        async def f() -> None:
            server = await harness.server(answer(echo))
            client = AsyncHTTPClient()
            try:
                assert isinstance(client, SimpleAsyncHTTPClient)
                assert client.max_clients == 3
                assert client is AsyncHTTPClient()
                await fetch(client, server.url())
                assert server.requests[0].headers["user-agent"] == "Configured"
            finally:
                client.close()

        run(io_loop, f)
    finally:
        AsyncHTTPClient._restore_configuration(saved)


# ---------------------------------------------------------------------------
# Redirects
# ---------------------------------------------------------------------------


def redirecting(
    code: int, location: str, final: bytes | Callable[[Request], bytes] = echo
) -> Handler:
    """Redirect "/start" to `location`; answer everything else with `final`."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.target == "/start":
            writer.write(response(code, b"moved", {"Location": location}))
        else:
            writer.write(final(request) if callable(final) else final)
        return True

    return handler


@pytest.mark.parametrize("code", [301, 302, 303])
def test_redirect_post_becomes_get(io_loop: IOLoop, harness: Harness, code: int) -> None:
    async def f() -> None:
        server = await harness.server(redirecting(code, "/final"))
        client = harness.client()
        result = await fetch(
            client, server.url("/start"), method="POST", body=b"data", headers={"X-Keep": "1"}
        )
        assert result.code == 200
        assert result.effective_url == server.url("/final")
        assert result.request.url == server.url("/start")
        second = server.requests[1]
        assert (second.method, second.target, second.body) == ("GET", "/final", b"")
        assert "content-length" not in second.headers
        assert second.headers["x-keep"] == "1"
        assert server.connections == 1  # the redirect's body was drained, the connection reused

    run(io_loop, f)


@pytest.mark.parametrize("code", [307, 308])
def test_redirect_keeps_method_and_body(io_loop: IOLoop, harness: Harness, code: int) -> None:
    async def f() -> None:
        server = await harness.server(redirecting(code, "/final"))
        client = harness.client()
        result = await fetch(client, server.url("/start"), method="POST", body=b"data")
        assert result.code == 200
        second = server.requests[1]
        assert (second.method, second.body) == ("POST", b"data")

    run(io_loop, f)


def test_redirect_callbacks_only_see_the_final_response(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(redirecting(302, "/final", response(200, b"final body")))
        client = harness.client()
        chunks: list[bytes] = []
        lines: list[str] = []
        result = await fetch(
            client,
            server.url("/start"),
            streaming_callback=chunks.append,
            header_callback=lines.append,
        )
        assert b"".join(chunks) == b"final body"
        assert result.body == b""
        assert lines[0] == "HTTP/1.1 200 OK\r\n"
        assert not any("Location" in line for line in lines)

    run(io_loop, f)


def test_redirect_not_followed(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(redirecting(302, "/final"))
        client = harness.client()
        error = await fetch_error(client, server.url("/start"), follow_redirects=False)
        assert error.code == 302
        assert error.response is not None
        assert error.response.headers["Location"] == "/final"
        assert error.response.body == b"moved"
        result = await fetch(
            client, server.url("/start"), follow_redirects=False, raise_error=False
        )
        assert result.code == 302
        assert server.connections == 1

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
        default = await fetch_error(client, server.url("/0"))
        assert default.response is not None
        assert default.response.effective_url == server.url("/5")

    run(io_loop, f)


def test_redirect_to_another_origin(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        target = await harness.server(answer(echo))
        origin = await harness.server(redirecting(302, target.url("/there", host="localhost")))
        client = harness.client()
        result = await fetch(
            client,
            origin.url("/start"),
            auth_username="user",
            auth_password="secret",
            headers={"Cookie": "session=1", "X-Other": "kept"},
            allow_ipv6=False,
        )
        assert result.effective_url == target.url("/there", host="localhost")
        assert "authorization" in origin.requests[0].headers
        there = target.requests[0]
        assert "authorization" not in there.headers
        assert "cookie" not in there.headers
        assert there.headers["x-other"] == "kept"
        assert there.headers["host"] == f"localhost:{target.port}"

    run(io_loop, f)


def test_redirect_to_unsupported_scheme_is_returned(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(redirecting(301, "ftp://example.com/file"))
        client = harness.client()
        error = await fetch_error(client, server.url("/start"))
        assert error.code == 301

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Timeouts (short ones: the tests check what fails, not how long it takes)
# ---------------------------------------------------------------------------


class NeverResolver(Resolver):
    def resolve(self, host: str, port: int, family: Any = 0, callback: Any = None) -> Any:
        return asyncio.get_running_loop().create_future()


def test_request_timeout(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(never_answer)
        client = harness.client()
        error = await fetch_error(client, server.url(), request_timeout=0.2)
        assert isinstance(error, HTTPTimeoutError)
        assert error.code == 599
        assert "during request" in str(error)
        result = await fetch(client, server.url(), request_timeout=0.2, raise_error=False)
        assert result.code == 599
        assert isinstance(result.error, HTTPTimeoutError)
        assert not client._pool  # the timed-out connections were closed

    run(io_loop, f)


def test_connect_timeout(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        client = harness.client(resolver=NeverResolver())
        error = await fetch_error(client, "http://nowhere.example/", connect_timeout=0.2)
        assert isinstance(error, HTTPTimeoutError)
        assert "while connecting" in str(error)

    run(io_loop, f)


def test_close_fails_active_and_queued_fetches(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(never_answer)
        client = harness.client(max_clients=1)
        futures = [client.fetch(server.url(), raise_error=False) for _ in range(3)]
        for _ in range(100):
            if server.requests:
                break
            await asyncio.sleep(0.01)
        client.close()
        results = await asyncio.wait_for(asyncio.gather(*futures), 10)
        for result in results:
            assert result.code == 599
            assert isinstance(result.error, HTTPStreamClosedError)
            assert "closed" in str(result.error)

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Decoding, callbacks, limits
# ---------------------------------------------------------------------------


def test_gzip_and_deflate(io_loop: IOLoop, harness: Harness) -> None:
    payload = b"squall " * 1000
    replies = [
        response(200, gzip.compress(payload), {"Content-Encoding": "gzip"}),
        response(200, zlib.compress(payload), {"Content-Encoding": "deflate"}),
        response(200, gzip.compress(payload), {"Content-Encoding": "gzip"}),
    ]

    async def f() -> None:
        server = await harness.server(answer(*replies))
        client = harness.client()
        result = await fetch(client, server.url())
        assert result.body == payload
        assert "Content-Encoding" not in result.headers
        assert result.headers["X-Consumed-Content-Encoding"] == "gzip"
        assert (await fetch(client, server.url())).body == payload
        raw = await fetch(client, server.url(), decompress_response=False)
        assert raw.body == gzip.compress(payload)
        assert raw.headers["Content-Encoding"] == "gzip"
        assert server.connections == 1

    run(io_loop, f)


def test_chunked_gzip_response(io_loop: IOLoop, harness: Harness) -> None:
    payload = os.urandom(50_000).hex().encode()
    data = gzip.compress(payload)
    body = b"".join(
        f"{len(data[i : i + 1000]):x}\r\n".encode() + data[i : i + 1000] + b"\r\n"
        for i in range(0, len(data), 1000)
    )
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        + body
        + b"0\r\n\r\n"
    )

    async def f() -> None:
        server = await harness.server(answer(reply))
        client = harness.client()
        assert (await fetch(client, server.url())).body == payload
        assert (await fetch(client, server.url())).body == payload
        assert server.connections == 1

    run(io_loop, f)


def test_max_body_size_after_decompression(io_loop: IOLoop, harness: Harness) -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)

    async def f() -> None:
        server = await harness.server(
            answer(response(200, bomb, {"Content-Encoding": "gzip"}), response(200, b"small"))
        )
        client = harness.client(max_body_size=100_000)
        error = await fetch_error(client, server.url())
        assert error.code == 599
        assert "max_body_size" in str(error)
        assert (await fetch(client, server.url())).body == b"small"
        assert server.connections == 2  # the failed connection was not reused

    run(io_loop, f)


def test_max_body_size_and_max_buffer_size(io_loop: IOLoop, harness: Harness) -> None:
    big = response(200, b"x" * 5000)
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"3e8\r\n" + b"y" * 1000 + b"\r\n") * 5
        + b"0\r\n\r\n"
    )

    async def f() -> None:
        server = await harness.server(answer(big, chunked, big, big))
        client = harness.client(max_body_size=4000)
        assert "max_body_size" in str(await fetch_error(client, server.url()))
        assert "max_body_size" in str(await fetch_error(client, server.url()))
        # max_buffer_size applies without a streaming callback only.
        buffered = harness.client(max_buffer_size=4000, max_body_size=10_000)
        assert (await fetch_error(buffered, server.url())).code == 599
        chunks: list[bytes] = []
        await fetch(buffered, server.url(), streaming_callback=chunks.append)
        assert b"".join(chunks) == b"x" * 5000

    run(io_loop, f)


def test_streaming_callback_future_holds_back_the_body(io_loop: IOLoop, harness: Harness) -> None:
    # Both chunks arrive in one packet; the second is delivered only once the
    # Future the callback returned for the first is done (flow control).
    body = b"5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    async def f() -> None:
        server = await harness.server(answer(head + body))
        client = harness.client()
        chunks: list[bytes] = []
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def streaming(chunk: bytes) -> asyncio.Future[None] | None:
            chunks.append(chunk)
            return gate if len(chunks) == 1 else None

        fetching = asyncio.ensure_future(fetch(client, server.url(), streaming_callback=streaming))
        while not chunks:
            await asyncio.sleep(0.001)
        for _ in range(20):
            await asyncio.sleep(0)
        assert chunks == [b"first"]
        gate.set_result(None)
        await fetching
        assert chunks == [b"first", b"second"]

    run(io_loop, f)


def test_invalid_gzip_fails(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(
            answer(
                response(200, b"not gzip at all", {"Content-Encoding": "gzip"}),
                response(200, gzip.compress(b"abc" * 100)[:-8], {"Content-Encoding": "gzip"}),
            )
        )
        client = harness.client()
        assert "compressed" in str(await fetch_error(client, server.url()))
        assert "truncated" in str(await fetch_error(client, server.url()))

    run(io_loop, f)


def test_unknown_coding_left_alone(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(
            answer(response(200, b"brotli?", {"Content-Encoding": "br"}))
        )
        client = harness.client()
        result = await fetch(client, server.url())
        assert result.body == b"brotli?"
        assert result.headers["Content-Encoding"] == "br"

    run(io_loop, f)


def test_callback_exceptions_on_a_reused_connection(io_loop: IOLoop, harness: Harness) -> None:
    # A fetch on a pooled connection runs without a Task (`_Fetch.start`):
    # its failures are reported the same way.
    def broken(chunk: bytes) -> None:
        raise RuntimeError("callback bug")

    async def f() -> None:
        server = await harness.server(answer(response(200, b"data")))
        client = harness.client()
        for raise_error in (True, False):
            assert (await fetch(client, server.url())).body == b"data"
            assert len(client._pool) == 1
            if raise_error:
                with pytest.raises(RuntimeError, match="callback bug"):
                    await fetch(client, server.url(), streaming_callback=broken)
            else:
                result = await fetch(
                    client, server.url(), streaming_callback=broken, raise_error=False
                )
                assert result.code == 599
                assert isinstance(result.error, RuntimeError)
            assert not client._pool  # closed, not reused
        assert (await fetch(client, server.url())).body == b"data"
        assert server.connections == 3

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Request bodies: body_producer and Expect: 100-continue
# ---------------------------------------------------------------------------


def test_body_producer_chunked_and_with_length(io_loop: IOLoop, harness: Harness) -> None:
    async def producer(write: Callable[[bytes], Awaitable[None]]) -> None:
        for part in (b"one ", b"two ", b"three"):
            await write(part)

    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        await fetch(client, server.url(), method="POST", body_producer=producer)
        first = server.requests[0]
        assert first.chunked
        assert first.body == b"one two three"
        await fetch(
            client,
            server.url(),
            method="PUT",
            body_producer=producer,
            headers={"Content-Length": "13"},
        )
        second = server.requests[1]
        assert not second.chunked
        assert second.body == b"one two three"
        assert server.connections == 1

    run(io_loop, f)


def test_body_producer_failure(io_loop: IOLoop, harness: Harness) -> None:
    async def producer(write: Callable[[bytes], Awaitable[None]]) -> None:
        await write(b"partial")
        raise RuntimeError("producer bug")

    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        with pytest.raises(RuntimeError, match="producer bug"):
            await fetch(client, server.url(), method="POST", body_producer=producer)
        assert (await fetch(client, server.url())).code == 200

    run(io_loop, f)


def test_expect_100_continue_refused(io_loop: IOLoop, harness: Harness) -> None:
    async def refuse(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(417, b"no", {"Connection": "close"}))
        await writer.drain()
        writer.close()

    async def f() -> None:
        server = await harness.server(answer(echo))
        server.continue_hook = refuse
        client = harness.client()
        error = await fetch_error(
            client, server.url(), method="POST", body=b"never sent", expect_100_continue=True
        )
        assert error.code == 417
        server.continue_hook = None
        assert (await fetch(client, server.url())).code == 200
        assert server.connections == 2

    run(io_loop, f)


def test_expect_100_continue_without_interim_response(io_loop: IOLoop, harness: Harness) -> None:
    async def silent(request: Request, writer: asyncio.StreamWriter) -> None:
        pass  # no 100 Continue: the client sends the body after a while

    async def f() -> None:
        server = await harness.server(answer(echo))
        server.continue_hook = silent
        client = harness.client()
        result = await fetch(
            client, server.url(), method="PUT", body=b"anyway", expect_100_continue=True
        )
        assert result.body.endswith(b"anyway")

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Malformed, truncated and reset responses, oversized heads
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "then", "expected"),
    [
        (b"garbage\r\n\r\n", "close", "Malformed"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "close", "Malformed"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
            "close",
            "Malformed",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "close",
            "Malformed",
        ),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "keep", "Malformed"),
        (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", "close", "Malformed"),
        (b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "close", "Malformed"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", "close", "closed"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "close", "closed"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "close", "closed"),
        (b"", "close", "closed"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", "reset", "closed"),
        (b"", "reset", "closed"),
    ],
)
def test_bad_responses_fail_cleanly(
    io_loop: IOLoop, harness: Harness, reply: bytes, then: str, expected: str
) -> None:
    async def f() -> None:
        bad = await harness.server(raw(reply, then))
        good = await harness.server(answer(response(200, b"fine")))
        client = harness.client(max_clients=1)
        error = await fetch_error(client, bad.url())
        assert error.code == 599
        assert expected in str(error)
        assert error.__cause__ is not None or isinstance(error, HTTPStreamClosedError)
        # Nothing is left behind: the next request works, and the broken
        # connection is not in the pool.
        assert not client._pool
        assert (await fetch(client, good.url())).body == b"fine"

    run(io_loop, f)


def test_response_head_too_large(io_loop: IOLoop, harness: Harness) -> None:
    huge = response(200, b"x", {f"X-{i}": "v" * 100 for i in range(100)})

    async def f() -> None:
        server = await harness.server(answer(huge))
        client = harness.client(max_header_size=4096)
        error = await fetch_error(client, server.url())
        assert error.code == 599
        assert "Malformed" in str(error)
        roomy = harness.client()
        assert (await fetch(roomy, server.url())).code == 200

    run(io_loop, f)


def test_connection_refused(io_loop: IOLoop, harness: Harness) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    async def f() -> None:
        client = harness.client()
        error = await fetch_error(client, f"http://127.0.0.1:{port}/")
        assert error.code == 599
        assert f"127.0.0.1:{port}" in str(error)
        assert isinstance(error.__cause__, OSError)

    run(io_loop, f)


def test_unresolvable_host(io_loop: IOLoop, harness: Harness) -> None:
    class Failing(Resolver):
        def resolve(self, host: str, port: int, family: Any = 0, callback: Any = None) -> Any:
            future = asyncio.get_running_loop().create_future()
            future.set_exception(socket.gaierror(socket.EAI_NONAME, f"no such host {host}"))
            return future

    async def f() -> None:
        client = harness.client(resolver=Failing())
        error = await fetch_error(client, "http://nowhere.invalid/")
        assert error.code == 599
        assert "nowhere.invalid" in str(error)
        assert isinstance(error.__cause__, socket.gaierror)

    run(io_loop, f)


def test_trailing_garbage_prevents_reuse(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(raw(response(200, b"ok") + b"EXTRA", "keep"))
        client = harness.client()
        assert (await fetch(client, server.url())).body == b"ok"
        assert (await fetch(client, server.url())).body == b"ok"
        assert server.connections == 2

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Name resolution and addresses
# ---------------------------------------------------------------------------


def test_hostname_mapping(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client(hostname_mapping={"www.example.invalid": "127.0.0.1"})
        result = await fetch(client, f"http://www.example.invalid:{server.port}/mapped")
        assert result.code == 200
        assert server.requests[0].headers["host"] == f"www.example.invalid:{server.port}"

    run(io_loop, f)


def test_resolver_argument(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        resolver = OverrideResolver(Resolver(), {("api.invalid", 80): ("127.0.0.1", server.port)})
        client = harness.client(resolver=resolver)
        assert (await fetch(client, "http://api.invalid/")).code == 200
        client.close()
        # The client does not close a resolver it was given.
        other = harness.client(resolver=resolver)
        assert (await fetch(other, "http://api.invalid/")).code == 200
        resolver.close()

    run(io_loop, f)


def test_network_interface_and_allow_ipv6(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        await fetch(client, server.url(), network_interface="127.0.0.1")
        await fetch(client, server.url(host="localhost"), allow_ipv6=False)
        assert server.connections == 2

    run(io_loop, f)


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback")
def test_ipv6_literal(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo), host="::1")
        client = harness.client()
        result = await fetch(client, server.url())
        assert result.code == 200
        assert server.requests[0].headers["host"] == f"[::1]:{server.port}"

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

    run(io_loop, f)


def test_digest_auth(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(digest_server("mufasa", "circle of life"))
        client = harness.client()
        result = await fetch(
            client,
            server.url("/dir/index.html?x=1"),
            auth_username="mufasa",
            auth_password="circle of life",
            auth_mode="digest",
        )
        assert result.body == b"welcome"
        assert len(server.requests) == 2
        assert server.connections == 1
        wrong = await fetch_error(
            client, server.url(), auth_username="mufasa", auth_password="x", auth_mode="digest"
        )
        assert wrong.code == 401
        # Basic mode does not answer a Digest challenge.
        basic = await fetch_error(client, server.url(), auth_username="mufasa", auth_password="x")
        assert basic.code == 401

    run(io_loop, f)


# ---------------------------------------------------------------------------
# TLS
# ---------------------------------------------------------------------------


@pytest.fixture
def ca_file(tls_ca: trustme.CA, tmp_path: Any) -> str:
    path = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


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
        await fetch(client, server.url(host="localhost"), ca_certs=ca_file, allow_ipv6=False)
        assert server.connections == 2  # per host name

    run(io_loop, f)


def test_https_verification_is_on_by_default(
    io_loop: IOLoop, harness: Harness, server_ssl_context: ssl.SSLContext
) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo), ssl_context=server_ssl_context)
        client = harness.client()
        error = await fetch_error(client, server.url())  # certifi does not know the test CA
        assert error.code == 599
        assert "TLS" in str(error)
        assert "CERTIFICATE_VERIFY_FAILED" in str(error)
        unverified = await fetch(client, server.url(), validate_cert=False)
        assert unverified.code == 200

    run(io_loop, f)


def test_https_with_ssl_options(
    io_loop: IOLoop,
    harness: Harness,
    server_ssl_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo), ssl_context=server_ssl_context)
        client = harness.client()
        assert (await fetch(client, server.url(), ssl_options=client_ssl_context)).code == 200
        # A connection verified with one context is not reused by a request
        # that asks for another.
        await fetch(client, server.url(), validate_cert=False)
        assert server.connections == 2
        await fetch(client, server.url(), ssl_options=client_ssl_context)
        assert server.connections == 2

    run(io_loop, f)


def test_https_host_name_mismatch(
    io_loop: IOLoop, harness: Harness, tls_ca: trustme.CA, ca_file: str
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("other.example").configure_cert(context)

    async def f() -> None:
        server = await harness.server(answer(echo), ssl_context=context)
        client = harness.client()
        error = await fetch_error(client, server.url(host="localhost"), ca_certs=ca_file)
        assert error.code == 599
        assert "TLS" in str(error)

    run(io_loop, f)


def test_client_certificate(
    io_loop: IOLoop,
    harness: Harness,
    tls_ca: trustme.CA,
    server_ssl_context: ssl.SSLContext,
    ca_file: str,
    tmp_path: Any,
) -> None:
    server_ssl_context.verify_mode = ssl.CERT_REQUIRED
    tls_ca.configure_trust(server_ssl_context)
    leaf = tls_ca.issue_cert("client@example.com")
    cert = tmp_path / "client.pem"
    key = tmp_path / "client.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))

    async def f() -> None:
        server = await harness.server(answer(echo), ssl_context=server_ssl_context)
        client = harness.client()
        result = await fetch(
            client, server.url(), ca_certs=ca_file, client_cert=str(cert), client_key=str(key)
        )
        assert result.code == 200

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Proxies
# ---------------------------------------------------------------------------


def test_http_through_proxy(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        origin = await harness.server(answer(echo))
        proxy = await harness.proxy(credentials="pu:pp")
        client = harness.client()
        kwargs = {"proxy_host": "127.0.0.1", "proxy_port": proxy.port}
        result = await fetch(
            client, origin.url("/via?x=1"), proxy_username="pu", proxy_password="pp", **kwargs
        )
        assert result.code == 200
        assert proxy.requests[0].target == origin.url("/via?x=1")
        assert proxy.requests[0].headers["host"] == f"127.0.0.1:{origin.port}"
        assert origin.requests[0].target == "/via?x=1"
        assert "proxy-authorization" not in origin.requests[0].headers
        await fetch(
            client, origin.url("/again"), proxy_username="pu", proxy_password="pp", **kwargs
        )
        assert proxy.connections == 1  # the connection to the proxy is reused
        refused = await fetch_error(client, origin.url("/"), **kwargs)
        assert refused.code == 407

    run(io_loop, f)


def test_https_through_proxy_tunnel(
    io_loop: IOLoop, harness: Harness, server_ssl_context: ssl.SSLContext, ca_file: str
) -> None:
    async def f() -> None:
        origin = await harness.server(answer(echo), ssl_context=server_ssl_context)
        proxy = await harness.proxy(credentials="pu:pp")
        client = harness.client()
        kwargs: dict[str, Any] = {
            "proxy_host": "127.0.0.1",
            "proxy_port": proxy.port,
            "proxy_username": "pu",
            "proxy_password": "pp",
            "ca_certs": ca_file,
        }
        url = origin.url("/secret", host="localhost")
        result = await fetch(client, url, **kwargs)
        assert result.code == 200
        assert proxy.tunnels == [f"localhost:{origin.port}"]
        assert origin.requests[0].target == "/secret"
        await fetch(client, url, **kwargs)
        assert proxy.tunnels == [f"localhost:{origin.port}"]  # the tunnel is reused
        assert origin.connections == 1
        refused = await fetch_error(client, url, **{**kwargs, "proxy_password": "wrong"})
        assert refused.code == 599
        assert "407" in str(refused)

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Against squall's own HTTPServer
# ---------------------------------------------------------------------------


class SquallServer:
    """squall.httpserver.HTTPServer answering with the request's method, target and body."""

    def __init__(self, **kwargs: Any) -> None:
        from squall.httpserver import HTTPServer
        from squall.netutil import bind_sockets

        self.streams: set[int] = set()
        self.server = HTTPServer(self.handle, **kwargs)
        sockets = bind_sockets(0, "127.0.0.1")
        self.server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        self.scheme = "https" if kwargs.get("ssl_options") else "http"

    def handle(self, request: Any) -> None:
        from squall.httputil import HTTPHeaders, ResponseStartLine

        connection = request.connection
        self.streams.add(id(connection.stream))
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


def test_squall_server_concurrent_keep_alive(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = SquallServer()
        try:
            client = harness.client(max_clients=8)
            futures = [client.fetch(server.url(f"/{i}")) for i in range(200)]
            results = await asyncio.wait_for(asyncio.gather(*futures), 30)
            assert [r.body for r in results] == [f"GET /{i} ".encode() for i in range(200)]
            assert len(server.streams) <= 8
            chunked = await fetch(client, server.url("/chunked"))
            assert chunked.body == b"GET /chunked " * 3
            redirected = await fetch(client, server.url("/redirect"), method="POST", body=b"x")
            assert redirected.body == b"GET /final "
            assert len(server.streams) <= 8
        finally:
            await server.close()

    run(io_loop, f)


def test_squall_server_request_bodies(io_loop: IOLoop, harness: Harness) -> None:
    async def producer(write: Callable[[bytes], Awaitable[None]]) -> None:
        for i in range(50):
            await write(b"%d," % i)

    async def f() -> None:
        server = SquallServer()
        try:
            client = harness.client()
            expected = b"".join(b"%d," % i for i in range(50))
            result = await fetch(client, server.url("/up"), method="POST", body_producer=producer)
            assert result.body == b"POST /up " + expected
            big = os.urandom(1_000_000)
            result = await fetch(
                client, server.url("/big"), method="PUT", body=big, expect_100_continue=True
            )
            assert result.body == b"PUT /big " + big
            assert len(server.streams) == 1
        finally:
            await server.close()

    run(io_loop, f)


def test_squall_server_tls(
    io_loop: IOLoop, harness: Harness, server_ssl_context: ssl.SSLContext, ca_file: str
) -> None:
    async def f() -> None:
        server = SquallServer(ssl_options=server_ssl_context)
        try:
            client = harness.client()
            for i in range(3):
                result = await fetch(
                    client, server.url(f"/{i}", host="localhost"), ca_certs=ca_file
                )
                assert result.body == f"GET /{i} ".encode()
            assert len(server.streams) == 1
        finally:
            await server.close()

    run(io_loop, f)


def test_blocking_client_against_squall_server() -> None:
    import threading

    from squall.httpclient import HTTPClient

    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        loop = IOLoop(make_current=False)

        async def start() -> None:
            holder["server"] = SquallServer()
            holder["stop"] = asyncio.Event()
            holder["loop"] = asyncio.get_running_loop()
            ready.set()
            await holder["stop"].wait()
            await holder["server"].close()

        try:
            loop.run_sync(start, timeout=60)
        finally:
            loop.close(all_fds=True)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert ready.wait(10)
        client = HTTPClient()
        try:
            for i in range(3):
                assert client.fetch(holder["server"].url(f"/{i}")).body == f"GET /{i} ".encode()
        finally:
            client.close()
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(10)


def test_proxy_digest_auth(
    io_loop: IOLoop, harness: Harness, server_ssl_context: ssl.SSLContext, ca_file: str
) -> None:
    async def f() -> None:
        origin = await harness.server(answer(echo))
        secure = await harness.server(answer(echo), ssl_context=server_ssl_context)
        proxy = await harness.proxy(credentials="pu:pp", digest=True)
        client = harness.client()
        kwargs: dict[str, Any] = {
            "proxy_host": "127.0.0.1",
            "proxy_port": proxy.port,
            "proxy_username": "pu",
            "proxy_password": "pp",
            "proxy_auth_mode": "digest",
        }
        assert (await fetch(client, origin.url("/plain"), **kwargs)).code == 200
        assert [r.method for r in proxy.requests] == ["GET", "GET"]  # challenge, answer
        url = secure.url("/tunnelled", host="localhost")
        assert (await fetch(client, url, ca_certs=ca_file, **kwargs)).code == 200
        assert proxy.tunnels == [f"localhost:{secure.port}"]
        wrong = await fetch_error(client, origin.url("/"), **{**kwargs, "proxy_password": "x"})
        assert wrong.code == 407
        refused = await fetch_error(
            client,
            secure.url("/", host="localhost"),
            ca_certs=ca_file,
            **{**kwargs, "proxy_password": "x"},
        )
        assert refused.code == 599
        assert "407" in str(refused)

    run(io_loop, f)


def test_unexpected_switching_protocols_closes_the_connection(
    io_loop: IOLoop, harness: Harness
) -> None:
    async def f() -> None:
        server = await harness.server(
            raw(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
                "keep",
            )
        )
        client = harness.client()
        assert (await fetch_error(client, server.url())).code == 101
        assert not client._pool

    run(io_loop, f)


def test_close_right_after_fetch(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        server = await harness.server(answer(echo))
        client = harness.client()
        future = client.fetch(server.url(), raise_error=False)
        client.close()  # before the fetch's Task ever ran
        result = await asyncio.wait_for(future, 10)
        assert isinstance(result.error, HTTPStreamClosedError)

    run(io_loop, f)
