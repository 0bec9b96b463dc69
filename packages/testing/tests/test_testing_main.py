"""squall.testing.main and ``python -m squall.testing``, run in subprocesses."""

from __future__ import annotations

import sys

import pytest

pytest_plugins = ["pytester"]

PASSING = """
    import unittest
    from squall.testing import AsyncTestCase, gen_test

    class Case(AsyncTestCase):
        @gen_test
        async def test_passes(self):
            pass
"""

FAILING = """
    import unittest

    class Case(unittest.TestCase):
        def test_fails(self):
            self.fail("failing on purpose")
"""


def test_module_runner_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_passing=PASSING)
    result = pytester.run(sys.executable, "-m", "squall.testing", "test_passing")
    assert result.ret == 0
    result.stderr.fnmatch_lines(["Ran 1 test*", "OK", "*PASS*"])


def test_module_runner_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_failing=FAILING)
    result = pytester.run(sys.executable, "-m", "squall.testing", "test_failing")
    assert result.ret == 1
    result.stderr.fnmatch_lines(["*AssertionError: failing on purpose", "FAILED*", "*FAIL*"])


def test_squall_options_come_first(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_passing=PASSING)
    result = pytester.run(
        sys.executable, "-m", "squall.testing", "--verbose", "--logging=warning", "test_passing"
    )
    assert result.ret == 0
    result.stderr.fnmatch_lines(["test_passes (test_passing.Case*) ... ok"])
    assert "PASS" not in result.stderr.str()  # logged at info, below --logging=warning


def test_a_script_with_an_all_function(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_passing=PASSING, test_failing=FAILING)
    pytester.makepyfile(
        runtests="""
        import unittest
        import squall.testing

        def all():
            return unittest.defaultTestLoader.loadTestsFromNames(["test_passing"])

        if __name__ == "__main__":
            squall.testing.main(verbosity=2)
        """
    )
    result = pytester.run(sys.executable, "runtests.py")
    assert result.ret == 0
    result.stderr.fnmatch_lines(["test_passes*ok", "Ran 1 test*"])
    # A test named on the command line replaces all().
    result = pytester.run(sys.executable, "runtests.py", "test_failing")
    assert result.ret == 1
    result.stderr.fnmatch_lines(["Ran 1 test*", "FAILED*"])


def test_discovery_without_names(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_passing=PASSING)
    result = pytester.run(sys.executable, "-m", "squall.testing")
    assert result.ret == 0
    result.stderr.fnmatch_lines(["Ran 1 test*"])
