"""The `IOLoop` interface, the current loop of each thread and of each asyncio loop.

An IOLoop is a wrapper around an asyncio event loop (`IOLoop.asyncio_loop`).
Which IOLoop is "current" is decided in this order:

1. while an asyncio loop is running in this thread, the IOLoop wrapping it
   (an `AsyncIOMainLoop` is created on demand for a loop that has none);
2. otherwise the IOLoop made current for this thread: by its constructor
   (when none was current), by `IOLoop.start` / `IOLoop.run_sync` while they
   run, or by the deprecated `make_current`;
3. otherwise, for ``current(instance=True)``, a new IOLoop of the configured
   class, which becomes current.
"""

from __future__ import annotations

import asyncio
import datetime
import numbers
import os
import threading
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, overload

from squall.log import app_log
from squall.util import Configurable

if TYPE_CHECKING:
    from squall._ioloop._asyncio import BaseAsyncIOLoop

__all__ = ["IOLoop", "Selectable"]

_T = TypeVar("_T")

#: The environment variable naming the IOLoop implementation to use when
#: `IOLoop.configure` has not been called: a plugin name or a class path.
ENV_VAR = "SQUALL_IOLOOP"


class Selectable(Protocol):
    """A file-like object `IOLoop.add_handler` accepts instead of an fd."""

    def fileno(self) -> int: ...

    def close(self) -> None: ...


class _ThreadState(threading.local):
    # The IOLoop made current for this thread when no asyncio loop runs.
    current: IOLoop | None = None


_thread_state = _ThreadState()


def _thread_current() -> IOLoop | None:
    current = _thread_state.current
    if current is not None and current.asyncio_loop.is_closed():
        # Its loop was closed behind its back (e.g. by asyncio.run()).
        current = _thread_state.current = None
    return current


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new} instead", DeprecationWarning, stacklevel=3)


class IOLoop(Configurable):
    """An I/O event loop: a wrapper around an asyncio event loop.

    ``IOLoop()`` creates a new asyncio event loop of the configured
    implementation (`squall.platform.asyncio.AsyncIOLoop` by default, or the
    one named by `configure` or by the ``SQUALL_IOLOOP`` environment
    variable, e.g. ``uvloop``); `IOLoop.current` returns the IOLoop of the
    running asyncio loop.  A new IOLoop becomes the thread's current one if
    there is none (``make_current=None``, the default); ``make_current=True``
    makes it current regardless, ``make_current=False`` never.

    Every method except `add_callback` and `add_callback_from_signal` must
    be called from the loop's thread.

    Example, a TCP server::

        import functools
        import socket
        from squall.ioloop import IOLoop

        def connection_ready(sock, fd, events):
            while True:
                try:
                    connection, address = sock.accept()
                except BlockingIOError:
                    return
                connection.setblocking(False)
                handle_connection(connection, address)

        sock = socket.create_server(("", 8888))
        sock.setblocking(False)
        io_loop = IOLoop.current()
        io_loop.add_handler(sock, functools.partial(connection_ready, sock), IOLoop.READ)
        io_loop.start()
    """

    __module__ = "squall.ioloop"

    #: Event masks for `add_handler`; the values are those of ``select.epoll``.
    NONE: ClassVar[int] = 0
    READ: ClassVar[int] = 0x001
    WRITE: ClassVar[int] = 0x004
    #: Errors are reported to asyncio readers and writers as readiness, so
    #: handlers see ERROR conditions as READ/WRITE events; the mask is
    #: accepted for compatibility.
    ERROR: ClassVar[int] = 0x018

    configurable_entry_point_group: ClassVar[str | None] = "squall.ioloop"

    #: The asyncio event loop this IOLoop wraps.
    asyncio_loop: asyncio.AbstractEventLoop

    # The SQUALL_IOLOOP value last resolved, and its class (an entry-point
    # lookup costs milliseconds; the variable rarely changes).
    _env_choice: ClassVar[tuple[str, type[Configurable]] | None] = None

    # ------------------------------------------------------------------
    # Configuration
    # ------------------------------------------------------------------

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return IOLoop

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        """Return the class named by ``SQUALL_IOLOOP``, else `AsyncIOLoop`.

        The variable holds a plugin name (``asyncio``, ``uvloop``, or one a
        third party registers in the ``squall.ioloop`` entry-point group) or
        a path (``"package.module:Class"``).  It is read when an IOLoop is
        first needed, and only if `configure` has not chosen a class.

        :raises PluginNotFoundError: if the name is not installed (the
            message lists those that are).
        :raises ImportError: if it cannot be imported.
        :raises ValueError: if it is not an IOLoop class.
        """
        name = os.environ.get(ENV_VAR, "").strip()
        if not name:
            from squall._ioloop._asyncio import AsyncIOLoop

            return AsyncIOLoop
        cached = IOLoop._env_choice
        if cached is not None and cached[0] == name:
            return cached[1]
        try:
            impl = IOLoop._resolve_name(name)
            if not (isinstance(impl, type) and issubclass(impl, IOLoop)):
                raise ValueError(f"{impl!r} is not a subclass of squall.ioloop.IOLoop")
        except (ImportError, ValueError) as exc:
            exc.add_note(f"(from the environment variable {ENV_VAR}={name!r})")
            raise
        IOLoop._env_choice = (name, impl)
        return impl

    def initialize(self, make_current: bool | None = None) -> None:
        """Make this loop the thread's current one, as `make_current` says.

        Subclasses call this last, once `asyncio_loop` is set.
        """
        if make_current is None:
            if _thread_current() is None:
                self._make_current()
        elif make_current:
            self._make_current()

    # ------------------------------------------------------------------
    # The current loop
    # ------------------------------------------------------------------

    @overload
    @staticmethod
    def current() -> IOLoop: ...

    @overload
    @staticmethod
    def current(instance: bool = True) -> IOLoop | None: ...

    @staticmethod
    def current(instance: bool = True) -> IOLoop | None:
        """Return the current thread's IOLoop.

        While an asyncio event loop runs in this thread, that is the IOLoop
        wrapping it (an `AsyncIOMainLoop` is created for a loop that has
        none, one per asyncio loop).  Otherwise it is the IOLoop made current
        for this thread (by its creation, `start`, `run_sync` or
        `make_current`).  If there is none, a new IOLoop is created and made
        current when `instance` is true; None is returned otherwise.
        """
        running = asyncio._get_running_loop()
        if running is not None:
            wrapper = _ioloop_for_asyncio.get(running)
            if wrapper is None:
                from squall._ioloop._asyncio import AsyncIOMainLoop

                wrapper = AsyncIOMainLoop(make_current=False)
            return wrapper
        current = _thread_current()
        if current is None and instance:
            current = IOLoop(make_current=True)
        return current

    def make_current(self) -> None:
        """Make this the current IOLoop of the thread (deprecated).

        Deprecated: an IOLoop is current while it runs; start it, or create
        it inside a running asyncio loop, instead.
        """
        _deprecated("IOLoop.make_current()", "IOLoop.start(), run_sync() or asyncio.run()")
        self._make_current()

    def _make_current(self) -> None:
        _thread_state.current = self
        # So that code creating asyncio objects before the loop runs (an
        # asyncio.Future() at start-up) binds them to this loop, as it would
        # have with Tornado, without asyncio's get_event_loop() warnings.
        asyncio.set_event_loop(self.asyncio_loop)

    @staticmethod
    def clear_current() -> None:
        """Forget the thread's current IOLoop (deprecated).

        Deprecated: the current IOLoop is the running one; close loops you
        create instead.
        """
        _deprecated("IOLoop.clear_current()", "IOLoop.close()")
        IOLoop._clear_current()

    @staticmethod
    def _clear_current() -> None:
        if _thread_state.current is not None:
            _thread_state.current = None
            asyncio.set_event_loop(None)

    def _clear_current_if_self(self) -> None:
        if _thread_state.current is self:
            IOLoop._clear_current()

    @staticmethod
    def instance() -> IOLoop:
        """Return `IOLoop.current()` (deprecated alias).

        Deprecated: in Tornado 4 this was the main thread's global loop; use
        `IOLoop.current()`, and `add_callback` on a loop you hold to reach it
        from another thread.
        """
        _deprecated("IOLoop.instance()", "IOLoop.current()")
        return IOLoop.current()

    @staticmethod
    def initialized() -> bool:
        """Return True if the thread has a current IOLoop (deprecated).

        Deprecated: use ``IOLoop.current(instance=False) is not None``.
        """
        _deprecated("IOLoop.initialized()", "IOLoop.current(instance=False) is not None")
        return IOLoop.current(instance=False) is not None

    def install(self) -> None:
        """Make this loop the current one (deprecated; was: the global instance).

        Deprecated: create the IOLoop in the thread that runs it, or
        configure the class with `IOLoop.configure`.
        """
        _deprecated("IOLoop.install()", "IOLoop.configure() or IOLoop.current()")
        self._make_current()

    @staticmethod
    def clear_instance() -> None:
        """Forget the thread's current IOLoop (deprecated; was: the global instance)."""
        _deprecated("IOLoop.clear_instance()", "IOLoop.close()")
        IOLoop._clear_current()

    # ------------------------------------------------------------------
    # The interface (implemented by BaseAsyncIOLoop)
    # ------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop until `stop` is called; it is current meanwhile.

        If `stop` was called while the loop was not running, `start` returns
        after one iteration.

        :raises RuntimeError: if this or another asyncio loop is already
            running in this thread, or the loop is closed.
        """
        raise NotImplementedError

    def stop(self) -> None:
        """Make `start` return after the current iteration of the loop.

        Callbacks already scheduled may still run before it does.  If the
        loop is not running, the next `start` returns at once.
        """
        raise NotImplementedError

    def run_sync(self, func: Callable[[], Any], timeout: float | None = None) -> Any:
        """Run the loop until `func`'s result is resolved, and return it.

        `func` is called with no arguments on the running loop.  It may
        return None, a value, or a yieldable (a coroutine, an asyncio or
        `concurrent.futures` Future, any awaitable, or a list or dict of
        them), whose result is returned.  Typical use::

            async def main():
                ...

            IOLoop.current().run_sync(main)

        :param timeout: at most this many seconds are given to the work;
            when they pass, the work is cancelled.
        :raises squall.util.TimeoutError: if `timeout` expired.
        :raises: whatever `func` or its result raised.
        :raises squall.gen.BadYieldError: if `func` returned a value that is
            neither None nor yieldable.
        """
        raise NotImplementedError

    def close(self, all_fds: bool = False) -> None:
        """Close the loop, freeing its resources.

        The loop must not be running (call `stop`, then let `start` return).
        With `all_fds`, the file descriptors and file-like objects still
        registered with `add_handler` are closed too.  An IOLoop wrapping an
        asyncio loop it did not create (`AsyncIOMainLoop`) leaves that loop
        open.  Closing twice does nothing.

        :raises RuntimeError: if the loop is running.
        """
        raise NotImplementedError

    def add_handler(
        self, fd: int | Selectable, handler: Callable[[Any, int], object], events: int
    ) -> None:
        """Call ``handler(fd, events)`` when `fd` is ready for `events`.

        `fd` is an integer file descriptor or an object with a ``fileno()``
        method (and optionally ``close()``, used by ``close(all_fds=True)``);
        the handler receives it as given.  `events` is a bitwise or of
        `READ`, `WRITE` and `ERROR`.

        :raises ValueError: if `fd` already has a handler.
        """
        raise NotImplementedError

    def update_handler(self, fd: int | Selectable, events: int) -> None:
        """Change the events that `fd`'s handler is called for.

        :raises KeyError: if `fd` has no handler.
        """
        raise NotImplementedError

    def remove_handler(self, fd: int | Selectable) -> None:
        """Stop listening for events on `fd`; nothing happens if it has no handler."""
        raise NotImplementedError

    def add_callback(self, callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Call ``callback(*args, **kwargs)`` on the next iteration of the loop.

        Safe from any thread (but not from a signal handler: see
        `add_callback_from_signal`).  The callback runs in a copy of the
        caller's `contextvars` context.  An exception it raises is logged to
        ``squall.application``; if it returns an awaitable, that is
        scheduled and its exception logged likewise.  On a closed loop the
        callback is silently dropped.
        """
        raise NotImplementedError

    def add_callback_from_signal(
        self, callback: Callable[..., object], *args: Any, **kwargs: Any
    ) -> None:
        """Like `add_callback`, safe to call from a Python signal handler."""
        raise NotImplementedError

    def spawn_callback(self, callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Call ``callback(*args, **kwargs)`` on the next iteration of the loop.

        The same as `add_callback` (stack contexts are gone: a callback runs
        in a copy of the caller's `contextvars` context either way).
        """
        self.add_callback(callback, *args, **kwargs)

    def add_future(
        self,
        future: asyncio.Future[_T] | Awaitable[_T] | Any,
        callback: Callable[[Any], object],
    ) -> None:
        """Call ``callback(future)`` on the loop once `future` is done.

        `future` is an asyncio or `concurrent.futures` Future (the latter
        may complete in any thread).  What the future raised is for the
        callback to find out; an exception the callback raises is logged.
        """
        raise NotImplementedError

    def add_timeout(
        self,
        deadline: float | datetime.timedelta,
        callback: Callable[..., object],
        *args: Any,
        **kwargs: Any,
    ) -> object:
        """Call ``callback(*args, **kwargs)`` at `deadline`.

        `deadline` is a time on the scale of `IOLoop.time`, or a
        `datetime.timedelta` from now.  Returns an opaque handle for
        `remove_timeout`.  Not thread-safe: from another thread, use
        `add_callback` to get onto the loop first.

        :raises TypeError: if `deadline` is neither a number nor a timedelta.
        """
        if isinstance(deadline, datetime.timedelta):
            return self.call_at(self.time() + deadline.total_seconds(), callback, *args, **kwargs)
        value: object = deadline  # numbers.Real also covers Fraction, numpy floats...
        if isinstance(value, numbers.Real):
            return self.call_at(float(value), callback, *args, **kwargs)
        raise TypeError(f"unsupported deadline {deadline!r}: expected a number or a timedelta")

    def call_at(
        self, when: float, callback: Callable[..., object], *args: Any, **kwargs: Any
    ) -> object:
        """Call ``callback(*args, **kwargs)`` at the time `when` (see `time`).

        Returns an opaque handle for `remove_timeout`.  Subclasses implement
        `call_at` or `add_timeout`; each defaults to the other.
        """
        return self.add_timeout(when, callback, *args, **kwargs)

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any, **kwargs: Any
    ) -> object:
        """Call ``callback(*args, **kwargs)`` after `delay` seconds.

        Returns an opaque handle for `remove_timeout`.
        """
        return self.call_at(self.time() + delay, callback, *args, **kwargs)

    def remove_timeout(self, timeout: object) -> None:
        """Cancel a pending timeout; harmless if it has already run or been cancelled."""
        raise NotImplementedError

    def time(self) -> float:
        """Return the loop's clock: seconds from an unspecified, fixed origin.

        This is the asyncio loop's monotonic ``loop.time()``, the scale of
        `call_at` and numeric `add_timeout` deadlines.
        """
        raise NotImplementedError

    def run_in_executor(
        self, executor: Executor | None, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        """Run ``func(*args)`` in `executor` and return an awaitable Future of its result.

        With `executor` None, the loop's default executor is used: the one
        given to `set_default_executor`, else a `ThreadPoolExecutor` with
        five workers per CPU, created on first use and shut down by `close`.
        """
        raise NotImplementedError

    def set_default_executor(self, executor: Executor) -> None:
        """Use `executor` for ``run_in_executor(None, ...)``."""
        raise NotImplementedError

    # ------------------------------------------------------------------
    # Error handling and helpers for subclasses
    # ------------------------------------------------------------------

    def handle_callback_exception(self, callback: object) -> None:
        """Log the exception being handled, raised by `callback`.

        Called from an ``except`` block whenever a callback run by the loop
        raises; the default logs it with its traceback to
        ``squall.application``.  Subclasses may report errors differently.
        """
        app_log.error("Exception in callback %r", callback, exc_info=True)

    def split_fd(self, fd: int | Selectable) -> tuple[int, int | Selectable]:
        """Return ``(file descriptor, object)`` for an fd or a file-like object.

        For subclasses implementing `add_handler`: the object is kept so that
        ``close(all_fds=True)`` can close it.
        """
        if isinstance(fd, int):
            return fd, fd
        return fd.fileno(), fd

    def close_fd(self, fd: int | Selectable) -> None:
        """Close an fd (with `os.close`) or a file-like object (its ``close()``).

        Errors (e.g. an fd already closed) are ignored.  For subclasses
        implementing ``close(all_fds=True)``.
        """
        try:
            if isinstance(fd, int):
                os.close(fd)
            else:
                fd.close()
        except OSError:
            pass

    # ------------------------------------------------------------------
    # Legacy blocking detection (Tornado 4)
    # ------------------------------------------------------------------

    def set_blocking_signal_threshold(
        self, seconds: float | None, action: Callable[[int, Any], object] | None
    ) -> None:
        """Call `action` when the loop is blocked for more than `seconds` (deprecated).

        Deprecated: use asyncio's debug mode (``PYTHONASYNCIODEBUG=1`` and
        ``loop.slow_callback_duration``).  A watchdog thread checks that
        the loop keeps turning; when one iteration takes longer than
        `seconds`, ``action(signal.SIGALRM, frame)`` is called from the
        watchdog thread with the loop thread's current frame, or the process
        is killed if `action` is None.  ``seconds=None`` disables it.
        """
        _deprecated(
            "IOLoop.set_blocking_signal_threshold()",
            "asyncio's debug mode (loop.slow_callback_duration)",
        )
        self._set_blocking_threshold(seconds, action, kill=action is None)

    def set_blocking_log_threshold(self, seconds: float | None) -> None:
        """Log a stack trace when the loop is blocked for more than `seconds` (deprecated).

        Equivalent to ``set_blocking_signal_threshold(seconds, self.log_stack)``.
        """
        _deprecated(
            "IOLoop.set_blocking_log_threshold()",
            "asyncio's debug mode (loop.slow_callback_duration)",
        )
        self._set_blocking_threshold(seconds, self.log_stack, kill=False)

    def _set_blocking_threshold(
        self,
        seconds: float | None,
        action: Callable[[int, Any], object] | None,
        kill: bool,
    ) -> None:
        raise NotImplementedError

    def log_stack(self, signal: int, frame: Any) -> None:
        """Log the stack of `frame` (a signal handler or blocking-detection action)."""
        import traceback

        from squall.log import gen_log

        gen_log.warning(
            "IOLoop blocked for %s seconds in\n%s",
            getattr(self, "_blocking_threshold", None),
            "".join(traceback.format_stack(frame)),
        )


# The IOLoop wrapping each asyncio loop.  A plain dict, not weak: the
# wrapper holds its loop strongly anyway.  Entries go when the IOLoop is
# closed, or when a new wrapper is registered and finds their loop closed
# (loops closed by asyncio.run(), for instance).
_ioloop_for_asyncio: dict[asyncio.AbstractEventLoop, BaseAsyncIOLoop] = {}
