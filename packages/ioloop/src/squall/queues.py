"""Asynchronous queues for coroutines: Queue, PriorityQueue, LifoQueue.

A coroutine awaiting `Queue.get` pauses until there is an item; if the queue
has a maximum size, one awaiting `Queue.put` pauses until there is room.  A
queue also counts unfinished tasks: `Queue.put` increments the count,
`Queue.task_done` decrements it, and `Queue.join` waits until it is zero.

.. warning::

   Unlike the standard library's `queue` module, these classes are **not
   thread-safe**.  To use a queue from another thread, transfer control to
   the loop's thread with `squall.ioloop.IOLoop.add_callback` before calling
   any queue method.

The exceptions are squall's own, `QueueEmpty` and `QueueFull` (plain
`Exception` subclasses, as in Tornado: neither `queue.Empty` nor
`asyncio.QueueEmpty` catches them).

Timeouts are an absolute deadline in `squall.ioloop.IOLoop.time` units or a
`datetime.timedelta`; an expired wait raises `squall.util.TimeoutError` and
leaves the queue untouched: a getter that timed out never takes an item, and a
putter that timed out never adds one.

>>> q: PriorityQueue[tuple[int, str]] = PriorityQueue()
>>> q.put_nowait((1, "medium-priority item"))
>>> q.put_nowait((0, "high-priority item"))
>>> q.put_nowait((10, "low-priority item"))
>>> q.get_nowait()
(0, 'high-priority item')
>>> q.get_nowait()
(1, 'medium-priority item')
"""

from __future__ import annotations

import asyncio
import collections
import heapq
from typing import Any, Generic, TypeVar

from squall.locks import Event, _completed, _pop_entry, _pop_waiter, _Timeout, _Waiter

__all__ = ["LifoQueue", "PriorityQueue", "Queue", "QueueEmpty", "QueueFull"]

_T = TypeVar("_T")


class QueueEmpty(Exception):
    """Raised by `Queue.get_nowait` when the queue has no items."""


class QueueFull(Exception):
    """Raised by `Queue.put_nowait` when a queue is at its maximum size."""


class Queue(Generic[_T]):
    """Coordinate producer and consumer coroutines.

    If *maxsize* is 0 (the default) the queue size is unbounded.  Raises
    ValueError if *maxsize* is negative and TypeError if it is None.

    ::

        q = Queue(maxsize=2)

        async def consumer():
            async for item in q:
                try:
                    print('Doing work on %s' % item)
                    await gen.sleep(0.01)
                finally:
                    q.task_done()

        async def producer():
            for item in range(5):
                await q.put(item)
                print('Put %s' % item)

        async def main():
            # Start consumer without waiting (since it never finishes).
            IOLoop.current().spawn_callback(consumer)
            await producer()  # Wait for producer to put all tasks.
            await q.join()  # Wait for consumer to finish all tasks.
            print('Done')

    Subclasses change the order by overriding the ``_init``, ``_put`` and
    ``_get`` hooks, which keep the items in ``self._queue`` (whose ``len()``
    is `qsize`); see `PriorityQueue` and `LifoQueue`.
    """

    # The item container is the _init/_get/_put hooks' choice (a deque here,
    # a heap list in PriorityQueue); the base class only takes its len().
    _queue: Any

    def __init__(self, maxsize: int = 0) -> None:
        if maxsize is None:
            raise TypeError("maxsize can't be None")
        if maxsize < 0:
            raise ValueError("maxsize can't be negative")
        self._maxsize = maxsize
        self._init()
        self._getters: collections.OrderedDict[_Waiter[Any], Any] = collections.OrderedDict()
        # Each blocked putter is stored with the item it is waiting to put.
        self._putters: collections.OrderedDict[_Waiter[Any], Any] = collections.OrderedDict()
        self._unfinished_tasks = 0
        self._finished = Event()
        self._finished.set()

    @property
    def maxsize(self) -> int:
        """Number of items allowed in the queue (0: unbounded)."""
        return self._maxsize

    def qsize(self) -> int:
        """Number of items in the queue."""
        return len(self._queue)

    def empty(self) -> bool:
        """Return True if the queue holds no items."""
        return not self._queue

    def full(self) -> bool:
        """Return True if the queue holds `maxsize` items (never if unbounded)."""
        if self._maxsize == 0:
            return False
        return self.qsize() >= self._maxsize

    def put(self, item: _T, timeout: _Timeout = None) -> asyncio.Future[None]:
        """Put an item into the queue, perhaps waiting until there is room.

        Returns a Future that resolves to None once the item is in the queue,
        or fails with `squall.util.TimeoutError` if *timeout* passes first
        (the item is then not put).  Cancelling the Future while it waits
        withdraws the item.
        """
        try:
            self.put_nowait(item)
        except QueueFull:
            return _Waiter(self._putters, timeout, item)
        return _completed(None)

    def put_nowait(self, item: _T) -> None:
        """Put an item into the queue without blocking.

        Raises `QueueFull` if no free slot is immediately available.
        """
        getter = _pop_waiter(self._getters)
        if getter is not None:
            # Getters only wait on an empty queue: hand the item over (through
            # the hooks, so that subclasses see every item pass).
            self._put_internal(item)
            getter.resolve(self._get())
        elif self.full():
            raise QueueFull
        else:
            self._put_internal(item)

    def get(self, timeout: _Timeout = None) -> asyncio.Future[_T]:
        """Remove and return an item from the queue.

        Returns a Future that resolves to the item once one is available, or
        fails with `squall.util.TimeoutError` if *timeout* passes first.  A
        get that timed out or was cancelled while waiting takes no item.
        """
        try:
            return _completed(self.get_nowait())
        except QueueEmpty:
            return _Waiter(self._getters, timeout)

    def get_nowait(self) -> _T:
        """Remove and return an item from the queue without blocking.

        Returns an item if one is immediately available, else raises
        `QueueEmpty`.
        """
        if not self.qsize():
            raise QueueEmpty
        item = self._get()
        # A slot is free: the longest-waiting putter's item takes it.
        entry = _pop_entry(self._putters)
        if entry is not None:
            putter, pending_item = entry
            self._put_internal(pending_item)
            putter.resolve(None)
        return item

    def task_done(self) -> None:
        """Indicate that a formerly enqueued task is complete.

        Used by consumers: for each `get` that fetched a task, a later call to
        `task_done` tells the queue the processing of that task is complete.
        When every `put` is matched by a `task_done`, `join` resumes.

        Raises ValueError if called more times than `put`.
        """
        if self._unfinished_tasks <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished_tasks -= 1
        if self._unfinished_tasks == 0:
            self._finished.set()

    def join(self, timeout: _Timeout = None) -> asyncio.Future[None]:
        """Block until all items in the queue are processed.

        Returns a Future that resolves to None once every item put has been
        marked done with `task_done`, or fails with
        `squall.util.TimeoutError` if *timeout* passes first.
        """
        return self._finished.wait(timeout)

    def __aiter__(self) -> _QueueIterator[_T]:
        """Iterate with ``async for``: each step awaits `get`, forever."""
        return _QueueIterator(self)

    # -- hooks for subclasses: the container and its order --------------------

    def _init(self) -> None:
        self._queue = collections.deque()

    def _get(self) -> _T:
        item: _T = self._queue.popleft()
        return item

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    # -- internals -------------------------------------------------------------

    def _put_internal(self, item: _T) -> None:
        self._unfinished_tasks += 1
        self._finished.clear()
        self._put(item)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x} {self._format()}>"

    def __str__(self) -> str:
        return f"<{type(self).__name__} {self._format()}>"

    def _format(self) -> str:
        result = f"maxsize={self._maxsize!r}"
        if getattr(self, "_queue", None):
            result += f" queue={self._queue!r}"
        if self._getters:
            result += f" getters[{len(self._getters)}]"
        if self._putters:
            result += f" putters[{len(self._putters)}]"
        if self._unfinished_tasks:
            result += f" tasks={self._unfinished_tasks}"
        return result


class _QueueIterator(Generic[_T]):
    """``async for`` over a queue: gets items forever."""

    __slots__ = ("_queue",)

    def __init__(self, queue: Queue[_T]) -> None:
        self._queue = queue

    def __aiter__(self) -> _QueueIterator[_T]:
        return self

    def __anext__(self) -> asyncio.Future[_T]:
        return self._queue.get()


class PriorityQueue(Queue[_T]):
    """A `Queue` that retrieves entries in priority order, lowest first.

    Entries are typically tuples like ``(priority number, data)``::

        q = PriorityQueue()
        q.put_nowait((1, 'medium-priority item'))
        q.put_nowait((0, 'high-priority item'))
        q.put_nowait((10, 'low-priority item'))
        print(q.get_nowait())  # (0, 'high-priority item')
    """

    def _init(self) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        heapq.heappush(self._queue, item)

    def _get(self) -> _T:
        item: _T = heapq.heappop(self._queue)
        return item


class LifoQueue(Queue[_T]):
    """A `Queue` that retrieves the most recently put items first.

    ::

        q = LifoQueue()
        q.put_nowait(3)
        q.put_nowait(2)
        q.put_nowait(1)
        print(q.get_nowait())  # 1
    """

    def _init(self) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    def _get(self) -> _T:
        item: _T = self._queue.pop()
        return item
