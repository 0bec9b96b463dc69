"""squall.httpserver's life cycle: application errors, xheaders, detaching, shutting down.

Also configuration and the legacy interfaces, several processes, unix
sockets.  Every test runs over both HTTP/1 parsers (the ``parser`` fixture
of httpserver_helpers.py, where the helpers are).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
import warnings
from typing import Any

import pytest
from httpserver_helpers import (
    OK,
    RawClient,
    Streaming,
    echo,
    http_client,
    parser_fixture,  # noqa: F401
    respond,
    run,
    run_curl,
    serving,
)

from squall import httpserver
from squall.http1connection import HTTP1Connection
from squall.httpserver import HTTPServer
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPOutputError,
    HTTPServerConnectionDelegate,
    HTTPServerRequest,
    ResponseStartLine,
)
from squall.ioloop import IOLoop
from squall.iostream import IOStream
from squall.netutil import bind_sockets

# ---------------------------------------------------------------------------
# The application's errors
# ---------------------------------------------------------------------------


def test_callback_exception_closes_only_that_connection(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(request: HTTPServerRequest) -> None:
        if request.path == "/fail":
            raise ZeroDivisionError("handler bug")
        echo(request)

    async def main() -> None:
        async with serving(handler) as served:
            other = await RawClient.connect(served.port)
            await other.send(b"GET /before HTTP/1.1\r\n\r\n")
            assert (await other.read_response()).body == b"GET /before "
            client = await RawClient.connect(served.port)
            await client.send(b"GET /fail HTTP/1.1\r\n\r\n")
            assert await client.read_until_close() == b""
            await other.send(b"GET /after HTTP/1.1\r\n\r\n")
            assert (await other.read_response()).body == b"GET /after "
            other.close()

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        run(io_loop, main)
    (record,) = [r for r in caplog.records if r.name == "squall.application"]
    assert record.exc_info is not None
    assert record.exc_info[0] is ZeroDivisionError


def test_coroutine_callback_exception_is_logged(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(request: HTTPServerRequest) -> None:
        await asyncio.sleep(0)
        raise ZeroDivisionError("async handler bug")

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            assert await client.read_until_close() == b""

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        run(io_loop, main)
    assert any(
        r.exc_info is not None and r.exc_info[0] is ZeroDivisionError for r in caplog.records
    )


@pytest.mark.parametrize(
    ("headers", "chunks", "message"),
    [
        ({"Content-Length": "3"}, [b"four"], "more data than Content-Length"),
        ({"Content-Length": "10"}, [b"four"], "less than Content-Length"),
        ({"X-Evil": "a\r\nSet-Cookie: injected=1"}, [], "Unsafe value"),
        ({"X-Evil": "a\nb"}, [], "Unsafe value"),
        ({"Bad Name": "x"}, [], "Invalid header name"),
        ({"Content-Length": "-1"}, [], "Invalid Content-Length"),
    ],
)
def test_output_errors(
    io_loop: IOLoop, headers: dict[str, str], chunks: list[bytes], message: str
) -> None:
    errors: list[Exception] = []

    def handler(request: HTTPServerRequest) -> None:
        connection = request.connection
        assert connection is not None
        try:
            connection.write_headers(OK, HTTPHeaders(headers))
            for chunk in chunks:
                connection.write(chunk)
            connection.finish()
        except HTTPOutputError as exc:
            errors.append(exc)
            request.connection.stream.close()  # type: ignore[union-attr]

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            received = await client.read_until_close()
            assert b"injected" not in received

    run(io_loop, main)
    assert len(errors) == 1
    assert message in str(errors[0])


def test_body_on_204_is_an_output_error(io_loop: IOLoop) -> None:
    errors: list[Exception] = []

    def handler(request: HTTPServerRequest) -> None:
        connection = request.connection
        assert connection is not None
        try:
            connection.write_headers(ResponseStartLine("HTTP/1.1", 204, ""), HTTPHeaders(), b"x")
        except HTTPOutputError as exc:
            errors.append(exc)

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            assert await client.read_until_close() == b""

    run(io_loop, main)
    assert "must not have a body" in str(errors[0])


# ---------------------------------------------------------------------------
# xheaders
# ---------------------------------------------------------------------------


def ip_and_protocol(request: HTTPServerRequest) -> None:
    respond(request, f"{request.remote_ip} {request.protocol}".encode())


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "127.0.0.1 http"),
        ({"X-Real-Ip": "10.0.0.1"}, "10.0.0.1 http"),
        ({"X-Forwarded-For": "10.0.0.1, 10.0.0.2"}, "10.0.0.2 http"),
        ({"X-Forwarded-For": "10.0.0.1, 10.0.0.2, 10.0.0.99"}, "10.0.0.2 http"),
        ({"X-Forwarded-For": "10.0.0.1, 10.0.0.98, 10.0.0.99"}, "10.0.0.1 http"),
        ({"X-Forwarded-For": "2001:db8::1"}, "2001:db8::1 http"),
        ({"X-Real-Ip": "not an ip"}, "127.0.0.1 http"),
        ({"X-Forwarded-For": "<script>"}, "127.0.0.1 http"),
        ({"X-Scheme": "https"}, "127.0.0.1 https"),
        ({"X-Forwarded-Proto": "https"}, "127.0.0.1 https"),
        ({"X-Forwarded-Proto": "http, https"}, "127.0.0.1 https"),
        ({"X-Forwarded-Proto": "gopher"}, "127.0.0.1 http"),
    ],
)
def test_xheaders(io_loop: IOLoop, headers: dict[str, str], expected: str) -> None:
    async def main() -> None:
        async with serving(
            ip_and_protocol, xheaders=True, trusted_downstream=["10.0.0.98", "10.0.0.99"]
        ) as served:
            client = await RawClient.connect(served.port)
            fields = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            await client.send(f"GET / HTTP/1.1\r\n{fields}\r\n".encode())
            assert (await client.read_response()).body == expected.encode()
            # Applied to that request only.
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            assert (await client.read_response()).body == b"127.0.0.1 http"
            client.close()

    run(io_loop, main)


def test_xheaders_off_and_protocol_argument(io_loop: IOLoop) -> None:
    async def main() -> None:
        async with serving(ip_and_protocol, protocol="https") as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\nX-Real-Ip: 10.0.0.1\r\nX-Scheme: http\r\n\r\n")
            assert (await client.read_response()).body == b"127.0.0.1 https"
            client.close()

    run(io_loop, main)


# ---------------------------------------------------------------------------
# Taking the stream over (websocket-style)
# ---------------------------------------------------------------------------


class Upgrade(HTTPServerConnectionDelegate):
    """Answers 101, detaches and echoes lines on the raw stream."""

    def __init__(self, in_headers_received: bool) -> None:
        self.in_headers_received = in_headers_received
        self.closed: list[object] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def start_request(self, server_conn: object, request_conn: HTTPConnection) -> Any:
        app = self

        class Delegate(HTTPMessageDelegate):
            def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
                if app.in_headers_received:
                    app.switch(request_conn)

            def finish(self) -> None:
                if not app.in_headers_received:
                    app.switch(request_conn)

        return Delegate()

    def switch(self, connection: HTTPConnection) -> None:
        connection.write_headers(
            ResponseStartLine("HTTP/1.1", 101, "Switching Protocols"),
            HTTPHeaders({"Upgrade": "echo", "Connection": "Upgrade"}),
        )
        connection.finish()
        assert isinstance(connection, HTTP1Connection)
        stream = connection.detach()
        task = asyncio.ensure_future(self.echo(stream))
        self.tasks.add(task)

    async def echo(self, stream: IOStream) -> None:
        while True:
            line = await stream.read_until(b"\n")
            await stream.write(b"echo " + line)
            if line == b"bye\n":
                stream.close()
                return

    def on_close(self, server_conn: object) -> None:
        self.closed.append(server_conn)


@pytest.mark.parametrize("in_headers_received", [True, False])
def test_detach_after_101(io_loop: IOLoop, in_headers_received: bool) -> None:
    app = Upgrade(in_headers_received)

    async def main() -> None:
        async with serving(app) as served:
            client = await RawClient.connect(served.port)
            # The new protocol's first bytes arrive with the request.
            await client.send(
                b"GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst\n"
            )
            response = await client.read_response()
            assert response.status == 101
            assert await asyncio.wait_for(client.reader.readline(), 10) == b"echo first\n"
            await client.send(b"GET / HTTP/1.1\r\n")  # not HTTP any more
            assert (
                await asyncio.wait_for(client.reader.readline(), 10) == b"echo GET / HTTP/1.1\r\n"
            )
            await client.send(b"bye\n")
            assert await client.read_until_close() == b"echo bye\n"
            # Detached connections are not the server's any more.
            assert len(app.closed) == 1
            assert not served.server._connections
            await asyncio.gather(*app.tasks)

    run(io_loop, main)


# ---------------------------------------------------------------------------
# Shutting down, configuration, legacy interfaces
# ---------------------------------------------------------------------------


def test_close_all_connections(io_loop: IOLoop) -> None:
    app = Streaming()

    async def main() -> None:
        server = HTTPServer(app)
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        idle = await RawClient.connect(port)
        await idle.send(b"GET / HTTP/1.1\r\n\r\n")
        await idle.read_response()
        busy = await RawClient.connect(port)
        await busy.send(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        for _ in range(500):
            if len(app.delegates) == 2 and app.delegates[1].pieces:
                break
            await asyncio.sleep(0.01)
        server.stop()
        await server.close_all_connections()
        assert await idle.closed()
        assert await busy.closed()
        assert app.delegates[1].closed
        assert len(app.closed_connections) == 2

    run(io_loop, main)


def test_configurable(io_loop: IOLoop) -> None:
    class MyServer(HTTPServer):
        pass

    saved = HTTPServer._save_configuration()
    try:
        HTTPServer.configure(MyServer, xheaders=True)
        server = HTTPServer(echo)
        assert isinstance(server, MyServer)
        assert server.xheaders is True
    finally:
        HTTPServer._restore_configuration(saved)
    assert type(HTTPServer(echo)) is HTTPServer


def test_tornado4_positional_io_loop(io_loop: IOLoop) -> None:
    with pytest.warns(DeprecationWarning, match="io_loop"):
        server = HTTPServer(echo, False, io_loop, True)
    assert server.xheaders is True


def test_http_request_alias_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="HTTPServerRequest"):
        alias = httpserver.HTTPRequest
    assert alias is HTTPServerRequest
    assert "HTTPRequest" not in httpserver.__all__


def test_legacy_request_write_and_finish(io_loop: IOLoop) -> None:
    def handler(request: HTTPServerRequest) -> None:
        message = b"You requested " + request.uri.encode()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            request.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(message), message)
            )
            request.finish()

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
            assert (await client.read_response()).body == b"You requested /a"
            assert (await client.read_response()).body == b"You requested /b"
            client.close()

    run(io_loop, main)


def test_legacy_raw_write_warns(io_loop: IOLoop) -> None:
    caught: list[warnings.WarningMessage] = []

    def handler(request: HTTPServerRequest) -> None:
        connection = request.connection
        assert connection is not None
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            connection.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nraw")
        caught.extend(record)
        connection.finish()

    async def main() -> None:
        async with serving(handler) as served:
            client = await RawClient.connect(served.port)
            await client.send(b"GET / HTTP/1.1\r\n\r\n")
            assert (await client.read_until_close()).endswith(b"\r\n\r\nraw")

    run(io_loop, main)
    assert [w.category for w in caught] == [DeprecationWarning]


# ---------------------------------------------------------------------------
# Several processes
# ---------------------------------------------------------------------------

MULTI_PROCESS_SERVER = textwrap.dedent(
    """
    import os, sys
    from squall.httpserver import HTTPServer
    from squall.httputil import HTTPHeaders, ResponseStartLine
    from squall.ioloop import IOLoop

    def handle(request):
        body = str(os.getpid()).encode()
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", 200, "OK"),
            HTTPHeaders({"Content-Length": str(len(body))}),
            body,
        )
        request.connection.finish()

    server = HTTPServer(handle)
    server.bind(0, "127.0.0.1")
    port = next(iter(server._pending_sockets)).getsockname()[1]
    print(port, flush=True)
    server.start(2)
    IOLoop.current().start()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_bind_and_start_forks_processes(tmp_path: Any, parser: str) -> None:
    script = tmp_path / "server.py"
    script.write_text(MULTI_PROCESS_SERVER)
    env = {**os.environ, "SQUALL_NO_EXTENSIONS": "1" if parser == "python" else ""}
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, start_new_session=True, env=env
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        pids = set()
        for _ in range(20):
            conn = http_client(port)
            for _ in range(100):
                try:
                    conn.request("GET", "/")
                    break
                except ConnectionRefusedError:  # children still starting
                    conn.close()
                    conn = http_client(port)
                    import time

                    time.sleep(0.05)
            response = conn.getresponse()
            assert response.status == 200
            pids.add(int(response.read()))
            conn.close()
        assert pids
        assert process.pid not in pids  # the parent only supervises
    finally:
        os.killpg(process.pid, 9)
        process.wait(10)
        assert process.stdout is not None
        process.stdout.close()


# ---------------------------------------------------------------------------
# Unix sockets
# ---------------------------------------------------------------------------


def test_unix_socket(io_loop: IOLoop, tmp_path: Any) -> None:
    from squall.netutil import bind_unix_socket

    path = str(tmp_path / "http.sock")

    async def main() -> None:
        server = HTTPServer(ip_and_protocol)
        server.add_socket(bind_unix_socket(path))
        try:
            code, out, err = await run_curl("--unix-socket", path, "http://localhost/")
            assert (code, out) == (0, b"0.0.0.0 http"), err
        finally:
            server.stop()
            await server.close_all_connections()

    run(io_loop, main)
