"""Behavioural tests of squall.simple_httpclient over loopback: basics, the pool, redirects.

What every client implementation must do is in test_httpclient_behaviour.py
(which runs over this client too); these modules test what is particular to
the simple client and its pool.

The peers (httpcore_peers.py) are scripted servers on the test's own event
loop (asyncio streams): an origin whose handler sees each parsed request and
writes any bytes it likes (so malformed, truncated and reset responses are
exact), and a forward proxy (absolute-form requests and CONNECT tunnels).
The origin counts connections: that is how keep-alive reuse is observed.
The ``harness`` fixture and the other helpers are in httpclient_helpers.py.
No timed assertions; every wait is bounded (short timeouts make the timeout
tests fail fast).

The simple client's tests are in three modules:

- test_simple_httpclient.py: the basics, keep-alive, the pool and
  max_clients, redirects;
- test_simple_httpclient_bodies_errors.py: timeouts, content codings,
  callbacks and limits, request bodies (body_producer, 100-continue),
  malformed responses and connection errors, name resolution;
- test_simple_httpclient_tls_proxy.py: authentication, TLS, proxies, and
  squall's own HTTPServer as the peer.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from typing import Any

import pytest
from httpclient_helpers import SimpleHarness as Harness
from httpclient_helpers import simple_harness_fixture  # noqa: F401  (the simple client alone)
from httpcore_peers import (
    Handler,
    Request,
    answer,
    echo,
    fetch,
    fetch_error,
    response,
    run,
)

from squall.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from squall.httputil import HTTPHeaders
from squall.ioloop import IOLoop
from squall.simple_httpclient import (
    HTTPStreamClosedError,
    HTTPTimeoutError,
    SimpleAsyncHTTPClient,
)

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
