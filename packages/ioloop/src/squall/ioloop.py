"""An I/O event loop for non-blocking sockets, on asyncio.

`IOLoop` wraps an asyncio event loop: `IOLoop.current()` inside a running
loop (such as one started by `asyncio.run`) returns its wrapper, and
``IOLoop()`` creates a new loop of the configured backend (``asyncio`` by
default, ``uvloop``, or a third-party plugin registered in the
``squall.ioloop`` entry-point group), chosen with `IOLoop.configure` or the
``SQUALL_IOLOOP`` environment variable.

Besides I/O readiness handlers, the loop schedules callbacks
(`IOLoop.add_callback`, safe from any thread), timed callbacks
(`IOLoop.call_later`, `IOLoop.call_at`, `IOLoop.add_timeout`) and periodic
ones (`PeriodicCallback`).  An exception escaping any of them is logged to
``squall.application`` and the loop goes on.

    >>> from squall.ioloop import IOLoop
    >>> async def main():
    ...     return 42
    >>> loop = IOLoop(make_current=False)
    >>> loop.run_sync(main)
    42
    >>> loop.close()
"""

from __future__ import annotations

from squall._ioloop._base import IOLoop
from squall._ioloop._periodic import PeriodicCallback
from squall.util import TimeoutError

__all__ = ["IOLoop", "PeriodicCallback", "TimeoutError"]
