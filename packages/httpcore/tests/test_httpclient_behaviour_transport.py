"""One behavioural suite for every HTTP client implementation: errors, TLS, proxies.

The second half of the suite of test_httpclient_behaviour.py (whose
docstring says what the suite is and how each test runs over every client):
timeouts and transport errors (599), authentication, TLS, proxies, and
squall's own server.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import threading
from typing import Any

import pytest
import trustme
from httpclient_helpers import (
    Harness,
    ca_file_fixture,  # noqa: F401
    client_class,
    harness_fixture,  # noqa: F401  (every test over each client)
)
from httpcore_peers import (
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

from squall.httpclient import HTTPClient
from squall.ioloop import IOLoop

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
