"""Tests for squall.gen's deprecated callback-era interface."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Generator
from typing import Any

import pytest

from squall import gen
from squall.concurrent import Future
from squall.ioloop import IOLoop


def call_soon(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    IOLoop.current().add_callback(callback, *args, **kwargs)


def async_add(a: int, b: int, callback: Callable[[int], None]) -> None:
    """A callback-style asynchronous function."""
    call_soon(callback, a + b)


# -- Task and Arguments -------------------------------------------------------


def test_task(io_loop: IOLoop) -> None:
    def no_args(callback: Callable[[], None]) -> None:
        call_soon(callback)

    def many_args(callback: Callable[..., None]) -> None:
        call_soon(callback, 1, 2)

    def keyword_args(callback: Callable[..., None]) -> None:
        call_soon(callback, 1, extra="x")

    def fails(callback: Callable[..., None]) -> None:
        raise OSError("sync failure")

    @gen.coroutine
    def main() -> Generator[Any, Any, list[Any]]:
        with pytest.deprecated_call(match="gen.Task"):
            tasks = [
                gen.Task(async_add, 1, b=2),
                gen.Task(no_args),
                gen.Task(many_args),
                gen.Task(keyword_args),
            ]
        results = yield tasks
        with pytest.deprecated_call():
            failing = gen.Task(fails)
        with pytest.raises(OSError, match="sync failure"):
            yield failing
        return results

    total, nothing, many, keywords = io_loop.run_sync(main)
    assert total == 3
    assert nothing is None
    assert many == gen.Arguments((1, 2), {})
    assert many.args == (1, 2)
    assert keywords.kwargs == {"extra": "x"}
    assert keywords == ((1,), {"extra": "x"})


# -- engine -------------------------------------------------------------------


def test_engine(io_loop: IOLoop) -> None:
    with pytest.deprecated_call(match="gen.engine"):

        @gen.engine
        def add(a: int, b: int, callback: Callable[[int], None]) -> Generator[Any, Any, None]:
            with pytest.deprecated_call():
                result = yield gen.Task(async_add, a, b)
            second = yield asyncio.sleep(0, result=result)
            callback(second)

    assert gen.is_coroutine_function(add)

    @gen.coroutine
    def main() -> Generator[Any, Any, int]:
        with pytest.deprecated_call():
            result = yield gen.Task(add, 2, 3)
        return result

    assert io_loop.run_sync(main) == 5


@pytest.mark.parametrize(
    ("body", "expected"),
    [("raise", ZeroDivisionError), ("return", gen.ReturnValueIgnoredError)],
)
def test_engine_errors_are_logged(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture, body: str, expected: type[Exception]
) -> None:
    with pytest.deprecated_call():

        @gen.engine
        def faulty() -> Generator[Any, Any, int]:
            yield asyncio.sleep(0)
            if body == "raise":
                raise ZeroDivisionError()
            return 5

    async def main() -> None:
        assert faulty() is None
        for _ in range(5):
            await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        io_loop.run_sync(main)
    [record] = [r for r in caplog.records if r.name == "squall.application"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], expected)


# -- Callback, Wait, WaitAll --------------------------------------------------


def test_callback_and_wait(io_loop: IOLoop) -> None:
    @gen.coroutine
    def main() -> Generator[Any, Any, list[Any]]:
        with pytest.deprecated_call():
            callback = yield gen.Callback("k")
        async_add(1, 2, callback=callback)
        with pytest.deprecated_call():
            first = yield gen.Wait("k")

        with pytest.deprecated_call():
            sync_callback = yield gen.Callback("sync")
        sync_callback("called at once", flag=True)  # before the Wait, and with kwargs
        with pytest.deprecated_call():
            second = yield gen.Wait("sync")

        with pytest.deprecated_call():
            a = yield gen.Callback("a")
            b = yield gen.Callback("b")
        call_soon(b, "B")
        call_soon(a)
        with pytest.deprecated_call():
            both = yield gen.WaitAll(["a", "b"])
        return [first, second, both]

    first, second, both = io_loop.run_sync(main)
    assert first == 3
    assert second == gen.Arguments(("called at once",), {"flag": True})
    assert both == [None, "B"]


def test_wait_list_of_waits(io_loop: IOLoop) -> None:
    @gen.coroutine
    def main() -> Generator[Any, Any, Any]:
        with pytest.deprecated_call():
            x = yield gen.Callback("x")
            y = yield gen.Callback("y")
        call_soon(x, "X")
        call_soon(y, "Y")
        future: asyncio.Future[str] = Future()
        call_soon(future.set_result, "F")
        with pytest.deprecated_call():
            results = yield [gen.Wait("x"), gen.Wait("y"), future]
        return results

    assert io_loop.run_sync(main) == ["X", "Y", "F"]


def test_key_errors(io_loop: IOLoop) -> None:
    @gen.coroutine
    def reuse() -> Generator[Any, Any, None]:
        with pytest.deprecated_call():
            yield gen.Callback("same")
            yield gen.Callback("same")

    @gen.coroutine
    def unknown() -> Generator[Any, Any, None]:
        with pytest.deprecated_call():
            yield gen.Wait("never registered")

    @gen.coroutine
    def leaked() -> Generator[Any, Any, None]:
        with pytest.deprecated_call():
            yield gen.Callback("forgotten")

    with pytest.raises(gen.KeyReuseError):
        io_loop.run_sync(reuse)
    with pytest.raises(gen.UnknownKeyError):
        io_loop.run_sync(unknown)
    with pytest.raises(gen.LeakedCallbackError):
        io_loop.run_sync(leaked)


# -- YieldPoint subclasses and MultiYieldPoint --------------------------------


def test_custom_yield_point(io_loop: IOLoop) -> None:
    with pytest.deprecated_call(match="YieldPoint"):

        class Delayed(gen.YieldPoint):
            """Resolves with a value a few loop iterations after start."""

            def __init__(self, value: Any) -> None:
                self.value = value

            def start(self, runner: gen.Runner) -> None:
                self.runner = runner
                runner.register_callback(self)
                call_soon(runner.result_callback(self), self.value)

            def is_ready(self) -> bool:
                return self.runner.is_ready(self)

            def get_result(self) -> Any:
                return self.runner.pop_result(self)

    @gen.coroutine
    def main() -> Generator[Any, Any, list[Any]]:
        one = yield Delayed(1)
        several = yield [Delayed(2), Delayed(3)]
        return [one, several]

    assert io_loop.run_sync(main) == [1, [2, 3]]


def test_base_yield_point_methods_are_abstract() -> None:
    with pytest.deprecated_call():
        point = gen.YieldPoint()
    with pytest.raises(NotImplementedError):
        point.is_ready()
    with pytest.raises(NotImplementedError):
        point.get_result()


def test_multi_yield_point(io_loop: IOLoop, caplog: pytest.LogCaptureFixture) -> None:
    @gen.coroutine
    def main() -> Generator[Any, Any, Any]:
        with pytest.deprecated_call():
            p = yield gen.Callback("p")
        call_soon(p, "P")
        future: asyncio.Future[int] = Future()
        call_soon(future.set_result, 1)
        with pytest.deprecated_call():
            as_dict = yield gen.MultiYieldPoint({"wait": gen.Wait("p"), "future": future})

        bad: asyncio.Future[int] = Future()
        worse: asyncio.Future[int] = Future()
        quiet: asyncio.Future[int] = Future()
        call_soon(bad.set_exception, ValueError("first"))
        call_soon(worse.set_exception, KeyError("logged"))
        call_soon(quiet.set_exception, OSError("quiet"))
        with pytest.deprecated_call():
            multi = gen.MultiYieldPoint([bad, worse, quiet], quiet_exceptions=OSError)
        try:
            yield multi
        except ValueError:
            pass
        return as_dict

    with caplog.at_level(logging.ERROR, logger="squall.application"):
        assert io_loop.run_sync(main) == {"wait": "P", "future": 1}
    records = [r for r in caplog.records if r.name == "squall.application"]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], KeyError)


def test_multi_returns_yield_point_for_yield_point_children() -> None:
    with pytest.deprecated_call():
        wait = gen.Wait("k")
    assert isinstance(gen.multi([wait]), gen.MultiYieldPoint)


def test_cancel_while_waiting_for_yield_point(io_loop: IOLoop) -> None:
    log: list[str] = []

    @gen.coroutine
    def waiting() -> Generator[Any, Any, None]:
        with pytest.deprecated_call():
            yield gen.Callback("never")
        try:
            with pytest.deprecated_call():
                yield gen.Wait("never")
        finally:
            log.append("finally")

    async def main() -> None:
        future = waiting()
        await asyncio.sleep(0)
        future.cancel()
        await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert log == ["finally"]


def test_with_timeout_rejects_yield_points(io_loop: IOLoop) -> None:
    async def main() -> None:
        with pytest.deprecated_call():
            wait = gen.Wait("k")
        with pytest.raises(gen.BadYieldError):
            gen.with_timeout(IOLoop.current().time() + 1, wait)

    io_loop.run_sync(main)
