"""The asyncio protocol of a stream, and the buffer transports receive into."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from squall._iostream._base import BaseIOStream

__all__ = ["StreamProtocol", "scratch_buffer"]


class StreamProtocol(asyncio.BufferedProtocol):
    """Forwards a transport's events straight to the stream's handlers.

    The handlers are bound methods stored on the instance, so a transport's
    ``protocol.buffer_updated(n)`` calls the stream without an extra hop.

    Transports that support it (sockets, TLS) receive into a scratch buffer
    shared by the streams of the thread (`get_buffer`), from which the
    stream copies what it has to keep: no allocation per receive.  Pipe
    transports call ``data_received`` instead.
    """

    def __init__(self, stream: BaseIOStream) -> None:
        scratch = stream._scratch
        self.get_buffer = lambda sizehint: scratch  # type: ignore[method-assign]
        self.buffer_updated = stream._on_received  # type: ignore[method-assign]
        self.connection_made = stream._on_connection_made  # type: ignore[method-assign]
        self.data_received = stream._on_data
        self.eof_received = stream._on_eof  # type: ignore[method-assign]
        self.connection_lost = stream._on_connection_lost  # type: ignore[method-assign]
        self.resume_writing = stream._on_resume_writing  # type: ignore[method-assign]


class _Scratch(threading.local):
    """Each thread's receive buffer (a transport fills it, the stream empties it at once)."""

    def __init__(self) -> None:
        self.view = memoryview(bytearray(_SCRATCH_SIZE))


#: How much one receive may bring in (asyncio's socket transports read at
#: most 256 KiB at a time too).
_SCRATCH_SIZE = 256 * 1024
_scratch = _Scratch()


def scratch_buffer() -> memoryview:
    """This thread's receive buffer."""
    return _scratch.view
