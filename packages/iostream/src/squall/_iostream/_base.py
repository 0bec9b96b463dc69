"""`BaseIOStream`: buffered reads and writes over an asyncio transport.

A stream owns one asyncio transport (socket, TLS or pipe) and a
`StreamProtocol` whose events land in the stream's private ``_on_*``
methods.  Subclasses only say how the transport is created
(`IOStream`, `SSLIOStream`, `PipeIOStream`).  The stream is assembled from
parts split by concept (see `_core`):

- receiving (`_receiving`): where incoming bytes land (straight into the
  stream's buffer, or a pending ``read_into``'s), flow control (reading
  pauses at ``max_buffer_size``), and feeding protocol layers;
- reading (`_reading`): the read methods and the one pending read;
- writing (`_writing`): ``write`` and when its Future resolves;
- here: the transport's connection events, closing, the close callback.

Closing.  The stream closes when the application calls `close`, when the
transport reports the connection lost (an error is kept in ``error``), or
when the peer's end of stream leaves a pending read unsatisfiable.  Pending
Futures then fail with `StreamClosedError`; data already buffered can still
be read; the close callback runs once, on a later loop iteration.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, cast

from squall._iostream._core import ExcInfo, WriteData
from squall._iostream._errors import closed_error
from squall._iostream._protocol import StreamProtocol
from squall._iostream._reading import Reading
from squall._iostream._writing import Writing
from squall.ioloop import IOLoop
from squall.log import app_log

__all__ = ["BaseIOStream", "WriteData"]

#: Incoming data buffered before reading pauses, when the constructor is not
#: told otherwise (Tornado's documented default).
DEFAULT_MAX_BUFFER_SIZE = 100 * 1024 * 1024

#: The documented default ``read_chunk_size`` (transports pick their own).
DEFAULT_READ_CHUNK_SIZE = 64 * 1024

#: Seconds a closed stream's unsent data may take to reach the peer before
#: the connection is aborted: `close` drains the write buffer like
#: ``transport.close()`` does, but a peer that stops reading must not keep
#: the connection (and its buffer) alive forever.
CLOSE_LINGER_SECONDS = 30.0


def _abort(transport: asyncio.BaseTransport) -> None:
    """Close `transport` at once, dropping unsent data."""
    try:
        cast(asyncio.Transport, transport).abort()
    except NotImplementedError:  # uvloop's read pipes
        transport.close()


class BaseIOStream(Reading, Writing):
    """Reads and writes on a non-blocking file or socket, through an asyncio transport.

    Every read (``read_until``, ``read_until_regex``, ``read_bytes``,
    ``read_into``, ``read_until_close``) and ``write`` returns a Future; when
    the stream closes, outstanding Futures fail with `StreamClosedError`.
    Only one read may be pending at a time.  The callback-era ``callback=``
    and ``streaming_callback=`` arguments still work but are deprecated.

    When a stream is closed because of an error, its ``error`` attribute
    holds the exception.

    :param max_buffer_size: how much incoming data to buffer (default
        100 MiB): reading pauses at this size, and a read that cannot be
        satisfied within it fails with `StreamBufferFullError`.
    :param read_chunk_size: accepted for compatibility; the transport chooses
        how much it reads at a time.
    :param max_write_buffer_size: how much unsent data `write` may leave
        buffered (default unlimited) before raising `StreamBufferFullError`.

    Subclasses create the transport (see `StreamProtocol`); the methods
    Tornado documents for subclasses (`fileno`, `close_fd`, `write_to_fd`,
    `read_from_fd`, `get_fd_error`) exist for code that calls them but
    are not how squall's streams move data.
    """

    __module__ = "squall.iostream"

    #: ``set_write_buffer_limits(high=...)`` for this stream's transports: 0
    #: makes plain transports pause as soon as anything stays buffered.
    _WRITE_HIGH_WATER: ClassVar[int] = 0
    #: Whether to keep the transport open for writing after the peer's EOF.
    _KEEP_OPEN_ON_EOF: ClassVar[bool] = True

    def __init__(
        self,
        max_buffer_size: int | None = None,
        read_chunk_size: int | None = None,
        max_write_buffer_size: int | None = None,
        *,
        io_loop: IOLoop | None = None,
    ) -> None:
        first: object = max_buffer_size
        if isinstance(first, IOLoop):
            # Tornado 4's positional order: (io_loop, max_buffer_size, ...).
            io_loop, max_buffer_size, read_chunk_size, max_write_buffer_size = (
                first,
                read_chunk_size,
                max_write_buffer_size,
                None,
            )
        if io_loop is not None:
            warnings.warn(
                "The io_loop argument is deprecated; the current IOLoop is used",
                DeprecationWarning,
                stacklevel=2,
            )
        else:
            io_loop = IOLoop.current()
        self.io_loop = io_loop
        self._loop = io_loop.asyncio_loop
        self.max_buffer_size = max_buffer_size or DEFAULT_MAX_BUFFER_SIZE
        self.read_chunk_size = min(
            read_chunk_size or DEFAULT_READ_CHUNK_SIZE, max(self.max_buffer_size // 2, 1)
        )
        self.max_write_buffer_size = max_write_buffer_size
        self.error = None
        self._writable = True
        self._raw_transport = None
        self._transport = None
        self._closed = False
        self._eof = False
        self._reading_paused = False
        self._init_reading()
        self._init_writing()
        self._close_callback = None
        self._close_callback_scheduled = False
        self._protocol = StreamProtocol(self)

    # -- methods for subclasses ------------------------------------------------

    def fileno(self) -> int:
        """Return the file descriptor of this stream."""
        raise NotImplementedError()

    def close_fd(self) -> None:
        """Close the file underlying this stream (called by `close`; use `close`)."""
        raise NotImplementedError()

    def write_to_fd(self, data: memoryview) -> int:
        """Write `data` to the underlying file directly; return the number of bytes written.

        Not used by the stream itself (which writes through its transport).
        """
        raise NotImplementedError()

    def read_from_fd(self, buf: bytearray | memoryview | None = None) -> bytes | int | None:
        """Read from the underlying file directly (not used by the stream itself).

        Returns None if nothing was ready.  With `buf`, fills it and returns
        the number of bytes read; otherwise returns the data.
        """
        raise NotImplementedError()

    def get_fd_error(self) -> Exception | None:
        """Return the pending error on the underlying file, or None."""
        return None

    # -- the transport's events --------------------------------------------------

    def _on_connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A Transport, or for pipes a ReadTransport or a WriteTransport (the
        # stream uses only the half it has).
        self._set_transport(cast(asyncio.Transport, transport))

    def _set_transport(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        if self._closed:
            # Closed while the transport was being made.
            _abort(transport)
            return
        if self._writable:
            transport.set_write_buffer_limits(high=self._WRITE_HIGH_WATER, low=0)
        if self._reading_paused or self._held:
            transport.pause_reading()
        pending, self._pending_writes = self._pending_writes, []
        for data in pending:
            transport.write(data)
        if self._write_waiters and not transport.get_write_buffer_size():
            self._on_resume_writing()

    def _on_eof(self) -> bool:
        self._eof = True
        sink = self._sink
        if sink is not None:
            sink(b"")
            return self._KEEP_OPEN_ON_EOF and not self._closed
        future = self._read_future
        if future is not None and not future.done():
            # No more data will come to complete it.
            self.close()
        elif self._close_callback is not None and not self._buffered():
            # Someone is listening for the connection to go away (and
            # nothing buffered remains to be read): report it.
            self.close()
        return self._KEEP_OPEN_ON_EOF and not self._closed

    def _on_connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        if not self._closed:
            if exc is not None:
                self.error = exc
            self._closed = True
            self._signal_closed()

    # -- state and closing ------------------------------------------------------

    def closed(self) -> bool:
        """Return True once the stream is closed (by either side)."""
        return self._closed

    def set_nodelay(self, value: bool) -> None:
        """Set the no-delay flag (disable Nagle's algorithm) where the stream supports it.

        Only TCP streams do; elsewhere this does nothing.
        """

    def set_close_callback(self, callback: Callable[[], object] | None) -> None:
        """Call `callback` (with no arguments) once the stream is closed.

        Not needed with Futures (pending ones fail with `StreamClosedError`).
        The callback runs on a later loop iteration than the close, after
        the stream's other callbacks.  A callback set on a stream whose peer
        has already finished sending (with nothing left to read) closes it.
        """
        self._close_callback = callback
        if callback is None:
            return
        if self._closed:
            self._schedule_close_callback()
        elif self._eof and not self._buffered() and not self.reading():
            self.close()

    def close(self, exc_info: ExcInfo = False) -> None:
        """Close this stream.

        Written data still buffered is sent before the connection closes
        (for at most `CLOSE_LINGER_SECONDS`).  Pending reads fail with
        `StreamClosedError` (`read_until_close` resolves with the buffered
        data); pending write Futures fail too.  Closing a closed stream
        does nothing.

        :param exc_info: if true, record the exception being handled
            (`sys.exc_info`) as the stream's ``error``; an exception or an
            exc_info tuple is recorded as is.
        """
        if self._closed:
            return
        if exc_info:
            if isinstance(exc_info, tuple):
                self.error = exc_info[1]
            elif isinstance(exc_info, BaseException):
                self.error = exc_info
            else:
                self.error = sys.exc_info()[1]
        unsent = self._unsent()
        self._closed = True
        transport = self._transport
        if transport is not None:
            transport.close()
            if unsent:
                # close() sends what is buffered first; a peer that does not
                # read must not hold the connection open forever.
                self._loop.call_later(CLOSE_LINGER_SECONDS, _abort, transport)
        self.close_fd_if_unattached()
        self._signal_closed()

    def close_fd_if_unattached(self) -> None:
        """Close the file directly when no transport owns it yet."""
        if self._transport is None and not self._OWN_TRANSPORT:
            self.close_fd()

    def _attach_fd(self) -> None:
        """Give a subclass that implements ``read_from_fd`` / ``write_to_fd`` its transport."""
        from squall._iostream._fd import FdTransport

        FdTransport(self._loop, self, self._protocol)

    def _signal_closed(self) -> None:
        """Settle the pending operations of a stream that has just closed."""
        self._read_at_end()
        future = self._read_future
        if future is not None:
            self._forget_read()
            if not future.done():
                future.set_exception(closed_error(self.error))
                future.exception()  # nobody need retrieve it
        self._settle_writes(self.error)
        self._schedule_close_callback()

    def _schedule_close_callback(self) -> None:
        if self._close_callback is not None and not self._close_callback_scheduled:
            self._close_callback_scheduled = True
            self._loop.call_soon(self._run_close_callback)

    def _run_close_callback(self) -> None:
        callback, self._close_callback = self._close_callback, None
        if callback is not None:
            self._run_callback(callback)

    def _run_callback(self, callback: Callable[..., object], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            app_log.error("Uncaught exception in %r, closing connection", callback, exc_info=True)
            self.close(exc_info=True)
