"""AsyncTestCase and gen_test, run in-process through unittest's own machinery."""

from __future__ import annotations

import asyncio
import unittest
from collections.abc import Callable
from typing import Any

import pytest

from squall import gen
from squall.ioloop import IOLoop
from squall.testing import AsyncTestCase, ExpectLog, gen_test
from squall.util import TimeoutError


def run(case: type[unittest.TestCase], name: str) -> unittest.TestResult:
    """Run one test method of `case` and return unittest's result."""
    result = unittest.TestResult()
    case(name).run(result)
    return result


def only_problem(result: unittest.TestResult) -> str:
    """Return the formatted traceback of the result's single failure or error."""
    problems = result.failures + result.errors
    assert result.testsRun == 1
    assert len(problems) == 1, problems
    return problems[0][1]


def assert_passed(result: unittest.TestResult) -> None:
    assert result.testsRun == 1
    assert not result.failures, result.failures
    assert not result.errors, result.errors


# -- the loop -----------------------------------------------------------------------


def test_each_test_gets_a_new_current_loop_closed_afterwards() -> None:
    seen: list[IOLoop] = []

    class Case(AsyncTestCase):
        def test_one(self) -> None:
            assert IOLoop.current() is self.io_loop
            seen.append(self.io_loop)

        test_two = test_one

    assert_passed(run(Case, "test_one"))
    assert_passed(run(Case, "test_two"))
    assert seen[0] is not seen[1]
    assert all(loop.asyncio_loop.is_closed() for loop in seen)
    assert IOLoop.current(instance=False) is None


def test_get_new_ioloop_can_return_a_shared_loop_which_is_left_open() -> None:
    shared = IOLoop(make_current=True)
    try:

        class Case(AsyncTestCase):
            def get_new_ioloop(self) -> IOLoop:
                return IOLoop.current()

            @gen_test
            async def test_it(self) -> None:
                assert IOLoop.current() is shared

        assert_passed(run(Case, "test_it"))
        assert not shared.asyncio_loop.is_closed()
    finally:
        shared.close()


# -- stop and wait -------------------------------------------------------------------


def test_stop_passes_arguments_to_wait() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            self.io_loop.add_callback(self.stop, "positional")
            assert self.wait() == "positional"
            self.io_loop.add_callback(lambda: self.stop(a=1, b=2))
            assert self.wait() == {"a": 1, "b": 2}
            self.stop("already stopped")  # before wait(): it returns at once
            assert self.wait() == "already stopped"

    assert_passed(run(Case, "test_it"))


def test_stop_refuses_both_kinds_of_arguments() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            with pytest.raises(TypeError, match="not both"):
                self.stop(1, a=2)

    assert_passed(run(Case, "test_it"))


def test_wait_with_a_condition_runs_until_it_holds() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            counter = [0]

            def tick() -> None:
                counter[0] += 1
                self.stop()
                if counter[0] < 3:
                    self.io_loop.add_callback(tick)

            self.io_loop.add_callback(tick)
            self.wait(condition=lambda: counter[0] == 3)
            assert counter[0] == 3

    assert_passed(run(Case, "test_it"))


def test_wait_times_out_with_a_failure() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            self.wait(timeout=0.05)

    result = run(Case, "test_it")
    assert len(result.failures) == 1  # a failure (AssertionError), not an error
    assert "Async operation timed out after 0.05 seconds" in result.failures[0][1]
    assert "stop()" in result.failures[0][1]


def test_wait_timeout_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.05")

    class Case(AsyncTestCase):
        def test_it(self) -> None:
            self.wait()

    assert "timed out after 0.05 seconds" in only_problem(run(Case, "test_it"))


# -- failures in callbacks -------------------------------------------------------------


def boom() -> None:
    raise ValueError("boom in a callback")


def test_a_failing_callback_ends_wait_with_its_exception() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            self.io_loop.add_callback(boom)
            self.wait()

    problem = only_problem(run(Case, "test_it"))
    assert "ValueError: boom in a callback" in problem
    assert "raised in a callback the IOLoop ran" in problem


def test_a_failed_assertion_in_a_callback_is_a_failure() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            def check() -> None:
                self.assertEqual(1, 2)  # noqa: PT009 (unittest's failure)

            self.io_loop.add_callback(check)
            self.wait()

    result = run(Case, "test_it")
    assert len(result.failures) == 1
    assert "AssertionError: 1 != 2" in result.failures[0][1]


def test_a_failing_callback_ends_a_gen_test() -> None:
    class Case(AsyncTestCase):
        @gen_test(timeout=30)
        async def test_it(self) -> None:
            self.io_loop.add_callback(boom)
            await asyncio.sleep(30)

    assert "ValueError: boom in a callback" in only_problem(run(Case, "test_it"))


def test_a_failing_callback_after_the_test_body_fails_the_test_at_teardown() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            self.io_loop.add_callback(boom)
            self.io_loop.run_sync(lambda: gen.sleep(0.01))  # not through wait()

    assert "ValueError: boom in a callback" in only_problem(run(Case, "test_it"))


def test_a_failing_callback_expected_by_expectlog_does_not_fail() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            self.io_loop.add_callback(boom)
            self.io_loop.call_later(0.01, self.stop)
            with ExpectLog("squall.application", "Exception in callback") as expect:
                self.wait()
            assert expect.matched == 1
            assert expect.logged_stack

    assert_passed(run(Case, "test_it"))


def test_exceptions_reported_to_asyncio_fail_the_test() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            def raw_asyncio_callback() -> None:
                raise KeyError("raised in a plain asyncio callback")

            self.io_loop.asyncio_loop.call_soon(raw_asyncio_callback)
            self.io_loop.asyncio_loop.call_soon(self.stop)
            self.wait()

    problem = only_problem(run(Case, "test_it"))
    assert "KeyError: 'raised in a plain asyncio callback'" in problem
    assert "reported to the asyncio loop" in problem


def test_only_the_first_failure_is_raised_and_the_others_logged() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            self.io_loop.add_callback(boom)
            self.io_loop.add_callback(boom)
            with ExpectLog("squall.application", "another failure in the same test"):
                self.io_loop.run_sync(lambda: gen.sleep(0.01))
                with pytest.raises(ValueError):
                    self.wait()

    assert_passed(run(Case, "test_it"))


# -- gen_test --------------------------------------------------------------------------


def test_gen_test_runs_coroutines_generators_and_plain_functions() -> None:
    ran: list[str] = []

    class Case(AsyncTestCase):
        @gen_test
        async def test_native(self) -> None:
            await gen.sleep(0)
            ran.append("native")

        @gen_test
        def test_generator(self) -> Any:
            yield gen.sleep(0)
            ran.append("generator")

        @gen_test
        @gen.coroutine
        def test_decorated_coroutine(self) -> Any:
            yield gen.moment
            ran.append("gen.coroutine")

        @gen_test
        def test_plain(self) -> None:
            ran.append("plain")

        @gen_test(timeout=3)
        async def test_with_arguments(self) -> None:
            ran.append("with arguments")

    for name in (
        "test_native",
        "test_generator",
        "test_decorated_coroutine",
        "test_plain",
        "test_with_arguments",
    ):
        assert_passed(run(Case, name))
    assert ran == ["native", "generator", "gen.coroutine", "plain", "with arguments"]


def test_gen_test_passes_arguments_along() -> None:
    class Case(AsyncTestCase):
        @gen_test
        async def helper(self, a: int, b: int = 0) -> None:
            self.total = a + b

        def test_it(self) -> None:
            self.helper(1, b=2)
            assert self.total == 3

    assert_passed(run(Case, "test_it"))


def test_gen_test_keeps_the_test_name_and_is_seen_as_sync() -> None:
    import inspect

    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self) -> None:
            pass

    assert Case.test_it.__name__ == "test_it"
    assert not inspect.iscoroutinefunction(Case.test_it)


def test_gen_test_timeout_says_where_the_test_was_waiting() -> None:
    async def stuck_helper() -> None:
        await asyncio.Event().wait()

    class Case(AsyncTestCase):
        @gen_test(timeout=0.05)
        async def test_it(self) -> None:
            await stuck_helper()

    problem = only_problem(run(Case, "test_it"))
    assert "TimeoutError: Case.test_it timed out after 0.05 seconds" in problem
    assert "in test_it" in problem
    assert "in stuck_helper" in problem
    assert "await asyncio.Event().wait()" in problem


def test_gen_test_timeout_of_a_generator_test() -> None:
    class Case(AsyncTestCase):
        @gen_test(timeout=0.05)
        def test_it(self) -> Any:
            yield asyncio.Event().wait()

    problem = only_problem(run(Case, "test_it"))
    assert "timed out after 0.05 seconds" in problem
    assert "yield asyncio.Event().wait()" in problem


def test_gen_test_raises_squall_timeout_error() -> None:
    class Case(AsyncTestCase):
        @gen_test(timeout=0.01)
        async def helper(self) -> None:
            await asyncio.sleep(10)

        def test_it(self) -> None:
            with pytest.raises(TimeoutError):
                self.helper()

    assert_passed(run(Case, "test_it"))


def test_gen_test_timeout_comes_from_the_environment_when_the_test_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self) -> None:
            await asyncio.sleep(10)

    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.05")
    assert "timed out after 0.05 seconds" in only_problem(run(Case, "test_it"))


def test_gen_test_cancels_the_test_on_timeout() -> None:
    cancelled: list[bool] = []

    class Case(AsyncTestCase):
        @gen_test(timeout=0.05)
        async def test_it(self) -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

    only_problem(run(Case, "test_it"))
    assert cancelled == [True]


def test_gen_test_reports_the_test_exception() -> None:
    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self) -> None:
            await gen.moment
            self.assertEqual("expected", "actual")  # noqa: PT009

    result = run(Case, "test_it")
    assert len(result.failures) == 1
    assert "AssertionError: 'expected' != 'actual'" in result.failures[0][1]


@pytest.mark.parametrize("kind", ["async def", "generator"])
def test_a_coroutine_test_without_gen_test_is_refused(kind: str) -> None:
    class Case(AsyncTestCase):
        if kind == "async def":

            async def test_it(self) -> None:
                pass

        else:

            def test_it(self) -> Any:
                yield gen.moment

    problem = only_problem(run(Case, "test_it"))
    assert "TypeError" in problem
    assert "did not run its body" in problem
    assert "gen_test" in problem


def test_a_test_returning_a_value_is_refused() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> int:
            return 42

    assert "Return value from test method ignored: 42" in only_problem(run(Case, "test_it"))


def test_gen_test_outside_an_async_test_case_is_refused() -> None:
    class Case(unittest.TestCase):
        @gen_test
        async def test_it(self) -> None:
            pass

    problem = only_problem(run(Case, "test_it"))
    assert "@gen_test cannot run Case.test_it" in problem
    assert "its body did not run" in problem


def test_gen_test_with_a_setup_that_forgot_super_is_refused() -> None:
    class Case(AsyncTestCase):
        def setUp(self) -> None:
            pass

        @gen_test
        async def test_it(self) -> None:
            pass

    assert "super().setUp()" in only_problem(run(Case, "test_it"))


def test_gen_test_on_any_object_with_an_io_loop() -> None:
    class Holder:
        def __init__(self, io_loop: IOLoop) -> None:
            self.io_loop = io_loop

        @gen_test
        async def method(self) -> int:
            await gen.moment
            return 7

    io_loop = IOLoop(make_current=False)
    try:
        assert Holder(io_loop).method() == 7
        assert "handle_callback_exception" not in vars(io_loop)  # supervision ended
        assert io_loop.asyncio_loop.get_exception_handler() is None
        assert not io_loop.asyncio_loop.is_closed()  # not ours to close
    finally:
        io_loop.close()


def test_gen_test_refuses_a_non_callable() -> None:
    with pytest.raises(TypeError, match="timeout="):
        gen_test(5)  # type: ignore[call-overload]


def test_skips_and_expected_failures_still_work() -> None:
    class Case(AsyncTestCase):
        @unittest.skip("because")
        def test_skipped(self) -> None:
            raise AssertionError

        @unittest.expectedFailure
        @gen_test
        async def test_expected(self) -> None:
            raise AssertionError

    result = run(Case, "test_skipped")
    assert result.skipped
    assert not result.errors
    result = run(Case, "test_expected")
    assert result.expectedFailures
    assert not result.errors


# -- what a test leaves behind --------------------------------------------------------

#: Tasks the tests below leave behind on purpose (referenced, as tasks should be).
LEFT_BEHIND: list[asyncio.Future[Any]] = []


def leak_warning(result: unittest.TestResult) -> str:
    problem = only_problem(result)
    assert "RuntimeWarning: the test left behind" in problem
    return problem


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_leaked_tasks_are_cancelled_and_reported() -> None:
    cancelled: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self) -> None:
            LEFT_BEHIND.append(asyncio.ensure_future(forever()))

    problem = leak_warning(run(Case, "test_it"))
    assert "a pending task" in problem
    assert "forever()" in problem
    assert cancelled == [True]


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_tasks_that_are_finishing_are_not_leaks() -> None:
    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self) -> None:
            LEFT_BEHIND.append(asyncio.ensure_future(gen.moment))  # done an iteration later
            LEFT_BEHIND.append(asyncio.ensure_future(asyncio.sleep(0)))

    assert_passed(run(Case, "test_it"))


class OnAsyncio(AsyncTestCase):
    """On asyncio's own loop whatever the configured one: only its selector
    loops list their transports and servers (on uvloop only the IOLoop's
    handlers are checked, as the package README says)."""

    def get_new_ioloop(self) -> IOLoop:
        from squall.platform.asyncio import AsyncIOLoop

        return AsyncIOLoop()


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_open_transports_are_closed_and_reported() -> None:
    import socket

    made: list[socket.socket] = []

    class Case(OnAsyncio):
        @gen_test
        async def test_it(self) -> None:
            left, right = socket.socketpair()
            made.extend([left, right])
            loop = asyncio.get_running_loop()
            await loop.connect_accepted_socket(asyncio.Protocol, left)

    problem = leak_warning(run(Case, "test_it"))
    assert "Transport" in problem
    assert made[0].fileno() == -1  # closed
    made[1].close()


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_open_servers_are_closed_and_reported() -> None:
    servers: list[asyncio.AbstractServer] = []

    class Case(OnAsyncio):
        @gen_test
        async def test_it(self) -> None:
            loop = asyncio.get_running_loop()
            servers.append(await loop.create_server(asyncio.Protocol, "127.0.0.1", 0))

    problem = leak_warning(run(Case, "test_it"))
    assert "an open <Server sockets=" in problem
    assert not servers[0].is_serving()


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_handlers_left_on_the_loop_are_closed_and_reported() -> None:
    import socket

    made: list[socket.socket] = []

    class Case(AsyncTestCase):
        def test_it(self) -> None:
            left, right = socket.socketpair()
            made.extend([left, right])
            self.io_loop.add_handler(left, lambda fd, events: None, IOLoop.READ)

    assert "a handler registered with add_handler" in leak_warning(run(Case, "test_it"))
    assert made[0].fileno() == -1
    made[1].close()


def test_leaks_are_notes_of_a_failure_in_the_same_test() -> None:
    class Case(AsyncTestCase):
        def test_it(self) -> None:
            self.io_loop.add_callback(boom)
            self.io_loop.run_sync(lambda: gen.sleep(0.01))
            LEFT_BEHIND.append(asyncio.ensure_future(asyncio.sleep(30)))

    problem = only_problem(run(Case, "test_it"))
    assert "ValueError: boom in a callback" in problem
    assert "the test also left behind a pending task" in problem


def test_a_test_that_cleans_up_reports_nothing() -> None:
    class Case(AsyncTestCase):
        @gen_test
        async def test_it(self) -> None:
            task = asyncio.ensure_future(asyncio.sleep(30))
            task.cancel()

    with_warnings: Callable[[], unittest.TestResult] = lambda: run(Case, "test_it")  # noqa: E731
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_passed(with_warnings())
