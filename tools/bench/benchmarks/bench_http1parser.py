"""HTTP/1.1 request parsing: squall's three parsers against httptools, bytes to a whole request.

One operation is what a server connection asks of its parser per request:
the request's bytes received, every event pulled (the head, the body, the
end of the message) and the parser readied for the next request.  The parser
lives as long as the connection, so it is made once in setup and fed one
request per operation.  Implementations:

- squall's ``CParser`` (the compiled module ``squall._http1._speedups``, the
  default where it is built), the reference row;
- squall's ``HtParser`` (llhttp validates the head, squall's Python code
  does the rest) and ``PyParser`` (pure Python);
- httptools' ``HttpRequestParser`` alone, with the callbacks a framework on
  it needs to get the same result: the method, the target, the version and
  the fields as latin-1 text, the body joined.

Every implementation returns ``(method, target, version, fields, body)`` and
they must all agree.  Three requests: wrk's (what the httpserver benchmark
sends), a browser's GET with ten fields, a POST with a 1 KiB JSON body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._harness import Benchmark, Implementation, MismatchError, Operation

WRK = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
BROWSER = (
    b"GET /index.html?page=2&sort=name HTTP/1.1\r\n"
    b"Host: www.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    b"Accept-Language: en-US,en;q=0.5\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Connection: keep-alive\r\n"
    b"Cookie: session=0123456789abcdef; theme=dark\r\n"
    b"Upgrade-Insecure-Requests: 1\r\n"
    b"Sec-Fetch-Dest: document\r\n"
    b"Sec-Fetch-Mode: navigate\r\n"
    b"\r\n"
)
_JSON = b'{"items": [' + b",".join(b'{"id": %d, "name": "item"}' % i for i in range(37)) + b"]}"
POST = (
    b"POST /api/items HTTP/1.1\r\n"
    b"Host: api.example.com\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: %d\r\n"
    b"\r\n%b" % (len(_JSON), _JSON)
)

Request = tuple[str, str, str, list[tuple[str, str]], bytes]


def _squall(class_name: str, module: str, wire: bytes) -> Operation:
    import importlib

    from squall._http1 import Body, EndOfMessage, RequestHead

    parser_class = getattr(importlib.import_module(f"squall._http1.{module}"), class_name)
    parser = parser_class(False)

    def parse() -> object:
        parser.receive(wire)
        head: Any = None
        body = b""
        while (event := parser.next_event()) is not None:
            kind = type(event)
            if kind is RequestHead:
                head = event
            elif kind is Body:
                body += event.data
            elif kind is EndOfMessage:
                break
        parser.start_next_message()
        return (head.method, head.target, head.version, head.headers, body)

    return parse


class _HttptoolsRequest:
    """httptools' callbacks collecting one request."""

    def __init__(self) -> None:
        self.url = b""
        self.fields: list[tuple[str, str]] = []
        self.body = b""
        self.complete = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


def _httptools(wire: bytes) -> Operation:
    import httptools  # type: ignore[import-untyped,unused-ignore]

    request = _HttptoolsRequest()
    parser = httptools.HttpRequestParser(request)

    def parse() -> object:
        request.url = b""
        request.fields = []
        request.body = b""
        request.complete = False
        parser.feed_data(wire)
        if not request.complete:
            raise MismatchError("httptools did not complete the request")
        return (
            parser.get_method().decode("latin-1"),
            request.url.decode("latin-1"),
            "HTTP/" + parser.get_http_version(),
            request.fields,
            request.body,
        )

    return parse


def _check(outputs: Mapping[str, object]) -> None:
    want = outputs.get("squall") or next(iter(outputs.values()))
    for name, got in outputs.items():
        if got != want:
            raise MismatchError(f"{name} parsed {got!r}, not {want!r}")


def _implementations(wire: bytes) -> list[Implementation]:
    def squall(class_name: str, module: str) -> Callable[[], Operation]:
        return lambda: _squall(class_name, module, wire)

    return [
        Implementation(
            "squall", "squall, C parser", "squall-httpcore", squall("CParser", "_cparser")
        ),
        Implementation(
            "squall-httptools",
            "squall, httptools parser",
            "squall-httpcore",
            squall("HtParser", "_htparser"),
        ),
        Implementation(
            "squall-python",
            "squall, pure Python",
            "squall-httpcore",
            squall("PyParser", "_pyparser"),
        ),
        Implementation("httptools", "httptools alone", "httptools", lambda: _httptools(wire)),
    ]


DESCRIPTION = (
    "parse one HTTP/1.1 request per operation on a parser that lives as long as its"
    " connection (bytes in, head, body and end of message out): squall's C, httptools and"
    " pure-Python parsers, and httptools' parser alone with the callbacks that collect the"
    " same request"
)

BENCHMARKS = [
    Benchmark(
        name="wrk GET",
        description="wrk's request: the request line and Host (40 bytes)",
        unit="request",
        implementations=_implementations(WRK),
        check=_check,
    ),
    Benchmark(
        name="browser GET",
        description=f"a browser's GET with a query and ten fields ({len(BROWSER)} bytes)",
        unit="request",
        implementations=_implementations(BROWSER),
        check=_check,
    ),
    Benchmark(
        name="POST",
        description=f"a POST with a Content-Length and a {len(_JSON)}-byte JSON body",
        unit="request",
        implementations=_implementations(POST),
        check=_check,
    ),
]
