"""Helpers of the HTTP/1.1 parser's tests (test_http1parser*.py).

- the ``parser_class`` fixture (`PyParser`, `HtParser`, `CParser`); a module gets
  it with ``from http1parser_helpers import parser_class_fixture  # noqa: F401``;
- `run` feeds a parser and collects its events (``("error", status)`` for a
  `ParseError`); `request` and `response` do it with a new server-side or
  client-side parser; `error`, `head_of` and `response_head_of` shorten
  the assertions.
"""

from __future__ import annotations

import pytest

from squall._http1 import Body, EndOfMessage, Limits, ParseError, RequestHead, ResponseHead
from squall._http1._cparser import CParser
from squall._http1._htparser import HtParser
from squall._http1._pyparser import PyParser

__all__ = [
    "Outcome",
    "ParserClass",
    "error",
    "head_of",
    "parser_class_fixture",
    "request",
    "response",
    "response_head_of",
    "run",
]

ParserClass = type[PyParser]


@pytest.fixture(
    params=[PyParser, HtParser, CParser], ids=["python", "httptools", "c"], name="parser_class"
)
def parser_class_fixture(request: pytest.FixtureRequest) -> ParserClass:
    """Run the test with each parser implementation."""
    cls: ParserClass = request.param
    return cls


Outcome = list[object]


def run(
    parser: PyParser,
    data: bytes,
    *,
    eof: bool = True,
    method: str | None = None,
    pieces: int = 0,
) -> Outcome:
    """Feed ``data`` (whole, or ``pieces`` bytes at a time), pull every event.

    Calls `start_next_message` after each `EndOfMessage`.  Body pieces are
    merged; a ParseError ends the list as ``("error", status)``.
    """
    if method is not None:
        parser.set_request_method(method)
    out: Outcome = []
    chunks = [data[i : i + pieces] for i in range(0, len(data), pieces)] if pieces else [data]
    if eof:
        chunks.append(b"")
    try:
        for chunk in chunks:
            parser.receive(chunk)
            while True:
                event = parser.next_event()
                if event is None:
                    break
                if isinstance(event, Body) and out and isinstance(out[-1], Body):
                    out[-1] = Body(out[-1].data + event.data)
                else:
                    out.append(event)
                if isinstance(event, EndOfMessage):
                    parser.start_next_message()
    except ParseError as exc:
        out.append(("error", exc.status))
        assert parser.next_event() is None  # raised once, then closed
    return out


def request(parser_class: ParserClass, data: bytes, **kwargs: object) -> Outcome:
    limits = kwargs.pop("limits", None)
    assert limits is None or isinstance(limits, Limits)
    return run(parser_class(False, limits), data, **kwargs)  # type: ignore[arg-type]


def response(parser_class: ParserClass, data: bytes, **kwargs: object) -> Outcome:
    limits = kwargs.pop("limits", None)
    assert limits is None or isinstance(limits, Limits)
    return run(parser_class(True, limits), data, **kwargs)  # type: ignore[arg-type]


def error(status: int = 400) -> tuple[str, int]:
    return ("error", status)


def head_of(outcome: Outcome) -> RequestHead:
    head = outcome[0]
    assert isinstance(head, RequestHead), outcome
    return head


def response_head_of(outcome: Outcome) -> ResponseHead:
    head = outcome[0]
    assert isinstance(head, ResponseHead), outcome
    return head
