"""`main`: a unittest runner with squall's option parsing and log formatting."""

from __future__ import annotations

import sys
import unittest
from typing import Any

__all__ = ["main"]

# unittest's flags, offered as squall options (``--verbose``, ``--failfast``...).
_UNITTEST_FLAGS = {
    "verbose": ("-v", "Show each test's name and outcome"),
    "quiet": ("-q", "Show less output"),
    "failfast": ("-f", "Stop on the first failure or error"),
    "catch": ("-c", "Let Control-C finish the running test and report the results so far"),
    "buffer": ("-b", "Buffer the output of passing tests"),
}


def main(**kwargs: Any) -> None:
    """Run tests: `unittest.main` with squall's options and log formatting.

    Not needed to run `AsyncTestCase` tests, which work under any runner;
    it adds squall's command-line options (``--logging=debug``...) and
    colourised logs, and logs ``PASS`` or ``FAIL`` at the end.  The easiest use::

        python -m squall.testing mypackage.test.test_module

    or a script that defines a function ``all()`` returning a test suite,
    which runs when no test is named on its command line::

        def all():
            return unittest.defaultTestLoader.loadTestsFromNames(TEST_MODULES)

        if __name__ == "__main__":
            squall.testing.main()

    With no test named and no ``all()``, tests are discovered from the
    current directory (``python -m unittest``'s behaviour).  squall
    options come first (``--verbose``, ``--failfast``, ``--quiet``,
    ``--catch``, ``--buffer`` and the logging options of `squall.options`),
    then unittest's arguments.  Keyword arguments go to `unittest.main`
    (``verbosity=2``...).

    :raises SystemExit: always, with unittest's exit status.
    """
    from squall.log import gen_log
    from squall.options import define, options, parse_command_line

    for name, (_, help_text) in _UNITTEST_FLAGS.items():
        if name not in options:
            define(name, type=bool, default=False, help=help_text)
    argv = [sys.argv[0], *parse_command_line(sys.argv)]
    for name, (flag, _) in _UNITTEST_FLAGS.items():
        if options[name]:
            argv.insert(1, flag)
    module = kwargs.pop("module", None)
    if module is None:
        # unittest.main(module=None) discovers tests when none is named and
        # ignores defaultTest: name the default tests on its command line.
        default = kwargs.pop("defaultTest", None)
        if default is None and callable(getattr(sys.modules.get("__main__"), "all", None)):
            default = "__main__.all"
        if default is not None and not _names_tests(argv[1:]):
            argv += [default] if isinstance(default, str) else list(default)
    try:
        unittest.main(module=module, argv=argv, **kwargs)
    except SystemExit as exc:
        if exc.code in (0, None):
            gen_log.info("PASS")
        else:
            gen_log.error("FAIL")
        raise


def _names_tests(args: list[str]) -> bool:
    """Return True if unittest's arguments `args` name tests (not only options)."""
    takes_value = False
    for arg in args:
        if takes_value:
            takes_value = False
        elif arg == "-k":
            takes_value = True  # -k PATTERN
        elif not arg.startswith("-"):
            return True
    return False
