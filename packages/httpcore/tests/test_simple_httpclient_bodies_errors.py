"""squall.simple_httpclient over loopback: timeouts, bodies, malformed responses, errors.

The second of the simple client's three test modules (test_simple_httpclient.py
says how they are laid out and what the peers are): timeouts; content codings,
callbacks and limits; request bodies (body_producer, Expect: 100-continue);
malformed, truncated and reset responses, oversized heads and connection
errors; name resolution and addresses.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import socket
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from httpclient_helpers import SimpleHarness as Harness
from httpclient_helpers import simple_harness_fixture  # noqa: F401  (the simple client alone)
from httpcore_peers import (
    Request,
    answer,
    echo,
    fetch,
    fetch_error,
    never_answer,
    raw,
    response,
    run,
)

from squall.ioloop import IOLoop
from squall.netutil import OverrideResolver, Resolver
from squall.simple_httpclient import HTTPStreamClosedError, HTTPTimeoutError

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
