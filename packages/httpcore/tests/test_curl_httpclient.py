"""What is particular to squall.curl_httpclient (libcurl through pycurl).

The behaviour it shares with the simple client is tested over both in
``test_httpclient_behaviour.py``; here: the module's surface, the import
error without pycurl, ``prepare_curl_callback``, ``network_interface``,
options that libcurl handles differently, and `CurlError`.  The peers are a
small scripted origin on loopback that records each request and the
address it came from, and real ones started by the tests: nginx as the
origin (static files, gzip, redirects, TLS, keep-alive limits) and
tinyproxy as the forward proxy (Basic authentication, CONNECT), both
Debian packages installed by ``tools/sysdeps.py``.  No timed assertions;
every wait is bounded.
"""

from __future__ import annotations

import asyncio
import copy
import gzip
import logging
import os
import pickle
import ssl
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pycurl
import pytest
import trustme
from httpcore_peers import child, free_port, need

import squall.curl_httpclient
from squall.curl_httpclient import CurlAsyncHTTPClient, CurlError
from squall.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse
from squall.ioloop import IOLoop


class Origin:
    """An HTTP/1.1 origin on loopback answering each request with a description of it.

    ``requests`` holds (head, body, peer address) per request; with
    `ssl_context` it speaks TLS.
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None, delay: float = 0) -> None:
        self.ssl_context = ssl_context
        self.delay = delay
        self.requests: list[tuple[str, bytes, str]] = []
        self._server: asyncio.Server | None = None
        self.port = 0
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> Origin:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        self.tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        peer = writer.get_extra_info("peername")[0]
        try:
            while True:
                try:
                    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                except asyncio.IncompleteReadError:
                    return
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.requests.append((head, body, peer))
                if self.delay:
                    await asyncio.sleep(self.delay)
                payload = head.encode("latin-1") + body
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload
                )
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    async def close(self) -> None:
        for writer in list(self.writers):
            writer.close()
        if self._server is not None:
            self._server.close()
        pending = [task for task in self.tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
        if self._server is not None:
            await self._server.wait_closed()


class Harness:
    def __init__(self) -> None:
        self.clients: list[CurlAsyncHTTPClient] = []
        self.origins: list[Origin] = []

    def client(self, **kwargs: Any) -> CurlAsyncHTTPClient:
        client = CurlAsyncHTTPClient(force_instance=True, **kwargs)
        self.clients.append(client)
        return client

    async def origin(self, **kwargs: Any) -> Origin:
        origin = await Origin(**kwargs).start()
        self.origins.append(origin)
        return origin

    async def close(self) -> None:
        for client in self.clients:
            client.close()
        for origin in self.origins:
            await origin.close()
        for _ in range(3):
            await asyncio.sleep(0)


@pytest.fixture
def harness(io_loop: IOLoop) -> Iterator[Harness]:
    h = Harness()
    try:
        yield h
    finally:
        io_loop.run_sync(h.close, timeout=30)


def run(io_loop: IOLoop, func: Callable[[], Awaitable[Any]]) -> Any:
    return io_loop.run_sync(func, timeout=30)


async def fetch(client: AsyncHTTPClient, url: str, **kwargs: Any) -> HTTPResponse:
    return await asyncio.wait_for(client.fetch(url, **kwargs), 20)


# ---------------------------------------------------------------------------
# The module
# ---------------------------------------------------------------------------


def test_module_surface() -> None:
    assert squall.curl_httpclient.__all__ == sorted(squall.curl_httpclient.__all__)
    assert set(squall.curl_httpclient.__all__) == {"CurlAsyncHTTPClient", "CurlError"}
    assert issubclass(CurlAsyncHTTPClient, AsyncHTTPClient)
    assert CurlAsyncHTTPClient.__module__ == "squall.curl_httpclient"


def test_curl_error() -> None:
    error = CurlError(7, "Failed to connect")
    assert isinstance(error, HTTPClientError)
    assert (error.code, error.errno, error.message) == (599, 7, "Failed to connect")
    assert str(error) == "HTTP 599: Failed to connect"
    for clone in (copy.copy(error), pickle.loads(pickle.dumps(error))):
        assert (clone.code, clone.errno, clone.message) == (599, 7, "Failed to connect")


def test_import_without_pycurl_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['pycurl'] = None\n"
        "try:\n"
        "    import squall.curl_httpclient\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "else:\n"
        "    print('imported')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "squall-httpcore[curl]" in result.stdout


def test_configure_by_plugin_name(io_loop: IOLoop) -> None:
    async def f() -> None:
        AsyncHTTPClient.configure("curl", max_clients=3)
        try:
            client = AsyncHTTPClient(force_instance=True)
            assert isinstance(client, CurlAsyncHTTPClient)
            assert client.max_clients == 3
            client.close()
        finally:
            AsyncHTTPClient.configure(None)

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Options particular to curl
# ---------------------------------------------------------------------------


def test_prepare_curl_callback(io_loop: IOLoop, harness: Harness) -> None:
    handles: list[Any] = []

    def prepare(curl: Any) -> None:
        handles.append(curl)
        curl.setopt(pycurl.USERAGENT, "set-by-callback")

    async def f() -> None:
        origin = await harness.origin()
        client = harness.client(max_clients=1)
        await fetch(client, origin.url(), prepare_curl_callback=prepare, user_agent="ignored")
        assert isinstance(handles[0], pycurl.Curl)
        assert "User-Agent: set-by-callback" in origin.requests[0][0]
        # The handle is reset between requests: nothing leaks into the next one.
        await fetch(client, origin.url())
        assert "set-by-callback" not in origin.requests[1][0]

    run(io_loop, f)


def test_prepare_curl_callback_failure_fails_that_fetch_only(
    io_loop: IOLoop, harness: Harness
) -> None:
    def broken(curl: Any) -> None:
        raise RuntimeError("prepare bug")

    async def f() -> None:
        origin = await harness.origin()
        client = harness.client(max_clients=1)
        for _ in range(3):
            with pytest.raises(RuntimeError, match="prepare bug"):
                await fetch(client, origin.url(), prepare_curl_callback=broken)
        assert (await fetch(client, origin.url())).code == 200

    run(io_loop, f)


def test_network_interface(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        origin = await harness.origin()
        client = harness.client()
        await fetch(client, origin.url(), network_interface="127.0.0.2")
        assert origin.requests[0][2] == "127.0.0.2"
        await fetch(client, origin.url())
        assert origin.requests[1][2] == "127.0.0.1"
        # An address this host does not have: libcurl cannot bind to it.
        with pytest.raises(CurlError) as info:
            await fetch(client, origin.url(), network_interface="192.0.2.1")
        assert info.value.code == 599

    run(io_loop, f)


def test_options_do_not_leak_between_requests(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        origin = await harness.origin()
        client = harness.client(max_clients=1)
        await fetch(client, origin.url(), auth_username="u", auth_password="p")
        await fetch(client, origin.url(), method="POST", body=b"xyz")
        await fetch(client, origin.url())
        first, second, third = (head for head, _, _ in origin.requests)
        assert "Authorization:" in first
        assert "Authorization:" not in second
        assert second.startswith("POST ")
        assert third.startswith("GET ")
        assert "Content-Length" not in third

    run(io_loop, f)


def test_environment_proxy_is_ignored(
    io_loop: IOLoop, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:1")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")

    async def f() -> None:
        origin = await harness.origin()
        client = harness.client()
        assert (await fetch(client, origin.url())).code == 200

    run(io_loop, f)


def test_body_producer_is_not_supported(io_loop: IOLoop, harness: Harness) -> None:
    async def producer(write: Any) -> None:
        await write(b"x")

    async def f() -> None:
        client = harness.client()
        with pytest.raises(ValueError, match="body_producer"):
            await fetch(client, "http://127.0.0.1:1/", method="POST", body_producer=producer)

    run(io_loop, f)


def test_ssl_options(
    io_loop: IOLoop,
    harness: Harness,
    server_ssl_context: ssl.SSLContext,
    tls_ca: trustme.CA,
    tmp_path: Any,
) -> None:
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_file))

    async def f() -> None:
        origin = await harness.origin(ssl_context=server_ssl_context)
        client = harness.client()
        url = origin.url(host="localhost")
        ok = await fetch(client, url, ssl_options={"ca_certs": str(ca_file)}, allow_ipv6=False)
        assert ok.code == 200
        unverified = await fetch(client, url, ssl_options={"cert_reqs": ssl.CERT_NONE})
        assert unverified.code == 200
        with pytest.raises(ValueError, match="ssl_options"):
            await fetch(client, url, ssl_options=ssl.create_default_context())
        with pytest.raises(ValueError, match="ssl_options"):
            await fetch(client, url, ssl_options={"ciphers": "ALL"})

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Errors, timing, limits
# ---------------------------------------------------------------------------


def test_transport_errors_are_curl_errors(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        origin = await harness.origin(delay=30)
        client = harness.client()
        with pytest.raises(CurlError) as refused:
            await fetch(client, "http://127.0.0.1:1/")
        assert refused.value.errno == pycurl.E_COULDNT_CONNECT
        with pytest.raises(CurlError) as timeout:
            await fetch(client, origin.url(), request_timeout=0.1)
        assert timeout.value.errno == pycurl.E_OPERATION_TIMEDOUT
        result = await fetch(client, origin.url(), request_timeout=0.1, raise_error=False)
        assert isinstance(result.error, CurlError)

    run(io_loop, f)


def test_time_info(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        origin = await harness.origin()
        client = harness.client()
        result = await fetch(client, origin.url())
        assert {
            "queue",
            "namelookup",
            "connect",
            "appconnect",
            "pretransfer",
            "starttransfer",
            "total",
        } <= set(result.time_info)
        assert all(value >= 0 for value in result.time_info.values())

    run(io_loop, f)


def test_max_body_size(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        origin = await harness.origin()
        client = harness.client(max_body_size=50)
        with pytest.raises(HTTPClientError) as info:
            await fetch(client, origin.url("/" + "x" * 100))
        assert info.value.code == 599
        assert "max_body_size" in str(info.value)
        roomy = harness.client()
        assert (await fetch(roomy, origin.url("/" + "x" * 100))).code == 200

    run(io_loop, f)


def test_fetch_from_a_streaming_callback(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        origin = await harness.origin()
        client = harness.client(max_clients=1)
        inner: list[asyncio.Future[HTTPResponse]] = []

        def on_chunk(chunk: bytes) -> None:
            # libcurl is running this callback: the new fetch starts later.
            if not inner:
                inner.append(client.fetch(origin.url("/inner")))

        await fetch(client, origin.url("/outer"), streaming_callback=on_chunk)
        result = await asyncio.wait_for(inner[0], 20)
        assert result.body.startswith(b"GET /inner")

    run(io_loop, f)


def test_close_from_a_streaming_callback(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        origin = await harness.origin()
        client = harness.client()

        def on_chunk(chunk: bytes) -> None:
            client.close()

        result = await fetch(client, origin.url(), streaming_callback=on_chunk, raise_error=False)
        assert result.code == 599
        assert "closed" in str(result.error)

    run(io_loop, f)


def test_debug_log_hides_credentials(
    io_loop: IOLoop, harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def f() -> None:
        origin = await harness.origin()
        client = harness.client()
        with caplog.at_level(logging.DEBUG, logger="squall.curl_httpclient"):
            await fetch(
                client,
                origin.url("/logged"),
                auth_username="user",
                auth_password="s3cret",
                headers={"Cookie": "session=t0ken"},
            )
        text = "\n".join(record.getMessage() for record in caplog.records)
        assert "> GET /logged HTTP/1.1" in text
        assert "< HTTP/1.1 200 OK" in text
        assert "Authorization: <hidden>" in text
        assert "t0ken" not in text
        assert "dXNlcjpzM2NyZXQ=" not in text  # base64 of user:s3cret

    run(io_loop, f)


def test_http_1_1_is_spoken(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        origin = await harness.origin()
        client = harness.client()
        lines: list[str] = []
        await fetch(client, origin.url(), header_callback=lines.append)
        assert origin.requests[0][0].startswith("GET / HTTP/1.1\r\n")
        assert lines[0] == "HTTP/1.1 200 OK\r\n"

    run(io_loop, f)


def test_header_values_are_latin_1(io_loop: IOLoop, harness: Harness) -> None:
    async def f() -> None:
        origin = await harness.origin()
        client = harness.client()
        await fetch(client, origin.url(), headers={"X-Name": "caf\u00e9"})
        assert "X-Name: caf\u00e9\r\n" in origin.requests[0][0]
        with pytest.raises(ValueError, match="latin-1"):
            await fetch(client, origin.url(), headers={"X-Name": "\u2603"}, raise_error=False)

    run(io_loop, f)


# ---------------------------------------------------------------------------
# Real peers: nginx as the origin, tinyproxy as the proxy
# ---------------------------------------------------------------------------


#: The static files nginx serves.
BIG = os.urandom(2_000_000)
TEXT = b"squall, curl and nginx\n" * 10_000


class Nginx:
    def __init__(self, port: int, tls_port: int, ca: str) -> None:
        self.port = port
        self.tls_port = tls_port
        self.ca = ca

    def url(self, path: str = "/", tls: bool = False, host: str = "127.0.0.1") -> str:
        if tls:
            return f"https://{host}:{self.tls_port}{path}"
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    program = need("nginx", "nginx-light")
    prefix = tmp_path_factory.mktemp("nginx")
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    ca.cert_pem.write_to_path(str(prefix / "ca.pem"))
    leaf.private_key_pem.write_to_path(str(prefix / "key.pem"))
    with (prefix / "cert.pem").open("wb") as out:
        for pem in leaf.cert_chain_pems:
            out.write(pem.bytes())
    root = prefix / "www"
    root.mkdir()
    (root / "big.bin").write_bytes(BIG)
    (root / "text.txt").write_bytes(TEXT)
    (root / "index.html").write_bytes(b"<p>index</p>")
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / name).mkdir()
    port, tls_port = free_port(), free_port()
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
    client_body_temp_path {prefix / "body"};
    proxy_temp_path {prefix / "proxy"};
    fastcgi_temp_path {prefix / "fastcgi"};
    uwsgi_temp_path {prefix / "uwsgi"};
    scgi_temp_path {prefix / "scgi"};
    types {{ text/plain txt; application/octet-stream bin; text/html html; }}
    keepalive_requests 3;
    keepalive_timeout 60s;
    gzip on;
    gzip_types text/plain;
    gzip_min_length 0;
    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {prefix / "cert.pem"};
        ssl_certificate_key {prefix / "key.pem"};
        root {root};
        add_header X-Connection $connection always;
        location = /redirect {{ return 302 /index.html; }}
        location = /redirect-post {{ return 303 /index.html; }}
    }}
}}
"""
    )
    with child([program, "-p", str(prefix), "-c", str(config)], port, prefix / "output.log"):
        yield Nginx(port, tls_port, str(prefix / "ca.pem"))


@pytest.fixture(scope="module")
def tinyproxy(tmp_path_factory: pytest.TempPathFactory, nginx: Nginx) -> Iterator[int]:
    program = need("tinyproxy", "tinyproxy")
    prefix = tmp_path_factory.mktemp("tinyproxy")
    port = free_port()
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Timeout 30",
        "MaxClients 50",
        "LogLevel Info",
        "Allow 127.0.0.1",
        "BasicAuth squall proxypass",
        f"ConnectPort {nginx.tls_port}",  # CONNECT is only allowed to these ports
        "DisableViaHeader Yes",
    ]
    if os.geteuid() == 0:
        lines += ["User nobody", "Group nogroup"]
    config = prefix / "tinyproxy.conf"
    config.write_text("\n".join(lines) + "\n")
    with child([program, "-d", "-c", str(config)], port, prefix / "output.log"):
        yield port


def test_nginx_static_files_gzip_and_keep_alive(
    io_loop: IOLoop, harness: Harness, nginx: Nginx
) -> None:
    async def f() -> None:
        client = harness.client()
        assert (await fetch(client, nginx.url("/big.bin"))).body == BIG
        text = await fetch(client, nginx.url("/text.txt"))
        assert text.body == TEXT
        assert text.headers["X-Consumed-Content-Encoding"] == "gzip"
        raw = await fetch(client, nginx.url("/text.txt"), decompress_response=False,
                          headers={"Accept-Encoding": "gzip"})  # fmt: skip
        assert gzip.decompress(raw.body) == TEXT
        chunks: list[bytes] = []
        await fetch(client, nginx.url("/big.bin"), streaming_callback=chunks.append)
        assert b"".join(chunks) == BIG
        connections = [
            (await fetch(client, nginx.url("/index.html"))).headers["X-Connection"]
            for _ in range(6)
        ]
        # keepalive_requests 3: libcurl reuses each connection until nginx closes it.
        assert len(set(connections)) in (2, 3)

    run(io_loop, f)


def test_nginx_redirects_errors_and_tls(io_loop: IOLoop, harness: Harness, nginx: Nginx) -> None:
    async def f() -> None:
        client = harness.client(max_clients=10)
        redirected = await fetch(client, nginx.url("/redirect"))
        assert redirected.effective_url == nginx.url("/index.html")
        posted = await fetch(client, nginx.url("/redirect-post"), method="POST", body=b"x")
        assert posted.body == b"<p>index</p>"
        with pytest.raises(HTTPClientError) as info:
            await fetch(client, nginx.url("/missing"))
        assert info.value.code == 404
        secure = await fetch(
            client, nginx.url("/big.bin", tls=True, host="localhost"), ca_certs=nginx.ca
        )
        assert secure.body == BIG
        with pytest.raises(CurlError):
            await fetch(client, nginx.url("/index.html", tls=True))  # certifi: unknown CA
        results = await asyncio.wait_for(
            asyncio.gather(*(client.fetch(nginx.url("/index.html")) for _ in range(100))), 60
        )
        assert all(r.body == b"<p>index</p>" for r in results)

    run(io_loop, f)


def test_tinyproxy_plain_and_tunnel(
    io_loop: IOLoop, harness: Harness, nginx: Nginx, tinyproxy: int
) -> None:
    proxy = {
        "proxy_host": "127.0.0.1",
        "proxy_port": tinyproxy,
        "proxy_username": "squall",
        "proxy_password": "proxypass",
    }

    async def f() -> None:
        client = harness.client()
        for _ in range(2):
            assert (await fetch(client, nginx.url("/text.txt"), **proxy)).body == TEXT
        url = nginx.url("/index.html", tls=True, host="localhost")
        lines: list[str] = []
        tunnelled = await fetch(client, url, ca_certs=nginx.ca, header_callback=lines.append,
                                **proxy)  # fmt: skip
        assert tunnelled.code == 200
        assert lines[0].startswith("HTTP/1.1 200")  # nginx's, not the proxy's to CONNECT
        wrong = dict(proxy, proxy_password="wrong")
        with pytest.raises(HTTPClientError) as info:
            await fetch(client, nginx.url("/text.txt"), **wrong)
        assert info.value.code in (401, 407)
        with pytest.raises(HTTPClientError) as info:
            await fetch(client, url, ca_certs=nginx.ca, **wrong)
        assert info.value.code == 599

    run(io_loop, f)
