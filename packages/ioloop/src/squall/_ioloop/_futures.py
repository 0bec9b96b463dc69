"""Turning "yieldable" objects into asyncio Futures for the IOLoop.

The IOLoop needs this in three places: `run_sync` (the function's result),
callbacks that return a coroutine (scheduled so that its exception is
logged) and `to_asyncio_future`.  The common cases are handled here without
importing `squall.gen`; anything else (lists and dicts of futures, types
registered with ``gen.convert_yielded``) is handed to ``gen.convert_yielded``,
imported lazily because `squall.gen` itself imports `squall.ioloop`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import Coroutine
from typing import Any

__all__ = ["is_awaitable_result", "to_asyncio_future"]


def is_awaitable_result(value: object) -> bool:
    """Return True if `value` is something the loop should wait for.

    That is an asyncio or `concurrent.futures` Future, a coroutine, or any
    other awaitable.  Lists, dicts and other plain values are not.
    """
    return (
        isinstance(value, (Coroutine, concurrent.futures.Future))
        or asyncio.isfuture(value)
        or inspect.isawaitable(value)
    )


def to_asyncio_future(
    value: object, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Future[Any]:
    """Return an asyncio Future for the yieldable `value`.

    Asyncio Futures are returned unchanged; `concurrent.futures.Future` is
    wrapped; coroutines and other awaitables are scheduled as Tasks on
    `loop` (default: the running loop).  Anything else goes through
    ``squall.gen.convert_yielded`` (lists and dicts of yieldables, and types
    registered with it).

    :raises squall.gen.BadYieldError: (or `TypeError` when `squall.gen` is
        not available) if `value` is not yieldable.
    """
    if asyncio.isfuture(value):
        return value
    if isinstance(value, concurrent.futures.Future):
        return asyncio.wrap_future(value, loop=loop)
    if isinstance(value, Coroutine) or inspect.isawaitable(value):
        return asyncio.ensure_future(value, loop=loop)
    try:
        from squall.gen import convert_yielded
    except ImportError:  # pragma: no cover - gen ships in this distribution
        raise TypeError(f"yielded unknown object {value!r}") from None
    return convert_yielded(value)
