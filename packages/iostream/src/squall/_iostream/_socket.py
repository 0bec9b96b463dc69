"""`IOStream`: a stream over a stream socket (TCP or unix), on an asyncio transport.

The socket is handed to the event loop's transport machinery
(``loop.connect_accepted_socket``; ``loop.sock_connect`` first for
`IOStream.connect`), so a C event loop such as uvloop does the I/O.
`start_tls` upgrades the transport in place with ``loop.start_tls``.
"""

from __future__ import annotations

import asyncio
import errno
import socket as _socket
import ssl
import types
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from squall._iostream import _legacy
from squall._iostream._base import BaseIOStream
from squall._iostream._errors import StreamClosedError, closed_error

if TYPE_CHECKING:
    from squall._iostream._ssl import SSLIOStream

__all__ = ["IOStream"]

_Address = Any  # whatever socket.connect takes for the socket's family

_TCP_FAMILIES = (_socket.AF_INET, _socket.AF_INET6)


class IOStream(BaseIOStream):
    """A stream over a stream socket (TCP or unix).

    The `socket` may be connected (for example the result of
    ``socket.accept``) or not, in which case `connect` connects it.  The
    stream owns the socket from now on: closing the stream closes it.
    TCP sockets get ``TCP_NODELAY`` (see `set_nodelay`), as the event
    loops' own TCP transports do.

    A very simple HTTP client::

        import socket
        from squall.ioloop import IOLoop
        from squall.iostream import IOStream

        async def main():
            stream = IOStream(socket.socket())
            await stream.connect(("example.com", 80))
            await stream.write(b"GET / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n")
            header_data = await stream.read_until(b"\\r\\n\\r\\n")
            body = await stream.read_until_close()
            stream.close()

        IOLoop.current().run_sync(main)
    """

    __module__ = "squall.iostream"

    _OWN_TRANSPORT = True

    def __init__(self, socket: _socket.socket, *args: Any, **kwargs: Any) -> None:
        self._sock = socket
        super().__init__(*args, **kwargs)
        socket.setblocking(False)
        self._handed_over = False  # the loop's transport machinery owns the socket
        self._establishing: asyncio.Task[None] | None = None
        self._connect_future: asyncio.Future[Any] | None = None
        if _is_connected(socket):
            self._attach_connected()
        else:
            error = socket.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
            if error:
                # Connected once, but already reset: fail like a read would.
                self.close(exc_info=ConnectionResetError(error, "connection lost"))

    @property
    def socket(self) -> Any:
        """The stream's socket (owned by the stream: do not read, write or close it)."""
        return self._sock

    def _attach_connected(self) -> None:
        self._establish(None, server_side=True, server_hostname=None)

    # -- methods for subclasses ------------------------------------------------

    def fileno(self) -> int:
        """Return the socket's file descriptor."""
        return self._sock.fileno()

    def close_fd(self) -> None:
        """Close the socket (`close` does this; call `close` instead)."""
        self._sock.close()

    def write_to_fd(self, data: memoryview) -> int:
        """Send `data` on the socket directly, bypassing the stream's buffer."""
        return self._sock.send(data)

    def read_from_fd(self, buf: bytearray | memoryview | None = None) -> bytes | int | None:
        """Receive from the socket directly, bypassing the stream's buffer.

        Returns None if nothing was ready; with `buf`, the number of bytes
        received into it; otherwise the bytes received.
        """
        try:
            if buf is not None:
                return self._sock.recv_into(buf)
            return self._sock.recv(self.read_chunk_size)
        except BlockingIOError:
            return None

    def get_fd_error(self) -> Exception | None:
        """Return the socket's pending error (``SO_ERROR``) as an OSError, or None."""
        try:
            code = self._sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
        except OSError as exc:
            return exc
        return OSError(code, _strerror(code)) if code else None

    def set_nodelay(self, value: bool) -> None:
        """Set ``TCP_NODELAY`` (disable Nagle's algorithm) on a TCP socket.

        Data is then sent as soon as possible, even when that costs extra
        packets.  squall's TCP streams start with it set (each `write` is
        sent at once; combine small writes rather than turning it off).
        Does nothing for other sockets or once the stream is closed.
        """
        sock = self._sock
        if sock.family not in _TCP_FAMILIES or self.closed():
            return
        try:
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1 if value else 0)
        except OSError as exc:
            # The connection may already be gone (EINVAL on some systems).
            if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ECONNRESET):
                raise

    # -- connecting ----------------------------------------------------------------

    def connect(
        self,
        address: _Address,
        callback: Callable[[], object] | None = None,
        server_hostname: str | None = None,
    ) -> asyncio.Future[Any]:
        """Connect the (unconnected) socket to `address`; return a Future of this stream.

        `address` is what ``socket.connect`` takes for the socket's family;
        host names are resolved asynchronously, but `squall.tcpclient`'s
        ``TCPClient`` is the better way to connect by name.  It is safe to
        `write` while the connection is pending: the data is sent once it
        is established.  With `SSLIOStream`, `server_hostname` is the name
        used for certificate verification and SNI, and the Future resolves
        after the TLS handshake.

        On failure the stream is closed (``error`` holds the cause) and the
        Future fails with `StreamClosedError` (its ``real_error`` too).
        The deprecated `callback` is called with no arguments on success.
        """
        if self._connect_future is not None or self._establishing is not None:
            raise RuntimeError("IOStream.connect called on a connected or connecting stream")
        if self.closed():
            raise StreamClosedError(self.error)
        future = self._connect_future = self._loop.create_future()
        self._establish(address, server_side=False, server_hostname=server_hostname)
        if callback is not None:
            _legacy.with_callback(self, future, callback, pass_result=False)
        return future

    def _establish(
        self, address: _Address | None, server_side: bool, server_hostname: str | None
    ) -> None:
        """Connect (if `address`) and create the transport, in a task."""
        task = self._loop.create_task(
            self._establish_transport(address, server_side, server_hostname)
        )
        self._establishing = task
        task.add_done_callback(self._on_established)

    async def _establish_transport(
        self, address: _Address | None, server_side: bool, server_hostname: str | None
    ) -> None:
        if address is not None:
            await self._loop.sock_connect(self._sock, address)
        if self._sock.family in _TCP_FAMILIES:
            # Every write is sent at once (one send per write call): Nagle's
            # algorithm would hold back the small ones behind unacknowledged
            # data, for up to the peer's delayed-ACK time (40 ms on Linux).
            # uvloop sets this on its TCP transports; asyncio only on sockets
            # created with an explicit proto, so set it here for both.
            self._sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        self._handed_over = True
        await self._create_transport(server_side, server_hostname)

    async def _create_transport(self, server_side: bool, server_hostname: str | None) -> None:
        """Wrap the connected socket in a transport bound to this stream's protocol."""
        await self._loop.connect_accepted_socket(lambda: self._protocol, self._sock)

    def _on_established(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            # close() was called meanwhile; if the loop had the socket, it
            # closed it when the task was cancelled.
            if not self._handed_over:
                self._sock.close()
            return
        exc = task.exception()
        if exc is not None:
            if not self._handed_over:
                self._sock.close()
            self.close(exc_info=exc)
            return
        self._on_transport_ready()

    def _on_transport_ready(self) -> None:
        """The connection (and, for TLS, the handshake) is complete."""
        future = self._connect_future
        if future is not None and not future.done():
            if self.closed():
                future.set_exception(closed_error(self.error))
                future.exception()
            else:
                future.set_result(self)

    def close_fd_if_unattached(self) -> None:
        if self._transport is not None:
            return  # the transport owns the socket (and flushes on close)
        task = self._establishing
        if task is not None and not task.done():
            if task is not asyncio.current_task(self._loop):
                task.cancel()
        elif not self._handed_over:
            self._sock.close()

    def _signal_closed(self) -> None:
        super()._signal_closed()
        future = self._connect_future
        if future is not None and not future.done():
            future.set_exception(closed_error(self.error))
            future.exception()  # nobody need retrieve it

    # -- TLS -------------------------------------------------------------------

    def start_tls(
        self,
        server_side: bool,
        ssl_options: dict[str, Any] | ssl.SSLContext | None = None,
        server_hostname: str | None = None,
    ) -> asyncio.Future[SSLIOStream]:
        """Convert this stream to an `SSLIOStream`; return a Future of the new stream.

        For protocols that start in clear text and switch to TLS (such as
        SMTP's STARTTLS).  The stream must be idle: no pending read or
        write.  `ssl_options` is an ``ssl.SSLContext`` or a dict of
        ``ssl.wrap_socket``-style options; client-side certificates are
        verified against `server_hostname` unless the options say otherwise.
        The Future resolves once the handshake is complete; if it fails,
        the Future fails with `StreamClosedError` (``real_error`` holding
        the ``ssl.SSLError``).  Cancelling the Future aborts the handshake
        and closes the connection.

        After this call the original stream must not be used.  Its close
        callback moves to the new stream.

        :raises ValueError: if the stream has a pending read or write.
        :raises StreamClosedError: if the stream is closed.
        """
        from squall._iostream._ssl import SSLIOStream, ssl_context

        if self.reading() or self.writing() or self._write_waiters:
            raise ValueError("IOStream is not idle; cannot convert to SSL")
        if self.closed():
            raise StreamClosedError(self.error)
        transport = self._transport
        if transport is None:
            raise ValueError("IOStream is not connected; cannot convert to SSL")
        context = ssl_context(ssl_options, server_side)
        new = SSLIOStream(
            self._sock,
            ssl_options=context,
            server_side=server_side,
            server_hostname=server_hostname,
            max_buffer_size=self.max_buffer_size,
            read_chunk_size=self.read_chunk_size,
            max_write_buffer_size=self.max_write_buffer_size,
            _attach=False,
        )
        new._close_callback = self._close_callback
        # This stream is done with, without closing the transport it hands on.
        self._close_callback = None
        self._closed = True
        self._transport = None
        self._handed_over = True
        # Bytes read past the clear-text part belong to the handshake.
        return new._upgrade(transport, self._take_all)

    def _take_all(self) -> bytes:
        return self._take(self._end)


def _is_connected(sock: _socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


def _strerror(code: int) -> str:
    import os

    return os.strerror(code)


@types.coroutine
def drive_with_hook(
    coro: Coroutine[Any, Any, Any], hook: Callable[[], object]
) -> Generator[Any, Any, Any]:
    """Await `coro`, calling `hook` right after its first step (before it first waits).

    Used to act on the state a loop coroutine sets up synchronously (such as
    the protocol ``loop.start_tls`` installs) before anything else runs.
    """
    try:
        value = coro.send(None)
    except StopIteration as stop:
        hook()
        return stop.value
    hook()
    while True:
        try:
            sent = yield value
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                value = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                value = coro.send(sent)
            except StopIteration as stop:
                return stop.value
