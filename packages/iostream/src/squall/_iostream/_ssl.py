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
from typing import Any, cast

from squall._iostream import _legacy
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
        #: Called with the error if the handshake fails (`TCPServer` logs it).
        self._on_handshake_failure: Callable[[BaseException], object] | None = None
        self._raw_protocol: asyncio.BaseProtocol | None = None
        # The event loop's TLS protocol, once start_tls has installed it.
        self._tls_layer: asyncio.BaseProtocol | None = None
        self._watching_raw = False
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
        if transport is not None:
            ssl_object = transport.get_extra_info("ssl_object")
        else:
            # The TLS layer hands decrypted data on as soon as its handshake
            # completes, a loop iteration before start_tls returns the new
            # transport: a protocol layer fed that data may ask already.
            layer_info = getattr(self._tls_layer, "_get_extra_info", None)
            ssl_object = None if layer_info is None else layer_info("ssl_object")
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
        # A plain transport first, then the TLS layer over it (as start_tls
        # does), so that the stream knows the TCP transport beneath: written
        # data has reached the kernel only once both buffers are empty.
        early = _EarlyBytes()
        raw, _ = await self._loop.connect_accepted_socket(lambda: early, self._sock)
        if raw.is_closing():
            raise early.error or ConnectionResetError("connection lost before the TLS handshake")
        self._server_side = server_side
        self._server_hostname = server_hostname
        await self._start_tls(raw, early.take)

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
            _legacy.with_callback(self, future, callback, pass_result=False)
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
        hook = self._on_handshake_failure
        if hook is not None and not self._handshake_done and self.error is not None:
            self._on_handshake_failure = None
            hook(self.error)

    def _upgrade(
        self, transport: asyncio.Transport, take_leftover: Callable[[], bytes]
    ) -> asyncio.Future[Any]:
        """Run the handshake over `transport` (`IOStream.start_tls`); return a Future of self.

        `take_leftover` returns the bytes the clear-text stream has already
        read past its last read: the first bytes of the handshake.
        """
        future = self._connect_future = self._loop.create_future()
        future.add_done_callback(self._on_upgrade_done)
        self._handed_over = True
        task = self._loop.create_task(self._start_tls(transport, take_leftover))
        self._establishing = task
        task.add_done_callback(self._on_established)
        return future

    def _on_upgrade_done(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            # Nobody will get this stream: abort the handshake (cancelling
            # the task that runs it) and close the connection.
            self.close()

    async def _start_tls(self, raw: asyncio.Transport, take_leftover: Callable[[], bytes]) -> None:
        """Put the TLS layer over the plain transport `raw` and run the handshake."""
        server_side = bool(self._server_side)
        context = ssl_context(self._ssl_options, server_side)
        upgrade = self._loop.start_tls(
            raw,
            self._protocol,
            context,
            server_side=server_side,
            server_hostname=None if server_side else self._server_hostname,
        )

        def installed() -> None:
            # start_tls has just put its TLS protocol on `raw` (it does so
            # before it first waits): hand it the bytes the previous
            # protocol had received, ahead of any others.
            self._tls_layer = raw.get_protocol()
            leftover = take_leftover()
            if leftover:
                _feed(raw.get_protocol(), leftover)

        new = await drive_with_hook(upgrade, installed)
        if new is None:
            raise ConnectionResetError("connection lost during the TLS handshake")
        # Pause the TLS layer whenever the TCP transport holds anything, so
        # that what is unsent stays visible in the TLS transport's buffer.
        raw.set_write_buffer_limits(high=0, low=0)
        self._raw_transport = raw
        self._raw_protocol = raw.get_protocol()
        self._set_transport(new)

    # -- knowing when written data has reached the kernel --------------------------

    def _on_resume_writing(self) -> None:
        transport = self._transport
        raw = self._raw_transport
        if transport is None or raw is None:
            return
        if transport.get_write_buffer_size():
            return  # the TLS layer calls resume_writing once it has handed everything on
        if raw.get_write_buffer_size():
            # Only the TCP transport's resume_writing (to the TLS layer) tells
            # when it drains: listen in on it until then.
            if not self._watching_raw and self._raw_protocol is not None:
                self._watching_raw = True
                raw.set_protocol(_DrainWatch(self._raw_protocol, self._on_raw_drained))
            return
        super()._on_resume_writing()

    def _on_raw_drained(self) -> None:
        raw = self._raw_transport
        if self._watching_raw and raw is not None and self._raw_protocol is not None:
            self._watching_raw = False
            raw.set_protocol(self._raw_protocol)  # back to the event loop's fast path
            self._on_resume_writing()


class _EarlyBytes(asyncio.Protocol):
    """The protocol of a TLS stream's TCP transport until the TLS layer takes over."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.error: Exception | None = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.error = exc

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


class _DrainWatch(asyncio.BufferedProtocol):
    """Stands in for the TLS layer on its TCP transport, to hear when that drains.

    Every event goes straight to the TLS protocol (its bound methods are
    installed on this instance); ``resume_writing`` also tells the stream.
    """

    def __init__(self, inner: asyncio.BaseProtocol, on_drained: Callable[[], None]) -> None:
        for name in (
            "get_buffer",
            "buffer_updated",
            "data_received",
            "eof_received",
            "connection_lost",
            "pause_writing",
        ):
            method = getattr(inner, name, None)
            if method is not None:
                setattr(self, name, method)
        self._inner = inner
        self._on_drained = on_drained

    def resume_writing(self) -> None:
        self._inner.resume_writing()
        self._on_drained()


def _feed(protocol: asyncio.BaseProtocol, data: bytes) -> None:
    """Deliver `data` to `protocol` as if its transport had read it."""
    if hasattr(protocol, "get_buffer"):  # asyncio.BufferedProtocol, or uvloop's TLS protocol
        buffered = cast(asyncio.BufferedProtocol, protocol)
        view = memoryview(data)
        while view:
            buf = memoryview(buffered.get_buffer(len(view)))
            count = min(len(buf), len(view))
            buf[:count] = view[:count]
            buffered.buffer_updated(count)
            view = view[count:]
    else:
        protocol.data_received(data)  # type: ignore[attr-defined]
