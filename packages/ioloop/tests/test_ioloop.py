"""Tests for squall.ioloop.IOLoop: the current loop, running and stopping it, callbacks.

Every test runs on the configured backend (asyncio, or uvloop with
SQUALL_IOLOOP=uvloop).  No test measures time: waits are on events and
futures, with generous timeouts that only matter when something is broken.
Futures, timeouts, file descriptors and executors are in
test_ioloop_events.py; the shared fixtures in ioloop_helpers.py.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextvars
import logging
import os
import signal
import sys
import threading
from typing import Any

import pytest
from ioloop_helpers import (
    WAIT,
    app_errors_fixture,  # noqa: F401
    no_current_loop_fixture,  # noqa: F401
)

import squall.util
from squall.ioloop import IOLoop, TimeoutError
from squall.platform.asyncio import AsyncIOLoop, AsyncIOMainLoop

# ----------------------------------------------------------------------
# Module surface
# ----------------------------------------------------------------------


def test_timeout_error_is_squall_util_timeout_error() -> None:
    assert TimeoutError is squall.util.TimeoutError


def test_event_masks() -> None:
    assert (IOLoop.NONE, IOLoop.READ, IOLoop.WRITE, IOLoop.ERROR) == (0, 0x001, 0x004, 0x018)


def test_constructor_gives_configured_class(io_loop: IOLoop) -> None:
    assert isinstance(io_loop, IOLoop.configured_class())
    assert isinstance(io_loop, AsyncIOLoop)
    assert isinstance(io_loop.asyncio_loop, asyncio.AbstractEventLoop)
    assert not io_loop.asyncio_loop.is_closed()
    assert repr(io_loop).startswith(f"<{type(io_loop).__name__} ")


def test_each_ioloop_has_its_own_asyncio_loop() -> None:
    first, second = IOLoop(make_current=False), IOLoop(make_current=False)
    try:
        assert first.asyncio_loop is not second.asyncio_loop
    finally:
        first.close()
        second.close()


# ----------------------------------------------------------------------
# The current loop
# ----------------------------------------------------------------------


def test_new_loop_becomes_current_when_there_is_none() -> None:
    assert IOLoop.current(instance=False) is None
    first = IOLoop()
    second = IOLoop()
    try:
        assert IOLoop.current() is first
        assert IOLoop.current(instance=False) is first
    finally:
        second.close()
        first.close()
    assert IOLoop.current(instance=False) is None


def test_make_current_argument() -> None:
    first = IOLoop()
    forced = IOLoop(make_current=True)
    never = IOLoop(make_current=False)
    try:
        assert IOLoop.current() is forced
    finally:
        never.close()
        forced.close()
        first.close()


def test_current_creates_a_loop_when_asked() -> None:
    assert IOLoop.current(instance=False) is None
    loop = IOLoop.current()
    try:
        assert isinstance(loop, IOLoop.configured_class())
        assert IOLoop.current() is loop
    finally:
        loop.close()
    assert IOLoop.current(instance=False) is None


def test_current_binds_asyncio_objects_created_before_start() -> None:
    # Tornado-era code creates Futures at start-up, before the loop runs.
    loop = IOLoop()
    try:
        future: asyncio.Future[int] = asyncio.Future()
        assert future.get_loop() is loop.asyncio_loop
        loop.add_callback(future.set_result, 3)
        assert loop.run_sync(lambda: future) == 3
    finally:
        loop.close()


def test_current_while_running_is_the_running_loop(io_loop: IOLoop) -> None:
    other = IOLoop(make_current=False)
    try:

        async def main() -> IOLoop:
            return IOLoop.current()

        assert other.run_sync(main) is other
        assert io_loop.run_sync(main) is io_loop
        assert IOLoop.current() is io_loop  # restored after other.run_sync
    finally:
        other.close()


def test_start_makes_the_loop_current_and_restores_the_previous(io_loop: IOLoop) -> None:
    other = IOLoop(make_current=False)
    seen: list[IOLoop | None] = []
    try:

        def look() -> None:
            seen.append(IOLoop.current())
            other.stop()

        other.add_callback(look)
        other.start()
        assert seen == [other]
        assert IOLoop.current() is io_loop
    finally:
        other.close()


def test_current_in_another_thread_is_not_this_threads(io_loop: IOLoop) -> None:
    seen: list[IOLoop | None] = []
    thread = threading.Thread(target=lambda: seen.append(IOLoop.current(instance=False)))
    thread.start()
    thread.join(WAIT)
    assert seen == [None]


def test_current_forgets_a_loop_closed_behind_its_back() -> None:
    loop = IOLoop()
    loop.asyncio_loop.close()
    try:
        assert IOLoop.current(instance=False) is None
    finally:
        loop.close()


def test_current_inside_asyncio_run_wraps_the_running_loop() -> None:
    async def main() -> tuple[IOLoop, IOLoop, asyncio.AbstractEventLoop]:
        return IOLoop.current(), IOLoop.current(instance=False), asyncio.get_running_loop()

    first, again, running = asyncio.run(main())
    assert isinstance(first, AsyncIOMainLoop)
    assert again is first
    assert first.asyncio_loop is running
    # The wrapper did not become the thread's loop once asyncio.run returned.
    assert IOLoop.current(instance=False) is None


def test_wrapper_in_asyncio_run_schedules_on_that_loop() -> None:
    async def main() -> list[str]:
        loop = IOLoop.current()
        done: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        calls: list[str] = []

        def second() -> None:
            calls.append("later")
            done.set_result(calls)

        loop.add_callback(calls.append, "soon")
        loop.call_later(0.001, second)
        return await asyncio.wait_for(done, WAIT)

    assert asyncio.run(main()) == ["soon", "later"]


def test_one_wrapper_per_asyncio_loop_and_a_fresh_one_per_run() -> None:
    async def main() -> IOLoop:
        return IOLoop.current()

    assert asyncio.run(main()) is not asyncio.run(main())


def test_make_current_and_clear_current_are_deprecated() -> None:
    loop = IOLoop(make_current=False)
    try:
        with pytest.deprecated_call(match=r"make_current\(\) is deprecated; use"):
            loop.make_current()
        assert IOLoop.current() is loop
        with pytest.deprecated_call(match=r"clear_current\(\) is deprecated; use"):
            IOLoop.clear_current()
        assert IOLoop.current(instance=False) is None
    finally:
        loop.close()


def test_instance_initialized_install_clear_instance_are_deprecated() -> None:
    loop = IOLoop(make_current=False)
    try:
        with pytest.deprecated_call(match=r"initialized\(\) is deprecated"):
            assert not IOLoop.initialized()
        with pytest.deprecated_call(match=r"install\(\) is deprecated; use IOLoop.configure"):
            loop.install()
        with pytest.deprecated_call(match=r"instance\(\) is deprecated; use IOLoop.current\(\)"):
            assert IOLoop.instance() is loop
        with pytest.deprecated_call(match=r"initialized\(\) is deprecated"):
            assert IOLoop.initialized()
        with pytest.deprecated_call(match=r"clear_instance\(\) is deprecated"):
            IOLoop.clear_instance()
        assert IOLoop.current(instance=False) is None
    finally:
        loop.close()


# ----------------------------------------------------------------------
# start, stop, run_sync, close
# ----------------------------------------------------------------------


def test_start_runs_until_stop(io_loop: IOLoop) -> None:
    calls: list[int] = []

    def first() -> None:
        calls.append(1)
        io_loop.add_callback(second)

    def second() -> None:
        calls.append(2)
        io_loop.stop()

    io_loop.add_callback(first)
    io_loop.start()
    assert calls == [1, 2]


def test_stop_before_start_makes_start_return(io_loop: IOLoop) -> None:
    io_loop.stop()
    io_loop.start()  # returns: otherwise the test times out


def test_start_from_a_stopped_callback_again(io_loop: IOLoop) -> None:
    for _ in range(3):
        io_loop.add_callback(io_loop.stop)
        io_loop.start()


def test_start_while_running_raises(io_loop: IOLoop) -> None:
    def nested() -> None:
        io_loop.start()

    async def main() -> None:
        with pytest.raises(RuntimeError):
            nested()

    io_loop.run_sync(main)


def test_run_sync_plain_function(io_loop: IOLoop) -> None:
    assert io_loop.run_sync(lambda: None) is None


def test_run_sync_coroutine_function(io_loop: IOLoop) -> None:
    async def main() -> str:
        await asyncio.sleep(0)
        return "done"

    assert io_loop.run_sync(main) == "done"


def test_run_sync_function_returning_a_future(io_loop: IOLoop) -> None:
    def main() -> asyncio.Future[int]:
        future = io_loop.asyncio_loop.create_future()
        io_loop.call_later(0.001, future.set_result, 7)
        return future

    assert io_loop.run_sync(main) == 7


def test_run_sync_function_returning_a_concurrent_future(io_loop: IOLoop) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        assert io_loop.run_sync(lambda: executor.submit(sum, [1, 2])) == 3


def test_run_sync_function_returning_a_list(io_loop: IOLoop) -> None:
    async def value(n: int) -> int:
        return n

    assert io_loop.run_sync(lambda: [value(1), value(2)]) == [1, 2]


def test_run_sync_rejects_a_non_yieldable_result(io_loop: IOLoop) -> None:
    from squall.gen import BadYieldError

    with pytest.raises(BadYieldError):
        io_loop.run_sync(lambda: 42)


def test_run_sync_raises_the_functions_exception(io_loop: IOLoop) -> None:
    def sync() -> None:
        raise ZeroDivisionError

    async def asynchronous() -> None:
        await asyncio.sleep(0)
        raise KeyError("k")

    with pytest.raises(ZeroDivisionError):
        io_loop.run_sync(sync)
    with pytest.raises(KeyError):
        io_loop.run_sync(asynchronous)
    assert io_loop.run_sync(lambda: None) is None  # still usable


def test_run_sync_timeout_cancels_the_work(io_loop: IOLoop) -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(WAIT * 10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError, match=r"Operation timed out after 0\.01 seconds"):
        io_loop.run_sync(slow, timeout=0.01)
    assert cancelled.is_set()


def test_run_sync_timeout_on_a_future_that_never_resolves(io_loop: IOLoop) -> None:
    future: asyncio.Future[None] = io_loop.asyncio_loop.create_future()
    with pytest.raises(squall.util.TimeoutError):
        io_loop.run_sync(lambda: future, timeout=0.01)
    assert future.cancelled()


def test_run_sync_timeout_error_is_also_asyncios(io_loop: IOLoop) -> None:
    with pytest.raises(asyncio.TimeoutError):
        io_loop.run_sync(lambda: asyncio.sleep(WAIT * 10), timeout=0.001)


def test_run_sync_does_not_mistake_the_functions_own_timeout(io_loop: IOLoop) -> None:
    async def main() -> None:
        raise builtins.TimeoutError("mine")

    with pytest.raises(builtins.TimeoutError, match="mine") as info:
        io_loop.run_sync(main, timeout=WAIT)
    assert type(info.value) is builtins.TimeoutError


def test_run_sync_with_timeout_returns_the_result(io_loop: IOLoop) -> None:
    async def main() -> int:
        await asyncio.sleep(0)
        return 1

    assert io_loop.run_sync(main, timeout=WAIT) == 1


def test_run_sync_inside_a_running_loop_raises(io_loop: IOLoop) -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError):
            io_loop.run_sync(lambda: None)

    io_loop.run_sync(main)


def test_close_twice_is_harmless() -> None:
    loop = IOLoop()
    loop.close()
    loop.close()
    assert loop.asyncio_loop.is_closed()


def test_close_while_running_raises(io_loop: IOLoop) -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="running"):
            io_loop.close()

    io_loop.run_sync(main)


def test_close_shuts_down_the_default_executor() -> None:
    loop = IOLoop(make_current=False)
    assert loop.run_sync(lambda: loop.run_in_executor(None, sum, [2, 3])) == 5
    executor = loop._executor  # type: ignore[attr-defined]
    loop.close()
    with pytest.raises(RuntimeError):
        executor.submit(sum, [])


# ----------------------------------------------------------------------
# Callbacks
# ----------------------------------------------------------------------


def test_add_callback_passes_arguments_in_order(io_loop: IOLoop) -> None:
    calls: list[tuple[Any, ...]] = []

    def record(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))

    io_loop.add_callback(record, 1, 2, key="value")
    io_loop.add_callback(record)
    io_loop.spawn_callback(record, 3, other=4)
    io_loop.add_callback(io_loop.stop)
    io_loop.start()
    assert calls == [((1, 2), {"key": "value"}), ((), {}), ((3,), {"other": 4})]


def test_add_callback_from_the_loop_runs_on_next_iteration(io_loop: IOLoop) -> None:
    calls: list[str] = []

    async def main() -> None:
        io_loop.add_callback(calls.append, "callback")
        calls.append("caller")
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert calls == ["caller", "callback"]


def test_add_callback_from_ten_threads(io_loop: IOLoop) -> None:
    threads, per_thread = 10, 200
    loop_thread = threading.get_ident()
    seen: list[tuple[int, int]] = []
    wrong_thread: list[int] = []

    async def main() -> None:
        done = asyncio.get_running_loop().create_future()

        def record(thread: int, i: int) -> None:
            if threading.get_ident() != loop_thread:
                wrong_thread.append(thread)
            seen.append((thread, i))
            if len(seen) == threads * per_thread:
                done.set_result(None)

        def produce(thread: int) -> None:
            for i in range(per_thread):
                io_loop.add_callback(record, thread, i)

        workers = [threading.Thread(target=produce, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        await asyncio.wait_for(done, WAIT)
        for worker in workers:
            worker.join(WAIT)

    io_loop.run_sync(main)
    assert not wrong_thread
    assert sorted(seen) == [(t, i) for t in range(threads) for i in range(per_thread)]
    for t in range(threads):  # each thread's callbacks ran in its order
        assert [i for (thread, i) in seen if thread == t] == list(range(per_thread))


def test_add_callback_from_a_thread_wakes_an_idle_loop(io_loop: IOLoop) -> None:
    threading.Timer(0.01, io_loop.add_callback, args=(io_loop.stop,)).start()
    io_loop.start()  # returns only if the thread's callback woke the loop


def test_add_callback_on_a_closed_loop_is_dropped() -> None:
    loop = IOLoop(make_current=False)
    loop.close()
    loop.add_callback(lambda: None)
    loop.add_callback_from_signal(lambda: None)
    errors: list[BaseException] = []

    def from_thread() -> None:
        try:
            loop.add_callback(lambda: None)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=from_thread)
    thread.start()
    thread.join(WAIT)
    assert errors == []


def test_callbacks_run_in_a_copy_of_the_callers_context(io_loop: IOLoop) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[str] = []

    def read_and_change() -> None:
        seen.append(var.get())
        var.set("changed by callback")

    async def main() -> None:
        var.set("caller")
        io_loop.add_callback(read_and_change)
        io_loop.call_later(0, read_and_change)
        io_loop.add_timeout(io_loop.time(), read_and_change)
        for _ in range(5):
            await asyncio.sleep(0)
        seen.append(var.get())

    io_loop.run_sync(main)
    assert seen == ["caller", "caller", "caller", "caller"]


def test_exception_in_callback_is_logged_and_loop_goes_on(
    io_loop: IOLoop, app_errors: list[logging.LogRecord]
) -> None:
    def broken() -> None:
        raise ValueError("boom")

    calls: list[str] = []
    io_loop.add_callback(broken)
    io_loop.call_later(0, broken)
    io_loop.add_callback(calls.append, "after")
    io_loop.call_later(0.01, io_loop.stop)
    io_loop.start()
    assert calls == ["after"]
    records = list(app_errors)
    assert len(records) == 2
    for record in records:
        assert "Exception in callback" in record.getMessage()
        assert "broken" in record.getMessage()
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], ValueError)


def test_coroutine_returned_by_callback_is_scheduled(io_loop: IOLoop) -> None:
    async def main() -> str:
        done = asyncio.get_running_loop().create_future()

        async def callback(value: str) -> None:
            await asyncio.sleep(0)
            done.set_result(value)

        io_loop.add_callback(callback, "ran")
        return await asyncio.wait_for(done, WAIT)

    assert io_loop.run_sync(main) == "ran"


def test_exception_of_coroutine_returned_by_callback_is_logged(
    io_loop: IOLoop, app_errors: list[logging.LogRecord]
) -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise KeyError("from coroutine")

    async def main() -> None:
        io_loop.add_callback(failing)
        io_loop.call_later(0, failing)
        while len(app_errors) < 2:
            await asyncio.sleep(0.001)

    io_loop.run_sync(main, timeout=WAIT)
    for record in app_errors:
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], KeyError)
        assert "failing" in record.getMessage()


def test_failed_future_returned_by_callback_is_logged(
    io_loop: IOLoop, app_errors: list[logging.LogRecord]
) -> None:
    def returns_failed_future() -> asyncio.Future[None]:
        future = io_loop.asyncio_loop.create_future()
        future.set_exception(OSError("future failed"))
        return future

    async def main() -> None:
        io_loop.add_callback(returns_failed_future)
        while not len(app_errors):
            await asyncio.sleep(0.001)

    io_loop.run_sync(main, timeout=WAIT)
    (record,) = app_errors
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], OSError)


def test_plain_return_values_of_callbacks_are_ignored(
    io_loop: IOLoop, app_errors: list[logging.LogRecord]
) -> None:
    io_loop.add_callback(lambda: 42)
    io_loop.add_callback(lambda: [1, 2])
    io_loop.add_callback(io_loop.stop)
    io_loop.start()
    assert not len(app_errors)


def test_handle_callback_exception_can_be_overridden() -> None:
    caught: list[tuple[object, type[BaseException] | None]] = []

    class Reporting(AsyncIOLoop):
        def handle_callback_exception(self, callback: object) -> None:
            caught.append((callback, sys.exc_info()[0]))

    def broken() -> None:
        raise LookupError

    loop = Reporting(make_current=False)
    try:
        loop.add_callback(broken)
        loop.add_callback(loop.stop)
        loop.start()
    finally:
        loop.close()
    assert caught == [(broken, LookupError)]


def test_add_callback_from_signal_in_a_real_signal_handler(io_loop: IOLoop) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="fresh")
    seen: list[tuple[str, str, bool]] = []

    def on_loop(value: str) -> None:
        seen.append((value, var.get(), threading.current_thread() is threading.main_thread()))
        io_loop.stop()

    def handler(signum: int, frame: object) -> None:
        io_loop.add_callback_from_signal(on_loop, f"signal {signum}")

    previous = signal.signal(signal.SIGUSR1, handler)
    try:

        def send() -> None:
            var.set("interrupted code's")
            os.kill(os.getpid(), signal.SIGUSR1)

        io_loop.add_callback(send)
        io_loop.call_later(WAIT, io_loop.stop)
        io_loop.start()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert seen == [(f"signal {signal.SIGUSR1}", "fresh", True)]
