"""Bridge between asyncio and squall: the IOLoop implementations on asyncio.

Every `squall.ioloop.IOLoop` is one of these classes: `AsyncIOMainLoop`
wraps the asyncio loop that is already running (what `IOLoop.current`
returns inside ``asyncio.run``), `AsyncIOLoop` creates an asyncio loop of its
own (what ``IOLoop()`` creates by default).  squall's Futures *are* asyncio
Futures, so the conversion functions are kept for compatibility only.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

from squall._ioloop._asyncio import AsyncIOLoop, AsyncIOMainLoop, BaseAsyncIOLoop
from squall._ioloop._futures import to_asyncio_future as _to_asyncio_future

__all__ = [
    "AnyThreadEventLoopPolicy",
    "AsyncIOLoop",
    "AsyncIOMainLoop",
    "BaseAsyncIOLoop",
    "to_asyncio_future",
    "to_squall_future",
    "to_tornado_future",
]


def to_tornado_future(asyncio_future: Any) -> asyncio.Future[Any]:
    """Return `asyncio_future` itself: squall's Future is `asyncio.Future`.

    Anything else yieldable is converted as `to_asyncio_future` does.
    """
    if asyncio.isfuture(asyncio_future):
        return asyncio_future
    return to_asyncio_future(asyncio_future)


#: The same as `to_tornado_future`, under squall's name.
to_squall_future = to_tornado_future


def to_asyncio_future(tornado_future: Any) -> asyncio.Future[Any]:
    """Return an asyncio Future for any yieldable object.

    Futures are returned as they are; `concurrent.futures.Future` is wrapped;
    coroutines and other awaitables become Tasks on the running loop (else
    on the current IOLoop's); lists and dicts of yieldables go through
    ``squall.gen.convert_yielded``.

    :raises squall.gen.BadYieldError: if the object is not yieldable.
    """
    loop = asyncio._get_running_loop()
    if loop is None and not asyncio.isfuture(tornado_future):
        from squall._ioloop._base import IOLoop

        loop = IOLoop.current().asyncio_loop
    return _to_asyncio_future(tornado_future, loop)


# asyncio deprecates its policy classes in 3.14; this module must still
# import without warnings (tests turn them into errors).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    _DefaultEventLoopPolicy: type[asyncio.AbstractEventLoopPolicy] = asyncio.DefaultEventLoopPolicy


class AnyThreadEventLoopPolicy(_DefaultEventLoopPolicy):  # type: ignore[misc,valid-type]
    """An event loop policy whose ``get_event_loop`` works in any thread (deprecated).

    asyncio's default policy creates a loop on demand only in the main
    thread; this one creates (and sets) one in any thread that has none::

        asyncio.set_event_loop_policy(AnyThreadEventLoopPolicy())

    Deprecated: call ``asyncio.new_event_loop()`` / ``asyncio.run()`` in the
    thread instead, or create an ``IOLoop()`` there.
    """

    def __init__(self) -> None:
        warnings.warn(
            "AnyThreadEventLoopPolicy is deprecated; use asyncio.run() or "
            "asyncio.new_event_loop() in each thread instead",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__()

    def get_event_loop(self) -> asyncio.AbstractEventLoop:
        """Return this thread's event loop, creating and setting one if it has none."""
        try:
            # The base class warns (3.12, 3.13) before creating a loop in
            # the main thread; creating it here is the point of this class.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                loop: asyncio.AbstractEventLoop = super().get_event_loop()
            return loop
        except RuntimeError:
            loop = self.new_event_loop()
            self.set_event_loop(loop)
            return loop
