"""Fixtures and helpers shared by the HTTP client tests.

The behavioural suite (test_httpclient_behaviour*.py) runs every test over
each implementation; the simple client's own tests (test_simple_httpclient*.py)
over `SimpleAsyncHTTPClient` alone.  A module takes its fixtures by importing
them (``from httpclient_helpers import harness_fixture  # noqa: F401``; the
functions have other names than their fixtures, as in httpserver_helpers.py):

- ``harness`` (``harness_fixture``): a `Harness` for each implementation of
  `IMPLEMENTATIONS` (the test runs once per client), closed afterwards;
- ``harness`` (``simple_harness_fixture``): a `SimpleHarness`, for the tests
  of the simple client alone;
- ``ca_file`` (``ca_file_fixture``): the test CA's certificate in a PEM file.

`SquallServer` is squall's own HTTPServer, answering with the request's
method, target and body; the scripted peers are in httpcore_peers.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from httpcore_peers import Handler, Proxy, Server

from squall.httpclient import AsyncHTTPClient
from squall.ioloop import IOLoop
from squall.simple_httpclient import SimpleAsyncHTTPClient


class SquallServer:
    """squall.httpserver.HTTPServer answering with the request's method, target and body."""

    def __init__(self, **kwargs: Any) -> None:
        from squall.httpserver import HTTPServer
        from squall.netutil import bind_sockets

        self.streams: set[int] = set()
        self.server = HTTPServer(self.handle, **kwargs)
        sockets = bind_sockets(0, "127.0.0.1")
        self.server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        self.scheme = "https" if kwargs.get("ssl_options") else "http"

    def handle(self, request: Any) -> None:
        from squall.httputil import HTTPHeaders, ResponseStartLine

        connection = request.connection
        self.streams.add(id(connection.stream))
        body = f"{request.method} {request.uri} ".encode() + request.body
        if request.uri.startswith("/redirect"):
            fields = HTTPHeaders({"Location": "/final", "Content-Length": "0"})
            connection.write_headers(ResponseStartLine("HTTP/1.1", 302, ""), fields, b"")
        elif request.uri.startswith("/chunked"):
            connection.write_headers(ResponseStartLine("HTTP/1.1", 200, ""), HTTPHeaders())
            for _ in range(3):
                connection.write(body)
        else:
            fields = HTTPHeaders({"Content-Length": str(len(body))})
            connection.write_headers(ResponseStartLine("HTTP/1.1", 200, ""), fields, body)
        connection.finish()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    async def close(self) -> None:
        self.server.stop()
        await self.server.close_all_connections()


# ---------------------------------------------------------------------------
# The implementations, and the harness
# ---------------------------------------------------------------------------

IMPLEMENTATIONS = ["simple", "curl"]


def client_class(kind: str) -> type[AsyncHTTPClient]:
    if kind == "simple":
        return SimpleAsyncHTTPClient
    from squall.curl_httpclient import CurlAsyncHTTPClient

    return CurlAsyncHTTPClient


class Harness:
    """The clients (of one implementation) and the peers of one test, closed together."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.clients: list[AsyncHTTPClient] = []
        self.peers: list[Any] = []

    def client(self, **kwargs: Any) -> AsyncHTTPClient:
        client = client_class(self.kind)(force_instance=True, **kwargs)
        self.clients.append(client)
        return client

    async def server(self, handler: Handler, **kwargs: Any) -> Server:
        server = await Server(handler, **kwargs).start()
        self.peers.append(server)
        return server

    async def proxy(self, **kwargs: Any) -> Proxy:
        proxy = await Proxy(**kwargs).start()
        self.peers.append(proxy)
        return proxy

    def squall_server(self, **kwargs: Any) -> SquallServer:
        server = SquallServer(**kwargs)
        self.peers.append(server)
        return server

    async def close(self) -> None:
        for client in self.clients:
            client.close()
        for client in self.clients:
            await client._wait_closed()
        for peer in self.peers:
            await peer.close()
        for _ in range(3):
            await asyncio.sleep(0)


class SimpleHarness(Harness):
    """A `Harness` of the simple client, whose clients are typed as such (tests look inside)."""

    def __init__(self) -> None:
        super().__init__("simple")

    def client(self, **kwargs: Any) -> SimpleAsyncHTTPClient:
        client = SimpleAsyncHTTPClient(force_instance=True, **kwargs)
        self.clients.append(client)
        return client


def closed_after(io_loop: IOLoop, harness: Harness) -> Iterator[Harness]:
    try:
        yield harness
    finally:
        io_loop.run_sync(harness.close, timeout=30)


@pytest.fixture(name="harness", params=IMPLEMENTATIONS)
def harness_fixture(request: pytest.FixtureRequest, io_loop: IOLoop) -> Iterator[Harness]:
    """A harness of each client implementation: the test runs once per client."""
    yield from closed_after(io_loop, Harness(request.param))


@pytest.fixture(name="harness")
def simple_harness_fixture(io_loop: IOLoop) -> Iterator[Harness]:
    """A harness of the simple client alone."""
    yield from closed_after(io_loop, SimpleHarness())


@pytest.fixture(name="ca_file")
def ca_file_fixture(tls_ca: trustme.CA, tmp_path: Any) -> str:
    path = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)
