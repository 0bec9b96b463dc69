"""Tests for squall.concurrent."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from squall import concurrent as squall_concurrent
from squall import gen
from squall.concurrent import (
    FUTURES,
    DummyExecutor,
    Future,
    ReturnValueIgnoredError,
    TracebackFuture,
    chain_future,
    dummy_executor,
    future_add_done_callback,
    future_set_exc_info,
    future_set_exception_unless_cancelled,
    future_set_result_unless_cancelled,
    is_future,
    return_future,
    run_on_executor,
)
from squall.ioloop import IOLoop

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@pytest.fixture
def pool() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    executor = concurrent.futures.ThreadPoolExecutor(2)
    yield executor
    executor.shutdown(wait=True)


def isort_order(name: str) -> tuple[int, str]:
    """ruff's (RUF022) order: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


def test_all_is_sorted_and_complete() -> None:
    module = squall_concurrent
    assert module.__all__ == sorted(module.__all__, key=isort_order)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, type(module))
        and getattr(value, "__module__", "").startswith("squall.")
    }
    assert public <= set(module.__all__)
    assert set(module.__all__) - public == {"FUTURES", "Future", "TracebackFuture"}


# -- Future and is_future -----------------------------------------------------


def test_future_is_asyncio_future() -> None:
    assert Future is asyncio.Future
    assert TracebackFuture is asyncio.Future
    assert (asyncio.Future, concurrent.futures.Future) == FUTURES


def test_is_future(io_loop: IOLoop) -> None:
    async def main() -> None:
        assert is_future(Future())
        assert is_future(concurrent.futures.Future())
        task = asyncio.ensure_future(asyncio.sleep(0))
        assert is_future(task)
        await task
        assert not is_future(None)
        assert not is_future(asyncio.sleep(0).close())

    io_loop.run_sync(main)


# -- producer helpers ---------------------------------------------------------


def test_set_result_unless_cancelled(io_loop: IOLoop) -> None:
    async def main() -> None:
        future: asyncio.Future[int] = Future()
        future_set_result_unless_cancelled(future, 1)
        assert future.result() == 1
        cancelled: asyncio.Future[int] = Future()
        cancelled.cancel()
        future_set_result_unless_cancelled(cancelled, 1)  # no InvalidStateError
        assert cancelled.cancelled()

    io_loop.run_sync(main)


def test_set_exception_unless_cancelled(io_loop: IOLoop, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        future: asyncio.Future[int] = Future()
        future_set_exception_unless_cancelled(future, ValueError("boom"))
        with pytest.raises(ValueError, match="boom"):
            future.result()
        cancelled: asyncio.Future[int] = Future()
        cancelled.cancel()
        with caplog.at_level(logging.ERROR, logger="squall.application"):
            future_set_exception_unless_cancelled(cancelled, KeyError("lost"))
        assert cancelled.cancelled()

    io_loop.run_sync(main)
    [record] = [r for r in caplog.records if r.name == "squall.application"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], KeyError)


def test_set_exc_info(io_loop: IOLoop) -> None:
    async def main() -> None:
        future: asyncio.Future[int] = Future()
        try:
            raise ZeroDivisionError("x")
        except ZeroDivisionError:
            future_set_exc_info(future, sys.exc_info())
        exc = future.exception()
        assert isinstance(exc, ZeroDivisionError)
        assert exc.__traceback__ is not None
        with pytest.raises(ValueError):
            future_set_exc_info(Future(), (None, None, None))

    io_loop.run_sync(main)


def test_helpers_accept_concurrent_futures() -> None:
    future: concurrent.futures.Future[int] = concurrent.futures.Future()
    future_set_result_unless_cancelled(future, 3)
    assert future.result() == 3
    failed: concurrent.futures.Future[int] = concurrent.futures.Future()
    future_set_exception_unless_cancelled(failed, OSError("io"))
    assert isinstance(failed.exception(), OSError)


# -- future_add_done_callback -------------------------------------------------


def test_add_done_callback_runs_at_once_when_done(io_loop: IOLoop) -> None:
    async def main() -> None:
        calls: list[Any] = []
        future: asyncio.Future[int] = Future()
        future.set_result(1)
        future_add_done_callback(future, calls.append)
        assert calls == [future]  # before returning, not on the next iteration

        pending: asyncio.Future[int] = Future()
        future_add_done_callback(pending, calls.append)
        pending.set_result(2)
        assert calls == [future]
        await asyncio.sleep(0)
        assert calls == [future, pending]

    io_loop.run_sync(main)


def test_add_done_callback_concurrent_future() -> None:
    calls: list[Any] = []
    future: concurrent.futures.Future[int] = concurrent.futures.Future()
    future_add_done_callback(future, calls.append)
    assert calls == []
    future.set_result(1)
    assert calls == [future]
    future_add_done_callback(future, calls.append)
    assert calls == [future, future]


# -- chain_future -------------------------------------------------------------


def test_chain_future_result_and_exception(io_loop: IOLoop) -> None:
    async def main() -> None:
        a: asyncio.Future[int] = Future()
        b: asyncio.Future[int] = Future()
        chain_future(a, b)
        a.set_result(42)
        assert await b == 42

        c: asyncio.Future[int] = Future()
        d: asyncio.Future[int] = Future()
        chain_future(c, d)
        c.set_exception(KeyError("k"))
        with pytest.raises(KeyError):
            await d
        c.exception()

    io_loop.run_sync(main)


def test_chain_future_done_target_and_cancellation(io_loop: IOLoop) -> None:
    async def main() -> None:
        a: asyncio.Future[int] = Future()
        b: asyncio.Future[int] = Future()
        chain_future(a, b)
        b.set_result(1)  # already done: a's outcome is dropped
        a.set_result(2)
        await asyncio.sleep(0)
        assert b.result() == 1

        c: asyncio.Future[int] = Future()
        d: asyncio.Future[int] = Future()
        chain_future(c, d)
        d.cancel()
        c.set_result(3)
        await asyncio.sleep(0)
        assert d.cancelled()

        e: asyncio.Future[int] = Future()
        f: asyncio.Future[int] = Future()
        chain_future(e, f)
        e.cancel()
        await asyncio.sleep(0)
        assert f.cancelled()

    io_loop.run_sync(main)


def test_chain_future_from_thread(
    io_loop: IOLoop, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    async def main() -> None:
        loop_thread = threading.get_ident()
        seen: list[int] = []
        target: asyncio.Future[int] = Future()
        target.add_done_callback(lambda f: seen.append(threading.get_ident()))
        chain_future(pool.submit(lambda: 7), target)
        assert await target == 7
        assert seen == [loop_thread]

        failing: asyncio.Future[int] = Future()
        chain_future(pool.submit(lambda: 1 // 0), failing)
        with pytest.raises(ZeroDivisionError):
            await failing

    io_loop.run_sync(main)


def test_chain_future_into_concurrent_future(io_loop: IOLoop) -> None:
    async def main() -> None:
        a: asyncio.Future[str] = Future()
        b: concurrent.futures.Future[str] = concurrent.futures.Future()
        chain_future(a, b)
        a.set_result("x")
        await asyncio.sleep(0)
        assert b.result(timeout=0) == "x"

    io_loop.run_sync(main)


# -- DummyExecutor ------------------------------------------------------------


def test_dummy_executor() -> None:
    assert isinstance(dummy_executor, DummyExecutor)
    thread: list[threading.Thread] = []
    future = dummy_executor.submit(lambda x: thread.append(threading.current_thread()) or x, 5)
    assert future.done()
    assert future.result() == 5
    assert thread == [threading.current_thread()]
    failed = dummy_executor.submit(lambda: 1 // 0)
    assert isinstance(failed.exception(), ZeroDivisionError)
    with DummyExecutor() as executor:
        assert executor.submit(str, 1).result() == "1"
    dummy_executor.shutdown()


# -- run_on_executor ----------------------------------------------------------


class Worker:
    def __init__(self, pool: concurrent.futures.Executor) -> None:
        self.executor = pool
        self._other = DummyExecutor()

    @run_on_executor
    def where(self, value: int) -> tuple[int, bool, str]:
        on_other_thread = threading.current_thread() is not threading.main_thread()
        return value, on_other_thread, request_id.get()

    @run_on_executor(executor="_other")
    def on_other(self, value: int) -> tuple[int, threading.Thread]:
        return value * 2, threading.current_thread()

    @run_on_executor
    def fail(self) -> None:
        raise LookupError("nope")

    @run_on_executor
    def set_var(self) -> str:
        request_id.set("changed in thread")
        return request_id.get()


def test_run_on_executor(io_loop: IOLoop, pool: concurrent.futures.ThreadPoolExecutor) -> None:
    worker = Worker(pool)

    async def main() -> None:
        future = worker.where(1)
        assert isinstance(future, asyncio.Future)
        assert await future == (1, True, "-")
        value, thread = await worker.on_other(4)
        assert (value, thread) == (8, threading.current_thread())
        with pytest.raises(LookupError):
            await worker.fail()

    io_loop.run_sync(main)
    assert Worker.where.__name__ == "where"


def test_run_on_executor_context_vars(
    io_loop: IOLoop, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    worker = Worker(pool)

    async def main() -> None:
        request_id.set("req-1")
        assert (await worker.where(0))[2] == "req-1"
        assert await worker.set_var() == "changed in thread"
        assert request_id.get() == "req-1"  # a copy: the caller's is untouched

    io_loop.run_sync(main)


def test_run_on_executor_yielded_from_gen_coroutine(
    io_loop: IOLoop, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    worker = Worker(pool)

    @gen.coroutine
    def main() -> Any:
        results = yield [worker.where(1), worker.where(2)]
        return [r[0] for r in results]

    assert io_loop.run_sync(main) == [1, 2]


def test_run_on_executor_deprecated_callback(
    io_loop: IOLoop, pool: concurrent.futures.ThreadPoolExecutor
) -> None:
    worker = Worker(pool)
    got: list[Any] = []
    done: asyncio.Event

    def callback(result: Any) -> None:
        got.append((result, request_id.get()))
        done.set()

    async def main() -> None:
        nonlocal done
        done = asyncio.Event()
        request_id.set("cb")
        with pytest.deprecated_call(match="callback"):
            future = worker.where(3, callback=callback)
        await future
        await done.wait()

    io_loop.run_sync(main)
    assert got == [((3, True, "cb"), "cb")]


def test_run_on_executor_deprecated_io_loop_argument(io_loop: IOLoop) -> None:
    with pytest.deprecated_call(match="io_loop"):

        class Legacy:
            executor = dummy_executor

            @run_on_executor(io_loop="loop", executor="executor")
            def double(self, x: int) -> int:
                return 2 * x

    assert io_loop.run_sync(lambda: Legacy().double(21)) == 42


# -- return_future (legacy) ---------------------------------------------------


def _legacy(decorate: Callable[[], Any]) -> Any:
    with pytest.deprecated_call(match="return_future"):
        return decorate()


def test_return_future_delivers_callback_argument(io_loop: IOLoop) -> None:
    def define() -> Any:
        @return_future
        def add(a: int, b: int, callback: Callable[[int], None]) -> None:
            IOLoop.current().add_callback(callback, a + b)

        @return_future
        def nothing(callback: Callable[[], None]) -> None:
            callback()

        return add, nothing

    add, nothing = _legacy(define)

    async def main() -> None:
        future = add(1, 2)
        assert isinstance(future, asyncio.Future)
        assert await future == 3
        nothing_future = nothing()
        assert nothing_future.done()  # callback called synchronously
        assert await nothing_future is None

    io_loop.run_sync(main)


def test_return_future_exceptions(io_loop: IOLoop) -> None:
    def define() -> Any:
        @return_future
        def fails(callback: Callable[[int], None]) -> None:
            raise ValueError("early")

        @return_future
        def returns_value(callback: Callable[[int], None]) -> int:
            return 5

        return fails, returns_value

    fails, returns_value = _legacy(define)

    async def main() -> None:
        with pytest.raises(ValueError, match="early"):
            await fails()
        with pytest.raises(ReturnValueIgnoredError):
            await returns_value()

    io_loop.run_sync(main)


def test_return_future_caller_callback(io_loop: IOLoop) -> None:
    def define() -> Any:
        @return_future
        def echo(value: str, callback: Callable[[str], None]) -> None:
            callback(value)

        return echo

    echo = _legacy(define)
    got: list[str] = []

    async def main() -> None:
        future = echo("kw", callback=got.append)
        positional = echo("pos", got.append)
        await future
        await positional
        for _ in range(3):
            await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert sorted(got) == ["kw", "pos"]
