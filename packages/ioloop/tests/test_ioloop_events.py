"""Tests for squall.ioloop.IOLoop: futures, timeouts, file descriptors, executors.

Also the deprecated blocking detection and the generic defaults of the
interface.  Every test runs on the configured backend (asyncio, or uvloop
with SQUALL_IOLOOP=uvloop).  No test measures time: waits are on events and
futures, with generous timeouts that only matter when something is broken.
The shared fixtures are in ioloop_helpers.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ioloop_helpers import (
    WAIT,
    app_errors_fixture,  # noqa: F401
    no_current_loop_fixture,  # noqa: F401
)

from squall.ioloop import IOLoop, PeriodicCallback
from squall.platform.asyncio import AsyncIOLoop, BaseAsyncIOLoop

# ----------------------------------------------------------------------
# Futures
# ----------------------------------------------------------------------


def test_add_future_with_an_asyncio_future(io_loop: IOLoop) -> None:
    future: asyncio.Future[int] = io_loop.asyncio_loop.create_future()
    got: list[asyncio.Future[int]] = []

    def callback(f: asyncio.Future[int]) -> None:
        got.append(f)
        io_loop.stop()

    io_loop.add_future(future, callback)
    io_loop.add_callback(future.set_result, 5)
    io_loop.start()
    assert got == [future]
    assert got[0].result() == 5


def test_add_future_with_an_already_done_future(io_loop: IOLoop) -> None:
    future: asyncio.Future[int] = io_loop.asyncio_loop.create_future()
    future.set_result(1)
    io_loop.add_future(future, lambda f: io_loop.stop())
    io_loop.start()


def test_add_future_with_a_concurrent_future_from_a_thread(io_loop: IOLoop) -> None:
    loop_thread = threading.get_ident()
    got: list[tuple[int, bool]] = []
    release = threading.Event()

    def work() -> int:
        release.wait(WAIT)
        return 9

    def callback(f: concurrent.futures.Future[int]) -> None:
        got.append((f.result(), threading.get_ident() == loop_thread))
        io_loop.stop()

    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        io_loop.add_future(executor.submit(work), callback)
        io_loop.add_callback(release.set)
        io_loop.start()
    assert got == [(9, True)]


def test_add_future_with_a_coroutine_gives_the_task(io_loop: IOLoop) -> None:
    async def value() -> int:
        return 4

    got: list[int] = []

    def callback(f: asyncio.Future[int]) -> None:
        got.append(f.result())
        io_loop.stop()

    io_loop.add_future(value(), callback)
    io_loop.start()
    assert got == [4]


def test_add_future_leaves_the_futures_exception_to_the_callback(
    io_loop: IOLoop, app_errors: list[logging.LogRecord]
) -> None:
    future: asyncio.Future[int] = io_loop.asyncio_loop.create_future()
    got: list[BaseException | None] = []

    def callback(f: asyncio.Future[int]) -> None:
        got.append(f.exception())
        io_loop.stop()

    io_loop.add_future(future, callback)
    future.set_exception(ValueError("in future"))
    io_loop.start()
    assert isinstance(got[0], ValueError)
    assert not len(app_errors)


def test_add_future_logs_an_exception_of_the_callback(
    io_loop: IOLoop, app_errors: list[logging.LogRecord]
) -> None:
    future: asyncio.Future[int] = io_loop.asyncio_loop.create_future()
    future.set_result(1)

    def callback(f: asyncio.Future[int]) -> None:
        io_loop.stop()
        raise RuntimeError("callback broke")

    io_loop.add_future(future, callback)
    io_loop.start()
    (record,) = app_errors
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


# ----------------------------------------------------------------------
# Timeouts
# ----------------------------------------------------------------------


def test_time_is_the_asyncio_loops_clock(io_loop: IOLoop) -> None:
    first = io_loop.time()
    assert isinstance(first, float)
    assert io_loop.time() >= first
    assert abs(io_loop.time() - io_loop.asyncio_loop.time()) < 60


def test_timeouts_run_in_deadline_order(io_loop: IOLoop) -> None:
    # Absolute deadlines first, then relative ones in increasing order: a
    # pause between these lines only moves the relative ones later, so the
    # order holds however slow the machine (and with uvloop's 1 ms timers).
    calls: list[str] = []
    now = io_loop.time()
    io_loop.add_timeout(now + 0.02, calls.append, "add_timeout float")
    io_loop.call_at(now + 0.01, calls.append, "call_at")
    io_loop.add_timeout(datetime.timedelta(seconds=0.04), calls.append, "add_timeout delta")
    io_loop.call_later(0.03, calls.append, "call_later")
    io_loop.call_later(0.05, io_loop.stop)
    io_loop.start()
    assert calls == ["call_at", "add_timeout float", "call_later", "add_timeout delta"]


def test_timeouts_pass_keyword_arguments(io_loop: IOLoop) -> None:
    got: dict[str, Any] = {}
    io_loop.call_later(0, got.update, a=1)
    io_loop.call_at(io_loop.time(), got.update, b=2)
    io_loop.add_timeout(io_loop.time(), got.update, c=3)
    io_loop.call_later(0.01, io_loop.stop)
    io_loop.start()
    assert got == {"a": 1, "b": 2, "c": 3}


def test_past_deadline_runs_at_once(io_loop: IOLoop) -> None:
    io_loop.add_timeout(io_loop.time() - 1000, io_loop.stop)
    io_loop.start()


@pytest.mark.parametrize("deadline", ["1", None, object()])
def test_add_timeout_rejects_other_deadlines(io_loop: IOLoop, deadline: Any) -> None:
    with pytest.raises(TypeError, match="deadline"):
        io_loop.add_timeout(deadline, lambda: None)


def test_remove_timeout(io_loop: IOLoop) -> None:
    calls: list[str] = []
    handles = [
        io_loop.call_later(0, calls.append, "call_later"),
        io_loop.call_at(io_loop.time(), calls.append, "call_at"),
        io_loop.add_timeout(datetime.timedelta(0), calls.append, "add_timeout"),
    ]
    for handle in handles:
        io_loop.remove_timeout(handle)
    kept = io_loop.call_later(0, calls.append, "kept")
    io_loop.call_later(0.002, io_loop.stop)
    io_loop.start()
    assert calls == ["kept"]
    io_loop.remove_timeout(kept)  # already run: harmless
    io_loop.remove_timeout(handles[0])  # twice: harmless


def test_timeout_removed_by_an_earlier_callback(io_loop: IOLoop) -> None:
    calls: list[str] = []
    now = io_loop.time()
    later = io_loop.call_at(now + 0.02, calls.append, "removed")
    io_loop.call_at(now + 0.01, io_loop.remove_timeout, later)
    io_loop.call_at(now + 0.03, io_loop.stop)
    io_loop.start()
    assert calls == []


def test_custom_time_func() -> None:
    # Tornado 4's time_func option: the loop's clock is the given function.
    offset = 1_000_000.0
    loop = IOLoop(make_current=False, time_func=lambda: time.monotonic() + offset)
    try:
        assert loop.time() > offset
        calls: list[str] = []
        now = loop.time()
        loop.call_at(now + 0.01, calls.append, "call_at")
        loop.add_timeout(now, calls.append, "add_timeout")
        loop.call_later(0.02, loop.stop)
        loop.start()
        assert calls == ["add_timeout", "call_at"]
    finally:
        loop.close()


# ----------------------------------------------------------------------
# File descriptors
# ----------------------------------------------------------------------


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    left.setblocking(False)
    right.setblocking(False)
    try:
        yield left, right
    finally:
        left.close()
        right.close()


def test_add_handler_read(io_loop: IOLoop, socket_pair: tuple[socket.socket, ...]) -> None:
    left, right = socket_pair
    events: list[tuple[object, int, bytes]] = []

    def on_read(fd: socket.socket, mask: int) -> None:
        events.append((fd, mask, fd.recv(100)))
        io_loop.stop()

    io_loop.add_handler(left, on_read, IOLoop.READ)
    io_loop.add_callback(right.send, b"ping")
    io_loop.start()
    assert events == [(left, IOLoop.READ, b"ping")]


def test_add_handler_with_an_integer_fd(
    io_loop: IOLoop, socket_pair: tuple[socket.socket, ...]
) -> None:
    left, right = socket_pair
    got: list[tuple[object, int]] = []

    def on_read(fd: int, mask: int) -> None:
        got.append((fd, mask))
        left.recv(100)
        io_loop.remove_handler(fd)
        io_loop.stop()

    io_loop.add_handler(left.fileno(), on_read, IOLoop.READ | IOLoop.ERROR)
    right.send(b"x")
    io_loop.start()
    assert got == [(left.fileno(), IOLoop.READ)]


def test_add_handler_write_then_update_and_remove(
    io_loop: IOLoop, socket_pair: tuple[socket.socket, ...]
) -> None:
    left, right = socket_pair
    events: list[int] = []

    def handler(fd: socket.socket, mask: int) -> None:
        events.append(mask)
        if mask == IOLoop.WRITE:
            fd.send(b"hello")
            # Writable all the time: switch to reading the reply.
            io_loop.update_handler(fd, IOLoop.READ)
            right.send(b"reply")
        else:
            assert fd.recv(100) == b"reply"
            io_loop.remove_handler(fd)
            io_loop.stop()

    io_loop.add_handler(left, handler, IOLoop.WRITE)
    io_loop.start()
    assert events == [IOLoop.WRITE, IOLoop.READ]
    assert right.recv(100) == b"hello"
    assert left.fileno() not in io_loop.handlers  # type: ignore[attr-defined]


def test_update_handler_to_none_silences_it(
    io_loop: IOLoop, socket_pair: tuple[socket.socket, ...]
) -> None:
    left, right = socket_pair
    calls: list[int] = []
    io_loop.add_handler(left, lambda fd, mask: calls.append(mask), IOLoop.READ | IOLoop.WRITE)
    io_loop.update_handler(left, IOLoop.NONE)
    right.send(b"data")
    io_loop.call_later(0.005, io_loop.stop)
    io_loop.start()
    assert calls == []
    io_loop.update_handler(left, IOLoop.READ | IOLoop.WRITE)
    io_loop.update_handler(left, IOLoop.READ | IOLoop.WRITE)  # idempotent
    io_loop.add_callback(io_loop.stop)
    io_loop.start()
    io_loop.remove_handler(left)


def test_update_handler_of_unknown_fd(io_loop: IOLoop) -> None:
    with pytest.raises(KeyError):
        io_loop.update_handler(12345, IOLoop.READ)


def test_remove_handler_of_unknown_fd_is_harmless(io_loop: IOLoop) -> None:
    io_loop.remove_handler(12345)


def test_add_handler_twice_raises(io_loop: IOLoop, socket_pair: tuple[socket.socket, ...]) -> None:
    left, _ = socket_pair
    io_loop.add_handler(left, lambda fd, mask: None, IOLoop.READ)
    with pytest.raises(ValueError, match="added twice"):
        io_loop.add_handler(left.fileno(), lambda fd, mask: None, IOLoop.READ)
    io_loop.remove_handler(left)
    io_loop.add_handler(left, lambda fd, mask: None, IOLoop.READ)  # free again
    io_loop.remove_handler(left)


def test_remove_handler_of_a_socket_closed_first(
    io_loop: IOLoop, socket_pair: tuple[socket.socket, ...]
) -> None:
    left, _ = socket_pair
    io_loop.add_handler(left, lambda fd, mask: None, IOLoop.READ)
    fileno = left.fileno()
    io_loop.remove_handler(fileno)  # asyncio needs the fd open to unregister it
    io_loop.add_handler(left, lambda fd, mask: None, IOLoop.READ)
    left.close()
    io_loop.remove_handler(left)  # fileno() is -1 now: found by identity
    assert fileno not in io_loop.handlers  # type: ignore[attr-defined]


def test_exception_in_handler_is_logged(
    io_loop: IOLoop, socket_pair: tuple[socket.socket, ...], app_errors: list[logging.LogRecord]
) -> None:
    left, right = socket_pair

    def broken(fd: socket.socket, mask: int) -> None:
        fd.recv(100)
        io_loop.stop()
        raise ValueError("handler broke")

    io_loop.add_handler(left, broken, IOLoop.READ)
    right.send(b"x")
    io_loop.start()
    (record,) = app_errors
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)
    io_loop.remove_handler(left)


def test_close_all_fds_closes_registered_objects_and_fds() -> None:
    loop = IOLoop(make_current=False)
    sock_a, sock_b = socket.socketpair()
    read_fd, write_fd = os.pipe()
    try:
        loop.add_handler(sock_a, lambda fd, mask: None, IOLoop.READ)
        loop.add_handler(read_fd, lambda fd, mask: None, IOLoop.READ)
        loop.close(all_fds=True)
        assert sock_a.fileno() == -1
        with pytest.raises(OSError):
            os.fstat(read_fd)
        assert sock_b.fileno() != -1  # never registered
    finally:
        sock_b.close()
        sock_a.close()
        os.close(write_fd)


def test_close_without_all_fds_leaves_them_open(socket_pair: tuple[socket.socket, ...]) -> None:
    left, _ = socket_pair
    loop = IOLoop(make_current=False)
    loop.add_handler(left, lambda fd, mask: None, IOLoop.READ)
    loop.close()
    assert left.fileno() != -1


def test_split_fd_and_close_fd(io_loop: IOLoop) -> None:
    left, right = socket.socketpair()
    read_fd, write_fd = os.pipe()
    assert io_loop.split_fd(left) == (left.fileno(), left)
    assert io_loop.split_fd(read_fd) == (read_fd, read_fd)
    io_loop.close_fd(left)
    io_loop.close_fd(read_fd)
    assert left.fileno() == -1
    with pytest.raises(OSError):
        os.fstat(read_fd)
    io_loop.close_fd(read_fd)  # already closed: ignored
    right.close()
    os.close(write_fd)


# ----------------------------------------------------------------------
# Executors
# ----------------------------------------------------------------------


def test_run_in_executor_default(io_loop: IOLoop) -> None:
    loop_thread = threading.get_ident()

    def work(a: int, b: int) -> tuple[int, int]:
        return a + b, threading.get_ident()

    async def main() -> tuple[int, int]:
        return await io_loop.run_in_executor(None, work, 2, 3)

    total, thread = io_loop.run_sync(main)
    assert total == 5
    assert thread != loop_thread


def test_run_in_executor_exception(io_loop: IOLoop) -> None:
    async def main() -> None:
        await io_loop.run_in_executor(None, int, "not a number")

    with pytest.raises(ValueError):
        io_loop.run_sync(main)


def test_run_in_given_and_default_executor(io_loop: IOLoop) -> None:
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="given") as given:

        async def main() -> list[str]:
            name = lambda: threading.current_thread().name  # noqa: E731
            first = await io_loop.run_in_executor(given, name)
            io_loop.set_default_executor(given)
            second = await io_loop.run_in_executor(None, name)
            return [first, second]

        names = io_loop.run_sync(main)
    assert all(name.startswith("given") for name in names)


def test_set_default_executor_replaces_the_one_created(io_loop: IOLoop) -> None:
    async def main() -> None:
        await io_loop.run_in_executor(None, sum, [])
        created = io_loop._executor  # type: ignore[attr-defined]
        with concurrent.futures.ThreadPoolExecutor(1) as given:
            io_loop.set_default_executor(given)
            assert await io_loop.run_in_executor(None, sum, [1]) == 1
        with pytest.raises(RuntimeError):
            created.submit(sum, [])

    io_loop.run_sync(main)


# ----------------------------------------------------------------------
# Blocking detection (Tornado 4, deprecated)
# ----------------------------------------------------------------------


def test_set_blocking_signal_threshold_reports_a_blocked_loop(io_loop: IOLoop) -> None:
    reported = threading.Event()
    frames: list[Any] = []

    def action(signum: int, frame: Any) -> None:
        frames.append((signum, frame))
        reported.set()

    def blocking_callback() -> None:
        # Blocks the loop until the watchdog reports it (or WAIT passes).
        reported.wait(WAIT)
        io_loop.stop()

    with pytest.deprecated_call(match="set_blocking_signal_threshold"):
        io_loop.set_blocking_signal_threshold(0.02, action)
    io_loop.add_callback(blocking_callback)
    io_loop.start()
    assert reported.is_set()
    signum, frame = frames[0]
    assert signum == signal.SIGALRM
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    assert "blocking_callback" in names
    with pytest.deprecated_call():
        io_loop.set_blocking_signal_threshold(None, None)


def test_set_blocking_log_threshold_logs_the_stack(
    io_loop: IOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="squall.general")
    logged = threading.Event()
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        # caplog's root handler may see the record only after the loop
        # thread has moved on: collect it here, before waking the loop.
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)
            logged.set()

    collect = Collect()
    logging.getLogger("squall.general").addHandler(collect)
    try:

        def blocking_callback() -> None:
            logged.wait(WAIT)
            io_loop.stop()

        with pytest.deprecated_call(match="set_blocking_log_threshold"):
            io_loop.set_blocking_log_threshold(0.02)
        io_loop.add_callback(blocking_callback)
        io_loop.start()
    finally:
        logging.getLogger("squall.general").removeHandler(collect)
    (record,) = records
    assert "blocked" in record.getMessage()
    assert "blocking_callback" in record.getMessage()


# ----------------------------------------------------------------------
# Subclasses and the generic defaults of the interface
# ----------------------------------------------------------------------


def test_interface_methods_of_the_abstract_base() -> None:
    assert issubclass(BaseAsyncIOLoop, IOLoop)

    class Minimal(BaseAsyncIOLoop):
        pass

    raw = asyncio.new_event_loop()
    loop = Minimal(raw, make_current=False)
    try:
        assert loop.asyncio_loop is raw
        loop.add_callback(loop.stop)
        loop.start()
    finally:
        loop.close()
        raw.close()


def test_add_timeout_default_uses_call_at() -> None:
    # A subclass implementing only call_at gets add_timeout and call_later.
    scheduled: list[float] = []

    class OnlyCallAt(AsyncIOLoop):
        def call_at(self, when: float, callback: Any, *args: Any, **kwargs: Any) -> object:
            scheduled.append(when)
            return super().call_at(when, callback, *args, **kwargs)

    loop = OnlyCallAt(make_current=False)
    try:
        now = loop.time()
        loop.add_timeout(now + 5, lambda: None)
        loop.add_timeout(datetime.timedelta(seconds=10), lambda: None)
        IOLoop.call_later(loop, 20, lambda: None)
        assert scheduled[0] == now + 5
        assert scheduled[1] >= now + 10
        assert scheduled[2] >= now + 20
    finally:
        loop.close()


def test_periodic_callback_is_exported() -> None:
    assert PeriodicCallback.__module__ == "squall.ioloop"
    assert IOLoop.__module__ == "squall.ioloop"
