"""The pure-Python HTTP/1.1 parser: the reference implementation of `ParserProtocol`.

Bytes go in with `PyParser.receive`; `PyParser.next_event` returns events
(see `squall._http1._events`).  The head is parsed in a handful of C calls:
one ``find`` for its end, one ``decode``, one regular expression for the
start line and one ``findall`` that both validates and splits every field
line (a field line that does not match is detected by counting line ends),
so a typical request costs no Python-level call per header.

States (one attribute, ``_state``; an error or EOF is sticky)::

    HEAD --head--> END --------------------------------------> PAUSED
      |             ^                                              |
      +--> CL ------+          (Content-Length body)               |
      +--> CHUNK_SIZE <-> CHUNK_DATA -> CHUNK_CRLF                 |
      |        +--> TRAILERS --+                                   |
      +--> UNTIL_CLOSE --EOF---+                                   |
    HEAD <-------------------- start_next_message -----------------+
    any --ParseError or EOF--> CLOSED
"""

from __future__ import annotations

import re
from typing import Final, NoReturn

from ._events import (
    EOF,
    Body,
    EndOfMessage,
    Event,
    Headers,
    Limits,
    ParseError,
    RequestHead,
    ResponseHead,
)

__all__ = ["PyParser"]

# -- grammar (RFC 9110 §5.6.2 token, §5.5 field values; RFC 9112 §2-§7) -----
#
# The head is decoded as latin-1, so every byte is one character and these
# patterns are byte patterns in disguise: \x80-\xff is obs-text.

_TOKEN: Final = r"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
# field-value = *field-content; written so that no character can be matched
# two ways (runs of visible characters separated by runs of blanks): the
# pattern is linear-time on any input, and leading/trailing blanks (OWS) are
# left outside the captured value.
_VCHAR: Final = r"[!-~\x80-\xff]"
_FIELD_VALUE: Final = rf"(?:{_VCHAR}+(?:[ \t]+{_VCHAR}+)*)?"
#: One field line (RFC 9112 §5): no whitespace before the colon, no CTL but
#: HTAB in the value, CRLF only.  Anchored at line starts: ``findall`` over a
#: block yields one pair per *valid* line, so the block is valid exactly when
#: the number of pairs equals the number of line feeds in it.
_FIELD_LINE: Final = re.compile(rf"^({_TOKEN}):[ \t]*({_FIELD_VALUE})[ \t]*\r\n", re.M)
#: The fields whose semantics the parser implements (framing, persistence,
#: expectations, upgrade, and Host, which must not be repeated).
_SPECIAL_FIELD: Final = re.compile(
    rf"^(content-length|transfer-encoding|connection|expect|upgrade|host):[ \t]*"
    rf"({_FIELD_VALUE})[ \t]*\r\n",
    re.M | re.I,
)
#: request-line = method SP request-target SP HTTP-version (RFC 9112 §3):
#: exactly one SP between the parts; the target has no blank, CTL or DEL.
_REQUEST_LINE: Final = re.compile(rf"({_TOKEN}) ([!-~\x80-\xff]+) (HTTP/[0-9]\.[0-9])")
#: status-line = HTTP-version SP status-code SP [ reason-phrase ]
#: (RFC 9112 §4); a missing SP after the code is accepted, as recipients
#: should ("HTTP/1.1 200\r\n").
_STATUS_LINE: Final = re.compile(r"(HTTP/[0-9]\.[0-9]) ([0-9]{3})(?: ([\t !-~\x80-\xff]*))?")
_VERSION: Final = re.compile(r"HTTP/[0-9]\.[0-9]")
#: absolute-form (RFC 9112 §3.2.2): an HTTP target always has an authority,
#: which also tells it apart from authority-form ("host:80").
_ABSOLUTE_FORM: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[!-~\x80-\xff]*")
#: authority-form (RFC 9112 §3.2.3): uri-host ":" port, for CONNECT only.
_AUTHORITY_FORM: Final = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+):[0-9]{1,5}"
)
_QUOTED_STRING: Final = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t !-~\x80-\xff])*"'
#: chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1, §7.1.1): hex digits
#: only (no sign, no "0x", no blank before the CRLF), at most
#: _MAX_CHUNK_SIZE_DIGITS of them; extensions are validated and ignored.
_MAX_CHUNK_SIZE_DIGITS: Final = 16  # 2**64 - 1: no implementation needs more
_CHUNK_LINE: Final = re.compile(
    rb"([0-9A-Fa-f]{1,%d})" % _MAX_CHUNK_SIZE_DIGITS
    + rb"(?:[ \t]*;[ \t]*"
    + _TOKEN.encode()
    + rb"(?:[ \t]*=[ \t]*(?:"
    + _TOKEN.encode()
    + rb"|"
    + _QUOTED_STRING
    + rb"))?)*"
)
#: Content-Length = 1*DIGIT (RFC 9110 §8.6); 18 digits keep it below 2**63,
#: which is also what other implementations accept.
_MAX_CONTENT_LENGTH_DIGITS: Final = 18

# -- states -----------------------------------------------------------------

_HEAD: Final = 0  # waiting for a start line and header block
_CL: Final = 1  # in a Content-Length body (_remaining bytes left)
_CHUNK_SIZE: Final = 2  # waiting for a chunk-size line
_CHUNK_DATA: Final = 3  # in a chunk's data (_remaining bytes left)
_CHUNK_CRLF: Final = 4  # waiting for the CRLF after a chunk's data
_TRAILERS: Final = 5  # waiting for the trailer section
_UNTIL_CLOSE: Final = 6  # a response body delimited by the end of the connection
_END: Final = 7  # the message is complete: EndOfMessage is due
_PAUSED: Final = 8  # after EndOfMessage, until start_next_message
_CLOSED: Final = 9  # after EOF or a ParseError: nothing more, ever

_DEFAULT_LIMITS: Final = Limits()


def _excerpt(data: bytes | bytearray | str, limit: int = 40) -> str:
    """A bounded repr of attacker input, for error messages."""
    return repr(data[:limit]) + ("..." if len(data) > limit else "")


class PyParser:
    """A sans-I/O HTTP/1.1 parser in pure Python (see `ParserProtocol`).

    ``PyParser(client=False)`` parses requests, ``client=True`` responses.
    """

    __slots__ = (
        "_buf",
        "_client",
        "_eof",
        "_method",
        "_remaining",
        "_scan",
        "_state",
        "_trailers",
        "limits",
    )

    def __init__(self, client: bool, limits: Limits | None = None) -> None:
        self.limits = limits if limits is not None else _DEFAULT_LIMITS
        self._client = client
        self._buf = bytearray()
        self._state = _HEAD
        self._eof = False
        self._remaining = 0
        # Where the search for a pending line end resumes (data arriving in
        # small pieces is searched once: linear time).
        self._scan = 0
        self._trailers: Headers = []
        self._method = "GET"

    # -- ParserProtocol ----------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Append received bytes; ``b""`` means the peer closed (EOF).

        Bytes received after EOF are ignored.
        """
        if data:
            if not self._eof:
                self._buf += data
        else:
            self._eof = True

    @property
    def buffered(self) -> int:
        """How many received bytes are waiting to be parsed."""
        return len(self._buf)

    def set_request_method(self, method: str) -> None:
        """Client side: the method of the request the next responses answer.

        It stays in effect until changed (an informational response and the
        final one answer the same request); GET until first set.
        """
        self._method = method

    def trailing_data(self) -> bytes:
        """Remove and return every received byte not parsed yet."""
        data = bytes(self._buf)
        self._buf.clear()
        self._scan = 0
        return data

    def start_next_message(self) -> None:
        """Begin parsing the next message (after `EndOfMessage`).

        A no-op when the parser already waits for a message or is closed;
        `RuntimeError` in the middle of a message.
        """
        state = self._state
        if state == _PAUSED:
            self._state = _HEAD
        elif state != _HEAD and state != _CLOSED:
            raise RuntimeError("start_next_message() before EndOfMessage")

    def next_event(self) -> Event | None:
        """Return the next event, or None when more data is needed or paused.

        Raises `ParseError` (once; the parser is closed afterwards).
        """
        try:
            while True:
                state = self._state
                if state == _HEAD:
                    return self._next_head()
                if state == _END:
                    self._state = _PAUSED
                    trailers = self._trailers
                    if trailers:
                        self._trailers = []
                    else:
                        trailers = []
                    return EndOfMessage(trailers)
                if state in (_CL, _CHUNK_DATA, _UNTIL_CLOSE):
                    buf = self._buf
                    if not buf:
                        if not self._eof:
                            return None
                        if state == _UNTIL_CLOSE:
                            self._state = _END
                            continue
                        raise ParseError("incomplete message body (connection closed)")
                    if state == _UNTIL_CLOSE:
                        data = bytes(buf)
                        buf.clear()
                        return Body(data)
                    remaining = self._remaining
                    if len(buf) <= remaining:
                        data = bytes(buf)
                        buf.clear()
                    else:
                        data = bytes(buf[:remaining])
                        del buf[:remaining]
                    remaining -= len(data)
                    self._remaining = remaining
                    if not remaining:
                        self._state = _END if state == _CL else _CHUNK_CRLF
                    return Body(data)
                if state == _CHUNK_SIZE:
                    if not self._chunk_size():
                        return None
                elif state == _CHUNK_CRLF:
                    # RFC 9112 §7.1: chunk-data is followed by exactly CRLF.
                    buf = self._buf
                    if buf[:2] == b"\r\n":
                        del buf[:2]
                        self._state = _CHUNK_SIZE
                    elif len(buf) >= 2 or (buf and buf[0] != 13):
                        raise ParseError("chunk data not followed by CRLF")
                    elif self._eof:
                        raise ParseError("incomplete chunked body (connection closed)")
                    else:
                        return None
                elif state == _TRAILERS:
                    if not self._trailer_section():
                        return None
                else:  # _PAUSED, _CLOSED
                    return None
        except ParseError:
            self._state = _CLOSED
            raise

    # -- the head ----------------------------------------------------------

    def _next_head(self) -> Event | None:
        buf = self._buf
        limits = self.limits
        end = buf.find(b"\r\n\r\n", self._scan)
        if end < 0 or buf[:2] == b"\r\n":
            return self._incomplete_head(end)
        if end + 4 > limits.max_header_size:
            self._check_start_line_length()
            raise ParseError("header block too large", 431)
        text = buf[: end + 2].decode("latin-1")
        del buf[: end + 4]
        self._scan = 0
        if self._client:
            return self._parse_response(text)
        return self._parse_request(text)

    def _incomplete_head(self, end: int) -> Event | None:
        """The slow path of `_next_head`: leading CRLFs, limits, EOF."""
        buf = self._buf
        # RFC 9112 §2.2: ignore empty lines received before a start line.
        if buf[:2] == b"\r\n":
            while buf[:2] == b"\r\n":
                del buf[:2]
            self._scan = 0
            if buf:
                return self._next_head()
        if not buf:
            if self._eof:
                self._state = _CLOSED
                return EOF
            return None
        self._check_start_line_length()
        if len(buf) >= self.limits.max_header_size:
            raise ParseError("header block too large", 431)
        if self._eof:
            raise ParseError("incomplete message head (connection closed)")
        self._scan = max(0, len(buf) - 3)
        return None

    def _check_start_line_length(self) -> None:
        max_line = self.limits.max_start_line
        buf = self._buf
        nl = buf.find(b"\r\n", 0, max_line + 2)
        if nl < 0 and len(buf) >= max_line + 2:
            if self._client:
                raise ParseError("status line too long")
            raise ParseError("request line too long", 414)

    def _fields(self, text: str, start: int) -> Headers:
        """Validate and split the field lines of ``text[start:]``."""
        fields: Headers = _FIELD_LINE.findall(text, start)
        if len(fields) != text.count("\n", start):
            _raise_field_error(text, start)
        if len(fields) > self.limits.max_headers:
            raise ParseError("too many header fields", 431)
        return fields

    def _parse_request(self, text: str) -> RequestHead:
        nl = text.find("\r\n")
        match = _REQUEST_LINE.fullmatch(text, 0, nl)
        if match is None:
            _raise_start_line_error(text[:nl], request=True)
        method, target, version = match.groups()
        if version != "HTTP/1.1" and version != "HTTP/1.0":
            raise ParseError(f"unsupported HTTP version {version!r}", 505)
        # Request-target forms (RFC 9112 §3.2).
        if method == "CONNECT":
            if _AUTHORITY_FORM.fullmatch(target) is None:
                raise ParseError("CONNECT needs an authority-form target")
        elif target[0] != "/":
            if target == "*":
                if method != "OPTIONS":
                    raise ParseError("asterisk-form target needs OPTIONS")
            elif _ABSOLUTE_FORM.fullmatch(target) is None:
                raise ParseError(f"invalid request target {_excerpt(target)}")
        headers = self._fields(text, nl + 2)
        http11 = version == "HTTP/1.1"
        specials = _SPECIAL_FIELD.findall(text, nl + 2)
        if not specials:
            # The common case: no body, nothing to negotiate.
            self._state = _END
            return RequestHead(
                method, target, version, headers, http11, 0, False, False, method == "CONNECT"
            )
        expect_continue = upgrade = chunked = False
        content_length: int | None = 0
        semantics = _Semantics(specials, http11)
        keep_alive = semantics.keep_alive
        if semantics.hosts > 1:
            raise ParseError("more than one Host field")  # RFC 9112 §3.2
        if semantics.transfer_encoding is not None:
            semantics.check_chunked()
            content_length = None
            chunked = True
            self._state = _CHUNK_SIZE
        elif semantics.content_length:
            content_length = self._remaining = semantics.content_length
            self._state = _CL
        else:
            self._state = _END
        if http11:
            expect_continue = semantics.expect_continue
            upgrade = semantics.upgrade
        return RequestHead(
            method,
            target,
            version,
            headers,
            keep_alive,
            content_length,
            chunked,
            expect_continue,
            upgrade or method == "CONNECT",
        )

    def _parse_response(self, text: str) -> ResponseHead:
        nl = text.find("\r\n")
        match = _STATUS_LINE.fullmatch(text, 0, nl)
        if match is None:
            _raise_start_line_error(text[:nl], request=False)
        version, code_text, reason = match.groups()
        if version != "HTTP/1.1" and version != "HTTP/1.0":
            raise ParseError(f"unsupported HTTP version {version!r}", 505)
        code = int(code_text)
        if code < 100 or code > 599:  # RFC 9110 §15
            raise ParseError(f"invalid status code {code_text!r}")
        headers = self._fields(text, nl + 2)
        http11 = version == "HTTP/1.1"
        semantics = _Semantics(_SPECIAL_FIELD.findall(text, nl + 2), http11)
        if semantics.hosts > 1:
            raise ParseError("more than one Host field")
        keep_alive = semantics.keep_alive
        content_length: int | None = None
        chunked = upgrade = False
        te = semantics.transfer_encoding
        method = self._method
        # Message body length of a response (RFC 9112 §6.3): the framing
        # fields are validated even where they are ignored.
        if te is not None:
            semantics.check_chunked(response=True)
        if code < 200 or code == 204 or code == 304 or method == "HEAD":
            upgrade = code == 101
            self._state = _END
        elif method == "CONNECT" and code < 300:
            upgrade = True
            self._state = _END
        elif te is not None:
            if te[-1] == "chunked":
                chunked = True
                self._state = _CHUNK_SIZE
            else:
                keep_alive = False
                self._state = _UNTIL_CLOSE
        elif semantics.content_length is not None:
            content_length = self._remaining = semantics.content_length
            self._state = _CL if content_length else _END
        else:
            keep_alive = False
            self._state = _UNTIL_CLOSE
        return ResponseHead(
            version, code, reason or "", headers, keep_alive, content_length, chunked, upgrade
        )

    # -- chunked bodies ----------------------------------------------------

    def _chunk_size(self) -> bool:
        """Consume a chunk-size line; False when more data is needed."""
        buf = self._buf
        max_line = self.limits.max_chunk_line
        nl = buf.find(b"\r\n", self._scan, max_line + 2)
        if nl < 0:
            if len(buf) >= max_line + 2:
                raise ParseError("chunk-size line too long")
            if self._eof:
                raise ParseError("incomplete chunked body (connection closed)")
            self._scan = max(0, len(buf) - 1)
            return False
        match = _CHUNK_LINE.fullmatch(buf, 0, nl)
        if match is None:
            raise ParseError(f"invalid chunk-size line {_excerpt(buf[:nl])}")
        size = int(match[1], 16)
        del buf[: nl + 2]
        self._scan = 0
        if size:
            self._remaining = size
            self._state = _CHUNK_DATA
        else:
            self._state = _TRAILERS
        return True

    def _trailer_section(self) -> bool:
        """Consume the trailer section (RFC 9112 §7.1.2); False when incomplete."""
        buf = self._buf
        if buf[:2] == b"\r\n":
            del buf[:2]
            self._state = _END
            return True
        limit = self.limits.max_header_size
        end = buf.find(b"\r\n\r\n", self._scan)
        if end < 0:
            if len(buf) >= limit:
                raise ParseError("trailer section too large", 431)
            if self._eof:
                raise ParseError("incomplete trailer section (connection closed)")
            self._scan = max(0, len(buf) - 3)
            return False
        if end + 4 > limit:
            raise ParseError("trailer section too large", 431)
        text = buf[: end + 2].decode("latin-1")
        del buf[: end + 4]
        self._scan = 0
        self._trailers = self._fields(text, 0)
        self._state = _END
        return True


class _Semantics:
    """What the framing, persistence, expectation and upgrade fields say.

    Only built when the head has one of them (`_SPECIAL_FIELD`).
    """

    __slots__ = (
        "content_length",
        "expect_continue",
        "hosts",
        "keep_alive",
        "transfer_encoding",
        "upgrade",
    )

    def __init__(self, fields: Headers, http11: bool) -> None:
        content_length: int | None = None
        codings: list[str] | None = None
        connection: list[str] = []
        expect: list[str] = []
        upgrade = False
        hosts = 0
        for name, value in fields:
            name = name.lower()
            if name == "content-length":
                # RFC 9110 §8.6, RFC 9112 §6.3: one decimal number, or reject.
                if content_length is not None:
                    raise ParseError("more than one Content-Length field")
                if not (
                    value.isascii()
                    and value.isdigit()
                    and len(value) <= _MAX_CONTENT_LENGTH_DIGITS
                ):
                    raise ParseError(f"invalid Content-Length {_excerpt(value)}")
                content_length = int(value)
            elif name == "transfer-encoding":
                if codings is None:
                    codings = []
                codings.extend(value.lower().split(","))
            elif name == "connection":
                connection.extend(value.lower().split(","))
            elif name == "expect":
                expect.extend(value.lower().split(","))
            elif name == "upgrade":
                upgrade = True
            else:
                hosts += 1
        options = {option.strip(" \t") for option in connection}
        # Persistence (RFC 9112 §9.3).
        if "close" in options:
            self.keep_alive = False
        else:
            self.keep_alive = http11 or "keep-alive" in options
        if codings is not None:
            # RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty
            # framing; with Content-Length it is a smuggling attempt.
            if not http11:
                raise ParseError("Transfer-Encoding in an HTTP/1.0 message")
            if content_length is not None:
                raise ParseError("both Content-Length and Transfer-Encoding")
            codings = [coding.strip(" \t") for coding in codings]
        self.transfer_encoding = codings
        self.content_length = content_length
        self.hosts = hosts
        # RFC 9110 §7.8: Upgrade is ignored in HTTP/1.0 and without the
        # "upgrade" connection option.
        self.upgrade = upgrade and "upgrade" in options
        # RFC 9110 §10.1.1: a 100-continue expectation from HTTP/1.0 is ignored.
        self.expect_continue = "100-continue" in {e.strip(" \t") for e in expect}

    def check_chunked(self, response: bool = False) -> None:
        """Transfer-Encoding must be a list of codings ending in one chunked.

        RFC 9112 §6.1/§6.3: a request whose final coding is not chunked is
        rejected (400); a response's is read until close.  Codings before
        chunked are not implemented (501).
        """
        codings = self.transfer_encoding
        assert codings is not None
        for coding in codings:
            if not re.fullmatch(_TOKEN + r"(?:[ \t]*;[ \t]*.*)?", coding):
                raise ParseError(f"invalid Transfer-Encoding {_excerpt(','.join(codings))}")
        if codings.count("chunked") > (1 if codings[-1] == "chunked" else 0):
            raise ParseError("chunked is not the final transfer coding")
        if codings[-1] != "chunked":
            if not response:
                raise ParseError("chunked is not the final transfer coding")
            return
        if len(codings) > 1:
            raise ParseError(f"unsupported transfer coding {_excerpt(codings[0])}", 501)


def _raise_field_error(text: str, start: int) -> NoReturn:
    """Name the first invalid field line of ``text[start:]`` in a ParseError."""
    for line in text[start:].split("\n"):
        if line and _FIELD_LINE.fullmatch(line + "\n") is None:
            if line[:1] in (" ", "\t"):
                raise ParseError("obsolete line folding")  # RFC 9112 §5.2
            raise ParseError(f"invalid header field line {_excerpt(line)}")
    raise ParseError("invalid header block")  # pragma: no cover


def _raise_start_line_error(line: str, request: bool) -> NoReturn:
    """Raise the ParseError for a start line that does not match the grammar."""
    parts = line.split(" ")
    version = parts[-1] if request else parts[0]
    if len(parts) == 3 and request and _VERSION.fullmatch(version):
        raise ParseError(f"invalid request line {_excerpt(line)}")
    raise ParseError(f"invalid {'request' if request else 'status'} line {_excerpt(line)}")
