"""squall.httpserver over TLS: http.client and curl as clients, SSLContext and dict options."""

from __future__ import annotations

import asyncio
import http.client
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trustme
from httpserver_helpers import (
    in_thread,
    parser_fixture,  # noqa: F401
    respond,
    run,
    serving,
)

from squall.httputil import HTTPServerRequest
from squall.ioloop import IOLoop


def describe(request: HTTPServerRequest) -> None:
    """Answers with the protocol, the path and whether a client certificate came."""
    cert = request.get_ssl_certificate()
    subject = "none" if not cert else dict(x[0] for x in cert["subject"]).get("commonName", "?")
    respond(request, f"{request.protocol} {request.path} {subject}".encode())


def run_server(
    io_loop: IOLoop,
    ssl_options: Any,
    client: Callable[[int], Awaitable[None]],
    handler: Callable[[HTTPServerRequest], Any] = describe,
    **kwargs: Any,
) -> None:
    async def main() -> None:
        async with serving(handler, ssl_options=ssl_options, **kwargs) as served:
            await client(served.port)

    run(io_loop, main)


def fetch_https(port: int, context: ssl.SSLContext, paths: list[str]) -> list[bytes]:
    conn = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
    bodies = []
    for path in paths:
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 200
        bodies.append(response.read())
    conn.close()
    return bodies


def test_https_with_http_client(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def client(port: int) -> None:
        bodies = await in_thread(lambda: fetch_https(port, client_ssl_context, ["/a", "/b"]))
        assert bodies == [b"https /a none", b"https /b none"]

    run_server(io_loop, server_ssl_context, client)


def test_https_with_curl(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, tls_ca: trustme.CA, tmp_path: Path
) -> None:
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_file))

    async def client(port: int) -> None:
        url = f"https://localhost:{port}"
        process = await asyncio.create_subprocess_exec(
            "curl", "--silent", "--show-error", "--noproxy", "*", "--max-time", "20",
            "--cacert", str(ca_file), "--write-out", " %{num_connects}\n",
            f"{url}/one", f"{url}/two",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err
        assert out == b"https /one none 1\nhttps /two none 0\n"

    run_server(io_loop, server_ssl_context, client)


def test_dict_ssl_options(
    io_loop: IOLoop,
    tls_server_cert: trustme.LeafCert,
    client_ssl_context: ssl.SSLContext,
    tmp_path: Path,
) -> None:
    pem = tmp_path / "server.pem"
    tls_server_cert.private_key_and_cert_chain_pem.write_to_path(str(pem))

    async def client(port: int) -> None:
        assert await in_thread(lambda: fetch_https(port, client_ssl_context, ["/d"])) == [
            b"https /d none"
        ]

    run_server(io_loop, {"certfile": str(pem)}, client)


def test_client_certificate(
    io_loop: IOLoop,
    tls_ca: trustme.CA,
    tls_server_cert: trustme.LeafCert,
    client_ssl_context: ssl.SSLContext,
) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_server_cert.configure_cert(server_context)
    tls_ca.configure_trust(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED
    tls_ca.issue_cert("client.example", common_name="client.example").configure_cert(
        client_ssl_context
    )

    async def client(port: int) -> None:
        assert await in_thread(lambda: fetch_https(port, client_ssl_context, ["/c"])) == [
            b"https /c client.example"
        ]

    # The certificate is there on the first request, without waiting for the handshake.
    run_server(io_loop, server_context, client)


def test_malformed_request_over_tls(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def client(port: int) -> None:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_ssl_context, server_hostname="localhost"
        )
        try:
            writer.write(b"NOT HTTP\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
            assert b"Connection: close\r\n" in head
        finally:
            writer.close()
        # Others are still served.
        assert await in_thread(lambda: fetch_https(port, client_ssl_context, ["/ok"])) == [
            b"https /ok none"
        ]

    run_server(io_loop, server_ssl_context, client)


def test_plain_http_to_a_tls_server_fails_quietly(
    io_loop: IOLoop, server_ssl_context: ssl.SSLContext, client_ssl_context: ssl.SSLContext
) -> None:
    async def client(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        try:
            await asyncio.wait_for(reader.read(), 10)  # closed by the server
        except ConnectionResetError:
            pass
        writer.close()
        assert await in_thread(lambda: fetch_https(port, client_ssl_context, ["/x"])) == [
            b"https /x none"
        ]

    run_server(io_loop, server_ssl_context, client)
