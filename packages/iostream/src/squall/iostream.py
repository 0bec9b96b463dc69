"""Buffered, non-blocking streams over sockets, TLS connections and pipes.

`IOStream` wraps a stream socket, `SSLIOStream` a TLS connection over one,
`PipeIOStream` one end of a pipe; `BaseIOStream` is their common interface.
Every read and write returns a Future (``await`` it in a coroutine); when a
stream closes, outstanding Futures fail with `StreamClosedError`.  The
streams sit on the event loop's transports, so a C event loop such as uvloop
does the I/O.

An echo server's connection handler::

    from squall.iostream import StreamClosedError

    async def handle_stream(stream, address):
        try:
            while True:
                line = await stream.read_until(b"\\n", max_bytes=64 * 1024)
                await stream.write(line)
        except StreamClosedError:
            pass
"""

from __future__ import annotations

from squall._iostream._base import BaseIOStream
from squall._iostream._errors import (
    StreamBufferFullError,
    StreamClosedError,
    UnsatisfiableReadError,
)
from squall._iostream._pipe import PipeIOStream
from squall._iostream._socket import IOStream
from squall._iostream._ssl import SSLIOStream

__all__ = [
    "BaseIOStream",
    "IOStream",
    "PipeIOStream",
    "SSLIOStream",
    "StreamBufferFullError",
    "StreamClosedError",
    "UnsatisfiableReadError",
]
