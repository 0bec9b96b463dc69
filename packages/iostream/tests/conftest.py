"""Fixtures shared by squall-iostream's tests.

- ``io_loop``: a fresh IOLoop of the configured class (asyncio, or uvloop
  when the suite runs with ``SQUALL_IOLOOP=uvloop``), closed afterwards.
  (The same fixture as squall-ioloop's; squall-testing's pytest plugin will
  provide it to every package once it lands.)
- ``tls_ca``: a throw-away certificate authority (trustme) for the session,
  with a certificate for ``localhost``, ``127.0.0.1`` and ``::1``;
- ``server_ssl_context`` / ``client_ssl_context``: contexts that trust it;
- ``stream_pair``: connected (reader, writer) streams of every kind (TCP over
  IPv4 and IPv6, unix socket, TLS, pipe), for the iostream conformance suite.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
import trustme

if TYPE_CHECKING:
    from squall.ioloop import IOLoop
    from squall.iostream import BaseIOStream


@pytest.fixture
def io_loop() -> Iterator[IOLoop]:
    from squall.ioloop import IOLoop

    loop = IOLoop()
    try:
        yield loop
    finally:
        loop.close(all_fds=True)


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_server_cert(tls_ca: trustme.CA) -> trustme.LeafCert:
    return tls_ca.issue_cert("localhost", "127.0.0.1", "::1")


@pytest.fixture
def server_ssl_context(tls_server_cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_server_cert.configure_cert(context)
    return context


@pytest.fixture
def client_ssl_context(tls_ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    tls_ca.configure_trust(context)
    return context


# -- connected stream pairs for the conformance suite ------------------------

#: The kinds of stream `stream_pair` makes: TCP over IPv4 and IPv6 loopback,
#: a unix socket, TLS over TCP (trustme CA) and a pipe.
STREAM_KINDS = ["tcp", "tcp6", "unix", "tls", "pipe"]


class StreamPair:
    """Two connected streams: `writer` sends to `reader`.

    For sockets both directions work; a pipe has only this one.
    """

    def __init__(self, kind: str, reader: BaseIOStream, writer: BaseIOStream) -> None:
        self.kind = kind
        self.reader = reader
        self.writer = writer

    @property
    def is_socket(self) -> bool:
        return self.kind != "pipe"

    def reset_writer(self) -> None:
        """Make the writer's end go away with a TCP reset (RST), as a crashed peer does."""
        import struct

        sock = self.writer.socket  # type: ignore[attr-defined]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Abort: no TLS close_notify, no flushing; SO_LINGER 0 turns the close into a reset.
        self.writer._transport.abort()  # type: ignore[union-attr]


StreamPairFactory = Callable[..., Awaitable[StreamPair]]


@pytest.fixture(params=STREAM_KINDS)
def stream_pair(
    request: pytest.FixtureRequest,
    io_loop: IOLoop,
    server_ssl_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
    tmp_path: pathlib.Path,
) -> Iterator[StreamPairFactory]:
    """An async factory of connected `StreamPair` s of one kind (the parameter).

    ``await stream_pair(**reader_kwargs)`` (plus ``writer_kwargs={...}``)
    must run on `io_loop`; the streams are closed after the test.
    """
    from squall.iostream import IOStream, PipeIOStream, SSLIOStream

    kind: str = request.param
    made: list[StreamPair] = []

    async def make(
        writer_kwargs: dict[str, Any] | None = None, **reader_kwargs: Any
    ) -> StreamPair:
        writer_kwargs = writer_kwargs or {}
        loop = asyncio.get_running_loop()
        reader: BaseIOStream
        writer: BaseIOStream
        if kind == "pipe":
            r, w = os.pipe()
            reader, writer = PipeIOStream(r, **reader_kwargs), PipeIOStream(w, **writer_kwargs)
        else:
            if kind == "unix":
                path = str(tmp_path / f"s{len(made)}.sock")
                listener = socket.socket(socket.AF_UNIX)
                listener.bind(path)
                listener.listen()
                address: Any = path
                client = socket.socket(socket.AF_UNIX)
            else:
                host = "::1" if kind == "tcp6" else "127.0.0.1"
                listener = socket.create_server((host, 0), family=_family(host))
                address = listener.getsockname()[:2]
                client = socket.socket(_family(host))
            listener.setblocking(False)
            with listener:
                if kind == "tls":
                    writer = SSLIOStream(client, ssl_options=client_ssl_context, **writer_kwargs)
                    connected = writer.connect(address, server_hostname="localhost")  # type: ignore[attr-defined]
                else:
                    writer = IOStream(client, **writer_kwargs)
                    connected = writer.connect(address)  # type: ignore[attr-defined]
                conn, _ = await loop.sock_accept(listener)
            if kind == "tls":
                reader = SSLIOStream(
                    conn, ssl_options=server_ssl_context, server_side=True, **reader_kwargs
                )
                await reader.wait_for_handshake()  # type: ignore[attr-defined]
            else:
                reader = IOStream(conn, **reader_kwargs)
            await connected
        # Streams attach to their transports on a later loop iteration; the
        # suite's white-box checks (transport paused...) want them attached.
        while reader._transport is None or writer._transport is None:
            await asyncio.sleep(0)
        pair = StreamPair(kind, reader, writer)
        made.append(pair)
        return pair

    yield make

    async def close_all() -> None:
        for pair in made:
            pair.reader.close()
            pair.writer.close()
        for _ in range(5):  # let the transports finish closing
            await asyncio.sleep(0)

    if not io_loop.asyncio_loop.is_closed():
        io_loop.run_sync(close_all)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
