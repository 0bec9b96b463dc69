"""Fixtures and helpers shared by the HTTP server tests (test_httpserver*.py).

- ``parser``: an autouse fixture that runs each test over both HTTP/1
  parsers (it sets ``squall._http1.Parser``, which connections read when they
  start) and gives the parser's name.  It applies to the modules that import
  it: ``from httpserver_helpers import parser_fixture  # noqa: F401`` (its
  function has another name than the fixture, so that a test can take
  ``parser`` as an argument);
- ``serving`` starts an HTTPServer on a loopback port (a ``Served``) and
  closes it and its connections afterwards; ``run`` runs a test's coroutine on
  the test's loop and then closes the ``RawClient``\\ s it left open;
- clients: ``RawClient`` (raw bytes, every wait bounded), ``http_client``
  (stdlib http.client, run it with ``in_thread``), ``run_curl``;
- handlers: ``respond``, ``echo``, and ``Streaming``, a connection delegate
  that collects request bodies piece by piece.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

import squall._http1 as http1
from squall._http1 import _conn_writing
from squall.httpserver import HTTPServer
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    RequestStartLine,
    ResponseStartLine,
)
from squall.ioloop import IOLoop
from squall.netutil import bind_sockets


@pytest.fixture(name="parser", params=["python", "httptools", "c"], autouse=True)
def parser_fixture(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with each parser implementation.

    With "python" the responses are made by the Python code too (not the
    compiled module's ``usual_response``), so both ways are tested.
    """
    name = str(request.param)
    monkeypatch.setattr(http1, "Parser", http1._load(name))
    if name == "python":
        monkeypatch.setattr(_conn_writing, "_usual_response", None)
    return name


OK = ResponseStartLine("HTTP/1.1", 200, "OK")


def respond(request: HTTPServerRequest, body: bytes, status: int = 200, **headers: str) -> None:
    """Answer `request` with `body` (Content-Length set) in one write."""
    fields = HTTPHeaders({"Content-Length": str(len(body)), **headers})
    assert request.connection is not None
    request.connection.write_headers(ResponseStartLine("HTTP/1.1", status, ""), fields, body)
    request.connection.finish()


def echo(request: HTTPServerRequest) -> None:
    """Answer with the method, target and body."""
    respond(request, f"{request.method} {request.uri} ".encode() + request.body)


class Served:
    def __init__(self, server: HTTPServer, port: int) -> None:
        self.server = server
        self.port = port

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


@contextlib.asynccontextmanager
async def serving(handler: Any, **kwargs: Any) -> AsyncIterator[Served]:
    server = HTTPServer(handler, **kwargs)
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    try:
        yield Served(server, sockets[0].getsockname()[1])
    finally:
        server.stop()
        await server.close_all_connections()


def run(io_loop: IOLoop, main: Callable[[], Awaitable[None]], timeout: float = 30) -> None:
    async def main_then_settle() -> None:
        try:
            await main()
        finally:
            while RawClient.open:
                RawClient.open.pop().close()
            for _ in range(5):  # let closing transports finish closing
                await asyncio.sleep(0)

    io_loop.run_sync(main_then_settle, timeout=timeout)


async def in_thread(function: Callable[[], Any]) -> Any:
    """Run a blocking client (http.client) off the loop."""
    return await asyncio.get_running_loop().run_in_executor(None, function)


class RawClient:
    """A raw TCP client: send bytes, read what comes back (every wait bounded)."""

    open: list[RawClient] = []  # closed at the end of each test (run)

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        RawClient.open.append(self)

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        try:
            await self.writer.drain()
        except ConnectionError:
            pass  # the server may answer and close before reading it all

    async def read_until_close(self, timeout: float = 10) -> bytes:
        """Everything until the server closes (a reset counts as closing)."""
        chunks = []
        try:
            while chunk := await asyncio.wait_for(self.reader.read(65536), timeout):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)

    async def read_response(self, method: str = "GET", timeout: float = 10) -> Response:
        """Read one response (Content-Length or chunked framing)."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        response = Response.parse_head(head)
        if method == "HEAD" or response.status in (204, 304) or response.status < 200:
            return response
        if response.headers.get("Transfer-Encoding") == "chunked":
            body = b""
            while True:
                size_line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), timeout)
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    await asyncio.wait_for(self.reader.readuntil(b"\r\n"), timeout)
                    break
                body += await asyncio.wait_for(self.reader.readexactly(size + 2), timeout)
                body = body[:-2]
            response.body = body
        elif "Content-Length" in response.headers:
            length = int(response.headers["Content-Length"])
            response.body = await asyncio.wait_for(self.reader.readexactly(length), timeout)
        else:
            response.body = await self.read_until_close(timeout)
        return response

    async def body(self, timeout: float = 10) -> bytes:
        """The body of one response to a GET or POST."""
        return (await self.read_response(timeout=timeout)).body

    async def closed(self, timeout: float = 10) -> bool:
        """Whether the server closes the connection (within `timeout`), reading what remains."""
        try:
            await self.read_until_close(timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.writer.close()


class Response:
    def __init__(self, status: int, reason: str, headers: HTTPHeaders, raw_head: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.raw_head = raw_head
        self.body = b""

    @classmethod
    def parse_head(cls, head: bytes) -> Response:
        text = head.decode("latin-1")
        status_line, _, rest = text.partition("\r\n")
        version, status, reason = ([*status_line.split(" ", 2), ""])[:3]
        assert version == "HTTP/1.1"
        return cls(int(status), reason, HTTPHeaders.parse(rest), head)


def curl(*args: str) -> list[str]:
    return ["curl", "--silent", "--show-error", "--noproxy", "*", "--max-time", "20", *args]


async def run_curl(*args: str) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *curl(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out, err


def http_client(port: int, timeout: float = 10) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)


class StreamingDelegate(HTTPMessageDelegate):
    """Collects the body piece by piece; slow (awaitable data_received) if asked."""

    def __init__(self, connection: HTTPConnection, slow: bool) -> None:
        self.connection = connection
        self.slow = slow
        self.pieces: list[bytes] = []
        self.start_line: RequestStartLine | None = None
        self.closed = False

    def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
        self.start_line = start_line

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        self.pieces.append(chunk)
        if self.slow:
            return asyncio.sleep(0.001)
        return None

    def finish(self) -> None:
        body = b"%d pieces, %d bytes" % (len(self.pieces), sum(map(len, self.pieces)))
        self.connection.write_headers(OK, HTTPHeaders({"Content-Length": str(len(body))}), body)
        self.connection.finish()

    def on_connection_close(self) -> None:
        self.closed = True


class Streaming(HTTPServerConnectionDelegate):
    """Gives each request a StreamingDelegate; records the connections that close."""

    def __init__(self, slow: bool = False) -> None:
        self.slow = slow
        self.delegates: list[StreamingDelegate] = []
        self.closed_connections: list[object] = []

    def start_request(
        self, server_conn: object, request_conn: HTTPConnection
    ) -> StreamingDelegate:
        delegate = StreamingDelegate(request_conn, self.slow)
        self.delegates.append(delegate)
        return delegate

    def on_close(self, server_conn: object) -> None:
        self.closed_connections.append(server_conn)
