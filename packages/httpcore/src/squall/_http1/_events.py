"""The interface of squall's sans-I/O HTTP/1.1 parser: limits, events, errors.

Three implementations share it: pure Python (`squall._http1._pyparser`, the
reference), httptools (`squall._http1._htparser`) and the C extension
(`squall._http1._cparser`); `squall._http1.Parser` is the one chosen at
import (see `squall._http1`).  Nothing here imports asyncio or does I/O.

How a connection drives a parser::

    parser = Parser(client=False, limits=Limits())
    parser.receive(data)          # every received chunk; b"" at EOF
    while (event := parser.next_event()) is not None:
        ...                       # RequestHead, Body..., EndOfMessage
    # None: more data is needed, or the parser is paused after an
    # EndOfMessage until parser.start_next_message().

The parser is *pull-based*: it parses only as far as the caller asks, so a
pipelined second request is not looked at (nor rejected) before the first
one was answered, and the caller can change what it does between events.
Errors are raised by `next_event` as `ParseError` (with the status a server
answers) at the point of the stream where they are, never earlier.

Framing rules (RFC 9112, shared/DESIGN.md §5) are the parser's job: the
body's length (Content-Length, chunked, read-until-close for responses, none
for requests without either, none for HEAD responses, 1xx, 204, 304 and the
2xx answer to CONNECT), keep-alive, ``Expect: 100-continue`` and upgrade
detection.  Body size limits are *not*: the connection counts body bytes
(it also has to after decompression) and compares ``content_length`` with
its limit when the head arrives.
"""

from __future__ import annotations

import dataclasses
from typing import Final, NamedTuple, Protocol

__all__ = [
    "EOF",
    "Body",
    "EndOfMessage",
    "Event",
    "Headers",
    "Limits",
    "ParseError",
    "ParserProtocol",
    "RequestHead",
    "ResponseHead",
]

#: Header fields as received, in order: (name, value), latin-1 decoded, the
#: value without leading and trailing whitespace, the name's case unchanged.
Headers = list[tuple[str, str]]


class ParseError(Exception):
    """The bytes received are not a valid HTTP/1.1 message (or exceed a limit).

    ``status`` is what a server answers: 400 (malformed), 414 (request line
    too long), 431 (header block too large or too many fields), 501
    (unsupported Transfer-Encoding), 505 (HTTP version).  A client treats
    any of them as a malformed response.  The message names the rule broken
    and never echoes more than a bounded slice of the input.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(slots=True)
class Limits:
    """The parser's bounds; every one is a parameter (shared/DESIGN.md §5)."""

    #: Longest request or status line, CRLF excluded (request: 414 beyond it,
    #: and also beyond ``max_header_size - 4``, where it could not fit).
    max_start_line: int = 8 * 1024
    #: Largest header block, start line included (431 beyond it); the same
    #: bound applies to the trailer section of a chunked body.
    max_header_size: int = 64 * 1024
    #: Most header fields in one block (431 beyond it).
    max_headers: int = 200
    #: Longest chunk-size line, extensions included (400 beyond it).
    max_chunk_line: int = 4 * 1024


class RequestHead(NamedTuple):
    """A request's start line and header block."""

    method: str  #: as received (a token, case-sensitive)
    target: str  #: the request target, as received
    version: str  #: "HTTP/1.1" or "HTTP/1.0"
    headers: Headers
    #: Whether the connection may carry another message after this one
    #: (RFC 9112 §9.3: HTTP/1.1 unless "close", HTTP/1.0 only with "keep-alive").
    keep_alive: bool
    #: The declared body length: None when chunked, 0 when the request has
    #: no body (neither Content-Length nor Transfer-Encoding, RFC 9112 §6.3).
    content_length: int | None
    chunked: bool
    #: ``Expect: 100-continue`` was sent (HTTP/1.1 only).
    expect_continue: bool
    #: The request asks to switch protocols (``Connection: upgrade`` with an
    #: ``Upgrade`` field) or is a CONNECT.
    upgrade: bool


class ResponseHead(NamedTuple):
    """A response's status line and header block."""

    version: str
    code: int
    reason: str
    headers: Headers
    keep_alive: bool
    #: None when chunked, read until close, or bodiless (see ``has_body``).
    content_length: int | None
    chunked: bool
    #: 101 Switching Protocols, or a 2xx answer to CONNECT: what follows the
    #: head is the new protocol's (see `ParserProtocol.trailing_data`).
    upgrade: bool
    #: False when the response has no body whatever its fields say (an answer
    #: to HEAD, 1xx, 204, 304, a 2xx answer to CONNECT; RFC 9112 §6.3):
    #: `EndOfMessage` follows the head.  (Added after the first version of
    #: this interface, with a default, so positional construction still works.)
    has_body: bool = True


class Body(NamedTuple):
    """A piece of the current message's body (already de-chunked)."""

    data: bytes


class EndOfMessage(NamedTuple):
    """The current message is complete."""

    #: The trailer fields of a chunked body (empty otherwise).
    trailers: Headers


class _EOFType:
    __slots__ = ()

    def __repr__(self) -> str:
        return "EOF"


#: The peer closed the connection cleanly between two messages.
EOF: Final = _EOFType()

Event = RequestHead | ResponseHead | Body | EndOfMessage | _EOFType


class ParserProtocol(Protocol):
    """What both parser implementations provide.

    ``Parser(client: bool, limits: Limits | None = None)``: with
    ``client=False`` it parses requests, with ``client=True`` responses.
    """

    limits: Limits

    def receive(self, data: bytes) -> None:
        """Append received bytes; ``b""`` means the peer closed (EOF)."""

    def next_event(self) -> Event | None:
        """Return the next event, or None when more data is needed or paused.

        After an `EndOfMessage` the parser pauses (returns None) until
        `start_next_message`.  After `EOF`, or once a `ParseError` was
        raised, it returns None forever (a ParseError is raised once).  A
        message cut short by EOF raises ParseError("... incomplete ...").
        A response with neither Content-Length nor chunked ends with
        EndOfMessage at EOF.  Informational responses (1xx other than 101)
        are events of their own: ResponseHead, then EndOfMessage.
        """

    def start_next_message(self) -> None:
        """Begin parsing the next message of the connection (after EndOfMessage).

        A no-op while waiting for a message head or once closed (EOF or
        ParseError); RuntimeError in the middle of a message.  Also allowed
        once the message has nothing left but its `EndOfMessage` (a request
        head without a body, for one): that event is skipped, so a server
        need not pull it.  After an
        upgrade the caller either takes `trailing_data` or, if it declined
        the upgrade, goes on with this.
        """

    def set_request_method(self, method: str) -> None:
        """Client side: the method of the request the next response answers.

        HEAD responses have no body; a 2xx answer to CONNECT is an upgrade.
        Defaults to GET; stays in effect until set again (an informational
        response and the final one answer the same request).
        """

    def trailing_data(self) -> bytes:
        """Remove and return every received byte the parser did not consume.

        For handing the connection to another protocol after an upgrade (or
        `detach`): whatever arrived after the message just parsed.  Nothing
        is kept after a ParseError.
        """

    @property
    def buffered(self) -> int:
        """How many received bytes are waiting to be parsed (for flow control)."""
