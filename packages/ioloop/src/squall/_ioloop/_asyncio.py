"""The asyncio-backed IOLoops: `BaseAsyncIOLoop`, `AsyncIOMainLoop`, `AsyncIOLoop`.

Public as `squall.platform.asyncio`.  Every IOLoop is one of these: the
methods here are the real implementation of the `IOLoop` interface.

The callback paths (`add_callback`, `call_later`, `call_at`) are thin on
purpose: one asyncio ``call_soon``/``call_later`` of `_run_callback` with the
callback and its arguments, no partials and no per-call objects beyond
asyncio's Handle.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextvars
import functools
import os
import warnings
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, TypeVar

from squall._ioloop import _base
from squall._ioloop._base import IOLoop, Selectable, _thread_state
from squall._ioloop._futures import is_awaitable_result, to_asyncio_future
from squall.util import TimeoutError

__all__ = ["AsyncIOLoop", "AsyncIOMainLoop", "BaseAsyncIOLoop"]

_T = TypeVar("_T")

# The default executor's size: enough threads for blocking I/O (the usual
# use of run_in_executor), as concurrent.futures sized it before 3.8.
_EXECUTOR_WORKERS_PER_CPU = 5

# Looked up once: add_callback calls it every time.
_get_running_loop = asyncio._get_running_loop

_READ = IOLoop.READ
_WRITE = IOLoop.WRITE


class BaseAsyncIOLoop(IOLoop):
    """An IOLoop wrapping the asyncio event loop given to `initialize`.

    Handlers registered with `add_handler` use the asyncio loop's
    ``add_reader`` / ``add_writer`` (so a Proactor loop on Windows cannot
    serve them).  `IOLoop.ERROR` has no separate notification: asyncio
    reports error conditions as readiness to read or write.
    """

    __module__ = "squall.platform.asyncio"

    # Whether close() closes asyncio_loop (the loop was created for us).
    _owns_loop: ClassVar[bool] = False

    def initialize(  # type: ignore[override]
        self,
        asyncio_loop: asyncio.AbstractEventLoop,
        time_func: Callable[[], float] | None = None,
        **kwargs: Any,
    ) -> None:
        """Wrap `asyncio_loop`.

        `time_func` (Tornado 4's option) replaces the loop's clock for
        `time` and `call_at`; other keyword arguments go to
        `IOLoop.initialize` (``make_current``).

        :raises RuntimeError: if `asyncio_loop` already has an IOLoop.
        """
        self.asyncio_loop = asyncio_loop
        self._closed = False
        self._time_func = time_func
        # fd -> (the object given to add_handler, handler)
        self.handlers: dict[int, tuple[int | Selectable, Callable[..., object]]] = {}
        self.readers: set[int] = set()
        self.writers: set[int] = set()
        self._executor: concurrent.futures.Executor | None = None
        self._owns_executor = False
        self._watchdog: Any = None
        # Bound methods looked up once: add_callback runs millions of times.
        self._run = self._run_callback
        self._call_soon = asyncio_loop.call_soon
        self._call_soon_threadsafe = asyncio_loop.call_soon_threadsafe
        registry = _base._ioloop_for_asyncio
        for loop in [loop for loop in registry if loop.is_closed()]:
            del registry[loop]
        if asyncio_loop in registry:
            raise RuntimeError(
                f"the asyncio loop {asyncio_loop!r} already has an IOLoop; "
                "use IOLoop.current() inside it to get that one"
            )
        registry[asyncio_loop] = self
        try:
            super().initialize(**kwargs)
        except BaseException:
            del registry[asyncio_loop]
            raise

    def __repr__(self) -> str:
        return f"<{type(self).__name__} asyncio_loop={self.asyncio_loop!r}>"

    # ------------------------------------------------------------------
    # Running
    # ------------------------------------------------------------------

    def start(self) -> None:
        previous = _thread_state.current
        _thread_state.current = self
        try:
            self.asyncio_loop.run_forever()
        finally:
            _thread_state.current = previous

    def stop(self) -> None:
        self.asyncio_loop.stop()

    def run_sync(self, func: Callable[[], Any], timeout: float | None = None) -> Any:
        if asyncio._get_running_loop() is not None:
            # Checked before the coroutine exists: asyncio would refuse it
            # and leave it never awaited.
            raise RuntimeError("run_sync() cannot be called while an event loop is running")
        previous = _thread_state.current
        _thread_state.current = self
        try:
            return self.asyncio_loop.run_until_complete(_run_func(func, timeout))
        finally:
            _thread_state.current = previous

    def close(self, all_fds: bool = False) -> None:
        if self._closed:
            return
        if self._owns_loop and self.asyncio_loop.is_running():
            raise RuntimeError("cannot close a running IOLoop: stop() it and let start() return")
        self._closed = True
        for fd, (fileobj, _) in list(self.handlers.items()):
            self.remove_handler(fd)
            if all_fds:
                self.close_fd(fileobj)
        self._set_blocking_threshold(None, None, kill=False)
        if _base._ioloop_for_asyncio.get(self.asyncio_loop) is self:
            del _base._ioloop_for_asyncio[self.asyncio_loop]
        self._clear_current_if_self()
        if self._owns_executor and self._executor is not None:
            self._executor.shutdown(wait=False)
        if self._owns_loop:
            self.asyncio_loop.close()

    # ------------------------------------------------------------------
    # File descriptors
    # ------------------------------------------------------------------

    def add_handler(
        self, fd: int | Selectable, handler: Callable[[Any, int], object], events: int
    ) -> None:
        fileno, fileobj = self.split_fd(fd)
        if fileno in self.handlers:
            raise ValueError(f"fd {fileno} added twice")
        self.handlers[fileno] = (fileobj, handler)
        try:
            if events & _READ:
                self.asyncio_loop.add_reader(fileno, self._handle_events, fileno, _READ)
                self.readers.add(fileno)
            if events & _WRITE:
                self.asyncio_loop.add_writer(fileno, self._handle_events, fileno, _WRITE)
                self.writers.add(fileno)
        except BaseException:
            self.remove_handler(fileno)
            raise

    def update_handler(self, fd: int | Selectable, events: int) -> None:
        fileno, _ = self.split_fd(fd)
        if fileno not in self.handlers:
            raise KeyError(f"fd {fileno} has no handler")
        loop = self.asyncio_loop
        if events & _READ:
            if fileno not in self.readers:
                loop.add_reader(fileno, self._handle_events, fileno, _READ)
                self.readers.add(fileno)
        elif fileno in self.readers:
            loop.remove_reader(fileno)
            self.readers.discard(fileno)
        if events & _WRITE:
            if fileno not in self.writers:
                loop.add_writer(fileno, self._handle_events, fileno, _WRITE)
                self.writers.add(fileno)
        elif fileno in self.writers:
            loop.remove_writer(fileno)
            self.writers.discard(fileno)

    def remove_handler(self, fd: int | Selectable) -> None:
        fileno, _ = self.split_fd(fd)
        if fileno not in self.handlers and not isinstance(fd, int):
            # A socket closed before being removed reports fileno() -1:
            # find it by identity instead.
            fileno = next((k for k, (obj, _) in self.handlers.items() if obj is fd), -1)
        if fileno not in self.handlers:
            return
        if fileno in self.readers:
            self.readers.discard(fileno)
            self._quietly(self.asyncio_loop.remove_reader, fileno)
        if fileno in self.writers:
            self.writers.discard(fileno)
            self._quietly(self.asyncio_loop.remove_writer, fileno)
        del self.handlers[fileno]

    @staticmethod
    def _quietly(remove: Callable[[int], object], fileno: int) -> None:
        # Removing a reader of an fd closed meanwhile fails in some loops
        # (uvloop, selectors with a bad fd); it is gone either way.
        try:
            remove(fileno)
        except (OSError, ValueError, RuntimeError):
            pass

    def _handle_events(self, fileno: int, events: int) -> None:
        entry = self.handlers.get(fileno)
        if entry is None:
            return
        fileobj, handler = entry
        try:
            handler(fileobj, events)
        except Exception:
            self.handle_callback_exception(handler)

    # ------------------------------------------------------------------
    # Callbacks and timeouts
    # ------------------------------------------------------------------

    def add_callback(self, callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        if _get_running_loop() is self.asyncio_loop:
            # On the loop's own thread: no lock, no self-pipe write.
            self._call_soon(self._run, callback, args, kwargs)
            return
        try:
            self._call_soon_threadsafe(self._run, callback, args, kwargs)
        except RuntimeError:
            # The loop is closed: documented as a silent drop (a late
            # callback from another thread must not crash that thread).
            pass

    # The same thing (stack contexts are gone), without a second call.
    spawn_callback = add_callback

    def add_callback_from_signal(
        self, callback: Callable[..., object], *args: Any, **kwargs: Any
    ) -> None:
        try:
            # A fresh context: the callback must not pick up the context
            # of whatever code the signal interrupted.
            self._call_soon_threadsafe(
                self._run, callback, args, kwargs, context=contextvars.Context()
            )
        except RuntimeError:
            pass

    def call_at(
        self, when: float, callback: Callable[..., object], *args: Any, **kwargs: Any
    ) -> object:
        if self._time_func is None:
            return self.asyncio_loop.call_at(when, self._run, callback, args, kwargs)
        # A custom clock: turn its deadline into a delay on asyncio's.
        delay = max(0.0, when - self._time_func())
        return self.asyncio_loop.call_later(delay, self._run, callback, args, kwargs)

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any, **kwargs: Any
    ) -> object:
        return self.asyncio_loop.call_later(delay, self._run, callback, args, kwargs)

    def remove_timeout(self, timeout: object) -> None:
        timeout.cancel()  # type: ignore[attr-defined]

    def time(self) -> float:
        if self._time_func is None:
            return self.asyncio_loop.time()
        return self._time_func()

    def add_future(self, future: Any, callback: Callable[[Any], object]) -> None:
        if isinstance(future, concurrent.futures.Future):
            # May complete in any thread: hop onto the loop.
            future.add_done_callback(functools.partial(self.add_callback, callback))
            return
        if not asyncio.isfuture(future):
            future = to_asyncio_future(future, self.asyncio_loop)
        future.add_done_callback(functools.partial(self._run_future_callback, callback))

    def _run_callback(
        self, callback: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        try:
            result = callback(*args, **kwargs)
        except Exception:
            self.handle_callback_exception(callback)
            return
        if result is not None:
            self._watch_result(callback, result)

    def _run_future_callback(self, callback: Callable[[Any], object], future: Any) -> None:
        try:
            result = callback(future)
        except Exception:
            self.handle_callback_exception(callback)
            return
        if result is not None:
            self._watch_result(callback, result)

    def _watch_result(self, callback: object, result: object) -> None:
        """Schedule an awaitable returned by `callback`, logging its exception."""
        if not is_awaitable_result(result):
            return  # plain return values are ignored
        try:
            future = to_asyncio_future(result, self.asyncio_loop)
        except Exception:
            self.handle_callback_exception(callback)
            return
        future.add_done_callback(functools.partial(self._check_result, callback))

    def _check_result(self, callback: object, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            return
        try:
            future.result()
        except Exception:
            self.handle_callback_exception(callback)

    # ------------------------------------------------------------------
    # Executors
    # ------------------------------------------------------------------

    def run_in_executor(
        self, executor: concurrent.futures.Executor | None, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        if executor is None:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=(os.cpu_count() or 1) * _EXECUTOR_WORKERS_PER_CPU
                )
                self._owns_executor = True
            executor = self._executor
        return self.asyncio_loop.run_in_executor(executor, func, *args)

    def set_default_executor(self, executor: concurrent.futures.Executor) -> None:
        if self._owns_executor and self._executor is not None:
            self._executor.shutdown(wait=False)
        self._executor = executor
        self._owns_executor = False

    # ------------------------------------------------------------------
    # Blocking detection (deprecated)
    # ------------------------------------------------------------------

    def _set_blocking_threshold(
        self,
        seconds: float | None,
        action: Callable[[int, Any], object] | None,
        kill: bool,
    ) -> None:
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None
        self._blocking_threshold = seconds
        if seconds is not None:
            from squall._ioloop._blocking import Watchdog

            self._watchdog = Watchdog(self, seconds, action, kill)


async def _run_func(func: Callable[[], Any], timeout: float | None) -> Any:
    """The body of `run_sync`: call `func`, await its result within `timeout`."""
    if timeout is None:
        return await _await_result(func())
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            return await _await_result(func())
    except builtins.TimeoutError:
        if deadline.expired():
            raise TimeoutError(f"Operation timed out after {timeout} seconds") from None
        raise


async def _await_result(result: Any) -> Any:
    if result is None:
        return None
    if isinstance(result, Coroutine):
        return await result
    return await to_asyncio_future(result)


class AsyncIOMainLoop(BaseAsyncIOLoop):
    """An IOLoop wrapping the current asyncio event loop.

    That is the running loop, or if none runs, the loop asyncio considers
    current for this thread (created if there is none).  `IOLoop.current`
    creates these on demand inside a running loop, so that ``asyncio.run``
    programs need nothing more.  Closing it leaves the asyncio loop open.
    The Tornado 4 idiom still works::

        AsyncIOMainLoop().install()   # deprecated
        asyncio.get_event_loop().run_forever()
    """

    __module__ = "squall.platform.asyncio"

    def initialize(self, **kwargs: Any) -> None:  # type: ignore[override]
        super().initialize(_current_asyncio_loop(), **kwargs)


class AsyncIOLoop(BaseAsyncIOLoop):
    """An IOLoop that creates, owns and closes a new asyncio event loop.

    The default IOLoop class: ``IOLoop()`` creates one.  The loop is in the
    `asyncio_loop` attribute.
    """

    __module__ = "squall.platform.asyncio"

    _owns_loop: ClassVar[bool] = True

    def initialize(self, **kwargs: Any) -> None:  # type: ignore[override]
        loop = self._new_event_loop()
        try:
            super().initialize(loop, **kwargs)
        except BaseException:
            loop.close()
            raise

    def _new_event_loop(self) -> asyncio.AbstractEventLoop:
        """Create the asyncio loop to wrap; subclasses return other kinds."""
        return asyncio.new_event_loop()


def _current_asyncio_loop() -> asyncio.AbstractEventLoop:
    """Return the running asyncio loop, else the thread's, else a new one set as current."""
    running = asyncio._get_running_loop()
    if running is not None:
        return running
    # asyncio.get_event_loop() warns when it has to create a loop (3.12+)
    # and fails in 3.14; only the loop explicitly set is wanted here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            loop = None
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    return loop
