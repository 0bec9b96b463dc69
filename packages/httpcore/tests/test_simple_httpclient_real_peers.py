"""squall.simple_httpclient against real peers: nginx as the origin, tinyproxy as the proxy.

nginx (Debian ``nginx-light``) serves static files (plain and gzip),
redirects, TLS with the test CA, and limits keep-alive (3 requests per
connection, a short idle timeout); it reports the serial number of the
connection of each response (``$connection``), which is how reuse is
observed.  tinyproxy (Debian ``tinyproxy``) forwards plain requests and
opens CONNECT tunnels, with Basic authentication.  Both run as child
processes on loopback, configured in the test's temporary directory.

These programs are installed by ``tools/sysdeps.py``; the tests fail,
saying so, when one is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from httpcore_peers import child, free_port, need

from squall.httpclient import HTTPClientError, HTTPResponse
from squall.ioloop import IOLoop
from squall.simple_httpclient import SimpleAsyncHTTPClient


class Nginx:
    def __init__(self, root: Path, port: int, tls_port: int) -> None:
        self.root = root
        self.port = port
        self.tls_port = tls_port

    def url(self, path: str = "/", tls: bool = False, host: str = "127.0.0.1") -> str:
        if tls:
            return f"https://{host}:{self.tls_port}{path}"
        return f"http://{host}:{self.port}{path}"


#: The static files nginx serves.
BIG = os.urandom(2_000_000)
TEXT = b"squall and nginx\n" * 10_000


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    directory = tmp_path_factory.mktemp("tls")
    files = {
        "ca": directory / "ca.pem",
        "cert": directory / "cert.pem",
        "key": directory / "key.pem",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    with files["cert"].open("wb") as out:
        for pem in cert.cert_chain_pems:
            out.write(pem.bytes())
    return {name: str(path) for name, path in files.items()}


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory, tls_files: dict[str, str]) -> Iterator[Nginx]:
    program = need("nginx", "nginx-light")
    prefix = tmp_path_factory.mktemp("nginx")
    root = prefix / "www"
    root.mkdir()
    (root / "big.bin").write_bytes(BIG)
    (root / "text.txt").write_bytes(TEXT)
    (root / "index.html").write_bytes(b"<p>index</p>")
    port, tls_port = free_port(), free_port()
    temp = {name: prefix / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    config = prefix / "nginx.conf"
    config.write_text(
        f"""
daemon off;
master_process off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    types {{ text/plain txt; application/octet-stream bin; text/html html; }}
    keepalive_requests 3;
    keepalive_timeout 60s;
    gzip on;
    gzip_types text/plain;
    gzip_min_length 0;
    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {tls_files["cert"]};
        ssl_certificate_key {tls_files["key"]};
        root {root};
        add_header X-Connection $connection always;
        location = /redirect {{ return 302 /index.html; }}
        location = /redirect-post {{ return 303 /index.html; }}
        location = /short-idle {{ keepalive_timeout 1s; return 200 "short"; }}
    }}
}}
"""
    )
    command = [program, "-p", str(prefix), "-c", str(config)]
    with child(command, port, prefix / "output.log"):
        yield Nginx(root, port, tls_port)


@pytest.fixture(scope="module")
def tinyproxy(tmp_path_factory: pytest.TempPathFactory, nginx: Nginx) -> Iterator[int]:
    program = need("tinyproxy", "tinyproxy")
    prefix = tmp_path_factory.mktemp("tinyproxy")
    port = free_port()
    config = prefix / "tinyproxy.conf"
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Timeout 30",
        "MaxClients 50",
        "LogLevel Info",
        "Allow 127.0.0.1",
        "BasicAuth squall proxypass",
        # CONNECT is only allowed to these ports.
        f"ConnectPort {nginx.tls_port}",
        "DisableViaHeader Yes",
    ]
    if os.geteuid() == 0:
        lines += ["User nobody", "Group nogroup"]
    config.write_text("\n".join(lines) + "\n")
    with child([program, "-d", "-c", str(config)], port, prefix / "output.log"):
        yield port


def run(io_loop: IOLoop, func: Any, timeout: float = 60) -> Any:
    return io_loop.run_sync(func, timeout=timeout)


@contextlib.asynccontextmanager
async def client(**kwargs: Any) -> Any:
    instance = SimpleAsyncHTTPClient(force_instance=True, **kwargs)
    try:
        yield instance
    finally:
        instance.close()
        await instance._wait_closed()


async def fetch(http: SimpleAsyncHTTPClient, url: str, **kwargs: Any) -> HTTPResponse:
    return await asyncio.wait_for(http.fetch(url, **kwargs), 30)


# ---------------------------------------------------------------------------
# nginx as the origin
# ---------------------------------------------------------------------------


def test_static_files_and_gzip(io_loop: IOLoop, nginx: Nginx) -> None:
    async def f() -> None:
        async with client() as http:
            big = await fetch(http, nginx.url("/big.bin"))
            assert big.body == BIG
            text = await fetch(http, nginx.url("/text.txt"))
            assert text.body == TEXT
            assert text.headers["X-Consumed-Content-Encoding"] == "gzip"
            plain = await fetch(http, nginx.url("/text.txt"), decompress_response=False)
            assert "Content-Encoding" not in plain.headers  # not asked for
            raw = await fetch(
                http,
                nginx.url("/text.txt"),
                decompress_response=False,
                headers={"Accept-Encoding": "gzip"},
            )
            assert raw.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(raw.body) == TEXT
            chunks: list[bytes] = []
            await fetch(http, nginx.url("/big.bin"), streaming_callback=chunks.append)
            assert b"".join(chunks) == BIG

    run(io_loop, f)


def test_keep_alive_limit_of_the_server(io_loop: IOLoop, nginx: Nginx) -> None:
    async def f() -> None:
        async with client() as http:
            connections = []
            for _ in range(10):
                response = await fetch(http, nginx.url("/index.html"))
                assert response.body == b"<p>index</p>"
                connections.append(response.headers["X-Connection"])
            # keepalive_requests 3: nginx closes each connection after 3 requests.
            assert len(set(connections)) == 4
            assert connections[0] == connections[1] == connections[2] != connections[3]

    run(io_loop, f)


def test_idle_timeout_of_the_server(io_loop: IOLoop, nginx: Nginx) -> None:
    async def f() -> None:
        async with client() as http:
            first = await fetch(http, nginx.url("/short-idle"))
            assert first.body == b"short"
            # nginx closes the idle connection after 1 s; the pool notices.
            for _ in range(100):
                if not http._pool:
                    break
                await asyncio.sleep(0.05)
            assert not http._pool
            second = await fetch(http, nginx.url("/short-idle"))
            assert second.headers["X-Connection"] != first.headers["X-Connection"]

    run(io_loop, f)


def test_redirects_and_errors(io_loop: IOLoop, nginx: Nginx) -> None:
    async def f() -> None:
        async with client() as http:
            redirected = await fetch(http, nginx.url("/redirect"))
            assert redirected.effective_url == nginx.url("/index.html")
            assert redirected.body == b"<p>index</p>"
            posted = await fetch(http, nginx.url("/redirect-post"), method="POST", body=b"x")
            assert posted.body == b"<p>index</p>"
            with pytest.raises(HTTPClientError) as info:
                await fetch(http, nginx.url("/missing"))
            assert info.value.code == 404
            head = await fetch(http, nginx.url("/big.bin"), method="HEAD")
            assert head.body == b""
            assert head.headers["Content-Length"] == str(len(BIG))
            modified = head.headers["Last-Modified"]
            not_modified = await fetch(
                http,
                nginx.url("/big.bin"),
                headers={"If-Modified-Since": modified},
                raise_error=False,
            )
            assert not_modified.code == 304

    run(io_loop, f)


def test_concurrent_requests(io_loop: IOLoop, nginx: Nginx) -> None:
    async def f() -> None:
        async with client(max_clients=10) as http:
            futures = [http.fetch(nginx.url("/index.html")) for _ in range(300)]
            results = await asyncio.wait_for(asyncio.gather(*futures), 60)
            assert all(r.body == b"<p>index</p>" for r in results)
            # 10 at a time, 3 requests per connection at most.
            assert len({r.headers["X-Connection"] for r in results}) >= 100

    run(io_loop, f)


def test_tls(io_loop: IOLoop, nginx: Nginx, tls_files: dict[str, str]) -> None:
    async def f() -> None:
        async with client() as http:
            response = await fetch(
                http,
                nginx.url("/big.bin", tls=True, host="localhost"),
                ca_certs=tls_files["ca"],
                allow_ipv6=False,
            )
            assert response.body == BIG
            with pytest.raises(HTTPClientError) as info:
                await fetch(http, nginx.url("/index.html", tls=True))  # certifi: unknown CA
            assert info.value.code == 599

    run(io_loop, f)


# ---------------------------------------------------------------------------
# tinyproxy as the forward proxy
# ---------------------------------------------------------------------------


def proxy_args(port: int, password: str = "proxypass") -> dict[str, Any]:
    return {
        "proxy_host": "127.0.0.1",
        "proxy_port": port,
        "proxy_username": "squall",
        "proxy_password": password,
    }


def test_through_tinyproxy(io_loop: IOLoop, nginx: Nginx, tinyproxy: int) -> None:
    async def f() -> None:
        async with client() as http:
            for _ in range(3):
                response = await fetch(http, nginx.url("/text.txt"), **proxy_args(tinyproxy))
                assert response.body == TEXT
            with pytest.raises(HTTPClientError) as info:
                await fetch(http, nginx.url("/text.txt"), **proxy_args(tinyproxy, "wrong"))
            assert info.value.code in (401, 407)  # tinyproxy answers 401

    run(io_loop, f)


def test_tunnel_through_tinyproxy(
    io_loop: IOLoop, nginx: Nginx, tinyproxy: int, tls_files: dict[str, str]
) -> None:
    async def f() -> None:
        async with client() as http:
            url = nginx.url("/index.html", tls=True, host="localhost")
            connections = set()
            for _ in range(3):
                response = await fetch(
                    http, url, ca_certs=tls_files["ca"], allow_ipv6=False, **proxy_args(tinyproxy)
                )
                assert response.body == b"<p>index</p>"
                connections.add(response.headers["X-Connection"])
            assert len(connections) == 1  # one tunnel, kept alive
            with pytest.raises(HTTPClientError) as info:
                await fetch(http, url, ca_certs=tls_files["ca"], **proxy_args(tinyproxy, "wrong"))
            assert info.value.code == 599
            assert "Unauthorized" in str(info.value) or "407" in str(info.value)

    run(io_loop, f)
