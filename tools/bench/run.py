"""Run squall's benchmarks side by side with the peers and report the ratios.

Usage::

    python tools/bench/run.py [BENCH ...] [--quick] [--no-install] [--fresh]
                              [--no-report] [--list]

Standard library only: it runs under any Python 3.11+.  It creates (or
refreshes) the isolated environment ``tools/bench/.venv``, installs the pinned
peers of ``requirements-peers.txt`` and squall's packages from this repository
(editable) into it, runs each benchmark module in a subprocess of that
environment, prints one table for the run and, unless ``--quick`` or
``--no-report``, rewrites the benchmarks' sections of ``tools/bench/REPORT.md``.

Ratios are ``peer time / squall time`` from the same run: above 1 means
squall is faster.  See README.md beside this file.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent.parent
BENCHMARKS_DIR = BENCH_DIR / "benchmarks"
REQUIREMENTS = BENCH_DIR / "requirements-peers.txt"
REPORT = BENCH_DIR / "REPORT.md"
VENV = BENCH_DIR / ".venv"
STAMP = VENV / "squall-bench-stamp.json"

#: squall's packages (directories under packages/) the benchmarks import, in
#: dependency order.  Add one here when a benchmark starts to use it.
SQUALL_PACKAGES = ("core", "template", "ioloop", "iostream", "httpcore")

#: The implementation every ratio is relative to.
REFERENCE = "squall"

#: Wall-clock bound of one benchmark subprocess, in seconds.
TIMEOUT = {"quick": 300, "full": 1800}


# --------------------------------------------------------------------------
# Results (the JSON written by benchmarks/_harness.py)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImplResult:
    impl: str
    label: str
    version: str
    median_s: float
    best_s: float

    @property
    def ops_per_s(self) -> float:
        """Throughput of one CPU: operations per second of CPU time."""
        return 1.0 / self.median_s


@dataclass(frozen=True)
class BenchResult:
    name: str
    description: str
    unit: str
    python: str
    repeats: int
    min_time_s: float
    results: tuple[ImplResult, ...]
    skipped: tuple[tuple[str, str], ...]
    """``(label, reason)`` of implementations that could not be imported."""
    targets: Mapping[str, float]
    batch: int = 1
    """Operations per call of the timed function; times are per operation."""

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> BenchResult:
        return cls(
            name=str(doc["benchmark"]),
            description=str(doc["description"]),
            unit=str(doc["unit"]),
            batch=int(doc.get("batch", 1)),
            python=str(doc["python"]),
            repeats=int(doc["repeats"]),
            min_time_s=float(doc["min_time_s"]),
            results=tuple(
                ImplResult(
                    impl=str(r["impl"]),
                    label=str(r["label"]),
                    version=str(r["version"]),
                    median_s=float(r["median_s"]),
                    best_s=float(r["best_s"]),
                )
                for r in doc["results"]
            ),
            skipped=tuple((str(s["label"]), str(s["reason"])) for s in doc.get("skipped", ())),
            targets={str(k): float(v) for k, v in doc.get("targets", {}).items()},
        )

    def reference(self) -> ImplResult | None:
        return next((r for r in self.results if r.impl == REFERENCE), None)

    def speedup(self, result: ImplResult) -> float | None:
        """``result``'s time over squall's; None without a squall result."""
        ref = self.reference()
        if ref is None:
            return None
        return result.median_s / ref.median_s


@dataclass(frozen=True)
class BenchRun:
    """What one benchmark module measured: a single benchmark, or cases."""

    name: str
    description: str
    cases: tuple[BenchResult, ...]
    multi: bool
    """True for a module of several cases (``BENCHMARKS``)."""

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> BenchRun:
        """Read either kind of harness document (schema 1, or 2 with cases)."""
        if "cases" in doc:
            return cls(
                name=str(doc["benchmark"]),
                description=str(doc["description"]),
                cases=tuple(BenchResult.from_json(case) for case in doc["cases"]),
                multi=True,
            )
        bench = BenchResult.from_json(doc)
        return cls(name=bench.name, description=bench.description, cases=(bench,), multi=False)

    @property
    def skipped(self) -> bool:
        """Whether an implementation of any case could not be imported."""
        return any(case.skipped for case in self.cases)

    @property
    def complete(self) -> bool:
        """Every implementation of every case was measured."""
        return not self.skipped


@dataclass(frozen=True)
class LoadResult:
    """One server under load (benchmarks of schema 3, e.g. httpserver)."""

    impl: str
    label: str
    version: str
    requests_per_s: float | None
    cpu_per_request_s: float | None
    server_cpu_use: float | None
    """Fraction of one CPU the server used (1.0: saturated)."""
    client_cpu_use: float | None
    """The same for the load generator: near 1.0, it may be the bottleneck."""
    failure: str | None = None
    skipped: str | None = None
    connections: float | None = None
    """Connections the load peer accepted per round (httpclient), if counted."""

    @property
    def measured(self) -> bool:
        return self.requests_per_s is not None and self.cpu_per_request_s is not None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> LoadResult:
        def number(key: str) -> float | None:
            return float(doc[key]) if key in doc else None

        return cls(
            impl=str(doc["impl"]),
            label=str(doc["label"]),
            version=str(doc["version"]),
            requests_per_s=number("requests_per_s"),
            cpu_per_request_s=number("cpu_per_request_s"),
            server_cpu_use=number("server_cpu_use"),
            client_cpu_use=number("client_cpu_use"),
            failure=str(doc["failure"]) if "failure" in doc else None,
            skipped=str(doc["skipped"]) if "skipped" in doc else None,
            connections=number("connections"),
        )


@dataclass(frozen=True)
class LoadCase:
    name: str
    description: str
    results: tuple[LoadResult, ...]

    def result(self, impl: str) -> LoadResult | None:
        return next((r for r in self.results if r.impl == impl), None)

    def ratios(self, result: LoadResult, peer: str) -> tuple[float, float] | None:
        """``(requests/s ratio, CPU time ratio)`` of *result* against *peer*.

        Both above 1 when *result* is faster: its requests/s over the peer's,
        and the peer's CPU time per request over its own.  None unless both
        were measured.
        """
        other = self.result(peer)
        if other is None:
            return None
        rate, cpu = result.requests_per_s, result.cpu_per_request_s
        peer_rate, peer_cpu = other.requests_per_s, other.cpu_per_request_s
        if rate is None or cpu is None or peer_rate is None or peer_cpu is None:
            return None
        return rate / peer_rate, peer_cpu / cpu


@dataclass(frozen=True)
class LoadTarget:
    case: str
    impl: str
    peer: str
    min_ratio: float
    """Of ``peer``'s CPU time per request over ``impl``'s, in case ``case``."""
    text: str


@dataclass(frozen=True)
class LoadRun:
    """What a load benchmark measured (schema 3): servers under a load generator."""

    name: str
    description: str
    python: str
    unit: str
    method: str
    implementations: tuple[tuple[str, str], ...]
    """``(label, description)`` of each implementation."""
    baselines: tuple[str, ...]
    """Implementations every result is compared with, a column each."""
    cases: tuple[LoadCase, ...]
    targets: tuple[LoadTarget, ...]
    subject: str = "server"
    """What is measured: ``server`` (under wrk) or ``client`` (against nginx)."""
    load_peer: str = "wrk"
    """The other end: the load generator, or the server the clients load."""

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> LoadRun:
        return cls(
            name=str(doc["benchmark"]),
            description=str(doc["description"]),
            python=str(doc["python"]),
            unit=str(doc.get("unit", "request")),
            method=str(doc["method"]),
            implementations=tuple(
                (str(i["label"]), str(i["description"])) for i in doc.get("implementations", ())
            ),
            baselines=tuple(str(b) for b in doc.get("baselines", ())),
            cases=tuple(
                LoadCase(
                    name=str(case["name"]),
                    description=str(case.get("description", "")),
                    results=tuple(LoadResult.from_json(r) for r in case["results"]),
                )
                for case in doc["cases"]
            ),
            targets=tuple(
                LoadTarget(
                    case=str(t["case"]),
                    impl=str(t["impl"]),
                    peer=str(t["peer"]),
                    min_ratio=float(t["min_ratio"]),
                    text=str(t["text"]),
                )
                for t in doc.get("targets", ())
            ),
            subject=str(doc.get("subject", "server")),
            load_peer=str(doc.get("load_peer", "wrk")),
        )

    @property
    def complete(self) -> bool:
        """Every server of every case was measured (none failed or skipped)."""
        return all(r.measured for case in self.cases for r in case.results)

    def case(self, name: str) -> LoadCase | None:
        return next((c for c in self.cases if c.name == name), None)


def read_run(doc: Mapping[str, Any]) -> BenchRun | LoadRun:
    """Either kind of benchmark module's document."""
    if doc.get("kind") == "load":
        return LoadRun.from_json(doc)
    return BenchRun.from_json(doc)


# --------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """Four significant digits in the largest unit that keeps the value >= 1."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.4g} {unit}"
    return f"{seconds / 1e-9:.4g} ns"


def format_rate(per_second: float) -> str:
    if per_second >= 100:
        return f"{per_second:,.0f}"
    return f"{per_second:.3g}"


def format_ratio(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), separator, *(line(row) for row in rows)])


def render_table(benches: Sequence[BenchResult], *, with_benchmark: bool = True) -> str:
    """One markdown table: a row per implementation, squall first."""
    header = [
        "implementation",
        "version",
        "CPU time/op (median)",
        "best",
        "ops/s",
        "squall speed-up",
    ]
    if with_benchmark:
        header.insert(0, "benchmark")
    rows: list[list[str]] = []
    for bench in benches:
        ordered = sorted(bench.results, key=lambda r: r.impl != REFERENCE)
        for result in ordered:
            speedup = bench.speedup(result)
            row = [
                result.label,
                result.version,
                format_duration(result.median_s),
                format_duration(result.best_s),
                format_rate(result.ops_per_s),
                "(reference)" if result.impl == REFERENCE else format_ratio(speedup),
            ]
            if with_benchmark:
                row.insert(0, bench.name)
            rows.append(row)
        for label, reason in bench.skipped:
            row = [label, "not installed", "-", "-", "-", f"skipped: {reason}"]
            if with_benchmark:
                row.insert(0, bench.name)
            rows.append(row)
    return _markdown_table(header, rows)


def target_lines(bench: BenchResult) -> list[str]:
    """One line per speed-up target of *bench*: met, missed or unmeasured."""
    lines = []
    for peer, target in sorted(bench.targets.items()):
        result = next((r for r in bench.results if r.impl == peer), None)
        label = peer if result is None else result.label
        speedup = None if result is None else bench.speedup(result)
        if result is None:
            verdict = f"not measured (no {peer} result)"
        elif speedup is None:
            verdict = f"not measured (no {REFERENCE} result)"
        else:
            verdict = ("met" if speedup >= target else "MISSED") + f" ({format_ratio(speedup)})"
        lines.append(f"Target: squall >= {target:.2f}x {label}: {verdict}")
    return lines


# --------------------------------------------------------------------------
# REPORT.md
# --------------------------------------------------------------------------

REPORT_HEADER = """\
# squall benchmark report

Written by `tools/bench/run.py`; every section below is replaced when its
benchmark is run again (a full run, not `--quick`).  How to read it:
[README.md](README.md).  Ratios are peer time / squall time from the same run:
above 1 means squall is faster.
"""


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"


def update_report(text: str, name: str, section: str) -> str:
    """Return *text* with benchmark *name*'s section replaced by *section*.

    Sections are delimited by HTML comments; a new one is appended, and the
    other benchmarks' sections are kept as they were.
    """
    begin, end = _markers(name)
    block = f"{begin}\n{section.strip()}\n{end}"
    if not text.strip():
        text = REPORT_HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text, count=1)
    return text.rstrip("\n") + "\n\n" + block + "\n"


@dataclass(frozen=True)
class RunContext:
    """Where and how the numbers were measured."""

    command: str
    date: str
    machine: str
    squall_source: str
    packages: str


def method(bench: BenchResult) -> str:
    return (
        f"CPU time per operation (time.process_time): median, and best, of {bench.repeats}"
        f" repetitions of at least {bench.min_time_s:g} s CPU time each, after calibration"
        " and a warm-up repetition; implementations interleaved round-robin; gc enabled,"
        " collected before each repetition"
    )


def report_section(bench: BenchResult, ctx: RunContext) -> str:
    lines = [
        f"## {bench.name}",
        "",
        _sentence(bench.description),
        "",
        f"- Command: `{ctx.command}`",
        f"- Date: {ctx.date}",
        f"- Machine: {ctx.machine}",
        f"- Python: {bench.python}, in tools/bench/.venv",
        f"- squall: {ctx.squall_source}",
        f"- Packages: {ctx.packages}",
        f"- Method: {method(bench)}",
        "",
        render_table([bench], with_benchmark=False),
    ]
    targets = target_lines(bench)
    if targets:
        lines += ["", *targets]
    return "\n".join(lines) + "\n"


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}."


def _unit(bench: BenchResult) -> str:
    if bench.batch == 1:
        return bench.unit
    return f"{bench.unit}, timed in batches of {bench.batch:,}"


def cases_section(run: BenchRun, ctx: RunContext) -> str:
    """The REPORT.md section of a module of several cases: one table."""
    first = run.cases[0]
    lines = [
        f"## {run.name}",
        "",
        _sentence(run.description),
        "",
        f"- Command: `{ctx.command}`",
        f"- Date: {ctx.date}",
        f"- Machine: {ctx.machine}",
        f"- Python: {first.python}, in tools/bench/.venv",
        f"- squall: {ctx.squall_source}",
        f"- Packages: {ctx.packages}",
        f"- Method: {method(first)}",
        "- Cases (the time is per operation, named in brackets):",
        *(f"  - {case.name} ({_unit(case)}): {case.description}" for case in run.cases),
        "",
        render_table(run.cases),
    ]
    targets = [f"{case.name}: {line}" for case in run.cases for line in target_lines(case)]
    if targets:
        lines += ["", *targets]
    return "\n".join(lines) + "\n"


def run_section(run: BenchRun | LoadRun, ctx: RunContext) -> str:
    """The REPORT.md section of one benchmark module."""
    if isinstance(run, LoadRun):
        return load_section(run, ctx)
    if run.multi:
        return cases_section(run, ctx)
    return report_section(run.cases[0], ctx)


def format_percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction:.0%}"


def _load_label(run: LoadRun, impl: str) -> str:
    for case in run.cases:
        result = case.result(impl)
        if result is not None:
            return result.label
    return impl


def render_load_table(run: LoadRun) -> str:
    """A row per case and server: requests/s, CPU time/request, ratios."""
    header = [
        "event loop",
        "implementation",
        "version",
        "requests/s",
        f"CPU time/{run.unit}",
        f"{run.subject} CPU",
        f"{run.load_peer} CPU",
        *(f"vs {b} ({how})" for b in run.baselines for how in ("CPU", "req/s")),
    ]
    with_connections = any(
        result.connections is not None for case in run.cases for result in case.results
    )
    if with_connections:
        header.insert(7, "connections")
    rows: list[list[str]] = []
    for case in run.cases:
        for result in case.results:
            row = [case.name, result.label, result.version]
            rate, cpu = result.requests_per_s, result.cpu_per_request_s
            if rate is not None and cpu is not None:
                row += [
                    format_rate(rate),
                    format_duration(cpu),
                    format_percent(result.server_cpu_use),
                    format_percent(result.client_cpu_use),
                ]
                if with_connections:
                    connections = result.connections
                    row.append("-" if connections is None else f"{connections:,.0f}")
                for baseline in run.baselines:
                    ratios = None if baseline == result.impl else case.ratios(result, baseline)
                    if ratios is None:
                        row += ["-", "-"]
                    else:
                        row += [format_ratio(ratios[1]), format_ratio(ratios[0])]
            else:
                if result.skipped is not None:
                    reason = f"skipped: {result.skipped}"
                else:
                    reason = f"FAILED: {result.failure}"
                # One line: a table cell cannot hold a newline.
                row += [" ".join(reason.split())[:300], "-", "-", "-"]
                row += ["-"] * (2 * len(run.baselines) + with_connections)
            rows.append(row)
    return _markdown_table(header, rows)


def load_target_lines(run: LoadRun) -> list[str]:
    """One line per target: met, missed (and by how much) or not measured."""
    lines = []
    for target in run.targets:
        case = run.case(target.case)
        result = None if case is None else case.result(target.impl)
        peer = _load_label(run, target.peer)
        label = _load_label(run, target.impl)
        head = (
            f"Target: {label} on {target.case} >= {target.min_ratio:.2f}x {peer} ({target.text})"
        )
        ratios = None if case is None or result is None else case.ratios(result, target.peer)
        if ratios is None:
            verdict = f"not measured (a {run.subject} failed or was skipped)"
        else:
            by_rate, by_cpu = ratios
            if by_cpu >= target.min_ratio:
                verdict = f"met ({by_cpu:.2f}x by CPU time per {run.unit}"
            else:
                short = 1 - by_cpu / target.min_ratio
                verdict = f"MISSED ({by_cpu:.2f}x by CPU time per {run.unit}, {short:.0%} short"
            verdict += f"; {by_rate:.2f}x by requests/s)"
        lines.append(f"{head}: {verdict}")
    return lines


#: Below this share of one CPU a server was not saturated during its rounds.
SATURATED = 0.9


def load_warnings(run: LoadRun) -> list[str]:
    """Servers whose requests/s do not show their speed: not saturated.

    One line per cause: wrk saturated its own CPU, or neither was (other
    processes took the CPUs).
    """
    by_cause: dict[str, list[str]] = {}
    for case in run.cases:
        for result in case.results:
            use = result.server_cpu_use
            if use is None or use >= SATURATED:
                continue
            client = result.client_cpu_use
            cause = (
                f"{run.load_peer} saturated its CPU"
                if client is not None and client >= SATURATED
                else "other processes took the CPUs"
            )
            by_cause.setdefault(cause, []).append(f"{result.label} on {case.name} {use:.0%}")
    return [
        f"Note: {run.subject}s below {SATURATED:.0%} of their CPU ({cause}), whose requests/s"
        f" understate them (compare CPU time per request): {', '.join(servers)}."
        for cause, servers in by_cause.items()
    ]


LOAD_RATIOS_NOTE = (
    "vs X (CPU): X's CPU time per request over this server's; vs X (req/s): this server's"
    " requests/s over X's; from the same run, above 1.00x this server is faster. Targets"
    " are judged by CPU time per request, which neither a busy machine nor a saturated"
    " load generator distorts; requests/s equal its inverse when the server saturates its"
    " CPU (server CPU near 100%)."
)


def load_ratios_note(run: LoadRun) -> str:
    """:data:`LOAD_RATIOS_NOTE` for what *run* measures (servers or clients)."""
    if run.subject == "server":
        return LOAD_RATIOS_NOTE
    return LOAD_RATIOS_NOTE.replace("server", run.subject).replace(
        "a saturated load generator", f"a saturated {run.load_peer}"
    )


def load_section(run: LoadRun, ctx: RunContext) -> str:
    """The REPORT.md section of a load benchmark."""
    lines = [
        f"## {run.name}",
        "",
        _sentence(run.description),
        "",
        f"- Command: `{ctx.command}`",
        f"- Date: {ctx.date}",
        f"- Machine: {ctx.machine}",
        f"- Python: {run.python}, in tools/bench/.venv",
        f"- squall: {ctx.squall_source}",
        f"- Packages: {ctx.packages}",
        f"- Method: {run.method}",
        f"- {run.subject.capitalize()}s:",
        *(f"  - {label}: {description}" for label, description in run.implementations),
        "",
        render_load_table(run),
        "",
        load_ratios_note(run),
        *(["", *load_warnings(run)] if load_warnings(run) else []),
    ]
    targets = load_target_lines(run)
    if targets:
        lines += ["", *targets]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# The environment
# --------------------------------------------------------------------------


def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def _has_code(package_dir: Path) -> bool:
    return any((package_dir / "src" / "squall").rglob("*.py"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


#: Compiles squall-httpcore's C extension in place when its source changed
#: (standard library only).
BUILD_EXT = REPO / "tools" / "build_ext.py"


def compile_extension(python: Path) -> None:
    """Bring the in-place C extension up to date for *python*'s interpreter.

    pip compiles it when it installs httpcore editable, but the stamp skips
    pip while the C source changes, and a benchmark must measure the current
    source.  Fatal on failure: squall would silently run pure Python.
    """
    command = [str(python), str(BUILD_EXT)]
    print("$", shlex.join(command), file=sys.stderr, flush=True)
    if subprocess.run(command, check=False).returncode != 0:
        raise SystemExit(
            "compiling squall's C extension failed; fix it, or set SQUALL_NO_EXTENSIONS=1 "
            "to measure the pure-Python code"
        )


def _pip(python: Path, *args: str) -> bool:
    command = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "-q", *args]
    print("$", shlex.join(command), file=sys.stderr, flush=True)
    return subprocess.run(command, check=False).returncode == 0


@dataclass(frozen=True)
class Environment:
    python: Path
    pythonpath: tuple[Path, ...]
    """Source directories of squall packages that are not installed."""
    editable: tuple[str, ...]
    """squall packages installed editable."""


def prepare_environment(*, install: bool, fresh: bool) -> Environment:
    """Create or refresh tools/bench/.venv; return how to run Python in it.

    Peers are installed from requirements-peers.txt (failure is fatal).
    squall's packages with code are installed editable; if that fails (e.g. a
    pyproject.toml that does not build yet), their ``src`` directories go on
    PYTHONPATH instead, so a benchmark can run from the source tree.  A stamp
    of the inputs skips pip when nothing changed.  squall-httpcore's C
    extension is then recompiled in place if its source changed.
    """
    python = venv_python()
    packages = [REPO / "packages" / name for name in SQUALL_PACKAGES]
    with_code = [p for p in packages if _has_code(p)]
    installable = [p for p in with_code if (p / "pyproject.toml").is_file()]
    if fresh or not python.exists():
        if not install:
            raise SystemExit(f"{VENV} does not exist: run without --no-install")
        print(f"creating {VENV}", file=sys.stderr)
        command = [sys.executable, "-m", "venv", *(["--clear"] if fresh else []), str(VENV)]
        subprocess.run(command, check=True)
    stamp_inputs = {
        "python": sys.version,
        "requirements": _digest(REQUIREMENTS),
        "packages": {p.name: _digest(p / "pyproject.toml") for p in installable},
    }
    try:
        stamp = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stamp = {}
    editable: list[str]
    if not install or stamp.get("inputs") == stamp_inputs:
        editable = [str(name) for name in stamp.get("editable", [])]
    else:
        if not _pip(python, "-r", str(REQUIREMENTS)):
            raise SystemExit("installing the peers failed")
        editable = []
        if installable:
            args = [arg for p in installable for arg in ("-e", str(p))]
            if _pip(python, *args):
                editable = [p.name for p in installable]
            else:
                print(
                    "warning: squall's packages did not install; using PYTHONPATH",
                    file=sys.stderr,
                )
        STAMP.write_text(json.dumps({"inputs": stamp_inputs, "editable": editable}, indent=2))
    if any(p.name == "httpcore" for p in with_code):
        compile_extension(python)
    pythonpath = tuple(p / "src" for p in with_code if p.name not in editable)
    return Environment(python=python, pythonpath=pythonpath, editable=tuple(editable))


def subprocess_env(env: Environment) -> dict[str, str]:
    """os.environ without the caller's Python settings, plus our own."""
    variables = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
    }
    variables["PYTHONPATH"] = os.pathsep.join(str(p) for p in (BENCH_DIR, *env.pythonpath))
    variables["PYTHONNOUSERSITE"] = "1"
    return variables


def installed_packages(env: Environment) -> str:
    """``name version`` of everything in the venv but pip itself."""
    command = [str(env.python), "-m", "pip", "--disable-pip-version-check", "list"]
    out = subprocess.run(
        [*command, "--format=json"], check=True, capture_output=True, text=True
    ).stdout
    items = sorted(json.loads(out), key=lambda item: str(item["name"]).lower())
    return ", ".join(f"{i['name']} {i['version']}" for i in items if i["name"] != "pip")


#: Programs a benchmark runs, by benchmark: command -> Debian package.
SYSTEM_TOOLS: Mapping[str, Mapping[str, str]] = {
    "httpserver": {"wrk": "wrk"},
    "httpclient": {"nginx": "nginx-light"},
}


def missing_tools(names: Sequence[str]) -> dict[str, str]:
    """The commands benchmarks *names* need that are not on PATH, with their packages."""
    return {
        command: package
        for name in names
        for command, package in SYSTEM_TOOLS.get(name, {}).items()
        if shutil.which(command) is None
    }


def ensure_system_tools(names: Sequence[str], *, install: bool) -> bool:
    """Install (apt-get, as root) the Debian packages benchmarks *names* need.

    Returns whether they are all there; a benchmark whose tool is missing fails
    saying so.
    """
    absent = missing_tools(names)
    if not absent:
        return True
    packages = sorted(set(absent.values()))
    can_install = shutil.which("apt-get") is not None and os.geteuid() == 0
    if install and can_install:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
        print("$", shlex.join(command), file=sys.stderr, flush=True)
        if subprocess.run(command, check=False, env=env).returncode != 0:
            # The package lists may be missing or stale.
            subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
            subprocess.run(command, check=False, env=env)
        absent = missing_tools(names)
        if not absent:
            return True
    print(
        f"warning: missing {', '.join(sorted(absent))}: install the Debian package(s)"
        f" {' '.join(sorted(set(absent.values())))}",
        file=sys.stderr,
    )
    return False


# --------------------------------------------------------------------------
# Machine and source information
# --------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_description() -> str:
    logical = os.cpu_count() or 0
    parts = [cpu_model(), f"{logical} logical CPUs"]
    if hasattr(os, "sched_getaffinity"):
        parts[-1] += f" ({len(os.sched_getaffinity(0))} usable)"
    parts.append(platform.platform())
    if hasattr(os, "getloadavg"):
        parts.append(f"load average {os.getloadavg()[0]:.2f} at start")
    return ", ".join(parts)


def squall_source(env: Environment) -> str:
    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(REPO), *args], check=False, capture_output=True, text=True
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "no commit yet"
    sources = [f"packages/{name}/src" for name in SQUALL_PACKAGES]
    dirty = git("status", "--porcelain", "--", *sources)
    how = []
    if env.editable:
        how.append("installed editable: " + ", ".join(env.editable))
    if env.pythonpath:
        how.append("on PYTHONPATH: " + ", ".join(p.parent.name for p in env.pythonpath))
    state = " with uncommitted changes in the sources" if dirty else ""
    return f"git {commit}{state} ({'; '.join(how) or 'not found'})"


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


def available_benchmarks() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in BENCHMARKS_DIR.glob("bench_*.py"))


def run_benchmark(name: str, env: Environment, *, quick: bool) -> BenchRun | LoadRun | None:
    """Run one benchmark in the venv; None (after saying why) if it failed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [str(env.python), "-m", "benchmarks._harness", name, "--out", str(out)]
        if quick:
            command.append("--quick")
        try:
            completed = subprocess.run(
                command,
                check=False,
                cwd=BENCH_DIR,
                env=subprocess_env(env),
                timeout=TIMEOUT["quick" if quick else "full"],
            )
        except subprocess.TimeoutExpired:
            print(f"{name}: FAILED: timed out", file=sys.stderr)
            return None
        if completed.returncode != 0:
            print(f"{name}: FAILED (exit status {completed.returncode})", file=sys.stderr)
            return None
        return read_run(json.loads(out.read_text(encoding="utf-8")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/bench/run.py",
        description="Benchmark squall against tornado, aiohttp, websockets and jinja2.",
    )
    parser.add_argument("benchmarks", nargs="*", metavar="BENCH", help="default: all")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: few short repetitions, no REPORT.md"
    )
    parser.add_argument("--no-install", action="store_true", help="use tools/bench/.venv as it is")
    parser.add_argument("--fresh", action="store_true", help="recreate tools/bench/.venv")
    parser.add_argument("--no-report", action="store_true", help="do not update REPORT.md")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    known = available_benchmarks()
    if args.list:
        print("\n".join(known))
        return 0
    names = [n.removeprefix("bench_").removesuffix(".py") for n in args.benchmarks] or known
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(known)}")

    machine = machine_description()
    env = prepare_environment(install=not args.no_install, fresh=args.fresh)
    ok = ensure_system_tools(names, install=not args.no_install)
    runs: list[BenchRun | LoadRun] = []
    for name in names:
        bench_run = run_benchmark(name, env, quick=args.quick)
        if bench_run is None or not bench_run.complete:
            ok = False
        if bench_run is not None:
            runs.append(bench_run)
    if not runs:
        return 1
    results = [
        case for bench_run in runs if isinstance(bench_run, BenchRun) for case in bench_run.cases
    ]

    if results:
        print()
        print(render_table(results))
        print()
        print("CPU time per operation (time.process_time), median of the repetitions.")
        print("squall speed-up = peer time / squall time: above 1.00x squall is faster.")
        for result in results:
            for line in target_lines(result):
                print(f"{result.name}: {line}")
    for load_run in runs:
        if isinstance(load_run, LoadRun):
            print()
            print(f"{load_run.name}: {load_run.method}")
            print()
            print(render_load_table(load_run))
            print()
            print(load_ratios_note(load_run))
            for line in [*load_warnings(load_run), *load_target_lines(load_run)]:
                print(f"{load_run.name}: {line}")

    if not args.quick and not args.no_report:
        ctx = RunContext(
            command=shlex.join(["python", "tools/bench/run.py", *(argv or sys.argv[1:])]),
            date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            machine=machine,
            squall_source=squall_source(env),
            packages=installed_packages(env),
        )
        text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
        for bench_run in runs:
            text = update_report(text, bench_run.name, run_section(bench_run, ctx))
        REPORT.write_text(text, encoding="utf-8")
        print(f"\nwrote {REPORT.relative_to(REPO)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
