"""Decoding ``Content-Encoding: gzip`` bodies for the connection's delegate.

`GzipMessageDelegate` sits between the connection and the application's
delegate when ``decompress`` is on.  The application sees the decoded body,
in pieces of at most ``chunk_size`` bytes, and the headers with
``Content-Encoding`` renamed to ``X-Consumed-Content-Encoding`` (the body it
receives is no longer encoded).  A small compressed body can expand to an
enormous one, so the body size limit is applied to the *decoded* size as it
grows (DESIGN.md §5); decompression never produces more than ``chunk_size``
bytes at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from squall.httputil import (
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)

__all__ = ["BodyTooLargeError", "GzipMessageDelegate"]


class BodyTooLargeError(HTTPInputError):
    """The body (decoded, when decompressing) exceeds the size limit: a server answers 413."""


class GzipMessageDelegate(HTTPMessageDelegate):
    """Wraps `delegate`, decoding a gzip-encoded body before passing it on.

    :param max_body_size: returns the current limit on the decoded body (the
        connection's, which ``set_max_body_size`` may change during
        ``headers_received``).
    :raises BodyTooLargeError: from `data_received` / `finish` when the
        decoded body exceeds the limit.
    :raises HTTPInputError: from `data_received` when the body is not
        valid gzip.
    """

    def __init__(
        self, delegate: HTTPMessageDelegate, chunk_size: int, max_body_size: Callable[[], int]
    ) -> None:
        self._delegate = delegate
        self._chunk_size = chunk_size
        self._max_body_size = max_body_size
        self._decompressor: Any = None  # zlib's Decompress (no public type)
        self._decoded = 0

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        encoding = headers.get("Content-Encoding")
        if encoding is not None and encoding.strip().lower() in ("gzip", "x-gzip"):
            # wbits 16 + MAX_WBITS: a gzip header and trailer (RFC 1952).
            self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            # Downstream delegates only see decoded data.
            headers.add("X-Consumed-Content-Encoding", encoding)
            del headers["Content-Encoding"]
        return self._delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        if self._decompressor is None:
            return self._delegate.data_received(chunk)
        return self._decode(chunk)

    def _decode(self, compressed: bytes) -> Awaitable[None] | None:
        decompressor = self._decompressor
        while compressed:
            try:
                piece = decompressor.decompress(compressed, self._chunk_size)
            except zlib.error as exc:
                raise HTTPInputError(f"Invalid gzip request body: {exc}") from None
            compressed = decompressor.unconsumed_tail
            if decompressor.eof and decompressor.unused_data:
                raise HTTPInputError("Data after the end of a gzip body")
            if piece:
                self._count(len(piece))
                result = self._delegate.data_received(piece)
                if result is not None:
                    # Flow control: the rest waits for the delegate.
                    return self._decode_after(result, compressed)
        return None

    async def _decode_after(self, result: Awaitable[None], compressed: bytes) -> None:
        await result
        rest = self._decode(compressed)
        if rest is not None:
            await rest

    def _count(self, size: int) -> None:
        self._decoded += size
        if self._decoded > self._max_body_size():
            raise BodyTooLargeError("Decompressed body too large")

    def finish(self) -> None:
        decompressor = self._decompressor
        if decompressor is not None:
            tail = decompressor.flush()
            if tail:
                self._count(len(tail))
                self._delegate.data_received(tail)
        self._delegate.finish()

    def on_connection_close(self) -> None:
        self._delegate.on_connection_close()
