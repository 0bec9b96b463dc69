"""`PeriodicCallback`: call a function every N milliseconds on an IOLoop."""

from __future__ import annotations

import asyncio
import datetime
import math
import random
import warnings
from collections.abc import Callable
from typing import Any

from squall._ioloop._base import IOLoop
from squall._ioloop._futures import is_awaitable_result, to_asyncio_future

__all__ = ["PeriodicCallback"]


class PeriodicCallback:
    """Call `callback` every `callback_time` milliseconds on the current IOLoop.

    `callback_time` is in milliseconds (or a `datetime.timedelta`), unlike
    the seconds used elsewhere.  Nothing happens until `start` is called.

    Runs stay on the schedule ``start time + k * callback_time``: if a run
    takes longer than the period, the runs it overlapped are skipped, not
    bunched up afterwards.  A callback returning an awaitable (an ``async
    def`` function, for instance) is awaited before the next run is
    scheduled, so runs never overlap.  An exception raised by the callback,
    or by its awaitable, is logged and the schedule goes on.

    With `jitter` (a fraction, e.g. 0.1), each interval is multiplied by a
    random factor in ``[1 - jitter/2, 1 + jitter/2]``, which spreads out
    periodic work of many processes started together.

    Example::

        PeriodicCallback(flush_stats, 5000, jitter=0.1).start()

    :raises ValueError: if `callback_time` is not positive.
    """

    __module__ = "squall.ioloop"

    def __init__(
        self,
        callback: Callable[[], object],
        callback_time: float | datetime.timedelta,
        jitter: float = 0,
        io_loop: IOLoop | None = None,
    ) -> None:
        if isinstance(jitter, IOLoop):
            # Tornado 4's signature was (callback, callback_time, io_loop).
            io_loop, jitter = jitter, 0
        if io_loop is not None:
            warnings.warn(
                "the io_loop argument of PeriodicCallback is deprecated; "
                "start() it on the loop that should run it instead",
                DeprecationWarning,
                stacklevel=2,
            )
        self.callback = callback
        if isinstance(callback_time, datetime.timedelta):
            callback_time = callback_time / datetime.timedelta(milliseconds=1)
        if not callback_time > 0:
            raise ValueError(f"callback_time must be positive, not {callback_time!r}")
        self.callback_time: float = callback_time
        self.jitter = jitter
        self.io_loop = io_loop
        self._loop: IOLoop | None = None
        self._running = False
        self._timeout: object = None
        self._next_timeout = 0.0

    def start(self) -> None:
        """Start calling the callback, the first time one period from now.

        Uses the IOLoop given to the constructor, else `IOLoop.current()`.
        Starting a running PeriodicCallback does nothing.
        """
        if self._running:
            return
        self._loop = self.io_loop or IOLoop.current()
        self._running = True
        self._next_timeout = self._loop.time()
        self._schedule_next()

    def stop(self) -> None:
        """Stop calling the callback.  May be called from inside the callback."""
        self._running = False
        if self._timeout is not None and self._loop is not None:
            self._loop.remove_timeout(self._timeout)
            self._timeout = None

    def is_running(self) -> bool:
        """Return True between `start` and `stop`."""
        return self._running

    def _run(self) -> None:
        self._timeout = None
        if not self._running:
            return
        assert self._loop is not None
        try:
            result = self.callback()
            if result is not None and is_awaitable_result(result):
                future = to_asyncio_future(result, self._loop.asyncio_loop)
                future.add_done_callback(self._on_result)
                return
        except Exception:
            self._loop.handle_callback_exception(self.callback)
        self._schedule_next()

    def _on_result(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled():
            try:
                future.result()
            except Exception:
                assert self._loop is not None
                self._loop.handle_callback_exception(self.callback)
        # A stop() and start() while the awaitable ran have scheduled
        # the next run already.
        if self._timeout is None:
            self._schedule_next()

    def _schedule_next(self) -> None:
        if self._running and self._loop is not None:
            self._update_next(self._loop.time())
            self._timeout = self._loop.call_at(self._next_timeout, self._run)

    def _update_next(self, current_time: float) -> None:
        """Advance the deadline to the first point of the schedule after `current_time`."""
        period = self.callback_time / 1000.0
        if self.jitter:
            period *= 1 + self.jitter * (random.random() - 0.5)
        if self._next_timeout <= current_time:
            # Skip the runs that a slow callback (or a busy loop) missed.
            missed = math.floor((current_time - self._next_timeout) / period)
            self._next_timeout += (missed + 1) * period
        else:
            # Called early (the clock went backwards): just one period on.
            self._next_timeout += period
