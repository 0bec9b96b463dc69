"""Tests of squall.httputil: the public surface, start lines, helpers, interfaces.

HTTPHeaders, HTTPServerRequest and the body parsers have their own files
(test_httputil_headers.py, test_httputil_request.py, test_httputil_body.py).
"""

from __future__ import annotations

import calendar
import datetime
import doctest
import http.client
import pickle
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import squall.httputil
from squall._httputil import _body, _cookies, _headers, _lines
from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPOutputError,
    HTTPServerConnectionDelegate,
    RequestStartLine,
    ResponseStartLine,
    encode_username_password,
    format_timestamp,
    parse_request_start_line,
    parse_response_start_line,
    qs_to_qsl,
    split_host_and_port,
    url_concat,
)

# -- the public surface -----------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    names = squall.httputil.__all__
    assert names == sorted(names)
    public = {
        name
        for name, value in vars(squall.httputil).items()
        if not name.startswith("_")
        and not isinstance(value, type(squall))
        and name != "annotations"
    }
    assert public == set(names)


@pytest.mark.parametrize("name", squall.httputil.__all__)
def test_public_classes_live_in_the_public_module(name: str) -> None:
    value = getattr(squall.httputil, name)
    if isinstance(value, type):
        assert value.__module__ == "squall.httputil"
        # Pickle and repr find them where the documentation says.
        assert pickle.loads(pickle.dumps(value)) is value


def test_responses_is_http_client_responses() -> None:
    assert squall.httputil.responses is http.client.responses
    assert squall.httputil.responses[404] == "Not Found"


@pytest.mark.parametrize("module", [squall.httputil, _headers, _lines, _body, _cookies])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0


def test_errors() -> None:
    assert issubclass(HTTPInputError, Exception)
    assert issubclass(HTTPOutputError, Exception)
    assert not issubclass(HTTPInputError, HTTPOutputError)


# -- interfaces -----------------------------------------------------------------


def test_interface_defaults() -> None:
    delegate = HTTPMessageDelegate()
    start_line = RequestStartLine("GET", "/", "HTTP/1.1")
    assert delegate.headers_received(start_line, HTTPHeaders()) is None
    assert delegate.data_received(b"x") is None
    delegate.finish()
    delegate.on_connection_close()
    server_delegate = HTTPServerConnectionDelegate()
    with pytest.raises(NotImplementedError):
        server_delegate.start_request(object(), HTTPConnection())
    server_delegate.on_close(object())
    connection = HTTPConnection()
    with pytest.raises(NotImplementedError):
        connection.write_headers(start_line, HTTPHeaders())
    with pytest.raises(NotImplementedError):
        connection.write(b"x")
    with pytest.raises(NotImplementedError):
        connection.finish()


# -- start lines ------------------------------------------------------------------


def test_parse_request_start_line() -> None:
    line = parse_request_start_line("GET /foo HTTP/1.1")
    assert line == RequestStartLine(method="GET", path="/foo", version="HTTP/1.1")
    assert repr(line) == "RequestStartLine(method='GET', path='/foo', version='HTTP/1.1')"
    assert (line.method, line.path, line.version) == ("GET", "/foo", "HTTP/1.1")
    assert parse_request_start_line(b"OPTIONS * HTTP/1.0\r\n") == ("OPTIONS", "*", "HTTP/1.0")
    assert parse_request_start_line("CONNECT h:443 HTTP/1.1\n").path == "h:443"
    assert parse_request_start_line(b"GET /caf\xc3\xa9 HTTP/1.1").path == "/caf\xc3\xa9"


@pytest.mark.parametrize(
    "line",
    [
        "",
        "GET /foo",
        "GET /foo HTTP/1.1 extra",
        "GET  /foo HTTP/1.1",
        "GET /foo  HTTP/1.1",
        "GET /foo HTTP/2.0",
        "GET /foo HTTP/1.10",
        "GET /foo http/1.1",
        "G(T /foo HTTP/1.1",
        "GET /f\x00o HTTP/1.1",
        "GET /f\to HTTP/1.1",
        "GET /foo HTTP/1.1\r",
        "GET /foo HTTP/1.1\r\n\r\n",
        " GET /foo HTTP/1.1",
    ],
)
def test_parse_request_start_line_rejects(line: str) -> None:
    with pytest.raises(HTTPInputError):
        parse_request_start_line(line)


def test_parse_response_start_line() -> None:
    line = parse_response_start_line("HTTP/1.1 200 OK")
    assert line == ResponseStartLine(version="HTTP/1.1", code=200, reason="OK")
    assert repr(line) == "ResponseStartLine(version='HTTP/1.1', code=200, reason='OK')"
    assert parse_response_start_line(b"HTTP/1.0 404 Not Found\r\n") == (
        "HTTP/1.0",
        404,
        "Not Found",
    )
    assert parse_response_start_line("HTTP/1.1 204") == ("HTTP/1.1", 204, "")
    assert parse_response_start_line("HTTP/1.1 204 ") == ("HTTP/1.1", 204, "")
    assert parse_response_start_line("HTTP/1.1 599 A  b\tc é") == ("HTTP/1.1", 599, "A  b\tc é")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "HTTP/1.1",
        "HTTP/1.1 20 OK",
        "HTTP/1.1 2000 OK",
        "HTTP/1.1 abc OK",
        "HTTP/2 200 OK",
        "HTTP/1.1  200 OK",
        "ICY 200 OK",
        "HTTP/1.1 200 O\rK",
        "HTTP/1.1 200 O\x00K",
        "HTTP/1.1 200OK",
    ],
)
def test_parse_response_start_line_rejects(line: str) -> None:
    with pytest.raises(HTTPInputError):
        parse_response_start_line(line)


def test_start_line_errors_quote_bounded_input() -> None:
    with pytest.raises(HTTPInputError) as info:
        parse_request_start_line("GET " + "x" * 100_000)
    assert len(str(info.value)) < 200
    with pytest.raises(HTTPInputError) as info:
        parse_response_start_line("HTTP/1.1 " + "x" * 100_000)
    assert len(str(info.value)) < 200


_TOKEN = st.text(
    alphabet="!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    min_size=1,
    max_size=10,
)
_TARGET = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"),
    min_size=1,
    max_size=30,
)
_VERSION = st.sampled_from([f"HTTP/1.{digit}" for digit in range(10)])


@given(_TOKEN, _TARGET, _VERSION)
def test_request_start_line_round_trip(method: str, target: str, version: str) -> None:
    line = f"{method} {target} {version}"
    assert parse_request_start_line(line) == (method, target, version)
    assert parse_request_start_line(line.encode("latin-1") + b"\r\n") == (method, target, version)


@given(
    _VERSION,
    st.integers(100, 999),
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
        max_size=20,
    ),
)
def test_response_start_line_round_trip(version: str, code: int, reason: str) -> None:
    line = f"{version} {code} {reason}"
    assert parse_response_start_line(line) == (version, code, reason)


@given(st.text(alphabet=st.sampled_from("GET /HTP1.0 \r\n\x00x2"), max_size=30))
def test_start_line_parsers_accept_or_raise_input_error(text: str) -> None:
    try:
        method, path, version = parse_request_start_line(text)
    except HTTPInputError:
        pass
    else:
        assert f"{method} {path} {version}" == text.rstrip("\r\n")
    try:
        version, code, reason = parse_response_start_line(text)
    except HTTPInputError:
        pass
    else:
        assert 100 <= code <= 999
        assert "\r" not in reason
        assert "\n" not in reason


# -- helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("netloc", "expected"),
    [
        ("example.com", ("example.com", None)),
        ("example.com:8080", ("example.com", 8080)),
        ("127.0.0.1:80", ("127.0.0.1", 80)),
        ("[::1]", ("[::1]", None)),
        ("[::1]:443", ("[::1]", 443)),
        ("example.com:", ("example.com:", None)),
        ("example.com:http", ("example.com:http", None)),
        (":80", (":80", None)),
        ("example.com:٣", ("example.com:٣", None)),
        ("", ("", None)),
    ],
)
def test_split_host_and_port(netloc: str, expected: tuple[str, int | None]) -> None:
    assert split_host_and_port(netloc) == expected


def test_format_timestamp() -> None:
    expected = "Sun, 27 Jan 2013 18:43:20 GMT"
    assert format_timestamp(1359312200) == expected
    assert format_timestamp(1359312200.999) == expected
    assert format_timestamp(time.gmtime(1359312200)) == expected
    assert format_timestamp(tuple(time.gmtime(1359312200))) == expected
    assert format_timestamp(datetime.datetime(2013, 1, 27, 18, 43, 20)) == expected
    aware = datetime.datetime(
        2013, 1, 27, 19, 43, 20, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
    )
    assert format_timestamp(aware) == expected
    assert format_timestamp(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert format_timestamp(-1) == "Wed, 31 Dec 1969 23:59:59 GMT"
    with pytest.raises(TypeError):
        format_timestamp("yesterday")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_timestamp(datetime.date(2013, 1, 27))  # type: ignore[arg-type]


@given(st.integers(0, 2**37), st.floats(0, 0.999))
def test_format_timestamp_matches_email_utils(seconds: int, fraction: float) -> None:
    import email.utils

    expected = email.utils.formatdate(seconds, usegmt=True)
    assert format_timestamp(seconds + fraction) == expected
    assert format_timestamp(seconds) == expected
    assert calendar.timegm(email.utils.parsedate(expected)) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "args", "expected"),
    [
        ("http://example.com/foo", {"c": "d"}, "http://example.com/foo?c=d"),
        ("http://example.com/foo?a=b", {"c": "d"}, "http://example.com/foo?a=b&c=d"),
        (
            "http://example.com/foo?a=b",
            [("c", "d"), ("c", "d2")],
            "http://example.com/foo?a=b&c=d&c=d2",
        ),
        ("http://example.com/foo?a=b", (("c", "d"),), "http://example.com/foo?a=b&c=d"),
        ("http://example.com/foo?a=b", None, "http://example.com/foo?a=b"),
        ("http://example.com/foo?a=b", [], "http://example.com/foo?a=b"),
        ("http://example.com/foo?a=b&", {"c": "d"}, "http://example.com/foo?a=b&c=d"),
        ("http://example.com/foo?", {"c": "d"}, "http://example.com/foo?c=d"),
        ("http://example.com/foo?a=", {"c": "d"}, "http://example.com/foo?a=&c=d"),
        ("http://example.com/foo#frag", {"c": "d"}, "http://example.com/foo?c=d#frag"),
        (
            "http://example.com/foo?a=b#frag",
            {"c": "d e&f"},
            "http://example.com/foo?a=b&c=d+e%26f#frag",
        ),
        ("/relative", {"c": "d"}, "/relative?c=d"),
    ],
)
def test_url_concat(url: str, args: object, expected: str) -> None:
    assert url_concat(url, args) == expected  # type: ignore[arg-type]


def test_url_concat_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="dict, list or tuple"):
        url_concat("http://example.com/", "c=d")  # type: ignore[arg-type]


def test_qs_to_qsl() -> None:
    assert list(qs_to_qsl({"a": [b"1", b"2"], "b": [], "c": [b"3"]})) == [
        ("a", b"1"),
        ("a", b"2"),
        ("c", b"3"),
    ]
    assert list(qs_to_qsl({"s": ["x"]})) == [("s", "x")]


def test_encode_username_password() -> None:
    assert encode_username_password("user", "pass") == b"user:pass"
    assert encode_username_password("üser", "pässword") == "üser:pässword".encode()
    assert encode_username_password(b"\xff", b"p:w") == b"\xff:p:w"
