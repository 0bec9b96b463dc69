"""The sans-I/O HTTP/1.1 parser: one suite over both implementations.

Every test takes the ``parser_class`` fixture (`PyParser`, `HtParser`,
`CParser`), so the pure-Python reference, the httptools parser and the one
on the compiled module are held to the same events and the same
`ParseError` statuses.  No event loop, no socket.
Responses have their own module (test_http1parser_responses.py); the
fixture and the helpers are in http1parser_helpers.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from http1parser_helpers import (
    ParserClass,
    error,
    head_of,
    parser_class_fixture,  # noqa: F401
    request,
    response,
    response_head_of,
)

import squall._http1 as http1
from squall._http1 import (
    EOF,
    Body,
    EndOfMessage,
    Limits,
    ParseError,
    RequestHead,
)
from squall._http1._cparser import CParser
from squall._http1._htparser import HtParser
from squall._http1._pyparser import PyParser

# -- choosing the implementation -------------------------------------------


def test_parser_is_the_compiled_one_when_built() -> None:
    # The compiled module is built wherever this suite runs (the check
    # builds it; so does installing the package where a C compiler is), and
    # httptools is installed (the test dependency group);
    # SQUALL_NO_EXTENSIONS=1, if the suite itself runs under it, wins.
    if os.environ.get("SQUALL_NO_EXTENSIONS", "") not in ("", "0"):
        assert http1.IMPLEMENTATION == "python"
        assert http1.Parser is PyParser
        assert http1.speedups() is None
    else:
        assert http1.IMPLEMENTATION == "c"
        assert http1.Parser is CParser
        assert http1.speedups() is not None


def _choice(**env: str) -> list[str]:
    """IMPLEMENTATION, the Parser's name and the parser modules imported, in a new interpreter."""
    code = (
        "import sys, squall._http1 as h; "
        "print(h.IMPLEMENTATION, h.Parser.__name__, h.speedups() is not None, "
        "'squall._http1._htparser' in sys.modules, 'squall._http1._cparser' in sys.modules)"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SQUALL_")}
    command = [sys.executable, "-c", code]
    result = subprocess.run(
        command, env={**environ, **env}, capture_output=True, text=True, check=True
    )
    return result.stdout.split()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", "python"), ("yes", "python"), ("0", "c"), ("", "c")],
)
def test_squall_no_extensions(value: str, expected: str) -> None:
    out = _choice(SQUALL_NO_EXTENSIONS=value)
    if expected == "python":
        # Nothing compiled is used, nor even imported.
        assert out == ["python", "PyParser", "False", "False", "False"]
    else:
        assert out == ["c", "CParser", "True", "False", "True"]


@pytest.mark.parametrize(
    ("name", "cls"), [("python", "PyParser"), ("httptools", "HtParser"), ("c", "CParser")]
)
def test_squall_http1_parser_asks_for_one(name: str, cls: str) -> None:
    out = _choice(SQUALL_HTTP1_PARSER=name)
    assert out[:2] == [name, cls]
    assert out[2] == "True"  # the compiled writer is used whatever the parser


def test_squall_http1_parser_unknown() -> None:
    with pytest.raises(subprocess.CalledProcessError) as info:
        _choice(SQUALL_HTTP1_PARSER="fast")
    assert "unknown HTTP/1 parser 'fast'" in info.value.stderr


def test_all_is_complete_and_sorted() -> None:
    # ("@py_..." names are pytest's assertion rewriting.)
    public = {name for name in vars(http1) if not name.startswith(("_", "@"))} - {
        "annotations",
        "os",
        "Final",
    }
    assert set(http1.__all__) == public
    # Sorted as ruff sorts it (RUF022): constants, classes, then the rest.
    assert http1.__all__ == sorted(
        http1.__all__, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )


# -- requests ----------------------------------------------------------------


def test_simple_get(parser_class: ParserClass) -> None:
    parser = parser_class(False)
    parser.receive(b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Thing:  two  words \t\r\n\r\n")
    head = parser.next_event()
    assert head == RequestHead(
        method="GET",
        target="/a?b=c",
        version="HTTP/1.1",
        headers=[("Host", "example.com"), ("X-Thing", "two  words")],
        keep_alive=True,
        content_length=0,
        chunked=False,
        expect_continue=False,
        upgrade=False,
    )
    assert parser.next_event() == EndOfMessage([])
    assert parser.next_event() is None  # paused
    assert parser.buffered == 0
    parser.start_next_message()
    assert parser.next_event() is None  # needs data
    parser.receive(b"")
    assert parser.next_event() is EOF
    assert parser.next_event() is None


def test_fields_as_received(parser_class: ParserClass) -> None:
    data = (
        b"GET / HTTP/1.1\r\nhost: h\r\nX-A: 1\r\nx-a: 2\r\nEmpty:\r\nBlank: \t \r\n"
        b"Latin: caf\xe9\r\nTab:\ta\tb\r\nWeird-!#$%&'*+.^_`|~: v\r\n\r\n"
    )
    head = head_of(request(parser_class, data))
    assert head.headers == [
        ("host", "h"),
        ("X-A", "1"),
        ("x-a", "2"),
        ("Empty", ""),
        ("Blank", ""),
        ("Latin", "café"),
        ("Tab", "a\tb"),
        ("Weird-!#$%&'*+.^_`|~", "v"),
    ]


def test_no_fields(parser_class: ParserClass) -> None:
    head = head_of(request(parser_class, b"GET / HTTP/1.1\r\n\r\n"))
    assert head.headers == []
    assert head.keep_alive


@pytest.mark.parametrize(
    "target",
    [
        "/",
        "/path/to?q=1&r=%20#",
        "/~user/a;b,c@d:e!$&'()*+=",
        '/"<>\\^`{|}',
        "/caf\xe9",
        "http://example.com/x?y",
        "https://[::1]:8443/",
    ],
)
def test_targets(parser_class: ParserClass, target: str) -> None:
    data = b"GET " + target.encode("latin-1") + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert head_of(request(parser_class, data)).target == target


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "M-SEARCH", "BREW", "get", "X!#$"])
def test_methods_are_tokens(parser_class: ParserClass, method: str) -> None:
    data = method.encode() + b" / HTTP/1.1\r\n\r\n"
    assert head_of(request(parser_class, data)).method == method


def test_options_asterisk(parser_class: ParserClass) -> None:
    head = head_of(request(parser_class, b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert head.target == "*"
    assert request(parser_class, b"GET * HTTP/1.1\r\n\r\n") == [error()]


def test_leading_empty_lines_are_ignored(parser_class: ParserClass) -> None:
    out = request(parser_class, b"\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
    assert [type(e) for e in out] == [
        RequestHead,
        EndOfMessage,
        RequestHead,
        EndOfMessage,
        type(EOF),
    ]
    assert request(parser_class, b"\r\n\r\n") == [EOF]


def test_content_length_body(parser_class: ParserClass) -> None:
    data = b"POST /f HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world"
    out = request(parser_class, data)
    head = head_of(out)
    assert head.content_length == 11
    assert not head.chunked
    assert out[1:] == [Body(b"hello world"), EndOfMessage([]), EOF]


def test_content_length_zero(parser_class: ParserClass) -> None:
    out = request(parser_class, b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    assert head_of(out).content_length == 0
    assert out[1:] == [EndOfMessage([]), EOF]


def test_body_arrives_in_pieces(parser_class: ParserClass) -> None:
    parser = parser_class(False)
    parser.receive(b"PUT / HTTP/1.1\r\nContent-Length: 6\r\n\r\nab")
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == Body(b"ab")
    assert parser.next_event() is None
    parser.receive(b"cd")
    assert parser.next_event() == Body(b"cd")
    parser.receive(b"efGET")  # the next request starts: not looked at
    assert parser.next_event() == Body(b"ef")
    assert parser.next_event() == EndOfMessage([])
    assert parser.next_event() is None
    assert parser.buffered == 3


def test_chunked_body_with_extensions_and_trailers(parser_class: ParserClass) -> None:
    data = (
        b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n"
        b'1;name=value;flag ; q="quoted \\" str"\r\n \r\n'
        b"00A\r\n0123456789\r\n"
        b"0;last\r\nChecksum: abc\r\nX-Other:  x \r\n\r\n"
    )
    out = request(parser_class, data)
    head = head_of(out)
    assert head.chunked
    assert head.content_length is None
    assert out[1:] == [
        Body(b"hello 0123456789"),
        EndOfMessage([("Checksum", "abc"), ("X-Other", "x")]),
        EOF,
    ]


def test_chunked_body_events_are_not_buffered(parser_class: ParserClass) -> None:
    parser = parser_class(False)
    parser.receive(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc")
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == Body(b"abc")  # part of a chunk is delivered at once
    assert parser.next_event() is None
    parser.receive(b"defghijklmnop\r\n0\r\n\r\n")
    assert parser.next_event() == Body(b"defghijklmnop")
    assert parser.next_event() == EndOfMessage([])


def test_chunked_uppercase_and_multiple_fields(parser_class: ParserClass) -> None:
    data = (
        b"POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n"
        b"POST / HTTP/1.1\r\nTransfer-Encoding: \r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    out = request(parser_class, data)
    assert head_of(out).chunked
    # An empty Transfer-Encoding element is not a coding.
    assert out[2:] == [error()]


def test_unsupported_transfer_codings(parser_class: ParserClass) -> None:
    for value, status in [
        (b"gzip, chunked", 501),
        (b"gzip;level=1, chunked", 501),
        (b"chunked, gzip", 400),
        (b"gzip", 400),
        (b"identity", 400),
        (b"chunked, chunked", 400),
        (b"chunked;x=1", 400),
    ]:
        data = b"POST / HTTP/1.1\r\nTransfer-Encoding: " + value + b"\r\n\r\n0\r\n\r\n"
        assert request(parser_class, data) == [error(status)], value


# -- pipelining and the pull interface --------------------------------------


def test_pipelining_waits_for_start_next_message(parser_class: ParserClass) -> None:
    parser = parser_class(False)
    parser.receive(
        b"GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
        b"GET /3 HTTP/1.1\r\nBad Header: x\r\n\r\n"
    )
    first = parser.next_event()
    assert isinstance(first, RequestHead)
    assert first.target == "/1"
    assert parser.next_event() == EndOfMessage([])
    assert parser.next_event() is None
    assert parser.next_event() is None
    parser.start_next_message()
    second = parser.next_event()
    assert isinstance(second, RequestHead)
    assert second.target == "/2"
    assert parser.next_event() == Body(b"hi")
    assert parser.next_event() == EndOfMessage([])
    assert parser.next_event() is None  # the bad third request is not looked at yet
    assert parser.buffered == len(b"GET /3 HTTP/1.1\r\nBad Header: x\r\n\r\n")
    parser.start_next_message()
    with pytest.raises(ParseError) as info:
        parser.next_event()
    assert info.value.status == 400
    assert parser.next_event() is None


def test_start_next_message_mid_message_is_an_error(parser_class: ParserClass) -> None:
    parser = parser_class(False)
    parser.start_next_message()  # waiting for a head already: no-op
    parser.receive(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")
    assert isinstance(parser.next_event(), RequestHead)
    with pytest.raises(RuntimeError):
        parser.start_next_message()


def test_start_next_message_skips_the_end_of_a_bodiless_message(
    parser_class: ParserClass,
) -> None:
    # A server that sees a head without a body need not pull its
    # EndOfMessage: start_next_message skips it.
    parser = parser_class(False)
    parser.receive(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n")
    first = parser.next_event()
    assert isinstance(first, RequestHead)
    assert (first.content_length, first.chunked) == (0, False)
    parser.start_next_message()
    second = parser.next_event()
    assert isinstance(second, RequestHead)
    assert second.target == "/2"
    parser.start_next_message()
    assert parser.next_event() is None  # the third head is not complete
    parser.receive(b"\r\n")
    third = parser.next_event()
    assert isinstance(third, RequestHead)
    assert third.target == "/3"
    assert parser.next_event() == EndOfMessage([])
    # Once a body with a length is read, its EndOfMessage can be skipped
    # too; not before.
    parser.start_next_message()
    parser.receive(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /4 HTTP/1.1\r\n\r\n")
    assert isinstance(parser.next_event(), RequestHead)
    with pytest.raises(RuntimeError):
        parser.start_next_message()
    assert parser.next_event() == Body(b"hi")
    parser.start_next_message()
    fourth = parser.next_event()
    assert isinstance(fourth, RequestHead)
    assert fourth.target == "/4"
    assert parser.next_event() == EndOfMessage([])


def test_trailing_data(parser_class: ParserClass) -> None:
    parser = parser_class(False)
    parser.receive(b"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nxGET / HTTP/1.1\r\n")
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == Body(b"x")
    assert parser.next_event() == EndOfMessage([])
    assert parser.buffered == 16
    assert parser.trailing_data() == b"GET / HTTP/1.1\r\n"
    assert parser.buffered == 0
    assert parser.trailing_data() == b""


def test_error_is_raised_once(parser_class: ParserClass) -> None:
    parser = parser_class(False)
    parser.receive(b"GET / HTTP/1.1\r\nA : b\r\n\r\n")
    with pytest.raises(ParseError):
        parser.next_event()
    parser.receive(b"GET / HTTP/1.1\r\n\r\n")
    assert parser.next_event() is None
    parser.start_next_message()
    assert parser.next_event() is None


def test_data_after_eof_is_ignored(parser_class: ParserClass) -> None:
    parser = parser_class(False)
    parser.receive(b"")
    parser.receive(b"GET / HTTP/1.1\r\n\r\n")
    assert parser.next_event() is EOF
    assert parser.next_event() is None


# -- persistence, expectations, upgrade --------------------------------------


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [
        ("1.1", None, True),
        ("1.1", "keep-alive", True),
        ("1.1", "close", False),
        ("1.1", "Close", False),
        ("1.1", "keep-alive, close", False),
        ("1.1", "foo,  CLOSE ", False),
        ("1.1", "upgrade", True),
        ("1.0", None, False),
        ("1.0", "keep-alive", True),
        ("1.0", "Keep-Alive", True),
        ("1.0", "foo, keep-alive", True),
        ("1.0", "close", False),
        ("1.0", "keep-alive, close", False),
        ("1.0", "keep-alives", False),
    ],
)
def test_keep_alive(
    parser_class: ParserClass, version: str, connection: str | None, keep_alive: bool
) -> None:
    field = f"Connection: {connection}\r\n" if connection is not None else ""
    data = f"GET / HTTP/{version}\r\nHost: x\r\n{field}\r\n".encode()
    assert head_of(request(parser_class, data)).keep_alive is keep_alive
    response_data = f"HTTP/{version} 200 OK\r\nContent-Length: 0\r\n{field}\r\n".encode()
    assert response_head_of(response(parser_class, response_data)).keep_alive is keep_alive


def test_keep_alive_two_connection_fields(parser_class: ParserClass) -> None:
    data = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"
    assert not head_of(request(parser_class, data)).keep_alive


@pytest.mark.parametrize(
    ("version", "expect", "expected"),
    [
        ("1.1", "100-continue", True),
        ("1.1", "100-Continue", True),
        ("1.1", "foo, 100-continue", True),
        ("1.1", "200-ok", False),
        ("1.0", "100-continue", False),  # RFC 9110 §10.1.1: ignored from HTTP/1.0
    ],
)
def test_expect_continue(
    parser_class: ParserClass, version: str, expect: str, expected: bool
) -> None:
    data = f"POST / HTTP/{version}\r\nContent-Length: 3\r\nExpect: {expect}\r\n\r\n".encode()
    parser = parser_class(False)
    parser.receive(data)
    head = parser.next_event()
    assert isinstance(head, RequestHead)
    assert head.expect_continue is expected
    assert parser.next_event() is None  # the body has not been sent yet
    parser.receive(b"abc")
    assert parser.next_event() == Body(b"abc")


@pytest.mark.parametrize(
    ("fields", "version", "upgrade"),
    [
        ("Connection: Upgrade\r\nUpgrade: websocket\r\n", "1.1", True),
        ("Connection: keep-alive, upgrade\r\nUpgrade: h2c\r\n", "1.1", True),
        ("Upgrade: websocket\r\n", "1.1", False),  # no "upgrade" connection option
        ("Connection: upgrade\r\n", "1.1", False),  # nothing to upgrade to
        ("Connection: upgrade\r\nUpgrade: websocket\r\n", "1.0", False),  # RFC 9110 §7.8
    ],
)
def test_upgrade_request(
    parser_class: ParserClass, fields: str, version: str, upgrade: bool
) -> None:
    parser = parser_class(False)
    parser.receive(
        f"GET /ws HTTP/{version}\r\nHost: x\r\n{fields}\r\n".encode() + b"\x81\x05hello"
    )
    head = parser.next_event()
    assert isinstance(head, RequestHead)
    assert head.upgrade is upgrade
    assert parser.next_event() == EndOfMessage([])
    assert parser.next_event() is None
    assert parser.trailing_data() == b"\x81\x05hello"


def test_upgrade_declined_parsing_goes_on(parser_class: ParserClass) -> None:
    data = (
        b"GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nGET /next HTTP/1.1\r\n\r\n"
    )
    out = request(parser_class, data)
    assert head_of(out).upgrade
    second = out[2]
    assert isinstance(second, RequestHead)
    assert second.target == "/next"


def test_upgrade_request_with_a_body(parser_class: ParserClass) -> None:
    parser = parser_class(False)
    parser.receive(
        b"POST / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\n"
        b"hiPRI * HTTP/2.0"
    )
    head = parser.next_event()
    assert isinstance(head, RequestHead)
    assert head.upgrade
    assert parser.next_event() == Body(b"hi")
    assert parser.next_event() == EndOfMessage([])
    assert parser.trailing_data() == b"PRI * HTTP/2.0"


@pytest.mark.parametrize(
    "target", ["example.com:443", "[::1]:8080", "127.0.0.1:1", "a-b.c_d~:65535"]
)
def test_connect(parser_class: ParserClass, target: str) -> None:
    parser = parser_class(False)
    parser.receive(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode() + b"\x16\x03")
    head = parser.next_event()
    assert isinstance(head, RequestHead)
    assert head.target == target
    assert head.upgrade
    assert head.content_length == 0
    assert parser.next_event() == EndOfMessage([])
    assert parser.trailing_data() == b"\x16\x03"


@pytest.mark.parametrize(
    "target", ["/", "example.com", "example.com:", ":443", "http://example.com:443/", "*"]
)
def test_connect_needs_authority_form(parser_class: ParserClass, target: str) -> None:
    data = f"CONNECT {target} HTTP/1.1\r\n\r\n".encode()
    assert request(parser_class, data) == [error()]


def test_authority_form_only_with_connect(parser_class: ParserClass) -> None:
    assert request(parser_class, b"GET example.com:80 HTTP/1.1\r\n\r\n") == [error()]


# -- EOF ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"G",
        b"GET / HTTP/1.1\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n",
    ],
)
def test_eof_mid_message(parser_class: ParserClass, data: bytes) -> None:
    out = request(parser_class, data)
    assert out[-1] == error()
    assert all(not isinstance(e, EndOfMessage) for e in out)


def test_eof_mid_response(parser_class: ParserClass) -> None:
    out = response(parser_class, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab")
    assert out[1:] == [Body(b"ab"), error()]


def test_eof_while_paused(parser_class: ParserClass) -> None:
    parser = parser_class(False)
    parser.receive(b"GET / HTTP/1.1\r\n\r\n")
    parser.receive(b"")
    assert isinstance(parser.next_event(), RequestHead)
    assert parser.next_event() == EndOfMessage([])
    assert parser.next_event() is None
    parser.start_next_message()
    assert parser.next_event() is EOF


# -- limits ------------------------------------------------------------------


def test_start_line_limit(parser_class: ParserClass) -> None:
    limits = Limits(max_start_line=30)
    line = b"GET /" + b"a" * 16 + b" HTTP/1.1"  # 30 bytes
    assert len(line) == 30
    assert isinstance(request(parser_class, line + b"\r\n\r\n", limits=limits)[0], RequestHead)
    longer = b"GET /" + b"a" * 17 + b" HTTP/1.1"
    assert request(parser_class, longer + b"\r\n\r\n", limits=limits) == [error(414)]
    # Detected before the line ends, and in pieces.
    for pieces in (0, 1, 7):
        out = request(parser_class, b"GET /" + b"a" * 40, limits=limits, eof=False, pieces=pieces)
        assert out == [error(414)]
    # Exactly at the limit, still waiting for its CRLF: not an error yet.
    assert request(parser_class, line + b"\r", limits=limits, eof=False) == []
    status = b"HTTP/1.1 200 " + b"x" * 30
    assert response(parser_class, status + b"\r\n\r\n", limits=limits) == [error(400)]


def test_header_size_limit(parser_class: ParserClass) -> None:
    head = b"GET / HTTP/1.1\r\nA: " + b"x" * 100 + b"\r\n\r\n"
    at_limit = Limits(max_header_size=len(head))
    assert isinstance(request(parser_class, head, limits=at_limit)[0], RequestHead)
    below = Limits(max_header_size=len(head) - 1)
    for pieces in (0, 1, 10):
        assert request(parser_class, head, limits=below, pieces=pieces) == [error(431)]
    # Without an end in sight, as soon as the limit is reached.
    endless = b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * 100
    assert request(parser_class, endless, limits=Limits(max_header_size=200), eof=False) == [
        error(431)
    ]
    assert response(parser_class, b"HTTP/1.1 200 OK\r\n" + b"A: b\r\n" * 100, limits=below) == [
        error(431)
    ]


def test_start_line_limit_wins_over_header_size(parser_class: ParserClass) -> None:
    limits = Limits(max_start_line=20, max_header_size=30)
    data = b"GET /" + b"a" * 40 + b" HTTP/1.1\r\n\r\n"
    assert request(parser_class, data, limits=limits) == [error(414)]


def test_header_count_limit(parser_class: ParserClass) -> None:
    limits = Limits(max_headers=3)
    three = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"
    assert isinstance(request(parser_class, three, limits=limits)[0], RequestHead)
    four = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"
    assert request(parser_class, four, limits=limits) == [error(431)]
    assert response(parser_class, b"HTTP/1.1 200 OK" + four[14:], limits=limits) == [error(431)]


def test_chunk_line_limit(parser_class: ParserClass) -> None:
    limits = Limits(max_chunk_line=10)
    start = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    ok = start + b"1;abc=defg\r\nx\r\n0\r\n\r\n"  # a 10-byte line
    assert request(parser_class, ok, limits=limits)[1:] == [Body(b"x"), EndOfMessage([]), EOF]
    too_long = start + b"1;abc=defgh\r\nx\r\n0\r\n\r\n"
    assert request(parser_class, too_long, limits=limits)[1:] == [error()]
    endless = start + b"1;" + b"a" * 20
    for pieces in (0, 1):
        out = request(parser_class, endless, limits=limits, eof=False, pieces=pieces)
        assert out[1:] == [error()]


def test_trailer_limits(parser_class: ParserClass) -> None:
    start = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
    trailers = b"A: " + b"1" * 100 + b"\r\nB: 2\r\n\r\n"  # larger than the head
    limits = Limits(max_header_size=len(trailers), max_headers=2)
    out = request(parser_class, start + trailers, limits=limits)
    assert out[1:] == [EndOfMessage([("A", "1" * 100), ("B", "2")]), EOF]
    smaller = Limits(max_header_size=len(trailers) - 1)
    assert request(parser_class, start + trailers, limits=smaller)[1:] == [error(431)]
    assert request(parser_class, start + b"A: 1\r\n" * 30, limits=smaller, eof=False)[1:] == [
        error(431)
    ]
    fewer = Limits(max_headers=1)
    assert request(parser_class, start + trailers, limits=fewer)[1:] == [error(431)]
    assert request(parser_class, start + b"A : 1\r\n\r\n")[1:] == [error()]
    assert request(parser_class, start + b"A: 1\r\n b\r\n\r\n")[1:] == [error()]


def test_default_limits() -> None:
    limits = Limits()
    assert (limits.max_start_line, limits.max_header_size) == (8192, 65536)
    assert PyParser(False).limits == limits
    assert HtParser(True).limits == limits


# -- byte by byte ------------------------------------------------------------

STREAMS = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"\r\n\r\nPOST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST / HTTP/1.1\r\n"
    b'Transfer-Encoding: chunked\r\n\r\n3;a="b"\r\nabc\r\n10\r\n0123456789abcdef\r\n'
    b"0\r\nT: v\r\n\r\n",
    b"GET / HTTP/1.1\r\nA: b\r\nBad\x00: x\r\n\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA: b\r\nC",
    b"GET / HTTP/1.1\r\nA: b\r\n\r\nGET / HTTP/1.1\r\nA:\rb\r\n\r\n",
]
RESPONSE_STREAMS = [
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
    b"HTTP/1.0 200 OK\r\n\r\nuntil close",
]


@pytest.mark.parametrize("data", STREAMS)
@pytest.mark.parametrize("eof", [True, False])
def test_byte_by_byte_equals_one_shot(parser_class: ParserClass, data: bytes, eof: bool) -> None:
    whole = request(parser_class, data, eof=eof)
    assert request(parser_class, data, eof=eof, pieces=1) == whole
    assert request(parser_class, data, eof=eof, pieces=3) == whole


@pytest.mark.parametrize("data", RESPONSE_STREAMS)
def test_responses_byte_by_byte(parser_class: ParserClass, data: bytes) -> None:
    whole = response(parser_class, data)
    assert [type(e).__name__ for e in whole] == [
        "ResponseHead",
        "EndOfMessage",
        "ResponseHead",
        "Body",
        "EndOfMessage",
        "ResponseHead",
        "Body",
        "EndOfMessage",
        "ResponseHead",
        "Body",
        "EndOfMessage",
        "_EOFType",
    ]
    assert response(parser_class, data, pieces=1) == whole


def test_linear_time_on_a_trickled_head(parser_class: ParserClass) -> None:
    # 60 KiB of header block in 1-byte pieces: quadratic rescanning would
    # take minutes.
    head = b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 60000 + b"\r\n\r\n"
    out = request(parser_class, head, pieces=1)
    assert head_of(out).headers == [("X-Long", "a" * 60000)]


@pytest.mark.parametrize(
    "line",
    [
        b"A: " + b" " * 30000 + b"x\x01",
        b"A: x" + b" " * 30000 + b"\x01",
        b"A: " + b"x " * 15000 + b"\x7f",
        b"A" * 30000 + b" : x",
    ],
)
def test_linear_time_on_invalid_lines(parser_class: ParserClass, line: bytes) -> None:
    data = b"GET / HTTP/1.1\r\n" + line + b"\r\n" * 2
    assert request(parser_class, data) == [error()]


def test_start_line_longer_than_the_head_limit(parser_class: ParserClass) -> None:
    # A request line that cannot fit in max_header_size is a 414, not a 431,
    # whichever limit is smaller, and in pieces as well.
    limits = Limits(max_start_line=1024, max_header_size=1024)
    data = b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\n\r\n"
    for pieces in (0, 1, 100):
        assert request(parser_class, data, limits=limits, pieces=pieces) == [error(414)]
    fits = b"GET /" + b"a" * (1024 - 18) + b" HTTP/1.1\r\n\r\n"  # exactly 1024 bytes
    assert isinstance(request(parser_class, fits, limits=limits)[0], RequestHead)
    longer = b"GET /" + b"a" * (1024 - 17) + b" HTTP/1.1\r\n\r\n"
    assert request(parser_class, longer, limits=limits) == [error(414)]
    fields = b"GET / HTTP/1.1\r\nX: " + b"a" * 2000 + b"\r\n\r\n"
    assert request(parser_class, fields, limits=limits) == [error(431)]


def test_installed_llhttp_rejects_what_htparser_relies_on() -> None:
    from squall._http1 import _htparser

    assert _htparser._llhttp_is_strict_enough()
    for line in _htparser._MUST_REJECT:
        # ... and so does the reference.
        assert request(PyParser, b"GET / HTTP/1.1\r\n" + line + b"\r\n") == [error()]


def test_messages_after_one_that_closes(parser_class: ParserClass) -> None:
    # The parser leaves persistence to the connection: it parses whatever
    # follows (HtParser starts llhttp afresh, which refuses data after close).
    data = (
        b"GET /1 HTTP/1.1\r\nConnection: close\r\n\r\n"
        b"GET /2 HTTP/1.0\r\n\r\n"
        b"BREW /3 HTTP/1.1\r\n\r\n"  # a token llhttp does not know
        b"GET /\xe9 HTTP/1.1\r\n\r\n"  # obs-text llhttp refuses in targets
        b"GET /5 HTTP/1.1\r\n\r\n"
    )
    heads = [e for e in request(parser_class, data) if isinstance(e, RequestHead)]
    assert [(h.method, h.target, h.keep_alive) for h in heads] == [
        ("GET", "/1", False),
        ("GET", "/2", False),
        ("BREW", "/3", True),
        ("GET", "/\xe9", True),
        ("GET", "/5", True),
    ]
