"""Tests for squall.platform.asyncio: the IOLoop classes and the asyncio bridge."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator

import pytest

from squall._ioloop import _base
from squall.ioloop import IOLoop
from squall.platform.asyncio import (
    AnyThreadEventLoopPolicy,
    AsyncIOLoop,
    AsyncIOMainLoop,
    BaseAsyncIOLoop,
    to_asyncio_future,
    to_squall_future,
    to_tornado_future,
)

WAIT = 10.0


@pytest.fixture(autouse=True)
def no_current_loop() -> Iterator[None]:
    _base._thread_state.current = None
    yield
    if _base._thread_state.current is not None:
        _base._thread_state.current = None
        asyncio.set_event_loop(None)


def test_class_hierarchy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert issubclass(AsyncIOLoop, BaseAsyncIOLoop)
    assert issubclass(AsyncIOMainLoop, BaseAsyncIOLoop)
    assert issubclass(BaseAsyncIOLoop, IOLoop)
    monkeypatch.delenv("SQUALL_IOLOOP", raising=False)
    assert IOLoop.configurable_default() is AsyncIOLoop
    for cls in (BaseAsyncIOLoop, AsyncIOMainLoop, AsyncIOLoop):
        assert cls.__module__ == "squall.platform.asyncio"


def test_asyncio_loop_owns_a_new_loop_and_closes_it() -> None:
    loop = AsyncIOLoop(make_current=False)
    raw = loop.asyncio_loop
    assert isinstance(raw, asyncio.AbstractEventLoop)
    assert not raw.is_running()
    loop.close()
    assert raw.is_closed()


def test_asyncio_main_loop_in_a_running_loop_does_not_close_it() -> None:
    async def main() -> bool:
        wrapper = IOLoop.current()
        assert isinstance(wrapper, AsyncIOMainLoop)
        assert wrapper.asyncio_loop is asyncio.get_running_loop()
        wrapper.close()  # detaches; the asyncio loop goes on
        await asyncio.sleep(0)
        # A new wrapper is made for the loop once the old one is closed.
        again = IOLoop.current()
        return again is not wrapper and again.asyncio_loop is asyncio.get_running_loop()

    assert asyncio.run(main())


def test_a_second_wrapper_for_the_same_loop_is_refused() -> None:
    async def main() -> None:
        IOLoop.current()
        with pytest.raises(RuntimeError, match="already has an IOLoop"):
            AsyncIOMainLoop()

    asyncio.run(main())


def test_asyncio_main_loop_before_the_loop_runs_tornado4_idiom() -> None:
    """``AsyncIOMainLoop().install()`` then running asyncio's loop forever."""
    raw = asyncio.new_event_loop()
    asyncio.set_event_loop(raw)
    try:
        main_loop = AsyncIOMainLoop()
        with pytest.deprecated_call():
            main_loop.install()
        assert main_loop.asyncio_loop is raw
        assert IOLoop.current() is main_loop
        seen: list[IOLoop] = []

        def callback() -> None:
            seen.append(IOLoop.current())
            raw.stop()

        IOLoop.current().add_callback(callback)
        raw.run_forever()
        assert seen == [main_loop]
        main_loop.close()
        assert not raw.is_closed()
    finally:
        asyncio.set_event_loop(None)
        raw.close()


def test_asyncio_main_loop_without_any_loop_creates_and_sets_one() -> None:
    asyncio.set_event_loop(None)
    done = threading.Event()
    result: list[bool] = []

    def in_thread() -> None:
        # A fresh thread has no asyncio loop at all.
        main_loop = AsyncIOMainLoop()
        try:
            result.append(not main_loop.asyncio_loop.is_closed())
            result.append(main_loop.run_sync(lambda: asyncio.sleep(0, "ok")) == "ok")
        finally:
            main_loop.close()
            main_loop.asyncio_loop.close()
            asyncio.set_event_loop(None)
            done.set()

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(WAIT)
    assert done.is_set()
    assert result == [True, True]


def test_to_tornado_future_is_identity_for_asyncio_futures(io_loop: IOLoop) -> None:
    future: asyncio.Future[int] = io_loop.asyncio_loop.create_future()
    assert to_tornado_future(future) is future
    assert to_squall_future is to_tornado_future


def test_to_asyncio_future_accepts_yieldables(io_loop: IOLoop) -> None:
    async def value(n: int) -> int:
        return n

    async def main() -> list[object]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        future.set_result(1)
        assert to_asyncio_future(future) is future
        with concurrent.futures.ThreadPoolExecutor(1) as executor:
            wrapped = to_asyncio_future(executor.submit(sum, [1, 1]))
            assert asyncio.isfuture(wrapped)
            two = await wrapped
        task = to_asyncio_future(value(3))
        assert isinstance(task, asyncio.Task)
        listed = to_asyncio_future([value(4), value(5)])
        as_squall = to_squall_future(value(6))
        return [await future, two, await task, await listed, await as_squall]

    assert io_loop.run_sync(main) == [1, 2, 3, [4, 5], 6]


def test_to_asyncio_future_outside_a_running_loop(io_loop: IOLoop) -> None:
    async def value() -> int:
        return 8

    task = to_asyncio_future(value())
    assert task.get_loop() is io_loop.asyncio_loop
    assert io_loop.run_sync(lambda: task) == 8


def test_to_asyncio_future_rejects_non_yieldables(io_loop: IOLoop) -> None:
    from squall.gen import BadYieldError

    async def main() -> None:
        with pytest.raises(BadYieldError):
            to_asyncio_future(42)

    io_loop.run_sync(main)


def test_any_thread_event_loop_policy_is_deprecated() -> None:
    with pytest.deprecated_call(match="AnyThreadEventLoopPolicy is deprecated"):
        AnyThreadEventLoopPolicy()


def test_any_thread_event_loop_policy_gives_threads_a_loop() -> None:
    with pytest.deprecated_call():
        policy = AnyThreadEventLoopPolicy()
    got: list[object] = []

    def in_thread() -> None:
        loop = policy.get_event_loop()
        try:
            got.append(policy.get_event_loop() is loop)
            got.append(loop.run_until_complete(asyncio.sleep(0, "ran")))
        finally:
            loop.close()

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(WAIT)
    assert got == [True, "ran"]
