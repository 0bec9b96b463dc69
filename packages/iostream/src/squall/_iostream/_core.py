"""The state a stream's parts share, declared once.

`BaseIOStream` is assembled from parts split by concept, each a class in
its own module: receiving (`_receiving`: where incoming bytes land, flow
control, feeding), reading (`_reading`: the read methods and their pending
read), writing (`_writing`), and the stream itself (`_base`: the transport's
events, closing, the close callback).  `StreamCore` declares the attributes
they all use and the methods one part calls on another, so that each module
type-checks on its own; `BaseIOStream.__init__` sets the attributes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from squall.ioloop import IOLoop

if TYPE_CHECKING:
    from squall._iostream._protocol import StreamProtocol

__all__ = ["ExcInfo", "StreamCore", "WriteData"]

ExcInfo: TypeAlias = (
    bool
    | BaseException
    | tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    | None
)
WriteData: TypeAlias = bytes | bytearray | memoryview

# Kinds of pending read (what to do with it at end of stream).
UNTIL = 0  # read_until, read_until_regex
BYTES = 1  # read_bytes
INTO = 2  # read_into
UNTIL_CLOSE = 3  # read_until_close
STREAMING = 4  # read_bytes / read_until_close with a streaming_callback


class StreamCore:
    """The attributes of a stream, shared by its parts (set in `BaseIOStream.__init__`)."""

    #: Whether the subclass creates an event loop transport itself; if not,
    #: its ``read_from_fd`` / ``write_to_fd`` get one (`FdTransport`).
    _OWN_TRANSPORT: ClassVar[bool] = False

    io_loop: IOLoop
    error: BaseException | None
    max_buffer_size: int
    read_chunk_size: int
    max_write_buffer_size: int | None

    _loop: asyncio.AbstractEventLoop
    _protocol: StreamProtocol
    _transport: asyncio.Transport | None
    # Under TLS: the TCP transport beneath _transport, whose buffer also
    # holds data not yet passed to the kernel.
    _raw_transport: asyncio.Transport | None
    _writable: bool  # False for a read-only pipe
    _closed: bool
    _eof: bool  # the peer will send nothing more
    _reading_paused: bool  # at max_buffer_size, or by a feeding protocol
    _held: bool  # not reading ahead while nobody reads (see _receiving)
    _burst_receiving: bool  # the transport may receive many times per event

    # Receiving (see _receiving): the unread bytes are _block[_pos:_end].
    _block: bytearray
    _view: memoryview  # of _block
    _pos: int
    _end: int
    _free_blocks: list[bytearray]  # this thread's spare blocks
    _direct: bool  # the last receive space handed out was the read_into target
    _sink: Callable[[bytes], object] | None  # set while feeding

    # The pending read (see _reading).
    _read_future: asyncio.Future[Any] | None
    _read_step: Callable[[], None] | None
    _read_kind: int
    _read_delimiter: bytes
    _read_regex: re.Pattern[bytes] | None
    _regex_overlap: int | None
    _read_max: int | None  # max_bytes, or the byte count of read_bytes
    _read_partial: bool
    _search_pos: int  # where the delimiter search resumes, an offset in _block
    _read_target: memoryview | None
    _read_filled: int
    _streaming_callback: Callable[[bytes], object] | None

    # Writing (see _writing).
    _write_waiters: list[asyncio.Future[None]]
    _write_done: asyncio.Future[None] | None
    _pending_writes: list[WriteData]  # written before the transport exists

    # Closing (see _base).
    _close_callback: Callable[[], object] | None
    _close_callback_scheduled: bool

    if TYPE_CHECKING:
        # Implemented by one part, called by others.

        def close(self, exc_info: ExcInfo = False) -> None: ...

        def _attach_fd(self) -> None: ...

        def _run_callback(self, callback: Callable[..., object], *args: Any) -> None: ...

        def _buffer_full(self) -> None: ...

        def _read_at_end(self) -> None: ...

        def _on_resume_writing(self) -> None: ...
