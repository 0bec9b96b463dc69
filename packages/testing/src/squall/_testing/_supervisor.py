"""One test's IOLoop under supervision: `TestLoop`.

Shared by `AsyncTestCase` and the pytest plugin's ``io_loop`` fixture.
While a test runs, a `TestLoop`

- turns an exception raised in a callback the IOLoop runs (or reported to
  the asyncio loop's exception handler, e.g. "Task exception was never
  retrieved") into the test's failure, unless an `ExpectLog` swallowed its
  log record;
- runs the test's coroutine with a deadline (`TestLoop.run`), ending it
  early when a callback fails, and says where it was waiting when the
  deadline passed;

and when the test is over (`TestLoop.close`) it reports what the test left
behind: tasks still pending and, on asyncio's selector loops, transports,
servers and handlers still registered with the loop.  They are cancelled or
closed, then reported with one `RuntimeWarning`: an error where warnings
are errors, as in squall's own suite.  (Not a `ResourceWarning`: Python and
pytest hide those by default.)
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import traceback
import types
import warnings
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from squall._testing._log import suppressed_count

if TYPE_CHECKING:
    from squall.ioloop import IOLoop

__all__ = ["TestLoop", "TimeoutError"]

from squall.util import TimeoutError

#: Loop iterations the teardown gives work that is finishing (a task about
#: to return, a transport whose connection_lost is scheduled) before it
#: calls what is left leaked.
_SETTLE_ITERATIONS = 20

#: Seconds a task gets to finish after being cancelled (on timeout, on a
#: failure, or as a leak); one that ignores cancellation is left behind.
_CANCEL_GRACE = 1.0


class TestLoop:
    """Supervise `io_loop` for one test.

    :param owns: close the IOLoop in `close` and report leaks (False for a
        loop the test did not create, such as a shared global one).
    :param on_failure: called after a failure is recorded, e.g.
        `AsyncTestCase.stop` so that a pending ``wait()`` returns.
    :param callback_errors_fail: make exceptions of callbacks failures;
        with False they are only logged, as without supervision.
    """

    __test__ = False  # not a test class, whatever pytest's naming rules say

    def __init__(
        self,
        io_loop: IOLoop,
        *,
        owns: bool = True,
        on_failure: Callable[[], object] | None = None,
        callback_errors_fail: bool = True,
    ) -> None:
        self.io_loop = io_loop
        self.owns = owns
        self.on_failure = on_failure
        #: The first failure recorded and not yet raised.
        self.failure: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        loop = io_loop.asyncio_loop
        self._previous_handler = loop.get_exception_handler()
        if callback_errors_fail:
            loop.set_exception_handler(self._asyncio_exception)
            # An instance attribute over the documented hook (the IOLoop's
            # handle_callback_exception); removed again by close().
            io_loop.handle_callback_exception = self._callback_exception  # type: ignore[method-assign]

    # ------------------------------------------------------------------
    # Failures
    # ------------------------------------------------------------------

    def record_failure(self, exc: BaseException) -> None:
        """Make `exc` the test's failure (the first one wins; later ones are logged)."""
        if self._closed:
            return
        if self.failure is None:
            self.failure = exc
        elif exc is not self.failure:
            from squall.log import app_log

            app_log.error("another failure in the same test", exc_info=exc)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        if self.on_failure is not None:
            self.on_failure()

    def take_failure(self) -> BaseException | None:
        """Return the pending failure, if any, and forget it."""
        failure, self.failure = self.failure, None
        return failure

    def rethrow(self) -> None:
        """Raise the pending failure, if any."""
        __tracebackhide__ = True
        failure = self.take_failure()
        if failure is not None:
            raise failure

    def _callback_exception(self, callback: object) -> None:
        exc = sys.exc_info()[1]
        before = suppressed_count()
        type(self.io_loop).handle_callback_exception(self.io_loop, callback)
        if exc is not None and suppressed_count() == before:
            exc.add_note(f"(raised in a callback the IOLoop ran: {callback!r})")
            self.record_failure(exc)

    def _asyncio_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        before = suppressed_count()
        if self._previous_handler is not None:
            self._previous_handler(loop, context)
        else:
            loop.default_exception_handler(context)
        exc = context.get("exception")
        if isinstance(exc, Exception) and suppressed_count() == before:
            exc.add_note(f"(reported to the asyncio loop: {context.get('message')})")
            self.record_failure(exc)

    # ------------------------------------------------------------------
    # Running the test
    # ------------------------------------------------------------------

    def run(self, func: Callable[[], object], timeout: float | None, what: str) -> Any:
        """Call `func` on the running loop and wait for what it returns; return its result.

        `func` may be a plain function (its return value is returned), a
        coroutine function, a generator function (run as a
        `squall.gen.coroutine`) or return any awaitable.  The loop runs
        until the result is resolved, a callback fails, or `timeout`
        seconds pass.

        :raises TimeoutError: (`squall.util.TimeoutError`) when `timeout`
            passed; its message names `what` and where it was waiting.
            The work is cancelled.
        :raises: the failure of a callback (the work is then cancelled), or
            what the work raised.
        :raises RuntimeError: if the loop is already running (a test runs
            on a loop that is not).
        """
        __tracebackhide__ = True
        self.rethrow()
        outcome = self.io_loop.run_sync(functools.partial(self._drive, func, timeout, what))
        if isinstance(outcome, _Raised):
            # Raised here rather than through run_sync, so that the
            # traceback shows the test's frames, not the loop's.
            raise outcome.exception
        return outcome

    async def _drive(self, func: Callable[[], object], timeout: float | None, what: str) -> Any:
        __tracebackhide__ = True
        try:
            return await self._drive_unsafe(func, timeout, what)
        except (Exception, asyncio.CancelledError) as exc:
            return _Raised(exc)

    async def _drive_unsafe(
        self, func: Callable[[], object], timeout: float | None, what: str
    ) -> Any:
        __tracebackhide__ = True
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        try:
            result = func()
            if inspect.isgenerator(result):
                from squall import gen

                generator = result
                work: asyncio.Future[Any] = gen.coroutine(lambda: generator)()
                body: object = generator
            elif inspect.iscoroutine(result):
                work = loop.create_task(result)
                body = result
            elif inspect.isawaitable(result):
                work = asyncio.ensure_future(result)
                body = work
            else:
                return result
            done, _ = await asyncio.wait(
                {work, waiter}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if work in done:
                value = work.result()  # raises what the work raised
                self.rethrow()
                return value
            where = _where(body)
            await _cancel(work)
            if waiter in done:
                self.rethrow()
            message = f"{what} timed out after {timeout} seconds"
            if where:
                message += "; it was waiting at:\n" + where
            raise TimeoutError(message)
        finally:
            self._waiter = None

    # ------------------------------------------------------------------
    # The end of the test
    # ------------------------------------------------------------------

    def close(self, location: tuple[str, int] | None = None) -> None:
        """End the test: clean up, close the loop, report a failure or leaks.

        Leaked tasks are cancelled and leaked transports, servers and
        handlers closed before the loop is closed (with ``all_fds=True``),
        whatever happens.  Then a failure recorded and not raised yet is
        raised (with the leaks in its notes); otherwise leaks are reported
        by a `RuntimeWarning` attributed to `location` (a test's file and
        line) when given.  Closing twice does nothing.
        """
        __tracebackhide__ = True
        if self._closed:
            return
        leaks: list[str] = []
        try:
            if self.owns and not self.io_loop.asyncio_loop.is_closed():
                leaks = self.io_loop.asyncio_loop.run_until_complete(self._clean_up())
        finally:
            self._closed = True
            self._unhook()
            if self.owns:
                self.io_loop.close(all_fds=True)
        failure = self.take_failure()
        if failure is not None:
            for leak in leaks:
                failure.add_note(f"the test also left behind {leak}")
            raise failure
        if leaks:
            message = "the test left behind (closed by squall.testing):\n  " + "\n  ".join(leaks)
            if location is None:
                warnings.warn(message, RuntimeWarning, stacklevel=2)
            else:
                warnings.warn_explicit(message, RuntimeWarning, location[0], location[1])

    def _unhook(self) -> None:
        loop = self.io_loop.asyncio_loop
        if loop.get_exception_handler() == self._asyncio_exception:
            loop.set_exception_handler(self._previous_handler)
        if self.io_loop.__dict__.get("handle_callback_exception") == self._callback_exception:
            del self.io_loop.__dict__["handle_callback_exception"]

    async def _clean_up(self) -> list[str]:
        current = asyncio.current_task()
        leaks: list[str] = []

        def pending() -> list[asyncio.Task[Any]]:
            return [t for t in asyncio.all_tasks() if t is not current and not t.done()]

        for _ in range(_SETTLE_ITERATIONS):
            if not pending() and not _open_transports(self.io_loop):
                break
            await asyncio.sleep(0)
        tasks = pending()
        for task in tasks:
            leaks.append(f"a pending task: {task!r}")
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_CANCEL_GRACE)
        for description, close in _open_transports(self.io_loop):
            leaks.append(description)
            close()
        for _ in range(_SETTLE_ITERATIONS):
            if not pending():
                break
            await asyncio.sleep(0)
        # An async generator's finally may wait forever: bounded too.
        await _cancel_after(asyncio.get_running_loop().shutdown_asyncgens(), _CANCEL_GRACE)
        return leaks


class _Raised:
    """What `TestLoop._drive` returns instead of raising."""

    def __init__(self, exception: BaseException) -> None:
        self.exception = exception


async def _cancel_after(work: Coroutine[Any, Any, Any], seconds: float) -> None:
    """Run `work` for at most `seconds`, then cancel it."""
    task = asyncio.ensure_future(work)
    await asyncio.wait({task}, timeout=seconds)
    if not task.done():
        await _cancel(task)


async def _cancel(work: asyncio.Future[Any]) -> None:
    """Cancel `work` and give it `_CANCEL_GRACE` seconds to finish."""
    work.cancel()
    await asyncio.wait({work}, timeout=_CANCEL_GRACE)
    if work.done() and not work.cancelled():
        work.exception()  # retrieved: its outcome no longer matters


def _where(body: object) -> str:
    """Format the chain of frames `body` (a coroutine or generator) is suspended in."""
    frames: list[types.FrameType] = []
    seen: set[int] = set()
    current: object = body
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, types.CoroutineType):
            frame, current = current.cr_frame, current.cr_await
        elif isinstance(current, types.GeneratorType):
            frame, current = current.gi_frame, current.gi_yieldfrom
        else:
            break
        if frame is not None:
            frames.append(frame)
    summary = traceback.StackSummary.extract((f, f.f_lineno) for f in frames)
    return "".join(summary.format()).rstrip()


def _open_transports(io_loop: IOLoop) -> list[tuple[str, Callable[[], object]]]:
    """Describe what is still registered with the loop, each with a way to close it.

    Only asyncio's selector loops can be asked (through their selector);
    for other loops (uvloop) only the IOLoop's own handlers are seen.
    """
    found: list[tuple[str, Callable[[], object]]] = []
    handlers: dict[int, tuple[Any, Any]] = getattr(io_loop, "handlers", {})
    for fileobj, _ in handlers.values():
        found.append(
            # Closed by IOLoop.close(all_fds=True).
            (f"a handler registered with add_handler for {fileobj!r}", _nothing)
        )
    loop = io_loop.asyncio_loop
    # Private to asyncio's selector loops, and stable since Python 3.4: the
    # selector (whose keys carry the reader and writer Handles) and the
    # loop's own self-pipe.
    selector = getattr(loop, "_selector", None)
    self_pipe = getattr(loop, "_ssock", None)
    if selector is None:
        return found
    own_fd = self_pipe.fileno() if self_pipe is not None else -1
    for key in list(selector.get_map().values()):
        if key.fd == own_fd or key.fd in handlers:
            continue
        handles = [handle for handle in key.data if handle is not None]
        found.append(_describe_fd(loop, key.fd, handles))
    return found


def _describe_fd(
    loop: asyncio.AbstractEventLoop, fd: int, handles: list[asyncio.Handle]
) -> tuple[str, Callable[[], object]]:
    """Say what watches `fd` (through its Handles) and how to close it."""
    for handle in handles:
        callback = getattr(handle, "_callback", None)
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.BaseTransport):
            return f"an open {owner!r}", owner.abort if hasattr(owner, "abort") else owner.close
        for argument in getattr(handle, "_args", None) or ():
            if isinstance(argument, asyncio.AbstractServer):  # a listening socket's accept
                return f"an open {argument!r} (fd {fd})", argument.close
    # Something else reads or writes the fd: stop watching it, but leave
    # closing it to its owner (closing an fd one does not own is unsafe).
    watcher = ", ".join(repr(getattr(handle, "_callback", handle)) for handle in handles)
    return f"fd {fd} watched by {watcher}", functools.partial(_forget_fd, loop, fd)


def _nothing() -> None:
    pass


def _forget_fd(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    loop.remove_reader(fd)
    loop.remove_writer(fd)
