"""Scripted peers for the HTTP client tests (shared by several test modules).

An origin server whose handler sees each parsed request and writes any bytes
it likes (so malformed and truncated responses are exact), a forward proxy
(plain requests and CONNECT tunnels, with Basic or Digest authentication),
and the helpers the tests build handlers from; they run on the test's own
event loop (asyncio streams), on loopback only.  Also the launcher of the
real programs (nginx, tinyproxy) the real-peer tests start.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import shutil
import socket
import ssl
import struct
import subprocess
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from squall.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse
from squall.ioloop import IOLoop


@dataclass
class Request:
    """A request as the server received it."""

    method: str
    target: str
    version: str
    headers: dict[str, str]  # names lower-cased; repeated fields joined with ", "
    body: bytes
    connection: int  # the number of the connection it came on (1, 2, ...)
    raw_head: bytes = b""
    chunked: bool = False
    header_list: list[tuple[str, str]] = field(default_factory=list)


def response(
    code: int = 200,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    reason: str | None = None,
    length: bool = True,
) -> bytes:
    """Build a response; ``Content-Length`` is added unless `length` is false."""
    phrases = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently",
               302: "Found", 303: "See Other", 304: "Not Modified", 307: "Temporary Redirect",
               308: "Permanent Redirect", 401: "Unauthorized", 404: "Not Found",
               407: "Proxy Authentication Required", 417: "Expectation Failed",
               500: "Internal Server Error"}  # fmt: skip
    lines = [f"HTTP/1.1 {code} {reason if reason is not None else phrases.get(code, 'X')}"]
    fields = dict(headers or {})
    if length and code not in (204, 304) and "Content-Length" not in fields:
        fields["Content-Length"] = str(len(body))
    lines += [f"{name}: {value}" for name, value in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


#: ``handler(request, writer)``: answer `request`; return False to close the
#: connection afterwards (True to keep reading requests on it).
Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]


async def read_request(
    reader: asyncio.StreamReader,
    number: int,
    expect_continue: Callable[[Request], Awaitable[None]] | None = None,
) -> Request | None:
    """Read one request (None at a clean EOF)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    header_list = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            header_list.append((name, value.strip()))
    headers: dict[str, str] = {}
    for name, value in header_list:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    request = Request(method, target, version, headers, b"", number, head, header_list=header_list)
    if headers.get("expect", "").lower() == "100-continue" and expect_continue is not None:
        await expect_continue(request)
    if "content-length" in headers:
        request.body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        request.chunked = True
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        request.body = body
    return request


class Server:
    """An HTTP/1.1 origin server on loopback, driven by `handler`.

    `connections` counts accepted connections, `requests` lists every
    request.  With `ssl_context` it speaks TLS.
    """

    def __init__(
        self,
        handler: Handler,
        ssl_context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.host = host
        self.connections = 0
        self.open_connections = 0
        self.max_open = 0
        self.requests: list[Request] = []
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.continue_hook: Callable[[Request, asyncio.StreamWriter], Awaitable[None]] | None = (
            None
        )
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Server:
        self._server = await asyncio.start_server(self._serve, self.host, 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/", scheme: str | None = None, host: str | None = None) -> str:
        scheme = scheme or ("https" if self.ssl_context else "http")
        host = host or self.host
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        self.open_connections += 1
        self.max_open = max(self.max_open, self.open_connections)
        self.writers.add(writer)

        async def on_continue(request: Request) -> None:
            if self.continue_hook is not None:
                await self.continue_hook(request, writer)
            else:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")

        try:
            while True:
                request = await read_request(reader, number, on_continue)
                if request is None:
                    break
                self.requests.append(request)
                if not await self.handler(request, writer):
                    break
                await writer.drain()
                if request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.open_connections -= 1
            self.writers.discard(writer)
            await close_writer(writer)

    async def close(self) -> None:
        for writer in list(self.writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await settle_tasks(self.tasks)


async def settle_tasks(tasks: set[asyncio.Task[Any]]) -> None:
    """Let connection handlers end (cancelling those that do not, within bounds)."""
    pending = {task for task in tasks if not task.done()}
    if pending:
        # Handlers that wait for nothing in particular (never_answer) are
        # cancelled after a short grace.
        _, pending = await asyncio.wait(pending, timeout=0.2)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)


async def close_writer(writer: asyncio.StreamWriter) -> None:
    if not writer.is_closing():
        writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 5)
    except (TimeoutError, ConnectionError, ssl.SSLError, OSError):
        pass


def reset(writer: asyncio.StreamWriter) -> None:
    """Close the connection with a TCP RST (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


DIGEST_NONCE = "dcd98b7102dd2f0e8b11d0f600bfb0c093"


def digest_challenge(realm: str) -> str:
    return f'Digest realm="{realm}", qop="auth", nonce="{DIGEST_NONCE}", opaque="o"'


def _digest_uris(target: str) -> tuple[str, ...]:
    """The ``uri`` a client may put in its Digest credentials for `target`.

    Through a proxy the request target is absolute; libcurl still names
    the origin-form there (the simple client the target as sent).
    """
    if not target.startswith(("http://", "https://")):
        return (target,)
    parts = urllib.parse.urlsplit(target)
    return (target, parts.path + (f"?{parts.query}" if parts.query else ""))


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
        and fields.get("uri") in _digest_uris(uri)
        and fields.get("username") == username
    )


class Proxy:
    """A forward HTTP proxy on loopback: absolute-form requests and CONNECT tunnels.

    With `credentials` ("user:password"), requests need Basic (or with
    `digest`, Digest) ``Proxy-Authorization`` (407 otherwise).  `requests`
    lists the requests received; `tunnels` the CONNECT targets.
    """

    def __init__(self, credentials: str | None = None, digest: bool = False) -> None:
        self.credentials = credentials
        self.digest = digest
        self.requests: list[Request] = []
        self.tunnels: list[str] = []
        self.connections = 0
        self._server: asyncio.Server | None = None
        self.port = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _authorized(self, request: Request) -> bool:
        if self.credentials is None:
            return True
        header = request.headers.get("proxy-authorization", "")
        if self.digest:
            username, _, password = self.credentials.partition(":")
            return digest_ok(header, request.method, request.target, username, password, "proxy")
        return header == "Basic " + base64.b64encode(self.credentials.encode()).decode()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        self.writers.add(writer)
        try:
            while True:
                request = await read_request(reader, self.connections)
                if request is None:
                    return
                self.requests.append(request)
                if not self._authorized(request):
                    challenge = digest_challenge("proxy") if self.digest else 'Basic realm="p"'
                    writer.write(response(407, b"auth", {"Proxy-Authenticate": challenge}))
                    await writer.drain()
                    continue
                if request.method == "CONNECT":
                    self.tunnels.append(request.target)
                    host, _, port = request.target.rpartition(":")
                    upstream_reader, upstream_writer = await asyncio.open_connection(
                        host.strip("[]"), int(port)
                    )
                    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    await writer.drain()
                    await asyncio.gather(
                        _pipe(reader, upstream_writer), _pipe(upstream_reader, writer)
                    )
                    return
                await self._forward(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.writers.discard(writer)
            await close_writer(writer)

    async def _forward(self, request: Request, writer: asyncio.StreamWriter) -> None:
        url = urllib.parse.urlsplit(request.target)
        upstream_reader, upstream_writer = await asyncio.open_connection(
            url.hostname, url.port or 80
        )
        try:
            path = url.path + (f"?{url.query}" if url.query else "")
            head = [f"{request.method} {path} HTTP/1.1"]
            head += [
                f"{name}: {value}"
                for name, value in request.header_list
                if name.lower() not in ("proxy-authorization", "connection")
            ]
            head.append("Connection: close")
            if request.body and "content-length" not in request.headers:
                head.append(f"Content-Length: {len(request.body)}")
            upstream_writer.write(
                ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body
            )
            await upstream_writer.drain()
            answer = await upstream_reader.read()  # until the origin closes
            writer.write(answer)
            await writer.drain()
        finally:
            await close_writer(upstream_writer)

    async def close(self) -> None:
        for writer in list(self.writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await settle_tasks(self.tasks)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        await close_writer(writer)


def run(io_loop: IOLoop, func: Callable[[], Awaitable[Any]], timeout: float = 30) -> Any:
    return io_loop.run_sync(func, timeout=timeout)


def answer(*replies: bytes | Callable[[Request], bytes]) -> Handler:
    """A handler answering the requests with `replies` in turn (the last one repeats)."""
    count = 0

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        nonlocal count
        reply = replies[min(count, len(replies) - 1)]
        count += 1
        writer.write(reply(request) if callable(reply) else reply)
        return True

    return handler


def echo(request: Request) -> bytes:
    """A response whose body describes the request."""
    lines = [f"{request.method} {request.target}"]
    lines += [f"{name}: {value}" for name, value in request.header_list]
    lines += ["", request.body.decode("latin-1")]
    return response(200, "\n".join(lines).encode("latin-1"))


async def never_answer(request: Request, writer: asyncio.StreamWriter) -> bool:
    await asyncio.sleep(60)
    return False


def raw(data: bytes, then: str = "close") -> Handler:
    """Write `data`, then close, reset, or keep the connection (then="keep")."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(data)
        if then == "reset":
            await writer.drain()
            reset(writer)
            return False
        return then == "keep"

    return handler


def digest_server(username: str, password: str, realm: str = "squall") -> Handler:
    """Digest authentication (RFC 7616, MD5, qop=auth), checked independently."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        header = request.headers.get("authorization", "")
        if digest_ok(header, request.method, request.target, username, password, realm):
            writer.write(response(200, b"welcome"))
        else:
            challenge = digest_challenge(realm)
            writer.write(response(401, b"who?", {"WWW-Authenticate": challenge}))
        return True

    return handler


async def fetch(client: AsyncHTTPClient, url: str, **kwargs: Any) -> HTTPResponse:
    return await asyncio.wait_for(client.fetch(url, **kwargs), 20)


async def fetch_error(client: AsyncHTTPClient, url: str, **kwargs: Any) -> HTTPClientError:
    with pytest.raises(HTTPClientError) as info:
        await fetch(client, url, **kwargs)
    return info.value


# -- real programs (nginx, tinyproxy) as child processes ----------------------

#: Bound on waiting for a child program to listen.
START_TIMEOUT = 20.0


def need(program: str, package: str) -> str:
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if path is None:
        pytest.fail(f"{program} is not installed (Debian package {package}; see tools/sysdeps.py)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(
        f"not listening on {port} after {START_TIMEOUT}s: {log.read_text()[-2000:]}"
    )


@contextlib.contextmanager
def child(command: list[str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_listening(port, process, log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
