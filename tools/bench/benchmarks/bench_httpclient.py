"""HTTP clients: 5,000 GETs at concurrency 50 against nginx, squall against the peers.

Like the httpserver benchmark this one is not timed in-process.  nginx (the
Debian package nginx-light, which run.py installs when it is missing) serves
a 1 KiB static file on 127.0.0.1 from a configuration generated in a
temporary directory: one process (``master_process off``), keep-alive with
a ``keepalive_requests`` high enough never to close a connection, no access
log, pinned to one CPU.  Each client runs in its own process of the bench
venv (``benchmarks/_clients.py``) pinned to the other CPU:

- squall's ``SimpleAsyncHTTPClient`` through ``AsyncHTTPClient``
  (``max_clients=50``), and its ``CurlAsyncHTTPClient``;
- ``squall.client.HttpClient(pool_size=50)``;
- Tornado's ``SimpleAsyncHTTPClient`` (``max_clients=50``) and
  ``CurlAsyncHTTPClient`` (pycurl);
- ``aiohttp.ClientSession`` (``TCPConnector(limit=50)``);
- ``httpx.AsyncClient`` (``Limits(max_connections=50)``).

Each on the default asyncio event loop and on uvloop.  Method, per event
loop: every client process is started (one client object for its whole life,
as an application keeps one) and warmed up with one unmeasured run of the
GETs; then :attr:`ClientSettings.rounds` measured runs per client, the
clients interleaved round-robin.  A run is :data:`REQUESTS` GETs by
:data:`CONCURRENCY` workers, each awaiting one response at a time; every
response must have status 200 and the file's length, or the client FAILS
(no figures).  Per round: requests/s is the GETs over the client's wall time
of the run; CPU time per request is the client process's ``utime + stime``
(``getrusage`` in the client, every thread) over the run, divided by the
GETs; nginx's CPU comes from ``/proc/PID/stat``, and ``stub_status`` counts
the connections nginx accepted.  The figures are the medians of the rounds.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _procs
from ._harness import SCHEMA_LOAD, Settings
from .bench_httpserver import (
    Target,
    _pin_to,
    _version,
    cpu_plan,
    pinned,
    process_cpu_seconds,
)

BENCH_DIR = Path(__file__).resolve().parent.parent

#: GETs per measured run, and how many are in flight.
REQUESTS = 5_000
CONCURRENCY = 50
#: Size of the static file every GET fetches.
FILE_SIZE = 1024
FILE_NAME = "file-1k.bin"

LOOPS = ("asyncio", "uvloop")

#: Seconds to wait for nginx or a client to start, and for one run.
START_TIMEOUT = 30.0
RUN_TIMEOUT = 120.0


class ClientError(Exception):
    """A client did not start, got a wrong response, died, or nginx failed."""


# --------------------------------------------------------------------------
# What is compared
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientSpec:
    impl: str
    """``IMPL`` argument of ``benchmarks._clients`` and key in the results."""
    label: str
    distribution: str
    description: str


IMPLEMENTATIONS = (
    ClientSpec(
        "squall-simple",
        "squall simple_httpclient",
        "squall-httpcore",
        "squall.simple_httpclient.SimpleAsyncHTTPClient through AsyncHTTPClient"
        f" (max_clients={CONCURRENCY}), fetch(url, raise_error=False)",
    ),
    ClientSpec(
        "squall-client",
        "squall.client",
        "squall-httpcore",
        f"squall.client.HttpClient(pool_size={CONCURRENCY}, trust_env=False), get(url)",
    ),
    ClientSpec(
        "squall-curl",
        "squall curl_httpclient",
        "squall-httpcore",
        f"squall.curl_httpclient.CurlAsyncHTTPClient (max_clients={CONCURRENCY}), pycurl",
    ),
    ClientSpec(
        "tornado-simple",
        "tornado simple_httpclient",
        "tornado",
        f"tornado.simple_httpclient.SimpleAsyncHTTPClient (max_clients={CONCURRENCY}),"
        " the same code as squall's",
    ),
    ClientSpec(
        "tornado-curl",
        "tornado curl_httpclient",
        "tornado",
        f"tornado.curl_httpclient.CurlAsyncHTTPClient (max_clients={CONCURRENCY}), pycurl",
    ),
    ClientSpec(
        "aiohttp",
        "aiohttp",
        "aiohttp",
        f"aiohttp.ClientSession(connector=TCPConnector(limit={CONCURRENCY})),"
        " async with session.get(url) as r: await r.read()",
    ),
    ClientSpec(
        "httpx",
        "httpx",
        "httpx",
        f"httpx.AsyncClient(limits=Limits(max_connections={CONCURRENCY},"
        f" max_keepalive_connections={CONCURRENCY}), trust_env=False), get(url)",
    ),
)

#: Columns of ratios: every client against these, from the same run.
BASELINES = ("aiohttp", "tornado-simple")

TARGETS = tuple(
    Target(
        loop,
        "squall-simple",
        "aiohttp",
        1.0,
        "squall's simple client at least as fast as aiohttp",
    )
    for loop in LOOPS
)


@dataclass(frozen=True)
class ClientSettings:
    requests: int
    """GETs per measured run."""
    warmup: int
    """GETs of the unmeasured first run (connections, caches)."""
    rounds: int
    budget_s: float = float("inf")
    """A client whose measured runs took this long in all (wall time) is not
    run again: it has fewer rounds, at least one."""

    @classmethod
    def for_mode(cls, quick: bool) -> ClientSettings:
        if quick:
            return cls(requests=500, warmup=100, rounds=1)
        # httpx needs 6-20 s per run of 5,000 GETs (encode/httpx#3215): the
        # budget gives it one or two runs, and keeps the benchmark near 2 minutes.
        return cls(requests=REQUESTS, warmup=1_000, rounds=3, budget_s=10.0)

    def another_round(self, rounds: Sequence[Round]) -> bool:
        """Whether a client that has measured *rounds* runs again."""
        if len(rounds) >= self.rounds:
            return False
        return not rounds or sum(r.wall_s for r in rounds) < self.budget_s


# --------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    open_file_cache max=16;
    keepalive_timeout 300s;
    keepalive_requests 10000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {tmp}/www;
        location = /nginx_status {{
            stub_status;
        }}
    }}
}}
"""


def nginx_config(tmp: Path, port: int) -> str:
    return NGINX_CONF.format(tmp=tmp, port=port)


def file_body(size: int = FILE_SIZE) -> bytes:
    """The static file: printable, not all one byte."""
    pattern = bytes(range(33, 127))
    return (pattern * (size // len(pattern) + 1))[:size]


@dataclass(frozen=True)
class NginxStatus:
    """The counters of nginx's ``stub_status`` page."""

    active: int
    accepts: int
    handled: int
    requests: int


def parse_stub_status(text: str) -> NginxStatus:
    """Read ``stub_status``'s page::

        Active connections: 1
        server accepts handled requests
         16 16 31
        Reading: 0 Writing: 1 Waiting: 0

    :raises ValueError: if it is not that.
    """
    lines = text.strip().splitlines()
    if len(lines) < 3 or not lines[0].startswith("Active connections:"):
        raise ValueError(f"not a stub_status page: {text[:200]!r}")
    active = int(lines[0].split(":", 1)[1])
    accepts, handled, requests = (int(n) for n in lines[2].split())
    return NginxStatus(active, accepts, handled, requests)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Nginx:
    """nginx serving :data:`FILE_NAME` from a temporary directory."""

    def __init__(self, nginx: str, cpu: int | None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="squall-bench-nginx-")
        self.tmp = Path(self._dir.name)
        (self.tmp / "www").mkdir()
        (self.tmp / "www" / FILE_NAME).write_bytes(file_body())
        self.port = free_port()
        (self.tmp / "nginx.conf").write_text(nginx_config(self.tmp, self.port), encoding="utf-8")
        self.process = subprocess.Popen(
            [nginx, "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf"), "-e", "stderr"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_pin_to(cpu),
        )
        self._wait_listening()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{FILE_NAME}"

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                time.sleep(0.05)
                continue
            return
        error = self.stop()
        raise ClientError(f"nginx did not start: {error or 'no output'}")

    def status(self) -> NginxStatus:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/nginx_status")
            response = conn.getresponse()
            return parse_stub_status(response.read().decode("ascii", "replace"))
        except (OSError, http.client.HTTPException) as exc:
            raise ClientError(f"nginx's status page: {exc!r}") from exc
        finally:
            conn.close()

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def check(self) -> None:
        """One GET of the file: 200 and the whole file, or ClientError."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", f"/{FILE_NAME}")
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise ClientError(f"nginx does not answer: {exc!r}") from exc
        finally:
            conn.close()
        if response.status != 200 or body != file_body():
            raise ClientError(f"nginx answered {response.status} with {len(body)} bytes")

    def stop(self) -> str:
        """Stop nginx; return what it wrote on stderr."""
        _procs.terminate(self.process)
        assert self.process.stderr is not None
        error = self.process.stderr.read().decode("utf-8", "replace").strip()
        self.process.stderr.close()
        self._dir.cleanup()
        return error[-1500:]


# --------------------------------------------------------------------------
# Client processes
# --------------------------------------------------------------------------


def client_env() -> dict[str, str]:
    """This environment without proxy settings (libcurl and httpx read them)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }


@dataclass(frozen=True)
class RunResult:
    """What a client reported for one run of the GETs."""

    requests: int
    ok: int
    errors: int
    samples: tuple[str, ...]
    wall_s: float
    utime_s: float
    stime_s: float

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RunResult:
        return cls(
            requests=int(doc["requests"]),
            ok=int(doc["ok"]),
            errors=int(doc["errors"]),
            samples=tuple(str(s) for s in doc.get("samples", ())),
            wall_s=float(doc["wall_s"]),
            utime_s=float(doc["utime_s"]),
            stime_s=float(doc["stime_s"]),
        )

    @property
    def cpu_s(self) -> float:
        return self.utime_s + self.stime_s

    def error_text(self) -> str | None:
        """None if every GET was good, else what went wrong."""
        if self.errors == 0 and self.ok == self.requests:
            return None
        text = f"{self.errors} of {self.requests} GETs failed"
        if self.ok + self.errors != self.requests:
            text = f"{self.ok} good GETs of {self.requests}, {self.errors} failed"
        if self.samples:
            text += ": " + "; ".join(self.samples)
        return text


class ClientProcess(_procs.BenchProcess):
    """A client of ``benchmarks._clients`` in its own process, on one CPU."""

    def __init__(self, spec: ClientSpec, loop_name: str, url: str, cpu: int | None) -> None:
        self.spec = spec
        self.loop_name = loop_name
        super().__init__(
            [
                sys.executable,
                "-m",
                "benchmarks._clients",
                spec.impl,
                loop_name,
                url,
                str(FILE_SIZE),
                str(CONCURRENCY),
            ],
            cwd=BENCH_DIR,
            env=client_env(),
            stdin=subprocess.PIPE,
            preexec_fn=_pin_to(cpu),
        )
        self.detail = ""

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Read the ready line; set :attr:`skip` or check the loop.

        :raises ClientError: if it does not start in time or runs on
            another loop.
        """
        info = self._read_line(timeout)
        if info is None:
            raise ClientError(f"the client did not start: {self.stderr_tail() or 'no output'}")
        if "skip" in info:
            self.skip = str(info["skip"])
            return
        loop_module = _procs.loop_mismatch(info, self.loop_name)
        if loop_module is not None:
            raise ClientError(f"the client runs on {loop_module}, not {self.loop_name}")
        self.detail = str(info.get("detail", ""))

    def run(self, requests: int) -> RunResult:
        """One run of *requests* GETs.

        :raises ClientError: if the client dies, hangs or any GET failed.
        """
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(f"run {requests}\n".encode())
            stdin.flush()
        except OSError as exc:
            raise ClientError(f"the client died: {self.stderr_tail()}") from exc
        doc = self._read_line(RUN_TIMEOUT)
        if doc is None:
            if self.process.poll() is None:
                raise ClientError(f"no result in {RUN_TIMEOUT:g} s")
            raise ClientError(f"the client died: {self.stderr_tail()}")
        result = RunResult.from_json(doc)
        errors = result.error_text()
        if errors:
            raise ClientError(errors)
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(b"quit\n")
                self.process.stdin.close()
                self.process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self._close_pipes()


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    """One measured run of a client."""

    requests: int
    wall_s: float
    """The client's wall time of the GETs."""
    client_cpu_s: float
    nginx_cpu_s: float
    nginx_wall_s: float
    """Wall time between the two readings of nginx's CPU time."""
    connections: int
    """Connections nginx accepted during the run."""

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_s

    @property
    def cpu_per_request_s(self) -> float:
        return self.client_cpu_s / self.requests

    @property
    def client_cpu_use(self) -> float:
        return self.client_cpu_s / self.wall_s

    @property
    def nginx_cpu_use(self) -> float:
        return self.nginx_cpu_s / self.nginx_wall_s

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "wall_s": self.wall_s,
            "client_cpu_s": self.client_cpu_s,
            "nginx_cpu_s": self.nginx_cpu_s,
            "nginx_wall_s": self.nginx_wall_s,
            "connections": self.connections,
        }


def summarize(rounds: Sequence[Round]) -> dict[str, Any]:
    """The medians over *rounds*, in the keys run.py reads (schema 3).

    ``server_cpu_use`` is the measured process's (here: the client's),
    ``client_cpu_use`` the load peer's (here: nginx's).
    """
    return {
        "requests_per_s": statistics.median(r.requests_per_s for r in rounds),
        "cpu_per_request_s": statistics.median(r.cpu_per_request_s for r in rounds),
        "server_cpu_use": statistics.median(r.client_cpu_use for r in rounds),
        "client_cpu_use": statistics.median(r.nginx_cpu_use for r in rounds),
        "connections": statistics.median(r.connections for r in rounds),
        "requests": sum(r.requests for r in rounds),
        "rounds": [r.to_json() for r in rounds],
    }


def measure_round(nginx: Nginx, client: ClientProcess, requests: int) -> Round:
    status_before = nginx.status()
    wall_before = time.monotonic()
    cpu_before = nginx.cpu_seconds()
    result = client.run(requests)
    cpu_after = nginx.cpu_seconds()
    wall = time.monotonic() - wall_before
    status_after = nginx.status()
    # The second status request's own connection is counted in its page.
    connections = status_after.accepts - status_before.accepts - 1
    return Round(
        requests=result.requests,
        wall_s=result.wall_s,
        client_cpu_s=result.cpu_s,
        nginx_cpu_s=cpu_after - cpu_before,
        nginx_wall_s=wall,
        connections=connections,
    )


def measure_case(
    loop_name: str,
    specs: Sequence[ClientSpec],
    settings: ClientSettings,
    nginx: Nginx,
    client_cpu: int | None,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Start, warm up and measure every client of *specs* on *loop_name*."""
    results = _procs.measure_case(
        loop_name,
        specs,
        settings.rounds,
        start=lambda spec: ClientProcess(spec, loop_name, nginx.url, client_cpu),
        warm_up=lambda client: client.run(settings.warmup),
        ready_text=lambda client: f"{client.detail}, warmed up",
        measure=lambda client: measure_round(nginx, client, settings.requests),
        round_text=lambda result: (
            f"{result.requests_per_s:,.0f} requests/s,"
            f" {result.cpu_per_request_s * 1e6:.1f} us CPU/request,"
            f" client CPU {result.client_cpu_use:.0%},"
            f" nginx CPU {result.nginx_cpu_use:.0%},"
            f" {result.connections} connections"
        ),
        another_round=settings.another_round,
        error=ClientError,
        summarize=summarize,
        version=_version,
        log=log,
    )
    return {"name": loop_name, "description": f"every client on {loop_name}", "results": results}


DESCRIPTION = (
    f"{REQUESTS:,} GETs of a {FILE_SIZE // 1024} KiB static file from nginx (keep-alive),"
    f" {CONCURRENCY} in flight: squall's simple client, squall.client and squall's curl"
    " client against Tornado's simple and curl clients, aiohttp's ClientSession and"
    " httpx.AsyncClient, each on asyncio and on uvloop"
)


def nginx_version(nginx: str) -> str:
    out = subprocess.run([nginx, "-v"], capture_output=True, text=True, check=False)
    text = (out.stderr or out.stdout).strip()
    return text.removeprefix("nginx version: ") or "nginx"


def method_text(
    settings: ClientSettings,
    version: str,
    cpus: tuple[int | None, int | None],
    prioritized: bool,
) -> str:
    client_cpu, nginx_cpu = cpus
    where = (
        f"each client pinned to CPU {client_cpu}, nginx (and this driver) to CPU {nginx_cpu}"
        if client_cpu is not None
        else "NOT pinned (fewer than 2 CPUs usable)"
    )
    where += ", at nice -10" if prioritized else ", at normal priority"
    budget = ""
    if settings.budget_s != float("inf"):
        budget = f" (fewer, at least one, once its runs took {settings.budget_s:g} s)"
    return (
        f"{version}, one process (master_process off), keep-alive (keepalive_requests"
        f" 10000000), a {FILE_SIZE}-byte file, no access log; {where}; each client in its own"
        f" process, one client object for its life, warmed up with {settings.warmup:,} GETs;"
        f" a run is {settings.requests:,} GETs by {CONCURRENCY} workers each awaiting one"
        f" response at a time, every response checked (status 200, {FILE_SIZE} bytes) and any"
        f" error fails the client; {settings.rounds} measured runs per client{budget}, the clients"
        " of one event loop interleaved round-robin; requests/s = GETs / the client's wall time of"
        " the run; CPU time/request = the client process's utime+stime (getrusage, all"
        " threads) over the run / GETs; client and nginx CPU = CPU time / wall time of the"
        " run (100% = one CPU saturated); connections = what nginx accepted during a run"
        " (stub_status); medians of the runs"
    )


def run_load(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    """Measure every client on every loop; return the schema-3 document."""
    nginx_path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if nginx_path is None:
        raise RuntimeError(
            "nginx is not installed (Debian package nginx-light; run.py installs it)"
        )
    load = ClientSettings.for_mode(settings.quick)
    cpus = cpu_plan()
    client_cpu, nginx_cpu = cpus
    log(f"httpclient: {DESCRIPTION}")
    with pinned(nginx_cpu) as prioritized, ExitStack() as stack:
        nginx = Nginx(nginx_path, nginx_cpu)
        stack.callback(nginx.stop)
        nginx.check()
        cases = []
        for loop_name in LOOPS:
            log(f"httpclient / {loop_name}")
            cases.append(measure_case(loop_name, IMPLEMENTATIONS, load, nginx, client_cpu, log))
    return _procs.load_document(
        schema=SCHEMA_LOAD,
        benchmark="httpclient",
        description=DESCRIPTION,
        method=method_text(load, nginx_version(nginx_path), cpus, prioritized),
        implementations=IMPLEMENTATIONS,
        baselines=BASELINES,
        targets=TARGETS,
        cases=cases,
        extra={"subject": "client", "load_peer": "nginx"},
    )
