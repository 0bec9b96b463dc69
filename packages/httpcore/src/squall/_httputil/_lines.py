"""Start lines, timestamps, host/port, URL and query helpers of `squall.httputil`."""

from __future__ import annotations

import calendar
import datetime
import re
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import AnyStr, NamedTuple

from squall._httputil._errors import HTTPInputError, _snippet

__all__ = [
    "RequestStartLine",
    "ResponseStartLine",
    "encode_username_password",
    "format_timestamp",
    "parse_request_start_line",
    "parse_response_start_line",
    "qs_to_qsl",
    "split_host_and_port",
    "url_concat",
]


class RequestStartLine(NamedTuple):
    """RequestStartLine(method, path, version): a request's first line.

    ``path`` is the request target as sent (path and query).
    """

    method: str
    path: str
    version: str


class ResponseStartLine(NamedTuple):
    """ResponseStartLine(version, code, reason): a response's first line."""

    version: str
    code: int
    reason: str


# NamedTuple takes its __module__ from the defining module; the documented
# home is squall.httputil (pickle finds them there too).
RequestStartLine.__module__ = "squall.httputil"
ResponseStartLine.__module__ = "squall.httputil"

# RFC 9112 §3: request-line = method SP request-target SP HTTP-version, the
# method a token (RFC 9110 §9.1), the target without whitespace or controls.
# Only HTTP/1.x is spoken here.
_REQUEST_LINE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\x00-\x20\x7f]+) (HTTP/1\.[0-9])")
# RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ];
# the SP before an empty reason is often missing in practice, so optional.
_STATUS_LINE = re.compile(r"(HTTP/1\.[0-9]) ([0-9]{3})(?: ([^\x00\r\n]*))?")


def _strip_line_end(line: str | bytes) -> str:
    if isinstance(line, bytes):
        line = line.decode("latin-1")
    if line.endswith("\n"):
        line = line[:-2] if line.endswith("\r\n") else line[:-1]
    return line


def parse_request_start_line(line: str | bytes) -> RequestStartLine:
    """Returns a (method, path, version) tuple for an HTTP 1.x request line.

    The response is a `collections.namedtuple`.

    >>> parse_request_start_line("GET /foo HTTP/1.1")
    RequestStartLine(method='GET', path='/foo', version='HTTP/1.1')

    A trailing CRLF (or LF) is ignored; ``bytes`` are decoded as latin-1.

    :raises HTTPInputError: unless the line is a token method, one SP, a
        target without whitespace or control characters, one SP and
        ``HTTP/1.<digit>``.
    """
    line = _strip_line_end(line)
    match = _REQUEST_LINE.fullmatch(line)
    if match is None:
        raise HTTPInputError(f"Malformed HTTP request line: {_snippet(line)}")
    return RequestStartLine(match[1], match[2], match[3])


def parse_response_start_line(line: str | bytes) -> ResponseStartLine:
    """Returns a (version, code, reason) tuple for an HTTP 1.x response line.

    The response is a `collections.namedtuple`.

    >>> parse_response_start_line("HTTP/1.1 200 OK")
    ResponseStartLine(version='HTTP/1.1', code=200, reason='OK')

    A trailing CRLF (or LF) is ignored; the reason may be empty (and the
    space before it missing); ``bytes`` are decoded as latin-1.

    :raises HTTPInputError: unless the line is ``HTTP/1.<digit>``, SP, a
        three-digit status code, and optionally SP and a reason without
        CR, LF or NUL.
    """
    line = _strip_line_end(line)
    match = _STATUS_LINE.fullmatch(line)
    if match is None:
        raise HTTPInputError(f"Error parsing response start line: {_snippet(line)}")
    return ResponseStartLine(match[1], int(match[2]), match[3] or "")


def split_host_and_port(netloc: str) -> tuple[str, int | None]:
    """Returns ``(host, port)`` tuple from ``netloc``.

    Returned ``port`` will be ``None`` if not present.

    >>> split_host_and_port("example.com:8080")
    ('example.com', 8080)
    >>> split_host_and_port("[::1]")
    ('[::1]', None)
    >>> split_host_and_port("[::1]:443")
    ('[::1]', 443)

    The port is what follows the last colon when that is one or more ASCII
    digits; an IPv6 literal keeps its brackets.
    """
    host, colon, port = netloc.rpartition(":")
    if colon and host and port.isdigit() and port.isascii():
        return host, int(port)
    return netloc, None


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The last second formatted: every response carries a Date header, and most
# responses within one second share it.
_last_formatted: tuple[int, str] = (-1, "")


def format_timestamp(
    ts: float | tuple[int, ...] | time.struct_time | datetime.datetime,
) -> str:
    """Formats a timestamp in the format used by HTTP.

    The argument may be a numeric timestamp as returned by `time.time`, a
    time tuple as returned by `time.gmtime`, or a `datetime.datetime`
    object (naive ones are taken as UTC).

    >>> format_timestamp(1359312200)
    'Sun, 27 Jan 2013 18:43:20 GMT'

    The result is the IMF-fixdate of RFC 9110 §5.6.7, in English whatever
    the locale.

    :raises TypeError: for any other type of argument.
    """
    global _last_formatted
    if isinstance(ts, (int, float)):
        seconds = ts
    elif isinstance(ts, (tuple, time.struct_time)):
        seconds = calendar.timegm(ts)
    elif isinstance(ts, datetime.datetime):
        seconds = calendar.timegm(ts.utctimetuple())
    else:
        raise TypeError(f"unknown timestamp type: {ts!r}")
    # gmtime floors a float to its second, as int() does for non-negatives.
    whole = int(seconds)
    cached_second, cached = _last_formatted
    if whole == cached_second and seconds >= 0:
        return cached
    t = time.gmtime(seconds)
    formatted = (
        f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )
    if seconds >= 0:
        _last_formatted = (whole, formatted)
    return formatted


def url_concat(
    url: str,
    args: Mapping[str, str] | Sequence[tuple[str, str]] | None,
) -> str:
    """Concatenate url and arguments regardless of whether url has existing query parameters.

    ``args`` may be either a dictionary or a list of key-value pairs (the
    latter allows for multiple values with the same key); a tuple of pairs
    works as a list, and None as no arguments.  The fragment stays last.

    >>> url_concat("http://example.com/foo", dict(c="d"))
    'http://example.com/foo?c=d'
    >>> url_concat("http://example.com/foo?a=b", dict(c="d"))
    'http://example.com/foo?a=b&c=d'
    >>> url_concat("http://example.com/foo?a=b", [("c", "d"), ("c", "d2")])
    'http://example.com/foo?a=b&c=d&c=d2'

    :raises TypeError: if `args` is none of these.
    """
    if args is None:
        return url
    parsed = urllib.parse.urlparse(url)
    query = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
    if isinstance(args, Mapping):
        query.extend(args.items())
    elif isinstance(args, (list, tuple)):
        query.extend(args)
    else:
        raise TypeError(
            f"'args' parameter should be dict, list or tuple. Not {type(args).__name__}"
        )
    return urllib.parse.urlunparse(parsed._replace(query=urllib.parse.urlencode(query)))


def qs_to_qsl(qs: Mapping[str, Iterable[AnyStr]]) -> Iterable[tuple[str, AnyStr]]:
    """Generator converting a result of ``parse_qs`` back to name-value pairs.

    >>> list(qs_to_qsl({"a": [b"1", b"2"], "b": [b"3"]}))
    [('a', b'1'), ('a', b'2'), ('b', b'3')]
    """
    for name, values in qs.items():
        for value in values:
            yield name, value


def encode_username_password(username: str | bytes, password: str | bytes) -> bytes:
    """Encodes a username/password pair in the format used by HTTP auth.

    The return value is a byte string in the form ``username:password``,
    each encoded as UTF-8 when given as ``str`` (for the Basic scheme, to be
    base64-encoded by the caller).

    >>> encode_username_password("user", "pässword")
    b'user:p\\xc3\\xa4ssword'
    """
    if isinstance(username, str):
        username = username.encode("utf-8")
    if isinstance(password, str):
        password = password.encode("utf-8")
    return username + b":" + password
