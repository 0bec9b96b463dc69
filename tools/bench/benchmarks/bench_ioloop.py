"""The event-loop layer: coroutines and callbacks run by the IOLoop.

Three cases, each run by squall and by Tornado on the same asyncio event loop
implementation (the default one), with the same driver code: the two
libraries have the same API, so :func:`_cases` builds every operation from
the library's modules and the only difference is whose IOLoop, ``gen`` and
Future run it.

- ``gen.coroutine``: :data:`N` generator coroutines decorated with
  ``gen.coroutine``, each yielding an already-resolved Future and returning
  its value plus its index, gathered :data:`CHUNK` at a time by a
  ``gen.coroutine`` driver that yields the list (``gen.multi``).
- ``async def``: the same with native coroutines awaiting the resolved
  Future, gathered by an ``async def`` driver with ``await gen.multi(...)``
  (which wraps each coroutine in an asyncio Task).
- ``add_callback``: :data:`N` round trips through the loop, a callback that
  adds itself again with ``IOLoop.add_callback`` until the N-th call, which
  resolves the Future the driver returned.

Each driver runs with ``io_loop.run_sync`` on an IOLoop created once in
setup.  One call of an operation is one whole run of N; the report divides
by N, so the times are per coroutine or per callback.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Generator, Mapping
from typing import Any

from ._harness import Benchmark, Implementation, MismatchError, Operation

#: Coroutines or callbacks per run, as the issue asks.
N = 100_000
#: Coroutines gathered at once: enough to amortise the gathering, few enough
#: that the pending ones stay a small working set.
CHUNK = 1_000

#: What the coroutine cases return: the sum over i < N of (1 + i).
COROUTINE_TOTAL = N + N * (N - 1) // 2


def _library(package: str) -> tuple[Any, Any, Any]:
    """Return ``(gen, IOLoop, Future)`` of squall or tornado."""
    gen = importlib.import_module(f"{package}.gen")
    ioloop = importlib.import_module(f"{package}.ioloop")
    concurrent = importlib.import_module(f"{package}.concurrent")
    return gen, ioloop.IOLoop, concurrent.Future


def _resolved(future_class: Any) -> Any:
    future = future_class()
    future.set_result(1)
    return future


def gen_coroutine_case(package: str) -> Operation:
    gen, io_loop_class, future_class = _library(package)

    @gen.coroutine  # type: ignore[untyped-decorator,unused-ignore]
    def work(ready: Any, i: int) -> Generator[Any, Any, int]:
        value = yield ready
        return value + i  # type: ignore[no-any-return]

    @gen.coroutine  # type: ignore[untyped-decorator,unused-ignore]
    def drive() -> Generator[Any, Any, int]:
        ready = _resolved(future_class)
        total = 0
        for start in range(0, N, CHUNK):
            values = yield [work(ready, i) for i in range(start, start + CHUNK)]
            total += sum(values)
        return total

    io_loop = io_loop_class()
    return lambda: io_loop.run_sync(drive)


def async_def_case(package: str) -> Operation:
    gen, io_loop_class, future_class = _library(package)

    async def work(ready: Any, i: int) -> int:
        return await ready + i  # type: ignore[no-any-return]

    async def drive() -> int:
        ready = _resolved(future_class)
        total = 0
        for start in range(0, N, CHUNK):
            values = await gen.multi([work(ready, i) for i in range(start, start + CHUNK)])
            total += sum(values)
        return total

    io_loop = io_loop_class()
    return lambda: io_loop.run_sync(drive)


def add_callback_case(package: str) -> Operation:
    _gen, io_loop_class, future_class = _library(package)

    def drive() -> Any:
        loop = io_loop_class.current()
        done = future_class()
        count = 0

        def step() -> None:
            nonlocal count
            count += 1
            if count < N:
                loop.add_callback(step)
            else:
                done.set_result(count)

        loop.add_callback(step)
        return done

    io_loop = io_loop_class()
    return lambda: io_loop.run_sync(drive)


def _check_equal(expected: int) -> Callable[[Mapping[str, object]], None]:
    def check(outputs: Mapping[str, object]) -> None:
        for name, output in outputs.items():
            if output != expected:
                raise MismatchError(f"{name} returned {output!r}, expected {expected!r}")

    return check


def _implementations(case: Callable[[str], Operation]) -> list[Implementation]:
    return [
        Implementation("squall", "squall", "squall-ioloop", lambda: case("squall")),
        Implementation("tornado", "tornado", "tornado", lambda: case("tornado")),
    ]


DESCRIPTION = (
    f"{N:,} coroutines or callbacks driven by the IOLoop with run_sync, squall and tornado"
    " on the default asyncio event loop, the same driver code for both"
)

BENCHMARKS = [
    Benchmark(
        name="gen.coroutine",
        description=(
            f"@gen.coroutine generators each yielding a resolved Future, gathered {CHUNK:,}"
            " at a time by yielding a list from a @gen.coroutine driver"
        ),
        unit="coroutine",
        implementations=_implementations(gen_coroutine_case),
        check=_check_equal(COROUTINE_TOTAL),
        targets={"tornado": 1.0},
        batch=N,
    ),
    Benchmark(
        name="async def",
        description=(
            f"native coroutines each awaiting a resolved Future, gathered {CHUNK:,} at a time"
            " with await gen.multi(...) in an async def driver"
        ),
        unit="coroutine",
        implementations=_implementations(async_def_case),
        check=_check_equal(COROUTINE_TOTAL),
        targets={"tornado": 1.0},
        batch=N,
    ),
    Benchmark(
        name="add_callback",
        description=(
            f"a callback that re-adds itself with IOLoop.add_callback until the {N:,}th call,"
            " which resolves the Future run_sync waits for"
        ),
        unit="round trip",
        implementations=_implementations(add_callback_case),
        check=_check_equal(N),
        targets={"tornado": 1.0},
        batch=N,
    ),
]
