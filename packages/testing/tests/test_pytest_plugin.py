"""The pytest plugin, run by pytest itself through pytester."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Callable

import pytest

pytest_plugins = ["pytester"]

#: The run_pytest fixture of conftest.py.
RunPytest = Callable[..., pytest.RunResult]


# -- async tests and the io_loop fixture ----------------------------------------------


def test_async_tests_run_on_a_fresh_squall_loop(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        from squall.ioloop import IOLoop

        loops = []

        async def test_without_fixture():
            loops.append(IOLoop.current())
            await asyncio.sleep(0)

        async def test_with_fixture(io_loop):
            assert IOLoop.current() is io_loop
            assert asyncio.get_running_loop() is io_loop.asyncio_loop
            loops.append(io_loop)

        def test_sync_with_fixture(io_loop):
            assert IOLoop.current() is io_loop  # current before it runs, too
            assert io_loop.run_sync(lambda: asyncio.sleep(0, "done")) == "done"
            loops.append(io_loop)

        def test_each_was_new_and_is_closed():
            assert len(set(map(id, loops))) == 3
            assert all(loop.asyncio_loop.is_closed() for loop in loops)
        """
    )
    run_pytest().assert_outcomes(passed=4)


def test_async_tests_in_classes_and_with_fixtures(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from squall import gen

        @pytest.fixture
        def value():
            return 42

        class TestGroup:
            async def test_method(self, value, tmp_path):
                await gen.sleep(0)
                assert value == 42 and tmp_path.exists()

        @pytest.mark.parametrize("n", [1, 2])
        async def test_parametrized(n, value):
            await gen.moment
            assert n in (1, 2)
        """
    )
    run_pytest().assert_outcomes(passed=3)


def test_a_sync_test_marked_gen_test_runs_on_the_running_loop(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.gen_test
        def test_sync_on_loop(io_loop):
            assert asyncio.get_running_loop() is io_loop.asyncio_loop
        """
    )
    run_pytest().assert_outcomes(passed=1)


def test_plain_sync_tests_get_no_loop(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(
        """
        def test_sync(request):
            assert "io_loop" not in request.fixturenames
        """
    )
    run_pytest().assert_outcomes(passed=1)


# -- timeouts ---------------------------------------------------------------------------


TIMING_OUT = """
    import asyncio
    import pytest

    async def test_slow():
        await asyncio.sleep(30)
"""


def test_a_test_that_times_out_fails_clearly(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import pytest

        async def helper():
            await asyncio.Event().wait()

        @pytest.mark.gen_test(timeout=0.1)
        async def test_stuck():
            await helper()
        """
    )
    result = run_pytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*TimeoutError: test_stuck timed out after 0.1 seconds; it was waiting at:",
            "*in test_stuck",
            "*await helper()",
            "*in helper",
            "*await asyncio.Event().wait()",
        ]
    )


def test_timeout_from_the_command_line(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(TIMING_OUT)
    result = run_pytest("--async-test-timeout=0.1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*timed out after 0.1 seconds*"])


def test_timeout_from_the_environment(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.1")
    pytester.makepyfile(TIMING_OUT)
    result = run_pytest()
    result.stdout.fnmatch_lines(["*timed out after 0.1 seconds*"])


def test_timeout_from_the_ini_file(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ASYNC_TEST_TIMEOUT", raising=False)
    pytester.makeini("[pytest]\nasync_test_timeout = 0.1\n")
    pytester.makepyfile(TIMING_OUT)
    result = run_pytest()
    result.stdout.fnmatch_lines(["*timed out after 0.1 seconds*"])


def test_the_command_line_wins_over_the_environment_and_the_marker_over_both(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "30")
    pytester.makepyfile(
        """
        import asyncio
        import pytest
        from squall.testing import get_async_test_timeout

        def test_default():
            assert get_async_test_timeout() == 0.2

        @pytest.mark.gen_test(timeout=0.1)
        async def test_marked():
            await asyncio.sleep(30)
        """
    )
    result = run_pytest("--async-test-timeout=0.2")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_marked timed out after 0.1 seconds*"])


def test_the_settings_do_not_outlive_the_session(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    from squall.testing import get_async_test_timeout

    before = get_async_test_timeout()
    pytester.makepyfile("def test_nothing(): pass")
    run_pytest("--async-test-timeout=0.3").assert_outcomes(passed=1)
    assert get_async_test_timeout() == before


def test_a_bad_timeout_is_a_usage_error(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = run_pytest("--async-test-timeout=soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--async-test-timeout='soon' is not a number of seconds*"])


def test_the_marker_refuses_other_arguments(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.gen_test(5)
        async def test_positional():
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*gen_test takes only a keyword argument timeout=SECONDS*"])


def test_the_marker_is_registered(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.gen_test(timeout=1)
        async def test_marked():
            pass
        """
    )
    run_pytest("--strict-markers").assert_outcomes(passed=1)
    result = run_pytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.gen_test(timeout=None):*"])


# -- failures -----------------------------------------------------------------------------


def test_a_callback_that_raises_fails_an_async_test(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        def explode():
            raise ValueError("exploded in a callback")

        async def test_it(io_loop):
            io_loop.add_callback(explode)
            await asyncio.sleep(30)
        """
    )
    result = run_pytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ValueError: exploded in a callback",
            "*raised in a callback the IOLoop ran*",
        ]
    )


def test_a_callback_that_raises_fails_a_sync_test_at_teardown(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        from squall import gen

        def explode():
            raise ValueError("exploded in a callback")

        def test_it(io_loop):
            io_loop.add_callback(explode)
            io_loop.run_sync(lambda: gen.sleep(0.01))
        """
    )
    result = run_pytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_it*", "*ValueError: exploded*"])


def test_a_required_expectlog_that_did_not_match_fails(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import logging
        from squall.testing import ExpectLog

        async def test_it():
            with ExpectLog("squall.application", "Uncaught exception"):
                logging.getLogger("squall.application").error("something else")
        """
    )
    result = run_pytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: did not get expected log message: nothing logged to "
            "'squall.application' matched 'Uncaught exception'; logged instead: "
            "ERROR squall.application: 'something else'"
        ]
    )


def test_an_expected_callback_failure_passes(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        from squall.testing import ExpectLog

        def explode():
            raise ValueError("exploded in a callback")

        async def test_it(io_loop):
            with ExpectLog("squall.application", "Exception in callback"):
                io_loop.add_callback(explode)
                await asyncio.sleep(0.01)
        """
    )
    run_pytest().assert_outcomes(passed=1)


def test_leaks_are_reported(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(
        """
        import asyncio

        async def test_leaky():
            asyncio.ensure_future(asyncio.sleep(30))
        """
    )
    result = run_pytest("-W", "default::RuntimeWarning")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*RuntimeWarning: the test left behind (closed by squall.testing):", "*a pending task*"]
    )
    result = run_pytest("-W", "error::RuntimeWarning")
    result.assert_outcomes(passed=1, errors=1)


# -- unittest classes under pytest ------------------------------------------------------


ASYNC_TEST_CASES = """
    import asyncio
    import logging
    from squall.testing import AsyncTestCase, ExpectLog, gen_test

    def explode():
        raise ValueError("exploded in a callback")

    class Cases(AsyncTestCase):
        @gen_test
        async def test_passes(self):
            await asyncio.sleep(0)

        @gen_test(timeout=0.1)
        async def test_times_out(self):
            await asyncio.sleep(30)

        def test_callback_raises(self):
            self.io_loop.add_callback(explode)
            self.wait()

        def test_expectlog_did_not_match(self):
            with ExpectLog("squall.application", "Uncaught exception"):
                pass

        async def test_body_never_ran(self):
            raise AssertionError("not reached")
"""


def test_async_test_case_failure_modes_under_pytest(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(ASYNC_TEST_CASES)
    result = run_pytest("-W", "error")
    result.assert_outcomes(passed=1, failed=4)
    output = result.stdout.str()
    # Each failure says what happened (unittest failures have no one-line summary).
    assert (
        "E       TypeError: Cases.test_body_never_ran is a coroutine function: calling it did "
        "not run its body. Decorate it with @squall.testing.gen_test"
    ) in output
    assert "E       ValueError: exploded in a callback" in output
    assert (
        "AssertionError: did not get expected log message: nothing logged to "
        "'squall.application' matched 'Uncaught exception'"
    ) in output
    assert "Cases.test_times_out timed out after 0.1 seconds; it was waiting at:" in output


def test_async_test_case_failure_modes_under_unittest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cases=ASYNC_TEST_CASES)
    result = pytester.run(__import__("sys").executable, "-m", "unittest", "-v", "test_cases")
    assert result.ret == 1
    result.stderr.fnmatch_lines(["*FAILED (failures=1, errors=3)*"])
    output = result.stderr.str()
    assert "TimeoutError: Cases.test_times_out timed out after 0.1 seconds" in output
    assert "ValueError: exploded in a callback" in output
    assert "did not get expected log message" in output
    assert "did not run its body" in output


# -- leaving other tests alone --------------------------------------------------------------


def test_tests_marked_for_other_async_plugins_are_left_to_them(
    pytester: pytest.Pytester,
    run_pytest: RunPytest,
) -> None:
    # A stand-in for pytest-trio / anyio / pytest-asyncio (the real one may be
    # installed): runs coroutine tests marked "trio" with asyncio.run.
    pytester.makeconftest(
        """
        import asyncio
        import inspect
        import pytest

        def pytest_configure(config):
            config.addinivalue_line("markers", "trio: run by the stand-in")

        @pytest.hookimpl(tryfirst=True)
        def pytest_pyfunc_call(pyfuncitem):
            if pyfuncitem.get_closest_marker("trio"):
                names = inspect.signature(pyfuncitem.obj).parameters
                kwargs = {n: v for n, v in pyfuncitem.funcargs.items() if n in names}
                asyncio.run(pyfuncitem.obj(**kwargs))
                return True
        """
    )
    pytester.makepyfile(
        """
        import asyncio
        import pytest
        from squall.ioloop import IOLoop

        @pytest.mark.trio
        async def test_foreign(request):
            assert "io_loop" not in request.fixturenames
            # squall still works on someone else's asyncio loop
            assert IOLoop.current().asyncio_loop is asyncio.get_running_loop()
        """
    )
    run_pytest("--strict-markers").assert_outcomes(passed=1)


def test_unittest_async_cases_are_left_to_unittest(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import unittest

        class Case(unittest.IsolatedAsyncioTestCase):
            async def test_it(self):
                await asyncio.sleep(0)
                self.assertTrue(True)
        """
    )
    run_pytest("-W", "error").assert_outcomes(passed=1)


def test_a_project_io_loop_fixture_overrides_the_plugin(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makeconftest(
        """
        import pytest
        from squall.ioloop import IOLoop

        @pytest.fixture
        def io_loop():
            loop = IOLoop(make_current=False)
            loop.own_fixture = True
            yield loop
            loop.close(all_fds=True)
        """
    )
    pytester.makepyfile(
        """
        import asyncio
        from squall.ioloop import IOLoop

        async def test_it(io_loop):
            assert io_loop.own_fixture
            assert IOLoop.current() is io_loop

        @__import__("pytest").mark.gen_test(timeout=0.1)
        async def test_timeout_still_applies(io_loop):
            await asyncio.sleep(30)
        """
    )
    result = run_pytest()
    result.assert_outcomes(passed=1, failed=1)


def test_the_plugin_can_be_disabled(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(
        """
        def test_it(io_loop):
            pass
        """
    )
    result = run_pytest("-p", "no:squall")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'io_loop' not found*"])


def test_the_plugin_is_registered_under_its_entry_point(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        def test_it(request):
            assert request.config.pluginmanager.has_plugin("squall")
        """
    )
    run_pytest().assert_outcomes(passed=1)


# -- the HTTP fixtures -----------------------------------------------------------------------

HTTP_CONFTEST = """
    import pytest
    from squall.httputil import HTTPHeaders, ResponseStartLine

    def handle(request):
        status = 404 if request.path == "/missing" else 200
        body = f"{request.method} {request.uri} {request.remote_ip}".encode()
        request.connection.write_headers(
            ResponseStartLine("HTTP/1.1", status, "OK"),
            HTTPHeaders({"Content-Length": str(len(body))}),
            body,
        )
        request.connection.finish()

    @pytest.fixture
    def app():
        return handle
"""


def test_http_fixtures(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makeconftest(HTTP_CONFTEST)
    pytester.makepyfile(
        """
        import pytest
        from squall.httpclient import HTTPClientError

        async def test_fetch(fetch):
            response = await fetch("/hello?x=1")
            assert response.code == 200
            assert response.body == b"GET /hello?x=1 127.0.0.1"

        async def test_fetch_error_codes(fetch):
            assert (await fetch("/missing")).code == 404
            with pytest.raises(HTTPClientError):
                await fetch("/missing", raise_error=True)

        async def test_client_and_base_url(http_client, base_url, http_port):
            assert base_url == f"http://127.0.0.1:{http_port}"
            response = await http_client.fetch(base_url + "/direct", method="POST", body="")
            assert response.body.startswith(b"POST /direct")

        def test_sync_test_with_run_sync(io_loop, fetch, http_server):
            response = io_loop.run_sync(lambda: fetch("/sync"))
            assert response.body.startswith(b"GET /sync")
        """
    )
    run_pytest("-W", "error").assert_outcomes(passed=4)


def test_http_server_options_fixture(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makeconftest(
        HTTP_CONFTEST
        + """
    @pytest.fixture
    def http_server_options():
        return {"xheaders": True}
    """
    )
    pytester.makepyfile(
        """
        async def test_xheaders(fetch):
            response = await fetch("/", headers={"X-Real-Ip": "10.9.8.7"})
            assert response.body.endswith(b" 10.9.8.7")
        """
    )
    run_pytest("-W", "error").assert_outcomes(passed=1)


def test_http_server_without_an_app_fixture(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        async def test_it(fetch):
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'app' not found*"])


def test_base_url_is_left_to_pytest_base_url(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    # A stand-in for pytest-base-url (used by pytest-playwright and
    # pytest-selenium), registered under the name of its entry point.
    pytester.makepyfile(
        base_url="""
        import pytest

        @pytest.fixture
        def base_url():
            return "https://example.invalid"
        """
    )
    pytester.makepyfile(
        """
        def test_it(base_url):
            assert base_url == "https://example.invalid"
        """
    )
    pytester.syspathinsert()
    run_pytest("-p", "base_url").assert_outcomes(passed=1)


def test_a_foreign_async_test_cannot_use_the_io_loop_fixture(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    anyio: run by anyio\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.anyio
        async def test_it(io_loop):
            pass
        """
    )
    result = run_pytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*squall's io_loop fixture cannot serve test_it: the test is marked 'anyio'*"]
    )


# -- pytest-asyncio ---------------------------------------------------------------------------


COEXISTING = """
    import asyncio
    import pytest
    from squall.ioloop import IOLoop

    @pytest.mark.asyncio
    async def test_run_by_pytest_asyncio():
        # squall works on pytest-asyncio's loop too (without squall's fixtures)
        assert IOLoop.current().asyncio_loop is asyncio.get_running_loop()

    async def test_run_by_squall(io_loop):
        assert asyncio.get_running_loop() is io_loop.asyncio_loop

    @pytest.mark.gen_test(timeout=5)
    async def test_marked_for_squall(io_loop):
        assert asyncio.get_running_loop() is io_loop.asyncio_loop
"""


@pytest.fixture(scope="session")
def pytest_asyncio_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """pytest-asyncio installed into a directory of its own (not into this environment).

    Installed here rather than as a test dependency: once installed it is
    active in every pytest session of the environment, the suite's included.
    """
    target = tmp_path_factory.mktemp("pytest-asyncio")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            str(target),
            "pytest-asyncio>=1.0",
            "typing_extensions",
        ],
        check=True,
    )
    return target


def run_with_pytest_asyncio(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: pathlib.Path, *args: str
) -> pytest.RunResult:
    """Run pytest in a subprocess that also loads pytest-asyncio from `where`."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(where), os.environ.get("PYTHONPATH")]))
    )
    return pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        *args,
    )


def test_pytest_asyncio_strict_mode_coexists(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, pytest_asyncio_dir: pathlib.Path
) -> None:
    pytester.makepyfile(COEXISTING)
    result = run_with_pytest_asyncio(pytester, monkeypatch, pytest_asyncio_dir, "-W", "error")
    result.stdout.fnmatch_lines(["*plugins:*asyncio*"])
    result.assert_outcomes(passed=3)


def test_pytest_asyncio_auto_mode_is_refused_clearly(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, pytest_asyncio_dir: pathlib.Path
) -> None:
    pytester.makepyfile(COEXISTING)
    result = run_with_pytest_asyncio(
        pytester, monkeypatch, pytest_asyncio_dir, "-o", "asyncio_mode=auto"
    )
    # pytest-asyncio takes every coroutine test; those using squall's loop say why they can't run.
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        ["*marked 'asyncio', so pytest-asyncio runs it*asyncio_mode=auto*"]
    )


def test_a_test_that_captures_logs_checks_callback_errors_itself(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makepyfile(
        """
        import asyncio

        def explode():
            raise ValueError("exploded in a callback")

        async def test_it(io_loop, caplog):
            io_loop.add_callback(explode)
            await asyncio.sleep(0.01)
            [record] = caplog.records
            assert record.getMessage().startswith("Exception in callback")
        """
    )
    run_pytest("-W", "error").assert_outcomes(passed=1)


def test_loading_the_plugin_imports_no_squall_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys, squall._testing._pytest; "
        "print(sorted(m for m in sys.modules if m.startswith('squall.')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "['squall._testing', 'squall._testing._pytest']"
