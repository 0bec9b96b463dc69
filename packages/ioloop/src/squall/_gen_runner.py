"""The engine behind `squall.gen.coroutine`: conversion of yielded objects and the Runner.

A decorated generator is driven *synchronously* for as long as what it
yields is already resolved: no event-loop round trip, no allocation beyond
the coroutine's own Future and `contextvars.Context`.  Only when it yields
something unresolved is a `Runner` created; the Runner then resumes the
generator from a done-callback of the awaited Future, registered with the
coroutine's context, exactly as an asyncio Task does.

Everything here is re-exported by `squall.gen`, the public module; the
legacy `YieldPoint` protocol is handled here only in so far as the Runner
must drive it (the classes live in `squall._gen_legacy`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import warnings
from collections.abc import Callable, Generator
from typing import Any, ParamSpec, TypeVar, overload

from squall.concurrent import Future, future_set_exception_unless_cancelled
from squall.log import app_log

_T = TypeVar("_T")
_P = ParamSpec("_P")


class Return(Exception):
    """Raise ``Return(value)`` in a coroutine to make `value` its result.

    Equivalent to ``return value``, which has worked in generators since
    Python 3.3; kept for code written for Python 2.  The value is optional.
    """

    def __init__(self, value: Any = None) -> None:
        super().__init__(value)
        self.value = value


class BadYieldError(Exception):
    """Raised (into the coroutine) when it yields something it cannot wait on."""


class _Moment:
    """The type of `moment`: awaiting or yielding it gives up one loop iteration."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        # A bare yield makes an asyncio Task reschedule itself with call_soon,
        # as asyncio.sleep(0) does.
        yield

    def __repr__(self) -> str:
        return "squall.gen.moment"


#: A special object which may be yielded (or awaited) to allow the event
#: loop to run for one iteration.  ``yield None`` in a `coroutine` is
#: equivalent.  Useful in long-running coroutines that would otherwise
#: never give way because everything they wait on is already resolved.
moment = _Moment()


class YieldPoint:
    """Deprecated: base class for objects that may be yielded from a generator.

    Use Futures instead.  Subclasses implement `start`, `is_ready` and
    `get_result`; the Runner calls `start` first, then `get_result` once
    `is_ready` returns True (re-checking whenever one of its callbacks,
    registered with `Runner.register_callback`, delivers a result).
    YieldPoints work only in `squall.gen.coroutine` and `squall.gen.engine`
    generators, not with ``await``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__module__.startswith("squall."):
            warnings.warn(
                "gen.YieldPoint is deprecated; use Futures instead",
                DeprecationWarning,
                stacklevel=2,
            )

    def __init__(self) -> None:
        warnings.warn(
            f"{type(self).__name__} (a gen.YieldPoint) is deprecated; use Futures instead",
            DeprecationWarning,
            stacklevel=2,
        )

    def start(self, runner: Runner) -> None:
        """Called by the runner after the generator has yielded this object."""
        raise NotImplementedError()

    def is_ready(self) -> bool:
        """Return True when the result is available (then `get_result` is called)."""
        raise NotImplementedError()

    def get_result(self) -> Any:
        """Return the value to send into the generator (or raise to throw it in)."""
        raise NotImplementedError()


# -- convert_yielded ----------------------------------------------------------


def _moment_future() -> asyncio.Future[None]:
    """A Future that resolves after one iteration of the running event loop."""
    future: asyncio.Future[None] = Future()
    future.get_loop().call_soon(_resolve_none, future)
    return future


def _resolve_none(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@functools.singledispatch
def convert_yielded(yielded: Any) -> asyncio.Future[Any]:
    """Convert a yielded object into an `asyncio.Future`.

    Accepts asyncio Futures (returned as they are), `concurrent.futures`
    Futures (wrapped for the current event loop), awaitables such as native
    coroutines (started as asyncio Tasks), lists and dicts of those (see
    `squall.gen.multi`), and None or `moment` (a Future resolved after one
    loop iteration).  This is how a `coroutine` interprets what it yields,
    and it makes such objects usable with ``await``::

        await gen.convert_yielded(executor.submit(blocking_function))

    A `functools.singledispatch` function: other libraries make their own
    types yieldable with ``@convert_yielded.register(TheirType)``.

    Legacy: a `YieldPoint`, or a list or dict holding one, is returned as a
    YieldPoint (only generators, not ``await``, can wait on those).

    :raises BadYieldError: for anything else.
    """
    if yielded is None or yielded is moment:
        return _moment_future()
    if inspect.isawaitable(yielded):
        return asyncio.ensure_future(yielded)
    raise BadYieldError(f"yielded unknown object {yielded!r}")


@convert_yielded.register
def _(yielded: asyncio.Future) -> asyncio.Future[Any]:  # type: ignore[type-arg]
    return yielded


@convert_yielded.register
def _(yielded: concurrent.futures.Future) -> asyncio.Future[Any]:  # type: ignore[type-arg]
    return asyncio.wrap_future(yielded)


@convert_yielded.register
def _(yielded: YieldPoint) -> Any:
    return yielded


# -- driving a generator ------------------------------------------------------


def _finish(result: asyncio.Future[Any], runner: Runner | None, value: Any) -> None:
    if runner is not None:
        value = runner._detach(value)
        if isinstance(value, _Failure):
            _fail(result, None, value.exc)
            return
    if not result.done():
        result.set_result(value)


def _without_advance_frame(exc: BaseException) -> BaseException:
    """Remove `_advance`'s entry from the head of `exc`'s traceback.

    The frame is of no interest to the reader of the traceback, and it would
    tie the caller's frames (through ``f_back``), which hold the coroutine's
    Future, to the exception stored in that Future: a reference cycle that
    only the garbage collector could free.
    """
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code is _ADVANCE_CODE:
        exc.__traceback__ = tb.tb_next
    return exc


def _fail(result: asyncio.Future[Any], runner: Runner | None, exc: BaseException) -> None:
    _without_advance_frame(exc)
    if runner is not None:
        runner._detach(None)
    if isinstance(exc, asyncio.CancelledError):
        # As in an asyncio Task: a coroutine ending in CancelledError is cancelled.
        result.cancel()
    else:
        future_set_exception_unless_cancelled(result, exc)


class _Failure:
    """A legacy Runner's verdict that a finished generator failed after all."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _advance(
    gen: Generator[Any, Any, Any],
    result: asyncio.Future[Any],
    fut: asyncio.Future[Any] | None,
    runner: Runner | None,
) -> Any:
    """Run `gen` until it is suspended on something unresolved, or finishes.

    `fut` is a done Future whose outcome is sent (or thrown) into the
    generator; None sends None (the first step).  Returns what the generator
    is suspended on (an unresolved Future, `moment` or a YieldPoint), or
    None after setting `result` from the generator's outcome.  Must run in
    the coroutine's context.
    """
    while True:
        try:
            if fut is None:
                yielded = gen.send(None)
            else:
                try:
                    value = fut.result()
                except BaseException as exc:
                    fut = None
                    yielded = gen.throw(_without_advance_frame(exc))
                else:
                    yielded = gen.send(value)
        except StopIteration as stop:
            _finish(result, runner, stop.value)
            return None
        except Return as ret:
            _finish(result, runner, ret.value)
            return None
        except (Exception, asyncio.CancelledError) as exc:
            _fail(result, runner, exc)
            return None
        except BaseException as exc:
            # KeyboardInterrupt, SystemExit: record, then let them propagate.
            _fail(result, runner, exc)
            raise
        if isinstance(yielded, asyncio.Future):
            fut = yielded
        elif yielded is None or yielded is moment:
            return moment
        else:
            try:
                converted = convert_yielded(yielded)
            except Exception as exc:
                fut = Future()
                fut.set_exception(exc)
                continue
            if isinstance(converted, YieldPoint):
                return converted
            fut = converted
        if not fut.done():
            return fut


_ADVANCE_CODE = _advance.__code__


class Runner:
    """Drives a suspended `coroutine` generator until it finishes.

    Created when the generator first yields something unresolved.  The
    Runner resumes the generator from a done-callback of what it waits on,
    in the coroutine's `contextvars.Context`, and sets the coroutine's
    Future when the generator finishes.

    If that Future is cancelled, the Future being waited on is cancelled too
    (as an asyncio Task does) and `asyncio.CancelledError` is thrown into the
    generator so that its ``finally`` and ``except`` blocks run; if the
    generator yields again, it is closed.  An exception it raises then is
    logged to ``squall.application``, having nowhere else to go.

    For legacy `YieldPoint` objects the Runner also offers
    `register_callback`, `is_ready`, `set_result`, `pop_result` and
    `result_callback`, keyed by the YieldPoint's key.
    """

    __slots__ = (
        "_legacy",
        "_running",
        "_yield_point",
        "context",
        "future",
        "gen",
        "result_future",
    )

    def __init__(
        self,
        gen: Generator[Any, Any, Any],
        result_future: asyncio.Future[Any],
        context: contextvars.Context,
        pending: Any,
    ) -> None:
        self.gen = gen
        self.result_future = result_future
        self.context = context
        #: The Future the generator is waiting on, if any.
        self.future: asyncio.Future[Any] | None = None
        self._yield_point: YieldPoint | None = None
        self._legacy: _LegacyState | None = None
        self._running = False
        result_future.add_done_callback(self._on_result_done, context=context)
        self._handle(pending)

    def _handle(self, pending: Any) -> None:
        """Wait for what the generator is suspended on (see `_advance`)."""
        while pending is not None:
            if isinstance(pending, asyncio.Future):
                self.future = pending
                pending.add_done_callback(self._wake, context=self.context)
                return
            if pending is moment:
                self.result_future.get_loop().call_soon(
                    self._wake_after_moment, context=self.context
                )
                return
            done = self._start_yield_point(pending)
            if done is None:
                return
            pending = _advance(self.gen, self.result_future, done, self)

    def _wake(self, fut: asyncio.Future[Any]) -> None:
        if fut is not self.future or self.result_future.done():
            return  # Cancelled meanwhile: _on_result_done takes over.
        self.future = None
        self._handle(_advance(self.gen, self.result_future, fut, self))

    def _wake_after_moment(self) -> None:
        if not self.result_future.done():
            self._handle(_advance(self.gen, self.result_future, None, self))

    def _detach(self, value: Any) -> Any:
        """Called as the generator finishes, before the result is set."""
        self.result_future.remove_done_callback(self._on_result_done)
        legacy = self._legacy
        if legacy is not None and legacy.pending_callbacks:
            from squall._gen_legacy import LeakedCallbackError

            return _Failure(
                LeakedCallbackError(
                    f"finished without waiting for callbacks {legacy.pending_callbacks!r}"
                )
            )
        return value

    def _on_result_done(self, result_future: asyncio.Future[Any]) -> None:
        """The coroutine's Future was cancelled (or set) by someone else."""
        waited = self.future
        self.future = None
        self._yield_point = None
        if waited is not None:
            waited.remove_done_callback(self._wake)
            waited.cancel()
        gen = self.gen
        try:
            if result_future.cancelled():
                gen.throw(asyncio.CancelledError())
            else:
                # Resolved by someone else: nobody can receive what it would do.
                gen.close()
                return
        except (StopIteration, Return, asyncio.CancelledError):
            return
        except Exception:
            app_log.error("Exception in coroutine %r after it was stopped", gen, exc_info=True)
            return
        try:
            gen.close()
        except Exception:
            app_log.error("Exception closing cancelled coroutine %r", gen, exc_info=True)

    # -- legacy YieldPoint support ---------------------------------------------

    def _start_yield_point(self, yield_point: YieldPoint) -> asyncio.Future[Any] | None:
        """Start `yield_point`; return a done Future of its outcome if it is ready."""
        if self._legacy is None:
            self._legacy = _LegacyState()
        self._yield_point = yield_point
        self._running = True
        try:
            yield_point.start(self)
            if not yield_point.is_ready():
                return None
            return self._yield_point_outcome(yield_point)
        except Exception as exc:
            self._yield_point = None
            done: asyncio.Future[Any] = Future()
            done.set_exception(exc)
            return done
        finally:
            self._running = False

    def _yield_point_outcome(self, yield_point: YieldPoint) -> asyncio.Future[Any]:
        self._yield_point = None
        done: asyncio.Future[Any] = Future()
        try:
            done.set_result(yield_point.get_result())
        except Exception as exc:
            done.set_exception(exc)
        return done

    def _legacy_state(self) -> _LegacyState:
        if self._legacy is None:
            self._legacy = _LegacyState()
        return self._legacy

    def register_callback(self, key: Any) -> None:
        """Record that a callback for `key` is outstanding.

        :raises squall.gen.KeyReuseError: if `key` is already outstanding.
        """
        legacy = self._legacy_state()
        if key in legacy.pending_callbacks:
            from squall._gen_legacy import KeyReuseError

            raise KeyReuseError(f"key {key!r} is already pending")
        legacy.pending_callbacks.add(key)

    def is_ready(self, key: Any) -> bool:
        """Return True if the callback for `key` has delivered its result.

        :raises squall.gen.UnknownKeyError: if no callback is registered for `key`.
        """
        legacy = self._legacy_state()
        if key not in legacy.pending_callbacks:
            from squall._gen_legacy import UnknownKeyError

            raise UnknownKeyError(f"key {key!r} is not pending")
        return key in legacy.results

    def set_result(self, key: Any, result: Any) -> None:
        """Deliver the result for `key`, resuming the generator if it was waiting."""
        self._legacy_state().results[key] = result
        yield_point = self._yield_point
        if (
            yield_point is not None
            and not self._running
            and self.future is None
            and not self.result_future.done()
            and yield_point.is_ready()
        ):
            done = self._yield_point_outcome(yield_point)
            self.context.run(self._resume_with, done)

    def _resume_with(self, done: asyncio.Future[Any]) -> None:
        self._handle(_advance(self.gen, self.result_future, done, self))

    def pop_result(self, key: Any) -> Any:
        """Return and forget the result delivered for `key`."""
        legacy = self._legacy_state()
        legacy.pending_callbacks.remove(key)
        return legacy.results.pop(key)

    def result_callback(self, key: Any) -> Callable[..., None]:
        """Return a callback that delivers its argument(s) as the result for `key`."""

        def inner(*args: Any, **kwargs: Any) -> None:
            self.set_result(key, _callback_result(args, kwargs))

        return inner


class _LegacyState:
    __slots__ = ("pending_callbacks", "results")

    def __init__(self) -> None:
        self.pending_callbacks: set[Any] = set()
        self.results: dict[Any, Any] = {}


def _callback_result(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What a legacy callback called with ``*args, **kwargs`` delivers."""
    if kwargs or len(args) > 1:
        from squall._gen_legacy import Arguments

        return Arguments(args, kwargs)
    if args:
        return args[0]
    return None


# -- the decorator ------------------------------------------------------------


def _start(
    gen: Generator[Any, Any, Any], result: asyncio.Future[Any], context: contextvars.Context
) -> None:
    pending = _advance(gen, result, None, None)
    if pending is not None:
        Runner(gen, result, context, pending)


def _make_coroutine_wrapper(
    func: Callable[..., Any], replace_callback: bool
) -> Callable[..., asyncio.Future[Any]]:
    """The core of `coroutine` and `engine`: call `func`, return its Future."""
    is_generator_function = inspect.isgeneratorfunction(func)
    # Tornado 4.x coroutines took a callback= argument, invisible to the
    # function itself; a function that declares one gets it as is.
    swallow_callback = replace_callback and not _accepts_callback(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        if kwargs and swallow_callback and "callback" in kwargs:
            return _call_with_callback(wrapper, args, kwargs)
        future: asyncio.Future[Any] = Future()
        # Like an asyncio Task, the coroutine runs in a copy of the caller's
        # context: what it sets is not seen by the caller.
        context = contextvars.copy_context()
        try:
            if is_generator_function:
                # Creating a generator runs none of its code: no context needed.
                result = func(*args, **kwargs)
            else:
                result = context.run(func, *args, **kwargs)
        except (Return, StopIteration) as ret:
            future.set_result(ret.value)
            return future
        except (Exception, asyncio.CancelledError) as exc:
            _fail(future, None, exc)
            try:
                return future
            finally:
                del future  # Break the cycle future -> exception -> this frame.
        if isinstance(result, Generator):
            context.run(_start, result, future, context)
        else:
            future.set_result(result)
        return future

    wrapper.__squall_coroutine__ = True  # type: ignore[attr-defined]
    return wrapper


def _call_with_callback(
    wrapper: Callable[..., asyncio.Future[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> asyncio.Future[Any]:
    callback = kwargs.pop("callback")
    warnings.warn(
        "The callback argument of coroutines is deprecated; use the returned Future instead",
        DeprecationWarning,
        stacklevel=3,
    )
    future = wrapper(*args, **kwargs)
    if callback is not None:
        from squall.ioloop import IOLoop  # squall.ioloop imports squall.concurrent only

        IOLoop.current().add_future(future, lambda f: callback(f.result()))
    return future


def _accepts_callback(func: Callable[..., Any]) -> bool:
    try:
        return "callback" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


@overload
def coroutine(
    func: Callable[_P, Generator[Any, Any, _T]], replace_callback: bool = ...
) -> Callable[_P, asyncio.Future[_T]]: ...


@overload
def coroutine(
    func: Callable[_P, _T], replace_callback: bool = ...
) -> Callable[_P, asyncio.Future[_T]]: ...


def coroutine(func: Callable[..., Any], replace_callback: bool = True) -> Any:
    """Decorator for generator-based coroutines.

    The decorated function returns an `asyncio.Future` of its outcome,
    usable with ``await`` as well as with ``yield`` in another coroutine.
    Inside, ``yield`` waits for a Future, an awaitable (native coroutine),
    a list or dict of those (waited for in parallel, see `squall.gen.multi`),
    None or `moment` (one loop iteration), anything registered with
    `convert_yielded`, or a legacy `YieldPoint`, and evaluates to its
    result (or raises its exception).  ``return value`` (or ``raise
    Return(value)``) sets the Future's result; an exception sets its
    exception.  A function that is not a generator is simply called and its
    result (or exception) put in a done Future.

    The generator runs synchronously for as long as what it yields is
    already resolved, so a coroutine that never waits returns a done Future.
    It runs in a copy of the caller's `contextvars` context, like an asyncio
    Task.  Cancelling the returned Future cancels what the generator is
    waiting on and throws `asyncio.CancelledError` into it.

    Deprecated (Tornado 4.x): a ``callback`` keyword argument given by the
    caller is removed (unless `func` declares a ``callback`` parameter) and
    called on the IOLoop with the result once the Future resolves; this warns.
    """
    return _make_coroutine_wrapper(func, replace_callback)


def is_coroutine_function(func: Any) -> bool:
    """Return True if `func` was decorated with `coroutine` (or `engine`).

    Native ``async def`` functions are not included; use
    `inspect.iscoroutinefunction` for those.
    """
    return getattr(func, "__squall_coroutine__", False) is True
