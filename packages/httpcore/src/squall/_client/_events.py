"""Events of `squall.client`: handlers bound per session or per request.

One-time events (`ONE_TIME_EVENTS`) fire once per response with
``handler(response)``, or ``handler(response, exc=exc)`` when the request
failed; a handler may return an awaitable, which is awaited before the
request goes on.  Many-time events (`MANY_TIMES_EVENTS`) fire for each chunk
of the body with ``handler(response, data=chunk)``; they run synchronously
as data arrives (an awaitable they return is not waited for).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["EVENTS", "MANY_TIMES_EVENTS", "ONE_TIME_EVENTS", "Event", "Handler", "as_handlers"]

#: ``handler(response, exc=None)`` or ``handler(response, data=None)``.
Handler = Callable[..., Any]

#: Fired once per response: before the request is sent, when the
#: response's head arrived, when the response is complete.
ONE_TIME_EVENTS = ("pre_request", "on_headers", "post_request")

#: Fired for each chunk of the response body: before it is added to the
#: response (``data_received``) and just after (``data_processed``).  The
#: bytes off the wire are parsed (and decompressed) by the lower layer,
#: squall's HTTP/1 connection, so both get the same chunk of body: unlike
#: pulsar's, ``data_received`` never sees the head or chunked framing.
MANY_TIMES_EVENTS = ("data_received", "data_processed")

EVENTS = ONE_TIME_EVENTS + MANY_TIMES_EVENTS


class Event:
    """The handlers of one event of an `HttpClient` (``client.event(name)``)."""

    __module__ = "squall.client"

    def __init__(self, name: str) -> None:
        if name not in EVENTS:
            raise ValueError(f"Unknown event {name!r}; the events are {', '.join(EVENTS)}")
        self.name = name
        self.onetime = name in ONE_TIME_EVENTS
        self._handlers: list[Handler] = []

    def bind(self, handler: Handler) -> None:
        """Add `handler` (called after those bound before)."""
        if not callable(handler):
            raise TypeError(f"An event handler must be callable, not {handler!r}")
        self._handlers.append(handler)

    def unbind(self, handler: Handler) -> bool:
        """Remove `handler`; return whether it was bound."""
        try:
            self._handlers.remove(handler)
        except ValueError:
            return False
        return True

    def clear(self) -> None:
        """Remove every handler."""
        self._handlers.clear()

    def handlers(self) -> list[Handler]:
        """A copy of the handlers, in the order they are called."""
        return list(self._handlers)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self._handlers)} handlers)"


def as_handlers(value: Handler | Iterable[Handler] | None) -> list[Handler]:
    """A request's ``on_headers=...`` argument as a list of handlers."""
    if value is None:
        return []
    if callable(value):
        return [value]
    handlers = list(value)
    for handler in handlers:
        if not callable(handler):
            raise TypeError(f"An event handler must be callable, not {handler!r}")
    return handlers


async def fire_once(handlers: Iterable[Handler], response: Any, exc: BaseException | None) -> None:
    """Call one-time `handlers`, awaiting what they return."""
    for handler in handlers:
        result = handler(response) if exc is None else handler(response, exc=exc)
        if inspect.isawaitable(result):
            await result
