"""Request-smuggling and malformed-message cases for the HTTP/1.1 parser (data only).

Each `Case` is a byte stream and the outcome every parser must reach:
``status`` is the `ParseError` status raised somewhere in the stream, None
when the whole stream parses.  ``eof`` says whether the stream ends with
the connection closing.  The cases follow RFC 9110/9112 and squall's strict
choices (shared/DESIGN.md §5); the ones named after an attack are the
classic desynchronisation techniques (CL.TE, TE.CL, TE.TE obfuscations).
Used by test_http1parser_corpus.py.
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    id: str
    data: bytes
    status: int | None
    eof: bool = True


def _req(fields: bytes, body: bytes = b"", start: bytes = b"POST / HTTP/1.1") -> bytes:
    return start + b"\r\nHost: example.com\r\n" + fields + b"\r\n" + body


_CHUNKED = b"Transfer-Encoding: chunked\r\n"


def _chunked(body: bytes) -> bytes:
    return _req(_CHUNKED, body)


REQUESTS: list[Case] = [
    # -- accepted, for contrast ---------------------------------------------
    Case("get", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", None),
    Case("get-1.0-no-host", b"GET / HTTP/1.0\r\n\r\n", None),
    Case("post-cl", _req(b"Content-Length: 5\r\n", b"hello"), None),
    Case("post-chunked", _chunked(b"5\r\nhello\r\n0\r\n\r\n"), None),
    Case("pipelined", b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", None),
    Case("leading-crlf", b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", None),
    # -- CL.TE / TE.CL: both framings present ---------------------------------
    Case("cl-te", _req(b"Content-Length: 6\r\n" + _CHUNKED, b"0\r\n\r\nG"), 400),
    Case("te-cl", _req(_CHUNKED + b"Content-Length: 3\r\n", b"8\r\nSMUGGLED\r\n0\r\n\r\n"), 400),
    Case("cl-0-te", _req(b"Content-Length: 0\r\n" + _CHUNKED, b"0\r\n\r\n"), 400),
    Case("te-identity-cl", _req(b"Transfer-Encoding: identity\r\nContent-Length: 1\r\n"), 400),
    # -- TE.TE: obfuscated Transfer-Encoding ----------------------------------
    Case("te-xchunked", _req(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"), 400),
    Case("te-chunked-suffix", _req(b"Transfer-Encoding: chunkedx\r\n", b"0\r\n\r\n"), 400),
    Case("te-leading-ows", _req(b"Transfer-Encoding:   chunked\r\n", b"0\r\n\r\n"), None),
    Case("te-leading-tab", _req(b"Transfer-Encoding:\tchunked\r\n", b"0\r\n\r\n"), None),
    Case("te-trailing-ows", _req(b"Transfer-Encoding: chunked \t\r\n", b"0\r\n\r\n"), None),
    Case("te-uppercase", _req(b"Transfer-Encoding: CHUNKED\r\n", b"0\r\n\r\n"), None),
    Case("te-name-case", _req(b"transfer-ENCODING: chunked\r\n", b"0\r\n\r\n"), None),
    Case("te-space-before-colon", _req(b"Transfer-Encoding : chunked\r\n", b"0\r\n\r\n"), 400),
    Case("te-tab-before-colon", _req(b"Transfer-Encoding\t: chunked\r\n", b"0\r\n\r\n"), 400),
    Case(
        "te-leading-space-name",
        b"POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    Case("te-obs-fold", _req(b"Transfer-Encoding:\r\n chunked\r\n", b"0\r\n\r\n"), 400),
    Case("te-obs-fold-tab", _req(b"X: y\r\n\tTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400),
    Case("te-chunked-identity", _req(b"Transfer-Encoding: chunked, identity\r\n"), 400),
    Case("te-identity-chunked", _req(b"Transfer-Encoding: identity, chunked\r\n"), 501),
    Case("te-gzip-chunked", _req(b"Transfer-Encoding: gzip, chunked\r\n"), 501),
    Case("te-gzip-field-chunked-field", _req(b"Transfer-Encoding: gzip\r\n" + _CHUNKED), 501),
    Case("te-chunked-gzip", _req(b"Transfer-Encoding: chunked, gzip\r\n"), 400),
    Case("te-gzip", _req(b"Transfer-Encoding: gzip\r\n"), 400),
    Case("te-chunked-twice", _req(b"Transfer-Encoding: chunked, chunked\r\n"), 400),
    Case("te-chunked-two-fields", _req(_CHUNKED + _CHUNKED, b"0\r\n\r\n"), 400),
    Case("te-empty", _req(b"Transfer-Encoding: \r\n"), 400),
    Case("te-empty-element", _req(b"Transfer-Encoding: chunked,\r\n", b"0\r\n\r\n"), 400),
    Case("te-leading-comma", _req(b"Transfer-Encoding: , chunked\r\n", b"0\r\n\r\n"), 400),
    Case("te-quoted", _req(b'Transfer-Encoding: "chunked"\r\n', b"0\r\n\r\n"), 400),
    Case("te-vertical-tab", _req(b"Transfer-Encoding:\x0bchunked\r\n", b"0\r\n\r\n"), 400),
    Case("te-form-feed", _req(b"Transfer-Encoding: chunked\x0c\r\n", b"0\r\n\r\n"), 400),
    Case("te-nul", _req(b"Transfer-Encoding: chunked\x00\r\n", b"0\r\n\r\n"), 400),
    Case("te-bare-cr", _req(b"Transfer-Encoding: chunked\rX: y\r\n", b"0\r\n\r\n"), 400),
    Case("te-bare-lf", _req(b"Transfer-Encoding: chunked\nX: y\r\n", b"0\r\n\r\n"), 400),
    Case("te-underscore", _req(b"Transfer_Encoding: chunked\r\n"), None),  # not TE: no body
    Case("te-non-ascii-k", _req(b"Transfer-Encoding: chun\xe2\x84\xaaed\r\n"), 400),
    Case("te-param-on-chunked", _req(b"Transfer-Encoding: chunked;q=1\r\n", b"0\r\n\r\n"), 400),
    Case(
        "te-http10",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    Case(
        "te-http10-with-cl",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
        400,
    ),
    # -- Content-Length ----------------------------------------------------
    Case("cl-duplicate-same", _req(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"), 400),
    Case("cl-duplicate-differ", _req(b"Content-Length: 5\r\nContent-Length: 6\r\n"), 400),
    Case("cl-duplicate-case", _req(b"Content-Length: 1\r\ncontent-length: 1\r\n", b"x"), 400),
    Case("cl-list", _req(b"Content-Length: 5, 5\r\n", b"hello"), 400),
    Case("cl-plus", _req(b"Content-Length: +5\r\n", b"hello"), 400),
    Case("cl-minus", _req(b"Content-Length: -5\r\n"), 400),
    Case("cl-minus-zero", _req(b"Content-Length: -0\r\n"), 400),
    Case("cl-hex", _req(b"Content-Length: 0x5\r\n", b"hello"), 400),
    Case("cl-decimal-point", _req(b"Content-Length: 5.0\r\n", b"hello"), 400),
    Case("cl-exponent", _req(b"Content-Length: 5e0\r\n", b"hello"), 400),
    Case("cl-underscore", _req(b"Content-Length: 1_0\r\n", b"0123456789"), 400),
    Case("cl-inner-space", _req(b"Content-Length: 1 0\r\n", b"0123456789"), 400),
    Case("cl-empty", _req(b"Content-Length: \r\n"), 400),
    Case("cl-superscript-digit", _req(b"Content-Length: \xb2\r\n", b"ab"), 400),
    Case("cl-overflow", _req(b"Content-Length: 99999999999999999999999\r\n"), 400),
    Case("cl-19-digits", _req(b"Content-Length: 1000000000000000000\r\n"), 400),
    Case("cl-18-digits", _req(b"Content-Length: 999999999999999999\r\n"), None, eof=False),
    Case("cl-leading-zeros", _req(b"Content-Length: 005\r\n", b"hello"), None),
    Case("cl-ows", _req(b"Content-Length: \t5 \r\n", b"hello"), None),
    Case("cl-space-before-colon", _req(b"Content-Length : 5\r\n", b"hello"), 400),
    Case("cl-obs-fold", _req(b"Content-Length:\r\n 5\r\n", b"hello"), 400),
    Case("cl-short-body-eof", _req(b"Content-Length: 10\r\n", b"hello"), 400),
    Case("cl-body-then-garbage", _req(b"Content-Length: 2\r\n", b"hiX"), 400),
    # -- chunk sizes and framing ------------------------------------------------
    Case("chunk-0x", _chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-plus", _chunked(b"+5\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-minus", _chunked(b"-5\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-space-before", _chunked(b" 5\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-space-after", _chunked(b"5 \r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-tab-after", _chunked(b"5\t\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-empty-size", _chunked(b"\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-non-hex", _chunked(b"5g\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-underscore", _chunked(b"1_0\r\n0123456789abcdef\r\n0\r\n\r\n"), 400),
    Case("chunk-uppercase-hex", _chunked(b"A\r\n0123456789\r\n0\r\n\r\n"), None),
    Case("chunk-16-digits", _chunked(b"000000000000000A\r\n0123456789\r\n0\r\n\r\n"), None),
    Case("chunk-17-digits", _chunked(b"0000000000000000A\r\n0123456789\r\n0\r\n\r\n"), 400),
    Case("chunk-overflow", _chunked(b"10000000000000000\r\nx\r\n0\r\n\r\n"), 400),
    Case("chunk-max-size", _chunked(b"ffffffffffffffff\r\nabc"), None, eof=False),
    Case("chunk-ext", _chunked(b'5;a=b;c;d="e;f\\""\r\nhello\r\n0;z\r\n\r\n'), None),
    Case("chunk-ext-bws", _chunked(b"5 ; a = b\r\nhello\r\n0\r\n\r\n"), None),
    Case("chunk-ext-empty", _chunked(b"5;\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-ext-no-name", _chunked(b"5;=b\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-ext-unclosed-quote", _chunked(b'5;a="b\r\nhello\r\n0\r\n\r\n'), 400),
    Case("chunk-ext-ctl", _chunked(b"5;a=\x01\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-ext-nul", _chunked(b"5;a\x00\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-ext-bare-cr", _chunked(b"5;a\rb\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-ext-bare-lf", _chunked(b"5;a\nb\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-size-bare-lf", _chunked(b"5\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-data-too-long", _chunked(b"3\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-data-too-short", _chunked(b"8\r\nhello\r\n0\r\n\r\n"), 400),
    Case("chunk-data-bare-lf", _chunked(b"5\r\nhello\n0\r\n\r\n"), 400),
    Case("chunk-data-bare-cr", _chunked(b"5\r\nhello\r0\r\n\r\n"), 400),
    Case("chunk-data-no-crlf", _chunked(b"5\r\nhello0\r\n\r\n"), 400),
    Case("last-chunk-00", _chunked(b"00\r\n\r\n"), None),
    Case("last-chunk-missing-crlf", _chunked(b"0\r\n"), 400),
    Case("last-chunk-bare-lf-end", _chunked(b"0\r\n\n"), 400),
    Case("trailers", _chunked(b"0\r\nA: b\r\nC: d\r\n\r\n"), None),
    Case("trailer-space-before-colon", _chunked(b"0\r\nA : b\r\n\r\n"), 400),
    Case("trailer-obs-fold", _chunked(b"0\r\nA: b\r\n c\r\n\r\n"), 400),
    Case("trailer-nul", _chunked(b"0\r\nA: \x00\r\n\r\n"), 400),
    Case("trailer-bare-lf", _chunked(b"0\r\nA: b\n\r\n"), 400),
    Case("trailer-no-colon", _chunked(b"0\r\nA\r\n\r\n"), 400),
    Case("trailer-incomplete", _chunked(b"0\r\nA: b\r\n"), 400),
    # -- field lines -------------------------------------------------------
    Case("field-nul-value", _req(b"A: b\x00c\r\n"), 400),
    Case("field-nul-name", _req(b"A\x00: b\r\n"), 400),
    Case("field-del-value", _req(b"A: b\x7f\r\n"), 400),
    Case("field-esc-value", _req(b"A: \x1b[31m\r\n"), 400),
    Case("field-vt-value", _req(b"A: b\x0bc\r\n"), 400),
    Case("field-tab-value", _req(b"A: b\tc\r\n"), None),
    Case("field-obs-text-value", _req(b"A: caf\xe9 \xff\r\n"), None),
    Case("field-obs-text-name", _req(b"Caf\xe9: b\r\n"), 400),
    Case("field-bare-cr-value", _req(b"A: b\rc\r\n"), 400),
    Case("field-bare-cr-end", _req(b"A: b\r"), 400),
    Case("field-bare-lf-end", _req(b"A: b\nC: d\r\n"), 400),
    Case("field-cr-cr-lf", _req(b"A: b\r\r\n"), 400),
    Case("field-obs-fold-space", _req(b"A: b\r\n c\r\n"), 400),
    Case("field-obs-fold-tab", _req(b"A: b\r\n\tc\r\n"), 400),
    Case("field-space-before-colon", _req(b"A : b\r\n"), 400),
    Case("field-tab-before-colon", _req(b"A\t: b\r\n"), 400),
    Case("field-space-in-name", _req(b"A B: c\r\n"), 400),
    Case("field-empty-name", _req(b": b\r\n"), 400),
    Case("field-no-colon", _req(b"AB\r\n"), 400),
    Case("field-paren-name", _req(b"A(B): c\r\n"), 400),
    Case("field-slash-name", _req(b"A/B: c\r\n"), 400),
    Case("field-at-name", _req(b"A@B: c\r\n"), 400),
    Case("field-quote-name", _req(b'"A": c\r\n'), 400),
    Case("field-brace-name", _req(b"{A}: c\r\n"), 400),
    Case("field-token-specials-name", _req(b"!#$%&'*+-.^_`|~: c\r\n"), None),
    Case("field-empty-value", _req(b"A:\r\n"), None),
    Case("field-colon-in-value", _req(b"A: b: c\r\n"), None),
    Case("host-duplicate", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    Case("host-duplicate-case", b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400),
    # -- request lines -----------------------------------------------------
    Case("method-lowercase", b"get / HTTP/1.1\r\n\r\n", None),
    Case("method-unknown-token", b"PURGE / HTTP/1.1\r\n\r\n", None),
    Case("method-paren", b"GE(T / HTTP/1.1\r\n\r\n", 400),
    Case("method-slash", b"GE/T / HTTP/1.1\r\n\r\n", 400),
    Case("method-non-ascii", b"G\xc9T / HTTP/1.1\r\n\r\n", 400),
    Case("method-empty", b" / HTTP/1.1\r\n\r\n", 400),
    Case("method-nul", b"G\x00T / HTTP/1.1\r\n\r\n", 400),
    Case("line-two-spaces", b"GET  / HTTP/1.1\r\n\r\n", 400),
    Case("line-tab", b"GET\t/ HTTP/1.1\r\n\r\n", 400),
    Case("line-trailing-space", b"GET / HTTP/1.1 \r\n\r\n", 400),
    Case("line-leading-space", b" GET / HTTP/1.1\r\n\r\n", 400),
    # llhttp skips a bare CR before the method; squall does not.
    Case("line-leading-bare-cr", b"\rGET / HTTP/1.1\r\n\r\n", 400),
    Case("target-double-space", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    Case("line-bare-cr", b"GET / HTTP/1.1\rHost: a\r\n\r\n", 400),
    Case("line-bare-lf", b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
    Case("line-all-bare-lf", b"GET / HTTP/1.1\nHost: a\n\n", 400, eof=False),
    Case("line-http09", b"GET /\r\n\r\n", 400),
    Case("line-only-method", b"GET\r\n\r\n", 400),
    Case("line-extra-part", b"GET / x HTTP/1.1\r\n\r\n", 400),
    Case("target-space", b"GET /a b HTTP/1.1\r\n\r\n", 400),
    Case("target-nul", b"GET /\x00 HTTP/1.1\r\n\r\n", 400),
    Case("target-ctl", b"GET /\x01 HTTP/1.1\r\n\r\n", 400),
    Case("target-del", b"GET /\x7f HTTP/1.1\r\n\r\n", 400),
    Case("target-tab", b"GET /\t HTTP/1.1\r\n\r\n", 400),
    Case("target-obs-text", b"GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", None),
    Case("target-relative", b"GET abc HTTP/1.1\r\n\r\n", 400),
    Case("target-dot", b"GET ./a HTTP/1.1\r\n\r\n", 400),
    Case("target-asterisk-get", b"GET * HTTP/1.1\r\n\r\n", 400),
    Case("target-asterisk-options", b"OPTIONS * HTTP/1.1\r\n\r\n", None),
    Case("target-asterisk-star", b"OPTIONS ** HTTP/1.1\r\n\r\n", 400),
    Case("target-absolute", b"GET http://a.example/x?y HTTP/1.1\r\nHost: a.example\r\n\r\n", None),
    Case("target-scheme-without-authority", b"GET http:/x HTTP/1.1\r\n\r\n", 400),
    Case("target-authority-get", b"GET a.example:80 HTTP/1.1\r\n\r\n", 400),
    Case("connect-authority", b"CONNECT a.example:443 HTTP/1.1\r\n\r\n", None),
    Case("connect-ipv6", b"CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n", None),
    Case("connect-origin", b"CONNECT / HTTP/1.1\r\n\r\n", 400),
    Case("connect-no-port", b"CONNECT a.example HTTP/1.1\r\n\r\n", 400),
    Case("connect-absolute", b"CONNECT http://a.example:443 HTTP/1.1\r\n\r\n", 400),
    Case("connect-userinfo", b"CONNECT u@a.example:443 HTTP/1.1\r\n\r\n", 400),
    Case("version-2.0", b"GET / HTTP/2.0\r\n\r\n", 505),
    Case("version-1.2", b"GET / HTTP/1.2\r\n\r\n", 505),
    Case("version-0.9", b"GET / HTTP/0.9\r\n\r\n", 505),
    Case("version-3.0", b"GET / HTTP/3.0\r\n\r\n", 505),
    Case("version-lowercase", b"GET / http/1.1\r\n\r\n", 400),
    Case("version-two-digits", b"GET / HTTP/1.10\r\n\r\n", 400),
    Case("version-major-only", b"GET / HTTP/1\r\n\r\n", 400),
    Case("version-11", b"GET / HTTP/11\r\n\r\n", 400),
    Case("version-space", b"GET / HTTP/ 1.1\r\n\r\n", 400),
    Case("version-https", b"GET / HTTPS/1.1\r\n\r\n", 400),
    Case("version-rtsp", b"GET / RTSP/1.0\r\n\r\n", 400),
    Case("version-2-then-bad-field", b"GET / HTTP/2.0\r\nA : b\r\n\r\n", 505),
    # -- sizes (default limits: 8 KiB start line, 64 KiB head, 200 fields) --
    Case("long-request-line", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
    Case("long-request-line-unfinished", b"GET /" + b"a" * 9000, 414, eof=False),
    Case("request-line-at-limit", b"GET /" + b"a" * (8192 - 14) + b" HTTP/1.1\r\n\r\n", None),
    Case("request-line-over-limit", b"GET /" + b"a" * (8193 - 14) + b" HTTP/1.1\r\n\r\n", 414),
    Case("many-fields", _req(b"A: b\r\n" * 201), 431),
    Case("fields-at-limit", b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * 200 + b"\r\n", None),
    Case("big-head", _req(b"A: " + b"b" * 70000 + b"\r\n"), 431),
    Case("big-head-unfinished", _req(b"A: " + b"b" * 70000), 431, eof=False),
    Case("big-trailers", _chunked(b"0\r\nA: " + b"b" * 70000 + b"\r\n\r\n"), 431),
    Case("long-chunk-line", _chunked(b"1;a=" + b"b" * 5000 + b"\r\nx\r\n0\r\n\r\n"), 400),
    # -- EOF -----------------------------------------------------------------
    Case("eof-mid-head", b"GET / HTTP/1.1\r\nHost: a\r\n", 400),
    Case("eof-mid-start-line", b"GET / HT", 400),
    Case("eof-between-messages", b"GET / HTTP/1.1\r\n\r\n", None),
    Case("eof-after-empty-lines", b"GET / HTTP/1.1\r\n\r\n\r\n\r\n", None),
    Case("eof-half-empty-line", b"GET / HTTP/1.1\r\n\r\n\r", 400),
]


def _resp(start: bytes, fields: bytes, body: bytes = b"") -> bytes:
    return start + b"\r\n" + fields + b"\r\n" + body


_OK = b"HTTP/1.1 200 OK"


RESPONSES: list[Case] = [
    Case("ok", _resp(_OK, b"Content-Length: 2\r\n", b"hi"), None),
    Case("no-reason", _resp(b"HTTP/1.1 200", b"Content-Length: 0\r\n"), None),
    Case("empty-reason", _resp(b"HTTP/1.1 200 ", b"Content-Length: 0\r\n"), None),
    Case("until-close", _resp(b"HTTP/1.0 200 OK", b"", b"anything\r\n\r\nat all"), None),
    Case("cl-te", _resp(_OK, b"Content-Length: 2\r\n" + _CHUNKED, b"0\r\n\r\n"), 400),
    Case("cl-duplicate", _resp(_OK, b"Content-Length: 2\r\n" * 2, b"hi"), 400),
    Case("cl-plus", _resp(_OK, b"Content-Length: +2\r\n", b"hi"), 400),
    Case("te-http10", _resp(b"HTTP/1.0 200 OK", _CHUNKED, b"0\r\n\r\n"), 400),
    Case("te-gzip-chunked", _resp(_OK, b"Transfer-Encoding: gzip, chunked\r\n"), 501),
    Case(
        "te-gzip-until-close",
        _resp(_OK, b"Transfer-Encoding: gzip\r\n", b"x"),
        None,
    ),
    Case("te-chunked-gzip", _resp(_OK, b"Transfer-Encoding: chunked, gzip\r\n"), 400),
    Case("te-xchunked", _resp(_OK, b"Transfer-Encoding: xchunked\r\n", b"x"), None),
    Case("chunk-0x", _resp(_OK, _CHUNKED, b"0x1\r\na\r\n0\r\n\r\n"), 400),
    Case("204-with-cl", _resp(b"HTTP/1.1 204 No", b"Content-Length: 5\r\n"), None),
    Case("304-with-bad-cl", _resp(b"HTTP/1.1 304 No", b"Content-Length: x\r\n"), 400),
    Case("code-099", _resp(b"HTTP/1.1 099 X", b"Content-Length: 0\r\n"), 400),
    Case("code-600", _resp(b"HTTP/1.1 600 X", b"Content-Length: 0\r\n"), 400),
    Case("code-2-digits", _resp(b"HTTP/1.1 20 X", b"Content-Length: 0\r\n"), 400),
    Case("code-letters", _resp(b"HTTP/1.1 2OO X", b"Content-Length: 0\r\n"), 400),
    Case("reason-ctl", _resp(b"HTTP/1.1 200 O\x00K", b"Content-Length: 0\r\n"), 400),
    Case("reason-obs-text", _resp(b"HTTP/1.1 200 \xc9t\xe9", b"Content-Length: 0\r\n"), None),
    Case("version-2", _resp(b"HTTP/2 200 OK", b"Content-Length: 0\r\n"), 400),
    Case("version-2.0", _resp(b"HTTP/2.0 200 OK", b"Content-Length: 0\r\n"), 505),
    Case("version-lowercase", _resp(b"http/1.1 200 OK", b"Content-Length: 0\r\n"), 400),
    Case("field-obs-fold", _resp(_OK, b"Content-Length: 0\r\nA: b\r\n c\r\n"), 400),
    Case("field-bare-lf", _resp(_OK, b"Content-Length: 0\nA: b\r\n"), 400),
    Case("field-space-colon", _resp(_OK, b"Content-Length : 0\r\n"), 400),
    Case("long-status-line", _resp(b"HTTP/1.1 200 " + b"x" * 9000, b""), 400),
    Case("eof-mid-body", _resp(_OK, b"Content-Length: 5\r\n", b"hi"), 400),
]
