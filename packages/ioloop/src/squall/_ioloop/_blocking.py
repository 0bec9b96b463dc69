"""Detection of a blocked loop, for the deprecated ``set_blocking_*_threshold``.

Tornado 4 armed ``SIGALRM`` around each loop iteration; an asyncio loop
offers no such hook.  Instead the loop re-arms a cheap heartbeat callback
and a daemon thread watches it: when the loop runs but the heartbeat is
older than the threshold, an iteration is blocked, and the action gets the
loop thread's current frame.  One report per blocked stretch.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from squall._ioloop._asyncio import BaseAsyncIOLoop

__all__ = ["Watchdog"]


class Watchdog:
    """Watch `io_loop` and call `action(SIGALRM, frame)` when it blocks for `seconds`."""

    def __init__(
        self,
        io_loop: BaseAsyncIOLoop,
        seconds: float,
        action: Callable[[int, Any], object] | None,
        kill: bool,
    ) -> None:
        if seconds <= 0:
            raise ValueError(f"the blocking threshold must be positive, not {seconds!r}")
        self._io_loop = io_loop
        self._seconds = seconds
        self._action = action
        self._kill = kill
        # Checked often enough that a block is seen soon after the threshold.
        self._interval = seconds / 4
        self._beat = time.monotonic()
        self._loop_thread: int | None = None
        self._stopped = threading.Event()
        self._handle = io_loop.asyncio_loop.call_soon_threadsafe(self._heartbeat)
        self._thread = threading.Thread(target=self._watch, name="squall-blocking-watchdog")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (the thread exits within one check interval)."""
        self._stopped.set()
        self._handle.cancel()

    def _heartbeat(self) -> None:
        self._beat = time.monotonic()
        self._loop_thread = threading.get_ident()
        if not self._stopped.is_set():
            self._handle = self._io_loop.asyncio_loop.call_later(self._interval, self._heartbeat)

    def _watch(self) -> None:
        reported = False
        while not self._stopped.wait(self._interval):
            now = time.monotonic()
            if not self._io_loop.asyncio_loop.is_running():
                # A stopped loop is not a blocked one.
                self._beat = now
                reported = False
                continue
            if now - self._beat <= self._seconds:
                reported = False
                continue
            if reported:
                continue
            reported = True
            if self._kill:
                os.kill(os.getpid(), signal.SIGKILL)
            frame = sys._current_frames().get(self._loop_thread or 0)
            if self._action is not None:
                self._action(signal.SIGALRM, frame)
