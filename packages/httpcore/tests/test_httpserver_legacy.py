"""Tornado 3's ``httpserver.HTTPConnection``: a TCPServer serving HTTP with a callback."""

from __future__ import annotations

import asyncio
import socket
import warnings
from typing import Any

import pytest
from httpserver_helpers import http_client

from squall.httputil import HTTPServerRequest
from squall.ioloop import IOLoop
from squall.iostream import IOStream
from squall.netutil import bind_sockets
from squall.tcpserver import TCPServer


def fetch_twice(port: int) -> list[bytes]:
    conn = http_client(port)
    bodies = []
    for path in ("/one", "/two"):
        conn.request("GET", path)
        bodies.append(conn.getresponse().read())
    conn.close()
    return bodies


def test_tornado3_connection_serves_a_stream_with_raw_writes(io_loop: IOLoop) -> None:
    from squall.httpserver import HTTPConnection

    closed: list[bool] = []
    connections: list[HTTPConnection] = []

    def handle_request(request: HTTPServerRequest) -> None:
        message = f"You requested {request.uri}\n".encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(message)}\r\n\r\n".encode()
        # Tornado 3 style: the callback writes the raw response through the connection.
        connections[0].write(head + message)
        connections[0].finish()

    class Server(TCPServer):
        def handle_stream(self, stream: IOStream, address: Any) -> None:
            with pytest.warns(DeprecationWarning, match="HTTPConnection is deprecated"):
                conn = HTTPConnection(stream, address, handle_request)
            conn.set_close_callback(lambda: closed.append(True))
            connections.append(conn)

    async def main() -> None:
        server = Server()
        sockets = bind_sockets(0, "127.0.0.1")
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        bodies = await asyncio.wait_for(loop.run_in_executor(None, fetch_twice, port), 20)
        assert bodies == [b"You requested /one\n", b"You requested /two\n"]
        assert len(connections) == 1  # keep-alive: one connection served both
        for _ in range(200):
            if closed:
                break
            await asyncio.sleep(0.01)
        assert closed == [True]
        server.stop()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        io_loop.run_sync(main, timeout=30)


def test_tornado3_connection_without_a_request_refuses_to_write(io_loop: IOLoop) -> None:
    from squall.httpserver import HTTPConnection

    async def main() -> None:
        stream = IOStream(socket.socket())
        with pytest.warns(DeprecationWarning, match="use HTTPServer"):
            conn = HTTPConnection(stream, ("127.0.0.1", 0), lambda request: None)
        with pytest.raises(RuntimeError, match="no request"):
            conn.finish()
        stream.close()

    io_loop.run_sync(main, timeout=30)
