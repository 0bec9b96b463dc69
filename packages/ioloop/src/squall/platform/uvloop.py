"""The uvloop IOLoop backend: ``IOLoop.configure("uvloop")`` or ``SQUALL_IOLOOP=uvloop``.

Requires the ``uvloop`` package (``pip install squall-ioloop[uvloop]``).
"""

from __future__ import annotations

import asyncio

try:
    import uvloop
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the uvloop IOLoop backend needs uvloop: pip install squall-ioloop[uvloop]",
        name=exc.name,
    ) from exc

from squall._ioloop._asyncio import AsyncIOLoop

__all__ = ["UVLoop"]


class UVLoop(AsyncIOLoop):
    """An IOLoop owning a new `uvloop.Loop` (libuv-based event loop written in C)."""

    __module__ = "squall.platform.uvloop"

    def _new_event_loop(self) -> asyncio.AbstractEventLoop:
        return uvloop.new_event_loop()
