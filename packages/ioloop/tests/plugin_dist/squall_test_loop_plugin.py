"""A third-party IOLoop backend, registered as ``testloop`` (tests only)."""

from __future__ import annotations

from squall.platform.asyncio import AsyncIOLoop

__all__ = ["TestLoop"]


class TestLoop(AsyncIOLoop):
    """An asyncio IOLoop that counts how many were created."""

    __test__ = False  # not a pytest test class
    created = 0

    def initialize(self, **kwargs: object) -> None:
        super().initialize(**kwargs)
        TestLoop.created += 1
