"""The timeout of asynchronous tests: `get_async_test_timeout`."""

from __future__ import annotations

import math
import os

__all__ = ["DEFAULT_ASYNC_TEST_TIMEOUT", "ENV_VAR", "get_async_test_timeout"]

#: Seconds an asynchronous test (`gen_test`, `AsyncTestCase.wait`, an
#: ``async def`` test under pytest) may take when nothing else is set: long
#: enough for a loaded CI machine, short enough that a hung test fails
#: before a suite-wide timeout kills the whole run.
DEFAULT_ASYNC_TEST_TIMEOUT = 5.0

#: The environment variable that sets the timeout for every test.
ENV_VAR = "ASYNC_TEST_TIMEOUT"


class _Settings:
    # Set by the pytest plugin for the duration of a session: ``override``
    # from --async-test-timeout (wins over the environment), ``fallback``
    # from the async_test_timeout ini setting (used when the variable is unset).
    override: float | None = None
    fallback: float = DEFAULT_ASYNC_TEST_TIMEOUT


settings = _Settings()


def parse_timeout(text: str, source: str) -> float:
    """Return `text` as a number of seconds.

    :raises ValueError: naming `source` if it is not a positive finite number.
    """
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{source}={text!r} is not a number of seconds") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{source}={text!r}: the timeout must be a positive number of seconds")
    return value


def get_async_test_timeout() -> float:
    """Return the default timeout of asynchronous tests, in seconds.

    That is the ``ASYNC_TEST_TIMEOUT`` environment variable if it is set,
    else 5 seconds.  Under pytest, ``--async-test-timeout`` overrides the
    variable and the ``async_test_timeout`` ini setting replaces the
    5-second default.  Read at each call, so a change of the variable
    applies to the tests that start afterwards.

    :raises ValueError: if the variable is not a positive number.
    """
    if settings.override is not None:
        return settings.override
    text = os.environ.get(ENV_VAR, "").strip()
    if text:
        return parse_timeout(text, ENV_VAR)
    return settings.fallback
