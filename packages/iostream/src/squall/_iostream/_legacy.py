"""The deprecated callback interface of streams (Tornado 4's ``callback=`` arguments).

Kept here, out of the streams' main paths: each function adapts a
Future-returning call to the callback form and warns.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from squall._iostream._core import STREAMING, StreamCore

if TYPE_CHECKING:
    from squall._iostream._reading import Reading

__all__ = ["read_bytes", "read_until_close", "with_callback"]


def _warn(what: str, instead: str) -> None:
    # Point the warning at the first caller outside squall's stream code.
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        "squall._iostream"
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(f"{what} is deprecated; {instead}", DeprecationWarning, stacklevel=level)


def with_callback(
    stream: StreamCore,
    future: asyncio.Future[Any],
    callback: Callable[..., object],
    pass_result: bool = True,
) -> asyncio.Future[Any]:
    """Run `callback` with `future`'s result once it resolves; return `future`.

    With `pass_result` false (writes, connects, handshakes) the callback
    takes no arguments.  Failures are not passed on: callback users learn of
    them through the close callback.  An exception escaping the callback is
    logged and closes the stream.
    """
    _warn("The callback argument", "use the returned Future instead")

    def done(f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            return
        if pass_result:
            stream._run_callback(callback, f.result())
        else:
            stream._run_callback(callback)

    future.add_done_callback(done)
    return future


def _start_streaming(
    stream: Reading, remaining: int | None, streaming_callback: Callable[[bytes], object]
) -> asyncio.Future[bytes]:
    """Pass data to `streaming_callback` as it arrives, `remaining` bytes of it (None: all)."""
    _warn("The streaming_callback argument", "use read_bytes(n, partial=True) in a loop")
    stream._check_no_pending_read()
    stream._read_max = remaining
    stream._streaming_callback = streaming_callback
    future: asyncio.Future[bytes] = stream._start_read(STREAMING, stream._step_streaming)
    stream._step_streaming()
    if future.done():
        return future
    if stream._closed or stream._eof:
        stream._read_at_end()
        if not future.done():
            stream._close_and_fail_read(future)
    return future


def read_bytes(
    stream: Reading,
    num_bytes: int,
    callback: Callable[[bytes], object] | None,
    streaming_callback: Callable[[bytes], object] | None,
    partial: bool,
) -> asyncio.Future[bytes]:
    """`BaseIOStream.read_bytes` with a callback or a streaming callback."""
    if streaming_callback is None:
        future = stream.read_bytes(num_bytes, partial=partial)
    else:
        future = _start_streaming(stream, num_bytes, streaming_callback)
    if callback is not None:
        future = with_callback(stream, future, callback)
    return future


def read_until_close(
    stream: Reading,
    callback: Callable[[bytes], object] | None,
    streaming_callback: Callable[[bytes], object] | None,
) -> asyncio.Future[bytes]:
    """`BaseIOStream.read_until_close` with a callback or a streaming callback."""
    if streaming_callback is None:
        future = stream.read_until_close()
    else:
        future = _start_streaming(stream, None, streaming_callback)
    if callback is not None:
        future = with_callback(stream, future, callback)
    return future
