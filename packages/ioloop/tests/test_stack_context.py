"""Tests for squall.stack_context, the deprecated callback-era exception contexts."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from squall import stack_context
from squall.stack_context import (
    ExceptionStackContext,
    NullContext,
    StackContext,
    StackContextInconsistentError,
    run_with_stack_context,
    wrap,
)

if TYPE_CHECKING:
    from squall.ioloop import IOLoop

# Everything here is deprecated; the tests that check the warnings use
# pytest.deprecated_call, which records regardless of this filter.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:.* is deprecated. use coroutines:DeprecationWarning"
)

ExcInfo = tuple[type[BaseException] | None, BaseException | None, types.TracebackType | None]


class Recorder:
    """A context factory and exception handlers that log what happens to them."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.handled: list[ExcInfo] = []

    def factory(self, name: str, swallow: bool = False) -> Callable[[], Any]:
        @contextlib.contextmanager
        def context() -> Iterator[None]:
            self.log.append(f"enter {name}")
            try:
                yield
            except Exception as exc:
                self.log.append(f"{name} saw {exc!r}")
                if not swallow:
                    raise
            finally:
                self.log.append(f"exit {name}")

        return context

    def handler(self, name: str, swallow: bool) -> Callable[..., bool]:
        def handle(
            typ: type[BaseException] | None,
            value: BaseException | None,
            tb: types.TracebackType | None,
        ) -> bool:
            self.log.append(f"{name} handled {value!r}")
            self.handled.append((typ, value, tb))
            return swallow

        return handle

    def callback(self, name: str) -> Callable[..., str]:
        def call(*args: Any, **kwargs: Any) -> str:
            self.log.append(f"{name}{args}{kwargs}" if args or kwargs else name)
            return name

        return call


def fail(message: str = "boom") -> Callable[[], None]:
    def failing() -> None:
        raise ValueError(message)

    return failing


@pytest.fixture(autouse=True)
def no_contexts_left_behind() -> Iterator[None]:
    assert stack_context._stack.get() == ()
    yield
    assert stack_context._stack.get() == ()


def test_all_is_sorted_and_complete() -> None:
    assert stack_context.__all__ == sorted(stack_context.__all__)
    public = {
        name
        for name, value in vars(stack_context).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "") == "squall.stack_context"
    }
    assert public == set(stack_context.__all__)


# -- deprecation --------------------------------------------------------------


def test_everything_warns() -> None:
    with pytest.deprecated_call(match="StackContext is deprecated"):
        StackContext(contextlib.nullcontext)
    with pytest.deprecated_call(match="ExceptionStackContext is deprecated"):
        ExceptionStackContext(lambda *exc: False)
    with pytest.deprecated_call(match="NullContext is deprecated"):
        NullContext()
    with pytest.deprecated_call(match="wrap is deprecated"):
        wrap(lambda: None)
    with pytest.deprecated_call(match="run_with_stack_context is deprecated"):
        run_with_stack_context(NullContext(), lambda: None)


def test_deprecation_names_the_replacement_and_caller() -> None:
    with pytest.warns(DeprecationWarning, match="StackContext") as record:
        StackContext(contextlib.nullcontext)
    assert "contextvars" in str(record[0].message)
    assert record[0].filename == __file__


def test_exception_stack_context_delay_warning() -> None:
    recorder = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        context = ExceptionStackContext(recorder.handler("h", True), delay_warning=True)
        with context:
            pass  # no exception: still no warning
    with pytest.deprecated_call(match="ExceptionStackContext"), context:
        raise ValueError("handled")
    assert recorder.log == ["h handled ValueError('handled')"]


def test_wrapped_callable_does_not_warn_when_called() -> None:
    wrapped = wrap(lambda: 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wrapped() == 1


# -- wrap ---------------------------------------------------------------------


def test_wrap_none_and_idempotence() -> None:
    assert wrap(None) is None
    wrapped = wrap(lambda: None)
    assert wrap(wrapped) is wrapped


def test_wrap_passes_arguments_and_result() -> None:
    recorder = Recorder()
    wrapped = wrap(recorder.callback("cb"))
    assert wrapped(1, key=2) == "cb"
    assert recorder.log == ["cb(1,){'key': 2}"]


def test_wrap_without_context_propagates_exceptions() -> None:
    with pytest.raises(ValueError, match="boom"):
        wrap(fail())()


# -- StackContext ---------------------------------------------------------------


def test_stack_context_reenters_around_wrapped_callback() -> None:
    recorder = Recorder()
    with StackContext(recorder.factory("A")):
        recorder.log.append("body")
        callback = wrap(recorder.callback("callback"))
    recorder.log.append("later")
    assert callback() == "callback"
    assert recorder.log == [
        "enter A",
        "body",
        "exit A",
        "later",
        "enter A",
        "callback",
        "exit A",
    ]


def test_stack_context_nested_order() -> None:
    recorder = Recorder()
    with StackContext(recorder.factory("outer")), StackContext(recorder.factory("inner")):
        callback = wrap(recorder.callback("cb"))
    recorder.log.clear()
    callback()
    assert recorder.log == ["enter outer", "enter inner", "cb", "exit inner", "exit outer"]


def test_stack_context_sees_callback_exception() -> None:
    recorder = Recorder()
    with StackContext(recorder.factory("A", swallow=True)):
        callback = wrap(fail())
    recorder.log.clear()
    assert callback() is None  # swallowed by the context manager
    assert recorder.log == ["enter A", "A saw ValueError('boom')", "exit A"]

    with StackContext(recorder.factory("B")):
        callback = wrap(fail())
    with pytest.raises(ValueError, match="boom"):
        callback()


def test_stack_context_body_exception() -> None:
    recorder = Recorder()
    with StackContext(recorder.factory("A", swallow=True)):
        raise ValueError("in body")
    assert recorder.log == ["enter A", "A saw ValueError('in body')", "exit A"]


def test_stack_context_factory_failing_on_enter() -> None:
    recorder = Recorder()

    class Broken(contextlib.AbstractContextManager[None]):
        def __enter__(self) -> None:
            raise KeyError("cannot enter")

        def __exit__(self, *exc_info: object) -> None:  # pragma: no cover
            pass

    with ExceptionStackContext(recorder.handler("outer", True)), StackContext(Broken):
        pass  # pragma: no cover - never reached
    assert recorder.log == ["outer handled KeyError('cannot enter')"]


def test_stack_context_failing_to_reenter_around_callback() -> None:
    recorder = Recorder()
    entries = 0

    @contextlib.contextmanager
    def once() -> Iterator[None]:
        nonlocal entries
        entries += 1
        if entries > 1:
            raise KeyError("cannot enter again")
        yield

    with (
        ExceptionStackContext(recorder.handler("outer", True)),
        StackContext(once),
        StackContext(recorder.factory("inner")),
    ):
        callback = wrap(recorder.callback("callback"))
    recorder.log.clear()
    assert callback() is None
    # The callback and the inner context never ran; the outer handler saw why.
    assert recorder.log == ["outer handled KeyError('cannot enter again')"]


def test_stack_context_deactivation() -> None:
    recorder = Recorder()
    with StackContext(recorder.factory("A")) as deactivate:
        before = wrap(recorder.callback("before"))
        deactivate()
        after = wrap(recorder.callback("after"))
    recorder.log.clear()
    before()
    after()
    # Deactivated: no longer entered around callbacks run from now on.
    assert recorder.log == ["before", "after"]


def test_exit_replacing_the_exception_reaches_outer_handlers() -> None:
    recorder = Recorder()

    @contextlib.contextmanager
    def translating() -> Iterator[None]:
        try:
            yield
        except ValueError as exc:
            raise RuntimeError("translated") from exc

    with ExceptionStackContext(recorder.handler("outer", True)), StackContext(translating):
        callback = wrap(fail())
    recorder.log.clear()
    callback()
    assert recorder.log == ["outer handled RuntimeError('translated')"]


# -- ExceptionStackContext ------------------------------------------------------


def test_exception_stack_context_handles_callback_exception() -> None:
    recorder = Recorder()
    with ExceptionStackContext(recorder.handler("h", True)):
        callback = wrap(fail("late"))
    assert callback() is None
    ((typ, value, tb),) = recorder.handled
    assert typ is ValueError
    assert isinstance(value, ValueError)
    assert str(value) == "late"
    assert isinstance(tb, types.TracebackType)


def test_exception_stack_context_not_swallowing_propagates() -> None:
    recorder = Recorder()
    with ExceptionStackContext(recorder.handler("h", False)):
        callback = wrap(fail())
    with pytest.raises(ValueError, match="boom"):
        callback()
    assert recorder.log == ["h handled ValueError('boom')"]

    with (
        pytest.raises(ValueError, match="body"),
        ExceptionStackContext(recorder.handler("h", False)),
    ):
        raise ValueError("body")


def test_exception_stack_context_not_called_without_exception() -> None:
    recorder = Recorder()
    with ExceptionStackContext(recorder.handler("h", True)):
        callback = wrap(recorder.callback("cb"))
    assert callback() == "cb"
    assert recorder.log == ["cb"]


def test_nested_handlers_innermost_first() -> None:
    recorder = Recorder()
    with ExceptionStackContext(recorder.handler("outer", True)):
        with ExceptionStackContext(recorder.handler("inner", False)):
            passes_on = wrap(fail("one"))
        with ExceptionStackContext(recorder.handler("inner", True)):
            swallows = wrap(fail("two"))
    passes_on()
    swallows()
    assert recorder.log == [
        "inner handled ValueError('one')",
        "outer handled ValueError('one')",
        "inner handled ValueError('two')",
    ]


def test_wrapped_callback_runs_in_its_own_stack_only() -> None:
    recorder = Recorder()
    with ExceptionStackContext(recorder.handler("captured", True)):
        callback = wrap(fail())
    with ExceptionStackContext(recorder.handler("caller", True)):
        callback()
        # Inside the callback, the stack was the captured one; here it is
        # the caller's again.
        probe = wrap(fail("probe"))
    probe()
    assert recorder.log == [
        "captured handled ValueError('boom')",
        "caller handled ValueError('probe')",
    ]


def test_callback_wrapped_without_contexts_escapes_the_callers() -> None:
    recorder = Recorder()
    bare = wrap(lambda: wrap(fail("inner")))
    with ExceptionStackContext(recorder.handler("caller", True)):
        inner = bare()
    assert inner is not None
    with pytest.raises(ValueError, match="inner"):
        inner()  # wrapped inside a callback that had no contexts
    assert recorder.log == []


# -- NullContext ----------------------------------------------------------------


def test_null_context_clears_the_stack() -> None:
    recorder = Recorder()
    with ExceptionStackContext(recorder.handler("h", True)):
        with NullContext():
            unprotected = wrap(fail("unprotected"))
        protected = wrap(fail("protected"))
    with pytest.raises(ValueError, match="unprotected"):
        unprotected()
    protected()
    assert recorder.log == ["h handled ValueError('protected')"]


def test_null_context_restores_on_exception() -> None:
    recorder = Recorder()
    with ExceptionStackContext(recorder.handler("h", True)):
        with pytest.raises(KeyError), NullContext():
            raise KeyError("x")
        callback = wrap(fail())
    callback()
    assert recorder.log == ["h handled ValueError('boom')"]


# -- run_with_stack_context and consistency ----------------------------------------


def test_run_with_stack_context_returns_result() -> None:
    recorder = Recorder()
    assert run_with_stack_context(StackContext(recorder.factory("A")), lambda: 42) == 42
    assert recorder.log == ["enter A", "exit A"]
    result = run_with_stack_context(
        ExceptionStackContext(recorder.handler("h", True)), fail("handled")
    )
    assert result is None
    assert recorder.log[-1] == "h handled ValueError('handled')"


def test_run_with_stack_context_and_coroutine(io_loop: IOLoop) -> None:
    recorder = Recorder()

    async def other_coroutine() -> str:
        await asyncio.sleep(0)
        wrap(recorder.callback("from coroutine"))()
        return "result"

    async def main() -> str:
        return await run_with_stack_context(StackContext(recorder.factory("A")), other_coroutine)

    assert io_loop.run_sync(main) == "result"
    # The coroutine was started as a task inside the context, so its copy of
    # the stack holds the context when it wraps a callback later.
    assert recorder.log == ["enter A", "exit A", "enter A", "from coroutine", "exit A"]


def test_with_block_may_span_await(io_loop: IOLoop) -> None:
    recorder = Recorder()

    async def one(name: str) -> Callable[[], None]:
        with ExceptionStackContext(recorder.handler(name, True)):
            await asyncio.sleep(0)
            callback = wrap(fail(name))
            await asyncio.sleep(0)
        return callback

    async def main() -> list[Callable[[], None]]:
        return list(await asyncio.gather(one("a"), one("b")))

    for callback in io_loop.run_sync(main):
        callback()
    assert recorder.log == ["a handled ValueError('a')", "b handled ValueError('b')"]


def test_inconsistent_exit_raises() -> None:
    outer = StackContext(contextlib.nullcontext)
    inner = StackContext(contextlib.nullcontext)
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(StackContextInconsistentError):
        outer.__exit__(None, None, None)
    assert issubclass(StackContextInconsistentError, Exception)


def test_context_cannot_be_entered_twice_at_once() -> None:
    context = ExceptionStackContext(lambda *exc: False)
    with context, pytest.raises(RuntimeError), context:
        pass  # pragma: no cover


# -- across the event loop and threads --------------------------------------------


def test_wrapped_callback_through_the_ioloop(io_loop: IOLoop) -> None:
    recorder = Recorder()

    async def main() -> None:
        done = asyncio.Event()
        with ExceptionStackContext(recorder.handler("h", True)):
            io_loop.add_callback(wrap(fail("later")))
            io_loop.add_callback(wrap(done.set))
        await done.wait()

    io_loop.run_sync(main)
    assert recorder.log == ["h handled ValueError('later')"]


def test_stack_follows_asyncio_context_copies(io_loop: IOLoop) -> None:
    recorder = Recorder()

    async def child() -> None:
        await asyncio.sleep(0)
        # Created inside the with block: the task copied the stack.
        wrap(fail("in task"))()

    async def main() -> None:
        with ExceptionStackContext(recorder.handler("h", True)):
            task = asyncio.ensure_future(child())
        await task

    io_loop.run_sync(main)
    assert recorder.log == ["h handled ValueError('in task')"]


def test_wrapped_callback_in_another_thread() -> None:
    recorder = Recorder()
    with StackContext(recorder.factory("A")), ExceptionStackContext(recorder.handler("h", True)):
        callback = wrap(fail("in thread"))
    recorder.log.clear()
    thread = threading.Thread(target=callback)
    thread.start()
    thread.join()
    assert recorder.log == [
        "enter A",
        "h handled ValueError('in thread')",
        "exit A",
    ]
