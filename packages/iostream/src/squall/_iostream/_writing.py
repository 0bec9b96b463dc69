"""Writing: `BaseIOStream.write` and knowing when written data has left.

``write`` hands the data to the transport at once (which sends what the
kernel takes and buffers the rest).  The write's Future resolves once the
transport's buffer is empty: the transport's write limits are set so that
it calls ``pause_writing`` whenever anything stays buffered and
``resume_writing`` once the buffer has drained.  A write that went straight
to the kernel returns one shared, already resolved Future.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from squall._iostream import _legacy
from squall._iostream._core import StreamCore, WriteData
from squall._iostream._errors import StreamBufferFullError, StreamClosedError

__all__ = ["Writing"]


class Writing(StreamCore):
    """The write side of `BaseIOStream`."""

    def _init_writing(self) -> None:
        self._write_waiters = []
        self._write_done = None
        self._pending_writes = []

    def write(
        self, data: WriteData, callback: Callable[[], object] | None = None
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

    def writing(self) -> bool:
        """Return True while written data has not yet been passed to the operating system."""
        return self._unsent() > 0

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

    def _check_write_limit(self, buffered: int, data: WriteData) -> None:
        assert self.max_write_buffer_size is not None
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        if buffered + size > self.max_write_buffer_size:
            raise StreamBufferFullError("Reached maximum write buffer size")

    def _write_unattached(self, data: WriteData) -> asyncio.Future[None]:
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

    def _on_resume_writing(self) -> None:
        """The transport's buffer has drained (``resume_writing``)."""
        transport = self._transport
        if transport is not None and transport.get_write_buffer_size():
            return  # not drained yet
        waiters, self._write_waiters = self._write_waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def _settle_writes(self, error: BaseException | None) -> None:
        """The stream has closed: fail the writes still waiting."""
        waiters, self._write_waiters = self._write_waiters, []
        self._pending_writes = []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(StreamClosedError(error))
                waiter.exception()
