"""The asyncio protocol of a stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from squall._iostream._base import BaseIOStream

__all__ = ["FeedingProtocol", "StreamProtocol"]


class StreamProtocol(asyncio.BufferedProtocol):
    """Forwards a transport's events straight to the stream's handlers.

    The handlers are bound methods stored on the instance, so a transport's
    ``protocol.buffer_updated(n)`` calls the stream without an extra hop.

    Transports that support it (sockets, TLS) receive straight into the
    space the stream's ``get_buffer`` names (see `_receiving`); pipe
    transports call ``data_received`` instead.
    """

    def __init__(self, stream: BaseIOStream) -> None:
        self.get_buffer = stream._get_buffer  # type: ignore[method-assign]
        self.buffer_updated = stream._on_received  # type: ignore[method-assign]
        self.connection_made = stream._on_connection_made  # type: ignore[method-assign]
        self.data_received = stream._on_data
        self.eof_received = stream._on_eof  # type: ignore[method-assign]
        self.connection_lost = stream._on_connection_lost  # type: ignore[method-assign]
        self.resume_writing = stream._on_resume_writing  # type: ignore[method-assign]


class FeedingProtocol(asyncio.Protocol):
    """The protocol of a stream that feeds a protocol layer (``_start_feeding``).

    The transport hands each received ``bytes`` object straight to the sink:
    no receive buffer to manage, no hop through the stream (uvloop builds
    the object in C).  The other events go to the stream as usual.
    """

    def __init__(self, stream: BaseIOStream, sink: Callable[[bytes], object]) -> None:
        self.data_received = sink  # type: ignore[method-assign,assignment]
        self.connection_made = stream._on_connection_made  # type: ignore[method-assign]
        self.eof_received = stream._on_eof  # type: ignore[method-assign]
        self.connection_lost = stream._on_connection_lost  # type: ignore[method-assign]
        self.resume_writing = stream._on_resume_writing  # type: ignore[method-assign]
