"""Tests for squall.gen.coroutine: the decorator, the Runner and what may be yielded."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import gc
import logging
import traceback
import weakref
from collections.abc import Generator
from typing import Any

import pytest

from squall import gen
from squall.concurrent import Future
from squall.ioloop import IOLoop

var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")


def resolved(value: Any) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = Future()
    future.set_result(value)
    return future


def later(value: Any) -> asyncio.Future[Any]:
    """A Future resolved on the next loop iteration."""
    future: asyncio.Future[Any] = Future()
    future.get_loop().call_soon(future.set_result, value)
    return future


@gen.coroutine
def add_one(x: int) -> Generator[Any, Any, int]:
    y = yield resolved(x)
    return y + 1


@gen.coroutine
def add_one_later(x: int) -> Generator[Any, Any, int]:
    y = yield later(x)
    return y + 1


# -- results and the synchronous fast path ------------------------------------


def test_returns_asyncio_future_usable_with_await(io_loop: IOLoop) -> None:
    async def main() -> tuple[int, int]:
        future = add_one_later(1)
        assert isinstance(future, asyncio.Future)
        return await future, await add_one(10)

    assert io_loop.run_sync(main) == (2, 11)


def test_resolved_yields_complete_synchronously(io_loop: IOLoop) -> None:
    @gen.coroutine
    def chain() -> Generator[Any, Any, int]:
        total = 0
        for i in range(100):
            total += yield add_one(i)
        a, b = yield [add_one(1), resolved(5)]
        d = yield {"x": add_one(2)}
        return total + a + b + d["x"]

    async def main() -> None:
        future = chain()
        assert future.done()  # no loop round trip was needed
        assert future.result() == sum(range(1, 101)) + 2 + 5 + 3

    io_loop.run_sync(main)


def test_nested_coroutines_with_real_waits(io_loop: IOLoop) -> None:
    @gen.coroutine
    def level2(x: int) -> Generator[Any, Any, int]:
        yield gen.sleep(0.001)
        result = yield add_one_later(x)
        return result

    @gen.coroutine
    def level1() -> Generator[Any, Any, list[int]]:
        results = []
        for i in range(3):
            results.append((yield level2(i)))
        return results

    assert io_loop.run_sync(level1) == [1, 2, 3]


def test_return_and_raise_return(io_loop: IOLoop) -> None:
    @gen.coroutine
    def with_return() -> Generator[Any, Any, str]:
        yield later(None)
        raise gen.Return("raised")

    @gen.coroutine
    def early_return() -> Generator[Any, Any, None]:
        yield later(None)
        return None
        yield  # unreachable, makes a generator

    @gen.coroutine
    def return_no_value() -> Generator[Any, Any, None]:
        yield later(None)
        raise gen.Return()

    assert io_loop.run_sync(with_return) == "raised"
    assert io_loop.run_sync(early_return) is None
    assert io_loop.run_sync(return_no_value) is None
    assert gen.Return(3).value == 3
    assert gen.Return().value is None


def test_plain_function(io_loop: IOLoop) -> None:
    @gen.coroutine
    def plain(x: int) -> int:
        return x * 2

    @gen.coroutine
    def plain_return() -> None:
        raise gen.Return("r")

    @gen.coroutine
    def plain_fail() -> None:
        raise KeyError("k")

    async def main() -> None:
        future = plain(2)
        assert future.done()
        assert future.result() == 4
        assert plain_return().result() == "r"
        with pytest.raises(KeyError):
            await plain_fail()

    io_loop.run_sync(main)


def test_bad_arguments_go_into_the_future(io_loop: IOLoop) -> None:
    async def main() -> None:
        future = add_one()  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            await future

    io_loop.run_sync(main)


def test_wraps_and_is_coroutine_function() -> None:
    assert add_one.__name__ == "add_one"
    assert add_one.__wrapped__.__name__ == "add_one"  # type: ignore[attr-defined]
    assert gen.is_coroutine_function(add_one)

    def plain() -> None: ...

    async def native() -> None: ...

    assert not gen.is_coroutine_function(plain)
    assert not gen.is_coroutine_function(native)


# -- exceptions ---------------------------------------------------------------


def test_exceptions_propagate_with_tracebacks(io_loop: IOLoop) -> None:
    @gen.coroutine
    def innermost() -> Generator[Any, Any, None]:
        yield later(None)
        raise ValueError("deep")

    @gen.coroutine
    def middle() -> Generator[Any, Any, None]:
        yield innermost()

    @gen.coroutine
    def outer() -> Generator[Any, Any, None]:
        yield later(None)
        yield middle()

    with pytest.raises(ValueError, match="deep") as info:
        io_loop.run_sync(outer)
    names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "innermost" in names
    assert "middle" in names
    assert "outer" in names
    assert names.index("outer") < names.index("middle") < names.index("innermost")


def test_exception_can_be_caught_in_coroutine(io_loop: IOLoop) -> None:
    @gen.coroutine
    def failing() -> Generator[Any, Any, None]:
        yield later(None)
        raise OSError("io")

    @gen.coroutine
    def catcher() -> Generator[Any, Any, str]:
        try:
            yield failing()
        except OSError as exc:
            return f"caught {exc}"
        return "not caught"

    assert io_loop.run_sync(catcher) == "caught io"


def test_bad_yield(io_loop: IOLoop) -> None:
    @gen.coroutine
    def yields_int() -> Generator[Any, Any, None]:
        yield 42

    @gen.coroutine
    def catches() -> Generator[Any, Any, str]:
        try:
            yield object()
        except gen.BadYieldError as exc:
            return str(exc)
        return ""

    with pytest.raises(gen.BadYieldError, match="42"):
        io_loop.run_sync(yields_int)
    assert "yielded unknown object" in io_loop.run_sync(catches)


def test_unretrieved_exception_is_logged_once(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    @gen.coroutine
    def failing() -> Generator[Any, Any, None]:
        yield later(None)
        raise RuntimeError("forgotten")

    async def main() -> None:
        failing()  # fire and forget, wrongly
        for _ in range(3):
            await asyncio.sleep(0)
        gc.collect()
        await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR):
        io_loop.run_sync(main)
    reports = [
        r
        for r in caplog.records
        if (r.exc_info and isinstance(r.exc_info[1], RuntimeError))
        or "forgotten" in r.getMessage()
    ]
    assert len(reports) == 1


def test_spawn_callback_failure_is_logged_once(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    @gen.coroutine
    def failing() -> Generator[Any, Any, None]:
        yield later(None)
        raise RuntimeError("spawned")

    async def main() -> None:
        IOLoop.current().spawn_callback(failing)
        for _ in range(5):
            await asyncio.sleep(0)
        gc.collect()
        await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR):
        io_loop.run_sync(main)
    reports = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], RuntimeError)]
    assert [r.name for r in reports] == ["squall.application"]


# -- what may be yielded ------------------------------------------------------


def test_yield_list_and_dict(io_loop: IOLoop) -> None:
    async def native(x: int) -> int:
        await asyncio.sleep(0)
        return x * 10

    @gen.coroutine
    def main() -> Generator[Any, Any, tuple[Any, Any, Any, Any]]:
        as_list = yield [add_one_later(1), native(2), resolved(3)]
        as_dict = yield {"a": add_one(1), "b": native(3)}
        empty_list = yield []
        empty_dict = yield {}
        return as_list, as_dict, empty_list, empty_dict

    assert io_loop.run_sync(main) == ([2, 20, 3], {"a": 2, "b": 30}, [], {})


def test_yield_native_coroutine_and_awaitables(io_loop: IOLoop) -> None:
    class Awaitable:
        def __await__(self) -> Generator[Any, None, str]:
            yield from asyncio.sleep(0).__await__()
            return "custom"

    async def native() -> str:
        await asyncio.sleep(0)
        return "native"

    @gen.coroutine
    def main() -> Generator[Any, Any, tuple[str, str, int]]:
        a = yield native()
        b = yield Awaitable()
        c = yield add_one_later(1)
        return a, b, c

    assert io_loop.run_sync(main) == ("native", "custom", 2)


def test_native_coroutine_awaits_gen_coroutine_and_back(io_loop: IOLoop) -> None:
    async def native(x: int) -> int:
        return await add_one_later(x)

    @gen.coroutine
    def decorated(x: int) -> Generator[Any, Any, int]:
        result = yield native(x)
        return result

    async def main() -> int:
        return await decorated(1)

    assert io_loop.run_sync(main) == 2


def test_yield_concurrent_future(io_loop: IOLoop) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:

        @gen.coroutine
        def main() -> Generator[Any, Any, int]:
            result = yield pool.submit(sum, [1, 2, 3])
            return result

        assert io_loop.run_sync(main) == 6


def test_moment_and_none_give_way_for_one_iteration(io_loop: IOLoop) -> None:
    log: list[str] = []

    @gen.coroutine
    def with_moment() -> Generator[Any, Any, None]:
        log.append("a1")
        yield gen.moment
        log.append("a2")

    @gen.coroutine
    def with_none() -> Generator[Any, Any, None]:
        log.append("b1")
        yield None
        log.append("b2")

    async def main() -> None:
        first = with_moment()
        second = with_none()
        assert log == ["a1", "b1"]
        assert not first.done()
        await first
        await second
        assert log == ["a1", "b1", "a2", "b2"]

    io_loop.run_sync(main)


def test_await_moment(io_loop: IOLoop) -> None:
    async def main() -> list[str]:
        log: list[str] = []
        asyncio.get_running_loop().call_soon(log.append, "callback")
        await gen.moment
        log.append("after moment")
        return log

    assert io_loop.run_sync(main) == ["callback", "after moment"]
    assert repr(gen.moment) == "squall.gen.moment"


# -- context variables ----------------------------------------------------------


def test_context_flows_in_but_not_out(io_loop: IOLoop) -> None:
    @gen.coroutine
    def child() -> Generator[Any, Any, str]:
        seen = var.get()
        var.set("child")
        yield later(None)
        return seen + "/" + var.get()

    @gen.coroutine
    def sync_child() -> Generator[Any, Any, str]:
        var.set("sync child")
        yield resolved(None)
        return var.get()

    @gen.coroutine
    def parent() -> Generator[Any, Any, list[str]]:
        var.set("parent")
        results = [(yield child())]
        results.append(var.get())
        results.append((yield sync_child()))
        results.append(var.get())
        yield later(None)
        results.append(var.get())  # kept across a real wait
        return results

    async def main() -> list[str]:
        result = await parent()
        assert var.get() == "unset"
        return result

    assert io_loop.run_sync(main) == ["parent/child", "parent", "sync child", "parent", "parent"]


def test_concurrent_coroutines_have_separate_contexts(io_loop: IOLoop) -> None:
    @gen.coroutine
    def task(name: str) -> Generator[Any, Any, str]:
        var.set(name)
        yield gen.sleep(0.001)
        yield later(None)
        return var.get()

    async def main() -> Any:
        return await gen.multi([task("a"), task("b"), task("c")])

    assert io_loop.run_sync(main) == ["a", "b", "c"]


# -- cancellation -------------------------------------------------------------


def test_cancel_throws_into_generator_and_cancels_awaited(io_loop: IOLoop) -> None:
    log: list[str] = []
    waited: asyncio.Future[None]

    @gen.coroutine
    def worker() -> Generator[Any, Any, None]:
        nonlocal waited
        waited = Future()
        try:
            yield waited
        except asyncio.CancelledError:
            log.append("cancelled")
            raise
        finally:
            log.append("finally")

    async def main() -> None:
        future = worker()
        await asyncio.sleep(0)
        future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await future
        await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert log == ["cancelled", "finally"]
    assert waited.cancelled()


def test_cancel_propagates_down_a_chain(io_loop: IOLoop) -> None:
    log: list[str] = []

    @gen.coroutine
    def leaf() -> Generator[Any, Any, None]:
        try:
            yield Future()
        finally:
            log.append("leaf")

    @gen.coroutine
    def trunk() -> Generator[Any, Any, None]:
        try:
            yield leaf()
        finally:
            log.append("trunk")

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(trunk(), 0.001)
        for _ in range(3):
            await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert sorted(log) == ["leaf", "trunk"]


def test_cancelled_generator_that_keeps_yielding_is_closed(io_loop: IOLoop) -> None:
    log: list[str] = []

    @gen.coroutine
    def stubborn() -> Generator[Any, Any, None]:
        try:
            yield Future()
        except asyncio.CancelledError:
            log.append("ignored cancel")
        try:
            yield Future()
        finally:
            log.append("closed")

    async def main() -> None:
        future = stubborn()
        await asyncio.sleep(0)
        future.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert log == ["ignored cancel", "closed"]


def test_error_after_cancel_is_logged(io_loop: IOLoop, caplog: pytest.LogCaptureFixture) -> None:
    @gen.coroutine
    def bad_cleanup() -> Generator[Any, Any, None]:
        try:
            yield Future()
        finally:
            raise ValueError("cleanup failed")

    async def main() -> None:
        future = bad_cleanup()
        await asyncio.sleep(0)
        future.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    [record] = [r for r in caplog.records if r.name == "squall.application"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


def test_cancel_while_waiting_for_moment(io_loop: IOLoop) -> None:
    log: list[str] = []

    @gen.coroutine
    def looping() -> Generator[Any, Any, None]:
        try:
            while True:
                yield gen.moment
                log.append("tick")
        finally:
            log.append("done")

    async def main() -> None:
        future = looping()
        await asyncio.sleep(0)
        future.cancel()
        for _ in range(3):
            await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert log[-1] == "done"
    assert log.count("done") == 1


def test_future_resolved_by_someone_else_closes_generator(io_loop: IOLoop) -> None:
    log: list[str] = []

    @gen.coroutine
    def worker() -> Generator[Any, Any, str]:
        try:
            yield Future()
        finally:
            log.append("closed")
        return "never"

    async def main() -> Any:
        future = worker()
        await asyncio.sleep(0)
        future.set_result("from outside")
        await asyncio.sleep(0)
        return future.result()

    assert io_loop.run_sync(main) == "from outside"
    assert log == ["closed"]


def test_generator_raising_cancelled_error_cancels_future(io_loop: IOLoop) -> None:
    @gen.coroutine
    def gives_up() -> Generator[Any, Any, None]:
        yield later(None)
        raise asyncio.CancelledError()

    async def main() -> bool:
        future = gives_up()
        with pytest.raises(asyncio.CancelledError):
            await future
        return future.cancelled()

    assert io_loop.run_sync(main) is True


# -- deprecated callback argument ---------------------------------------------


def test_deprecated_callback_argument(io_loop: IOLoop) -> None:
    got: list[int] = []

    async def main() -> None:
        with pytest.deprecated_call(match="callback"):
            future = add_one_later(1, callback=got.append)  # type: ignore[call-arg]
        assert await future == 2
        for _ in range(3):
            await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert got == [2]


def test_declared_callback_parameter_is_passed_through(io_loop: IOLoop) -> None:
    @gen.coroutine
    def takes_callback(callback: Any = None) -> Generator[Any, Any, Any]:
        yield later(None)
        return callback

    marker = object()
    assert io_loop.run_sync(lambda: takes_callback(callback=marker)) is marker


def test_replace_callback_false_passes_callback(io_loop: IOLoop) -> None:
    def takes_anything(**kwargs: Any) -> Any:
        return kwargs

    decorated = gen.coroutine(takes_anything, replace_callback=False)
    assert io_loop.run_sync(lambda: decorated(callback=1)) == {"callback": 1}


# -- memory -------------------------------------------------------------------


def test_failed_coroutines_leave_no_reference_cycles(io_loop: IOLoop) -> None:
    """A failed coroutine's Future is freed by reference counting alone.

    The exception's traceback must not reach the frames that hold the Future
    (squall's own, through ``f_back``), or every failure would wait for the
    garbage collector.
    """

    @gen.coroutine
    def child() -> Generator[Any, Any, None]:
        yield later(None)
        raise ValueError("child")

    @gen.coroutine
    def parent() -> Generator[Any, Any, None]:
        yield child()

    @gen.coroutine
    def sync_child() -> Generator[Any, Any, None]:
        yield resolved(None)
        raise ValueError("sync child")

    @gen.coroutine
    def sync_parent() -> Generator[Any, Any, None]:
        yield sync_child()

    @gen.coroutine
    def plain() -> None:
        raise ValueError("plain")

    async def main() -> list[str]:
        alive = []
        for function in (child, parent, sync_child, sync_parent, plain):
            future = function()
            with pytest.raises(ValueError):
                await future
            ref = weakref.ref(future)
            del future
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            if ref() is not None:
                alive.append(function.__name__)
        return alive

    gc.disable()
    try:
        assert io_loop.run_sync(main) == []
    finally:
        gc.enable()
