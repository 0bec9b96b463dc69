"""Response content decoding (RFC 9110 §8.4): gzip, x-gzip and deflate, bounded.

Sans-I/O.  `ContentDecoder` undoes a chain of content codings as the body
arrives, never producing more than its limit: the limit applies to the
*decoded* size (shared/DESIGN.md §5), and each step asks zlib for at most
one byte more than what is still allowed, so a decompression bomb costs no
more memory than the limit.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

__all__ = ["ACCEPT_ENCODING", "BodyTooLargeError", "ContentDecoder", "DecodeError"]

#: What the client asks for when ``decompress_response`` is true.
ACCEPT_ENCODING = "gzip, deflate"

#: The codings this module decodes (RFC 9110 §8.4.1; ``x-gzip`` is gzip).
_DECODABLE = frozenset({"gzip", "x-gzip", "deflate", "identity"})

_GZIP_MAGIC = b"\x1f\x8b"


class DecodeError(Exception):
    """The body is not valid for its declared content coding (or is truncated)."""


class BodyTooLargeError(Exception):
    """The decoded body exceeds the limit."""


def parse_codings(header: str | None) -> list[str] | None:
    """Return the codings of a ``Content-Encoding`` value, in the order applied.

    None if there is nothing to decode, or if a coding is not one this
    module implements (the body is then left as it came, with its header).
    """
    if not header:
        return None
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    if not codings or any(c not in _DECODABLE for c in codings):
        return None
    codings = [c for c in codings if c != "identity"]
    return codings or None


class _Stage:
    """One coding's decompressor."""

    def __init__(self, coding: str) -> None:
        self.gzip = coding in ("gzip", "x-gzip")
        # Input not consumed yet (zlib's unconsumed_tail, or bytes waiting
        # for a decision below).
        self.pending = b""
        # None before a deflate stream's first two bytes (deflate is the
        # zlib format by the RFC, but some servers send raw deflate), and
        # between the members of a gzip body (RFC 1952 §2.2 allows several).
        self.obj: zlib._Decompress | None = (
            zlib.decompressobj(16 + zlib.MAX_WBITS) if self.gzip else None
        )
        self.fed = False
        self.finished = False

    def _start(self, data: bytes) -> zlib._Decompress | None:
        """Start the next stream on `data`'s first bytes; None if undecided or done."""
        if len(data) < 2:
            self.pending = data
            return None
        if self.gzip:
            if not data.startswith(_GZIP_MAGIC):
                self.finished = True  # trailing bytes after the last member: ignored
                return None
            wbits = 16 + zlib.MAX_WBITS
        else:
            cmf, flg = data[0], data[1]
            is_zlib = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0
            wbits = zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS
        self.obj = zlib.decompressobj(wbits)
        return self.obj

    def decompress(self, data: bytes, max_length: int) -> bytes:
        """Return at most `max_length` bytes of output (more input waits in ``pending``)."""
        if self.pending:
            data, self.pending = self.pending + data, b""
        if self.finished:
            return b""
        obj = self.obj
        if obj is None:
            obj = self._start(data)
            if obj is None:
                return b""
        if data:
            self.fed = True
        try:
            out = obj.decompress(data, max_length)
        except zlib.error as exc:
            raise DecodeError(f"invalid {'gzip' if self.gzip else 'deflate'} data: {exc}") from exc
        self.pending = obj.unconsumed_tail
        if obj.eof:
            if self.gzip:
                self.obj = None
                self.pending = obj.unused_data
            else:
                self.finished = True
                self.pending = b""
        return out

    def finish(self) -> None:
        if self.obj is None:
            if not self.gzip and self.pending:
                raise DecodeError("truncated deflate data")
            return  # nothing received, or a gzip body ended between members
        if self.fed and not self.obj.eof:
            raise DecodeError("truncated compressed data: the body ends too early")


class ContentDecoder:
    """Decode a body coded with `codings` (in the order they were applied).

    `limit` bounds the decoded size; `decode` raises `BodyTooLargeError` as
    soon as it would be exceeded.  Call `finish` at the end of the body.
    """

    def __init__(self, codings: Sequence[str], limit: int) -> None:
        # Decoding undoes the codings in reverse order (RFC 9110 §8.4).
        self._stages = [_Stage(coding) for coding in reversed(codings)]
        self._limit = limit
        self._total = 0

    def decode(self, data: bytes) -> bytes:
        """Return the decoded bytes available after `data` (maybe ``b""``).

        :raises DecodeError: if `data` is invalid for its coding.
        :raises BodyTooLargeError: if the decoded body exceeds the limit.
        """
        allowed = self._limit - self._total
        for stage in self._stages:
            # Asking for one byte more than allowed tells "too large" apart
            # from "exactly the limit"; zlib stops there.
            data = stage.decompress(data, allowed + 1)
            while stage.pending and not stage.finished and len(data) <= allowed:
                # The next member of a multi-member gzip body.
                more = stage.decompress(b"", allowed + 1 - len(data))
                if not more:
                    break
                data += more
            if len(data) > allowed:
                raise BodyTooLargeError(f"the decoded body is larger than {self._limit} bytes")
        self._total += len(data)
        return data

    def finish(self) -> None:
        """Check that every coded stream ended properly.

        :raises DecodeError: if the body was truncated.
        """
        for stage in self._stages:
            stage.finish()
