"""The README's unittest and pytest examples run and pass."""

from __future__ import annotations

import pathlib
import re
import sys
from collections.abc import Callable

import pytest

pytest_plugins = ["pytester"]

#: The run_pytest fixture of conftest.py.
RunPytest = Callable[..., pytest.RunResult]

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def example(filename: str) -> str:
    """Return the README's python block whose first line is ``# <filename>``."""
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    [code] = [block for block in blocks if block.startswith(f"# {filename}\n")]
    return str(code)


def test_the_unittest_example(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hello=example("test_hello.py"))
    result = pytester.run(sys.executable, "-W", "error", "-m", "unittest", "-v", "test_hello")
    assert result.ret == 0, result.stderr.str()
    result.stderr.fnmatch_lines(["Ran 4 tests in *", "OK"])


def test_the_unittest_example_under_the_squall_runner(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hello=example("test_hello.py"))
    result = pytester.run(sys.executable, "-m", "squall.testing", "test_hello")
    assert result.ret == 0, result.stderr.str()
    result.stderr.fnmatch_lines(["Ran 4 tests in *", "OK", "*PASS*"])


def test_the_pytest_example(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makepyfile(test_hello_pytest=example("test_hello_pytest.py"))
    run_pytest("-W", "error", "--strict-markers").assert_outcomes(passed=4)
