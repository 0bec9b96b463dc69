"""The callback-era parts of `squall.gen` (Tornado 3.x/4.x), all deprecated.

`Task` adapts a function taking a ``callback`` to a Future; `engine` is the
Future-less ancestor of `squall.gen.coroutine`; `YieldPoint` and its
subclasses `Callback`, `Wait`, `WaitAll` and `MultiYieldPoint` are objects a
generator may yield, driven by `squall._gen_runner.Runner` through its
``register_callback``/``set_result``/``pop_result`` methods.  They emit
`DeprecationWarning` and stay off the main coroutine path.
"""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from squall._gen_runner import (
    Runner,
    YieldPoint,
    _callback_result,
    _make_coroutine_wrapper,
    convert_yielded,
)
from squall.concurrent import (
    Future,
    ReturnValueIgnoredError,
    future_set_exception_unless_cancelled,
    future_set_result_unless_cancelled,
)
from squall.log import app_log

__all__ = [
    "Arguments",
    "Callback",
    "KeyReuseError",
    "LeakedCallbackError",
    "MultiYieldPoint",
    "Task",
    "UnknownKeyError",
    "Wait",
    "WaitAll",
    "engine",
]


class KeyReuseError(Exception):
    """A `Callback` key is already outstanding in this generator."""


class UnknownKeyError(Exception):
    """A `Wait` names a key no `Callback` registered."""


class LeakedCallbackError(Exception):
    """A generator finished while `Callback` results were still outstanding."""


class Arguments(NamedTuple):
    """What a legacy callback delivers when called with several arguments.

    The result of a `Task` or `Wait` whose callback received more than one
    positional argument, or keyword arguments: ``(args, kwargs)``.
    """

    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def _deprecated(what: str, instead: str) -> None:
    warnings.warn(f"{what} is deprecated; use {instead} instead", DeprecationWarning, stacklevel=3)


def Task(func: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
    """Deprecated: call a callback-style function, return a Future of its result.

    Calls ``func(*args, callback=..., **kwargs)``; the Future resolves with
    the callback's argument (None without one, an `Arguments` with several).
    An exception raised by `func` goes into the Future.  Use a function that
    returns a Future instead.
    """
    _deprecated("gen.Task", "functions that return Futures")
    future: asyncio.Future[Any] = Future()

    def handle_result(*result_args: Any, **result_kwargs: Any) -> None:
        if not future.done():
            future_set_result_unless_cancelled(
                future, _callback_result(result_args, result_kwargs)
            )

    try:
        func(*args, callback=handle_result, **kwargs)
    except Exception as exc:
        if future.done():
            app_log.error("Exception in gen.Task after its callback ran", exc_info=exc)
        else:
            future_set_exception_unless_cancelled(future, exc)
    return future


def engine(func: Callable[..., Any]) -> Callable[..., None]:
    """Deprecated: callback-oriented decorator for generators; use `coroutine`.

    Like `squall.gen.coroutine`, but the decorated function returns None and
    a ``callback`` argument is passed through untouched (such functions
    usually take one and call it when done).  An exception escaping the
    generator is logged to ``squall.application``; so is a return value,
    which must be None (`ReturnValueIgnoredError`).
    """
    _deprecated("gen.engine", "gen.coroutine")
    run = _make_coroutine_wrapper(func, replace_callback=False)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from squall.ioloop import IOLoop  # squall.ioloop imports squall.concurrent only

        IOLoop.current().add_future(run(*args, **kwargs), _check_engine_result)

    wrapper.__squall_coroutine__ = True  # type: ignore[attr-defined]
    return wrapper


def _check_engine_result(future: asyncio.Future[Any]) -> None:
    value = future.result()  # An exception is logged by IOLoop.add_future.
    if value is not None:
        raise ReturnValueIgnoredError(f"@gen.engine functions cannot return values: {value!r}")


class Callback(YieldPoint):
    """Deprecated: yields a callable that lets the matching `Wait` proceed.

    ``callback = yield gen.Callback(key)`` gives a function to pass to a
    callback-style API; ``result = yield gen.Wait(key)`` then waits for it to
    be called and evaluates to its argument (None without one, an
    `Arguments` with several).  A key must be unique among the generator's
    outstanding callbacks (`KeyReuseError`), and every Callback must be
    waited for before the generator finishes (`LeakedCallbackError`).
    """

    def __init__(self, key: Any) -> None:
        super().__init__()
        self.key = key

    def start(self, runner: Runner) -> None:
        self.runner = runner
        runner.register_callback(self.key)

    def is_ready(self) -> bool:
        return True

    def get_result(self) -> Callable[..., None]:
        return self.runner.result_callback(self.key)


class Wait(YieldPoint):
    """Deprecated: evaluates to the argument given to the `Callback` for `key`.

    :raises UnknownKeyError: (into the generator) if no Callback has `key`.
    """

    def __init__(self, key: Any) -> None:
        super().__init__()
        self.key = key

    def start(self, runner: Runner) -> None:
        self.runner = runner

    def is_ready(self) -> bool:
        return self.runner.is_ready(self.key)

    def get_result(self) -> Any:
        return self.runner.pop_result(self.key)


class WaitAll(YieldPoint):
    """Deprecated: the results of several `Callback` keys, as a list in order.

    Equivalent to yielding a list of `Wait` objects.
    """

    def __init__(self, keys: Iterable[Any]) -> None:
        super().__init__()
        self.keys = list(keys)

    def start(self, runner: Runner) -> None:
        self.runner = runner

    def is_ready(self) -> bool:
        return all(self.runner.is_ready(key) for key in self.keys)

    def get_result(self) -> list[Any]:
        return [self.runner.pop_result(key) for key in self.keys]


class _FutureYieldPoint(YieldPoint):
    """Adapts a Future to the YieldPoint protocol (inside `MultiYieldPoint`)."""

    def __init__(self, future: asyncio.Future[Any]) -> None:
        # No super().__init__(): internal, the user was warned already.
        self.future = future
        self.runner: Runner | None = None
        self.key = object()

    def start(self, runner: Runner) -> None:
        if self.future.done():
            return
        self.runner = runner
        runner.register_callback(self.key)
        self.future.add_done_callback(lambda _: runner.set_result(self.key, None))

    def is_ready(self) -> bool:
        return self.runner is None or self.runner.is_ready(self.key)

    def get_result(self) -> Any:
        if self.runner is not None:
            self.runner.pop_result(self.key)
        return self.future.result()


class MultiYieldPoint(YieldPoint):
    """Deprecated: run several YieldPoints (or Futures) in parallel; use `multi`.

    `children` is a list or a dict of yieldables; the result is a list in
    the same order or a dict with the same keys.  The first failure is
    raised and the others logged to ``squall.application``, unless they are
    instances of `quiet_exceptions`.  Not usable with ``await``.
    """

    def __init__(
        self,
        children: list[Any] | tuple[Any, ...] | Mapping[Any, Any],
        quiet_exceptions: type[BaseException] | tuple[type[BaseException], ...] = (),
    ) -> None:
        super().__init__()
        self._setup(children, quiet_exceptions)

    @classmethod
    def _internal(
        cls,
        children: list[Any] | tuple[Any, ...] | Mapping[Any, Any],
        quiet_exceptions: type[BaseException] | tuple[type[BaseException], ...],
    ) -> MultiYieldPoint:
        """Build one for `squall.gen.multi` (its YieldPoint children warned already)."""
        self = cls.__new__(cls)
        self._setup(children, quiet_exceptions)
        return self

    def _setup(
        self,
        children: list[Any] | tuple[Any, ...] | Mapping[Any, Any],
        quiet_exceptions: type[BaseException] | tuple[type[BaseException], ...],
    ) -> None:
        self.keys: list[Any] | None = None
        values: Iterable[Any] = children
        if isinstance(children, Mapping):
            self.keys = list(children)
            values = children.values()
        self.children: list[YieldPoint] = [
            child if isinstance(child, YieldPoint) else _FutureYieldPoint(convert_yielded(child))
            for child in values
        ]
        self.quiet_exceptions = quiet_exceptions

    def start(self, runner: Runner) -> None:
        for child in self.children:
            child.start(runner)

    def is_ready(self) -> bool:
        return all(child.is_ready() for child in self.children)

    def get_result(self) -> Any:
        values: list[Any] = []
        first: Exception | None = None
        for child in self.children:
            try:
                values.append(child.get_result())
            except Exception as exc:
                if first is None:
                    first = exc
                elif not isinstance(exc, self.quiet_exceptions):
                    app_log.error("Multiple exceptions in yield list", exc_info=exc)
        if first is not None:
            raise first
        if self.keys is not None:
            return dict(zip(self.keys, values, strict=True))
        return values
