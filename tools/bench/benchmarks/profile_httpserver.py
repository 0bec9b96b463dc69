"""Python function calls per request of the httpserver benchmark's servers (cProfile).

Run in the bench venv (made by run.py), from tools/bench::

    cd tools/bench && .venv/bin/python -m benchmarks.profile_httpserver [IMPL ...]
        [--connections 50] [--seconds 2] [--loop asyncio|uvloop] [--top 12]

IMPL: ``squall-python``, ``squall-httptools``, ``squall-c``, ``tornado``, ``raw`` (default:
all).  Each runs in a subprocess of this script (so that
``SQUALL_NO_EXTENSIONS`` and ``SQUALL_HTTP1_PARSER`` take effect at import): the server of
``benchmarks/_servers.py`` (the benchmark's callback, the same for squall and
Tornado) runs in-process on its IOLoop, pinned to one CPU; wrk (pinned to the
other) loads it for one warm-up second, then for ``--seconds`` under
cProfile, with ``--connections`` keep-alive connections.  The requests counted
are the profiled calls of the request callback (of ``on_message_complete``
for the raw server), so the count is exact; calls per request are every
profiled call over that.  The profiler slows the server several times, so
its time figures only rank the functions; the counts are what matter.

Prints one markdown table (calls per request), then each server's hottest
functions by their own time (per request).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from . import _servers, bench_httpserver

BENCH_DIR = Path(__file__).resolve().parent.parent
IMPLS = {spec.impl: spec for spec in bench_httpserver.IMPLEMENTATIONS}
#: The function called once per request, by implementation kind.
COUNTED = {"squall": "handle", "tornado": "handle", "raw": "on_message_complete"}


def _wrk(port: int, seconds: int, connections: int, script: Path, cpu: int | None) -> Any:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    command = bench_httpserver.wrk_command(wrk, f"http://127.0.0.1:{port}/", seconds, script)
    command[2] = f"--connections={connections}"
    pin = bench_httpserver._pin_to(cpu)
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, preexec_fn=pin)


async def _finished(process: Any) -> str:
    """Wait for `process` without blocking the loop; its stdout."""
    while process.poll() is None:
        await asyncio.sleep(0.05)
    return str(process.stdout.read())


async def _profile(port: int, args: argparse.Namespace, client_cpu: int | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "summary.lua"
        script.write_text(bench_httpserver.WRK_SCRIPT, encoding="utf-8")
        await _finished(_wrk(port, 1, args.connections, script, client_cpu))
        profiler = cProfile.Profile()
        wrk = _wrk(port, args.seconds, args.connections, script, client_cpu)
        await asyncio.sleep(0)
        profiler.enable()
        output = await _finished(wrk)
        profiler.disable()
    summary = bench_httpserver.parse_wrk_output(output)
    stats = pstats.Stats(profiler)
    counted = COUNTED[IMPLS[args.child].server]
    raw_stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    raw_stats = stats.stats  # type: ignore[attr-defined]
    requests = sum(
        calls
        for (filename, _, name), (_, calls, _, _, _) in raw_stats.items()
        if name == counted and filename.endswith("_servers.py")
    )
    if requests == 0:
        raise SystemExit(f"no call of {counted} was profiled")
    hot = sorted(raw_stats.items(), key=lambda item: item[1][2], reverse=True)[: args.top]
    return {
        "impl": args.child,
        "requests": requests,
        "wrk_requests": summary.requests,
        "wrk_errors": summary.error_text(),
        "total_calls": stats.total_calls,  # type: ignore[attr-defined]
        "calls_per_request": stats.total_calls / requests,  # type: ignore[attr-defined]
        "hot": [
            {
                "function": _function_name(key),
                "calls_per_request": calls / requests,
                "tottime_us_per_request": tottime / requests * 1e6,
                "cumtime_us_per_request": cumtime / requests * 1e6,
            }
            for key, (_, calls, tottime, cumtime, _) in hot
        ],
    }


def _function_name(key: tuple[str, int, str]) -> str:
    """``file:line(name)``, the file relative to site-packages or the stdlib."""
    filename, line, name = key
    if filename == "~":  # a built-in
        return name
    for marker in ("site-packages/", "lib/python3."):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            if marker.startswith("lib/"):
                filename = filename.split("/", 1)[1]
            break
    else:
        filename = os.path.relpath(filename, BENCH_DIR)
    return f"{filename}:{line}({name})"


def child(args: argparse.Namespace) -> None:
    spec = IMPLS[args.child]
    server_cpu, client_cpu = bench_httpserver.cpu_plan()
    bench_httpserver._pin_to(server_cpu)()
    result: dict[str, Any] = {}

    async def serve_and_profile(listen: Callable[[], Awaitable[int]]) -> None:
        result.update(await _profile(await listen(), args, client_cpu))

    if spec.server == "raw":
        loop = _servers.new_raw_loop(args.loop)
        asyncio.set_event_loop(loop)

        async def listen_raw() -> int:
            server = await loop.create_server(_servers.RawProtocol, "127.0.0.1", 0)
            return int(server.sockets[0].getsockname()[1])

        loop.run_until_complete(serve_and_profile(listen_raw))
    else:
        io_loop, listen = _servers.make_library_server(spec.server, args.loop)

        async def listen_library() -> int:
            return listen()

        io_loop.run_sync(lambda: serve_and_profile(listen_library))
    print(json.dumps(result))


def _env(impl: str, loop: str) -> dict[str, str]:
    env: dict[str, str] = bench_httpserver.server_env(IMPLS[impl], loop)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH_DIR), env.get("PYTHONPATH")) if p)
    return env


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_httpserver",
        description="Function calls per request of the httpserver benchmark's servers.",
    )
    parser.add_argument("impls", nargs="*", metavar="IMPL", help=", ".join(IMPLS))
    parser.add_argument("--connections", type=int, default=bench_httpserver.CONNECTIONS)
    parser.add_argument("--seconds", type=int, default=2, help="profiled wrk run (whole s)")
    parser.add_argument("--loop", choices=bench_httpserver.LOOPS, default="asyncio")
    parser.add_argument("--top", type=int, default=12, help="hot functions to list")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", choices=list(IMPLS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    unknown = [impl for impl in args.impls if impl not in IMPLS]
    if unknown:
        parser.error(f"unknown server(s) {', '.join(unknown)}; known: {', '.join(IMPLS)}")

    results = []
    for impl in args.impls or list(IMPLS):
        command = [sys.executable, "-m", "benchmarks.profile_httpserver", "--child", impl]
        command += [f"--connections={args.connections}", f"--seconds={args.seconds}"]
        command += [f"--loop={args.loop}", f"--top={args.top}"]
        started = time.monotonic()
        done = subprocess.run(
            command,
            cwd=BENCH_DIR,
            env=_env(impl, args.loop),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(f"{impl}: FAILED\n{done.stderr[-3000:]}", file=sys.stderr)
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["wall_s"] = time.monotonic() - started
        results.append(result)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{args.connections} connections, {args.loop}, {args.seconds} s under cProfile\n")
    print("| server | requests profiled | function calls per request |")
    print("|--------|-------------------|----------------------------|")
    for result in results:
        print(f"| {result['impl']} | {result['requests']:,} | {result['calls_per_request']:.1f} |")
    for result in results:
        print(f"\n{result['impl']}: hottest functions by own time, per request")
        print("calls  tottime_us  cumtime_us  function")
        for hot in result["hot"]:
            print(
                f"{hot['calls_per_request']:5.2f}  {hot['tottime_us_per_request']:10.2f}"
                f"  {hot['cumtime_us_per_request']:10.2f}  {hot['function']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
