"""Support for automated tests of asynchronous code.

- `AsyncTestCase` and `AsyncHTTPTestCase` (`AsyncHTTPSTestCase`): subclasses
  of `unittest.TestCase` that run each test on a fresh `IOLoop`, with an
  HTTP(S) server and client for the HTTP ones; `gen_test` runs coroutine
  tests on it with a deadline.
- `ExpectLog` (and the deprecated `LogTrapTestCase`): make test logs less
  noisy while still failing on the unexpected.
- `main`: a simple test runner (a wrapper around `unittest.main`) with
  squall's option parsing and log formatting.
- `bind_unused_port`, `get_async_test_timeout` (and the deprecated
  `get_unused_port`).

squall-testing also installs a pytest plugin (fixtures ``io_loop``,
``http_server``, ``http_client``, ``fetch``...; ``async def`` tests run on
the loop; the ``gen_test`` marker): see the package README.

Example::

    from squall import gen
    from squall.testing import AsyncTestCase, gen_test

    class MyTestCase(AsyncTestCase):
        @gen_test
        async def test_sleep(self):
            await gen.sleep(0.01)

Run tests with any runner (``python -m unittest``, pytest), or with
``python -m squall.testing package.test_module``.
"""

from __future__ import annotations

from squall._testing._case import AsyncTestCase, gen_test
from squall._testing._http import AsyncHTTPSTestCase, AsyncHTTPTestCase
from squall._testing._log import ExpectLog, LogTrapTestCase
from squall._testing._main import main
from squall._testing._ports import bind_unused_port, get_unused_port
from squall._testing._timeout import get_async_test_timeout

__all__ = [
    "AsyncHTTPSTestCase",
    "AsyncHTTPTestCase",
    "AsyncTestCase",
    "ExpectLog",
    "LogTrapTestCase",
    "bind_unused_port",
    "gen_test",
    "get_async_test_timeout",
    "get_unused_port",
    "main",
]

# Public functions report this module as theirs (for docs, pickling, reprs).
for _function in (bind_unused_port, gen_test, get_async_test_timeout, get_unused_port, main):
    _function.__module__ = __name__
del _function

if __name__ == "__main__":
    main()
