"""The HTTP/1.1 parser on httptools (llhttp): `PyParser` with the head validated in C.

`HtParser` behaves exactly like `PyParser` (same events, same `ParseError`
statuses; both run one test suite), and shares its code for everything but
the validation of a message head:

- The head is found and bounded by the shared code (limits, leading empty
  lines, EOF), then handed whole to llhttp, which checks the grammar of the
  start line and of every field line in C.
- llhttp is stricter than squall in a few places (it knows a fixed list of
  methods, and no non-ASCII byte in a target): *any* llhttp error hands the
  head to `PyParser`, whose verdict (an error with its status, or a valid
  head) is the answer.  So a rejection is always the reference's rejection.
- llhttp is more lenient in others (the request line's spacing, versions,
  target forms, status codes, reason phrases, Transfer-Encoding in HTTP/1.0,
  duplicate Host, ...): the start line is matched with the reference's
  expressions and every semantic rule is the shared Python code, so an
  acceptance is the reference's acceptance.  The fields are split by a
  cheaper expression than the reference's, relying on llhttp for their
  characters (its set is the reference's: token names; HTAB, SP, VCHAR and
  obs-text in values; CRLF only, no obsolete folding), and checked to cover
  every line.

Bodies (Content-Length, chunked, until close) are the shared Python code:
llhttp is only ever fed one complete head, so it never reads past the end
of a message.  That keeps the pull-based interface exact (a later pipelined
message is not looked at before `start_next_message`), bounds what is
buffered to what `buffered` reports, and keeps `trailing_data` exact.
Slicing a Content-Length body costs no more in Python than in C; chunked
framing costs a few calls per chunk.
"""

from __future__ import annotations

import functools
import re
import types
from typing import Final

from httptools import (  # type: ignore[import-untyped,unused-ignore]
    HttpParserError,
    HttpParserUpgrade,
    HttpRequestParser,
    HttpResponseParser,
)

from ._events import Headers, Limits, RequestHead, ResponseHead
from ._pyparser import (
    _REQUEST_LINE,
    _STATUS_LINE,
    _TOKEN,
    _VERSIONS,
    PyParser,
    _check_request_line,
    _check_status_line,
)

__all__ = ["HtParser"]

#: Splits field lines llhttp accepted (so: token names, no CTL but HTAB, no
#: bare CR or LF, no folding).  Leading OWS is left out, trailing OWS is
#: stripped afterwards (rare).  One pair per line is still checked.
_FIELD_LINE: Final = re.compile(rf"\n({_TOKEN}):[ \t]*+([^\r]*)\r")


#: Field lines HtParser counts on llhttp to reject (its splitting expression
#: would accept them).  Checked once at import: an httptools whose llhttp is
#: built or configured more leniently is not used (``squall._http1`` then
#: falls back to PyParser).
_MUST_REJECT: Final = [
    b"A: b\x00\r\n",  # CTLs and DEL in values
    b"A: b\x01c\r\n",
    b"A: b\x0bc\r\n",
    b"A: b\x1f\r\n",
    b"A: b\x7f\r\n",
    b"A: b\rc\r\n",  # bare CR
    b"A: b\nC: d\r\n",  # bare LF
    b"A: b\r\n c\r\n",  # obsolete line folding
    b"A : b\r\n",  # whitespace before the colon
    b"A\t: b\r\n",
    b": b\r\n",  # empty name
    b"A(B): c\r\n",  # a name that is not a token
    b"A\x80: b\r\n",
    b"AB\r\n",  # no colon
]


def _llhttp_is_strict_enough() -> bool:
    for line in _MUST_REJECT:
        for parser_class, start in (
            (HttpRequestParser, b"GET / HTTP/1.1\r\n"),
            (HttpResponseParser, b"HTTP/1.1 204 No Content\r\n"),
        ):
            try:
                parser_class(types.SimpleNamespace()).feed_data(start + line + b"\r\n")
            except HttpParserError:
                continue
            except HttpParserUpgrade:
                pass
            return False
    return True


if not _llhttp_is_strict_enough():
    raise ImportError("httptools' parser accepts field lines squall rejects; not used")


class HtParser(PyParser):
    """A sans-I/O HTTP/1.1 parser whose heads are validated by llhttp.

    Same interface and behaviour as `PyParser` (see `ParserProtocol`).
    """

    __slots__ = ("_completed", "_llhttp", "_llhttp_callbacks")

    def __init__(self, client: bool, limits: Limits | None = None) -> None:
        super().__init__(client, limits)
        # llhttp reports a complete message through this list (a C-level
        # callback: no Python frame per message).
        self._completed: list[bool] = []
        self._llhttp_callbacks = types.SimpleNamespace(
            on_message_complete=functools.partial(self._completed.append, True)
        )
        # Reused while each head it was fed was a whole message that keeps
        # the connection open (llhttp is then back at a message start).
        self._llhttp: HttpRequestParser | HttpResponseParser | None = None

    def _feed_llhttp(self, head: bytearray) -> bool:
        """Whether llhttp accepts ``head`` (a complete head, fed alone)."""
        llhttp = self._llhttp
        if llhttp is None:
            if self._client:
                llhttp = HttpResponseParser(self._llhttp_callbacks)
            else:
                llhttp = HttpRequestParser(self._llhttp_callbacks)
            self._llhttp = llhttp
        try:
            llhttp.feed_data(head)
        except HttpParserUpgrade:
            accepted, reusable = True, False  # CONNECT or Upgrade: llhttp stops there
        except HttpParserError:
            accepted = reusable = False
        else:
            accepted = True
            # Otherwise it now expects a body: start afresh next time.
            reusable = bool(self._completed)
        if self._completed:
            self._completed.clear()
        if not reusable:
            self._llhttp = None
        return accepted

    def _parse_request(self, head: bytearray) -> RequestHead:
        # The server's hot path: `_feed_llhttp` and `_fields` written inline.
        llhttp = self._llhttp
        if llhttp is None:
            llhttp = self._llhttp = HttpRequestParser(self._llhttp_callbacks)
        completed = self._completed
        try:
            llhttp.feed_data(head)
        except HttpParserUpgrade:
            self._llhttp = None  # CONNECT or Upgrade: llhttp stops there
        except HttpParserError:
            self._llhttp = None
            completed.clear()
            return PyParser._parse_request(self, head)
        else:
            if not completed:
                self._llhttp = None  # it now expects a body: start afresh next time
        if completed:
            completed.clear()
        text = head.decode("latin-1")
        nl = text.find("\r\n")
        match = _REQUEST_LINE.fullmatch(text, 0, nl)
        if match is None or nl > self.limits.max_start_line:
            return PyParser._parse_request(self, head)
        method, target, version = match.groups()
        if target[0] != "/" or method == "CONNECT" or version not in _VERSIONS:
            _check_request_line(method, target, version)
        end = len(text) - 2
        fields: Headers = _FIELD_LINE.findall(text, nl + 1, end)
        if len(fields) != text.count("\n", nl + 1, end) - 1:
            return PyParser._parse_request(self, head)
        if " \r" in text or "\t\r" in text:
            fields = [(name, value.rstrip(" \t")) for name, value in fields]
        result = self._request_head(method, target, version, fields)
        if not result.keep_alive or result.upgrade:
            self._llhttp = None
        return result

    def _parse_response(self, head: bytearray) -> ResponseHead:
        if not self._feed_llhttp(head):
            return PyParser._parse_response(self, head)
        text = head.decode("latin-1")
        nl = text.find("\r\n")
        match = _STATUS_LINE.fullmatch(text, 0, nl)
        if match is None or nl > self.limits.max_start_line:
            return PyParser._parse_response(self, head)
        version, code, reason = match.groups()
        _check_status_line(version, code)
        fields = self._fields(text, nl)
        if fields is None:
            return PyParser._parse_response(self, head)
        result = self._response_head(version, int(code), reason or "", fields)
        if not result.keep_alive or result.upgrade or result.has_body:
            self._llhttp = None
        return result

    @staticmethod
    def _fields(text: str, nl: int) -> Headers | None:
        """Split the field lines llhttp accepted; None if one is not covered."""
        end = len(text) - 2
        fields: Headers = _FIELD_LINE.findall(text, nl + 1, end)
        if len(fields) != text.count("\n", nl + 1, end) - 1:
            return None
        if " \r" in text or "\t\r" in text:
            fields = [(name, value.rstrip(" \t")) for name, value in fields]
        return fields
