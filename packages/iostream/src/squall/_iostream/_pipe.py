"""`PipeIOStream`: a stream over one end of a pipe, on an asyncio pipe transport.

The direction comes from the descriptor's access mode: a write-only
descriptor (the write end of ``os.pipe()``) gets
``loop.connect_write_pipe``, anything else ``loop.connect_read_pipe``.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import io
import os
from typing import Any

from squall._iostream._base import BaseIOStream
from squall._iostream._core import WriteData

__all__ = ["PipeIOStream"]


class PipeIOStream(BaseIOStream):
    """A stream over one end of a pipe (read or write, not both).

    Takes an integer file descriptor (such as one returned by ``os.pipe``),
    not a file object; the stream owns it from now on, and closing the
    stream closes it.  A write-only descriptor makes a stream for writing,
    anything else a stream for reading; using the other direction raises
    ``io.UnsupportedOperation``.

    When the reading end of a write pipe is closed, the stream closes
    (``error`` is a ``BrokenPipeError``).
    """

    __module__ = "squall.iostream"

    _OWN_TRANSPORT = True

    # The end of a pipe is the end of the stream.
    _KEEP_OPEN_ON_EOF = False

    def __init__(self, fd: int, *args: Any, **kwargs: Any) -> None:
        self.fd = fd
        self._fio = _PipeFile(fd)
        super().__init__(*args, **kwargs)
        os.set_blocking(fd, False)
        self._writable = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
        self._handed_over = False
        self._establishing = self._loop.create_task(self._attach())
        self._establishing.add_done_callback(self._on_established)

    def _protocol_factory(self) -> asyncio.BaseProtocol:
        return self._protocol

    async def _attach(self) -> None:
        self._handed_over = True
        if self._writable:
            await self._loop.connect_write_pipe(self._protocol_factory, self._fio)
        else:
            await self._loop.connect_read_pipe(self._protocol_factory, self._fio)

    def _on_established(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            if not self._handed_over:
                self._fio.close()
            return
        exc = task.exception()
        if exc is not None:
            if not self._handed_over:
                self._fio.close()
            self.close(exc_info=exc)

    def close_fd_if_unattached(self) -> None:
        task = self._establishing
        # Once the transport exists it owns the pipe (and flushes on close);
        # cancelling its creation then would drop the buffered data.
        if (
            self._transport is None
            and not task.done()
            and task is not asyncio.current_task(self._loop)
        ):
            task.cancel()

    def fileno(self) -> int:
        """Return the pipe's file descriptor."""
        return self.fd

    def close_fd(self) -> None:
        """Close the pipe (`close` does this; call `close` instead)."""
        self._fio.close()

    def write_to_fd(self, data: memoryview) -> int:
        """Write `data` to the pipe directly, bypassing the stream's buffer."""
        return os.write(self.fd, data)

    def read_from_fd(self, buf: bytearray | memoryview | None = None) -> bytes | int | None:
        """Read from the pipe directly, bypassing the stream's buffer.

        Returns None if nothing was ready; with `buf`, the number of bytes
        read into it; otherwise the bytes read.
        """
        try:
            if buf is not None:
                return os.readv(self.fd, [buf])
            return os.read(self.fd, self.read_chunk_size)
        except BlockingIOError:
            return None

    def write(self, data: WriteData, callback: Any = None) -> asyncio.Future[None]:
        """Write `data` to the pipe; see `BaseIOStream.write`.

        :raises io.UnsupportedOperation: if this is the read end of a pipe.
        """
        if not self._writable and not self.closed():
            raise io.UnsupportedOperation("PipeIOStream: this end of the pipe is for reading")
        return super().write(data, callback)

    def _start_read(self, kind: int, step: Any) -> asyncio.Future[Any]:
        if self._writable and not self.closed():
            raise io.UnsupportedOperation("PipeIOStream: this end of the pipe is for writing")
        return super()._start_read(kind, step)


class _PipeFile:
    """The pipe object handed to the event loop's pipe transport.

    The transport (or, for uvloop, libuv itself) closes the descriptor when
    it closes; this object has no finalizer, so a descriptor number that
    the kernel may already have reused is never closed a second time.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError as exc:
                if exc.errno != errno.EBADF:  # uvloop: libuv has closed it already
                    raise
