"""The HTTP/1.1 parser with request heads split in C: `PyParser` plus ``_speedups``.

`CParser` behaves exactly like `PyParser` (same events, same `ParseError`
statuses; both run one test suite and the property tests compare them on
generated and mutated messages).  Only a server's request heads are taken
differently: ``_speedups.take_request_head`` (C, this package's optional
compiled module) finds the head in the buffer, and checks the start line and
every field line by the reference's grammar and splits them in one pass.
It only ever *accepts*: a head it does not accept, or one that needs more
than splitting (a target not in origin form, CONNECT, another version, a
limit reached), goes to `PyParser`'s code, whose verdict is the answer.  A
head whose fields of meaning to the parser are the common ones (one Host,
``Connection: keep-alive`` or ``close``, one Content-Length; see
``_speedups.c``) comes back as a finished `RequestHead`; the others get
`PyParser`'s semantic checks.

A head that is not taken that way (none complete yet, leading empty lines,
one over a limit or passed on) is `PyParser.next_event`'s, all of it.
Response heads (the client side) and bodies are `PyParser`'s code.
"""

from __future__ import annotations

from ._events import Event, ParseError, RequestHead
from ._pyparser import _CL, _END, _HEAD, PyParser
from ._speedups import configure, take_request_head

__all__ = ["CParser"]

configure(RequestHead)


class CParser(PyParser):
    """A sans-I/O HTTP/1.1 parser whose request heads are split in C.

    Same interface and behaviour as `PyParser` (see `ParserProtocol`).
    """

    __slots__ = ()

    def next_event(self) -> Event | None:
        if self._state == _HEAD and not self._client:
            # A server's next request, straight from the buffer.
            result = take_request_head(self._buf, self._scan, self.limits)
            if result is not None:
                self._scan = 0
                if type(result) is RequestHead:
                    length = result[5]  # content_length
                    if length:
                        self._remaining = length
                        self._state = _CL
                    else:
                        self._state = _END  # no body
                    return result
                try:
                    return self._request_head(*result)
                except ParseError:
                    self._close_on_error()
                    raise
        return PyParser.next_event(self)
