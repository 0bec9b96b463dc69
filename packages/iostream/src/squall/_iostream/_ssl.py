"""`SSLIOStream`: a TLS stream, on the event loop's TLS transport.

The TLS layer is asyncio's (or uvloop's) ``ssl=`` transport: a server-side
stream is created with ``loop.connect_accepted_socket(..., ssl=context)``,
a client-side one with ``loop.create_connection(..., sock=sock, ssl=context,
server_hostname=...)``, and `IOStream.start_tls` uses ``loop.start_tls``.
Each completes the handshake before the stream's transport exists, so reads
wait for the handshake and writes are buffered until it completes.

A failed handshake closes the stream: ``error`` holds the ``ssl.SSLError``
(or the OSError that interrupted it) and pending Futures, including
`SSLIOStream.wait_for_handshake`'s and `IOStream.connect`'s, fail with
`StreamClosedError` whose ``real_error`` is that exception.
"""

from __future__ import annotations

import asyncio
import socket as _socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any

from squall._iostream._errors import closed_error
from squall._iostream._socket import IOStream, drive_with_hook
from squall.netutil import ssl_options_to_context

__all__ = ["SSLIOStream", "ssl_context"]

_SSLOptions = Mapping[str, Any] | ssl.SSLContext


def ssl_context(ssl_options: _SSLOptions | None, server_side: bool) -> ssl.SSLContext:
    """Return the `ssl.SSLContext` for `ssl_options` on the given side.

    None means the default client context: the system's CA certificates,
    with certificate and host name verification.

    :raises ValueError: for None on the server side (a server needs a certificate).
    """
    if ssl_options is None:
        if server_side:
            raise ValueError("a server-side TLS stream needs ssl_options (a certificate)")
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    return ssl_options_to_context(ssl_options, server_side=server_side)


#: Attributes of the TLS connection that `SSLIOStream.socket` offers as an
#: ``ssl.SSLSocket`` would (Tornado-era code calls them on ``stream.socket``).
_TLS_ATTRIBUTES = frozenset(
    {
        "cipher",
        "compression",
        "context",
        "get_channel_binding",
        "getpeercert",
        "selected_alpn_protocol",
        "selected_npn_protocol",
        "server_hostname",
        "server_side",
        "session",
        "session_reused",
        "shared_ciphers",
        "version",
    }
)


class _TLSSocketView:
    """The socket of an `SSLIOStream`, with the TLS connection's ``ssl.SSLSocket`` methods.

    ``getpeercert()``, ``selected_alpn_protocol()``, ``cipher()``... come
    from the transport's ``ssl.SSLObject``; everything else from the socket.
    """

    def __init__(self, sock: _socket.socket, ssl_object: ssl.SSLObject) -> None:
        self._sock = sock
        self._ssl_object = ssl_object

    def __getattr__(self, name: str) -> Any:
        if name in _TLS_ATTRIBUTES:
            return getattr(self._ssl_object, name)
        return getattr(self._sock, name)

    def __repr__(self) -> str:
        return f"<TLS {self._sock!r}>"


class SSLIOStream(IOStream):
    """A TLS stream over a stream socket.

    ``ssl_options`` is an ``ssl.SSLContext`` or a dict of the old
    ``ssl.wrap_socket`` arguments (certfile, keyfile, cert_reqs, ca_certs,
    ciphers, ssl_version); on the client side, None means the system's
    CA certificates with host name verification.

    The socket may be unconnected (then `connect` connects it, verifying the
    server's certificate against ``server_hostname``, which defaults to the
    host connected to) or connected: by default the stream is then the
    server side of the connection (``server_side=False`` makes it the
    client, with ``server_hostname``).  A socket wrapped with
    ``ssl_wrap_socket(..., do_handshake_on_connect=False)`` (the Tornado 4
    way) is accepted too: its context, side and host name are used.

    Once the handshake is complete (see `wait_for_handshake`), ``socket``
    also answers the ``ssl.SSLSocket`` questions: ``getpeercert()``,
    ``selected_alpn_protocol()``, ``cipher()``, ``version()``...
    """

    __module__ = "squall.iostream"

    # TLS transports count only what has not reached the TCP transport yet,
    # and pause their protocol when that count is >= high (not > high).
    _WRITE_HIGH_WATER = 1
    # TLS has no half-close: the peer's close_notify ends the connection.
    _KEEP_OPEN_ON_EOF = False

    def __init__(
        self,
        socket: _socket.socket,
        *args: Any,
        ssl_options: _SSLOptions | None = None,
        server_side: bool | None = None,
        server_hostname: str | None = None,
        _attach: bool = True,
        **kwargs: Any,
    ) -> None:
        if isinstance(socket, ssl.SSLSocket):
            # Wrapped but not yet handshaken: take its settings, and hand the
            # bare socket to the event loop's TLS transport.
            if ssl_options is None:
                ssl_options = socket.context
            if server_side is None:
                server_side = socket.server_side
            if server_hostname is None:
                server_hostname = socket.server_hostname
            socket = _socket.socket(socket.family, socket.type, socket.proto, socket.detach())
        self._ssl_options = ssl_options
        self._server_side = server_side
        self._server_hostname = server_hostname
        self._attach_now = _attach
        self._handshake_future: asyncio.Future[Any] | None = None
        self._handshake_done = False
        super().__init__(socket, *args, **kwargs)

    @property
    def socket(self) -> Any:
        """The stream's socket; after the handshake, with ``ssl.SSLSocket``'s TLS methods."""
        transport = self._transport
        if transport is not None:
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                return _TLSSocketView(self._sock, ssl_object)
        return self._sock

    def get_ssl_certificate(self, binary_form: bool = False) -> Any:
        """Return the peer's certificate (see ``ssl.SSLSocket.getpeercert``), or None.

        None before the handshake completes or if the peer sent none.
        """
        transport = self._transport
        ssl_object = None if transport is None else transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
        return ssl_object.getpeercert(binary_form)

    def _attach_connected(self) -> None:
        if self._attach_now:
            server_side = True if self._server_side is None else self._server_side
            self._establish(None, server_side, self._server_hostname)

    def connect(
        self,
        address: Any,
        callback: Callable[[], object] | None = None,
        server_hostname: str | None = None,
    ) -> asyncio.Future[Any]:
        """Connect, then complete the TLS handshake; return a Future of this stream.

        The server's certificate is verified against `server_hostname`
        (which is also sent for SNI), by default the host of `address`,
        unless the ssl_options disable verification.  See `IOStream.connect`.
        """
        if server_hostname is None:
            server_hostname = self._server_hostname
        if server_hostname is None and isinstance(address, tuple) and isinstance(address[0], str):
            server_hostname = address[0]
        self._server_side = False
        return super().connect(address, callback, server_hostname)

    async def _create_transport(self, server_side: bool, server_hostname: str | None) -> None:
        context = ssl_context(self._ssl_options, server_side)
        factory = self._protocol_factory
        if server_side:
            await self._loop.connect_accepted_socket(factory, self._sock, ssl=context)
        else:
            await self._loop.create_connection(
                factory, sock=self._sock, ssl=context, server_hostname=server_hostname
            )

    def _protocol_factory(self) -> asyncio.Protocol:
        return self._protocol

    def wait_for_handshake(
        self, callback: Callable[[], object] | None = None
    ) -> asyncio.Future[Any]:
        """Return a Future that resolves to this stream once the TLS handshake is complete.

        For server-side streams and after `IOStream.start_tls` (`connect`
        already waits for the handshake).  Afterwards ``socket`` gives the
        peer's certificate and the negotiated ALPN protocol.  If the
        handshake fails, the Future fails with `StreamClosedError`
        (``real_error`` is the ``ssl.SSLError``).  May be called only once.
        The deprecated `callback` is called with no arguments on success.

        :raises RuntimeError: if called a second time.
        """
        if self._handshake_future is not None:
            raise RuntimeError("Already waiting")
        future = self._handshake_future = self._loop.create_future()
        if self._handshake_done:
            future.set_result(self)
        elif self.closed():
            future.set_exception(closed_error(self.error))
            future.exception()
        if callback is not None:
            self._with_callback(future, callback)
        return future

    def _on_transport_ready(self) -> None:
        self._handshake_done = True
        future = self._handshake_future
        if future is not None and not future.done():
            future.set_result(self)
        super()._on_transport_ready()

    def _signal_closed(self) -> None:
        super()._signal_closed()
        future = self._handshake_future
        if future is not None and not future.done():
            future.set_exception(closed_error(self.error))
            future.exception()

    def _upgrade(self, transport: asyncio.Transport, leftover: bytes) -> asyncio.Future[Any]:
        """Run the handshake over `transport` (`IOStream.start_tls`); return a Future of self.

        `leftover` holds bytes the clear-text stream had already read past
        its last read: the first bytes of the handshake.
        """
        future = self._connect_future = self._loop.create_future()
        self._handed_over = True
        task = self._loop.create_task(self._start_tls(transport, leftover))
        self._establishing = task
        task.add_done_callback(self._on_established)
        return future

    async def _start_tls(self, transport: asyncio.Transport, leftover: bytes) -> None:
        server_side = bool(self._server_side)
        context = ssl_context(self._ssl_options, server_side)
        upgrade = self._loop.start_tls(
            transport,
            self._protocol,
            context,
            server_side=server_side,
            server_hostname=None if server_side else self._server_hostname,
        )
        if leftover:
            # start_tls installs its TLS protocol on the transport before it
            # first waits: feed it the early bytes then, ahead of any others.
            new = await drive_with_hook(upgrade, lambda: _feed(transport, leftover))
        else:
            new = await upgrade
        if new is None:
            raise ConnectionResetError("connection lost during the TLS handshake")
        self._set_transport(new)


def _feed(transport: asyncio.Transport, data: bytes) -> None:
    """Deliver `data` to `transport`'s protocol as if the transport had read it."""
    protocol = transport.get_protocol()
    if isinstance(protocol, asyncio.BufferedProtocol):
        view = memoryview(data)
        while view:
            buf = memoryview(protocol.get_buffer(len(view)))
            count = min(len(buf), len(view))
            buf[:count] = view[:count]
            protocol.buffer_updated(count)
            view = view[count:]
    else:
        protocol.data_received(data)  # type: ignore[attr-defined]
