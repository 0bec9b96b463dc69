"""Property-based tests of the HTTP/1.1 parsers (hypothesis).

- Valid messages (requests and responses, pipelined, with Content-Length,
  chunked bodies with extensions and trailers, read-until-close, bodiless
  answers) parse to events that reconstruct them, identically in
  `PyParser`, `HtParser` and `CParser`, whether fed whole or in random
  pieces.
- Mutated messages (bytes inserted, deleted or replaced, from an alphabet of
  the characters that matter to HTTP framing) have the same outcome in the
  three parsers and for every way of cutting the stream into pieces: the
  same events, or the same `ParseError` status after the same events.
  There is no allowed difference: HtParser hands anything llhttp rejects to
  the reference, and re-checks in Python what llhttp accepts too leniently;
  CParser's C code only ever accepts, and hands the rest to the reference.
- Request heads aimed at the C split (``_speedups.parse_request_head``):
  common and random methods, field names (the semantic ones in any case),
  OWS, obs-text, query strings, other versions and forms, sometimes mutated,
  under small random `Limits`.  `CParser` has exactly `PyParser`'s outcome,
  and the C function itself returns None or what the reference's
  ``_parse_request`` makes of the head (the finished `RequestHead`, or the
  same split for the semantic checks).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from squall._http1 import (
    EOF,
    Body,
    EndOfMessage,
    Headers,
    Limits,
    ParseError,
    RequestHead,
    ResponseHead,
)
from squall._http1._cparser import CParser
from squall._http1._htparser import HtParser
from squall._http1._pyparser import PyParser
from squall._http1._speedups import parse_request_head, take_request_head

# SQUALL_PARSER_EXAMPLES=20000 for a deep search (the suite's default stays fast);
# run it with --timeout=0: each test then takes a few minutes, beyond the
# suite's per-test timeout.
SETTINGS = settings(
    max_examples=int(os.environ.get("SQUALL_PARSER_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
VCHAR = "".join(chr(c) for c in range(0x21, 0x7F)) + "".join(chr(c) for c in range(0x80, 0x100))
SEMANTIC = {"content-length", "transfer-encoding", "connection", "expect", "upgrade", "host"}

tokens = st.text(TCHAR, min_size=1, max_size=10)
names = tokens.filter(lambda name: name.lower() not in SEMANTIC)
# field-value: visible characters and inner blanks, no blank at either end.
values = st.text(VCHAR + " \t", max_size=12).map(lambda value: value.strip(" \t"))
ows = st.sampled_from(["", " ", "\t", "  ", " \t"])
bodies = st.binary(max_size=40)


@dataclass
class Message:
    """A message as generated, and its serialization."""

    start: str
    fields: Headers
    body: bytes
    chunked: bool
    trailers: Headers = field(default_factory=list)
    wire: bytes = b""


@st.composite
def field_lines(draw: st.DrawFn, fields: Headers) -> bytes:
    """Serialize fields with random optional whitespace around the values."""
    out = b""
    for name, value in fields:
        before, after = draw(ows), draw(ows)
        out += (name + ":" + before + value + after + "\r\n").encode("latin-1")
    return out


@st.composite
def chunked_body(draw: st.DrawFn, body: bytes, trailers: Headers) -> bytes:
    out = b""
    rest = body
    while rest:
        size = draw(st.integers(1, len(rest)))
        chunk, rest = rest[:size], rest[size:]
        digits = draw(st.sampled_from(["{:x}", "{:X}", "{:03x}"])).format(size)
        ext = draw(st.sampled_from(["", ";a", ";a=b", ' ; n="q \\" v"', ";x;y=z"]))
        out += f"{digits}{ext}\r\n".encode() + chunk + b"\r\n"
    out += draw(st.sampled_from([b"0", b"000", b"0;end"])) + b"\r\n"
    out += draw(field_lines(trailers)) + b"\r\n"
    return out


@st.composite
def requests(draw: st.DrawFn) -> Message:
    method = draw(
        st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"])
        | tokens.filter(lambda t: t != "CONNECT")
    )
    target = "/" + draw(st.text(VCHAR, max_size=15))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    fields: Headers = [(draw(names), draw(values)) for _ in range(draw(st.integers(0, 5)))]
    if draw(st.booleans()):
        fields.insert(draw(st.integers(0, len(fields))), ("Host", "example.com"))
    if draw(st.booleans()):
        option = draw(st.sampled_from(["close", "keep-alive", "Keep-Alive, foo", "upgrade"]))
        fields.append(("Connection", option))
    if draw(st.booleans()):
        fields.append(("Expect", "100-continue"))
    body = draw(bodies)
    framing = draw(
        st.sampled_from(
            ["none", "length", "chunked"] if version == "HTTP/1.1" else ["none", "length"]
        )
    )
    trailers: Headers = []
    if framing == "none":
        body = b""
    elif framing == "length":
        fields.insert(draw(st.integers(0, len(fields))), ("Content-Length", str(len(body))))
    else:
        fields.insert(draw(st.integers(0, len(fields))), ("Transfer-Encoding", "chunked"))
        trailers = [(draw(names), draw(values)) for _ in range(draw(st.integers(0, 2)))]
    start = f"{method} {target} {version}"
    wire = start.encode("latin-1") + b"\r\n" + draw(field_lines(fields)) + b"\r\n"
    wire += draw(chunked_body(body, trailers)) if framing == "chunked" else body
    return Message(start, fields, body, framing == "chunked", trailers, wire)


@st.composite
def response_stream(draw: st.DrawFn, count: int) -> list[tuple[str, Message]]:
    """Responses, each with the method of the request it answers."""
    out: list[tuple[str, Message]] = []
    method = "GET"
    for i in range(count):
        interim = bool(out) and out[-1][1].start[9] == "1"
        if not interim:  # an interim response and the next answer one request
            method = draw(st.sampled_from(["GET", "GET", "HEAD", "POST"]))
        out.append((method, draw(responses(method, last=i == count - 1))))
    return out


@st.composite
def responses(draw: st.DrawFn, method: str, last: bool) -> Message:
    """A response to a request with ``method``."""
    code = draw(st.sampled_from([200, 201, 204, 301, 304, 404, 500, 100, 103]))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    reason = draw(st.sampled_from(["", " ", " OK", " Not Found", " caf\xe9\tx"]))
    fields: Headers = [(draw(names), draw(values)) for _ in range(draw(st.integers(0, 4)))]
    body = draw(bodies)
    bodiless = method == "HEAD" or code < 200 or code in (204, 304)
    options = ["length", "chunked"] if version == "HTTP/1.1" else ["length"]
    if last:
        options.append("close")
    framing = draw(st.sampled_from(options))
    trailers: Headers = []
    if framing == "length":
        fields.append(("Content-Length", str(len(body))))
    elif framing == "chunked":
        fields.append(("Transfer-Encoding", "chunked"))
        trailers = [(draw(names), draw(values)) for _ in range(draw(st.integers(0, 2)))]
    if bodiless:
        body = b""
        trailers = []
    start = f"{version} {code}{reason}"
    wire = start.encode("latin-1") + b"\r\n" + draw(field_lines(fields)) + b"\r\n"
    if not bodiless:
        wire += draw(chunked_body(body, trailers)) if framing == "chunked" else body
    chunked = framing == "chunked" and not bodiless
    return Message(start, fields, body, chunked, trailers, wire)


def cut(data: bytes, points: Iterable[int]) -> list[bytes]:
    """``data`` cut at the given offsets (taken modulo its length)."""
    offsets = sorted({p % (len(data) + 1) for p in points} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(offsets)]


def outcome(
    parser: PyParser, pieces: list[bytes], methods: list[str] | None = None, eof: bool = True
) -> list[object]:
    """Every event (Body pieces merged), then ("error", status) if one was raised.

    Without EOF and an error, ``("rest", bytes)`` ends it: what is left to parse.
    """
    out: list[object] = []
    methods = list(methods or [])
    if methods:
        parser.set_request_method(methods.pop(0))
    try:
        for piece in [*pieces, b""] if eof else pieces:
            parser.receive(piece)
            while (event := parser.next_event()) is not None:
                if isinstance(event, Body) and out and isinstance(out[-1], Body):
                    out[-1] = Body(out[-1].data + event.data)
                else:
                    out.append(event)
                if isinstance(event, EndOfMessage):
                    if methods:
                        parser.set_request_method(methods.pop(0))
                    parser.start_next_message()
    except ParseError as exc:
        out.append(("error", exc.status))
        # Sticky: nothing more is parsed, received or kept.
        parser.receive(b"GET / HTTP/1.1\r\n\r\n")
        assert parser.next_event() is None
        assert parser.buffered == 0
    else:
        if not eof:
            out.append(("rest", parser.trailing_data()))
    return out


def check_request(message: Message, events: list[object]) -> None:
    head = events[0]
    assert isinstance(head, RequestHead)
    assert f"{head.method} {head.target} {head.version}" == message.start
    assert head.headers == message.fields
    assert head.chunked == message.chunked
    rest = events[1:]
    if message.body:
        assert rest[0] == Body(message.body)
        rest = rest[1:]
    assert rest[0] == EndOfMessage(message.trailers)


# -- valid messages ----------------------------------------------------------


@SETTINGS
@given(st.lists(requests(), min_size=1, max_size=3), st.lists(st.integers(0, 10_000), max_size=8))
def test_valid_requests(messages: list[Message], points: list[int]) -> None:
    wire = b"".join(m.wire for m in messages)
    expected = outcome(PyParser(False), [wire])
    assert outcome(HtParser(False), [wire]) == expected
    assert outcome(CParser(False), [wire]) == expected
    assert outcome(PyParser(False), cut(wire, points)) == expected
    assert outcome(HtParser(False), cut(wire, points)) == expected
    assert outcome(CParser(False), cut(wire, points)) == expected
    assert expected[-1] is EOF
    events = expected[:-1]
    for message in messages:
        length = 2 + bool(message.body)
        check_request(message, events[:length])
        events = events[length:]
    assert events == []


@SETTINGS
@given(st.data(), st.integers(1, 3), st.lists(st.integers(0, 10_000), max_size=8))
def test_valid_responses(data: st.DataObject, count: int, points: list[int]) -> None:
    pairs = data.draw(response_stream(count))
    methods = [method for method, _ in pairs]
    wire = b"".join(m.wire for _, m in pairs)
    expected = outcome(PyParser(True), [wire], methods)
    assert outcome(HtParser(True), [wire], methods) == expected
    assert outcome(CParser(True), [wire], methods) == expected
    assert outcome(PyParser(True), cut(wire, points), methods) == expected
    assert outcome(HtParser(True), cut(wire, points), methods) == expected
    assert outcome(CParser(True), cut(wire, points), methods) == expected
    assert expected[-1] is EOF
    heads = [e for e in expected if isinstance(e, ResponseHead)]
    assert [h.headers for h in heads] == [m.fields for _, m in pairs]
    assert [f"{h.version} {h.code}" for h in heads] == [m.start[:12] for _, m in pairs]
    bodies = b"".join(e.data for e in expected if isinstance(e, Body))
    assert bodies == b"".join(m.body for _, m in pairs)
    trailers = [e.trailers for e in expected if isinstance(e, EndOfMessage)]
    assert trailers == [m.trailers for _, m in pairs]


# -- mutated messages --------------------------------------------------------

ALPHABET = [
    b"\r", b"\n", b"\r\n", b"\r\n\r\n", b" ", b"\t", b":", b";", b",", b"=", b'"', b"\\",
    b"\x00", b"\x01", b"\x0b", b"\x7f", b"\x80", b"\xff", b"0", b"1", b"9", b"a", b"f", b"x",
    b"-", b"+", b"/", b"*", b"?", b"#", b"@", b"H", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0",
    b"chunked", b"Host: h\r\n", b"Content-Length: 3\r\n", b"Transfer-Encoding: chunked\r\n",
    b"Connection: close\r\n", b"CONNECT ", b"OPTIONS ", b"GET ", b"HTTP/1.1 200 OK\r\n",
]  # fmt: skip

mutations = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "replace"]),
        st.integers(0, 10_000),
        st.sampled_from(ALPHABET),
        st.integers(1, 4),
    ),
    min_size=1,
    max_size=4,
)


def mutate(data: bytes, ops: list[tuple[str, int, bytes, int]]) -> bytes:
    for op, position, insert, length in ops:
        at = position % (len(data) + 1)
        if op == "insert":
            data = data[:at] + insert + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + length :]
        else:
            data = data[:at] + insert + data[at + len(insert) :]
    return data


limits = st.one_of(
    st.none(),
    st.builds(
        Limits,
        max_start_line=st.integers(5, 60),
        max_header_size=st.integers(10, 200),
        max_headers=st.integers(0, 6),
        max_chunk_line=st.integers(1, 20),
    ),
)


def same_everywhere(
    client: bool,
    wire: bytes,
    points: list[int],
    limit: Limits | None,
    eof: bool,
    methods: list[str] | None = None,
) -> None:
    expected = outcome(PyParser(client, limit), [wire], methods, eof)
    every_byte = cut(wire, range(len(wire)))
    for parser_class in (HtParser, CParser):
        assert outcome(parser_class(client, limit), [wire], methods, eof) == expected
        assert outcome(parser_class(client, limit), cut(wire, points), methods, eof) == expected
        assert outcome(parser_class(client, limit), every_byte, methods, eof) == expected
    assert outcome(PyParser(client, limit), cut(wire, points), methods, eof) == expected


@SETTINGS
@given(
    st.lists(requests(), min_size=1, max_size=2),
    mutations,
    st.lists(st.integers(0, 10_000), max_size=6),
    limits,
    st.booleans(),
)
def test_mutated_requests(
    messages: list[Message],
    ops: list[tuple[str, int, bytes, int]],
    points: list[int],
    limit: Limits | None,
    eof: bool,
) -> None:
    wire = mutate(b"".join(m.wire for m in messages), ops)
    same_everywhere(False, wire, points, limit, eof)


@SETTINGS
@given(
    st.data(),
    mutations,
    st.lists(st.integers(0, 10_000), max_size=6),
    limits,
    st.booleans(),
)
def test_mutated_responses(
    data: st.DataObject,
    ops: list[tuple[str, int, bytes, int]],
    points: list[int],
    limit: Limits | None,
    eof: bool,
) -> None:
    pairs = data.draw(response_stream(2))
    wire = mutate(b"".join(m.wire for _, m in pairs), ops)
    same_everywhere(True, wire, points, limit, eof, [method for method, _ in pairs])


@SETTINGS
@given(st.binary(max_size=80), st.lists(st.integers(0, 10_000), max_size=6), limits, st.booleans())
def test_arbitrary_bytes(
    wire: bytes, points: list[int], limit: Limits | None, client: bool
) -> None:
    same_everywhere(client, wire, points, limit, True)


# -- request heads split in C ------------------------------------------------

COMMON_METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT"]
#: Names clients send (the C module's interned spellings among them) and
#: the fields with semantics, in the spellings that must all be recognized.
COMMON_NAMES = [
    "Host", "User-Agent", "Accept", "Accept-Encoding", "Cookie", "Content-Type",
    "X-Forwarded-For", "Sec-Fetch-Mode", "user-agent", "accept", "cookie", "DNT",
]  # fmt: skip
SEMANTIC_NAMES = [
    "Host", "host", "HOST", "hOsT", "Content-Length", "content-length", "CONTENT-LENGTH",
    "Transfer-Encoding", "transfer-encoding", "Connection", "connection", "CONNECTION",
    "Expect", "expect", "Upgrade", "UPGRADE",
]  # fmt: skip
#: Values that mean something to one of the semantic fields.
MEANINGFUL_VALUES = [
    "0", "3", "007", "-1", "1" * 19, "chunked", "gzip, chunked", "close", "keep-alive",
    "Keep-Alive", "upgrade", "Upgrade, close", "100-continue", "websocket", "a.example",
]  # fmt: skip
#: Only HTTP/1.1 and HTTP/1.0 are the C code's; the others are the reference's.
VERSIONS = ["HTTP/1.1"] * 4 + ["HTTP/1.0"] * 3 + ["HTTP/2.0", "HTTP/1.2", "http/1.1", "HTTP/1.1 "]

head_methods = st.sampled_from(COMMON_METHODS) | tokens
head_names = st.sampled_from(COMMON_NAMES) | st.sampled_from(SEMANTIC_NAMES) | tokens
head_values = st.sampled_from(MEANINGFUL_VALUES) | values
# origin-form with a query (VCHAR includes obs-text), or the other forms.
head_targets = st.builds(
    lambda path, query: "/" + path + query,
    st.text(VCHAR, max_size=12),
    st.sampled_from(["", "?", "?a=1&b=%20"]) | st.text(VCHAR, max_size=8).map("?".__add__),
) | st.sampled_from(["*", "http://a/", "a:1", "/", "//", "/\x80\xff"])
small_limits = st.builds(
    Limits,
    max_start_line=st.integers(10, 60),
    max_header_size=st.integers(60, 400),
    max_headers=st.integers(0, 5),
)


@st.composite
def request_heads(draw: st.DrawFn) -> bytes:
    """A request head (maybe invalid in the ways the C code must pass on)."""
    start = f"{draw(head_methods)} {draw(head_targets)} {draw(st.sampled_from(VERSIONS))}"
    fields = [(draw(head_names), draw(head_values)) for _ in range(draw(st.integers(0, 6)))]
    head = start.encode("latin-1") + b"\r\n" + draw(field_lines(fields)) + b"\r\n"
    if draw(st.integers(0, 3)) == 0:
        head = mutate(head, draw(mutations))
    return head


class SplitOnly(PyParser):
    """The reference's split of a request head, before its semantic checks."""

    split: tuple[str, str, str, Headers] | None = None

    def _request_head(
        self, method: str, target: str, version: str, fields: Headers
    ) -> RequestHead:
        self.split = (method, target, version, fields)
        return PyParser._request_head(self, method, target, version, fields)


def reference_split(
    head: bytes, limit: Limits
) -> tuple[RequestHead | int, tuple[str, str, str, Headers] | None]:
    """The reference's verdict on ``head`` (a head or a status) and its split."""
    parser = SplitOnly(False, limit)
    try:
        verdict: RequestHead | int = parser._parse_request(bytearray(head))
    except ParseError as exc:
        verdict = exc.status
    return verdict, parser.split


@SETTINGS
@given(request_heads(), st.lists(st.integers(0, 10_000), max_size=4), small_limits | st.none())
def test_c_split_request_heads(head: bytes, points: list[int], limit: Limits | None) -> None:
    expected = outcome(PyParser(False, limit), [head])
    assert outcome(CParser(False, limit), [head]) == expected
    assert outcome(CParser(False, limit), cut(head, points)) == expected
    limit = limit or Limits()
    # The C function alone, on what the parser would hand it: a whole head.
    end = head.find(b"\r\n\r\n")
    if end < 0:
        return
    whole = head[: end + 4]
    for data in (whole, bytearray(whole), memoryview(whole)):
        result = parse_request_head(data, limit.max_start_line, limit.max_headers)
        if result is None:
            continue
        verdict, split = reference_split(whole, limit)
        if type(result) is RequestHead:
            assert verdict == result
            assert type(verdict) is RequestHead
        else:
            assert type(result) is tuple
            assert result == split
    # From a buffer (with what follows the head): that result, or None and
    # the buffer untouched.
    buffer = bytearray(head + b"GET / HTTP/1.1\r\n\r\n")
    taken = take_request_head(buffer, 0, limit)
    if taken is None:
        assert buffer == head + b"GET / HTTP/1.1\r\n\r\n"
    else:
        assert head[0] != 13
        assert len(whole) <= limit.max_header_size
        assert taken == parse_request_head(whole, limit.max_start_line, limit.max_headers)
        assert type(taken) is type(
            parse_request_head(whole, limit.max_start_line, limit.max_headers)
        )
        assert buffer == head[end + 4 :] + b"GET / HTTP/1.1\r\n\r\n"
