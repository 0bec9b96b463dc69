"""The sans-I/O HTTP/1.1 parser on responses (the client side), over both implementations.

See test_http1parser.py; the helpers are in http1parser_helpers.py.
"""

from __future__ import annotations

import pytest
from http1parser_helpers import (
    ParserClass,
    error,
    parser_class_fixture,  # noqa: F401
    response,
    response_head_of,
)

from squall._http1 import EOF, Body, EndOfMessage, Event, ResponseHead

# -- responses ---------------------------------------------------------------


def test_response_with_content_length(parser_class: ParserClass) -> None:
    out = response(parser_class, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: s\r\n\r\nhello")
    assert out == [
        ResponseHead(
            version="HTTP/1.1",
            code=200,
            reason="OK",
            headers=[("Content-Length", "5"), ("Server", "s")],
            keep_alive=True,
            content_length=5,
            chunked=False,
            upgrade=False,
            has_body=True,
        ),
        Body(b"hello"),
        EndOfMessage([]),
        EOF,
    ]


@pytest.mark.parametrize(
    ("status_line", "code", "reason"),
    [
        (b"HTTP/1.1 200 OK", 200, "OK"),
        (b"HTTP/1.1 404 Not  Found ", 404, "Not  Found "),
        (b"HTTP/1.1 200 ", 200, ""),
        (b"HTTP/1.1 200", 200, ""),  # no reason phrase: accepted (RFC 9112 §4)
        (b"HTTP/1.0 599 \xe9\ttab", 599, "\xe9\ttab"),
    ],
)
def test_status_lines(
    parser_class: ParserClass, status_line: bytes, code: int, reason: str
) -> None:
    head = response_head_of(response(parser_class, status_line + b"\r\nContent-Length: 0\r\n\r\n"))
    assert (head.code, head.reason) == (code, reason)


def test_response_read_until_close(parser_class: ParserClass) -> None:
    parser = parser_class(True)
    parser.receive(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nsome")
    head = parser.next_event()
    assert isinstance(head, ResponseHead)
    assert head.content_length is None
    assert not head.chunked
    assert head.has_body
    assert not head.keep_alive  # the end of the body is the end of the connection
    assert parser.next_event() == Body(b"some")
    assert parser.next_event() is None
    parser.receive(b" body")
    assert parser.next_event() == Body(b" body")
    parser.receive(b"")
    assert parser.next_event() == EndOfMessage([])
    assert parser.next_event() is None
    parser.start_next_message()
    assert parser.next_event() is EOF


def test_response_transfer_coding_not_chunked_reads_until_close(parser_class: ParserClass) -> None:
    out = response(parser_class, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz")
    head = response_head_of(out)
    assert (head.chunked, head.content_length, head.keep_alive) == (False, None, False)
    assert out[1:] == [Body(b"xyz"), EndOfMessage([]), EOF]
    assert response(
        parser_class, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    ) == [error(501)]


def test_chunked_response(parser_class: ParserClass) -> None:
    out = response(
        parser_class,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    )
    assert response_head_of(out).chunked
    assert out[1:] == [Body(b"abc"), EndOfMessage([]), EOF]


@pytest.mark.parametrize("code", [204, 304])
def test_bodiless_responses(parser_class: ParserClass, code: int) -> None:
    data = f"HTTP/1.1 {code} X\r\nContent-Length: 10\r\n\r\n".encode() + b"HTTP/1.1 200 OK\r\n\r\n"
    out = response(parser_class, data)
    head = response_head_of(out)
    assert not head.has_body
    assert head.content_length is None
    assert out[1] == EndOfMessage([])
    assert isinstance(out[2], ResponseHead)


def test_head_response(parser_class: ParserClass) -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nTransfer-Encoding: x\r\n\r\n"
    # Framing fields are still validated where they are ignored.
    assert response(parser_class, data, method="HEAD") == [error()]
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 404 No\r\n\r\n"
    out = response(parser_class, data, method="HEAD")
    head = response_head_of(out)
    assert (head.has_body, head.content_length, head.keep_alive) == (False, None, True)
    assert out[1] == EndOfMessage([])
    second = out[2]
    assert isinstance(second, ResponseHead)
    assert second.code == 404


def test_informational_responses(parser_class: ParserClass) -> None:
    parser = parser_class(True)
    parser.set_request_method("POST")
    parser.receive(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
    )
    events: list[Event | None] = []
    for _ in range(2):
        events.append(parser.next_event())
        events.append(parser.next_event())
        assert parser.next_event() is None
        parser.start_next_message()
    events += [parser.next_event(), parser.next_event(), parser.next_event()]
    codes = [e.code for e in events if isinstance(e, ResponseHead)]
    assert codes == [100, 103, 201]
    assert events[-2:] == [Body(b"ok"), EndOfMessage([])]
    assert [type(e) for e in events[:4]] == [ResponseHead, EndOfMessage] * 2


def test_switching_protocols(parser_class: ParserClass) -> None:
    parser = parser_class(True)
    parser.receive(
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"
        b"\x81\x02hi"
    )
    head = parser.next_event()
    assert isinstance(head, ResponseHead)
    assert head.upgrade
    assert not head.has_body
    assert parser.next_event() == EndOfMessage([])
    assert parser.trailing_data() == b"\x81\x02hi"


def test_connect_response(parser_class: ParserClass) -> None:
    data = b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01"
    parser = parser_class(True)
    parser.set_request_method("CONNECT")
    parser.receive(data)
    head = parser.next_event()
    assert isinstance(head, ResponseHead)
    assert head.upgrade
    assert not head.has_body
    assert parser.next_event() == EndOfMessage([])
    assert parser.trailing_data() == b"\x16\x03\x01"
    # A refused CONNECT has a body as usual.
    out = response(
        parser_class, b"HTTP/1.1 407 Auth\r\nContent-Length: 1\r\n\r\nx", method="CONNECT"
    )
    assert not response_head_of(out).upgrade
    assert out[1] == Body(b"x")


def test_request_method_stays_in_effect(parser_class: ParserClass) -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" * 2
    out = response(parser_class, data, method="HEAD")
    assert [type(e) for e in out] == [ResponseHead, EndOfMessage] * 2 + [type(EOF)]


@pytest.mark.parametrize(
    ("status_line", "status"),
    [
        (b"HTTP/1.1 099 Low", 400),
        (b"HTTP/1.1 600 High", 400),
        (b"HTTP/1.1 20 Short", 400),
        (b"HTTP/1.1 2000 Long", 400),
        (b"HTTP/1.1  200 OK", 400),
        (b"HTTP/1.1 200 O\x01K", 400),
        (b"HTTP/1.1 200 O\x7fK", 400),
        (b"http/1.1 200 OK", 400),
        (b"HTTP/1.1200 OK", 400),
        (b"HTTP/2.0 200 OK", 505),
        (b"HTTP/1.2 200 OK", 505),
        (b"HTTP/0.9 200 OK", 505),
        (b"ICE/1.0 200 OK", 400),
    ],
)
def test_invalid_status_lines(parser_class: ParserClass, status_line: bytes, status: int) -> None:
    assert response(parser_class, status_line + b"\r\nContent-Length: 0\r\n\r\n") == [
        error(status)
    ]
