"""Tests for squall.ioloop.PeriodicCallback.

The schedule itself is checked deterministically: `_update_next` directly,
and a loop whose clock is a fake (`time_func`) that the callbacks advance.
Counting tests wait on futures, never on elapsed time.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from squall.ioloop import IOLoop, PeriodicCallback

WAIT = 10.0


@pytest.fixture
def app_errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    caplog.set_level(logging.ERROR, logger="squall.application")
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    logger = logging.getLogger("squall.application")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def run_until(io_loop: IOLoop, future: asyncio.Future[Any]) -> Any:
    return io_loop.run_sync(lambda: future, timeout=WAIT)


# ----------------------------------------------------------------------
# Construction
# ----------------------------------------------------------------------


@pytest.mark.parametrize("callback_time", [0, -1, -0.5, float("nan")])
def test_callback_time_must_be_positive(callback_time: float) -> None:
    with pytest.raises(ValueError, match="callback_time must be positive"):
        PeriodicCallback(lambda: None, callback_time)


def test_callback_time_as_timedelta() -> None:
    pc = PeriodicCallback(lambda: None, datetime.timedelta(seconds=1.5))
    assert pc.callback_time == 1500
    with pytest.raises(ValueError):
        PeriodicCallback(lambda: None, datetime.timedelta(0))


def test_io_loop_argument_is_deprecated(io_loop: IOLoop) -> None:
    with pytest.deprecated_call(match="io_loop argument of PeriodicCallback"):
        by_keyword = PeriodicCallback(lambda: None, 10, io_loop=io_loop)
    with pytest.deprecated_call():
        # Tornado 4's positional signature: (callback, callback_time, io_loop)
        positional = PeriodicCallback(lambda: None, 10, io_loop)  # type: ignore[arg-type]
    assert by_keyword.io_loop is io_loop
    assert positional.io_loop is io_loop
    assert positional.jitter == 0


def test_not_running_until_started() -> None:
    pc = PeriodicCallback(lambda: None, 10)
    assert not pc.is_running()
    pc.stop()  # harmless
    assert not pc.is_running()


# ----------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------


def test_calls_repeatedly_until_stopped(io_loop: IOLoop) -> None:
    async def main() -> int:
        done = asyncio.get_running_loop().create_future()
        calls = 0

        def callback() -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                pc.stop()
                done.set_result(calls)

        pc = PeriodicCallback(callback, 1)
        pc.start()
        assert pc.is_running()
        result: int = await asyncio.wait_for(done, WAIT)
        assert not pc.is_running()
        # Stopped from inside the callback: nothing more is scheduled.
        assert pc._timeout is None
        return result

    assert io_loop.run_sync(main) == 3


def test_runs_on_the_current_loop_or_the_given_one(io_loop: IOLoop) -> None:
    other = IOLoop(make_current=False)
    try:
        with pytest.deprecated_call():
            pc = PeriodicCallback(other.stop, 1, io_loop=other)
        pc.start()
        other.start()  # returns only if the callback ran on `other`
        pc.stop()
    finally:
        other.close()


def test_stop_from_outside_prevents_further_calls(io_loop: IOLoop) -> None:
    calls: list[int] = []
    pc = PeriodicCallback(lambda: calls.append(1), 1)

    def stop_before_first_run() -> None:
        pc.stop()
        io_loop.call_later(0.01, io_loop.stop)

    io_loop.add_callback(pc.start)
    io_loop.add_callback(stop_before_first_run)
    io_loop.start()
    assert calls == []


def test_start_when_running_does_not_duplicate(io_loop: IOLoop) -> None:
    """Repeated start/stop leaves at most one pending run (no doubled calls)."""
    live: set[object] = set()
    original_call_at = io_loop.call_at
    original_remove = io_loop.remove_timeout

    def call_at(when: float, callback: Any, *args: Any) -> object:
        def run() -> None:
            live.discard(handle)
            callback(*args)

        handle = original_call_at(when, run)
        live.add(handle)
        assert len(live) <= 1, "two runs of the PeriodicCallback pending at once"
        return handle

    def remove_timeout(handle: object) -> None:
        live.discard(handle)
        original_remove(handle)

    io_loop.call_at = call_at  # type: ignore[method-assign]
    io_loop.remove_timeout = remove_timeout  # type: ignore[method-assign]

    async def main() -> None:
        done = asyncio.get_running_loop().create_future()
        calls = 0

        def callback() -> None:
            nonlocal calls
            calls += 1
            if calls == 5:
                done.set_result(None)

        pc = PeriodicCallback(callback, 1)
        for _ in range(3):
            pc.start()
            pc.start()
            pc.stop()
        pc.start()
        await asyncio.wait_for(done, WAIT)
        pc.stop()
        assert live == set()

    io_loop.run_sync(main)


def test_exception_is_logged_and_schedule_goes_on(
    io_loop: IOLoop, app_errors: list[logging.LogRecord]
) -> None:
    async def main() -> None:
        done = asyncio.get_running_loop().create_future()
        calls = 0

        def callback() -> None:
            nonlocal calls
            calls += 1
            if calls == 3:
                pc.stop()
                done.set_result(None)
            raise ValueError(f"call {calls}")

        pc = PeriodicCallback(callback, 1)
        pc.start()
        await asyncio.wait_for(done, WAIT)

    io_loop.run_sync(main)
    assert [str(r.exc_info[1]) for r in app_errors if r.exc_info] == [
        "call 1",
        "call 2",
        "call 3",
    ]
    assert all("Exception in callback" in r.getMessage() for r in app_errors)


# ----------------------------------------------------------------------
# Coroutine callbacks
# ----------------------------------------------------------------------


def test_coroutine_callback_is_awaited_before_the_next_run(io_loop: IOLoop) -> None:
    async def main() -> list[str]:
        done = asyncio.get_running_loop().create_future()
        log: list[str] = []
        active = 0

        async def callback() -> None:
            nonlocal active
            active += 1
            assert active == 1, "runs overlap"
            log.append("begin")
            # While the awaitable runs, no next run is scheduled.
            assert pc._timeout is None
            for _ in range(3):
                await asyncio.sleep(0.002)  # longer than the period
            log.append("end")
            active -= 1
            if len(log) == 6:
                pc.stop()
                done.set_result(log)

        pc = PeriodicCallback(callback, 1)
        pc.start()
        result: list[str] = await asyncio.wait_for(done, WAIT)
        return result

    assert io_loop.run_sync(main) == ["begin", "end"] * 3


def test_coroutine_callback_exception_is_logged(
    io_loop: IOLoop, app_errors: list[logging.LogRecord]
) -> None:
    async def main() -> None:
        done = asyncio.get_running_loop().create_future()
        calls = 0

        async def callback() -> None:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0)
            if calls == 2:
                pc.stop()
                done.set_result(None)
            raise KeyError(calls)

        pc = PeriodicCallback(callback, 1)
        pc.start()
        await asyncio.wait_for(done, WAIT)
        await asyncio.sleep(0)  # let the last done-callback log

    io_loop.run_sync(main)
    errors = [r.exc_info[1] for r in app_errors if r.exc_info]
    assert [type(e) for e in errors] == [KeyError, KeyError]


def test_stop_and_start_while_a_coroutine_runs(io_loop: IOLoop) -> None:
    async def main() -> int:
        done = asyncio.get_running_loop().create_future()
        release = asyncio.Event()
        calls = 0

        async def callback() -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                await release.wait()
            elif calls == 3:
                pc.stop()
                done.set_result(calls)

        pc = PeriodicCallback(callback, 1)
        pc.start()
        while calls == 0:
            await asyncio.sleep(0.001)
        pc.stop()
        # A period long enough that the run start() schedules cannot come
        # while the first one ends (with 1 ms it could, on a busy machine,
        # and replace the timer before its coroutine counted the call).
        pc.callback_time = 60_000
        pc.start()  # schedules a run; the first run's end must not add another
        scheduled = pc._timeout
        release.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert pc._timeout is scheduled
        assert calls == 1
        pc.stop()
        pc.callback_time = 1
        pc.start()
        result: int = await asyncio.wait_for(done, WAIT)
        return result

    assert io_loop.run_sync(main) == 3


# ----------------------------------------------------------------------
# The schedule (deterministic)
# ----------------------------------------------------------------------


def schedule(callback_time: float, next_timeout: float, now: float, jitter: float = 0) -> float:
    pc = PeriodicCallback(lambda: None, callback_time, jitter=jitter)
    pc._next_timeout = next_timeout
    pc._update_next(now)
    return pc._next_timeout


def test_next_run_is_one_period_after_an_on_time_run() -> None:
    assert schedule(1000, next_timeout=100.0, now=100.0) == 101.0


def test_missed_runs_are_skipped_not_bunched() -> None:
    # Due at 100; the callback took until 103.5: runs at 101..103 are
    # skipped and the next is at 104, back on the original grid.
    assert schedule(1000, next_timeout=100.0, now=103.5) == 104.0
    assert schedule(1000, next_timeout=100.0, now=100.999) == 101.0
    assert schedule(250, next_timeout=10.0, now=20.1) == pytest.approx(20.25)


def test_a_clock_that_went_backwards_advances_one_period() -> None:
    assert schedule(1000, next_timeout=100.0, now=50.0) == 101.0


def test_jitter_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    import squall._ioloop._periodic as periodic

    monkeypatch.setattr(periodic.random, "random", lambda: 0.0)
    assert schedule(1000, 0.0, 0.0, jitter=0.5) == pytest.approx(0.75)
    monkeypatch.setattr(periodic.random, "random", lambda: 1.0)
    assert schedule(1000, 0.0, 0.0, jitter=0.5) == pytest.approx(1.25)
    monkeypatch.setattr(periodic.random, "random", lambda: 0.5)
    assert schedule(1000, 0.0, 0.0, jitter=0.5) == pytest.approx(1.0)


def test_jitter_varies_the_interval() -> None:
    intervals = {schedule(1000, 0.0, 0.0, jitter=0.2) for _ in range(20)}
    assert len(intervals) > 1
    assert all(0.9 <= i <= 1.1 for i in intervals)


def test_slow_callback_skips_runs_on_a_real_loop_with_a_fake_clock() -> None:
    """The callbacks move a fake clock; the deadlines that fire are checked."""
    clock = 1000.0
    loop = IOLoop(make_current=False, time_func=lambda: clock)
    try:
        fired: list[float] = []

        def callback() -> None:
            nonlocal clock
            fired.append(pc._next_timeout - start)
            if len(fired) == 1:
                clock += 0.035  # the first run "takes" 3.5 periods
            else:
                clock = pc._next_timeout
            if len(fired) == 3:
                pc.stop()
                loop.stop()

        pc = PeriodicCallback(callback, 10)

        def begin() -> None:
            nonlocal start
            pc.start()
            start = pc._next_timeout - 0.010

        start = 0.0
        loop.add_callback(begin)
        loop.call_later(WAIT, loop.stop)
        loop.start()
        assert fired == pytest.approx([0.010, 0.040, 0.050])
    finally:
        loop.close()
