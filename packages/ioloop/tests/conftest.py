"""Fixtures shared by squall-ioloop's tests.

``io_loop`` is a fresh IOLoop of the configured class for each test: the
asyncio backend by default, uvloop when the suite runs with
``SQUALL_IOLOOP=uvloop`` (CI runs it both ways).  Tests drive it with
``io_loop.run_sync(...)``; it is closed, with its file descriptors, afterwards.
"""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from squall.ioloop import IOLoop


@pytest.fixture
def io_loop() -> Iterator[IOLoop]:
    from squall.ioloop import IOLoop

    loop = IOLoop()
    try:
        yield loop
    finally:
        loop.close(all_fds=True)


# The IOLoop test modules share fixtures (ioloop_helpers.py, beside this file).
sys.path.insert(0, str(pathlib.Path(__file__).parent))
