"""One behavioural suite for every HTTP client implementation: requests and responses.

Each test runs over ``simple`` (`SimpleAsyncHTTPClient`) and ``curl``
(`CurlAsyncHTTPClient`), through the ``harness`` fixture of
httpclient_helpers.py: what a user of `AsyncHTTPClient` may rely on
whichever implementation is configured.  Implementation details (the
simple client's pool, libcurl's options) are tested in
``test_simple_httpclient*.py`` and ``test_curl_httpclient.py``.

The peers are scripted servers on the test's own event loop (asyncio
streams): an origin whose handler sees each parsed request and writes any
bytes it likes (so malformed and truncated responses are exact), a
forward proxy, and squall's own HTTPServer.  Loopback only; no timed
assertions; every wait is bounded.

The suite is in two modules: test_httpclient_behaviour.py (the basics,
max_clients, redirects, content codings and callbacks) and
test_httpclient_behaviour_transport.py (timeouts and transport errors,
authentication, TLS, proxies, squall's own server).
"""

from __future__ import annotations

import asyncio
import gzip
import os
import zlib

import pytest
from httpclient_helpers import (
    Harness,
    harness_fixture,  # noqa: F401  (every test over each client)
)
from httpcore_peers import (
    Handler,
    Request,
    answer,
    echo,
    fetch,
    fetch_error,
    never_answer,
    response,
    run,
)

from squall.httpclient import HTTPClientError
from squall.ioloop import IOLoop

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
