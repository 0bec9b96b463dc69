"""`AsyncTestCase`, and `gen_test` for its coroutine tests."""

from __future__ import annotations

import functools
import inspect
import unittest
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from squall._testing._supervisor import TestLoop
from squall._testing._timeout import get_async_test_timeout

if TYPE_CHECKING:
    from squall.ioloop import IOLoop

__all__ = ["AsyncTestCase", "gen_test"]

_F = TypeVar("_F", bound=Callable[..., Any])


class AsyncTestCase(unittest.TestCase):
    """`unittest.TestCase` subclass for testing `IOLoop`-based asynchronous code.

    unittest is synchronous: a test is over when its method returns.  To
    test asynchronous code, decorate a coroutine (``async def``) or
    generator test method with `gen_test`, or use `stop` and `wait`: the
    test calls ``self.wait()``, which runs the loop until a callback calls
    ``self.stop()``.

    Each test gets a new `IOLoop` from `get_new_ioloop`, current for the
    duration of the test, in ``self.io_loop``.  Do not call its ``start`` or
    ``stop``: use ``self.wait`` and ``self.stop``.  What the test leaves
    behind is checked when it ends:

    - an exception raised in a callback the loop runs (or reported to the
      asyncio loop's exception handler) fails the test, unless an
      `ExpectLog` swallowed its log record; a pending ``wait()`` or
      `gen_test` coroutine ends at once;
    - tasks still pending are cancelled, transports and servers still open
      are closed (asyncio's loops; the loop's own handlers on every loop),
      and the lot is reported by one `RuntimeWarning`.

    A coroutine or generator test method without `gen_test` fails with
    `TypeError` (its body would never run); any other test method
    returning a value fails with `ValueError`.  Subclasses overriding
    `setUp` or `tearDown` must call the inherited method (``tearDown``
    last).

    Example::

        class MyTestCase(AsyncTestCase):
            @gen_test
            async def test_sleep(self):
                await gen.sleep(0.01)

            def test_stop_and_wait(self):
                self.io_loop.add_callback(self.stop, "done")
                self.assertEqual(self.wait(), "done")
    """

    __module__ = "squall.testing"

    io_loop: IOLoop

    def __init__(self, methodName: str = "runTest") -> None:
        super().__init__(methodName)
        self.__stopped = False
        self.__running = False
        self.__stop_args: Any = None
        self._squall_test_loop: TestLoop | None = None
        # Wrap the test method so that one whose body cannot have run (a
        # coroutine or generator function without @gen_test) fails.
        method = getattr(self, methodName, None)
        if method is not None:
            setattr(self, methodName, _TestMethodWrapper(method))

    def setUp(self) -> None:
        super().setUp()
        from squall.ioloop import IOLoop

        previous = IOLoop.current(instance=False)
        self.io_loop = self.get_new_ioloop()
        self._squall_test_loop = TestLoop(
            self.io_loop, owns=self.io_loop is not previous, on_failure=self.stop
        )

    def tearDown(self) -> None:
        __tracebackhide__ = True
        test_loop, self._squall_test_loop = self._squall_test_loop, None
        try:
            if test_loop is not None:
                test_loop.close(_location(self))
        finally:
            super().tearDown()

    def get_new_ioloop(self) -> IOLoop:
        """Return the `IOLoop` this test runs on: a new one, made current, by default.

        Override to return another loop, such as ``IOLoop.current()`` when
        the code under test needs a global loop; a loop that was already
        current is neither closed nor checked for leaks at the end.
        """
        from squall.ioloop import IOLoop

        io_loop: IOLoop = IOLoop(make_current=True)
        return io_loop

    def stop(self, _arg: Any = None, **kwargs: Any) -> None:
        """Stop the loop, making one pending (or the next) call to `wait` return.

        A single positional argument, or keyword arguments (returned as a
        dict), are what `wait` returns.

        :raises TypeError: if given both.
        """
        if _arg is not None and kwargs:
            raise TypeError("stop() takes one positional argument or keyword arguments, not both")
        self.__stop_args = kwargs or _arg
        if self.__running:
            self.io_loop.stop()
            self.__running = False
        self.__stopped = True

    def wait(
        self, condition: Callable[[], bool] | None = None, timeout: float | None = None
    ) -> Any:
        """Run the loop until `stop` is called or `timeout` passes; return what stop was given.

        If `condition` is given, the loop runs again after each `stop` until
        ``condition()`` is true.  `timeout` defaults to
        `get_async_test_timeout` (5 seconds, or ``ASYNC_TEST_TIMEOUT``).

        :raises AssertionError: (``self.failureException``) when the timeout
            passes first.
        :raises: the exception of a callback that failed meanwhile.
        """
        __tracebackhide__ = True
        test_loop = self._test_loop("wait()")
        if timeout is None:
            timeout = get_async_test_timeout()
        if not self.__stopped:
            limit = timeout

            def on_timeout() -> None:
                try:
                    raise self.failureException(
                        f"Async operation timed out after {limit} seconds "
                        "(wait() was not ended by a call to stop())"
                    )
                except AssertionError as exc:
                    test_loop.record_failure(exc)

            deadline = self.io_loop.call_later(timeout, on_timeout)
            try:
                while True:
                    self.__running = True
                    self.io_loop.start()
                    if test_loop.failure is not None or condition is None or condition():
                        break
            finally:
                self.__running = False
                self.io_loop.remove_timeout(deadline)
        self.__stopped = False
        test_loop.rethrow()
        result, self.__stop_args = self.__stop_args, None
        return result

    def _test_loop(self, what: str) -> TestLoop:
        test_loop = self._squall_test_loop
        if test_loop is None:
            raise RuntimeError(
                f"{what} needs the test's IOLoop: {type(self).__name__}.setUp() must call "
                "super().setUp(), and the test must not have ended"
            )
        return test_loop


class _TestMethodWrapper:
    """Calls a test method and refuses results that mean its body never ran."""

    def __init__(self, method: Callable[..., Any]) -> None:
        self.orig_method = method

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        __tracebackhide__ = True
        result = self.orig_method(*args, **kwargs)
        if inspect.iscoroutine(result) or inspect.isgenerator(result):
            result.close()  # never started: close it without a "never awaited" warning
            kind = "coroutine" if inspect.iscoroutine(result) else "generator"
            owner = getattr(self.orig_method, "__self__", None)
            name = self.orig_method.__name__
            if owner is not None:
                name = f"{type(owner).__name__}.{name}"
            raise TypeError(
                f"{name} is a {kind} function: calling it did not "
                "run its body. Decorate it with @squall.testing.gen_test"
            )
        if result is not None:
            raise ValueError(f"Return value from test method ignored: {result!r}")

    def __getattr__(self, name: str) -> Any:
        # unittest reads __unittest_skip__ and friends from the test method.
        return getattr(self.orig_method, name)


def _location(test: unittest.TestCase) -> tuple[str, int] | None:
    """Return the file and first line of `test`'s test method, for warnings."""
    method = getattr(type(test), test._testMethodName, None)
    method = inspect.unwrap(method) if method is not None else None
    code = getattr(method, "__code__", None)
    if code is None:
        return None
    return code.co_filename, code.co_firstlineno


@overload
def gen_test(func: _F) -> _F: ...


@overload
def gen_test(func: None = None, timeout: float | None = None) -> Callable[[_F], _F]: ...


def gen_test(func: Any = None, timeout: float | None = None) -> Any:
    """Run a coroutine test method of an `AsyncTestCase` on its loop, with a deadline.

    The testing equivalent of `squall.gen.coroutine`: apply it to
    ``async def`` test methods, or to generator methods in the
    ``yield``-based style::

        class MyTest(AsyncHTTPTestCase):
            @gen_test
            async def test_something(self):
                response = await self.http_client.fetch(self.get_url("/"))

            @gen_test(timeout=10)
            def test_something_slow(self):
                response = yield self.http_client.fetch(self.get_url("/"))

    The test fails with `squall.util.TimeoutError` (whose message says
    where the coroutine was waiting) if it takes longer than `timeout`
    seconds; by default `get_async_test_timeout`, read when the test
    starts: the ``ASYNC_TEST_TIMEOUT`` environment variable, else 5.
    Arguments the test is called with are passed along.  A callback that
    fails while the test runs ends it with that failure.

    :raises TypeError: when the test runs, if ``self`` has no IOLoop (not
        an `AsyncTestCase`, or its ``setUp`` did not call the inherited one):
        the body could not run.
    """

    def wrap(f: _F) -> _F:
        @functools.wraps(f)
        def post_coroutine(self: Any, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            name = f"{type(self).__name__}.{f.__name__}"
            limit = timeout if timeout is not None else get_async_test_timeout()
            test = functools.partial(f, self, *args, **kwargs)
            test_loop = getattr(self, "_squall_test_loop", None)
            if test_loop is not None:
                return test_loop.run(test, limit, name)
            io_loop = getattr(self, "io_loop", None)
            if io_loop is None:
                raise TypeError(
                    f"@gen_test cannot run {name}: {type(self).__name__} has no "
                    "IOLoop (it must be an AsyncTestCase whose setUp() calls "
                    "super().setUp()); its body did not run"
                )
            # Any object with an io_loop: supervised while the test runs.
            test_loop = TestLoop(io_loop, owns=False)
            try:
                return test_loop.run(test, limit, name)
            finally:
                test_loop.close()

        return post_coroutine  # type: ignore[return-value]

    if func is not None:
        if not callable(func):
            raise TypeError(
                f"gen_test() takes the test function or keyword arguments (timeout=...), "
                f"not {func!r}"
            )
        return wrap(func)
    return wrap
