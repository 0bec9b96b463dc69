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
#: One field line (RFC 9112 §5): a token, a colon (no whitespace before
#: it), the value without surrounding OWS (no CTL but HTAB in it), CRLF.
#: Each match starts at the LF that ended the previous line and ends at the
#: CR before its own LF: ``findall`` over a block yields one pair per valid
#: line and never a match inside an invalid one, so the block is valid
#: exactly when there is one pair per line.  Written so that no character can
#: be matched two ways (the possessive OWS, a value that must end with a
#: visible character): linear time on any input.
_FIELD_LINE: Final = re.compile(
    rf"\n({_TOKEN}):[ \t]*+((?:[^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x20\x7f])?)[ \t]*\r(?=\n)"
)
#: The fields whose semantics the parser implements: framing, persistence,
#: expectation, upgrade, and Host, which must not be repeated.
_SEMANTIC_FIELDS: Final = frozenset(
    ["content-length", "transfer-encoding", "connection", "expect", "upgrade", "host"]
)
#: Field names browsers and HTTP clients send that are not in
#: _SEMANTIC_FIELDS, as they spell them: skipped without lowercasing.
_PLAIN_FIELDS: Final = frozenset(
    [
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Authorization",
        "Cache-Control",
        "Content-Type",
        "Cookie",
        "DNT",
        "If-Modified-Since",
        "If-None-Match",
        "Origin",
        "Pragma",
        "Priority",
        "Referer",
        "Sec-Fetch-Dest",
        "Sec-Fetch-Mode",
        "Sec-Fetch-Site",
        "Sec-Fetch-User",
        "Upgrade-Insecure-Requests",
        "User-Agent",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Real-Ip",
        "X-Requested-With",
        "accept",
        "accept-encoding",
        "accept-language",
        "content-type",
        "cookie",
        "user-agent",
    ]
)
#: Connection values whose meaning needs no parsing (RFC 9112 §9.3).
_PLAIN_CONNECTION: Final = {
    "keep-alive": True,
    "Keep-Alive": True,
    "close": False,
    "Close": False,
}
#: transfer-coding = token *( OWS ";" OWS transfer-parameter ) (RFC 9112 §7).
_QUOTED: Final = r'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
_TRANSFER_CODING: Final = re.compile(
    rf"{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}[ \t]*=[ \t]*(?:{_TOKEN}|{_QUOTED}))*"
)
#: request-line = method SP request-target SP HTTP-version (RFC 9112 §3):
#: exactly one SP between the parts; the target has no blank, CTL or DEL.
_REQUEST_LINE: Final = re.compile(rf"({_TOKEN}) ([!-~\x80-\xff]+) (HTTP/[0-9]\.[0-9])")
#: status-line = HTTP-version SP status-code SP [ reason-phrase ]
#: (RFC 9112 §4); a missing SP after the code is accepted, as recipients
#: should ("HTTP/1.1 200\r\n").
_STATUS_LINE: Final = re.compile(r"(HTTP/[0-9]\.[0-9]) ([0-9]{3})(?: ([\t !-~\x80-\xff]*))?")
#: RFC 9112 §2.2 allows a recipient to accept a bare LF as a line
#: terminator; squall does not (a lenient parser behind a strict proxy, or
#: the reverse, is how requests are smuggled).
_BARE_LF: Final = re.compile(rb"(?<!\r)\n")
#: absolute-form (RFC 9112 §3.2.2): an HTTP target always has an authority,
#: which also tells it apart from authority-form ("host:80").
_ABSOLUTE_FORM: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[!-~\x80-\xff]*")
#: authority-form (RFC 9112 §3.2.3): uri-host ":" port, for CONNECT only.
_AUTHORITY_FORM: Final = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+):[0-9]{1,5}"
)
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
    + _QUOTED.encode("latin-1")
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
#: The versions implemented (RFC 9112 §2.3); other well-formed ones get 505.
_VERSIONS: Final = frozenset(["HTTP/1.1", "HTTP/1.0"])
#: Builds a NamedTuple in C (its own ``__new__`` is a Python function).
_new_tuple: Final = tuple.__new__


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

        Bytes received after EOF, or after a `ParseError`, are dropped.
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
        `RuntimeError` in the middle of a message.  Right before an
        `EndOfMessage` (a request head without a body) that event is skipped.
        """
        state = self._state
        if state in (_PAUSED, _END):
            self._state = _HEAD
            if state == _END and self._trailers:
                self._trailers = []
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
                    # The common cases inline: nothing yet, or a whole head.
                    buf = self._buf
                    if not buf:
                        if self._eof:
                            self._state = _CLOSED
                            return EOF
                        return None
                    end = buf.find(b"\r\n\r\n", self._scan)
                    if end <= 0 or buf[0] == 13 or end + 4 > self.limits.max_header_size:
                        return self._next_head(end)
                    if end + 4 == len(buf):
                        # The head alone (the usual case): it takes the
                        # buffer as it is, without a copy.
                        head = buf
                        self._buf = bytearray()
                    else:
                        head = buf[: end + 4]
                        del buf[: end + 4]
                    self._scan = 0
                    if self._client:
                        return self._parse_response(head)
                    return self._parse_request(head)
                if state == _END:
                    self._state = _PAUSED
                    trailers = self._trailers
                    if trailers:
                        self._trailers = []
                    else:
                        trailers = []
                    return _new_tuple(EndOfMessage, (trailers,))
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
            self._close_on_error()
            raise

    def _close_on_error(self) -> None:
        """After a ParseError: nothing more is parsed, received or kept (sticky)."""
        self._state = _CLOSED
        self._eof = True
        self._buf.clear()

    # -- the head ----------------------------------------------------------

    def _next_head(self, end: int) -> Event | None:
        """The uncommon cases of a head: none yet, empty lines first, too large.

        ``end`` is where the buffer's first CRLF CRLF starts (or -1).
        """
        buf = self._buf
        if end <= 0 or buf[0] == 13:
            # RFC 9112 §2.2: empty lines before a start line are ignored.
            if buf[:2] == b"\r\n":
                while buf[:2] == b"\r\n":
                    del buf[:2]
                self._scan = 0
                end = buf.find(b"\r\n\r\n")
            if end < 0:
                return self._incomplete_head()
        if end + 4 > self.limits.max_header_size:
            self._check_head_prefix(buf, 0)
            raise ParseError("header block too large", 431)
        head = buf[: end + 4]
        del buf[: end + 4]
        self._scan = 0
        if self._client:
            return self._parse_response(head)
        return self._parse_request(head)

    def _incomplete_head(self) -> Event | None:
        """No complete head is buffered: wait, or enforce the limits and EOF."""
        buf = self._buf
        if not buf:
            if self._eof:
                self._state = _CLOSED
                return EOF
            return None
        self._check_head_prefix(buf, self._scan)
        if len(buf) >= self.limits.max_header_size:
            raise ParseError("header block too large", 431)
        if self._eof:
            raise ParseError("incomplete message head (connection closed)")
        self._scan = len(buf) - 3 if len(buf) > 3 else 0
        return None

    def _check_head_prefix(self, data: bytes | bytearray, resume: int) -> None:
        """Reject the start of a head exactly as early as the stream shows it bad.

        The errors found before a head is complete (the start line's length,
        its validity once complete, a bare LF; then the head's size) are
        reported in the order the stream reveals them, so a head fed in any
        pieces fails with the same status as the whole head: only the first
        ``max_header_size`` bytes are looked at (the head is too large as
        soon as they are there), and the start line's length is judged on
        its first ``max_start_line + 2`` bytes (at most ``max_header_size -
        2``).  A bare LF is rejected at
        once, which also answers a client that ends lines with LF alone.
        ``resume`` is where the previous call stopped looking (0 for the
        first call): each byte is examined once.
        """
        limits = self.limits
        size = min(len(data), limits.max_header_size)
        # A start line that cannot fit in the head (line, CRLF, CRLF) is too
        # long too: 414 rather than 431.
        max_line = min(limits.max_start_line, limits.max_header_size - 4)
        lf = data.find(b"\n", 0, min(size, max_line + 2))
        if lf < 0:
            if size >= max_line + 2:
                self._start_line_too_long()
            return
        if lf == 0 or data[lf - 1] != 13:
            raise ParseError("bare LF in the start line")  # RFC 9112 §2.2
        if resume == 0 or lf >= resume + 3:  # not seen complete by an earlier call
            line = data[: lf - 1].decode("latin-1")
            if self._client:
                match = _STATUS_LINE.fullmatch(line)
                if match is None:
                    _raise_start_line_error(line, request=False)
                _check_status_line(match[1], match[2])
            else:
                match = _REQUEST_LINE.fullmatch(line)
                if match is None:
                    _raise_start_line_error(line, request=True)
                _check_request_line(*match.groups())
        if _BARE_LF.search(data, max(lf + 1, resume), size) is not None:
            raise ParseError("bare LF in the header block")

    def _start_line_too_long(self) -> NoReturn:
        if self._client:
            raise ParseError("status line too long")
        raise ParseError("request line too long", 414)

    def _parse_request(self, head: bytearray) -> RequestHead:
        """Parse a complete request head (ending with the empty line)."""
        text = head.decode("latin-1")
        nl = text.find("\r\n")
        if nl > self.limits.max_start_line:
            self._check_head_prefix(head, 0)  # a bare LF before it is a 400
            self._start_line_too_long()
        match = _REQUEST_LINE.fullmatch(text, 0, nl)
        if match is None:
            _raise_start_line_error(text[:nl], request=True)
        method, target, version = match.groups()
        if target[0] != "/" or method == "CONNECT" or version not in _VERSIONS:
            _check_request_line(method, target, version)
        end = len(text) - 2
        fields: Headers = _FIELD_LINE.findall(text, nl + 1, end)
        if len(fields) != text.count("\n", nl + 1, end) - 1:
            _raise_field_error(text[nl + 2 : end])
        return self._request_head(method, target, version, fields)

    def _request_head(
        self, method: str, target: str, version: str, fields: Headers
    ) -> RequestHead:
        """The head's semantics (RFC 9112 §6.3, §9.3); sets the body state."""
        if len(fields) > self.limits.max_headers:
            raise ParseError("too many header fields", 431)
        http11 = version == "HTTP/1.1"
        hosts = 0
        rare: Headers | None = None
        for name, value in fields:
            if name in _PLAIN_FIELDS:
                continue
            if name == "Host":
                hosts += 1
                continue
            lname = name.lower()
            if lname in _SEMANTIC_FIELDS:
                if lname == "host":
                    hosts += 1
                elif rare is None:
                    rare = [(lname, value)]
                else:
                    rare.append((lname, value))
        if hosts > 1:
            raise ParseError("more than one Host field")  # RFC 9112 §3.2
        if rare is None or (
            len(rare) == 1 and rare[0][0] == "connection" and rare[0][1] in _PLAIN_CONNECTION
        ):
            # The common case: no body, nothing to negotiate but persistence.
            keep_alive = http11 if rare is None else _PLAIN_CONNECTION[rare[0][1]]
            self._state = _END
            return _new_tuple(
                RequestHead,
                (
                    method,
                    target,
                    version,
                    fields,
                    keep_alive,
                    0,
                    False,
                    False,
                    method == "CONNECT",
                ),
            )
        keep_alive, content_length, codings, expect_continue, upgrade = _semantics(rare, http11)
        chunked = False
        if codings is not None:
            _check_codings(codings, response=False)
            content_length = None
            chunked = True
            self._state = _CHUNK_SIZE
        elif content_length:
            self._remaining = content_length
            self._state = _CL
        else:
            content_length = 0
            self._state = _END
        return _new_tuple(
            RequestHead,
            (
                method,
                target,
                version,
                fields,
                keep_alive,
                content_length,
                chunked,
                expect_continue,
                upgrade or method == "CONNECT",
            ),
        )

    def _parse_response(self, head: bytearray) -> ResponseHead:
        """Parse a complete response head (ending with the empty line)."""
        text = head.decode("latin-1")
        nl = text.find("\r\n")
        if nl > self.limits.max_start_line:
            self._check_head_prefix(head, 0)
            self._start_line_too_long()
        match = _STATUS_LINE.fullmatch(text, 0, nl)
        if match is None:
            _raise_start_line_error(text[:nl], request=False)
        version, code, reason = match.groups()
        _check_status_line(version, code)
        end = len(text) - 2
        fields: Headers = _FIELD_LINE.findall(text, nl + 1, end)
        if len(fields) != text.count("\n", nl + 1, end) - 1:
            _raise_field_error(text[nl + 2 : end])
        return self._response_head(version, int(code), reason or "", fields)

    def _response_head(
        self, version: str, code: int, reason: str, fields: Headers
    ) -> ResponseHead:
        """The head's semantics (RFC 9112 §6.3, §9.3); sets the body state."""
        if len(fields) > self.limits.max_headers:
            raise ParseError("too many header fields", 431)
        http11 = version == "HTTP/1.1"
        rare = [
            (lname, value) for name, value in fields if (lname := name.lower()) in _SEMANTIC_FIELDS
        ]
        keep_alive, content_length, codings, _, _ = _semantics(rare, http11)
        if codings is not None:
            _check_codings(codings, response=True)
        chunked = upgrade = False
        has_body = True
        method = self._method
        # Message body length (RFC 9112 §6.3); the framing fields were
        # validated above even where they are ignored.
        if code < 200 or code == 204 or code == 304 or method == "HEAD":
            upgrade = code == 101
            has_body = False
        elif method == "CONNECT" and code < 300:
            upgrade = True
            has_body = False
        elif codings is not None:
            if codings[-1] == "chunked":
                chunked = True
                self._state = _CHUNK_SIZE
            else:
                keep_alive = False
                self._state = _UNTIL_CLOSE
        elif content_length is not None:
            self._remaining = content_length
            self._state = _CL if content_length else _END
        else:
            keep_alive = False
            self._state = _UNTIL_CLOSE
        if not has_body:
            content_length = None
            self._state = _END
        elif chunked or self._state == _UNTIL_CLOSE:
            content_length = None
        return _new_tuple(
            ResponseHead,
            (
                version,
                code,
                reason,
                fields,
                keep_alive,
                content_length,
                chunked,
                upgrade,
                has_body,
            ),
        )

    # -- chunked bodies ----------------------------------------------------

    def _chunk_size(self) -> bool:
        """Consume a chunk-size line; False when more data is needed."""
        buf = self._buf
        max_line = self.limits.max_chunk_line
        nl = buf.find(b"\r\n", self._scan, max_line + 2)
        if nl < 0:
            if _BARE_LF.search(buf, self._scan, max_line + 2) is not None:
                raise ParseError("bare LF in a chunk-size line")
            if len(buf) >= max_line + 2:
                raise ParseError("chunk-size line too long")
            if self._eof:
                raise ParseError("incomplete chunked body (connection closed)")
            self._scan = max(0, len(buf) - 1)
            return False
        match = _CHUNK_LINE.fullmatch(buf, 0, nl)
        if match is None:
            raise ParseError(f"invalid chunk-size line {_excerpt(bytes(buf[:nl]))}")
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
        if end < 0 or end + 4 > limit:
            # As for a head: what the first `limit` bytes show comes first.
            if _BARE_LF.search(buf, self._scan if end < 0 else 0, limit) is not None:
                raise ParseError("bare LF in the trailer section")
            if len(buf) >= limit:
                raise ParseError("trailer section too large", 431)
            if self._eof:
                raise ParseError("incomplete trailer section (connection closed)")
            self._scan = max(0, len(buf) - 3)
            return False
        # Prefixed with the LF that ended the last-chunk line, as a head's
        # field lines are prefixed with the one ending the start line.
        text = "\n" + buf[: end + 4].decode("latin-1")
        del buf[: end + 4]
        self._scan = 0
        end = len(text) - 2
        fields: Headers = _FIELD_LINE.findall(text, 0, end)
        if len(fields) != text.count("\n", 0, end) - 1:
            _raise_field_error(text[1:end])
        if len(fields) > self.limits.max_headers:
            raise ParseError("too many trailer fields", 431)
        self._trailers = fields
        self._state = _END
        return True


def _check_request_line(method: str, target: str, version: str) -> None:
    """The request line's rules beyond its grammar (RFC 9112 §2.3, §3.2)."""
    if version not in _VERSIONS:
        raise ParseError(f"unsupported HTTP version {version!r}", 505)
    if method == "CONNECT":
        if _AUTHORITY_FORM.fullmatch(target) is None:
            raise ParseError("CONNECT needs an authority-form target")
    elif target[0] != "/":
        if target == "*":
            if method != "OPTIONS":
                raise ParseError("asterisk-form target needs OPTIONS")
        elif _ABSOLUTE_FORM.fullmatch(target) is None:
            raise ParseError(f"invalid request target {_excerpt(target)}")


def _check_status_line(version: str, code: str) -> None:
    """The status line's rules beyond its grammar (RFC 9112 §2.3, RFC 9110 §15)."""
    if version not in _VERSIONS:
        raise ParseError(f"unsupported HTTP version {version!r}", 505)
    if code[0] not in "12345":
        raise ParseError(f"invalid status code {code!r}")


def _semantics(
    fields: Headers, http11: bool
) -> tuple[bool, int | None, list[str] | None, bool, bool]:
    """What the framing, persistence, expectation and upgrade fields say.

    ``fields`` holds only those fields, names lowercased.  Returns
    ``(keep_alive, content_length, transfer_codings, expect_continue,
    upgrade)``; the codings are lowercased and stripped, None without
    Transfer-Encoding.
    """
    content_length: int | None = None
    codings: list[str] | None = None
    options: list[str] = []
    expectations: list[str] = []
    upgrade = False
    for name, value in fields:
        if name == "content-length":
            # RFC 9110 §8.6, RFC 9112 §6.3: exactly one decimal number.
            if content_length is not None:
                raise ParseError("more than one Content-Length field")
            if not (
                value.isdigit() and value.isascii() and len(value) <= _MAX_CONTENT_LENGTH_DIGITS
            ):
                raise ParseError(f"invalid Content-Length {_excerpt(value)}")
            content_length = int(value)
        elif name == "connection":
            options += value.lower().split(",")
        elif name == "transfer-encoding":
            if codings is None:
                codings = []
            codings += value.lower().split(",")
        elif name == "expect":
            expectations += value.lower().split(",")
        elif name == "upgrade":
            upgrade = upgrade or bool(value)
    if options:
        options = [option.strip(" \t") for option in options]
    # Persistence (RFC 9112 §9.3).
    if "close" in options:
        keep_alive = False
    else:
        keep_alive = http11 or "keep-alive" in options
    if codings is not None:
        # RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing;
        # together with Content-Length it is a smuggling attempt.
        if not http11:
            raise ParseError("Transfer-Encoding in an HTTP/1.0 message")
        if content_length is not None:
            raise ParseError("both Content-Length and Transfer-Encoding")
        codings = [coding.strip(" \t") for coding in codings]
    expect_continue = False
    if expectations and http11:
        # RFC 9110 §10.1.1: a 100-continue expectation from HTTP/1.0 is ignored.
        expect_continue = "100-continue" in [e.strip(" \t") for e in expectations]
    # RFC 9110 §7.8: Upgrade is ignored in HTTP/1.0 and without the
    # "upgrade" connection option.
    upgrade = upgrade and http11 and "upgrade" in options
    return keep_alive, content_length, codings, expect_continue, upgrade


def _check_codings(codings: list[str], response: bool) -> None:
    """Transfer-Encoding must be a list of codings ending in one chunked.

    RFC 9112 §6.1, §6.3: a request whose final coding is not chunked is
    rejected (400), a response's is read until close; codings before
    chunked are not implemented (501); chunked twice is invalid.
    """
    for coding in codings:
        if _TRANSFER_CODING.fullmatch(coding) is None:
            raise ParseError(f"invalid Transfer-Encoding {_excerpt(', '.join(codings))}")
    chunked = codings.count("chunked")
    if codings[-1] != "chunked":
        if chunked or not response:
            raise ParseError("chunked is not the final transfer coding")
    elif chunked > 1:
        raise ParseError("chunked applied more than once")
    elif len(codings) > 1:
        raise ParseError(f"unsupported transfer coding {_excerpt(codings[0])}", 501)


def _raise_field_error(block: str) -> NoReturn:
    """Name the first invalid field line of ``block`` in a ParseError."""
    for line in block.split("\r\n"):
        match = _FIELD_LINE.match("\n" + line + "\r\n")
        if match is None or match.end() != len(line) + 2:
            if line[:1] in (" ", "\t"):
                raise ParseError("obsolete line folding")  # RFC 9112 §5.2
            if ":" in line and line.split(":", 1)[0].rstrip(" \t") != line.split(":", 1)[0]:
                raise ParseError("whitespace before the colon of a field")  # RFC 9112 §5.1
            raise ParseError(f"invalid header field line {_excerpt(line)}")
    raise ParseError("bare CR or LF in the header block")


def _raise_start_line_error(line: str, request: bool) -> NoReturn:
    """Raise the ParseError for a start line that does not match the grammar."""
    kind = "request" if request else "status"
    raise ParseError(f"invalid {kind} line {_excerpt(line)}")
