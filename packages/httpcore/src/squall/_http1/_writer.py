"""Serializing message heads and framing bodies (RFC 9112 §3, §4, §6, §7).

Everything here is pure: it turns what the application passed to
``write_headers`` into the bytes of a head and reports the fields that
decide how the body is framed, so the connection does not look the headers
up again.  Header names and values are checked on the way out (DESIGN.md
§5): a CR or LF in them would let whoever controls the value inject fields
or a whole response (RFC 9110 §5.5), so they raise `HTTPOutputError`.
"""

from __future__ import annotations

import http
import re
from collections.abc import Iterable, Mapping
from typing import Any

from squall._http1 import speedups
from squall.httputil import HTTPHeaders, HTTPOutputError

__all__ = [
    "CONTINUE_RESPONSE",
    "LAST_CHUNK",
    "Fields",
    "error_response",
    "frame_chunk",
    "reason_phrase",
    "response_head",
    "serialize_fields",
    "unencodable",
    "usual_response",
]

_SPEEDUPS = speedups()
#: The compiled module's ``response_head(code, reason, fields, extra, body)``
#: (a response head and `body` as bytes; None when a name is not a token, a
#: value or the reason holds CR, LF or NUL, or a str is not latin-1, for the
#: Python code to raise the precise error) and ``usual_response`` (a
#: server's usual response, whole: see ``_speedups.c``); None when the module
#: is not there (see ``squall._http1.speedups``).
response_head = _SPEEDUPS.response_head if _SPEEDUPS is not None else None
usual_response = _SPEEDUPS.usual_response if _SPEEDUPS is not None else None

#: The interim response a server sends before reading a body the client
#: holds back with ``Expect: 100-continue`` (RFC 9110 §10.1.1).
CONTINUE_RESPONSE = b"HTTP/1.1 100 (Continue)\r\n\r\n"

#: The last chunk and the empty trailer section ending a chunked body
#: (RFC 9112 §7.1).
LAST_CHUNK = b"0\r\n\r\n"

# RFC 9110 §5.1: field-name = token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Serialized field lines (RFC 9112 §5): one regex match checks them all.
_FIELD_LINES = re.compile(r"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [^\r\n\x00]*\r\n)*")

# RFC 9110 §15 names; a few updated phrases of RFC 9110 that older Pythons
# spell differently.
_REASONS: dict[int, str] = {status.value: status.phrase for status in http.HTTPStatus}
_REASONS.update({413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content"})


def reason_phrase(code: int) -> str:
    """Return the standard reason phrase of status `code` ("Unknown" if it has none)."""
    return _REASONS.get(code, "Unknown")


def error_response(status: int) -> bytes:
    """Return a complete, bodiless response with `status` that closes the connection.

    What a server answers when it cannot (or will not) read a request:
    ``Connection: close`` tells the client not to send anything more on
    this connection (RFC 9112 §9.6).
    """
    return (
        f"HTTP/1.1 {status} {reason_phrase(status)}\r\n"
        "Connection: close\r\nContent-Length: 0\r\n\r\n"
    ).encode("latin-1")


#: What `serialize_fields` returns: ``"Name: value\r\n"`` for every field
#: written, in order; then the values of Content-Length, Transfer-Encoding and
#: Connection (None when absent).  A plain tuple: this runs on every response.
Fields = tuple[str, str | None, str | None, str | None]


def serialize_fields(headers: Mapping[str, str] | HTTPHeaders, skip_framing: bool) -> Fields:
    """Serialize `headers` and pick out Content-Length, Transfer-Encoding and Connection.

    `headers` is an `HTTPHeaders` (every value of a repeated field is
    written as a line of its own) or any mapping of names to values.  With
    `skip_framing`, Content-Length and Transfer-Encoding are left out (1xx
    and 204 responses must not have them: RFC 9110 §8.6, RFC 9112 §6.1).

    :raises HTTPOutputError: if a name is not a token or a value contains
        CR, LF or NUL.
    """
    pairs: Iterable[tuple[str, str]]
    if type(headers) is HTTPHeaders or isinstance(headers, HTTPHeaders):
        joined: Mapping[str, str] = headers._dict
        if not headers._lists and not (
            skip_framing and ("Content-Length" in joined or "Transfer-Encoding" in joined)
        ):
            # The common case: no repeated field, so the dict is the field
            # list; joined in C, checked with a set test (names seen
            # before) and three string scans (values: no CR, LF or NUL).
            try:
                block = "\r\n".join(map(": ".join, joined.items()))
            except TypeError:  # a value that is not a str
                block = None
            if block is not None:
                count = len(joined)
                if count:
                    block += "\r\n"
                if (
                    _valid_names.issuperset(joined)
                    and block.count("\n") == count
                    and block.count("\r") == count
                    and "\0" not in block
                ):
                    # (`in` then [] rather than .get(): no call, as this runs per response.)
                    return (
                        block,
                        joined["Content-Length"] if "Content-Length" in joined else None,  # noqa: SIM401
                        joined["Transfer-Encoding"] if "Transfer-Encoding" in joined else None,  # noqa: SIM401
                        joined["Connection"] if "Connection" in joined else None,  # noqa: SIM401
                    )
        # Most headers have no repeated field: the dict is the field list.
        pairs = headers.get_all() if headers._lists else joined.items()
    else:
        joined = {_canonical(name): value for name, value in headers.items()}
        pairs = joined.items()
    content_length = joined["Content-Length"] if "Content-Length" in joined else None  # noqa: SIM401
    transfer_encoding = (
        joined["Transfer-Encoding"] if "Transfer-Encoding" in joined else None  # noqa: SIM401
    )
    if skip_framing and (content_length is not None or transfer_encoding is not None):
        pairs = [
            (name, value)
            for name, value in pairs
            if name not in ("Content-Length", "Transfer-Encoding")
        ]
        content_length = transfer_encoding = None
    lines = [f"{name}: {value}\r\n" for name, value in pairs]
    block = "".join(lines)
    # Every line is a token, ": ", a value without CR, LF or NUL, and CRLF;
    # a CRLF inside a value would make a line of its own, so the number of
    # lines must also be the number of fields.
    if _FIELD_LINES.fullmatch(block) is None or block.count("\n") != len(lines):
        _raise_bad_field(lines)
    _remember_names(joined)
    connection = joined["Connection"] if "Connection" in joined else None  # noqa: SIM401
    return block, content_length, transfer_encoding, connection


#: Header names already checked to be tokens (bounded: emptied when full).
_valid_names: set[str] = set()
_VALID_NAMES_KEPT = 1000


def _remember_names(joined: Mapping[str, str]) -> None:
    """Remember the names of `joined`, all just checked to be tokens."""
    if len(_valid_names) >= _VALID_NAMES_KEPT:
        _valid_names.clear()
    _valid_names.update(joined)


def _canonical(name: str) -> str:
    return "-".join([word.capitalize() for word in name.split("-")])


def _raise_bad_field(lines: list[str]) -> None:
    for line in lines:
        name, _, value = line[:-2].partition(": ")
        if _TOKEN.fullmatch(name) is None:
            raise HTTPOutputError(f"Invalid header name {name[:64]!r}")
        if "\r" in value or "\n" in value or "\0" in value:
            raise HTTPOutputError(f"Unsafe value for header {name!r} (CR, LF or NUL)")
    raise HTTPOutputError("Unsafe header field")  # pragma: no cover - found above


def encode_head(text: str) -> bytes:
    """Encode a head as latin-1 (RFC 9110 §5.5), as `HTTPOutputError` if it cannot be."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise unencodable(exc) from None


def unencodable(error: UnicodeEncodeError) -> HTTPOutputError:
    """The `HTTPOutputError` of a head that latin-1 cannot encode (`error` says where)."""
    return HTTPOutputError(
        f"Header or start line not encodable as latin-1: {error.object[error.start : error.end]!r}"
    )


def frame_chunk(chunk: Any) -> bytes:
    """Return `chunk` (bytes-like, not empty) framed as one chunk (RFC 9112 §7.1)."""
    return b"%x\r\n%b\r\n" % (len(chunk), chunk)
