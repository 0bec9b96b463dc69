"""Tests for squall.locks: Condition, Event, Semaphore, BoundedSemaphore, Lock."""

from __future__ import annotations

import asyncio
import builtins
import datetime
import doctest
import types
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

import squall.locks
from squall import gen, locks
from squall.concurrent import Future
from squall.util import TimeoutError

if TYPE_CHECKING:
    from squall.ioloop import IOLoop

SHORT = datetime.timedelta(milliseconds=10)


def run(io_loop: IOLoop, fn: Callable[[], Awaitable[Any]]) -> Any:
    return io_loop.run_sync(fn)


async def turns(n: int = 5) -> None:
    """Let every ready callback and task run a few times."""
    for _ in range(n):
        await asyncio.sleep(0)


def test_all_is_sorted_and_complete() -> None:
    assert locks.__all__ == sorted(locks.__all__)
    public = {
        name
        for name, value in vars(locks).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "") == "squall.locks"
    }
    assert public == set(locks.__all__)


def test_doctests() -> None:
    result = doctest.testmod(squall.locks)
    assert result.attempted > 0
    assert result.failed == 0


def test_bad_timeout_type(io_loop: IOLoop) -> None:
    async def main() -> None:
        with pytest.raises(TypeError):
            locks.Condition().wait(timeout="soon")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            locks.Semaphore(0).acquire(timeout=object())  # type: ignore[arg-type]

    run(io_loop, main)


# -- Condition ----------------------------------------------------------------


def test_condition_docs_example(io_loop: IOLoop) -> None:
    condition = locks.Condition()
    out: list[str] = []

    async def waiter() -> None:
        out.append("I'll wait right here")
        await condition.wait()
        out.append("I'm done waiting")

    async def notifier() -> None:
        out.append("About to notify")
        condition.notify()
        out.append("Done notifying")

    async def runner() -> None:
        await asyncio.gather(waiter(), notifier())

    run(io_loop, runner)
    assert out == [
        "I'll wait right here",
        "About to notify",
        "Done notifying",
        "I'm done waiting",
    ]


def test_condition_wait_returns_future_resolving_true(io_loop: IOLoop) -> None:
    async def main() -> None:
        condition = locks.Condition()
        future = condition.wait()
        assert isinstance(future, Future)
        assert repr(condition) == "<Condition waiters[1]>"
        assert not future.done()
        condition.notify()
        assert await future is True
        assert repr(condition) == "<Condition waiters[0]>"

    run(io_loop, main)


def test_condition_notify_fifo_and_counts(io_loop: IOLoop) -> None:
    async def main() -> None:
        condition = locks.Condition()
        futures = [condition.wait() for _ in range(5)]
        condition.notify()
        assert [f.done() for f in futures] == [True, False, False, False, False]
        condition.notify(2)
        assert [f.done() for f in futures] == [True, True, True, False, False]
        condition.notify(10)  # more than are waiting: wakes the rest
        assert all(f.result() is True for f in futures)
        condition.notify()  # nobody waiting: nothing happens
        condition.notify_all()
        assert repr(condition) == "<Condition waiters[0]>"

    run(io_loop, main)


def test_condition_notify_all(io_loop: IOLoop) -> None:
    async def main() -> None:
        condition = locks.Condition()
        futures = [condition.wait() for _ in range(3)]
        condition.notify_all()
        assert await asyncio.gather(*futures) == [True, True, True]
        later = condition.wait()
        assert not later.done()  # notify_all only wakes those already waiting
        condition.notify_all()
        assert await later is True

    run(io_loop, main)


def test_condition_timeout_timedelta_resolves_false(io_loop: IOLoop) -> None:
    async def main() -> None:
        condition = locks.Condition()
        assert await condition.wait(timeout=SHORT) is False
        assert repr(condition) == "<Condition waiters[0]>"

    run(io_loop, main)


def test_condition_timeout_deadline_resolves_false(io_loop: IOLoop) -> None:
    async def main() -> None:
        condition = locks.Condition()
        assert await condition.wait(timeout=io_loop.time() + 0.01) is False
        assert repr(condition) == "<Condition waiters[0]>"

    run(io_loop, main)


def test_condition_timed_out_waiter_does_not_take_notification(io_loop: IOLoop) -> None:
    async def main() -> None:
        condition = locks.Condition()
        first = condition.wait(timeout=SHORT)
        second = condition.wait()
        assert await first is False
        condition.notify()
        assert await second is True

    run(io_loop, main)


def test_condition_notified_before_timeout_stays_true(io_loop: IOLoop) -> None:
    async def main() -> None:
        condition = locks.Condition()
        future = condition.wait(timeout=SHORT)
        condition.notify()
        assert await future is True
        await asyncio.sleep(SHORT.total_seconds() * 2)  # the timer must not fire
        assert future.result() is True

    run(io_loop, main)


def test_condition_cancelled_waiter_is_skipped(io_loop: IOLoop) -> None:
    async def main() -> None:
        condition = locks.Condition()
        first = condition.wait()
        second = condition.wait()
        assert first.cancel()
        assert repr(condition) == "<Condition waiters[1]>"
        condition.notify()
        assert await second is True

    run(io_loop, main)


def test_condition_cancelled_task_leaves_wait_list(io_loop: IOLoop) -> None:
    async def main() -> None:
        condition = locks.Condition()
        task = asyncio.ensure_future(condition.wait())
        await turns()
        assert repr(condition) == "<Condition waiters[1]>"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert repr(condition) == "<Condition waiters[0]>"

    run(io_loop, main)


def test_condition_wait_for_cancels_waiter(io_loop: IOLoop) -> None:
    async def main() -> None:
        condition = locks.Condition()
        with pytest.raises(builtins.TimeoutError):
            await asyncio.wait_for(condition.wait(), 0.01)
        assert repr(condition) == "<Condition waiters[0]>"

    run(io_loop, main)


# -- Event ------------------------------------------------------------------


def test_event_docs_example(io_loop: IOLoop) -> None:
    event = locks.Event()
    out: list[str] = []

    async def waiter() -> None:
        out.append("Waiting for event")
        await event.wait()
        out.append("Not waiting this time")
        await event.wait()
        out.append("Done")

    async def setter() -> None:
        out.append("About to set the event")
        event.set()

    async def runner() -> None:
        await asyncio.gather(waiter(), setter())

    run(io_loop, runner)
    assert out == ["Waiting for event", "About to set the event", "Not waiting this time", "Done"]


def test_event_set_clear_is_set(io_loop: IOLoop) -> None:
    async def main() -> None:
        event = locks.Event()
        assert not event.is_set()
        assert repr(event) == "<Event clear>"
        event.set()
        assert event.is_set()
        assert repr(event) == "<Event set>"
        event.set()  # setting twice is harmless
        assert event.is_set()
        done = event.wait()
        assert done.done()
        assert done.result() is None
        event.clear()
        assert not event.is_set()
        pending = event.wait()
        assert not pending.done()
        assert repr(event) == "<Event clear waiters[1]>"
        event.set()
        await pending
        assert pending.result() is None

    run(io_loop, main)


def test_event_set_wakes_every_waiter(io_loop: IOLoop) -> None:
    async def main() -> None:
        event = locks.Event()
        futures = [event.wait() for _ in range(4)]
        assert isinstance(futures[0], Future)
        assert not any(f.done() for f in futures)
        event.set()
        assert await asyncio.gather(*futures) == [None] * 4
        assert repr(event) == "<Event set>"

    run(io_loop, main)


@pytest.mark.parametrize("kind", ["timedelta", "deadline"])
def test_event_wait_timeout_raises(io_loop: IOLoop, kind: str) -> None:
    async def main() -> None:
        event = locks.Event()
        timeout: Any = SHORT if kind == "timedelta" else io_loop.time() + 0.01
        future = event.wait(timeout=timeout)
        with pytest.raises(TimeoutError):
            await future
        assert repr(event) == "<Event clear>"  # the expired waiter left
        event.set()
        assert event.wait(timeout=timeout).done()  # set: no wait, no timeout

    run(io_loop, main)


def test_event_timeout_is_builtin_timeout_error(io_loop: IOLoop) -> None:
    async def main() -> None:
        with pytest.raises(builtins.TimeoutError):
            await locks.Event().wait(timeout=SHORT)
        with pytest.raises(asyncio.TimeoutError):
            await locks.Event().wait(timeout=SHORT)
        with pytest.raises(gen.TimeoutError):  # what Tornado's docs name
            await locks.Event().wait(timeout=SHORT)

    run(io_loop, main)


def test_event_cancelling_one_waiter_spares_the_others(io_loop: IOLoop) -> None:
    async def main() -> None:
        event = locks.Event()
        first = event.wait()
        second = event.wait()
        first.cancel()
        assert repr(event) == "<Event clear waiters[1]>"
        event.set()
        await second
        assert second.result() is None
        assert first.cancelled()

    run(io_loop, main)


def test_event_set_before_timeout(io_loop: IOLoop) -> None:
    async def main() -> None:
        event = locks.Event()
        future = event.wait(timeout=SHORT)
        event.set()
        await future
        assert future.result() is None
        await asyncio.sleep(SHORT.total_seconds() * 2)
        assert future.result() is None

    run(io_loop, main)


# -- Semaphore ----------------------------------------------------------------


def test_semaphore_rejects_negative_value() -> None:
    with pytest.raises(ValueError):
        locks.Semaphore(-1)
    with pytest.raises(ValueError):
        locks.BoundedSemaphore(-1)


def test_semaphore_counts(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.Semaphore(2)
        assert repr(sem) == "<Semaphore [unlocked, value:2, waiters:0]>"
        first = sem.acquire()
        second = sem.acquire()
        assert isinstance(first, Future)
        assert first.done()
        assert second.done()
        third = sem.acquire()
        assert not third.done()
        assert repr(sem) == "<Semaphore [locked, value:0, waiters:1]>"
        sem.release()
        await third
        assert repr(sem) == "<Semaphore [locked, value:0, waiters:0]>"
        sem.release()
        sem.release()
        sem.release()  # an unbounded semaphore may exceed its initial value
        assert repr(sem) == "<Semaphore [unlocked, value:3, waiters:0]>"

    run(io_loop, main)


def test_semaphore_default_value_is_one(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.Semaphore()
        assert sem.acquire().done()
        assert not sem.acquire().done()

    run(io_loop, main)


def test_semaphore_zero_blocks_until_release(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.Semaphore(0)
        future = sem.acquire()
        await turns()
        assert not future.done()
        sem.release()
        await future

    run(io_loop, main)


def test_semaphore_fifo(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.Semaphore(0)
        futures = [sem.acquire() for _ in range(3)]
        for i in range(3):
            sem.release()
            assert [f.done() for f in futures] == [j <= i for j in range(3)]
        # A release passes straight to a waiter: a later acquire can't jump in.
        waiting = sem.acquire()
        sem.release()
        assert waiting.done()
        assert not sem.acquire().done()

    run(io_loop, main)


def test_semaphore_docs_example_at_most_two_workers(io_loop: IOLoop) -> None:
    sem = locks.Semaphore(2)
    out: list[str] = []
    active = 0
    most = 0

    async def use_some_resource() -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await turns(3)
        active -= 1

    async def worker(worker_id: int) -> None:
        await sem.acquire()
        try:
            out.append(f"Worker {worker_id} is working")
            await use_some_resource()
        finally:
            out.append(f"Worker {worker_id} is done")
            sem.release()

    async def runner() -> None:
        await asyncio.gather(*(worker(i) for i in range(3)))

    run(io_loop, runner)
    assert most == 2
    assert out[:3] == ["Worker 0 is working", "Worker 1 is working", "Worker 0 is done"]
    assert out.index("Worker 2 is working") > out.index("Worker 0 is done")
    assert sorted(out) == sorted(
        [f"Worker {i} is working" for i in range(3)] + [f"Worker {i} is done" for i in range(3)]
    )


@pytest.mark.parametrize("kind", ["timedelta", "deadline"])
def test_semaphore_acquire_timeout(io_loop: IOLoop, kind: str) -> None:
    async def main() -> None:
        sem = locks.Semaphore(0)
        timeout: Any = SHORT if kind == "timedelta" else io_loop.time() + 0.01
        with pytest.raises(TimeoutError):
            await sem.acquire(timeout=timeout)
        assert repr(sem) == "<Semaphore [locked, value:0, waiters:0]>"
        sem.release()  # not consumed by the expired waiter
        assert repr(sem) == "<Semaphore [unlocked, value:1, waiters:0]>"
        assert sem.acquire(timeout=timeout).done()

    run(io_loop, main)


def test_semaphore_timed_out_waiter_keeps_fifo_for_others(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.Semaphore(0)
        first = sem.acquire()
        expiring = sem.acquire(timeout=SHORT)
        last = sem.acquire()
        with pytest.raises(TimeoutError):
            await expiring
        sem.release()
        sem.release()
        await first
        await last

    run(io_loop, main)


def test_semaphore_cancelled_acquire_takes_nothing(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.Semaphore(0)
        cancelled = sem.acquire()
        waiting = sem.acquire()
        cancelled.cancel()
        sem.release()
        await waiting
        assert cancelled.cancelled()
        assert repr(sem) == "<Semaphore [locked, value:0, waiters:0]>"

    run(io_loop, main)


def test_semaphore_async_with(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.Semaphore(1)
        async with sem:
            assert repr(sem).startswith("<Semaphore [locked")
        assert repr(sem).startswith("<Semaphore [unlocked, value:1")
        with pytest.raises(ZeroDivisionError):
            async with sem:
                1 / 0  # noqa: B018
        assert repr(sem).startswith("<Semaphore [unlocked, value:1")

    run(io_loop, main)


def test_semaphore_acquire_result_is_releasing_context_manager(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.Semaphore(1)
        manager = await sem.acquire()
        with manager:
            assert repr(sem).startswith("<Semaphore [locked")
        assert repr(sem).startswith("<Semaphore [unlocked, value:1")
        # The same holds for an acquire that had to wait.
        held = await sem.acquire()
        waiting = sem.acquire()
        with held:
            pass
        with await waiting:
            assert repr(sem).startswith("<Semaphore [locked")
        assert repr(sem).startswith("<Semaphore [unlocked, value:1")

    run(io_loop, main)


def test_semaphore_plain_with_raises(io_loop: IOLoop) -> None:
    sem = locks.Semaphore()
    with pytest.raises(RuntimeError, match="async with"), sem:
        pass
    with pytest.raises(RuntimeError):
        sem.__exit__(None, None, None)


def test_semaphore_async_with_cancelled_after_handoff_gives_back(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.Semaphore(1)
        await sem.acquire()
        entered = False

        async def user() -> None:
            nonlocal entered
            async with sem:
                entered = True

        task = asyncio.ensure_future(user())
        await turns()
        sem.release()  # hands the unit to the task's waiter ...
        task.cancel()  # ... which is cancelled before it resumes
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not entered
        assert repr(sem) == "<Semaphore [unlocked, value:1, waiters:0]>"

    run(io_loop, main)


def test_semaphore_async_with_cancelled_while_waiting(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.Semaphore(0)

        async def user() -> None:
            async with sem:
                pass

        task = asyncio.ensure_future(user())
        await turns()
        assert repr(sem) == "<Semaphore [locked, value:0, waiters:1]>"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert repr(sem) == "<Semaphore [locked, value:0, waiters:0]>"

    run(io_loop, main)


# -- BoundedSemaphore ------------------------------------------------------


def test_bounded_semaphore_over_release(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.BoundedSemaphore(2)
        assert isinstance(sem, locks.Semaphore)
        with pytest.raises(ValueError):
            sem.release()
        await sem.acquire()
        await sem.acquire()
        waiter = sem.acquire()
        sem.release()  # passes to the waiter
        await waiter
        sem.release()
        sem.release()
        with pytest.raises(ValueError):
            sem.release()
        assert repr(sem) == "<BoundedSemaphore [unlocked, value:2, waiters:0]>"

    run(io_loop, main)


def test_bounded_semaphore_async_with(io_loop: IOLoop) -> None:
    async def main() -> None:
        sem = locks.BoundedSemaphore()
        async with sem:
            with pytest.raises(TimeoutError):
                await sem.acquire(timeout=SHORT)
        with pytest.raises(ValueError):
            sem.release()

    run(io_loop, main)


# -- Lock ---------------------------------------------------------------------


def test_lock_acquire_release(io_loop: IOLoop) -> None:
    async def main() -> None:
        lock = locks.Lock()
        assert repr(lock) == "<Lock unlocked>"
        first = lock.acquire()
        assert isinstance(first, Future)
        assert first.done()
        assert repr(lock) == "<Lock locked>"
        second = lock.acquire()
        assert not second.done()
        assert repr(lock) == "<Lock locked waiters[1]>"
        lock.release()
        await second
        assert repr(lock) == "<Lock locked>"
        lock.release()
        assert repr(lock) == "<Lock unlocked>"

    run(io_loop, main)


def test_lock_release_unlocked_raises(io_loop: IOLoop) -> None:
    async def main() -> None:
        lock = locks.Lock()
        with pytest.raises(RuntimeError):
            lock.release()
        await lock.acquire()
        lock.release()
        with pytest.raises(RuntimeError):
            lock.release()

    run(io_loop, main)


def test_lock_fifo(io_loop: IOLoop) -> None:
    async def main() -> None:
        lock = locks.Lock()
        order: list[int] = []

        async def worker(i: int) -> None:
            async with lock:
                order.append(i)
                await turns(2)

        await asyncio.gather(*(worker(i) for i in range(5)))
        assert order == [0, 1, 2, 3, 4]
        assert repr(lock) == "<Lock unlocked>"

    run(io_loop, main)


def test_lock_async_with_exception_releases(io_loop: IOLoop) -> None:
    async def main() -> None:
        lock = locks.Lock()
        with pytest.raises(KeyError):
            async with lock:
                raise KeyError("x")
        assert repr(lock) == "<Lock unlocked>"

    run(io_loop, main)


def test_lock_acquire_context_manager(io_loop: IOLoop) -> None:
    async def main() -> None:
        lock = locks.Lock()
        with await lock.acquire():
            assert repr(lock) == "<Lock locked>"
        assert repr(lock) == "<Lock unlocked>"
        manager = await lock.acquire()
        lock.release()
        # The lock's own error, not the semaphore's ValueError.
        with pytest.raises(RuntimeError), manager:
            pass

    run(io_loop, main)


def test_lock_plain_with_raises() -> None:
    lock = locks.Lock()
    with pytest.raises(RuntimeError, match="async with"), lock:
        pass
    with pytest.raises(RuntimeError):
        lock.__exit__(None, None, None)


@pytest.mark.parametrize("kind", ["timedelta", "deadline"])
def test_lock_acquire_timeout(io_loop: IOLoop, kind: str) -> None:
    async def main() -> None:
        lock = locks.Lock()
        await lock.acquire()
        timeout: Any = SHORT if kind == "timedelta" else io_loop.time() + 0.01
        with pytest.raises(TimeoutError):
            await lock.acquire(timeout=timeout)
        assert repr(lock) == "<Lock locked>"
        lock.release()
        assert repr(lock) == "<Lock unlocked>"  # not handed to the expired waiter

    run(io_loop, main)


def test_lock_cancelled_task_leaves_queue(io_loop: IOLoop) -> None:
    async def main() -> None:
        lock = locks.Lock()
        await lock.acquire()

        async def user() -> None:
            async with lock:
                pass

        task = asyncio.ensure_future(user())
        await turns()
        assert repr(lock) == "<Lock locked waiters[1]>"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        lock.release()
        assert repr(lock) == "<Lock unlocked>"

    run(io_loop, main)


def test_lock_async_with_cancelled_after_handoff_gives_back(io_loop: IOLoop) -> None:
    async def main() -> None:
        lock = locks.Lock()
        await lock.acquire()

        async def user() -> None:
            async with lock:
                pass

        task = asyncio.ensure_future(user())
        await turns()
        lock.release()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert repr(lock) == "<Lock unlocked>"

    run(io_loop, main)


def test_many_timeouts_leave_no_waiters(io_loop: IOLoop) -> None:
    async def main() -> None:
        lock = locks.Lock()
        condition = locks.Condition()
        event = locks.Event()
        await lock.acquire()
        futures: list[asyncio.Future[Any]] = []
        for i in range(200):
            # Mixed deadlines so that waiters leave from the middle of the list.
            timeout = datetime.timedelta(milliseconds=1 + i % 7)
            futures += [
                lock.acquire(timeout=timeout),
                condition.wait(timeout=timeout),
                event.wait(timeout=timeout),
            ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert all(isinstance(r, TimeoutError) or r is False for r in results)
        assert repr(lock) == "<Lock locked>"
        assert repr(condition) == "<Condition waiters[0]>"
        assert repr(event) == "<Event clear>"

    run(io_loop, main)


# -- Tornado 4 style: @gen.coroutine and ``with (yield x.acquire())`` ------------


def test_condition_docs_example_gen_coroutine(io_loop: IOLoop) -> None:
    condition = locks.Condition()
    out: list[str] = []

    @gen.coroutine
    def waiter() -> Generator[Any, Any, None]:
        out.append("I'll wait right here")
        yield condition.wait()  # Yield a Future.
        out.append("I'm done waiting")

    @gen.coroutine
    def notifier() -> Generator[Any, Any, None]:
        out.append("About to notify")
        condition.notify()
        out.append("Done notifying")
        yield gen.moment

    @gen.coroutine
    def runner() -> Generator[Any, Any, None]:
        # Yield two Futures; wait for waiter() and notifier() to finish.
        yield [waiter(), notifier()]

    io_loop.run_sync(runner)
    assert out == [
        "I'll wait right here",
        "About to notify",
        "Done notifying",
        "I'm done waiting",
    ]


def test_condition_timeout_gen_coroutine(io_loop: IOLoop) -> None:
    condition = locks.Condition()

    @gen.coroutine
    def await_notification() -> Generator[Any, Any, str]:
        if not (yield condition.wait(timeout=SHORT)):
            return "timed out"
        return "condition is true"  # pragma: no cover

    assert io_loop.run_sync(await_notification) == "timed out"


def test_event_docs_example_gen_coroutine(io_loop: IOLoop) -> None:
    event = locks.Event()
    out: list[str] = []

    @gen.coroutine
    def waiter() -> Generator[Any, Any, None]:
        out.append("Waiting for event")
        yield event.wait()
        out.append("Not waiting this time")
        yield event.wait()
        out.append("Done")

    @gen.coroutine
    def setter() -> Generator[Any, Any, None]:
        out.append("About to set the event")
        event.set()
        yield gen.moment

    @gen.coroutine
    def runner() -> Generator[Any, Any, None]:
        yield [waiter(), setter()]

    io_loop.run_sync(runner)
    assert out == ["Waiting for event", "About to set the event", "Not waiting this time", "Done"]


def test_semaphore_with_yield_acquire(io_loop: IOLoop) -> None:
    sem = locks.Semaphore(2)
    out: list[str] = []

    @gen.coroutine
    def worker(worker_id: int) -> Generator[Any, Any, None]:
        with (yield sem.acquire()):
            out.append(f"Worker {worker_id} is working")
            yield gen.moment
        # Now the semaphore has been released.
        out.append(f"Worker {worker_id} is done")

    @gen.coroutine
    def runner() -> Generator[Any, Any, None]:
        yield [worker(i) for i in range(3)]

    io_loop.run_sync(runner)
    assert out[:2] == ["Worker 0 is working", "Worker 1 is working"]
    assert out.index("Worker 2 is working") > out.index("Worker 0 is done")
    assert repr(sem) == "<Semaphore [unlocked, value:2, waiters:0]>"


def test_lock_with_yield_acquire(io_loop: IOLoop) -> None:
    lock = locks.Lock()
    held: list[str] = []

    @gen.coroutine
    def f(name: str) -> Generator[Any, Any, None]:
        with (yield lock.acquire()):
            # Do something holding the lock.
            held.append(f"{name} in")
            yield gen.moment
            held.append(f"{name} holds {lock!r}")
        # Now the lock is released.
        held.append(f"{name} out")

    @gen.coroutine
    def runner() -> Generator[Any, Any, None]:
        yield [f("a"), f("b")]

    io_loop.run_sync(runner)
    assert held == [
        "a in",
        "a holds <Lock locked waiters[1]>",
        "a out",
        "b in",
        "b holds <Lock locked>",
        "b out",
    ]
    assert repr(lock) == "<Lock unlocked>"


def test_lock_acquire_timeout_in_gen_coroutine(io_loop: IOLoop) -> None:
    lock = locks.Lock()

    @gen.coroutine
    def main() -> Generator[Any, Any, None]:
        yield lock.acquire()
        try:
            yield lock.acquire(timeout=io_loop.time() + 0.01)
        except TimeoutError:
            lock.release()
        else:  # pragma: no cover
            raise AssertionError("acquired a held lock")

    io_loop.run_sync(main)
    assert repr(lock) == "<Lock unlocked>"
