"""The HTTP/1.1 parser on httptools (llhttp): `PyParser` with request heads validated in C.

`HtParser` behaves exactly like `PyParser` (same events, same `ParseError`
statuses; both run one test suite), and shares its code for everything but
the validation of a request head (response heads are PyParser's: see
`HtParser`):

- The head is found and bounded by the shared code (limits, leading empty
  lines, EOF), then handed whole to llhttp, which checks the grammar of the
  start line and of every field line in C.
- llhttp is stricter than squall in a few places (it knows a fixed list of
  methods, and no non-ASCII byte in a target): *any* llhttp error hands the
  head to `PyParser`, whose verdict (an error with its status, or a valid
  head) is the answer.  So a rejection is always the reference's rejection.
- llhttp is more lenient in others (the request line's spacing, versions,
  target forms, status codes, reason phrases, Transfer-Encoding in HTTP/1.0,
  duplicate Host, ...): every semantic rule is the shared Python code, and
  the start line is split on its two single spaces only when it has them,
  a common method, an HTTP/1.0 or 1.1 version and an origin-form target
  (llhttp checked the target's characters: VCHAR only),
  otherwise matched with the reference's expression, so an acceptance is
  the reference's acceptance.  The fields are split by a
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
)

from ._events import Headers, Limits, RequestHead
from ._pyparser import (
    _REQUEST_LINE,
    _TOKEN,
    _VERSIONS,
    PyParser,
    _check_request_line,
)

__all__ = ["HtParser"]

#: Splits field lines llhttp accepted (so: token names, no CTL but HTAB, no
#: bare CR or LF, no folding).  Leading OWS is left out, trailing OWS is
#: stripped afterwards (rare).  One pair per line is still checked.
_FIELD_LINE: Final = re.compile(rf"\n({_TOKEN}):[ \t]*+([^\r]*)\r")


#: Methods whose request line is split rather than matched (CONNECT's
#: target is not in origin form).
_COMMON_METHODS: Final = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"))

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
        try:
            HttpRequestParser(types.SimpleNamespace()).feed_data(
                b"GET / HTTP/1.1\r\n" + line + b"\r\n"
            )
        except HttpParserError:
            continue
        except HttpParserUpgrade:
            pass
        return False
    return True


if not _llhttp_is_strict_enough():
    raise ImportError("httptools' parser accepts field lines squall rejects; not used")


class HtParser(PyParser):
    """A sans-I/O HTTP/1.1 parser whose request heads are validated by llhttp.

    Same interface and behaviour as `PyParser` (see `ParserProtocol`).

    Response heads (the client side) are `PyParser`'s: llhttp saves nothing
    there.  A response almost always has a body, after which llhttp expects
    that body, so it would be made afresh for every response; measured with
    nginx's head of a 1 KiB file (9 fields), head, body and end of message
    cost 10.0 us in pure Python against 11.6 us with llhttp.
    """

    __slots__ = ("_completed", "_llhttp", "_llhttp_callbacks")

    def __init__(self, client: bool, limits: Limits | None = None) -> None:
        super().__init__(client, limits)
        self._llhttp: HttpRequestParser | None = None
        if client:
            return  # responses are parsed by PyParser's code (see the class)
        # llhttp reports a complete message through this list (a C-level
        # callback: no Python frame per message).
        self._completed: list[bool] = []
        self._llhttp_callbacks = types.SimpleNamespace(
            on_message_complete=functools.partial(self._completed.append, True)
        )
        # Reused while each head it was fed was a whole message that keeps
        # the connection open (llhttp is then back at a message start).

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
        # llhttp checked the characters of the target (no CTL, SP or
        # non-ASCII byte): with a common method, one SP on each side of the
        # target and a version squall serves, the line is what the
        # reference expression matches.  Anything else takes the
        # reference's path (llhttp skips a CR before the method, for one).
        parts = text[:nl].split(" ")
        if len(parts) != 3 or nl > self.limits.max_start_line:
            return PyParser._parse_request(self, head)
        method, target, version = parts
        if version not in _VERSIONS or target[:1] != "/" or method not in _COMMON_METHODS:
            match = _REQUEST_LINE.fullmatch(text, 0, nl)
            if match is None:
                return PyParser._parse_request(self, head)
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
