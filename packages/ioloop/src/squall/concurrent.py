"""Utilities for working with Futures and threads.

squall's `Future` *is* `asyncio.Future`: everything that returns a Future
returns an asyncio one, usable with ``await``, ``yield`` (in a
`squall.gen.coroutine`) and every asyncio API.  The helpers below work on
both asyncio futures and the thread-safe `concurrent.futures.Future`, which
coroutines may also yield.

Helpers for producers of Futures (`future_set_result_unless_cancelled`,
`future_set_exception_unless_cancelled`, `future_set_exc_info`) tolerate a
Future that its consumer cancelled meanwhile; `future_add_done_callback`
runs the callback at once when the Future is already done;
`run_on_executor` moves a blocking method onto a thread pool and hands its
outcome back to the event loop; `chain_future` copies one Future's outcome
into another, across threads if need be.

The callback-era decorator `return_future` is kept for old code and warns.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import types
import warnings
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from squall.log import app_log
from squall.util import ArgReplacer as _ArgReplacer

__all__ = [
    "FUTURES",
    "DummyExecutor",
    "Future",
    "ReturnValueIgnoredError",
    "TracebackFuture",
    "chain_future",
    "dummy_executor",
    "future_add_done_callback",
    "future_set_exc_info",
    "future_set_exception_unless_cancelled",
    "future_set_result_unless_cancelled",
    "is_future",
    "return_future",
    "run_on_executor",
]

_T = TypeVar("_T")
_S = TypeVar("_S")
_P = ParamSpec("_P")

#: The Future class used throughout squall: `asyncio.Future` itself.
Future = asyncio.Future

#: Deprecated alias of `Future`, kept because Tornado 4.x documented it.
TracebackFuture = asyncio.Future

#: The Future classes squall accepts wherever a Future is expected.
FUTURES: tuple[type, ...] = (asyncio.Future, concurrent.futures.Future)

_AnyFuture = asyncio.Future[_T] | concurrent.futures.Future[_T]


class ReturnValueIgnoredError(Exception):
    """Raised (into the Future) when a callback-style function returns a value.

    A function decorated with `return_future` (or `squall.gen.engine`)
    must deliver its result through its callback; a non-None return value
    would silently be lost, so it is reported as this error instead.
    """


def is_future(x: Any) -> bool:
    """Return True if `x` is an asyncio or a `concurrent.futures` Future."""
    return isinstance(x, FUTURES)


class DummyExecutor(concurrent.futures.Executor):
    """An executor that runs each function at once, in the calling thread.

    `submit` returns an already-done `concurrent.futures.Future` holding the
    function's result or exception.  Useful where an executor is required
    but the work is cheap (or in tests).
    """

    def submit(
        self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> concurrent.futures.Future[_T]:
        """Call ``fn(*args, **kwargs)`` now; return a done Future of its outcome."""
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to shut down: work never outlives `submit`."""


#: A shared `DummyExecutor`.
dummy_executor = DummyExecutor()


# -- producer helpers --------------------------------------------------------


def future_set_result_unless_cancelled(future: _AnyFuture[_T], value: _T) -> None:
    """Set `future`'s result to `value` unless the Future was cancelled.

    A consumer may cancel a Future it no longer wants; the producer then
    has nobody to deliver to, and ``set_result`` would raise
    `asyncio.InvalidStateError`.  This avoids that race.
    """
    if not future.cancelled():
        future.set_result(value)


def future_set_exception_unless_cancelled(future: _AnyFuture[Any], exc: BaseException) -> None:
    """Set `future`'s exception to `exc` unless the Future was cancelled.

    If the Future was cancelled the exception has no consumer, so it is
    logged to ``squall.application`` (with its traceback) rather than lost.
    """
    if not future.cancelled():
        future.set_exception(exc)
    else:
        app_log.error("Exception after Future was cancelled", exc_info=exc)


def future_set_exc_info(
    future: _AnyFuture[Any],
    exc_info: tuple[type[BaseException] | None, BaseException | None, types.TracebackType | None],
) -> None:
    """Set `future`'s exception from a `sys.exc_info` triple.

    Kept for code written against Tornado's ``Future.set_exc_info``; the
    traceback travels on the exception itself in Python 3.  Behaves like
    `future_set_exception_unless_cancelled`.

    :raises ValueError: if the triple holds no exception.
    """
    if exc_info[1] is None:
        raise ValueError("future_set_exc_info called with no exception")
    future_set_exception_unless_cancelled(future, exc_info[1])


@overload
def future_add_done_callback(
    future: concurrent.futures.Future[_T],
    callback: Callable[[concurrent.futures.Future[_T]], object],
) -> None: ...


@overload
def future_add_done_callback(
    future: asyncio.Future[_T], callback: Callable[[asyncio.Future[_T]], object]
) -> None: ...


def future_add_done_callback(future: Any, callback: Callable[[Any], object]) -> None:
    """Arrange for ``callback(future)`` to be called when `future` is done.

    Unlike ``Future.add_done_callback`` (which, for asyncio futures, always
    goes through the event loop), the callback runs *immediately*, before
    this function returns, if the Future is already done.  Otherwise it runs
    when the Future completes: on the event loop for asyncio futures, in the
    completing thread for `concurrent.futures` ones.
    """
    if future.done():
        callback(future)
    else:
        future.add_done_callback(callback)


def _copy_outcome(source: _AnyFuture[Any], target: _AnyFuture[Any]) -> None:
    """Copy the outcome of the done `source` into `target` unless it is done."""
    if target.done():
        return
    if source.cancelled():
        target.cancel()
        return
    exc = source.exception()
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())


def chain_future(a: _AnyFuture[_T], b: _AnyFuture[_T]) -> None:
    """Chain two futures so that when `a` completes, so does `b`.

    The result, exception or cancellation of `a` is copied to `b`, unless
    `b` is already done (or cancelled) by then.  Either may be an asyncio or
    a `concurrent.futures` Future.  When `b` is an asyncio Future the copy
    always happens on `b`'s event loop (through ``call_soon_threadsafe``), so
    `a` may be completed by another thread.
    """
    if isinstance(b, asyncio.Future):
        loop = b.get_loop()
        if isinstance(a, asyncio.Future) and a.get_loop() is loop:
            future_add_done_callback(a, lambda a: _copy_outcome(a, b))
            return

        def hand_over(a: _AnyFuture[_T]) -> None:
            try:
                loop.call_soon_threadsafe(_copy_outcome, a, b)
            except RuntimeError:
                # b's loop is closed: nobody can be waiting on b any more.
                pass

        future_add_done_callback(a, hand_over)
    else:
        future_add_done_callback(a, lambda a: _copy_outcome(a, b))


# -- run_on_executor ----------------------------------------------------------


def _deprecated(what: str, instead: str, stacklevel: int = 3) -> None:
    warnings.warn(
        f"{what} is deprecated; use {instead} instead", DeprecationWarning, stacklevel=stacklevel
    )


def _run_callback_on_loop(future: asyncio.Future[Any], callback: Callable[[Any], object]) -> None:
    """Call ``callback(future.result())`` on the IOLoop once `future` is done.

    Goes through `IOLoop.add_future`, so an exception (from the Future or
    the callback) is logged like any other callback failure.
    """
    from squall.ioloop import IOLoop  # squall.ioloop imports this module

    IOLoop.current().add_future(future, lambda f: callback(f.result()))


def _executor_wrapper(
    fn: Callable[..., _T], executor_attr: str
) -> Callable[..., asyncio.Future[_T]]:
    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> asyncio.Future[_T]:
        callback = kwargs.pop("callback", None)
        # Like asyncio.to_thread: the method sees the caller's context vars.
        context = contextvars.copy_context()
        conc_future = getattr(self, executor_attr).submit(context.run, fn, self, *args, **kwargs)
        async_future: asyncio.Future[_T] = asyncio.Future()
        chain_future(conc_future, async_future)
        if callback is not None:
            _deprecated("The callback argument of run_on_executor methods", "the returned Future")
            _run_callback_on_loop(async_future, callback)
        return async_future

    return wrapper


@overload
def run_on_executor(
    fn: Callable[Concatenate[_S, _P], _T], /
) -> Callable[Concatenate[_S, _P], asyncio.Future[_T]]: ...


@overload
def run_on_executor(
    *, executor: str = ..., io_loop: str = ...
) -> Callable[
    [Callable[Concatenate[_S, _P], _T]], Callable[Concatenate[_S, _P], asyncio.Future[_T]]
]: ...


def run_on_executor(
    fn: Callable[..., _T] | None = None,
    /,
    *,
    executor: str = "executor",
    io_loop: str | None = None,
) -> Any:
    """Decorator to run a synchronous method on an executor.

    The decorated method submits itself to the executor found in the
    ``executor`` attribute of ``self`` (pass ``executor="name"`` to use
    another attribute) and returns an `asyncio.Future` of its outcome, to be
    awaited or yielded on the event loop::

        class Worker:
            executor = concurrent.futures.ThreadPoolExecutor(4)

            @run_on_executor
            def crunch(self, n):
                return sum(range(n))

            @run_on_executor(executor="_io_pool")
            def read(self, path): ...

    The method must be called with an event loop current (the Future belongs
    to it).  It runs in a copy of the caller's `contextvars` context, as with
    `asyncio.to_thread`.

    Deprecated: calling the method with a ``callback=`` keyword (the callback
    is then called on the IOLoop with the result) and the ``io_loop=``
    decorator argument, which is ignored (the Future uses the current loop).
    Both emit `DeprecationWarning`.
    """
    if io_loop is not None:
        _deprecated("run_on_executor(io_loop=...)", "the current event loop")
    if fn is not None:
        return _executor_wrapper(fn, executor)
    return functools.partial(_executor_wrapper, executor_attr=executor)


# -- return_future (legacy) ---------------------------------------------------

_NO_RESULT: Any = object()


def return_future(f: Callable[..., Any]) -> Callable[..., asyncio.Future[Any]]:
    """Deprecated: make a function that reports through a callback return a Future.

    The decorated function is called with a ``callback`` keyword argument
    (replacing any the caller gave) and must call it with zero or one
    argument when done; the decorator returns a Future resolved with that
    argument (None for zero).  An exception raised by the function goes into
    the Future; a non-None return value is reported as
    `ReturnValueIgnoredError`.  If the caller passed its own ``callback``, it
    is called on the IOLoop with the result (and, if the function failed, the
    exception is logged instead).

    Use a coroutine (``async def`` or `squall.gen.coroutine`) instead.
    Decorating emits `DeprecationWarning`.
    """
    _deprecated("return_future", "a coroutine")
    replacer = _ArgReplacer(f, "callback")

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.Future()

        def deliver(value: Any = _NO_RESULT) -> None:
            future_set_result_unless_cancelled(future, None if value is _NO_RESULT else value)

        callback, new_args, kwargs = replacer.replace(deliver, args, kwargs)
        try:
            result = f(*new_args, **kwargs)
            if result is not None:
                raise ReturnValueIgnoredError(
                    "@return_future should not be used with functions that return values"
                )
        except Exception as exc:
            if future.done():
                raise
            future.set_exception(exc)
        if callback is not None:
            _run_callback_on_loop(future, callback)
        return future

    return wrapper
