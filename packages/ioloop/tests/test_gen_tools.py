"""Tests for squall.gen's tools: multi, with_timeout, sleep, WaitIterator, convert_yielded."""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import datetime
import logging
from collections.abc import Callable, Generator
from typing import Any

import pytest

from squall import gen, util
from squall.concurrent import Future
from squall.ioloop import IOLoop


def failed(exc: BaseException) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = Future()
    future.set_exception(exc)
    return future


def resolve_later(future: asyncio.Future[Any], value: Any, iterations: int = 1) -> None:
    """Resolve `future` with `value` after a number of loop iterations."""
    loop = asyncio.get_running_loop()
    if iterations <= 1:
        loop.call_soon(future.set_result, value)
    else:
        loop.call_soon(resolve_later, future, value, iterations - 1)


def isort_order(name: str) -> tuple[int, str]:
    """ruff's (RUF022) order: CONSTANTS, then Classes, then functions."""
    if name.isupper() and len(name) > 1:
        return 0, name
    return (1 if name[0].isupper() else 2), name


def test_all_is_sorted_and_complete() -> None:
    assert gen.__all__ == sorted(gen.__all__, key=isort_order)
    public = {
        name
        for name, value in vars(gen).items()
        if not name.startswith("_")
        and not isinstance(value, type(gen))
        and getattr(value, "__module__", "").startswith("squall.")
    }
    assert public == set(gen.__all__)
    assert gen.TimeoutError is util.TimeoutError
    assert issubclass(gen.TimeoutError, builtins.TimeoutError)


# -- multi --------------------------------------------------------------------


def test_multi_list_and_dict(io_loop: IOLoop) -> None:
    async def native(x: int) -> int:
        await asyncio.sleep(0)
        return x

    async def main() -> None:
        first: asyncio.Future[str] = Future()
        second: asyncio.Future[str] = Future()
        resolve_later(first, "one", iterations=3)
        resolve_later(second, "two")
        assert await gen.multi([first, second, native(3)]) == ["one", "two", 3]
        assert await gen.multi({"a": native(1), "b": native(2)}) == {"a": 1, "b": 2}
        assert await gen.multi([]) == []
        assert await gen.multi({}) == {}
        assert gen.Multi is gen.multi

    io_loop.run_sync(main)


def test_multi_of_done_futures_is_done_at_once(io_loop: IOLoop) -> None:
    async def main() -> None:
        done: asyncio.Future[int] = Future()
        done.set_result(1)
        future = gen.multi([done, done])  # the same Future twice
        assert future.done()
        assert future.result() == [1, 1]

    io_loop.run_sync(main)


def test_multi_waits_for_all_then_raises_first_and_logs_others(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        slow: asyncio.Future[int] = Future()
        resolve_later(slow, 5, iterations=3)
        future = gen.multi([failed(ValueError("first")), slow, failed(KeyError("second"))])
        await asyncio.sleep(0)
        assert not future.done()  # still waiting for `slow`
        with pytest.raises(ValueError, match="first"):
            await future

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    records = [r for r in caplog.records if r.name == "squall.application"]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], KeyError)


def test_multi_same_failure_twice_is_not_logged(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        bad = failed(ValueError("once"))
        with pytest.raises(ValueError):
            await gen.multi([bad, bad])

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    assert [r for r in caplog.records if r.name == "squall.application"] == []


def test_multi_quiet_exceptions(io_loop: IOLoop, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        with pytest.raises(ValueError):
            await gen.multi(
                [failed(ValueError()), failed(KeyError()), failed(OSError())],
                quiet_exceptions=(KeyError, OSError),
            )
        with pytest.raises(ValueError):
            await gen.multi_future(
                {"a": failed(ValueError()), "b": failed(KeyError())}, quiet_exceptions=KeyError
            )

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    assert [r for r in caplog.records if r.name == "squall.application"] == []


def test_multi_future(io_loop: IOLoop) -> None:
    async def main() -> None:
        future: asyncio.Future[int] = Future()
        resolve_later(future, 2)
        assert await gen.multi_future([future, gen.sleep(0)]) == [2, None]
        assert await gen.multi_future({"k": future}) == {"k": 2}

    io_loop.run_sync(main)


def test_multi_with_cancelled_child_is_cancelled(io_loop: IOLoop) -> None:
    async def main() -> None:
        child: asyncio.Future[int] = Future()
        future = gen.multi([child])
        child.cancel()
        with pytest.raises(asyncio.CancelledError):
            await future

    io_loop.run_sync(main)


# -- with_timeout and sleep ---------------------------------------------------


def test_with_timeout_success(io_loop: IOLoop) -> None:
    async def main() -> None:
        future: asyncio.Future[str] = Future()
        resolve_later(future, "in time")
        assert await gen.with_timeout(datetime.timedelta(seconds=10), future) == "in time"
        deadline = IOLoop.current().time() + 10
        assert await gen.with_timeout(deadline, gen.sleep(0)) is None

        async def native() -> int:
            return 3

        assert await gen.with_timeout(datetime.timedelta(seconds=10), native()) == 3
        with pytest.raises(ZeroDivisionError):
            await gen.with_timeout(deadline, failed(ZeroDivisionError()))

    io_loop.run_sync(main)


def test_with_timeout_expiry_does_not_cancel(io_loop: IOLoop) -> None:
    async def main() -> None:
        future: asyncio.Future[str] = Future()
        with pytest.raises(util.TimeoutError):
            await gen.with_timeout(IOLoop.current().time(), future)
        assert not future.done()  # not cancelled: Tornado semantics
        future.set_result("late")
        await asyncio.sleep(0)

        with pytest.raises(builtins.TimeoutError):  # also the builtin
            await gen.with_timeout(datetime.timedelta(seconds=0.001), Future())

    io_loop.run_sync(main)


def test_with_timeout_runs_native_coroutine_as_task(io_loop: IOLoop) -> None:
    finished: list[str] = []

    async def slow() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        finished.append("yes")

    async def main() -> None:
        with pytest.raises(gen.TimeoutError):
            await gen.with_timeout(IOLoop.current().time(), slow())
        for _ in range(10):
            await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert finished == ["yes"]


def _late_failure(io_loop: IOLoop, exc: Exception, **kwargs: Any) -> None:
    async def main() -> None:
        future: asyncio.Future[str] = Future()
        with pytest.raises(gen.TimeoutError):
            await gen.with_timeout(IOLoop.current().time(), future, **kwargs)
        future.set_exception(exc)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    io_loop.run_sync(main)


def test_with_timeout_logs_late_failure(io_loop: IOLoop, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="squall.application"):
        _late_failure(io_loop, OSError("late"))
    [record] = [r for r in caplog.records if r.name == "squall.application"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], OSError)


@pytest.mark.parametrize("quiet", [OSError, (KeyError, OSError)])
def test_with_timeout_quiet_exceptions(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture, quiet: Any
) -> None:
    with caplog.at_level(logging.ERROR):
        _late_failure(io_loop, ConnectionError("late"), quiet_exceptions=quiet)
    assert caplog.records == []


def test_with_timeout_quiet_exceptions_as_third_positional_argument(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        future: asyncio.Future[str] = Future()
        with pytest.raises(gen.TimeoutError):
            await gen.with_timeout(IOLoop.current().time(), future, (KeyError,))
        future.set_exception(KeyError("quiet"))
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR):
        io_loop.run_sync(main)  # Tornado 6's signature: no DeprecationWarning either
    assert caplog.records == []


def test_with_timeout_deprecated_io_loop(io_loop: IOLoop) -> None:
    async def main() -> None:
        with pytest.deprecated_call(match="io_loop"):
            future = gen.with_timeout(
                datetime.timedelta(seconds=10), gen.sleep(0), io_loop=IOLoop.current()
            )
        await future

    io_loop.run_sync(main)


def test_sleep(io_loop: IOLoop) -> None:
    async def main() -> None:
        future = gen.sleep(0.001)
        assert isinstance(future, asyncio.Future)
        assert not future.done()
        assert await future is None
        assert await gen.sleep(0) is None
        cancelled = gen.sleep(0.001)
        cancelled.cancel()
        await asyncio.sleep(0.005)  # the timer fires harmlessly

    io_loop.run_sync(main)


# -- WaitIterator -------------------------------------------------------------


def test_wait_iterator_order_and_indexes(io_loop: IOLoop) -> None:
    @gen.coroutine
    def main() -> Generator[Any, Any, list[Any]]:
        futures: list[asyncio.Future[str]] = [Future(), Future(), Future()]
        resolve_later(futures[0], "a", iterations=3)
        resolve_later(futures[1], "b", iterations=1)
        futures[2].set_result("c")  # done before the iterator exists
        waiter = gen.WaitIterator(*futures)
        seen = []
        while not waiter.done():
            result = yield waiter.next()
            assert waiter.current_future is futures[waiter.current_index]
            seen.append((waiter.current_index, result))
        assert waiter.current_index is None
        assert waiter.current_future is None
        return seen

    assert io_loop.run_sync(main) == [(2, "c"), (1, "b"), (0, "a")]


def test_wait_iterator_keywords_and_errors(io_loop: IOLoop) -> None:
    @gen.coroutine
    def main() -> Generator[Any, Any, list[Any]]:
        ok: asyncio.Future[str] = Future()
        bad: asyncio.Future[str] = Future()
        resolve_later(ok, "fine", iterations=2)
        asyncio.get_running_loop().call_soon(bad.set_exception, KeyError("bad"))
        waiter = gen.WaitIterator(ok=ok, bad=bad)
        seen = []
        while not waiter.done():
            try:
                result = yield waiter.next()
            except KeyError:
                seen.append((waiter.current_index, "error"))
            else:
                seen.append((waiter.current_index, result))
        return seen

    assert io_loop.run_sync(main) == [("bad", "error"), ("ok", "fine")]


def test_wait_iterator_async_for(io_loop: IOLoop) -> None:
    async def native(x: int, delay: int) -> int:
        for _ in range(delay):
            await asyncio.sleep(0)
        return x

    async def main() -> list[tuple[Any, int]]:
        waiter = gen.WaitIterator(native(1, 4), native(2, 0), native(3, 2))
        return [(waiter.current_index, result) async for result in waiter]

    assert io_loop.run_sync(main) == [(1, 2), (2, 3), (0, 1)]


def test_wait_iterator_async_for_stops_at_exception(io_loop: IOLoop) -> None:
    async def main() -> list[Any]:
        return [result async for result in gen.WaitIterator(failed(ValueError()), Future())]

    with pytest.raises(ValueError):
        io_loop.run_sync(main)


def test_wait_iterator_empty_and_bad_arguments(io_loop: IOLoop) -> None:
    async def main() -> None:
        assert gen.WaitIterator().done()
        with pytest.raises(ValueError):
            gen.WaitIterator(Future(), key=Future())

    io_loop.run_sync(main)


# -- convert_yielded and maybe_future -----------------------------------------


def test_convert_yielded_builtin_types(io_loop: IOLoop) -> None:
    async def native() -> str:
        return "native"

    async def main() -> None:
        future: asyncio.Future[int] = Future()
        assert gen.convert_yielded(future) is future
        assert await gen.convert_yielded(native()) == "native"
        assert await gen.convert_yielded([gen.sleep(0), native()]) == [None, "native"]
        assert await gen.convert_yielded({"k": native()}) == {"k": "native"}
        moment_future = gen.convert_yielded(gen.moment)
        assert not moment_future.done()
        assert await moment_future is None
        assert await gen.convert_yielded(None) is None
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            assert await gen.convert_yielded(pool.submit(len, "abc")) == 3
        with pytest.raises(gen.BadYieldError):
            gen.convert_yielded(42)

    io_loop.run_sync(main)


class Deferred:
    """A third-party promise type with its own callback interface."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[Any], None]] = []

    def add_callback(self, callback: Callable[[Any], None]) -> None:
        self.callbacks.append(callback)

    def fire(self, value: Any) -> None:
        for callback in self.callbacks:
            callback(value)


@gen.convert_yielded.register(Deferred)
def _(deferred: Deferred) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = Future()
    deferred.add_callback(future.set_result)
    return future


def test_convert_yielded_is_extensible(io_loop: IOLoop) -> None:
    @gen.coroutine
    def main() -> Generator[Any, Any, tuple[Any, Any]]:
        deferred = Deferred()
        asyncio.get_running_loop().call_soon(deferred.fire, "fired")
        one = yield deferred
        other = Deferred()
        asyncio.get_running_loop().call_soon(other.fire, "in a list")
        two = yield [other]
        return one, two

    assert io_loop.run_sync(main) == ("fired", ["in a list"])


def test_maybe_future(io_loop: IOLoop) -> None:
    async def main() -> None:
        future: asyncio.Future[int] = Future()
        assert gen.maybe_future(future) is future
        wrapped = gen.maybe_future(5)
        assert wrapped.done()
        assert await wrapped == 5
        executor_future: concurrent.futures.Future[int] = concurrent.futures.Future()
        assert gen.maybe_future(executor_future) is executor_future

    io_loop.run_sync(main)
