"""Shared by squall-testing's tests: running pytest inside a test (pytester)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import pytest

# pytester's in-process runs drop the modules first imported inside them.
# A C extension such as httptools cannot be imported twice: its second
# import gets the compiled parser of the first, which raises the *first*
# import's exception classes, so squall's HTTP/1 parser (which catches
# httptools' errors) would stop recognising them.  Importing it here, once,
# keeps it out of that churn.
import squall._http1  # noqa: F401

RunPytest = Callable[..., pytest.RunResult]


@pytest.fixture
def run_pytest(pytester: pytest.Pytester) -> RunPytest:
    """``run_pytest(*args)``: run pytest in-process in the pytester directory.

    (Test modules using it declare ``pytest_plugins = ["pytester"]``.)
    """
    # hypothesis' plugin alone takes seconds per session, and is not needed.
    options = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-ra"]
    if importlib.util.find_spec("pytest_asyncio") is not None:
        # Where pytest-asyncio is installed it is active in these sessions
        # too, and warns (an error with -W error) unless this is set.
        options += ["-o", "asyncio_default_fixture_loop_scope=function"]

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_inprocess(*options, *args)

    return run
