"""HTTP server: a hello-world HTTPServer callback under wrk, squall against Tornado and raw.

Unlike the other benchmarks this one is not timed in-process: each server
runs in its own process of the bench venv (``benchmarks/_servers.py``) pinned
to one CPU, and wrk, the load generator, runs pinned to the other CPU with
:data:`CONNECTIONS` keep-alive connections on one thread.  Servers:

- squall's ``HTTPServer`` with a plain callback answering ``Hello, world``
  (``request.connection.write_headers(start_line, headers, body)`` then
  ``finish()``): pure Python (``SQUALL_NO_EXTENSIONS=1``), with httptools'
  parser (``SQUALL_HTTP1_PARSER=httptools``), and with its compiled module
  (``squall._http1._speedups``: the C parser and writer, the default when
  it is built);
- Tornado's ``HTTPServer`` with the same callback;
- a raw ``asyncio.Protocol`` feeding httptools and writing a prebuilt
  response: no framework at all, the practical ceiling.

Each on the default asyncio event loop and on uvloop (squall:
``SQUALL_IOLOOP=uvloop``; Tornado: uvloop's event loop policy; raw: a uvloop
loop).  The server reports the module of its loop and whether httptools is
loaded, and both are checked.

Method, per event loop: every server is started and checked (two GETs on one
keep-alive connection: status 200, HTTP/1.1, the body, the connection kept
open); each gets a warm-up run of wrk; then :attr:`LoadSettings.rounds`
measured wrk runs per server, the servers interleaved round-robin.  For each
round: requests/s is wrk's request count over wrk's duration; the server's
CPU time is its ``utime + stime`` from ``/proc/PID/stat`` read just before
and just after wrk runs, divided by wrk's request count; wrk's own CPU time
comes from ``getrusage(RUSAGE_CHILDREN)``.  The figures are the medians over
the rounds.  Any wrk error (connect, read, write, timeout, or a status of 400
or more) in the warm-up or a round fails that server: it is reported as
failed, without figures.

The module defines :func:`run_load` instead of ``BENCHMARK(S)``: the harness
calls it and writes the document it returns (schema 3, "load"), which run.py
renders as its own table.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _procs
from ._harness import SCHEMA_LOAD, Settings
from ._servers import BODY, CONTENT_TYPE

BENCH_DIR = Path(__file__).resolve().parent.parent

#: wrk's keep-alive connections, and its threads.
CONNECTIONS = 50
THREADS = 1

#: The event loops every server runs on, one case each.
LOOPS = ("asyncio", "uvloop")

#: Seconds to wait for a server to listen, and for a check's response.
START_TIMEOUT = 30.0
CHECK_TIMEOUT = 5.0

#: What wrk prints (from the Lua ``done`` hook below) before its summary.
SUMMARY_MARK = "squall-bench-summary "

#: wrk's ``done`` hook: the exact counts as one JSON line (wrk's own text
#: rounds the duration and omits zero error counts).
WRK_SCRIPT = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d,'
      .. ' "read": %d, "write": %d, "status": %d, "timeout": %d},'
      .. ' "latency_us": {"mean": %.1f, "p50": %d, "p99": %d, "max": %d}}\\n',
    "MARK", summary.requests, summary.duration, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, latency.mean, latency:percentile(50),
    latency:percentile(99), latency.max))
end
""".replace("MARK", SUMMARY_MARK)


class ServerError(Exception):
    """A server did not start, answered wrongly, died, or wrk saw errors."""


# --------------------------------------------------------------------------
# What is compared
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerSpec:
    """One implementation: which server runs, with which environment."""

    impl: str
    """Key in the results: ``squall-python``, ``tornado``, ..."""
    label: str
    distribution: str
    """Whose version the table shows."""
    server: str
    """``IMPL`` argument of ``benchmarks._servers``."""
    env: Mapping[str, str | None] = field(default_factory=dict)
    """Environment changes (None removes the variable)."""
    httptools: bool | None = None
    """Whether httptools must be loaded once the server listens (None: either)."""
    parser: str | None = None
    """squall's HTTP/1 parser the server must report using (None: any)."""
    description: str = ""


IMPLEMENTATIONS = (
    ServerSpec(
        impl="squall-python",
        label="squall, pure Python",
        distribution="squall-httpcore",
        server="squall",
        env={"SQUALL_NO_EXTENSIONS": "1", "SQUALL_HTTP1_PARSER": None},
        httptools=False,
        parser="python",
        description="squall.httpserver.HTTPServer with the callback, SQUALL_NO_EXTENSIONS=1",
    ),
    ServerSpec(
        impl="squall-httptools",
        label="squall, httptools parser",
        distribution="squall-httpcore",
        server="squall",
        env={"SQUALL_NO_EXTENSIONS": None, "SQUALL_HTTP1_PARSER": "httptools"},
        httptools=True,
        parser="httptools",
        description=(
            "the same with httptools' parser (squall-httpcore[speedups],"
            " SQUALL_HTTP1_PARSER=httptools) and the compiled module's response writer"
        ),
    ),
    ServerSpec(
        impl="squall-c",
        label="squall, compiled",
        distribution="squall-httpcore",
        server="squall",
        env={"SQUALL_NO_EXTENSIONS": None, "SQUALL_HTTP1_PARSER": None},
        parser="c",
        description=(
            "the same with squall-httpcore's compiled module (squall._http1._speedups:"
            " the C request-head parser and response writer), the default when it is built"
        ),
    ),
    ServerSpec(
        impl="tornado",
        label="tornado",
        distribution="tornado",
        server="tornado",
        description="tornado.httpserver.HTTPServer with the same callback",
    ),
    ServerSpec(
        impl="raw",
        label="raw Protocol + httptools",
        distribution="httptools",
        server="raw",
        httptools=True,
        description=(
            "an asyncio.Protocol feeding httptools.HttpRequestParser and writing a prebuilt"
            " response on on_message_complete (keep-alive, pipelining, 400 on garbage):"
            " the practical ceiling"
        ),
    ),
)

#: Columns of ratios: this implementation against these, from the same run.
BASELINES = ("tornado", "raw")


@dataclass(frozen=True)
class Target:
    case: str
    impl: str
    peer: str
    min_ratio: float
    """Of ``peer``'s CPU time per request over ``impl``'s (run.py shows the
    requests/s ratio beside it)."""
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "impl": self.impl,
            "peer": self.peer,
            "min_ratio": self.min_ratio,
            "text": self.text,
        }


TARGETS = (
    Target("asyncio", "squall-python", "tornado", 4.0, "pure Python on asyncio >= 4x tornado"),
    Target(
        "uvloop",
        "squall-c",
        "raw",
        0.5,
        "uvloop + the speedups (compiled module, httptools installed) >= half the raw ceiling",
    ),
)


@dataclass(frozen=True)
class LoadSettings:
    """How long wrk runs: whole seconds (wrk's ``-d`` takes no fractions).

    Four rounds: on the 2-CPU VM of REPORT.md single rounds of one server
    vary by up to a third (16-26 us per request for squall's), so a median
    of three still moved by a quarter between runs; five would take the
    whole benchmark (five servers on two loops) past the three minutes it
    may take.
    """

    warmup_s: int
    duration_s: int
    rounds: int

    @classmethod
    def for_mode(cls, quick: bool) -> LoadSettings:
        if quick:
            return cls(warmup_s=1, duration_s=1, rounds=1)
        return cls(warmup_s=1, duration_s=3, rounds=4)


# --------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkSummary:
    """What wrk counted in one run."""

    requests: int
    duration_s: float
    bytes: int
    errors: Mapping[str, int]
    """``connect``, ``read``, ``write``, ``timeout``, and ``status`` (responses
    with a status of 400 or more)."""
    latency_us: Mapping[str, float]

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s

    def error_text(self) -> str | None:
        """None without errors, else what went wrong, e.g. ``"3 read errors"``."""
        parts = []
        for kind, count in self.errors.items():
            if count:
                what = "responses with status >= 400" if kind == "status" else f"{kind} errors"
                parts.append(f"{count} {what}")
        if not parts and self.requests == 0:
            parts.append("no request completed")
        return ", ".join(parts) or None


def parse_wrk_output(text: str) -> WrkSummary:
    """Read the summary line :data:`WRK_SCRIPT` makes wrk print.

    :raises ValueError: if there is none, or it is malformed.
    """
    for line in text.splitlines():
        if line.startswith(SUMMARY_MARK):
            doc = json.loads(line[len(SUMMARY_MARK) :])
            duration = int(doc["duration_us"]) / 1e6
            if duration <= 0:
                raise ValueError(f"wrk reported a duration of {duration} s")
            return WrkSummary(
                requests=int(doc["requests"]),
                duration_s=duration,
                bytes=int(doc["bytes"]),
                errors={str(k): int(v) for k, v in doc["errors"].items()},
                latency_us={str(k): float(v) for k, v in doc["latency_us"].items()},
            )
    raise ValueError("wrk printed no summary line:\n" + text[-2000:])


def wrk_command(wrk: str, url: str, duration_s: int, script: Path) -> list[str]:
    return [
        wrk,
        f"--threads={THREADS}",
        f"--connections={CONNECTIONS}",
        f"--duration={duration_s}s",
        f"--script={script}",
        url,
    ]


def wrk_version(wrk: str) -> str:
    """``wrk 4.1.0 ...`` as wrk prints it (``-v`` exits non-zero)."""
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "wrk"


def children_cpu_seconds() -> float:
    """CPU time of this process's terminated, waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------
# CPU accounting of a server process
# --------------------------------------------------------------------------


def parse_proc_stat(text: str) -> tuple[int, int]:
    """``(utime, stime)`` in clock ticks from the text of ``/proc/PID/stat``.

    The command name (field 2) is in parentheses and may itself contain
    spaces and parentheses, so the fields are counted after the last ``)``:
    utime and stime are fields 14 and 15 of proc(5).
    """
    rest = text[text.rindex(")") + 1 :].split()
    # rest[0] is field 3 (state).
    return int(rest[14 - 3]), int(rest[15 - 3])


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` (all its threads) so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        utime, stime = parse_proc_stat(stat.read())
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Round:
    """One measured wrk run against one server."""

    requests: int
    duration_s: float
    """wrk's measured duration."""
    wall_s: float
    """Wall time between the two readings of the server's CPU time."""
    server_cpu_s: float
    client_cpu_s: float
    """wrk's CPU time."""
    latency_us: Mapping[str, float] = field(default_factory=dict)

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s

    @property
    def cpu_per_request_s(self) -> float:
        return self.server_cpu_s / self.requests

    @property
    def server_cpu_use(self) -> float:
        """Fraction of one CPU the server used over the round."""
        return self.server_cpu_s / self.wall_s

    @property
    def client_cpu_use(self) -> float:
        return self.client_cpu_s / self.wall_s

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "duration_s": self.duration_s,
            "wall_s": self.wall_s,
            "server_cpu_s": self.server_cpu_s,
            "client_cpu_s": self.client_cpu_s,
            "latency_us": dict(self.latency_us),
        }


def summarize(rounds: Sequence[Round]) -> dict[str, Any]:
    """The medians over `rounds` of the reported figures, and the rounds."""
    return {
        "requests_per_s": statistics.median(r.requests_per_s for r in rounds),
        "cpu_per_request_s": statistics.median(r.cpu_per_request_s for r in rounds),
        "server_cpu_use": statistics.median(r.server_cpu_use for r in rounds),
        "client_cpu_use": statistics.median(r.client_cpu_use for r in rounds),
        "requests": sum(r.requests for r in rounds),
        "rounds": [r.to_json() for r in rounds],
    }


# --------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------


def server_env(spec: ServerSpec, loop_name: str) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in spec.env.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    if spec.server == "squall":
        env["SQUALL_IOLOOP"] = loop_name
    return env


def check_response(port: int) -> None:
    """Two GETs on one keep-alive connection, each answered in full.

    :raises ServerError: on a wrong status, version, body or header, or if
        the server closed the connection after the first response.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CHECK_TIMEOUT)
    try:
        first_socket = None
        for attempt in (1, 2):
            conn.request("GET", f"/check/{attempt}?x=1", headers={"User-Agent": "squall-bench"})
            response = conn.getresponse()
            body = response.read()
            problem = None
            if response.status != 200:
                problem = f"status {response.status}"
            elif response.version != 11:
                problem = f"HTTP version {response.version}"
            elif body != BODY:
                problem = f"body {body[:100]!r}"
            elif response.getheader("Content-Type") != CONTENT_TYPE:
                problem = f"Content-Type {response.getheader('Content-Type')!r}"
            elif response.will_close:
                problem = "the connection is not kept alive"
            if problem:
                raise ServerError(f"request {attempt} answered with {problem}")
            if attempt == 1:
                first_socket = conn.sock
            elif conn.sock is not first_socket:
                raise ServerError("the second request went over a new connection")
    except (OSError, http.client.HTTPException) as exc:
        raise ServerError(f"check request failed: {exc!r}") from exc
    finally:
        conn.close()


#: Scheduling priority (nice value) of the servers, wrk and this driver when
#: allowed (root): other work on a shared machine then disturbs them less.
NICE = -10


def raise_priority() -> bool:
    """Give this process (and the children it starts) :data:`NICE`, if allowed."""
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) > NICE:
            os.setpriority(os.PRIO_PROCESS, 0, NICE)
    except OSError:
        return False
    return True


def _pin_to(cpu: int | None) -> Callable[[], None]:
    """A ``preexec_fn`` running the child on `cpu` only, at :data:`NICE` if allowed."""

    def pin() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        raise_priority()

    return pin


class ServerProcess(_procs.BenchProcess):
    """A server of ``benchmarks._servers`` in its own process, on one CPU."""

    def __init__(self, spec: ServerSpec, loop_name: str, cpu: int | None) -> None:
        self.spec = spec
        self.loop_name = loop_name
        super().__init__(
            [sys.executable, "-m", "benchmarks._servers", spec.server, loop_name],
            cwd=BENCH_DIR,
            env=server_env(spec, loop_name),
            stdin=subprocess.DEVNULL,
            preexec_fn=_pin_to(cpu),
        )
        self.port = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Read the server's ready line; set :attr:`port` or :attr:`skip`.

        :raises ServerError: if it does not listen in time, or listens on
            another loop, or its parser is not the one asked for.
        """
        line, info = self._read_raw_line(timeout)
        if info is None:
            output = line.decode("utf-8", "replace").strip()
            reason = self.stderr_tail() or output or "no output"
            self.stop()
            raise ServerError(f"the server did not start: {reason}")
        if "skip" in info:
            self.skip = str(info["skip"])
            return
        self.port = int(info["port"])
        loop_module = _procs.loop_mismatch(info, self.loop_name)
        if loop_module is not None:
            raise ServerError(f"the server runs on {loop_module}, not {self.loop_name}")
        parser = info.get("parser")
        if self.spec.parser is not None and parser != self.spec.parser:
            raise ServerError(f"squall's parser is {parser!r}, not {self.spec.parser!r}")
        httptools = bool(info["httptools_loaded"])
        if self.spec.httptools is not None and httptools != self.spec.httptools:
            raise ServerError(
                "httptools is " + ("loaded" if httptools else "not loaded") + " in the server"
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        _procs.terminate(self.process)
        self._close_pipes()


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------


@dataclass
class Driver:
    """Runs wrk against servers."""

    wrk: str
    script: Path

    def run(self, server: ServerProcess, duration_s: int) -> Round:
        """One wrk run of `duration_s` against `server`, and the CPU it cost.

        :raises ServerError: if wrk fails or reports errors, or the server died.
        """
        url = f"http://127.0.0.1:{server.port}/"
        command = wrk_command(self.wrk, url, duration_s, self.script)
        client_before = children_cpu_seconds()
        wall_before = time.monotonic()
        cpu_before = server.cpu_seconds()
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=duration_s + 60, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ServerError("wrk did not finish in time") from exc
        if not server.alive():
            raise ServerError(f"the server died: {server.stderr_tail()}")
        cpu_after = server.cpu_seconds()
        wall = time.monotonic() - wall_before
        client_cpu = children_cpu_seconds() - client_before
        if completed.returncode != 0:
            raise ServerError(f"wrk exited with {completed.returncode}: {completed.stderr[-500:]}")
        try:
            summary = parse_wrk_output(completed.stdout)
        except ValueError as exc:
            raise ServerError(str(exc)) from exc
        errors = summary.error_text()
        if errors:
            raise ServerError(f"wrk: {errors}")
        return Round(
            requests=summary.requests,
            duration_s=summary.duration_s,
            wall_s=wall,
            server_cpu_s=cpu_after - cpu_before,
            client_cpu_s=client_cpu,
            latency_us=summary.latency_us,
        )


def cpu_plan() -> tuple[int | None, int | None]:
    """``(server CPU, client CPU)``, or Nones with fewer than 2 CPUs usable."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return cpus[0], cpus[1]


@contextmanager
def pinned(cpu: int | None) -> Iterator[bool]:
    """Run this process (and the children it starts: wrk) on `cpu`, at :data:`NICE`.

    Yields whether the priority could be raised.
    """
    affinity = os.sched_getaffinity(0)
    priority = os.getpriority(os.PRIO_PROCESS, 0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        yield raise_priority()
    finally:
        os.sched_setaffinity(0, affinity)
        os.setpriority(os.PRIO_PROCESS, 0, priority)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "source"


def _check_and_warm_up(server: ServerProcess, driver: Driver, settings: LoadSettings) -> None:
    check_response(server.port)
    driver.run(server, settings.warmup_s)


def measure_case(
    loop_name: str,
    specs: Sequence[ServerSpec],
    settings: LoadSettings,
    driver: Driver,
    server_cpu: int | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Start, check, warm up and measure every server of `specs` on `loop_name`."""
    results = _procs.measure_case(
        loop_name,
        specs,
        settings.rounds,
        start=lambda spec: ServerProcess(spec, loop_name, server_cpu),
        warm_up=lambda server: _check_and_warm_up(server, driver, settings),
        ready_text=lambda server: f"listening on {server.port}, checked, warmed up",
        measure=lambda server: driver.run(server, settings.duration_s),
        round_text=lambda result: (
            f"{result.requests_per_s:,.0f} requests/s,"
            f" {result.cpu_per_request_s * 1e6:.2f} us CPU/request,"
            f" server CPU {result.server_cpu_use:.0%}, wrk CPU {result.client_cpu_use:.0%}"
        ),
        another_round=lambda rounds: True,
        error=ServerError,
        summarize=summarize,
        version=_version,
        log=log,
    )
    return {
        "name": loop_name,
        "description": f"every server on {loop_name}",
        "results": results,
    }


DESCRIPTION = (
    "a hello-world HTTPServer callback (no web framework) under wrk: 1 thread,"
    f" {CONNECTIONS} keep-alive connections, GET / answered with 200 and a 12-byte body;"
    " squall (pure Python, httptools' parser, its compiled module) against Tornado's"
    " HTTPServer and a raw"
    " asyncio.Protocol + httptools server (the ceiling), each on asyncio and on uvloop"
)


def method_text(
    settings: LoadSettings,
    version: str,
    cpus: tuple[int | None, int | None],
    prioritized: bool,
) -> str:
    server_cpu, client_cpu = cpus
    where = (
        f"server pinned to CPU {server_cpu}, wrk (and this driver) to CPU {client_cpu}"
        if server_cpu is not None
        else "NOT pinned (fewer than 2 CPUs usable)"
    )
    where += f", both at nice {NICE}" if prioritized else ", at normal priority"
    return (
        f"{version}, {THREADS} thread, {CONNECTIONS} keep-alive connections; {where}; each"
        f" server in its own process, checked (two GETs on one connection), warmed up"
        f" {settings.warmup_s} s, then {settings.rounds} rounds of {settings.duration_s} s,"
        " the servers of one event loop interleaved round-robin; requests/s = wrk's requests"
        " / wrk's duration; CPU time/request = the server's utime+stime (/proc/PID/stat)"
        " over the round / wrk's requests; server and wrk CPU = CPU time / wall time of the"
        " round (100% = one CPU saturated); medians of the rounds; any wrk error fails"
        " the server"
    )


def run_load(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    """Measure every server on every loop; return the schema-3 document."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian package wrk; run.py installs it)")
    load = LoadSettings.for_mode(settings.quick)
    cpus = cpu_plan()
    version = wrk_version(wrk)
    log(f"httpserver: {DESCRIPTION}")
    with tempfile.TemporaryDirectory() as tmp, pinned(cpus[1]) as prioritized:
        script = Path(tmp) / "summary.lua"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        driver = Driver(wrk=wrk, script=script)
        cases = []
        for loop_name in LOOPS:
            log(f"httpserver / {loop_name}")
            cases.append(measure_case(loop_name, IMPLEMENTATIONS, load, driver, cpus[0], log))
    return _procs.load_document(
        schema=SCHEMA_LOAD,
        benchmark="httpserver",
        description=DESCRIPTION,
        method=method_text(load, version, cpus, prioritized),
        implementations=IMPLEMENTATIONS,
        baselines=BASELINES,
        targets=TARGETS,
        cases=cases,
    )
