"""Tests for squall.queues: Queue, PriorityQueue, LifoQueue and their exceptions."""

from __future__ import annotations

import asyncio
import datetime
import doctest
import types
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import pytest

import squall.queues
from squall import gen, queues
from squall.concurrent import Future
from squall.ioloop import IOLoop
from squall.queues import LifoQueue, PriorityQueue, Queue, QueueEmpty, QueueFull
from squall.util import TimeoutError

SHORT = datetime.timedelta(milliseconds=10)


def run(io_loop: IOLoop, fn: Callable[[], Awaitable[Any]]) -> Any:
    return io_loop.run_sync(fn)


async def turns(n: int = 5) -> None:
    """Let every ready callback and task run a few times."""
    for _ in range(n):
        await asyncio.sleep(0)


def timeouts(io_loop: IOLoop) -> list[Any]:
    """The two kinds of timeout: relative, and an absolute IOLoop.time() deadline."""
    return [SHORT, io_loop.time() + SHORT.total_seconds()]


def test_all_is_sorted_and_complete() -> None:
    assert queues.__all__ == sorted(queues.__all__)
    public = {
        name
        for name, value in vars(queues).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "") == "squall.queues"
    }
    assert public == set(queues.__all__)


def test_doctests() -> None:
    result = doctest.testmod(squall.queues)
    assert result.attempted > 0
    assert result.failed == 0


def test_exceptions_are_squalls_own() -> None:
    assert issubclass(QueueEmpty, Exception)
    assert issubclass(QueueFull, Exception)
    assert not issubclass(QueueEmpty, asyncio.QueueEmpty)
    assert not issubclass(QueueFull, asyncio.QueueFull)


# -- construction and sizes ------------------------------------------------


def test_maxsize() -> None:
    assert Queue[int]().maxsize == 0
    assert Queue[int](maxsize=3).maxsize == 3
    assert Queue[int](3).maxsize == 3
    with pytest.raises(ValueError):
        Queue[int](maxsize=-1)
    with pytest.raises(TypeError):
        Queue[int](maxsize=None)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        Queue[int]().maxsize = 1  # type: ignore[misc]


def test_unbounded_queue_is_never_full() -> None:
    q: Queue[int] = Queue()
    assert q.empty()
    assert not q.full()
    for i in range(1000):
        q.put_nowait(i)
    assert not q.full()
    assert not q.empty()
    assert q.qsize() == 1000


def test_nowait_fifo_full_empty() -> None:
    q: Queue[str] = Queue(maxsize=2)
    assert q.empty()
    assert not q.full()
    assert q.qsize() == 0
    with pytest.raises(QueueEmpty):
        q.get_nowait()
    q.put_nowait("a")
    assert q.qsize() == 1
    assert not q.empty()
    assert not q.full()
    q.put_nowait("b")
    assert q.full()
    with pytest.raises(QueueFull):
        q.put_nowait("c")
    assert q.qsize() == 2
    assert q.get_nowait() == "a"
    assert q.get_nowait() == "b"
    assert q.empty()
    with pytest.raises(QueueEmpty):
        q.get_nowait()


def test_repr_and_str() -> None:
    q: Queue[int] = Queue(maxsize=3)
    assert str(q) == "<Queue maxsize=3>"
    assert repr(q).startswith("<Queue at 0x")
    q.put_nowait(1)
    assert str(q) == "<Queue maxsize=3 queue=deque([1]) tasks=1>"
    assert str(PriorityQueue[int]()) == "<PriorityQueue maxsize=0>"


# -- put and get that wait ----------------------------------------------------


def test_put_and_get_return_futures(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        put = q.put(1)
        assert isinstance(put, Future)
        assert put.done()
        assert put.result() is None
        get = q.get()
        assert isinstance(get, Future)
        assert get.done()
        assert get.result() == 1

    run(io_loop, main)


def test_get_waits_for_put(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        getters = [q.get() for _ in range(3)]
        await turns()
        assert not any(g.done() for g in getters)
        assert str(q) == "<Queue maxsize=0 getters[3]>"
        q.put_nowait(1)
        await q.put(2)
        q.put_nowait(3)
        # Getters are served first come, first served; items never linger.
        assert [await g for g in getters] == [1, 2, 3]
        assert q.empty()
        assert str(q) == "<Queue maxsize=0 tasks=3>"

    run(io_loop, main)


def test_put_waits_while_full(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue(maxsize=1)
        await q.put(0)
        putters = [q.put(i) for i in (1, 2)]
        await turns()
        assert not any(p.done() for p in putters)
        assert q.qsize() == 1
        assert str(q) == "<Queue maxsize=1 queue=deque([0]) putters[2] tasks=1>"
        assert await q.get() == 0
        # The freed slot went to the first putter; the second still waits.
        assert putters[0].done()
        assert not putters[1].done()
        assert q.full()
        assert q.get_nowait() == 1
        await putters[1]
        assert q.get_nowait() == 2
        assert q.empty()

    run(io_loop, main)


def test_put_from_getter_side_of_full_queue_keeps_maxsize(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue(maxsize=2)
        q.put_nowait(1)
        q.put_nowait(2)
        waiting = q.put(3)
        assert q.get_nowait() == 1
        await waiting
        assert q.qsize() == 2
        assert [q.get_nowait(), q.get_nowait()] == [2, 3]

    run(io_loop, main)


@pytest.mark.parametrize("kind", [0, 1])
def test_get_timeout(io_loop: IOLoop, kind: int) -> None:
    async def main() -> None:
        q: Queue[str] = Queue()
        getter = q.get(timeout=timeouts(io_loop)[kind])
        with pytest.raises(TimeoutError):
            await getter
        assert str(q) == "<Queue maxsize=0>"  # the getter left the queue
        # An item put after the get timed out stays in the queue: not lost.
        q.put_nowait("kept")
        assert q.qsize() == 1
        assert q.get_nowait() == "kept"

    run(io_loop, main)


@pytest.mark.parametrize("kind", [0, 1])
def test_put_timeout(io_loop: IOLoop, kind: int) -> None:
    async def main() -> None:
        q: Queue[str] = Queue(maxsize=1)
        q.put_nowait("first")
        putter = q.put("late", timeout=timeouts(io_loop)[kind])
        with pytest.raises(TimeoutError):
            await putter
        assert str(q) == "<Queue maxsize=1 queue=deque(['first']) tasks=1>"
        assert q.get_nowait() == "first"
        assert q.empty()  # the timed-out item was never put

    run(io_loop, main)


def test_get_with_timeout_served_in_time(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        getter = q.get(timeout=SHORT)
        q.put_nowait(7)
        assert await getter == 7
        await asyncio.sleep(SHORT.total_seconds() * 2)  # the timer must not fire
        assert getter.result() == 7
        assert str(q) == "<Queue maxsize=0 tasks=1>"

    run(io_loop, main)


def test_timed_out_getter_skipped_for_next(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        expiring = q.get(timeout=SHORT)
        patient = q.get()
        with pytest.raises(TimeoutError):
            await expiring
        q.put_nowait(5)
        assert await patient == 5

    run(io_loop, main)


def test_cancelled_getter_takes_no_item(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        cancelled = q.get()
        other = q.get()
        cancelled.cancel()
        q.put_nowait(1)
        assert await other == 1
        q.put_nowait(2)
        assert q.get_nowait() == 2

    run(io_loop, main)


def test_cancelled_task_getting_leaves_queue(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        task = asyncio.ensure_future(q.get())
        await turns()
        assert str(q) == "<Queue maxsize=0 getters[1]>"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert str(q) == "<Queue maxsize=0>"
        q.put_nowait(3)
        assert q.qsize() == 1

    run(io_loop, main)


def test_cancelled_putter_withdraws_its_item(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue(maxsize=1)
        q.put_nowait(1)
        cancelled = q.put(2)
        waiting = q.put(3)
        cancelled.cancel()
        assert q.get_nowait() == 1
        await waiting
        assert q.get_nowait() == 3
        assert q.empty()
        # Only the puts that happened count as tasks.
        q.task_done()
        q.task_done()
        with pytest.raises(ValueError):
            q.task_done()

    run(io_loop, main)


def test_wait_for_on_get_cancels_cleanly(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(q.get(), 0.01)
        q.put_nowait(1)
        assert q.get_nowait() == 1

    run(io_loop, main)


# -- task_done and join --------------------------------------------------------


def test_task_done_and_join(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        assert q.join().done()  # nothing put: joined at once
        with pytest.raises(ValueError):
            q.task_done()
        for i in range(3):
            q.put_nowait(i)
        join = q.join()
        for _ in range(3):
            q.get_nowait()
        await turns()
        assert not join.done()  # gotten is not done
        q.task_done()
        q.task_done()
        assert not join.done()
        q.task_done()
        await join
        with pytest.raises(ValueError):
            q.task_done()
        q.put_nowait(9)
        assert not q.join().done()

    run(io_loop, main)


def test_task_done_counts_handed_over_items(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        getter = q.get()
        q.put_nowait(1)  # straight to the waiting getter
        assert await getter == 1
        join = q.join()
        assert not join.done()
        q.task_done()
        await join

    run(io_loop, main)


@pytest.mark.parametrize("kind", [0, 1])
def test_join_timeout(io_loop: IOLoop, kind: int) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        q.put_nowait(1)
        with pytest.raises(TimeoutError):
            await q.join(timeout=timeouts(io_loop)[kind])
        q.get_nowait()
        q.task_done()
        await q.join(timeout=SHORT)

    run(io_loop, main)


# -- async for -----------------------------------------------------------------


def test_async_for(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        for i in range(3):
            q.put_nowait(i)
        seen: list[int] = []

        async def consume() -> None:
            async for item in q:
                seen.append(item)
                q.task_done()
                if item == 4:
                    break

        task = asyncio.ensure_future(consume())
        await turns()
        assert seen == [0, 1, 2]
        assert not task.done()  # an empty queue does not end the iteration
        q.put_nowait(3)
        q.put_nowait(4)
        await task
        assert seen == [0, 1, 2, 3, 4]
        await q.join()

    run(io_loop, main)


def test_async_for_cancelled(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()

        async def consume() -> None:
            async for _ in q:
                pass

        task = asyncio.ensure_future(consume())
        await turns()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert str(q) == "<Queue maxsize=0>"

    run(io_loop, main)


# -- PriorityQueue and LifoQueue --------------------------------------------


def test_priority_queue_docs_example(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: PriorityQueue[tuple[int, str]] = PriorityQueue()
        q.put((1, "medium-priority item"))
        q.put((0, "high-priority item"))
        q.put((10, "low-priority item"))
        assert q.get_nowait() == (0, "high-priority item")
        assert q.get_nowait() == (1, "medium-priority item")
        assert q.get_nowait() == (10, "low-priority item")

    run(io_loop, main)


def test_priority_queue_bounded_and_waiting(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: PriorityQueue[int] = PriorityQueue(maxsize=2)
        q.put_nowait(5)
        q.put_nowait(3)
        assert q.full()
        with pytest.raises(QueueFull):
            q.put_nowait(1)
        waiting = q.put(1)
        assert q.get_nowait() == 3  # the waiting put was not in the queue yet
        await waiting
        assert [q.get_nowait(), q.get_nowait()] == [1, 5]
        getter = q.get()
        q.put_nowait(8)
        assert await getter == 8
        assert isinstance(q, Queue)

    run(io_loop, main)


def test_lifo_queue(io_loop: IOLoop) -> None:
    async def main() -> None:
        q: LifoQueue[int] = LifoQueue()
        for i in (3, 2, 1):
            await q.put(i)
        assert [q.get_nowait() for _ in range(3)] == [1, 2, 3]
        with pytest.raises(QueueEmpty):
            q.get_nowait()
        getter = q.get()
        q.put_nowait(4)
        assert await getter == 4
        assert isinstance(q, Queue)
        assert str(q) == "<LifoQueue maxsize=0 tasks=4>"

    run(io_loop, main)


def test_custom_hooks() -> None:
    class SetQueue(Queue[int]):
        """A queue that drops duplicates, through the documented hooks."""

        def _init(self) -> None:
            self._queue = []

        def _put(self, item: int) -> None:
            if item not in self._queue:
                self._queue.append(item)

        def _get(self) -> int:
            item: int = self._queue.pop(0)
            return item

    q = SetQueue()
    for item in (1, 2, 1, 3):
        q.put_nowait(item)
    assert q.qsize() == 3
    assert [q.get_nowait() for _ in range(3)] == [1, 2, 3]


# -- the documented examples -------------------------------------------------


def test_producer_consumer_docs_example(io_loop: IOLoop) -> None:
    out: list[str] = []
    q: Queue[int] = Queue(maxsize=2)

    async def consumer() -> None:
        async for item in q:
            try:
                out.append(f"Doing work on {item}")
                await asyncio.sleep(0.001)
            finally:
                q.task_done()

    async def producer() -> None:
        for item in range(5):
            await q.put(item)
            out.append(f"Put {item}")

    async def main() -> None:
        # Start consumer without waiting (since it never finishes).
        task = asyncio.ensure_future(consumer())
        await producer()  # Wait for producer to put all tasks.
        await q.join()  # Wait for consumer to finish all tasks.
        out.append("Done")
        task.cancel()

    run(io_loop, main)
    assert out == [
        "Put 0",
        "Put 1",
        "Doing work on 0",
        "Put 2",
        "Doing work on 1",
        "Put 3",
        "Doing work on 2",
        "Put 4",
        "Doing work on 3",
        "Doing work on 4",
        "Done",
    ]


def test_web_spider_docs_example(io_loop: IOLoop) -> None:
    """The user's guide spider: workers, q.put from workers, join with a timedelta."""
    base_url = "http://example.test/"
    site = {
        base_url: ["a", "b", "http://elsewhere.test/"],
        base_url + "a": ["b", "c"],
        base_url + "b": ["a", ""],
        base_url + "c": ["d"],
        base_url + "d": [],
    }
    concurrency = 3

    async def get_links_from_url(url: str) -> list[str]:
        await asyncio.sleep(0)  # the download
        return [link if "://" in link else base_url + link for link in site.get(url, [])]

    async def main() -> tuple[set[str], set[str]]:
        q: Queue[str] = Queue()
        fetching: set[str] = set()
        fetched: set[str] = set()

        async def fetch_url() -> None:
            current_url = await q.get()
            try:
                if current_url in fetching:
                    return
                fetching.add(current_url)
                urls = await get_links_from_url(current_url)
                fetched.add(current_url)
                for new_url in urls:
                    # Only follow links beneath the base URL
                    if new_url.startswith(base_url):
                        await q.put(new_url)
            finally:
                q.task_done()

        async def worker() -> None:
            while True:
                await fetch_url()

        q.put(base_url)
        # Start workers, then wait for the work queue to be empty.
        workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
        await q.join(timeout=datetime.timedelta(seconds=300))
        for task in workers:
            task.cancel()
        return fetching, fetched

    fetching, fetched = run(io_loop, main)
    assert fetching == fetched
    assert fetched == set(site)


def test_waits_created_before_the_loop_runs(io_loop: IOLoop) -> None:
    # Tornado-era start-up code: queue operations before the loop runs bind
    # their Futures to the current IOLoop's loop.
    q: Queue[int] = Queue(maxsize=1)
    q.put(1)
    putter = q.put(2, timeout=datetime.timedelta(seconds=30))
    getter = LifoQueue[int]().get()
    assert putter.get_loop() is io_loop.asyncio_loop
    assert getter.get_loop() is io_loop.asyncio_loop

    async def main() -> int:
        assert q.get_nowait() == 1
        await putter
        getter.cancel()
        return q.get_nowait()

    assert run(io_loop, main) == 2


def test_producer_consumer_docs_example_gen_coroutine(io_loop: IOLoop) -> None:
    """The 4.5 example as written: @gen.coroutine, spawn_callback, gen.sleep."""
    out: list[str] = []
    q: Queue[int] = Queue(maxsize=2)

    @gen.coroutine
    def consumer() -> Generator[Any, Any, None]:
        while True:
            item = yield q.get()
            try:
                out.append(f"Doing work on {item}")
                yield gen.sleep(0.01)
            finally:
                q.task_done()

    @gen.coroutine
    def producer() -> Generator[Any, Any, None]:
        for item in range(5):
            yield q.put(item)
            out.append(f"Put {item}")

    @gen.coroutine
    def main() -> Generator[Any, Any, None]:
        # Start consumer without waiting (since it never finishes).
        IOLoop.current().spawn_callback(consumer)
        yield producer()  # Wait for producer to put all tasks.
        yield q.join()  # Wait for consumer to finish all tasks.
        out.append("Done")

    io_loop.run_sync(main)
    assert out == [
        "Put 0",
        "Put 1",
        "Doing work on 0",
        "Put 2",
        "Doing work on 1",
        "Put 3",
        "Doing work on 2",
        "Put 4",
        "Doing work on 3",
        "Doing work on 4",
        "Done",
    ]
