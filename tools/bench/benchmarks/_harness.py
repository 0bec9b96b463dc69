"""Time one benchmark's implementations and write the results as JSON.

Run inside the benchmark environment by ``tools/bench/run.py``::

    python -m benchmarks._harness template [--quick] [--out FILE]

A benchmark module defines ``BENCHMARK``, one :class:`Benchmark`, or
``BENCHMARKS``, several cases measured one after the other and reported
together (then ``DESCRIPTION`` describes the whole), or ``run_load``, a
function ``(settings, log) -> document`` for a benchmark that measures
processes under load rather than timing calls in this process (such as
bench_httpserver.py with wrk): it returns its own JSON document, of schema
:data:`SCHEMA_LOAD`, and the method below does not apply to it.

Method, the same for every implementation of a benchmark:

1. ``setup()`` imports the implementation and prepares its operation
   (compiling templates, building data).  An ``ImportError`` skips the
   implementation; any other exception fails the benchmark.
2. The operation runs once per implementation and the benchmark's ``check``
   compares the outputs.  A mismatch fails the benchmark before any timing.
3. Calibration picks how many operations one repetition runs so that it takes
   at least ``min_time`` seconds of CPU time; one more untimed repetition
   warms up.
4. ``repeats`` timed repetitions per implementation, interleaved round-robin
   so that a change in the machine's load hits every implementation alike.
   Each repetition starts after ``gc.collect()`` and runs with the collector
   enabled, as an application would.  Time is CPU time of this process
   (``time.process_time``), not wall-clock time.

The headline statistic is the **median** CPU time per operation over the
repetitions; the best (minimum) is reported beside it.  When one call of the
timed function performs a batch of operations (:attr:`Benchmark.batch`, such
as 100,000 coroutines), times are divided by the batch size.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import json
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

__all__ = [
    "Benchmark",
    "Implementation",
    "MismatchError",
    "Settings",
    "load_benchmarks",
    "main",
    "run_module",
]

#: Version of the JSON documents written by :func:`main` (read by run.py).
#: 1: one benchmark; 2: a module of several cases, ``{"cases": [...]}``.
SCHEMA = 1
SCHEMA_CASES = 2
#: 3: a load benchmark (``run_load``): cases of servers measured under load,
#: with requests/s and CPU time per request (see bench_httpserver.py).
SCHEMA_LOAD = 3

Operation = Callable[[], object]


class MismatchError(AssertionError):
    """The implementations of a benchmark do not produce equivalent output."""


@dataclass(frozen=True)
class Implementation:
    """One implementation of a benchmark.

    ``setup`` imports what it needs and returns the operation to time, a
    callable taking no arguments whose return value is the output checked by
    :attr:`Benchmark.check`.
    """

    name: str
    """Short key: ``"squall"`` for the reference, else the peer's name."""
    label: str
    """What the table shows, e.g. ``"tornado.template"``."""
    distribution: str
    """Distribution whose installed version is reported, e.g. ``"tornado"``."""
    setup: Callable[[], Operation]


@dataclass(frozen=True)
class Benchmark:
    """A workload and the implementations that perform it."""

    name: str
    description: str
    unit: str
    """What one operation is, singular: ``"render"``, ``"request"``."""
    implementations: Sequence[Implementation]
    check: Callable[[Mapping[str, object]], None]
    """Raises :class:`MismatchError` unless the outputs (by implementation
    name) are equivalent."""
    targets: Mapping[str, float] = field(default_factory=dict)
    """Speed-up squall aims at against a peer (peer time / squall time)."""
    batch: int = 1
    """How many operations (units) one call of an operation performs; the
    reported times are per unit."""


@dataclass(frozen=True)
class Settings:
    """How long to measure: bounded so a full run stays in seconds."""

    repeats: int
    min_time: float
    """Minimum CPU seconds of one repetition."""
    quick: bool = False
    """A smoke run (``--quick``): load benchmarks choose their own short run."""

    @classmethod
    def for_mode(cls, quick: bool) -> Settings:
        if quick:
            return cls(repeats=3, min_time=0.02, quick=True)
        return cls(repeats=15, min_time=0.2)


def _time_repetition(op: Operation, number: int) -> float:
    gc.collect()
    start = time.process_time()
    for _ in range(number):
        op()
    return time.process_time() - start


def calibrate(op: Operation, min_time: float) -> int:
    """Return how many calls of *op* take at least *min_time* CPU seconds."""
    number = 1
    while True:
        elapsed = _time_repetition(op, number)
        if elapsed >= min_time:
            return number
        # Aim a little past the target, and at least double, so that this
        # converges in a few steps even when the clock's resolution is coarse.
        estimate = int(number * min_time * 1.2 / max(elapsed, 1e-9))
        number = max(number * 2, estimate)


def measure(
    ops: Mapping[str, Operation],
    settings: Settings,
    log: Callable[[str], None],
    batch: int = 1,
) -> dict[str, list[float]]:
    """Return the seconds per operation of every repetition, by name.

    Each call of an operation counts as *batch* operations.
    """
    numbers: dict[str, int] = {}
    for name, op in ops.items():
        numbers[name] = calibrate(op, settings.min_time)
        _time_repetition(op, numbers[name])  # warm-up
        log(f"  {name}: {numbers[name]} ops per repetition")
    per_op: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(settings.repeats):
        for name, op in ops.items():
            elapsed = _time_repetition(op, numbers[name])
            per_op[name].append(elapsed / (numbers[name] * batch))
    return per_op


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        # squall run from its source tree (PYTHONPATH), not installed.
        return "source"


def run(benchmark: Benchmark, settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    """Check and time *benchmark*; return the JSON-ready result document."""
    ops: dict[str, Operation] = {}
    skipped: list[dict[str, str]] = []
    for impl in benchmark.implementations:
        try:
            ops[impl.name] = impl.setup()
        except ImportError as exc:
            log(f"  {impl.name}: skipped ({exc})")
            skipped.append({"impl": impl.name, "label": impl.label, "reason": repr(exc)})
    log(f"  checking outputs of {', '.join(ops)}")
    benchmark.check({name: op() for name, op in ops.items()})
    per_op = measure(ops, settings, log, benchmark.batch)
    by_name = {impl.name: impl for impl in benchmark.implementations}
    results = []
    for name, times in per_op.items():
        impl = by_name[name]
        results.append(
            {
                "impl": name,
                "label": impl.label,
                "version": _version(impl.distribution),
                "median_s": statistics.median(times),
                "best_s": min(times),
                "repeat_s": times,
            }
        )
    return {
        "schema": SCHEMA,
        "benchmark": benchmark.name,
        "description": benchmark.description,
        "unit": benchmark.unit,
        "batch": benchmark.batch,
        "statistic": "median",
        "repeats": settings.repeats,
        "min_time_s": settings.min_time,
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "targets": dict(benchmark.targets),
        "results": results,
        "skipped": skipped,
    }


def load_benchmarks(module: ModuleType) -> tuple[str | None, list[Benchmark]]:
    """Return a benchmark module's description and cases.

    The description is None for a module with a single ``BENCHMARK``.
    :raises AttributeError: if the module defines neither ``BENCHMARKS``
        nor ``BENCHMARK``.
    """
    cases = getattr(module, "BENCHMARKS", None)
    if cases is None:
        return None, [module.BENCHMARK]
    return str(module.DESCRIPTION), list(cases)


def run_module(
    name: str, module: ModuleType, settings: Settings, log: Callable[[str], None]
) -> dict[str, Any]:
    """Check and time every case of *module*; return the JSON-ready document.

    A single ``BENCHMARK`` gives its document as :func:`run` makes it;
    ``BENCHMARKS`` give ``{"schema": 2, "benchmark": name, "description":
    ..., "cases": [document, ...]}``; ``run_load`` gives what it returns.
    """
    if hasattr(module, "run_load"):
        load = cast(Callable[[Settings, Callable[[str], None]], dict[str, Any]], module.run_load)
        return load(settings, log)
    description, cases = load_benchmarks(module)
    if description is None:
        log(f"{cases[0].name}: {cases[0].description}")
        return run(cases[0], settings, log)
    log(f"{name}: {description}")
    documents = []
    for case in cases:
        log(f"{name} / {case.name}: {case.description}")
        documents.append(run(case, settings, log))
    return {
        "schema": SCHEMA_CASES,
        "benchmark": name,
        "description": description,
        "cases": documents,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._harness")
    parser.add_argument("name", help="benchmark name: NAME for benchmarks/bench_NAME.py")
    parser.add_argument("--quick", action="store_true", help="few, short repetitions")
    parser.add_argument("--out", type=Path, help="write the JSON result here (default stdout)")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    module = importlib.import_module(f"{__package__}.bench_{args.name}")
    try:
        document = run_module(args.name, module, Settings.for_mode(args.quick), log)
    except MismatchError as exc:
        log(f"FAILED: outputs differ: {exc}")
        return 3
    except Exception:
        log("FAILED:\n" + traceback.format_exc())
        return 2
    text = json.dumps(document, indent=2)
    if args.out is None:
        print(text)
    else:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
