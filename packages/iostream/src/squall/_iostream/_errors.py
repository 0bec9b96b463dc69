"""The exceptions of `squall.iostream`.

::

    OSError
     └── StreamClosedError                 the stream is closed (real_error: why)
          ├── (UnsatisfiableReadError)      ... because a read could never complete
          └── (StreamBufferFullError)       ... because a buffer limit was reached
    Exception
     ├── UnsatisfiableReadError            a delimiter read exceeded max_bytes
     └── StreamBufferFullError             a read or write buffer limit was reached

A read that fails because of ``max_bytes`` or ``max_buffer_size`` closes the
stream; its Future fails with an exception that is *both* a
`StreamClosedError` (what Tornado-era code catches, its ``real_error`` being
the plain limit error) and the limit error itself (what the limit's
documentation promises).  A ``write`` beyond ``max_write_buffer_size``
raises a plain `StreamBufferFullError` and leaves the stream open.
"""

from __future__ import annotations

__all__ = ["StreamBufferFullError", "StreamClosedError", "UnsatisfiableReadError"]


class StreamClosedError(OSError):
    """Raised by stream methods (or set on their Futures) when the stream is closed.

    The close callback is scheduled after the stream's other callbacks, so
    this error may be seen before the close callback runs.

    ``real_error`` holds the exception that caused the close (the same object
    as the stream's ``error`` attribute), or None for an orderly close by
    either side.
    """

    __module__ = "squall.iostream"

    def __init__(self, real_error: BaseException | None = None) -> None:
        super().__init__("Stream is closed")
        self.real_error = real_error


class UnsatisfiableReadError(Exception):
    """A read cannot be satisfied: its delimiter or regex was not found within ``max_bytes``."""

    __module__ = "squall.iostream"


class StreamBufferFullError(Exception):
    """A buffer limit (``max_buffer_size`` or ``max_write_buffer_size``) was reached."""

    __module__ = "squall.iostream"


class _ClosedByUnsatisfiableRead(StreamClosedError, UnsatisfiableReadError):
    """The failure of a read that exceeded ``max_bytes`` (and closed the stream)."""

    __module__ = "squall.iostream"

    def __init__(self, real_error: UnsatisfiableReadError) -> None:
        super().__init__(real_error)
        self.args = real_error.args

    def __str__(self) -> str:
        return str(self.real_error)


class _ClosedByFullBuffer(StreamClosedError, StreamBufferFullError):
    """The failure of a read that could not fit in ``max_buffer_size`` (and closed the stream)."""

    __module__ = "squall.iostream"

    def __init__(self, real_error: StreamBufferFullError) -> None:
        super().__init__(real_error)
        self.args = real_error.args

    def __str__(self) -> str:
        return str(self.real_error)


def closed_error(real_error: BaseException | None) -> StreamClosedError:
    """The exception failing a pending operation when a stream closes because of `real_error`."""
    if isinstance(real_error, UnsatisfiableReadError):
        return _ClosedByUnsatisfiableRead(real_error)
    if isinstance(real_error, StreamBufferFullError):
        return _ClosedByFullBuffer(real_error)
    return StreamClosedError(real_error)
