"""Legacy: exception handling across asynchronous callbacks (deprecated).

.. deprecated::
   Use coroutines with ordinary ``try``/``except``, and `contextvars` for
   state that follows execution.  Everything here emits DeprecationWarning.

A StackContext carries context managers (typically exception handlers) along
with execution as it moves to callbacks run later::

    @contextlib.contextmanager
    def die_on_error():
        try:
            yield
        except Exception:
            logging.error("exception in asynchronous operation", exc_info=True)
            sys.exit(1)

    with StackContext(die_on_error):
        # Any exception raised here *or in callbacks wrapped here* exits.
        io_loop.add_callback(stack_context.wrap(callback))

What squall keeps of Tornado 4.5's behaviour, and what it cannot keep:

- The stack of active contexts lives in a `contextvars.ContextVar`, so it
  follows asyncio's own context copying: each task and each ``call_soon``
  callback sees the stack that was current where it was created.
- `wrap` captures the current stack; the wrapped callable runs with exactly
  that stack, entering again (a fresh context manager from the factory) every
  StackContext that was active, and passing exceptions that escape it through
  the ExceptionStackContext handlers and context managers, innermost first.
- Tornado 4.5's IOLoop, IOStream and HTTP client wrapped every callback they
  were given.  squall's IOLoop is asyncio's loop and does not: **callers
  wrap explicitly** with `wrap` (as Tornado-era libraries already did for
  their own thread pools and callbacks).  A callback scheduled without
  `wrap` sees the stack in `contextvars` but is not run inside the contexts.
- Because the stack is per task, a ``yield`` or ``await`` inside a
  ``with StackContext(...)`` block does not corrupt another coroutine's
  stack, and is allowed.  `StackContextInconsistentError` is raised only
  when contexts really are exited out of order.
- Coroutines do not enter stack contexts around their steps, and
  exceptions they raise go to their Future, not to ExceptionStackContext
  handlers; `wrap` inside a coroutine captures the stack the coroutine
  started with (`squall.gen.coroutine` and asyncio tasks copy contextvars
  when they start).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import sys
import types
import warnings
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, TypeVar, overload

from squall.ioloop import IOLoop

__all__ = [
    "ExceptionStackContext",
    "NullContext",
    "StackContext",
    "StackContextInconsistentError",
    "run_with_stack_context",
    "wrap",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_ExcInfo = tuple[type[BaseException] | None, BaseException | None, types.TracebackType | None]
#: Called with an exception triple as the context is left; True swallows it.
_ExitFunc = Callable[
    [type[BaseException] | None, BaseException | None, types.TracebackType | None], Any
]


class StackContextInconsistentError(Exception):
    """Raised when stack contexts are exited in a different order than entered."""


def _warn(what: str, stacklevel: int = 3) -> None:
    warnings.warn(
        f"{what} is deprecated: use coroutines with try/except, and contextvars for"
        " state that follows execution",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


class _Context:
    """Base of the stack entries: something a wrapped callback enters again."""

    active = True

    def _enter(self) -> _ExitFunc:
        """Enter the context for one run of a wrapped callable; return its exit."""
        raise NotImplementedError


#: The active contexts, outermost first.  A tuple, so that capturing it in
#: `wrap` is a reference copy and a captured stack never changes.
_stack: contextvars.ContextVar[tuple[_Context, ...]] = contextvars.ContextVar(
    "squall.stack_context", default=()
)


class _StackBlock(_Context):
    """The ``with`` statement protocol shared by the three public contexts."""

    _saved: tuple[_Context, ...] | None = None
    _pushed: tuple[_Context, ...] | None = None

    def _push(self, stack: tuple[_Context, ...]) -> None:
        if self._pushed is not None:
            raise RuntimeError(f"{type(self).__name__} objects cannot be entered twice at once")
        self._saved = _stack.get()
        self._pushed = stack
        _stack.set(stack)

    def _pop(self) -> None:
        saved, pushed = self._saved, self._pushed
        self._saved = self._pushed = None
        current = _stack.get()
        assert saved is not None
        _stack.set(saved)
        if current is not pushed:
            raise StackContextInconsistentError(
                "stack_context inconsistency (contexts exited out of order)"
            )

    def _deactivate(self) -> None:
        """Stop this context from propagating to callbacks run from now on."""
        self.active = False


class StackContext(_StackBlock):
    """Establish a context that is carried into wrapped callbacks.

    *context_factory* is a callable returning a context manager, not a
    context manager itself: where you would write ``with my_context():``,
    write ``with StackContext(my_context):``.  The factory is called on
    entry, and again each time a callback wrapped (`wrap`) inside the block
    runs, and that callback runs inside the new context manager.

    ``with StackContext(f) as deactivate:`` gives a deactivation callback;
    once called, callbacks run later no longer enter this context.

    Emits DeprecationWarning.
    """

    def __init__(self, context_factory: Callable[[], AbstractContextManager[Any]]) -> None:
        _warn("StackContext")
        self.context_factory = context_factory
        self._exits: list[_ExitFunc] = []

    def _enter(self) -> _ExitFunc:
        manager = self.context_factory()
        manager.__enter__()
        return manager.__exit__

    def __enter__(self) -> Callable[[], None]:
        self._push((*_stack.get(), self))
        try:
            self._exits.append(self._enter())
        except BaseException:
            self._pop()
            raise
        return self._deactivate

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> bool:
        try:
            return bool(self._exits.pop()(exc_type, exc, tb))
        finally:
            self._pop()


class ExceptionStackContext(_StackBlock):
    """A StackContext for exception handling.

    *exception_handler* is called with the ``(type, value, traceback)``
    triple of an exception that escapes the ``with`` block or a callback
    wrapped (`wrap`) inside it, much like a ``try``/``finally``: to log an
    error, close a socket and so on.  If it returns a true value, the
    exception is swallowed and not seen by outer handlers; otherwise it goes
    on propagating.

    Emits DeprecationWarning, when constructed or, with *delay_warning*,
    only when the handler is first called with an exception.
    """

    def __init__(self, exception_handler: _ExitFunc, delay_warning: bool = False) -> None:
        if not delay_warning:
            _warn("ExceptionStackContext")
        self.exception_handler = exception_handler
        self.delay_warning = delay_warning

    def _handle(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> bool:
        if exc_type is None:
            return False
        if self.delay_warning:
            self.delay_warning = False
            _warn("ExceptionStackContext", stacklevel=2)
        return bool(self.exception_handler(exc_type, exc, tb))

    def _enter(self) -> _ExitFunc:
        return self._handle

    def __enter__(self) -> Callable[[], None]:
        self._push((*_stack.get(), self))
        return self._deactivate

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> bool:
        try:
            return self._handle(exc_type, exc, tb)
        finally:
            self._pop()


class NullContext(_StackBlock):
    """Reset the stack: inside the block no StackContext is active.

    Useful when creating a shared resource on demand (a connection pool, an
    HTTP client) whose callbacks must not inherit the contexts of whoever
    happened to create it.  Emits DeprecationWarning.
    """

    def __init__(self) -> None:
        _warn("NullContext")

    def _enter(self) -> _ExitFunc:  # pragma: no cover - never on a stack
        raise AssertionError("NullContext is never on the stack")

    def __enter__(self) -> None:
        self._push(())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self._pop()


@overload
def wrap(fn: None) -> None: ...
@overload
def wrap(fn: Callable[_P, _R]) -> Callable[_P, _R | None]: ...
def wrap(fn: Callable[_P, _R] | None) -> Callable[_P, _R | None] | None:
    """Return a callable that runs *fn* in the current stack contexts.

    Use it whenever a callback is saved to run later, in another thread or
    asynchronously in the same one.  When called, the returned function runs
    *fn* with exactly the stack that was current at `wrap` time (none if
    none was): each StackContext still active is entered again and each
    ExceptionStackContext handles what escapes.  It returns *fn*'s result,
    or None if a handler swallowed an exception; an exception no handler
    swallows propagates to the caller.

    ``wrap(None)`` is None, and a wrapped callable is returned unchanged.
    Emits DeprecationWarning.
    """
    if fn is None or getattr(fn, "_squall_stack_wrapped", False):
        return fn
    _warn("stack_context.wrap")
    captured = _stack.get()

    def wrapped(*args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        return _run_in(captured, fn, args, kwargs)

    wrapped._squall_stack_wrapped = True  # type: ignore[attr-defined]
    wrapped.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapped


def _run_in(
    stack: tuple[_Context, ...],
    fn: Callable[..., _R],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> _R | None:
    """Run *fn* inside the active contexts of *stack*, then restore the stack."""
    token = _stack.set(stack)
    try:
        exits: list[_ExitFunc] = []
        exc_info: _ExcInfo = (None, None, None)
        result: _R | None = None
        try:
            for context in stack:
                if context.active:
                    exits.append(context._enter())
            result = fn(*args, **kwargs)
        except BaseException:
            exc_info = sys.exc_info()
        # Unwind innermost first, like nested with statements: a context that
        # swallows the exception hides it from the outer ones, and one that
        # raises replaces it.
        for exit_ in reversed(exits):
            try:
                if exit_(*exc_info) and exc_info[0] is not None:
                    exc_info = (None, None, None)
            except BaseException:
                exc_info = sys.exc_info()
        if exc_info[1] is not None:
            raise exc_info[1]
        return result
    finally:
        exc_info = (None, None, None)
        _stack.reset(token)


@overload
def run_with_stack_context(
    context: StackContext | ExceptionStackContext | NullContext,
    func: Callable[[], Coroutine[Any, Any, _R]],
) -> asyncio.Task[_R]: ...
@overload
def run_with_stack_context(
    context: StackContext | ExceptionStackContext | NullContext, func: Callable[[], _R]
) -> _R: ...
def run_with_stack_context(
    context: StackContext | ExceptionStackContext | NullContext, func: Callable[[], Any]
) -> Any:
    """Run *func* inside *context* and return its result.

    Tornado needed this to keep ``with StackContext(...)`` and ``yield``
    apart in coroutines::

        result = yield run_with_stack_context(StackContext(ctx), other_coroutine)

    A `squall.gen.coroutine` copies the stack when called, so it keeps the
    context for its whole run.  The body of an ``async def`` function only
    runs once awaited, after the context has been left: so a coroutine
    object returned by *func* is started here as an `asyncio.Task`, whose
    copy of the contextvars keeps the context, and the Task is returned.

    Emits DeprecationWarning.
    """
    _warn("run_with_stack_context")
    with context:
        result = func()
        if inspect.iscoroutine(result):
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = IOLoop.current().asyncio_loop
            return loop.create_task(result)
        return result
