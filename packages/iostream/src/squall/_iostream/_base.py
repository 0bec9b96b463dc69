"""`BaseIOStream`: buffered reads and writes over an asyncio transport.

A stream owns one asyncio transport (socket, TLS or pipe) and a
`_StreamProtocol` whose events land in the stream's private ``_on_*``
methods.  Subclasses only say how the transport is created
(`IOStream`, `SSLIOStream`, `PipeIOStream`); everything else is here.

Reading.  Incoming bytes are appended to one ``bytearray``; there is at
most one pending read, described by a *step* method that tries to complete
it from the buffer.  ``data_received`` appends and runs the step, so a read
completes in the same loop iteration as the data arrives; a read whose data
is already buffered returns an already-done Future.  Delimiter searches
resume where the previous one stopped, so reading a line in many small
chunks stays linear.  When the buffer reaches ``max_buffer_size`` the
transport is paused (TCP flow control pushes back on the peer); a pending
read that cannot complete within that size fails with
`StreamBufferFullError` and closes the stream.

Writing.  ``write`` hands the data to the transport at once (which sends
what the kernel takes and buffers the rest).  The write's Future resolves
once the transport's buffer is empty: the transport's write limits are set
so that it calls ``pause_writing`` whenever anything stays buffered and
``resume_writing`` once the buffer has drained.

Closing.  The stream closes when the application calls `close`, when the
transport reports the connection lost (an error is kept in ``error``), or
when the peer's end of stream leaves a pending read unsatisfiable.  Pending
Futures then fail with `StreamClosedError`; data already buffered can still
be read; the close callback runs once, on a later loop iteration.
"""

from __future__ import annotations

import asyncio
import re
import sys
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, TypeAlias, cast

from squall._iostream import _legacy
from squall._iostream._errors import (
    StreamBufferFullError,
    StreamClosedError,
    UnsatisfiableReadError,
    closed_error,
)
from squall._iostream._protocol import StreamProtocol, scratch_buffer
from squall._iostream._regex import search_overlap
from squall.ioloop import IOLoop
from squall.log import app_log

__all__ = ["BaseIOStream"]

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

# Reads smaller than this are copied out of the buffer by slicing (cheaper
# for small data than a memoryview).
_COPY_BY_SLICE = 4096
# The read buffer drops its consumed head once it is at least this large
# (see _consumed).
_COMPACT_AT = 64 * 1024

_ExcInfo: TypeAlias = (
    bool
    | BaseException
    | tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    | None
)
_Bytes: TypeAlias = bytes | bytearray | memoryview

# Kinds of pending read (what to do with it at end of stream).
_UNTIL = 0  # read_until, read_until_regex
_BYTES = 1  # read_bytes
_INTO = 2  # read_into
_UNTIL_CLOSE = 3  # read_until_close
_STREAMING = 4  # read_bytes / read_until_close with a streaming_callback


def _abort(transport: asyncio.BaseTransport) -> None:
    """Close `transport` at once, dropping unsent data."""
    try:
        cast(asyncio.Transport, transport).abort()
    except NotImplementedError:  # uvloop's read pipes
        transport.close()


class BaseIOStream:
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

    Subclasses create the transport (see `_StreamProtocol`); the methods
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
    #: Whether the subclass creates an event loop transport itself; if not,
    #: its ``read_from_fd`` / ``write_to_fd`` get one (`FdTransport`).
    _OWN_TRANSPORT: ClassVar[bool] = False

    io_loop: IOLoop
    error: BaseException | None
    max_buffer_size: int
    read_chunk_size: int
    max_write_buffer_size: int | None

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
        self._scratch = scratch_buffer()
        self._protocol = StreamProtocol(self)
        self._writable = True  # False for a read-only pipe
        # Under TLS: the TCP transport beneath self._transport, whose buffer
        # also holds data not yet passed to the kernel.
        self._raw_transport: asyncio.Transport | None = None
        self._transport: asyncio.Transport | None = None
        self._closed = False
        self._eof = False  # the peer will send nothing more
        self._reading_paused = False
        # Incoming data is self._buffer[self._pos:]; the consumed head is
        # dropped once it is large (see _take), not on every read, because
        # growing a bytearray whose head was deleted copies all of it.
        self._buffer = bytearray()
        self._pos = 0
        # The pending read.
        self._read_future: asyncio.Future[Any] | None = None
        self._read_step: Callable[[], None] | None = None
        self._read_kind = _UNTIL
        self._read_delimiter = b""
        self._read_regex: re.Pattern[bytes] | None = None
        self._regex_overlap: int | None = None
        self._read_max: int | None = None  # max_bytes, or the byte count of read_bytes
        self._read_partial = False
        self._search_pos = 0
        self._read_target: memoryview | None = None
        self._read_filled = 0
        self._streaming_callback: Callable[[bytes], object] | None = None
        # Writes.
        self._write_waiters: list[asyncio.Future[None]] = []
        self._write_done: asyncio.Future[None] | None = None
        self._pending_writes: list[_Bytes] = []  # written before the transport exists
        self._close_callback: Callable[[], object] | None = None
        self._close_callback_scheduled = False
        # Set by _start_feeding: receives each chunk instead of the buffer.
        self._sink: Callable[[bytes], object] | None = None

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
        if self._reading_paused:
            transport.pause_reading()
        pending, self._pending_writes = self._pending_writes, []
        for data in pending:
            transport.write(data)
        if self._write_waiters and not transport.get_write_buffer_size():
            self._on_resume_writing()

    def _on_received(self, nbytes: int) -> None:
        scratch = self._scratch
        sink = self._sink
        if sink is not None:
            sink(scratch[:nbytes].tobytes())
            return
        buf = self._buffer
        if not buf and self._read_kind == _BYTES:
            # A read_bytes waits on an empty buffer: answer it straight from
            # the scratch buffer (one copy less), keep only the rest.
            future = self._read_future
            if future is not None and not future.done():
                wanted = self._read_max
                assert wanted is not None
                if nbytes >= wanted or self._read_partial:
                    count = min(wanted, nbytes)
                    self._read_future = self._read_step = None
                    future.set_result(scratch[:count].tobytes())
                    if count == nbytes:
                        return
                    buf += scratch[count:nbytes]
                    if len(buf) >= self.max_buffer_size:
                        self._buffer_full()
                    return
        buf += scratch[:nbytes]
        step = self._read_step
        if step is not None:
            step()
        if len(buf) - self._pos >= self.max_buffer_size:
            self._buffer_full()

    def _on_data(self, data: bytes) -> None:
        sink = self._sink
        if sink is not None:
            sink(data)
            return
        buf = self._buffer
        buf += data
        step = self._read_step
        if step is not None:
            step()
        if len(buf) - self._pos >= self.max_buffer_size:
            self._buffer_full()

    def _buffered(self) -> int:
        """How many received bytes are waiting to be read."""
        return len(self._buffer) - self._pos

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

    def _on_resume_writing(self) -> None:
        transport = self._transport
        if transport is not None and transport.get_write_buffer_size():
            return  # not drained yet
        waiters, self._write_waiters = self._write_waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    # -- feeding: the protocol layers' direct path ------------------------------

    def _start_feeding(self, sink: Callable[[bytes], object]) -> None:
        """Hand every received chunk to `sink` as it arrives, instead of buffering it.

        For protocol implementations above the stream (HTTP/1, WebSocket)
        that parse the bytes themselves: no read Futures, no copy into the
        read buffer.  Data already buffered is passed first, synchronously.
        ``sink(b"")`` reports the peer's EOF (the stream stays open for
        writing where the transport allows it).  Closing is reported as
        usual (``set_close_callback``).  No read may be pending.
        """
        if self._read_future is not None and not self._read_future.done():
            raise RuntimeError("Cannot feed a stream while a read is pending")
        self._sink = sink
        if self._buffered():
            data = self._take(len(self._buffer))
            sink(data)
        if self._eof and self._sink is sink and not self._closed:
            sink(b"")

    def _stop_feeding(self) -> None:
        """Return to buffering received data for the read methods."""
        self._sink = None

    def _pause_feeding(self) -> None:
        """Stop receiving (flow control) until `_resume_feeding`."""
        if not self._reading_paused and not self._closed:
            self._reading_paused = True
            transport = self._transport
            if transport is not None:
                transport.pause_reading()

    def _resume_feeding(self) -> None:
        """Receive again after `_pause_feeding`."""
        if self._reading_paused:
            self._reading_paused = False
            transport = self._transport
            if transport is not None and not self._closed:
                transport.resume_reading()

    # -- reading ---------------------------------------------------------------

    def read_until_regex(
        self,
        regex: bytes | re.Pattern[bytes],
        callback: Callable[[bytes], object] | None = None,
        max_bytes: int | None = None,
    ) -> asyncio.Future[bytes]:
        """Read until `regex` matches; return a Future of the data, the match included.

        If `max_bytes` is not None and the regex does not match within the
        first `max_bytes` bytes, the read fails with `UnsatisfiableReadError`
        (also a `StreamClosedError`) and the stream is closed.

        :raises StreamClosedError: if the stream is closed and the buffered
            data does not satisfy the read (a read pending when the stream
            closes fails the same way).
        :raises RuntimeError: if another read is pending.
        """
        if callback is not None:
            return _legacy.with_callback(
                self, self.read_until_regex(regex, None, max_bytes), callback
            )
        self._check_no_pending_read()
        if not isinstance(regex, re.Pattern):
            regex = re.compile(regex)
        if self._pos:
            # The regex must see the unread data alone (for ^, lookbehinds).
            del self._buffer[: self._pos]
            self._pos = 0
        self._read_regex = regex
        self._regex_overlap = search_overlap(regex)
        self._read_max = max_bytes
        self._search_pos = 0
        future = self._start_read(_UNTIL, self._step_regex)
        self._step_regex()
        return self._after_start(future)

    def read_until(
        self,
        delimiter: bytes,
        callback: Callable[[bytes], object] | None = None,
        max_bytes: int | None = None,
    ) -> asyncio.Future[bytes]:
        """Read until `delimiter`; return a Future of the data, the delimiter included.

        If `max_bytes` is not None and the delimiter is not found within the
        first `max_bytes` bytes (delimiter included), the read fails with
        `UnsatisfiableReadError` (also a `StreamClosedError`) and the stream
        is closed.

        :raises StreamClosedError: if the stream is closed and the buffered
            data does not satisfy the read (a read pending when the stream
            closes fails the same way).
        :raises RuntimeError: if another read is pending.
        """
        if callback is not None:
            return _legacy.with_callback(
                self, self.read_until(delimiter, None, max_bytes), callback
            )
        if self._read_future is not None:
            self._check_no_pending_read()
        start = self._pos
        found = self._buffer.find(delimiter, start)
        if found >= 0:
            end = found + len(delimiter)
            if max_bytes is None or end - start <= max_bytes:
                # The common case on a busy connection: already buffered.
                done = self._loop.create_future()
                done.set_result(self._take(end))
                return done
        self._read_delimiter = delimiter
        self._read_max = max_bytes
        self._search_pos = start
        future = self._start_read(_UNTIL, self._step_until)
        self._step_until()
        return self._after_start(future)

    def read_bytes(
        self,
        num_bytes: int,
        callback: Callable[[bytes], object] | None = None,
        streaming_callback: Callable[[bytes], object] | None = None,
        partial: bool = False,
    ) -> asyncio.Future[bytes]:
        """Read `num_bytes` bytes; return a Future of them.

        With `partial`, the Future resolves as soon as any bytes are
        available (at most `num_bytes` of them).  A read of more than
        ``max_buffer_size`` bytes (without `partial`) fails with
        `StreamBufferFullError` (also a `StreamClosedError`) and closes the
        stream.  With the deprecated `streaming_callback`, data is passed to
        it as it arrives and the Future's result is empty.

        :raises StreamClosedError: if the stream is closed and the buffered
            data does not satisfy the read (a read pending when the stream
            closes fails the same way).
        :raises RuntimeError: if another read is pending.
        """
        if callback is not None or streaming_callback is not None:
            return _legacy.read_bytes(self, num_bytes, callback, streaming_callback, partial)
        if num_bytes < 0:
            raise ValueError("num_bytes must not be negative")
        if self._read_future is not None:
            self._check_no_pending_read()
        start = self._pos
        available = len(self._buffer) - start
        if available >= num_bytes:
            return self._done(self._take(start + num_bytes))
        if partial and available:
            return self._done(self._take(start + available))
        self._read_max = num_bytes
        self._read_partial = partial
        future = self._start_read(_BYTES, self._step_bytes)
        if not partial and num_bytes > self.max_buffer_size:
            self._fail_read(StreamBufferFullError("Reached maximum read buffer size"))
            return future
        return self._after_start(future)

    def read_into(
        self,
        buf: bytearray | memoryview,
        callback: Callable[[int], object] | None = None,
        partial: bool = False,
    ) -> asyncio.Future[int]:
        """Read into `buf` until it is full; return a Future of the number of bytes read.

        With `partial`, the Future resolves as soon as any bytes have been
        read into `buf`.  `buf` must not be touched until the Future is done.

        :raises StreamClosedError: if the stream is closed and the buffered
            data does not satisfy the read (a read pending when the stream
            closes fails the same way).
        :raises RuntimeError: if another read is pending.
        """
        if callback is not None:
            return _legacy.with_callback(self, self.read_into(buf, None, partial), callback)
        self._check_no_pending_read()
        self._read_target = memoryview(buf).cast("B")
        self._read_filled = 0
        self._read_partial = partial
        future = self._start_read(_INTO, self._step_into)
        self._step_into()
        return self._after_start(future)

    def read_until_close(
        self,
        callback: Callable[[bytes], object] | None = None,
        streaming_callback: Callable[[bytes], object] | None = None,
    ) -> asyncio.Future[bytes]:
        """Read everything until the stream closes; return a Future of it.

        If the stream is already closed, the Future resolves with whatever
        is still buffered.  If more than ``max_buffer_size`` bytes arrive,
        the read fails with `StreamBufferFullError` (also a
        `StreamClosedError`) and the stream closes; use a loop of
        ``read_bytes(n, partial=True)`` to process a long stream in pieces.
        With the deprecated `streaming_callback`, data is passed to it as it
        arrives and the Future's result is empty.

        :raises RuntimeError: if another read is pending.
        """
        if callback is not None or streaming_callback is not None:
            return _legacy.read_until_close(self, callback, streaming_callback)
        self._check_no_pending_read()
        if self._closed:
            return self._done(self._take(len(self._buffer)))
        future = self._start_read(_UNTIL_CLOSE, None)
        return self._after_start(future)

    def _check_no_pending_read(self) -> None:
        future = self._read_future
        if future is not None:
            if not future.done():
                raise RuntimeError("Already reading")
            # Cancelled by its consumer: forget it.
            self._read_future = self._read_step = None
            self._read_target = None
            self._streaming_callback = None

    def _start_read(self, kind: int, step: Callable[[], None] | None) -> asyncio.Future[Any]:
        if self._transport is None and not self._OWN_TRANSPORT and not self._closed:
            self._attach_fd()
        future = self._loop.create_future()
        self._read_future = future
        self._read_step = step
        self._read_kind = kind
        return future

    def _after_start(self, future: asyncio.Future[Any]) -> asyncio.Future[Any]:
        """Finish starting a read its step could not complete from the buffer."""
        if future.done() or self._read_future is not future:
            return future
        if self._closed or self._eof:
            # Nothing more will arrive.
            self._read_at_end()
            if not future.done():
                self._close_and_fail_read(future)
                future.exception()  # raised below instead
                raise closed_error(self.error)
            # read_until_close got the rest: the stream ends with it, as it
            # does when the peer's EOF arrives during the read.
            self.close()
            return future
        if self._buffered() >= self.max_buffer_size:
            self._buffer_full()
        return future

    def _close_and_fail_read(self, future: asyncio.Future[Any]) -> None:
        if not self._closed:
            self.close()
        elif not future.done():
            future.set_exception(closed_error(self.error))
            self._read_future = self._read_step = None

    def _step_until(self) -> None:
        buf = self._buffer
        delimiter = self._read_delimiter
        found = buf.find(delimiter, self._search_pos)
        max_bytes = self._read_max
        if found >= 0:
            end = found + len(delimiter)
            if max_bytes is None or end - self._pos <= max_bytes:
                self._complete(end)
                return
        else:
            # A delimiter starting before this point would have been found.
            self._search_pos = max(len(buf) - len(delimiter) + 1, self._pos)
            if max_bytes is None or len(buf) - self._pos < max_bytes:
                return
        self._fail_read(
            UnsatisfiableReadError(f"delimiter {delimiter!r} not found within {max_bytes} bytes")
        )

    def _step_regex(self) -> None:
        buf = self._buffer
        regex = self._read_regex
        assert regex is not None
        match = regex.search(buf, self._search_pos)
        max_bytes = self._read_max
        if match is not None:
            end = match.end()
            if max_bytes is None or end <= max_bytes:
                self._complete(end)
                return
        else:
            overlap = self._regex_overlap
            if overlap is not None:
                # Linear in the data however it is cut (see search_overlap).
                self._search_pos = max(len(buf) - overlap, 0)
            if max_bytes is None or len(buf) <= max_bytes:
                return
        self._fail_read(
            UnsatisfiableReadError(f"regex {regex.pattern!r} not matched within {max_bytes} bytes")
        )

    def _step_bytes(self) -> None:
        start = self._pos
        available = len(self._buffer) - start
        wanted = self._read_max
        assert wanted is not None
        if available >= wanted:
            self._complete(start + wanted)
        elif self._read_partial and available:
            self._complete(start + available)

    def _step_into(self) -> None:
        target = self._read_target
        assert target is not None
        future = self._read_future
        assert future is not None
        if future.done():  # cancelled by its consumer: stop filling its buffer
            return
        buf = self._buffer
        start = self._pos
        filled = self._read_filled
        count = min(len(buf) - start, len(target) - filled)
        if count:
            with memoryview(buf) as view:
                target[filled : filled + count] = view[start : start + count]
            self._consumed(start + count)
            filled = self._read_filled = filled + count
        if filled == len(target) or (self._read_partial and filled):
            self._read_future = self._read_step = None
            self._read_target = None
            future.set_result(filled)

    def _step_streaming(self) -> None:
        start = self._pos
        available = len(self._buffer) - start
        remaining = self._read_max
        count = available if remaining is None else min(available, remaining)
        callback = self._streaming_callback
        assert callback is not None
        if count:
            data = self._take(start + count)
            self._loop.call_soon(self._run_callback, callback, data)
            if remaining is not None:
                remaining = self._read_max = remaining - count
        if remaining == 0:
            future = self._read_future
            assert future is not None
            self._read_future = self._read_step = None
            self._streaming_callback = None
            if not future.done():
                future.set_result(b"")

    def _read_at_end(self) -> None:
        """The peer has finished: complete the pending read if end of stream does."""
        future = self._read_future
        if future is None or future.done():
            return
        kind = self._read_kind
        if kind == _UNTIL_CLOSE:
            self._complete(len(self._buffer))
        elif kind == _STREAMING and self._read_max is None:
            self._step_streaming()
            self._read_future = self._read_step = None
            self._streaming_callback = None
            future.set_result(b"")

    def _complete(self, end: int) -> None:
        """Resolve the pending read with the buffered bytes up to offset `end`."""
        future = self._read_future
        assert future is not None
        self._read_future = self._read_step = None
        if not future.done():  # else cancelled: leave the data for the next read
            future.set_result(self._take(end))

    def _take(self, end: int) -> bytes:
        """Consume the unread bytes up to offset `end` of the buffer and return them."""
        buf = self._buffer
        start = self._pos
        if end - start < _COPY_BY_SLICE:
            data = bytes(buf[start:end])
        elif start == 0 and end == len(buf):
            data = bytes(buf)
        else:
            # One copy (slicing the bytearray first would make two).
            data = memoryview(buf)[start:end].tobytes()
        self._consumed(end)
        return data

    def _consumed(self, end: int) -> None:
        """The unread bytes up to offset `end` of the buffer have been read."""
        buf = self._buffer
        if end == len(buf):
            buf.clear()
            self._pos = 0
        elif end >= _COMPACT_AT and (len(buf) - end <= end >> 1 or end >= self.max_buffer_size):
            # Drop the consumed head once the unread rest is at most half
            # its size (the memmove then costs at most half a copy per byte
            # read), or once the head alone is as large as the limit on
            # unread data: the buffer never holds more than twice that.
            del buf[:end]
            self._pos = 0
        else:
            self._pos = end
        if self._reading_paused or self._eof:
            self._after_consume()

    def _after_consume(self) -> None:
        if self._reading_paused and self._buffered() < self.max_buffer_size:
            self._reading_paused = False
            transport = self._transport
            if transport is not None and not self._closed:
                transport.resume_reading()
        if (
            self._eof
            and not self._buffered()
            and self._close_callback is not None
            and not self._closed
            and self._read_future is None
        ):
            # What was left after the peer's EOF has been read.
            self._loop.call_soon(self._close_if_idle)

    def _close_if_idle(self) -> None:
        if self._read_future is None and not self._buffered():
            self.close()

    def _done(self, result: Any) -> asyncio.Future[Any]:
        future = self._loop.create_future()
        future.set_result(result)
        return future

    def _buffer_full(self) -> None:
        """The read buffer holds ``max_buffer_size`` bytes or more."""
        future = self._read_future
        if future is not None and not future.done() and self._read_kind != _STREAMING:
            self._fail_read(StreamBufferFullError("Reached maximum read buffer size"))
            return
        if not self._reading_paused and not self._closed:
            self._reading_paused = True
            transport = self._transport
            if transport is not None:
                transport.pause_reading()

    def _fail_read(self, error: Exception) -> None:
        """Fail the pending read because of `error`, closing the stream."""
        future = self._read_future
        self._read_future = self._read_step = None
        self._read_target = None
        self._streaming_callback = None
        if future is not None and not future.done():
            future.set_exception(closed_error(error))
            future.exception()  # nobody need retrieve it
        self.close(exc_info=error)

    # -- writing ---------------------------------------------------------------

    def write(
        self, data: _Bytes, callback: Callable[[], object] | None = None
    ) -> asyncio.Future[None]:
        """Write `data` (bytes, bytearray or memoryview); return a Future.

        The data is handed to the transport at once.  The Future resolves
        (to None) once every byte written so far has been passed to the
        operating system; awaiting it is how a writer waits for a slow
        peer.  The caller must not modify `data` until then.  If the stream
        closes first, the Future fails with `StreamClosedError`.

        :raises StreamClosedError: if the stream is closed.
        :raises StreamBufferFullError: if the unsent data would exceed
            ``max_write_buffer_size``.
        """
        if callback is not None:
            return _legacy.with_callback(self, self.write(data), callback, pass_result=False)
        transport = self._transport
        if transport is None or self._closed:
            return self._write_unattached(data)
        if data:
            if self.max_write_buffer_size is not None:
                self._check_write_limit(self._unsent(), data)
            try:
                transport.write(data)
            except RuntimeError:
                # uvloop refuses writes on a transport that has closed before
                # its connection_lost reached us.
                if not transport.is_closing():
                    raise
                raise StreamClosedError(self.error) from None
        if not transport.get_write_buffer_size() and self._raw_transport is None:
            if self._write_waiters:
                self._on_resume_writing()
            done = self._write_done
            if done is None:
                # One shared resolved Future serves every write that went
                # straight to the kernel.
                done = self._write_done = self._loop.create_future()
                done.set_result(None)
            return done
        future: asyncio.Future[None] = self._loop.create_future()
        self._write_waiters.append(future)
        if self._raw_transport is not None:
            self._on_resume_writing()  # TLS: all may have reached the kernel already
        return future

    def _unsent(self) -> int:
        """How many written bytes have not yet been passed to the operating system."""
        transport = self._transport
        if transport is None:
            return sum(len(data) for data in self._pending_writes)
        if self._closed or not self._writable:
            return 0
        raw = self._raw_transport
        size = transport.get_write_buffer_size()
        return size if raw is None else size + raw.get_write_buffer_size()

    def _check_write_limit(self, buffered: int, data: _Bytes) -> None:
        assert self.max_write_buffer_size is not None
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        if buffered + size > self.max_write_buffer_size:
            raise StreamBufferFullError("Reached maximum write buffer size")

    def _write_unattached(self, data: _Bytes) -> asyncio.Future[None]:
        """Write before the transport exists (while connecting)."""
        if self._closed:
            raise StreamClosedError(self.error)
        if not self._OWN_TRANSPORT:
            self._attach_fd()
            return self.write(data)
        if data:
            if self.max_write_buffer_size is not None:
                self._check_write_limit(self._unsent(), data)
            self._pending_writes.append(data)
        future: asyncio.Future[None] = self._loop.create_future()
        self._write_waiters.append(future)
        return future

    # -- state -----------------------------------------------------------------

    def reading(self) -> bool:
        """Return True while a read is pending."""
        future = self._read_future
        return future is not None and not future.done()

    def writing(self) -> bool:
        """Return True while written data has not yet been passed to the operating system."""
        return self._unsent() > 0

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

    def close(self, exc_info: _ExcInfo = False) -> None:
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
            self._read_future = self._read_step = None
            self._read_target = None
            self._streaming_callback = None
            if not future.done():
                future.set_exception(closed_error(self.error))
                future.exception()  # nobody need retrieve it
        waiters, self._write_waiters = self._write_waiters, []
        self._pending_writes = []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(StreamClosedError(self.error))
                waiter.exception()
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
