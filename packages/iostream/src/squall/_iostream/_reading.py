"""Reading: the read methods of `BaseIOStream` and the pending read.

There is at most one pending read, described by a *step* method that tries
to complete it from the unread bytes (see `_receiving`).  Each receive runs
the step, so a read completes in the same loop iteration as its data
arrives; a read whose data is already buffered returns an already-done
Future.  Delimiter searches resume where the previous one stopped, so
reading a line that arrives in many small pieces stays linear.  A read that
cannot complete within ``max_buffer_size`` fails with
`StreamBufferFullError` and closes the stream; when the peer's end of stream
leaves a pending read unsatisfiable, the stream closes and the read fails
with `StreamClosedError`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from squall._iostream import _legacy
from squall._iostream._core import BYTES, INTO, STREAMING, UNTIL, UNTIL_CLOSE
from squall._iostream._errors import (
    StreamBufferFullError,
    UnsatisfiableReadError,
    closed_error,
)
from squall._iostream._receiving import Receiving
from squall._iostream._regex import search_overlap

__all__ = ["Reading"]


class Reading(Receiving):
    """The read side of `BaseIOStream`."""

    def _init_reading(self) -> None:
        self._init_receiving()
        self._read_future = None
        self._read_step = None
        self._read_kind = UNTIL
        self._read_delimiter = b""
        self._read_regex = None
        self._regex_overlap = None
        self._read_max = None
        self._read_partial = False
        self._search_pos = 0
        self._read_target = None
        self._read_filled = 0
        self._streaming_callback = None

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
            pos = self._pos
            view = self._view
            view[: self._end - pos] = view[pos : self._end]
            self._moved(pos)
        self._read_regex = regex
        self._regex_overlap = search_overlap(regex)
        self._read_max = max_bytes
        self._search_pos = 0
        future = self._start_read(UNTIL, self._step_regex)
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
        found = self._block.find(delimiter, start, self._end)
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
        future = self._start_read(UNTIL, self._step_until)
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
        available = self._end - start
        if available >= num_bytes:
            return self._done(self._take(start + num_bytes))
        if partial and available:
            return self._done(self._take(self._end))
        self._read_max = num_bytes
        self._read_partial = partial
        future = self._start_read(BYTES, self._step_bytes)
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
        read into `buf`.  `buf` must not be touched until the Future is done
        (a socket may receive straight into it).

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
        future = self._start_read(INTO, self._step_into)
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
            return self._done(self._take(self._end))
        future = self._start_read(UNTIL_CLOSE, None)
        return self._after_start(future)

    def reading(self) -> bool:
        """Return True while a read is pending."""
        future = self._read_future
        return future is not None and not future.done()

    # -- the pending read --------------------------------------------------------

    def _check_no_pending_read(self) -> None:
        future = self._read_future
        if future is not None:
            if not future.done():
                raise RuntimeError("Already reading")
            # Cancelled by its consumer: forget it.
            self._forget_read()

    def _forget_read(self) -> None:
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
        self._release_hold()  # a read waits for data
        unread = self._end - self._pos
        if unread >= self.max_buffer_size:
            self._buffer_full()
        elif unread:
            self._trim()  # waiting for the peer: keep little memory for little data
        return future

    def _close_and_fail_read(self, future: asyncio.Future[Any]) -> None:
        if not self._closed:
            self.close()
        elif not future.done():
            future.set_exception(closed_error(self.error))
            self._read_future = self._read_step = None

    def _done(self, result: Any) -> asyncio.Future[Any]:
        future = self._loop.create_future()
        future.set_result(result)
        return future

    # -- steps: complete the pending read from the buffer if possible ------------

    def _step_until(self) -> None:
        buf = self._block
        end = self._end
        delimiter = self._read_delimiter
        found = buf.find(delimiter, self._search_pos, end)
        max_bytes = self._read_max
        if found >= 0:
            stop = found + len(delimiter)
            if max_bytes is None or stop - self._pos <= max_bytes:
                self._complete(stop)
                return
        else:
            # A delimiter starting before this point would have been found.
            self._search_pos = max(end - len(delimiter) + 1, self._pos)
            if max_bytes is None or end - self._pos < max_bytes:
                return
        self._fail_read(
            UnsatisfiableReadError(f"delimiter {delimiter!r} not found within {max_bytes} bytes")
        )

    def _step_regex(self) -> None:
        # The unread data starts at offset 0 (see read_until_regex).
        end = self._end
        regex = self._read_regex
        assert regex is not None
        match = regex.search(self._block, self._search_pos, end)
        max_bytes = self._read_max
        if match is not None:
            stop = match.end()
            if max_bytes is None or stop <= max_bytes:
                self._complete(stop)
                return
        else:
            overlap = self._regex_overlap
            if overlap is not None:
                # Linear in the data however it is cut (see search_overlap).
                self._search_pos = max(end - overlap, 0)
            if max_bytes is None or end <= max_bytes:
                return
        self._fail_read(
            UnsatisfiableReadError(f"regex {regex.pattern!r} not matched within {max_bytes} bytes")
        )

    def _step_bytes(self) -> None:
        start = self._pos
        available = self._end - start
        wanted = self._read_max
        assert wanted is not None
        if available >= wanted:
            self._complete(start + wanted)
        elif self._read_partial and available:
            self._complete(self._end)

    def _step_into(self) -> None:
        target = self._read_target
        assert target is not None
        future = self._read_future
        assert future is not None
        if future.done():  # cancelled by its consumer: stop filling its buffer
            return
        start = self._pos
        filled = self._read_filled
        count = min(self._end - start, len(target) - filled)
        if count:
            target[filled : filled + count] = self._view[start : start + count]
            self._consumed(start + count)
            filled = self._read_filled = filled + count
        if filled == len(target) or (self._read_partial and filled):
            self._read_future = self._read_step = None
            self._read_target = None
            future.set_result(filled)

    def _step_streaming(self) -> None:
        start = self._pos
        available = self._end - start
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
        if kind == UNTIL_CLOSE:
            self._complete(self._end)
        elif kind == STREAMING and self._read_max is None:
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

    def _buffer_full(self) -> None:
        """The unread data has reached ``max_buffer_size``."""
        future = self._read_future
        if future is not None and not future.done() and self._read_kind != STREAMING:
            self._fail_read(StreamBufferFullError("Reached maximum read buffer size"))
            return
        self._pause_receiving()

    def _fail_read(self, error: Exception) -> None:
        """Fail the pending read because of `error`, closing the stream."""
        future = self._read_future
        self._forget_read()
        if future is not None and not future.done():
            future.set_exception(closed_error(error))
            future.exception()  # nobody need retrieve it
        self.close(exc_info=error)
