"""Fixtures and constants shared by the IOLoop tests (test_ioloop*.py).

A module uses a fixture by importing it (its function is named ``*_fixture``
so that a test can take the fixture's name as an argument):

- ``no_current_loop`` (autouse): each test starts and ends with no current
  IOLoop in this thread: ``from ioloop_helpers import no_current_loop_fixture``;
- ``app_errors``: the error records logged to squall.application during the
  test: ``from ioloop_helpers import app_errors_fixture``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from squall._ioloop import _base

# Long enough never to fire on a working implementation, short enough that a
# broken one fails the test instead of hanging it.
WAIT = 10.0

APP_LOG = "squall.application"


@pytest.fixture(name="no_current_loop", autouse=True)
def no_current_loop_fixture() -> Iterator[None]:
    """Start and end each test with no current IOLoop in this thread."""
    _base._thread_state.current = None
    yield
    leftover = _base._thread_state.current
    _base._thread_state.current = None
    if leftover is not None:
        asyncio.set_event_loop(None)


@pytest.fixture(name="app_errors")
def app_errors_fixture(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The error records logged to squall.application during the test (live list)."""
    caplog.set_level(logging.ERROR, logger=APP_LOG)

    class Records(list[logging.LogRecord]):
        def __iter__(self) -> Iterator[logging.LogRecord]:
            return iter([r for r in caplog.records if r.name == APP_LOG])

        def __len__(self) -> int:
            return len(list(iter(self)))

    return Records()
