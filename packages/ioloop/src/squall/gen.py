"""Generator-based coroutines, and tools for waiting on several things at once.

A function decorated with `coroutine` is written as a single generator
that ``yield``\\ s whatever it waits for, and returns an `asyncio.Future`::

    @gen.coroutine
    def fetch_both(client, url1, url2):
        response1, response2 = yield [client.fetch(url1), client.fetch(url2)]
        return response1.body + response2.body

Native coroutines (``async def``/``await``) work everywhere a coroutine
does and are the recommended style for new code; `multi`, `with_timeout`,
`sleep`, `moment`, `WaitIterator` and `convert_yielded` serve both styles.

Errors, from the caller's point of view::

    TimeoutError            with_timeout (squall.util.TimeoutError, a builtins.TimeoutError)
    BadYieldError           a coroutine yielded something it cannot wait on
    ReturnValueIgnoredError an engine/return_future function returned a value
    KeyReuseError, UnknownKeyError, LeakedCallbackError   legacy Callback/Wait misuse

The callback-era interface (`Task`, `engine`, `YieldPoint`, `Callback`,
`Wait`, `WaitAll`, `MultiYieldPoint`) still works and emits
`DeprecationWarning`; `Arguments` is what a legacy callback called with
several arguments delivers.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, overload

from squall._gen_legacy import (
    Arguments,
    Callback,
    KeyReuseError,
    LeakedCallbackError,
    MultiYieldPoint,
    Task,
    UnknownKeyError,
    Wait,
    WaitAll,
    engine,
)
from squall._gen_runner import (
    BadYieldError,
    Return,
    Runner,
    YieldPoint,
    convert_yielded,
    coroutine,
    is_coroutine_function,
    moment,
)
from squall.concurrent import Future, ReturnValueIgnoredError
from squall.concurrent import chain_future as _chain_future
from squall.concurrent import future_add_done_callback as _future_add_done_callback
from squall.concurrent import future_set_result_unless_cancelled as _set_result_unless_cancelled
from squall.concurrent import is_future as _is_future
from squall.log import app_log as _app_log
from squall.util import TimeoutError

__all__ = [
    "Arguments",
    "BadYieldError",
    "Callback",
    "KeyReuseError",
    "LeakedCallbackError",
    "Multi",
    "MultiYieldPoint",
    "Return",
    "ReturnValueIgnoredError",
    "Runner",
    "Task",
    "TimeoutError",
    "UnknownKeyError",
    "Wait",
    "WaitAll",
    "WaitIterator",
    "YieldPoint",
    "convert_yielded",
    "coroutine",
    "engine",
    "is_coroutine_function",
    "maybe_future",
    "moment",
    "multi",
    "multi_future",
    "sleep",
    "with_timeout",
]

_T = TypeVar("_T")

_QuietExceptions = type[BaseException] | tuple[type[BaseException], ...]


# -- multi --------------------------------------------------------------------


@overload
def multi(
    children: list[Any] | tuple[Any, ...], quiet_exceptions: _QuietExceptions = ()
) -> asyncio.Future[list[Any]]: ...


@overload
def multi(
    children: Mapping[Any, Any], quiet_exceptions: _QuietExceptions = ()
) -> asyncio.Future[dict[Any, Any]]: ...


def multi(
    children: list[Any] | tuple[Any, ...] | Mapping[Any, Any],
    quiet_exceptions: _QuietExceptions = (),
) -> Any:
    """Run several asynchronous operations in parallel.

    `children` is a list or a dict whose values are yieldable objects
    (Futures, native coroutines, ... see `convert_yielded`).  Returns a
    Future resolving to a list of their results in the same order, or a
    dict with the same keys.  A ``yield`` of a list or dict in a `coroutine`
    calls this for you; ``await`` needs it spelled out::

        r1, r2 = await gen.multi([fetch(url1), fetch(url2)])

    The Future resolves once every child is done.  If any fail, it raises
    the first failure (in the order of `children`) and logs the others to
    ``squall.application``, each once, unless they are instances of
    `quiet_exceptions`.  Children are not cancelled.

    Legacy: if a child is a `YieldPoint`, a `MultiYieldPoint` is returned
    instead (usable only in a generator).  Also available as ``Multi``.
    """
    values = children.values() if isinstance(children, Mapping) else children
    if any(isinstance(child, YieldPoint) for child in values):
        return MultiYieldPoint._internal(children, quiet_exceptions)
    return multi_future(children, quiet_exceptions)


#: Alias of `multi`, for historical reasons.
Multi = multi


def multi_future(
    children: list[Any] | tuple[Any, ...] | Mapping[Any, Any],
    quiet_exceptions: _QuietExceptions = (),
) -> asyncio.Future[Any]:
    """Wait for several Futures in parallel: `multi` without YieldPoint support.

    Deprecated since Tornado 4.3 in favour of `multi` (which it implements);
    kept without a warning, as Tornado keeps it.
    """
    keys: list[Any] | None
    if isinstance(children, Mapping):
        keys = list(children)
        futures = [convert_yielded(child) for child in children.values()]
    else:
        keys = None
        futures = [convert_yielded(child) for child in children]
    result: asyncio.Future[Any] = Future()
    if not futures:
        result.set_result({} if keys is not None else [])
        return result
    unfinished = set(futures)  # A Future given twice is waited for once.

    def on_child_done(child: asyncio.Future[Any]) -> None:
        unfinished.discard(child)
        if not unfinished:
            _collect(futures, keys, result, quiet_exceptions)

    for child in set(futures):
        _future_add_done_callback(child, on_child_done)
    return result


def _collect(
    futures: list[asyncio.Future[Any]],
    keys: list[Any] | None,
    result: asyncio.Future[Any],
    quiet_exceptions: _QuietExceptions,
) -> None:
    """Set `result` from the done `futures`: first failure raised, others logged."""
    values: list[Any] = []
    failed = False
    seen: set[int] = set()
    for child in futures:
        if child.cancelled():
            if not failed:
                failed = True
                result.cancel()
            continue
        exc = child.exception()
        if exc is None:
            values.append(child.result())
        elif not failed:
            failed = True
            if not result.cancelled():
                result.set_exception(exc)
            seen.add(id(exc))
        elif id(exc) not in seen and not isinstance(exc, quiet_exceptions):
            seen.add(id(exc))
            _app_log.error("Multiple exceptions in yield list", exc_info=exc)
    if not failed and not result.cancelled():
        result.set_result(dict(zip(keys, values, strict=True)) if keys is not None else values)


# -- timeouts and sleeping ----------------------------------------------------


def with_timeout(
    timeout: float | datetime.timedelta,
    future: Any,
    io_loop: Any = None,
    quiet_exceptions: _QuietExceptions = (),
) -> asyncio.Future[Any]:
    """Wrap a Future (or other yieldable object) in a timeout.

    Returns a Future with the outcome of `future`, or failing with
    `TimeoutError` if `future` is not done by `timeout`: a deadline in
    `IOLoop.time` units (like `IOLoop.add_timeout`) or a `datetime.timedelta`
    from now.

    The wrapped `future` is *not* cancelled on timeout; it may still
    complete, and an exception it raises afterwards is logged to
    ``squall.application`` unless it is an instance of `quiet_exceptions` (an
    exception type or a tuple of them).  A native coroutine passed in is
    started as a Task (see `convert_yielded`).

    The `io_loop` argument (Tornado 4.x) is deprecated and ignored.  Tornado
    6 dropped it, so exception types given in its place, as a third
    positional argument, are taken as `quiet_exceptions`.

    :raises BadYieldError: if `future` is a legacy YieldPoint (unsupported)
        or cannot be waited on.
    """
    from squall.ioloop import IOLoop  # squall.ioloop imports squall.concurrent only

    if io_loop is not None:
        if _is_exception_types(io_loop):
            quiet_exceptions = io_loop
        else:
            warnings.warn(
                "The io_loop argument of with_timeout is deprecated; "
                "the current IOLoop is used instead",
                DeprecationWarning,
                stacklevel=2,
            )
    wrapped = convert_yielded(future)
    if isinstance(wrapped, YieldPoint):
        raise BadYieldError("with_timeout does not support YieldPoints")
    result: asyncio.Future[Any] = Future()
    _chain_future(wrapped, result)
    loop = IOLoop.current()

    def log_late_failure(wrapped: asyncio.Future[Any]) -> None:
        if wrapped.cancelled():
            return
        exc = wrapped.exception()
        if exc is not None and not isinstance(exc, quiet_exceptions):
            _app_log.error("Exception in Future %r after timeout", wrapped, exc_info=exc)

    def on_timeout() -> None:
        if wrapped.done():
            return  # Just in time: chain_future is copying its outcome.
        if not result.done():
            result.set_exception(TimeoutError("Timeout"))
        _future_add_done_callback(wrapped, log_late_failure)

    handle = loop.add_timeout(timeout, on_timeout)
    if not wrapped.done():
        wrapped.add_done_callback(lambda _: loop.remove_timeout(handle))
    else:
        loop.remove_timeout(handle)
    return result


def _is_exception_types(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_is_exception_types(item) for item in value)
    return isinstance(value, type) and issubclass(value, BaseException)


def sleep(duration: float) -> asyncio.Future[None]:
    """Return a Future that resolves after `duration` seconds.

    The non-blocking analogue of `time.sleep`, to be yielded or awaited::

        yield gen.sleep(0.5)

    Calling it without waiting on the result does nothing useful.
    """
    from squall.ioloop import IOLoop  # squall.ioloop imports squall.concurrent only

    result: asyncio.Future[None] = Future()
    IOLoop.current().call_later(duration, _set_result_unless_cancelled, result, None)
    return result


def maybe_future(x: Any) -> Any:
    """Return `x` if it is a Future, else a done Future whose result is `x`.

    Deprecated since Tornado 4.3 (it knows only Futures, not other
    yieldables: yield anything unknown instead), but kept without a
    warning, as Tornado keeps it.
    """
    if _is_future(x):
        return x
    result: asyncio.Future[Any] = Future()
    result.set_result(x)
    return result


# -- WaitIterator -------------------------------------------------------------


class WaitIterator:
    """Iterate over the results of several Futures in the order they finish.

    Give the Futures (or other yieldables) either as positional or as
    keyword arguments::

        waiter = gen.WaitIterator(future1, future2)
        while not waiter.done():
            try:
                result = yield waiter.next()
            except Exception as e:
                print(f"Error {e} from {waiter.current_future}")
            else:
                print(f"{result} from argument {waiter.current_index}")

    `current_index` is the position (or keyword) of the Future whose outcome
    the last `next` delivered, and `current_future` that Future.  With
    ``async for``, iteration stops at the first exception::

        async for result in gen.WaitIterator(future1, future2): ...

    :raises ValueError: if both positional and keyword arguments are given.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError("You must provide args or kwargs, not both")
        futures: Iterable[tuple[Any, Any]] = kwargs.items() if kwargs else enumerate(args)
        self._unfinished: dict[asyncio.Future[Any], Any] = {}
        converted = []
        for index, yieldable in futures:
            future = convert_yielded(yieldable)
            self._unfinished[future] = index
            converted.append(future)
        self._finished: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._running_future: asyncio.Future[Any] | None = None
        #: The position or keyword of the Future last delivered by `next`.
        self.current_index: Any = None
        #: The Future last delivered by `next`.
        self.current_future: asyncio.Future[Any] | None = None
        for future in converted:
            _future_add_done_callback(future, self._on_done)

    def done(self) -> bool:
        """Return True once every Future's outcome has been delivered by `next`."""
        if self._finished or self._unfinished:
            return False
        self.current_index = self.current_future = None
        return True

    def next(self) -> asyncio.Future[Any]:
        """Return a Future with the outcome of the next Future to finish."""
        self._running_future = Future()
        if self._finished:
            return self._deliver(self._finished.popleft())
        return self._running_future

    def _on_done(self, done: asyncio.Future[Any]) -> None:
        if self._running_future is not None and not self._running_future.done():
            self._deliver(done)
        else:
            self._finished.append(done)

    def _deliver(self, done: asyncio.Future[Any]) -> asyncio.Future[Any]:
        running = self._running_future
        assert running is not None
        self._running_future = None
        self.current_future = done
        self.current_index = self._unfinished.pop(done)
        _chain_future(done, running)
        return running

    def __aiter__(self) -> WaitIterator:
        return self

    async def __anext__(self) -> Any:
        if self.done():
            raise StopAsyncIteration
        return await self.next()


# -- yieldable lists and dicts ------------------------------------------------


@convert_yielded.register(list)
@convert_yielded.register(dict)
def _(yielded: list[Any] | dict[Any, Any]) -> Any:
    return multi(yielded)
