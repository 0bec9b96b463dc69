"""The exceptions of `squall.httputil`.

::

    Exception
     ├── HTTPInputError     a malformed message (or start line, or header) from the peer
     └── HTTPOutputError    the application broke HTTP's rules while writing a message

The HTTP/1 connection translates its parser's errors into `HTTPInputError`
at its boundary, so code above the connection only ever sees these two.
"""

from __future__ import annotations

__all__ = ["HTTPInputError", "HTTPOutputError"]


class HTTPInputError(Exception):
    """Exception class for malformed HTTP requests or responses from remote sources.

    The message names the rule broken; it quotes at most a bounded slice of
    the offending input (see `_snippet`).
    """

    __module__ = "squall.httputil"


class HTTPOutputError(Exception):
    """Exception class for errors in HTTP output.

    Raised when the application writes something HTTP forbids: more body
    bytes than the declared ``Content-Length``, a body on a response that
    cannot have one, writing after `~HTTPConnection.finish`...
    """

    __module__ = "squall.httputil"


#: Longest slice of attacker-controlled input quoted in an error message
#: (shared/DESIGN.md §5: what the peer sent reaches logs only bounded).
_SNIPPET_LENGTH = 64


def _snippet(value: str | bytes) -> str:
    """Return ``repr`` of at most `_SNIPPET_LENGTH` characters of `value`, for messages."""
    if len(value) > _SNIPPET_LENGTH:
        return repr(value[:_SNIPPET_LENGTH]) + "..."
    return repr(value)
