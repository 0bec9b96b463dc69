"""A transport over a stream subclass's own ``read_from_fd`` / ``write_to_fd``.

squall's streams use the event loop's transports.  Tornado documented
another way to make a stream: subclass `BaseIOStream` and implement
``fileno``, ``close_fd``, ``read_from_fd`` and ``write_to_fd``.  Such a
subclass gets an `FdTransport`, which calls those methods when the event
loop reports the descriptor readable or writable.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from squall._iostream._base import BaseIOStream

__all__ = ["FdTransport"]

#: Bytes asked of ``read_from_fd`` at a time (its documented default chunk).
_READ_SIZE = 64 * 1024


class FdTransport(asyncio.Transport):
    """Moves data through `stream`'s ``read_from_fd`` and ``write_to_fd``.

    ``read_from_fd`` may have either documented form: Tornado 6's
    ``read_from_fd(buf)``, returning the number of bytes read into `buf`
    (0 at the end of the stream), or Tornado 4's ``read_from_fd()``,
    returning the data; both return None when nothing is ready.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, stream: BaseIOStream, protocol: Any
    ) -> None:
        super().__init__()
        self._loop = loop
        self._stream = stream
        self._protocol = protocol
        self._fd = stream.fileno()
        self._into = bool(inspect.signature(stream.read_from_fd).parameters)
        self._buffer = bytearray()
        self._high = 64 * 1024
        self._low = 16 * 1024
        self._protocol_paused = False
        self._reading = True
        self._closing = False
        self._closed = False
        loop.add_reader(self._fd, self._read_ready)
        protocol.connection_made(self)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol  # type: ignore[no-any-return]

    # -- reading ---------------------------------------------------------------

    def _read_ready(self) -> None:
        try:
            if self._into:
                buf = bytearray(_READ_SIZE)
                count = self._stream.read_from_fd(buf)
                if count is None:
                    return
                assert isinstance(count, int)
                data = bytes(buf[:count])
            else:
                result = self._stream.read_from_fd()
                if result is None:
                    if self._stream.closed():  # Tornado 4 closes on EOF itself
                        self._force_close(None)
                    return
                assert isinstance(result, bytes | bytearray)
                data = bytes(result)
        except (BlockingIOError, InterruptedError):
            return
        except Exception as exc:
            self._force_close(exc)
            return
        if data:
            self._protocol.data_received(data)
        elif not self._protocol.eof_received():
            self.close()
        else:
            self._loop.remove_reader(self._fd)

    def pause_reading(self) -> None:
        if self._reading and not self._closing:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def resume_reading(self) -> None:
        if not self._reading and not self._closing:
            self._reading = True
            self._loop.add_reader(self._fd, self._read_ready)

    def is_reading(self) -> bool:
        return self._reading and not self._closing

    # -- writing ---------------------------------------------------------------

    def write(self, data: Any) -> None:
        if self._closing:
            return
        if not self._buffer:
            try:
                sent = self._stream.write_to_fd(memoryview(data))
            except (BlockingIOError, InterruptedError):
                sent = 0
            except Exception as exc:
                self._force_close(exc)
                return
            data = memoryview(data)[sent:]
            if not data:
                return
            self._loop.add_writer(self._fd, self._write_ready)
        self._buffer += data
        if len(self._buffer) > self._high and not self._protocol_paused:
            self._protocol_paused = True
            self._protocol.pause_writing()

    def _write_ready(self) -> None:
        try:
            sent = self._stream.write_to_fd(memoryview(self._buffer))
        except (BlockingIOError, InterruptedError):
            return
        except Exception as exc:
            self._force_close(exc)
            return
        del self._buffer[:sent]
        if not self._buffer:
            self._loop.remove_writer(self._fd)
            if self._closing:
                self._finish(None)
        if self._protocol_paused and len(self._buffer) <= self._low:
            self._protocol_paused = False
            self._protocol.resume_writing()

    def get_write_buffer_size(self) -> int:
        return len(self._buffer)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = 64 * 1024 if low is None else 4 * low
        self._high = high
        self._low = high // 4 if low is None else low

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._low, self._high

    def can_write_eof(self) -> bool:
        return False

    # -- closing ---------------------------------------------------------------

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._reading:
            self._loop.remove_reader(self._fd)
        if not self._buffer:
            self._finish(None)

    def abort(self) -> None:
        self._force_close(None)

    def _force_close(self, exc: Exception | None) -> None:
        if self._closed:
            return
        if not self._closing:
            self._closing = True
            self._loop.remove_reader(self._fd)
        if self._buffer:
            self._buffer.clear()
            self._loop.remove_writer(self._fd)
        self._finish(exc)

    def _finish(self, exc: Exception | None) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.call_soon(self._lost, exc)

    def _lost(self, exc: Exception | None) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._stream.close_fd()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default
