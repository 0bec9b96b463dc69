"""`Deadline`: one lazily re-armed timer per connection.

A connection has at most one deadline at a time (the head, the body, the
wait between requests), and it moves on every request.  Scheduling and
cancelling a loop timer per request would cost more than the request;
instead the timer stays armed and only the deadline moves: when the timer
fires early (the deadline moved later) it re-arms itself for the new
deadline, and when the deadline is gone it simply stops.  Moving the
deadline is an attribute store unless it moves earlier than the armed time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["Deadline"]


class Deadline:
    """Calls `on_expire` once the loop's clock passes the deadline set last.

    `set` (absolute loop time) or `clear` it as the connection's state
    changes; `cancel` when the connection closes.  ``on_expire`` runs at
    most once per deadline set, never after `cancel`.
    """

    __slots__ = ("_at", "_handle", "_loop", "_on_expire", "_when")

    def __init__(self, loop: asyncio.AbstractEventLoop, on_expire: Callable[[], object]) -> None:
        self._loop = loop
        self._on_expire = on_expire
        self._at: float | None = None  # the deadline
        self._handle: asyncio.TimerHandle | None = None
        self._when = 0.0  # when the armed handle fires

    def set_in(self, seconds: float | None) -> None:
        """Set the deadline `seconds` from now (None: clear it)."""
        if seconds is None:
            self._at = None
        else:
            self.set(self._loop.time() + seconds)

    def set(self, at: float) -> None:
        """Set the deadline to loop time `at`, replacing any other."""
        self._at = at
        handle = self._handle
        if handle is None:
            self._when = at
            self._handle = self._loop.call_at(at, self._fire)
        elif at < self._when:
            handle.cancel()
            self._when = at
            self._handle = self._loop.call_at(at, self._fire)

    def clear(self) -> None:
        """Remove the deadline (the armed timer, if any, will find none and stop)."""
        self._at = None

    @property
    def pending(self) -> bool:
        """Whether a deadline is set."""
        return self._at is not None

    def cancel(self) -> None:
        """Remove the deadline and the timer for good (the connection is closing)."""
        self._at = None
        handle = self._handle
        if handle is not None:
            self._handle = None
            handle.cancel()

    def _fire(self) -> None:
        self._handle = None
        at = self._at
        if at is None:
            return
        if self._loop.time() < at:
            # The deadline moved later since the timer was armed.
            self._when = at
            self._handle = self._loop.call_at(at, self._fire)
            return
        self._at = None
        self._on_expire()
