"""Tests of the compiled module ``squall._http1._speedups`` against its contracts.

The contracts are in the header comment of ``_speedups.c``; the pure-Python
code is the reference for each function:

- ``parse_request_head``: argument errors, every head it must pass on to
  the reference (None), what it accepts and how it splits it (a finished
  `RequestHead`, also for the common Connection and Content-Length fields,
  or the 4-tuple when a field needs the reference's semantics), the limits
  exactly at and beyond their bounds, interned strings; and every
  one-byte substitution, insertion and deletion of a few heads against the
  reference's ``_parse_request`` (None, or its head or split);
- ``take_request_head``: the head taken from the buffer (the rest left), or
  None and the buffer untouched (no head yet, a leading empty line, a limit,
  a head the split passes on), the limits read before the buffer;
- ``response_head`` and ``usual_response``: exact bytes, None for every
  unusual value and for each of ``usual_response``'s conditions, and a
  property: on random headers, ``usual_response`` gives exactly the bytes
  (and remaining length) that an `HTTP1Connection` writes without it, and
  None when that connection raises `HTTPOutputError` or does not take the
  usual path;
- reference counts: 10,000 calls leak neither the inputs nor the interned
  strings.

The module must be importable wherever the suite runs (the check builds it):
a missing module fails these tests, unless ``SQUALL_NO_EXTENSIONS`` is set.
"""

from __future__ import annotations

import gc
import http
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from squall._http1 import (
    EXTENSIONS_ALLOWED,
    Limits,
    ParseError,
    PyParser,
    RequestHead,
    _conn_writing,
)
from squall.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from squall.httputil import HTTPHeaders, HTTPOutputError, ResponseStartLine
from squall.iostream import IOStream

if not EXTENSIONS_ALLOWED:
    pytest.skip(
        "SQUALL_NO_EXTENSIONS is set: the compiled module is not used", allow_module_level=True
    )

# Imported directly: a module that is not built fails here, it is not skipped.
from squall._http1 import _speedups

_speedups.configure(RequestHead)  # as squall._http1._cparser does

parse_request_head = _speedups.parse_request_head
response_head = _speedups.response_head
usual_response = _speedups.usual_response


def parse(
    head: bytes | bytearray | memoryview, max_start_line: int = 8192, max_headers: int = 200
) -> object:
    return parse_request_head(head, max_start_line, max_headers)


def reference_head(wire: bytes) -> object:
    """The head the pure-Python parser makes of `wire` (a whole head)."""
    return PyParser(False)._parse_request(bytearray(wire))


def plain_head(
    method: str, target: str, version: str, fields: list[tuple[str, str]]
) -> RequestHead:
    """A request head without a body, as the reference makes it."""
    return RequestHead(
        method, target, version, fields, version == "HTTP/1.1", 0, False, False, False
    )


# -- parse_request_head: arguments ---------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("GET / HTTP/1.1\r\n\r\n", 100, 10),  # str
        (None, 100, 10),
        (12345, 100, 10),
        (b"GET / HTTP/1.1\r\n\r\n", "100", 10),
        (b"GET / HTTP/1.1\r\n\r\n", 100, None),
        (b"GET / HTTP/1.1\r\n\r\n", 100),
        (b"GET / HTTP/1.1\r\n\r\n", 100, 10, 0),
        (),
    ],
)
def test_parse_request_head_type_errors(args: tuple[object, ...]) -> None:
    with pytest.raises(TypeError):
        cast(Callable[..., object], parse_request_head)(*args)


# -- parse_request_head: what it passes on ---------------------------------------

PASSED_ON = {
    "no empty line": b"GET / HTTP/1.1\r\nHost: a\r\n",
    "one CRLF": b"GET / HTTP/1.1\r\n",
    "LF LF": b"GET / HTTP/1.1\n\n",
    "empty": b"",
    "short": b"\r\n\r\n",
    "empty method": b" / HTTP/1.1\r\n\r\n",
    "two spaces after the method": b"GET  / HTTP/1.1\r\n\r\n",
    "two spaces after the target": b"GET /  HTTP/1.1\r\n\r\n",
    "a space before the method": b" GET / HTTP/1.1\r\n\r\n",
    "a space at the end": b"GET / HTTP/1.1 \r\n\r\n",
    "tab after the method": b"GET\t/ HTTP/1.1\r\n\r\n",
    "tab after the target": b"GET /\tHTTP/1.1\r\n\r\n",
    "asterisk-form": b"OPTIONS * HTTP/1.1\r\n\r\n",
    "absolute-form": b"GET http://a/ HTTP/1.1\r\n\r\n",
    "authority-form": b"CONNECT a:1 HTTP/1.1\r\n\r\n",
    "authority-form with GET": b"GET a:1 HTTP/1.1\r\n\r\n",
    "CONNECT": b"CONNECT /a HTTP/1.1\r\nHost: a\r\n\r\n",
    "HTTP/2.0": b"GET / HTTP/2.0\r\n\r\n",
    "HTTP/1.2": b"GET / HTTP/1.2\r\n\r\n",
    "HTTP/0.9": b"GET / HTTP/0.9\r\n\r\n",
    "lowercase version": b"GET / http/1.1\r\n\r\n",
    "no version": b"GET /\r\n\r\n",
    "a long version": b"GET / HTTP/1.10\r\n\r\n",
    "non-token method": b"G(T / HTTP/1.1\r\n\r\n",
    "obs-text method": b"G\xe9T / HTTP/1.1\r\n\r\n",
    "DEL in the target": b"GET /a\x7fb HTTP/1.1\r\n\r\n",
    "NUL in the target": b"GET /a\x00b HTTP/1.1\r\n\r\n",
    "whitespace before a colon": b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "tab before a colon": b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",
    "obs-fold": b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
    "obs-fold with a tab": b"GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n",
    "empty name": b"GET / HTTP/1.1\r\n: b\r\n\r\n",
    "no colon": b"GET / HTTP/1.1\r\nA b\r\n\r\n",
    "non-token name": b"GET / HTTP/1.1\r\nA(b: c\r\n\r\n",
    "obs-text name": b"GET / HTTP/1.1\r\nA\xe9: c\r\n\r\n",
    "bare CR in a value": b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
    "CR CR LF": b"GET / HTTP/1.1\r\nA: b\r\r\n\r\n",
    "bare CR in the start line": b"GET /\r HTTP/1.1\r\n\r\n",
    "NUL in a value": b"GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n",
    "CTL in a value": b"GET / HTTP/1.1\r\nA: b\x01c\r\n\r\n",
    "VT in a value": b"GET / HTTP/1.1\r\nA: \x0b\r\n\r\n",
    "DEL in a value": b"GET / HTTP/1.1\r\nA: b\x7fc\r\n\r\n",
    "bare LF between fields": b"GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n",
    "bare LF ending the start line": b"GET / HTTP/1.1\nA: b\r\n\r\n",
    "a line starting with CR": b"GET / HTTP/1.1\r\n\rA: b\r\n\r\n",
    "an empty line inside": b"GET / HTTP/1.1\r\n\r\nA: b\r\n\r\n",
    "leading CRLF": b"\r\nGET / HTTP/1.1\r\n\r\n",
}


@pytest.mark.parametrize("head", PASSED_ON.values(), ids=PASSED_ON.keys())
def test_parse_request_head_passes_on(head: bytes) -> None:
    assert parse(head) is None
    assert parse(bytearray(head)) is None


def test_start_line_limit() -> None:
    head = b"GET /abc HTTP/1.1\r\nHost: a\r\n\r\n"
    size = len(b"GET /abc HTTP/1.1")
    assert parse(head, max_start_line=size) == plain_head(
        "GET", "/abc", "HTTP/1.1", [("Host", "a")]
    )
    assert parse(head, max_start_line=size - 1) is None
    assert parse(head, max_start_line=0) is None


def test_field_count_limit() -> None:
    head = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
    fields = [("A", "1"), ("B", "2"), ("C", "3")]
    assert parse(head, max_headers=3) == plain_head("GET", "/", "HTTP/1.1", fields)
    assert parse(head, max_headers=2) is None
    assert parse(head, max_headers=0) is None
    assert parse(b"GET / HTTP/1.1\r\n\r\n", max_headers=0) == plain_head(
        "GET", "/", "HTTP/1.1", []
    )
    # Semantic fields count too.
    semantic = b"GET / HTTP/1.1\r\nConnection: close\r\nA: 1\r\n\r\n"
    assert parse(semantic, max_headers=1) is None
    assert parse(semantic, max_headers=2) is not None


# -- parse_request_head: what it accepts -----------------------------------------


def test_plain_heads() -> None:
    head = parse(b"GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n")
    assert type(head) is RequestHead
    assert head == plain_head("GET", "/x", "HTTP/1.1", [("Host", "a"), ("User-Agent", "t")])
    assert head.keep_alive is True
    assert head.content_length == 0
    old = parse(b"POST /x HTTP/1.0\r\n\r\n")
    assert type(old) is RequestHead
    assert old == plain_head("POST", "/x", "HTTP/1.0", [])
    assert old.keep_alive is False
    assert type(old.headers) is list


def test_smallest_head() -> None:
    assert parse(b"A / HTTP/1.1\r\n\r\n") == plain_head("A", "/", "HTTP/1.1", [])


def test_obs_text_and_query() -> None:
    head = parse(b"GET /caf\xe9?q=\xff&r=%20 HTTP/1.1\r\nX-A: \x80\xff v\xe9\r\n\r\n")
    assert head == plain_head(
        "GET", "/caf\xe9?q=\xff&r=%20", "HTTP/1.1", [("X-A", "\x80\xff v\xe9")]
    )


def test_ows_and_empty_values() -> None:
    head = parse(b"GET / HTTP/1.1\r\nA: \t b \t c \t\r\nB:\r\nC:   \r\nD:\t\r\nE:x\r\n\r\n")
    fields = [("A", "b \t c"), ("B", ""), ("C", ""), ("D", ""), ("E", "x")]
    assert head == plain_head("GET", "/", "HTTP/1.1", fields)


def test_bytes_like_heads() -> None:
    data = b"DELETE /a?b HTTP/1.1\r\nHost: h\r\nCookie: c=1\r\n\r\n"
    expected = plain_head("DELETE", "/a?b", "HTTP/1.1", [("Host", "h"), ("Cookie", "c=1")])
    assert parse(data) == expected
    assert parse(bytearray(data)) == expected
    assert parse(memoryview(data)) == expected
    assert parse(memoryview(b"-" + data + b"-")[1:-1]) == expected


def test_methods_and_tokens() -> None:
    for method in ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "M-SEARCH", "x~!"]:
        head = parse(f"{method} / HTTP/1.1\r\n\r\n".encode())
        assert head == plain_head(method, "/", "HTTP/1.1", [])
    name = "!#$%&'*+-.^_`|~09azAZ"
    head = parse(f"GET / HTTP/1.1\r\n{name}: v\r\n\r\n".encode())
    assert head == plain_head("GET", "/", "HTTP/1.1", [(name, "v")])


SEMANTIC = [
    "CONTENT-LENGTH: x",
    "Content-Length: +5",
    "Content-Length: 1234567890123456789",  # 19 digits
    "Content-Length: 5\r\ncontent-length: 5",
    "Transfer-Encoding: chunked",
    "TRANSFER-encoding: gzip",
    "CONNECTION: upgrade",
    "Connection: CLOSE",
    "Connection: keep-alive, close",
    "Connection: close\r\nConnection: close",
    "Expect: 100-continue",
    "EXPECT: x",
    "Upgrade: websocket",
    "upgrade: h2c",
    "Host: a\r\nhost: b",
    "HOST: a\r\nHost: a",
    "hOsT: a\r\nX: 1\r\nHOST: b",
]


@pytest.mark.parametrize("lines", SEMANTIC)
@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_semantic_fields_give_the_split(lines: str, version: str) -> None:
    result = parse(f"PUT /p {version}\r\n{lines}\r\n\r\n".encode())
    fields = [tuple(line.split(": ", 1)) for line in lines.split("\r\n")]
    assert type(result) is tuple
    assert result == ("PUT", "/p", version, fields)


#: Fields decided in C: (lines, keep_alive for HTTP/1.1 and 1.0, content_length).
COMMON_SEMANTIC = [
    ("Connection: close", (False, False), 0),
    ("Connection: Close", (False, False), 0),
    ("connection: keep-alive", (True, True), 0),
    ("CONNECTION: Keep-Alive", (True, True), 0),
    ("Content-Length: 0", (True, False), 0),
    ("content-length: 5", (True, False), 5),
    ("Content-Length: 007", (True, False), 7),
    ("Content-Length: 123456789012345678", (True, False), 123456789012345678),
    ("Host: h\r\nContent-Length: 3\r\nConnection: close", (False, False), 3),
    ("Connection: keep-alive\r\nContent-Length: 12", (True, True), 12),
]


@pytest.mark.parametrize(("lines", "keep_alive", "length"), COMMON_SEMANTIC)
@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_common_semantic_fields_give_a_head(
    lines: str, keep_alive: tuple[bool, bool], length: int, version: str
) -> None:
    # One Connection of keep-alive or close and one valid Content-Length are
    # decided in C, as the reference decides them.
    wire = f"PUT /p {version}\r\n{lines}\r\n\r\n".encode()
    fields = [cast(tuple[str, str], tuple(line.split(": ", 1))) for line in lines.split("\r\n")]
    alive = keep_alive[0] if version == "HTTP/1.1" else keep_alive[1]
    expected = RequestHead("PUT", "/p", version, fields, alive, length, False, False, False)
    head = parse(wire)
    assert type(head) is RequestHead
    assert head == expected
    assert reference_head(wire) == expected


@pytest.mark.parametrize(
    "name",
    ["Host", "HOST", "host", "Hosts", "Content-Lengths", "X-Connection", "Expec", "Upgrades"],
)
def test_plain_fields_give_a_head(name: str) -> None:
    head = parse(f"GET / HTTP/1.1\r\n{name}: 1\r\n\r\n".encode())
    assert type(head) is RequestHead
    assert head == plain_head("GET", "/", "HTTP/1.1", [(name, "1")])


def test_common_strings_are_interned() -> None:
    names = [
        "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Content-Type",
        "Cookie", "Cache-Control", "Authorization", "Referer", "Origin", "Pragma",
        "If-None-Match", "If-Modified-Since", "Upgrade-Insecure-Requests", "X-Forwarded-For",
        "X-Forwarded-Proto", "X-Real-Ip", "X-Requested-With", "Sec-Fetch-Dest",
        "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "user-agent", "accept",
        "accept-encoding", "accept-language", "content-type", "cookie",
    ]  # fmt: skip
    lines = "".join(f"{name}: v\r\n" for name in names)
    for method in ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"]:
        data = f"{method} / HTTP/1.1\r\n{lines}\r\n".encode()
        first, second = parse(data), parse(bytearray(data))
        assert isinstance(first, RequestHead)
        assert isinstance(second, RequestHead)
        assert first.method is second.method
        assert first.version is second.version
        for (name1, _), (name2, _), name in zip(first.headers, second.headers, names, strict=True):
            assert name1 == name
            assert name1 is name2, name
    for name in ["Connection", "Content-Length", "connection", "content-length"]:
        data = f"GET / HTTP/1.0\r\n{name}: 1\r\n\r\n".encode()
        split1, split2 = parse(data), parse(data)
        assert isinstance(split1, tuple)
        assert isinstance(split2, tuple)
        assert split1[2] is split2[2]
        assert split1[3][0][0] is split2[3][0][0], name


def test_configure_needs_a_tuple_type() -> None:
    with pytest.raises(TypeError):
        _speedups.configure(cast(Any, int))
    with pytest.raises(TypeError):
        _speedups.configure(cast(Any, ("not", "a", "type")))
    # The failed calls changed nothing.
    assert type(parse(b"GET / HTTP/1.1\r\n\r\n")) is RequestHead


# -- parse_request_head against the reference, byte by byte ----------------------

BASE_HEADS = [
    b"GET /p?q=1 HTTP/1.1\r\nHost: a\r\nX-A: \xe9 b\r\n\r\n",
    b"POST / HTTP/1.0\r\nContent-Length: 1\r\nConnection: close\r\n\r\n",
    b"M /\xff HTTP/1.1\r\nA:\t\r\nhost: b \r\n\r\n",
]


class ReferenceSplit(PyParser):
    """The reference's split of a request head, before its semantic checks."""

    split: tuple[str, str, str, list[tuple[str, str]]] | None = None

    def _request_head(
        self, method: str, target: str, version: str, fields: list[tuple[str, str]]
    ) -> RequestHead:
        self.split = (method, target, version, fields)
        return PyParser._request_head(self, method, target, version, fields)


def check_against_reference(head: bytes, limits: Limits) -> None:
    """parse_request_head(head) is None, or what the reference makes of it."""
    result = parse(head, limits.max_start_line, limits.max_headers)
    if result is None:
        return
    reference = ReferenceSplit(False, limits)
    if type(result) is RequestHead:
        assert reference._parse_request(bytearray(head)) == result, head
    else:
        try:
            reference._parse_request(bytearray(head))
        except ParseError:
            pass  # a semantic error: the split is what counts here
        assert result == reference.split, head


def variants(head: bytes) -> Iterator[bytes]:
    """Every single-byte substitution, insertion and deletion in ``head``."""
    for at in range(len(head) + 1):
        if at < len(head):
            yield head[:at] + head[at + 1 :]
        for byte in range(256):
            yield head[:at] + bytes([byte]) + head[at:]
            if at < len(head):
                yield head[:at] + bytes([byte]) + head[at + 1 :]


@pytest.mark.parametrize("head", BASE_HEADS)
def test_every_one_byte_change(head: bytes) -> None:
    # Limits just at the base head's sizes, so that a byte more crosses them.
    line = head.index(b"\r\n")
    tight = Limits(max_start_line=line, max_headers=2)
    for variant in variants(head):
        check_against_reference(variant, Limits())
        check_against_reference(variant, tight)


# -- take_request_head ------------------------------------------------------------

take_request_head = _speedups.take_request_head


def test_take_request_head() -> None:
    head = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    expected = plain_head("GET", "/a", "HTTP/1.1", [("Host", "h")])
    buffer = bytearray(head)
    assert take_request_head(buffer, 0, Limits()) == expected
    assert buffer == b""
    # Pipelined: the rest stays, and the next head is taken from it.
    rest = b"POST /b HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi"
    buffer = bytearray(head + rest)
    assert take_request_head(buffer, 0, Limits()) == expected
    assert buffer == rest
    assert take_request_head(buffer, 0, Limits()) == RequestHead(
        "POST", "/b", "HTTP/1.0", [("Content-Length", "2")], False, 2, False, False, False
    )
    assert buffer == b"hi"  # the body is the parser's to read
    buffer = bytearray(b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n")
    assert take_request_head(buffer, 0, Limits()) == (
        "GET",
        "/",
        "HTTP/1.1",
        [("Expect", "100-continue")],
    )
    assert buffer == b""
    # `scan`: where the search for the empty line resumes.
    buffer = bytearray(head)
    assert take_request_head(buffer, len(head) - 4, Limits()) == expected
    assert buffer == b""


def test_take_request_head_limits() -> None:
    head = b"GET /abc HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n"
    line = len(b"GET /abc HTTP/1.1")
    expected = plain_head("GET", "/abc", "HTTP/1.1", [("A", "1"), ("B", "2")])
    limits = Limits(max_header_size=len(head), max_start_line=line, max_headers=2)
    for too_small in [
        Limits(max_header_size=len(head) - 1, max_start_line=line, max_headers=2),
        Limits(max_header_size=len(head), max_start_line=line - 1, max_headers=2),
        Limits(max_header_size=len(head), max_start_line=line, max_headers=1),
    ]:
        buffer = bytearray(head + b"next")
        assert take_request_head(buffer, 0, too_small) is None
        assert buffer == head + b"next"
    buffer = bytearray(head + b"next")
    assert take_request_head(buffer, 0, limits) == expected
    assert buffer == b"next"


@pytest.mark.parametrize(
    ("data", "scan"),
    [
        (b"GET / HTTP/1.1\r\nHost: a\r\n", 0),  # no empty line yet
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r", 0),
        (b"\r\nGET / HTTP/1.1\r\n\r\n", 0),  # an empty line first: the reference's
        (b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0),
        (b"GET / HTTP/1.1\r\n\r\n", 19),  # scan beyond the buffer
        (b"GET / HTTP/1.1\r\n\r\n", 17),  # nothing found from scan
        (b"GET / HTTP/1.1\r\n\r\n", -1),
        (b"GET http://a/ HTTP/1.1\r\n\r\n", 0),  # not accepted by the split
        (b"GET / HTTP/1.1\r\nA : b\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0),
        (b"GET / HTTP/1.1\nA: b\r\n\r\n", 0),
        (b"", 0),
    ],
)
def test_take_request_head_passes_on(data: bytes, scan: int) -> None:
    buffer = bytearray(data)
    assert take_request_head(buffer, scan, Limits()) is None
    assert buffer == data


def test_take_request_head_errors() -> None:
    take = cast(Callable[..., object], take_request_head)
    head = b"GET / HTTP/1.1\r\n\r\n"
    for args in [
        (head, 0, Limits()),  # bytes: the parser's buffer is a bytearray
        (memoryview(bytearray(head)), 0, Limits()),
        (bytearray(head), "0", Limits()),
        (bytearray(head), 0),
        (bytearray(head), 0, Limits(), 0),
    ]:
        with pytest.raises(TypeError):
            take(*args)
    with pytest.raises(AttributeError):
        take(bytearray(head), 0, object())
    with pytest.raises(ValueError, match="negative"):
        take(bytearray(head), 0, Limits(max_headers=-1))


@dataclass
class BufferChangingLimits:
    """Limits whose reading changes the parser's buffer (Python code runs)."""

    buffer: bytearray
    replacement: bytes

    @property
    def max_header_size(self) -> int:
        self.buffer[:] = self.replacement
        return 1000

    max_start_line = 100
    max_headers = 10


@pytest.mark.parametrize(
    "replacement", [b"", b"GET / HTTP/1.1\r\n", b"PUT /other HTTP/1.0\r\n\r\n" * 20]
)
def test_take_request_head_reads_the_buffer_after_the_limits(replacement: bytes) -> None:
    buffer = bytearray(b"GET /original HTTP/1.1\r\n\r\n")
    result = take_request_head(buffer, 0, cast(Limits, BufferChangingLimits(buffer, replacement)))
    if replacement[:3] == b"PUT":
        assert result == plain_head("PUT", "/other", "HTTP/1.0", [])
        assert buffer == replacement[len(replacement) // 20 :]
    else:
        assert result is None
        assert buffer == replacement


# -- response_head -------------------------------------------------------------


def test_response_head_bytes() -> None:
    fields = {"Content-Type": "text/plain", "Content-Length": "2"}
    assert (
        response_head(200, "OK", fields, "", b"hi")
        == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
    )
    assert response_head(404, "Not Found", {}, "", None) == b"HTTP/1.1 404 Not Found\r\n\r\n"
    assert response_head(100, "Continue", {}, "", b"") == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert response_head(999, "x", {"A": ""}, "", None) == b"HTTP/1.1 999 x\r\nA: \r\n\r\n"
    assert response_head(200, "", {}, "", None) == b"HTTP/1.1 200 \r\n\r\n"
    latin = response_head(200, "caf\xe9", {"X-\xc9": "x"}, "", None)
    assert latin is None  # a name must be a token: "É" is not
    assert (
        response_head(200, "caf\xe9", {"X": "\xe9\xff\t "}, "", None)
        == b"HTTP/1.1 200 caf\xe9\r\nX: \xe9\xff\t \r\n\r\n"
    )
    assert response_head(http.HTTPStatus.OK, "OK", {}, "", None) == b"HTTP/1.1 200 OK\r\n\r\n"


def test_response_head_extra_lines() -> None:
    # `extra` is the lines the connection adds (each ending with CRLF).
    assert (
        response_head(200, "OK", {"A": "b"}, "Connection: close\r\n", b"hi")
        == b"HTTP/1.1 200 OK\r\nA: b\r\nConnection: close\r\n\r\nhi"
    )
    assert (
        response_head(200, "OK", {}, "Transfer-Encoding: chunked\r\nConnection: close\r\n", None)
        == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )


@pytest.mark.parametrize(
    "body", [b"body", bytearray(b"body"), memoryview(b"body"), memoryview(b"xbodyx")[1:5]]
)
def test_response_head_bodies(body: Any) -> None:
    assert response_head(200, "OK", {}, "", body) == b"HTTP/1.1 200 OK\r\n\r\nbody"


UNUSUAL_FIELDS: list[dict[Any, Any]] = [
    {"": "v"},
    {"A B": "v"},
    {"A:": "v"},
    {"A\r\nB": "v"},
    {"\xc4": "v"},  # latin-1, not a token
    {"\u20ac": "v"},
    {"A": "b\rc"},
    {"A": "b\nc"},
    {"A": "b\x00c"},
    {"A": "\r\n"},
    {"A": "\u20ac"},  # not latin-1
    {"A": "\U0001f600"},
    {"A": 5},
    {"A": None},
    {"A": b"v"},
    {5: "v"},
    {"B": "ok", "A": "b\nc"},  # not only the first field is checked
]


@pytest.mark.parametrize("fields", UNUSUAL_FIELDS, ids=repr)
def test_response_head_unusual_fields(fields: dict[str, str]) -> None:
    assert response_head(200, "OK", fields, "", None) is None


@pytest.mark.parametrize("reason", ["a\rb", "a\nb", "a\x00b", "\u20ac", 5, None])
def test_response_head_unusual_reasons(reason: Any) -> None:
    assert response_head(200, reason, {}, "", None) is None
    assert response_head(200, "\xe9", {}, "", None) == b"HTTP/1.1 200 \xe9\r\n\r\n"


@pytest.mark.parametrize(
    "code", [99, 0, -200, 1000, 2**70, -(2**70), "200", 200.0, None, b"200"], ids=repr
)
def test_response_head_unusual_codes(code: Any) -> None:
    assert response_head(code, "OK", {}, "", None) is None


def test_response_head_errors() -> None:
    head = cast(Callable[..., object], response_head)
    with pytest.raises(TypeError):
        head(200, "OK", [("A", "b")], "", None)  # not a dict
    with pytest.raises(TypeError):
        head(200, "OK", {}, "")
    with pytest.raises(TypeError):
        head(200, "OK", {}, "", "body")  # not bytes-like


# -- usual_response --------------------------------------------------------------

GET11 = RequestHead("GET", "/", "HTTP/1.1", [], True, 0, False, False, False)
OK = ResponseStartLine("HTTP/1.1", 200, "OK")
LENGTH5 = {"Content-Length": "5", "Content-Type": "text/plain"}
HEAD5 = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n"


def test_usual_response_bytes() -> None:
    assert usual_response(GET11, OK, LENGTH5, b"hello", False) == (HEAD5 + b"hello", 0)
    assert usual_response(GET11, OK, LENGTH5, b"he", False) == (HEAD5 + b"he", 3)
    assert usual_response(GET11, OK, LENGTH5, b"", False) == (HEAD5, 5)
    assert usual_response(GET11, OK, LENGTH5, None, False) == (HEAD5, 5)
    assert usual_response(GET11, OK, {"Content-Length": "0"}, None, False) == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        0,
    )
    long = "9" * 18
    assert usual_response(GET11, OK, {"Content-Length": long}, b"ab", False) == (
        f"HTTP/1.1 200 OK\r\nContent-Length: {long}\r\n\r\nab".encode(),
        10**18 - 1 - 2,
    )
    assert usual_response(GET11, OK, {"Content-Length": "007"}, b"ab", False) == (
        b"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\nab",
        5,
    )


@pytest.mark.parametrize(
    "body", [b"hello", bytearray(b"hello"), memoryview(b"hello"), memoryview(b"-hello-")[1:6]]
)
def test_usual_response_bodies(body: Any) -> None:
    assert usual_response(GET11, OK, LENGTH5, body, False) == (HEAD5 + b"hello", 0)


def test_usual_response_codes() -> None:
    for code in [200, 201, 206, 299, 301, 404, 500, 999]:
        line = ResponseStartLine("HTTP/1.1", code, "R")
        result = usual_response(GET11, line, {"Content-Length": "1"}, b"x", False)
        assert result == (f"HTTP/1.1 {code} R\r\nContent-Length: 1\r\n\r\nx".encode(), 0)
    line = ResponseStartLine("HTTP/1.1", http.HTTPStatus.OK, "OK")
    assert usual_response(GET11, line, LENGTH5, b"hello", False) == (HEAD5 + b"hello", 0)
    # The request's strings need not be the interned ones.
    version, method = "".join(["HTTP/", "1.1"]), "".join(["G", "ET"])
    request = GET11._replace(method=method, version=version)
    assert usual_response(request, OK, LENGTH5, b"hello", False) == (HEAD5 + b"hello", 0)


def _not_usual() -> Iterator[tuple[str, RequestHead, ResponseStartLine, dict[str, Any], Any, Any]]:
    yield "HEAD", GET11._replace(method="HEAD"), OK, LENGTH5, None, False
    yield (
        "HEAD (not interned)",
        GET11._replace(method="".join(["HE", "AD"])),
        OK,
        LENGTH5,
        None,
        False,
    )
    yield "HTTP/1.0", GET11._replace(version="HTTP/1.0"), OK, LENGTH5, None, False
    yield (
        "HTTP/1.0 kept alive",
        GET11._replace(version="HTTP/1.0", keep_alive=True),
        OK,
        LENGTH5,
        None,
        False,
    )
    yield "not kept alive", GET11._replace(keep_alive=False), OK, LENGTH5, None, False
    yield "no_keep_alive", GET11, OK, LENGTH5, None, True
    yield "no_keep_alive=1", GET11, OK, LENGTH5, None, 1
    for code in [100, 101, 103, 199, 204, 304]:
        yield f"code {code}", GET11, OK._replace(code=code), LENGTH5, None, False
    yield "code 1000", GET11, OK._replace(code=1000), LENGTH5, None, False
    yield "code 2**70", GET11, OK._replace(code=2**70), LENGTH5, None, False
    yield "code str", GET11, OK._replace(code=cast(int, "200")), LENGTH5, None, False
    yield "empty reason", GET11, OK._replace(reason=""), LENGTH5, None, False
    yield "reason not str", GET11, OK._replace(reason=cast(str, None)), LENGTH5, None, False
    yield "reason with CR LF", GET11, OK._replace(reason="O\r\nK"), LENGTH5, None, False
    yield "reason not latin-1", GET11, OK._replace(reason="\u20ac"), LENGTH5, None, False
    yield "no Content-Length", GET11, OK, {"Content-Type": "text/plain"}, None, False
    for value in ["", "x", "5x", "+5", "-5", " 5", "5 ", "1" * 19, "\u0663", "\xb2", "0x5", "5.0"]:
        yield f"Content-Length {value!r}", GET11, OK, {"Content-Length": value}, None, False
    yield "Content-Length int", GET11, OK, {"Content-Length": 5}, None, False
    yield "lowercase content-length", GET11, OK, {"content-length": "5"}, None, False
    for connection in ["keep-alive", "close", ""]:
        yield (
            f"Connection {connection!r}",
            GET11,
            OK,
            {**LENGTH5, "Connection": connection},
            None,
            False,
        )
    yield "body longer", GET11, OK, LENGTH5, b"hello!", False
    yield "body longer than 0", GET11, OK, {"Content-Length": "0"}, b"x", False
    yield "invalid name", GET11, OK, {**LENGTH5, "A B": "c"}, None, False
    yield "value with LF", GET11, OK, {**LENGTH5, "A": "b\nc"}, None, False
    yield "value not latin-1", GET11, OK, {**LENGTH5, "A": "\u20ac"}, None, False
    yield "value not str", GET11, OK, {**LENGTH5, "A": 1}, None, False


NOT_USUAL = list(_not_usual())


@pytest.mark.parametrize(
    ("request_head", "start_line", "fields", "body", "no_keep_alive"),
    [case[1:] for case in NOT_USUAL],
    ids=[case[0] for case in NOT_USUAL],
)
def test_usual_response_conditions(
    request_head: RequestHead,
    start_line: ResponseStartLine,
    fields: dict[str, str],
    body: Any,
    no_keep_alive: Any,
) -> None:
    assert usual_response(request_head, start_line, fields, body, no_keep_alive) is None


def test_usual_response_errors() -> None:
    usual = cast(Callable[..., object], usual_response)
    with pytest.raises(TypeError):
        usual(None, OK, LENGTH5, None, False)
    with pytest.raises(TypeError):
        usual(GET11[:4], OK, LENGTH5, None, False)
    with pytest.raises(TypeError):
        usual(GET11, ("HTTP/1.1", 200), LENGTH5, None, False)
    with pytest.raises(TypeError):
        usual(GET11, OK, list(LENGTH5.items()), None, False)
    with pytest.raises(TypeError):
        usual(GET11, OK, LENGTH5, None)
    with pytest.raises(TypeError):
        usual(GET11, OK, LENGTH5, "hello", False)


# -- usual_response against the Python writer -----------------------------------


class FakeStream:
    """What a server-side `HTTP1Connection` uses of its stream to write a head."""

    max_buffer_size = 1 << 20

    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class Written:
    """What `HTTP1Connection.write_headers` did: its bytes and state, or its error."""

    data: bytes | None
    remaining: int | None = None
    adds_lines: bool = False  # framing or persistence the connection decided


def write_headers(
    request: RequestHead,
    start_line: ResponseStartLine,
    headers: HTTPHeaders,
    body: Any,
    no_keep_alive: bool,
) -> Written:
    stream = FakeStream()
    params = HTTP1ConnectionParameters(no_keep_alive=no_keep_alive)
    connection = HTTP1Connection(cast(IOStream, stream), False, params)
    connection._request_head = request
    try:
        connection.write_headers(start_line, headers, body)
    except HTTPOutputError:
        return Written(None)
    head = stream.written.partition(b"\r\n\r\n")[0]
    adds_lines = (
        connection._chunking
        or connection._bodiless
        or connection._disconnect_on_finish
        or b"\r\nConnection:" in head  # (the headers have none when it matters)
    )
    return Written(stream.written, connection._remaining, adds_lines)


def python_write_headers(*args: Any) -> Written:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_conn_writing, "_usual_response", None)
        return write_headers(*args)


_LENGTH = re.compile(r"[0-9]{1,18}")

#: Mostly what applications send, sometimes what must be passed on.
usual_bias = st.sampled_from([True, True, True, False])
TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
usual_names = st.sampled_from(["Content-Type", "Server", "Date", "X-A", "ETag"]) | st.text(
    TOKEN_CHARS, min_size=1, max_size=8
)
unusual_names = st.sampled_from(
    ["", "A B", "A:", "\xc4", "\u20ac", "a\r\nb", "Connection", "CONNECTION", "content-length"]
)
usual_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
    | st.just("\t"),
    max_size=10,
)
unusual_values = st.text(st.characters(max_codepoint=0xFF), max_size=6) | st.sampled_from(
    ["\u20ac", "a\r\nX: y", "\x00", "\n", "keep-alive", "close"]
)
unusual_lengths = st.sampled_from(
    ["0", "9" * 18, "1" * 19, "+5", "-1", " 5", "5 ", "", "x", "\u0663", "\xb2", "5" * 40]
)


@st.composite
def responses(draw: st.DrawFn) -> tuple[RequestHead, ResponseStartLine, HTTPHeaders, Any, bool]:
    """A request, a response to it: mostly usual, each condition sometimes not."""
    method = draw(
        st.sampled_from(["GET", "POST"]) if draw(usual_bias) else st.sampled_from(["HEAD", "PUT"])
    )
    if draw(st.booleans()):
        method = "".join(list(method))  # a copy, not the interned string
    version = "HTTP/1.1" if draw(usual_bias) else "HTTP/1.0"
    request = RequestHead(method, "/", version, [], draw(usual_bias), 0, False, False, False)
    code = draw(
        st.sampled_from([200, 201, 404, 500, http.HTTPStatus.OK, http.HTTPStatus.NOT_FOUND])
        if draw(usual_bias)
        else st.sampled_from([100, 101, 199, 204, 304, 999, 1000]) | st.integers(100, 999)
    )
    reason = draw(
        st.sampled_from(["OK", "Not Found", "caf\xe9", " "])
        if draw(usual_bias)
        else st.sampled_from(["", "\u20ac", "a\rb", "a\nb", "\x00"])
    )
    headers = HTTPHeaders()
    for _ in range(draw(st.integers(0, 4))):
        usual = draw(st.integers(0, 9)) > 0
        name = draw(usual_names if usual or draw(st.booleans()) else unusual_names)
        headers[name] = draw(usual_values if usual or draw(st.booleans()) else unusual_values)
    if not draw(st.integers(0, 9)):
        # Not a str (the Python writer formats it; the C code passes it on).
        headers["X-Count"] = cast(str, draw(st.integers(0, 9)))
    body = draw(st.none() | st.binary(max_size=20))
    if draw(usual_bias):
        size = len(body or b"") + draw(st.sampled_from([0, 0, 1, 5, -1]))
        headers["Content-Length"] = draw(st.sampled_from(["{}", "{:03}"])).format(max(size, 0))
    elif draw(st.booleans()):
        headers["Content-Length"] = draw(unusual_lengths)
    if body is not None:
        body = draw(st.sampled_from([bytes, bytearray, memoryview]))(body)
    return (
        request,
        ResponseStartLine("HTTP/1.1", code, reason),
        headers,
        body,
        not draw(usual_bias),
    )


def is_usual(
    python: Written,
    start_line: ResponseStartLine,
    headers: HTTPHeaders,
    body: Any,
) -> bool:
    """Whether the Python writer took the usual path, within usual_response's bounds.

    Its bounds beyond the Python writer's decisions (see ``_speedups.c``): a
    non-empty reason (the Python code fills in a standard one), a code of 3
    digits, str values only, a Content-Length of 1 to 18 digits, no Connection.
    """
    if python.data is None or python.adds_lines:
        return False
    fields = headers._dict
    length = fields.get("Content-Length")
    return (
        start_line.reason != ""
        and start_line.code <= 999
        and all(type(value) is str for value in fields.values())
        and isinstance(length, str)
        and _LENGTH.fullmatch(length) is not None
        and "Connection" not in fields
        and len(body if body is not None else b"") <= int(length)
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses())
def test_usual_response_is_the_python_writers(
    case: tuple[RequestHead, ResponseStartLine, HTTPHeaders, Any, bool],
) -> None:
    request, start_line, headers, body, no_keep_alive = case
    python = python_write_headers(request, start_line, headers, body, no_keep_alive)
    result = usual_response(request, start_line, headers._dict, body, no_keep_alive)
    if is_usual(python, start_line, headers, body):
        assert result == (python.data, python.remaining)
    else:
        assert result is None
    # The connection with the C code writes what the Python code writes.
    assert write_headers(request, start_line, headers, body, no_keep_alive) == python


# -- reference counts ------------------------------------------------------------

CALLS = 10_000


def refcounts(objects: Sequence[object]) -> list[int]:
    return [sys.getrefcount(o) for o in objects]


def check_no_leak(call: Callable[[], object], watched: Sequence[object]) -> None:
    """``call()`` 10,000 times changes no reference count of `watched` (nor the total)."""
    call()  # anything created once (and kept) is created now
    total: Callable[[], int] | None = getattr(sys, "gettotalrefcount", None)
    gc.collect()
    gc.disable()  # no unrelated garbage freed in between
    try:
        before = refcounts(watched)
        total_before = total() if total is not None else 0
        for _ in range(CALLS):
            call()
        after = refcounts(watched)
        total_after = total() if total is not None else 0
    finally:
        gc.enable()
    assert after == before
    if total is not None:  # a debug build: every object counts
        assert total_after - total_before < CALLS // 10


def test_parse_request_head_keeps_no_reference() -> None:
    data = b"GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: u\r\nX-Other: o\r\n\r\n"
    array = bytearray(data)
    head = parse(data)
    assert isinstance(head, RequestHead)
    (host, _), (agent, _), _ = head.headers
    interned = [head.method, head.version, host, agent]
    check_no_leak(lambda: parse(data), [data, *interned])
    check_no_leak(lambda: parse(array), [array, *interned])
    # The 4-tuple, and heads given up on after the fields were split.
    semantic = b"POST /x HTTP/1.0\r\nHost: a\r\nContent-Length: 1\r\n\r\n"
    split = parse(semantic)
    assert isinstance(split, tuple)
    check_no_leak(
        lambda: parse(semantic), [semantic, *interned, split[0], split[2], split[3][1][0]]
    )
    check_no_leak(lambda: parse(data, 8192, 2), [data, *interned])
    bad = b"GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: u\r\nX: \x00\r\n\r\n"
    check_no_leak(lambda: parse(bad), [bad, *interned])
    check_no_leak(lambda: parse(b"GET / HTTP/2.0\r\n\r\n"), interned)

    text = "GET / HTTP/1.1\r\n\r\n"

    def type_error() -> None:
        try:
            parse(cast(bytes, text))
        except TypeError:
            return
        raise AssertionError("no TypeError")

    check_no_leak(type_error, [text, *interned])


def test_take_request_head_keeps_no_reference() -> None:
    data = b"GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: u\r\n\r\n"
    limits = Limits()
    buffer = bytearray()
    head = parse(data)
    assert isinstance(head, RequestHead)
    interned = [head.method, head.version, head.headers[0][0], head.headers[1][0]]

    def take() -> None:
        buffer[:] = data
        assert take_request_head(buffer, 0, limits) == head

    check_no_leak(take, [buffer, limits, data, *interned])
    semantic = b"POST /x HTTP/1.0\r\nHost: a\r\nContent-Length: 1\r\n\r\nx"

    def take_split() -> None:
        buffer[:] = semantic
        assert isinstance(take_request_head(buffer, 0, limits), tuple)

    check_no_leak(take_split, [buffer, limits, semantic, *interned])
    rejected = bytearray(b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: u\r\nA : b\r\n\r\n")
    check_no_leak(lambda: take_request_head(rejected, 0, limits), [rejected, limits, *interned])


def test_response_head_keeps_no_reference() -> None:
    reason, extra, body = "Not Found", "", b"body"
    fields = {"Content-Type": "text/plain", "X-Long": "v" * 100}
    values = list(fields.values())
    names = list(fields)
    watched: list[object] = [reason, extra, body, fields, *names, *values]
    check_no_leak(lambda: response_head(404, reason, fields, extra, body), watched)
    array: Any = bytearray(body)
    check_no_leak(lambda: response_head(404, reason, fields, extra, array), [array, *watched])
    view: Any = memoryview(body)
    check_no_leak(lambda: response_head(404, reason, fields, extra, view), [view, *watched])
    bad = {"A": "b", "C": "d\n"}
    check_no_leak(lambda: response_head(404, reason, bad, extra, body), [bad, *watched])


def test_usual_response_keeps_no_reference() -> None:
    request, start_line, body = GET11, OK, b"hel"
    fields = dict(LENGTH5)
    watched: list[object] = [
        request,
        start_line,
        fields,
        body,
        *fields,
        *fields.values(),
        *request[:4],
        OK.reason,
    ]
    check_no_leak(lambda: usual_response(request, start_line, fields, body, False), watched)
    view: Any = memoryview(body)
    check_no_leak(
        lambda: usual_response(request, start_line, fields, view, False), [view, *watched]
    )
    # None after the body was taken (longer than the length) and before.
    longer = b"hello!"
    check_no_leak(
        lambda: usual_response(request, start_line, fields, longer, False), [longer, *watched]
    )
    check_no_leak(lambda: usual_response(request, start_line, fields, body, True), watched)
    bad = {**fields, "A": "\r"}
    check_no_leak(lambda: usual_response(request, start_line, bad, body, False), [bad, *watched])
