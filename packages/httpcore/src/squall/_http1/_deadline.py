"""`Deadline`: one lazily re-armed timer per connection.

A connection has at most one deadline at a time (the head, the body, the
wait between requests), and it moves on every request.  Scheduling and
cancelling a loop timer per request would cost more than the request;
instead the timer stays armed and only the deadline moves: when the timer
fires early (the deadline moved later) it re-arms itself for the new
deadline, and when the deadline is gone it simply stops.  Moving the
deadline later is an attribute store (see `at`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["Deadline", "loop_clock"]


def loop_clock(loop: asyncio.AbstractEventLoop) -> Callable[[], float]:
    """The fastest function that reads `loop`'s clock.

    asyncio's own loops read ``time.monotonic`` through a Python method;
    calling ``time.monotonic`` directly gives the same value for one call
    less (this runs on every request).  Other loops (uvloop) keep theirs.
    """
    if type(loop).time is asyncio.BaseEventLoop.time:
        return time.monotonic
    return loop.time


class Deadline:
    """Calls `on_expire` once the loop's clock passes the deadline.

    `set` it (absolute loop time), clear it (``deadline.at = None``) as the
    connection's state changes, and `cancel` it when the connection closes.
    ``on_expire`` runs at most once per deadline set, never after `cancel`.

    The fast path: assigning `at` directly is allowed when the new value is
    None, or not earlier than `armed_at` (the armed timer fires first and
    re-arms for it); otherwise call `set`.
    """

    __slots__ = ("_handle", "_loop", "_on_expire", "armed_at", "at", "clock")

    def __init__(self, loop: asyncio.AbstractEventLoop, on_expire: Callable[[], object]) -> None:
        self._loop = loop
        self._on_expire = on_expire
        self.clock = loop_clock(loop)
        #: The deadline (loop time), or None.
        self.at: float | None = None
        #: When the armed timer fires (None: no timer armed).
        self.armed_at: float | None = None
        self._handle: asyncio.TimerHandle | None = None

    def set_in(self, seconds: float | None) -> None:
        """Set the deadline `seconds` from now (None: clear it)."""
        if seconds is None:
            self.at = None
        else:
            self.set(self.clock() + seconds)

    def set(self, at: float) -> None:
        """Set the deadline to loop time `at`, replacing any other."""
        self.at = at
        armed_at = self.armed_at
        if armed_at is None or at < armed_at:
            if self._handle is not None:
                self._handle.cancel()
            self.armed_at = at
            self._handle = self._loop.call_at(at, self._fire)

    def cancel(self) -> None:
        """Remove the deadline and the timer for good (the connection is closing)."""
        self.at = None
        self.armed_at = None
        handle = self._handle
        if handle is not None:
            self._handle = None
            handle.cancel()

    def _fire(self) -> None:
        self._handle = None
        self.armed_at = None
        at = self.at
        if at is None:
            return
        if self.clock() < at:
            # The deadline moved later since the timer was armed.
            self.armed_at = at
            self._handle = self._loop.call_at(at, self._fire)
            return
        self.at = None
        self._on_expire()
