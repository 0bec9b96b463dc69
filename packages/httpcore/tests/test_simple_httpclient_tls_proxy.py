"""squall.simple_httpclient over loopback: authentication, TLS, proxies, squall's server.

The third of the simple client's three test modules (test_simple_httpclient.py
says how they are laid out and what the peers are): Basic and Digest
authentication, TLS (verification, ssl_options, client certificates),
proxies and CONNECT tunnels, and squall's own HTTPServer as the peer
(``SquallServer``, in httpclient_helpers.py).
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import trustme
from httpclient_helpers import SimpleHarness as Harness
from httpclient_helpers import (
    SquallServer,
    ca_file_fixture,  # noqa: F401
    simple_harness_fixture,  # noqa: F401  (the simple client alone)
)
from httpcore_peers import (
    answer,
    digest_server,
    echo,
    fetch,
    fetch_error,
    raw,
    run,
)

from squall.ioloop import IOLoop
from squall.simple_httpclient import HTTPStreamClosedError

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
