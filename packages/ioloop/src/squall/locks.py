"""Synchronization primitives for coroutines: Condition, Event, Semaphore, Lock.

They coordinate coroutines running on one event loop, like the standard
library's `threading` primitives coordinate threads.  Every method that can
wait returns an `asyncio.Future` (so both ``await`` and ``yield`` inside a
`squall.gen.coroutine` work) and takes an optional *timeout*: either an
absolute deadline in `squall.ioloop.IOLoop.time` units (a float) or a
`datetime.timedelta` relative to now.

.. warning::

   Like asyncio's, these primitives are **not thread-safe**.  They coordinate
   coroutines on one loop; to use one from another thread, hand the call to
   the loop's thread with `squall.ioloop.IOLoop.add_callback`.

Waiters are served first come, first served.  A waiter whose Future is
cancelled, or whose timeout expires, leaves the wait list at once, so
abandoned waits neither leak memory nor consume a later notification,
release or item.

>>> import asyncio
>>> lock = Lock()
>>> async def main() -> None:
...     async with lock:
...         print(lock)
...     print(lock)
>>> asyncio.run(main())
<Lock locked>
<Lock unlocked>
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import numbers
import types
from typing import Any, Protocol, TypeVar

from squall.ioloop import IOLoop
from squall.util import TimeoutError

__all__ = ["BoundedSemaphore", "Condition", "Event", "Lock", "Semaphore"]

_T = TypeVar("_T")

#: What every ``timeout=`` argument accepts: an absolute deadline in
#: ``IOLoop.time()`` units, a delay relative to now, or None for no limit.
_Timeout = float | datetime.timedelta | None


# -- waiting machinery shared by the primitives here and by squall.queues ----


def _event_loop() -> asyncio.AbstractEventLoop:
    """The loop that waiters' Futures belong to.

    Normally the running loop.  Tornado-era code also creates waits before the
    loop runs (``q.put(x)`` at start-up, then ``IOLoop.current().start()``);
    those Futures belong to the loop the current IOLoop will run.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return IOLoop.current().asyncio_loop


def _delay(timeout: float | datetime.timedelta) -> float:
    """Seconds from now until *timeout* (a deadline or a timedelta).

    Raises TypeError for anything else, as `IOLoop.add_timeout` does.
    """
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    value: object = timeout
    if isinstance(value, numbers.Real):
        # Deadlines are in IOLoop.time() units, whatever clock the IOLoop uses.
        return float(value) - IOLoop.current().time()
    raise TypeError(f"timeout must be a number or a datetime.timedelta, not {timeout!r}")


def _completed(value: _T) -> asyncio.Future[_T]:
    """A Future already resolved to *value*, for waits that need not wait."""
    future: asyncio.Future[_T] = _event_loop().create_future()
    future.set_result(value)
    return future


class _Waiter(asyncio.Future[_T]):
    """A Future that stands in an ordered wait list until it is resolved.

    It is its own key in the owner's wait list (an OrderedDict, so append,
    pop-first and removal of any waiter are all O(1)); the value stored
    under it is the owner's business (`squall.queues` keeps a blocked
    putter's item there).  A waiter leaves the list:

    - when the owner pops it to resolve it (`resolve`);
    - when it is cancelled (usually because the coroutine awaiting it was):
      `cancel` is overridden rather than a done-callback added, so the
      common path costs no extra callback;
    - when its timeout expires: `_on_timeout` fails it with
      `squall.util.TimeoutError`.
    """

    __slots__ = ("_timer", "_waiters")

    def __init__(
        self,
        waiters: collections.OrderedDict[_Waiter[Any], Any],
        timeout: _Timeout = None,
        value: Any = None,
    ) -> None:
        loop = _event_loop()
        super().__init__(loop=loop)
        self._waiters = waiters
        self._timer: asyncio.TimerHandle | None = None
        if timeout is not None:
            self._timer = loop.call_later(_delay(timeout), self._expire)
        waiters[self] = value

    def resolve(self, result: _T) -> None:
        """Resolve a waiter its owner has already popped from the wait list."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.set_result(result)

    def cancel(self, msg: Any | None = None) -> bool:
        if not super().cancel(msg):
            return False
        self._waiters.pop(self, None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return True

    def _expire(self) -> None:
        self._timer = None
        # A resolved or cancelled waiter has cancelled its timer; this is a
        # guard against someone else having completed the Future.
        if not self.done():
            self._waiters.pop(self, None)
            self._on_timeout()

    def _on_timeout(self) -> None:
        self.set_exception(TimeoutError("Timeout"))


def _pop_waiter(waiters: collections.OrderedDict[_Waiter[Any], Any]) -> _Waiter[Any] | None:
    """Remove and return the longest-waiting pending waiter, or None."""
    entry = _pop_entry(waiters)
    return None if entry is None else entry[0]


def _pop_entry(
    waiters: collections.OrderedDict[_Waiter[Any], Any],
) -> tuple[_Waiter[Any], Any] | None:
    """Remove and return the longest-waiting pending waiter and its value."""
    while waiters:
        entry = waiters.popitem(last=False)
        # Only a Future completed by a third party can still be in the list.
        if not entry[0].done():
            return entry
    return None


class _ConditionWaiter(_Waiter[bool]):
    __slots__ = ()

    def _on_timeout(self) -> None:
        # Condition.wait reports a timeout as False instead of raising.
        self.set_result(False)


# -- the primitives -----------------------------------------------------------


class Condition:
    """A condition lets one or more coroutines wait until notified.

    Like `threading.Condition`, but without an underlying lock to acquire and
    release::

        condition = Condition()

        async def waiter():
            print("I'll wait right here")
            await condition.wait()
            print("I'm done waiting")

        async def notifier():
            print("About to notify")
            condition.notify()
            print("Done notifying")

    `wait` takes an optional timeout, an absolute ``IOLoop.time()`` deadline
    or a `datetime.timedelta`; the Future it returns resolves to False if no
    notification arrives before then.
    """

    def __init__(self) -> None:
        self._waiters: collections.OrderedDict[_Waiter[Any], Any] = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} waiters[{len(self._waiters)}]>"

    def wait(self, timeout: _Timeout = None) -> asyncio.Future[bool]:
        """Wait for `notify`.

        Returns a Future that resolves to True when notified, or to False if
        *timeout* passes first (it does not raise on timeout).
        """
        return _ConditionWaiter(self._waiters, timeout)

    def notify(self, n: int = 1) -> None:
        """Wake the *n* longest-waiting waiters (fewer if fewer are waiting)."""
        woken = []
        while n > 0:
            waiter = _pop_waiter(self._waiters)
            if waiter is None:
                break
            woken.append(waiter)
            n -= 1
        # Resolve only once the list is settled, so a waiter's callbacks
        # never observe a half-done notify.
        for waiter in woken:
            waiter.resolve(True)

    def notify_all(self) -> None:
        """Wake all waiters."""
        self.notify(len(self._waiters))


class Event:
    """An event blocks coroutines until its internal flag is set to True.

    Similar to `threading.Event`.  Once the flag is set, `wait` returns at
    once until the flag is cleared again::

        event = Event()

        async def waiter():
            print("Waiting for event")
            await event.wait()
            print("Not waiting this time")
            await event.wait()
            print("Done")
    """

    def __init__(self) -> None:
        self._value = False
        self._waiters: collections.OrderedDict[_Waiter[Any], Any] = collections.OrderedDict()

    def __repr__(self) -> str:
        text = f"<{type(self).__name__} {'set' if self._value else 'clear'}"
        if self._waiters:
            text += f" waiters[{len(self._waiters)}]"
        return text + ">"

    def is_set(self) -> bool:
        """Return True if the internal flag is set."""
        return self._value

    def set(self) -> None:
        """Set the internal flag to True and wake every waiter.

        Calling `wait` once the flag is set will not block.
        """
        if self._value:
            return
        self._value = True
        waiters = list(self._waiters)
        self._waiters.clear()
        for waiter in waiters:
            if not waiter.done():
                waiter.resolve(None)

    def clear(self) -> None:
        """Reset the internal flag to False; `wait` blocks until `set` again."""
        self._value = False

    def wait(self, timeout: _Timeout = None) -> asyncio.Future[None]:
        """Block until the internal flag is True.

        Returns a Future that resolves to None once the flag is set (at once
        if it already is), or fails with `squall.util.TimeoutError` if
        *timeout* passes first.  Each call returns its own Future: cancelling
        one wait does not affect the others.
        """
        if self._value:
            return _completed(None)
        return _Waiter(self._waiters, timeout)


class _Releasable(Protocol):
    def release(self) -> None: ...


class _ReleasingContextManager:
    """The result of ``acquire()``: releases on exit of a ``with`` block.

    This is what makes the Tornado 4 pattern work::

        with (yield semaphore.acquire()):
            ...  # the semaphore is released here
    """

    __slots__ = ("_obj",)

    def __init__(self, obj: _Releasable) -> None:
        self._obj = obj

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self._obj.release()


class Semaphore:
    """A lock that can be acquired a fixed number of times before blocking.

    A Semaphore manages a counter: the number of `release` calls minus the
    number of `acquire` calls, plus an initial *value*.  `acquire` waits, if
    need be, until it can decrement the counter without making it negative.
    To let two workers at a time use a resource::

        sem = Semaphore(2)

        async def worker(worker_id):
            async with sem:
                print("Worker %d is working" % worker_id)
                await use_some_resource()
            # Now the semaphore has been released.

    ``with (yield sem.acquire()):`` does the same in a
    `squall.gen.coroutine`.  A bare ``with sem:`` raises RuntimeError.

    Raises ValueError if *value* is negative.
    """

    def __init__(self, value: int = 1) -> None:
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._value = value
        self._waiters: collections.OrderedDict[_Waiter[Any], Any] = collections.OrderedDict()
        self._releaser = _ReleasingContextManager(self)

    def __repr__(self) -> str:
        state = "locked" if self._value == 0 else "unlocked"
        return (
            f"<{type(self).__name__} [{state}, value:{self._value}, waiters:{len(self._waiters)}]>"
        )

    def release(self) -> None:
        """Increment the counter and wake the longest-waiting acquirer, if any."""
        if self._waiters:
            waiter = _pop_waiter(self._waiters)
            if waiter is not None:
                # The released unit passes straight to the waiter, so a later
                # acquire() cannot overtake it.
                waiter.resolve(self._releaser)
                return
        self._value += 1

    def acquire(self, timeout: _Timeout = None) -> asyncio.Future[_ReleasingContextManager]:
        """Decrement the counter, waiting until it is positive.

        Returns a Future that resolves to a context manager releasing the
        semaphore on exit (for ``with (yield sem.acquire()):``), or fails
        with `squall.util.TimeoutError` if *timeout* passes first.  If the
        Future is cancelled while waiting, nothing is acquired.
        """
        if self._value > 0:
            self._value -= 1
            return _completed(self._releaser)
        return _Waiter(self._waiters, timeout)

    async def __aenter__(self) -> None:
        # As acquire(), without allocating a Future when the semaphore is free.
        if self._value > 0:
            self._value -= 1
            return
        await _acquire_for_async_with(_Waiter(self._waiters), self)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.release()

    def __enter__(self) -> None:
        raise RuntimeError(
            "Use 'async with semaphore' or 'with (yield semaphore.acquire())',"
            " not 'with semaphore'"
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.__enter__()


async def _acquire_for_async_with(
    future: asyncio.Future[_ReleasingContextManager], owner: _Releasable
) -> None:
    """Wait for an acquire in ``async with``, never leaking it on cancellation.

    If the task is cancelled after `release` handed it the unit but before it
    resumed, the acquire succeeded yet ``async with`` will not run its exit:
    give the unit back.  (A bare ``await lock.acquire()`` cannot be protected
    this way, as in Tornado: the caller owns the result once it is set.)
    """
    try:
        await future
    except asyncio.CancelledError:
        if future.done() and not future.cancelled() and future.exception() is None:
            owner.release()
        raise


class BoundedSemaphore(Semaphore):
    """A semaphore that prevents release() being called too many times.

    If `release` would increment the counter past the initial value, it
    raises ValueError: a semaphore released too often is a sign of a bug.
    """

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self._initial_value = value

    def release(self) -> None:
        """Increment the counter and wake one waiter.

        Raises ValueError if that would exceed the initial value.
        """
        if self._value >= self._initial_value:
            raise ValueError("Semaphore released too many times")
        super().release()


class Lock:
    """A lock for coroutines.

    A Lock begins unlocked, and `acquire` locks it at once.  While it is
    locked, a coroutine awaiting `acquire` waits until another calls
    `release`; waiters get the lock in the order they asked for it::

        lock = Lock()

        async def f():
            async with lock:
                ...  # do something holding the lock
            # Now the lock is released.

    In a `squall.gen.coroutine`, ``with (yield lock.acquire()):`` does the
    same.  A bare ``with lock:`` raises RuntimeError.
    """

    def __init__(self) -> None:
        self._block = BoundedSemaphore(value=1)
        # acquire()'s context manager must release the lock, not the
        # semaphore, so that a double release raises RuntimeError.
        self._block._releaser = _ReleasingContextManager(self)

    def __repr__(self) -> str:
        locked = self._block._value == 0
        text = f"<{type(self).__name__} {'locked' if locked else 'unlocked'}"
        if self._block._waiters:
            text += f" waiters[{len(self._block._waiters)}]"
        return text + ">"

    def acquire(self, timeout: _Timeout = None) -> asyncio.Future[_ReleasingContextManager]:
        """Attempt to lock.

        Returns a Future that resolves, once the lock is held, to a context
        manager releasing it on exit, or fails with `squall.util.TimeoutError`
        if *timeout* passes first.  If the Future is cancelled while waiting,
        the lock is not taken.
        """
        return self._block.acquire(timeout)

    def release(self) -> None:
        """Unlock; the first coroutine waiting in `acquire` gets the lock.

        Raises RuntimeError if the lock is not locked.
        """
        try:
            self._block.release()
        except ValueError:
            raise RuntimeError("release unlocked lock") from None

    async def __aenter__(self) -> None:
        # As acquire(), without allocating a Future when the lock is free.
        block = self._block
        if block._value > 0:
            block._value -= 1
            return
        await _acquire_for_async_with(_Waiter(block._waiters), self)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.release()

    def __enter__(self) -> None:
        raise RuntimeError(
            "Use 'async with lock' or 'with (yield lock.acquire())', not 'with lock'"
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.__enter__()
