"""Python function calls per request of the httpclient benchmark's clients (cProfile).

Run in the bench venv (made by run.py), from tools/bench::

    cd tools/bench && .venv/bin/python -m benchmarks.profile_httpclient [IMPL ...]
        [--requests 2000] [--loop asyncio|uvloop] [--top 12]

IMPL: the names of ``benchmarks/_clients.py`` (default: ``squall-simple``
and ``aiohttp``).  nginx is started as in the benchmark (pinned to one CPU);
each client runs in a subprocess of this script (a library's loop setup is
global) pinned to the other CPU, with the benchmark's code: the client is
created, warmed up with one run, then one run of ``--requests`` GETs at
concurrency 50 is profiled.  Calls per request are every profiled call over
the GETs, an exact count.  The profiler slows the client several times, so
its times only rank the functions.

Prints one markdown table (calls per request), then each client's hottest
functions by their own time (per request).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import _clients, bench_httpclient
from .bench_httpserver import cpu_plan, pinned
from .profile_httpserver import _function_name

BENCH_DIR = Path(__file__).resolve().parent.parent


def child(args: argparse.Namespace) -> None:
    client = _clients.make_client(args.child, args.loop, args.url, bench_httpclient.CONCURRENCY)
    length = bench_httpclient.FILE_SIZE
    concurrency = bench_httpclient.CONCURRENCY
    warm = _clients.measured_round(client, 1000, concurrency, length)
    profiler = cProfile.Profile()
    profiler.enable()
    result = _clients.measured_round(client, args.requests, concurrency, length)
    profiler.disable()
    if client.close is not None:
        client.run(client.close)
    if warm["errors"] or result["errors"]:
        raise SystemExit(f"{args.child}: GETs failed: {result['samples']}")
    stats = pstats.Stats(profiler)
    raw_stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    raw_stats = stats.stats  # type: ignore[attr-defined]
    total: int = stats.total_calls  # type: ignore[attr-defined]
    requests = int(args.requests)
    hot = sorted(raw_stats.items(), key=lambda item: item[1][2], reverse=True)[: args.top]
    print(
        json.dumps(
            {
                "impl": args.child,
                "requests": requests,
                "calls_per_request": total / requests,
                "hot": [
                    {
                        "function": _function_name(key),
                        "calls_per_request": calls / requests,
                        "tottime_us_per_request": tottime / requests * 1e6,
                    }
                    for key, (_, calls, tottime, _, _) in hot
                ],
            }
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile_httpclient",
        description="Function calls per request of the httpclient benchmark's clients.",
    )
    parser.add_argument("impls", nargs="*", metavar="IMPL", help=", ".join(_clients.IMPLS))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--loop", choices=_clients.LOOPS, default="asyncio")
    parser.add_argument("--top", type=int, default=12, help="hot functions to list")
    parser.add_argument("--child", choices=_clients.IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    impls = args.impls or ["squall-simple", "aiohttp"]
    unknown = [impl for impl in impls if impl not in _clients.IMPLS]
    if unknown:
        parser.error(f"unknown client(s) {', '.join(unknown)}; known: {', '.join(_clients.IMPLS)}")
    nginx_path = "/usr/sbin/nginx"
    client_cpu, nginx_cpu = cpu_plan()
    results = []
    with pinned(nginx_cpu):
        nginx = bench_httpclient.Nginx(nginx_path, nginx_cpu)
        try:
            for impl in impls:
                command = [
                    sys.executable,
                    "-m",
                    "benchmarks.profile_httpclient",
                    f"--child={impl}",
                    f"--url={nginx.url}",
                    f"--loop={args.loop}",
                    f"--requests={args.requests}",
                    f"--top={args.top}",
                ]
                env = bench_httpclient.client_env()
                env["PYTHONPATH"] = os.pathsep.join(
                    p for p in (str(BENCH_DIR), env.get("PYTHONPATH")) if p
                )
                out = subprocess.run(
                    command,
                    cwd=BENCH_DIR,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                    preexec_fn=(lambda: os.sched_setaffinity(0, {client_cpu}))
                    if client_cpu is not None
                    else None,
                )
                if out.returncode != 0:
                    print(f"{impl}: failed: {out.stderr[-2000:]}", file=sys.stderr)
                    continue
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        finally:
            nginx.stop()
    print(f"| client ({args.loop}, {args.requests} GETs, 50 in flight) | calls per request |")
    print("|---|---|")
    for result in results:
        print(f"| {result['impl']} | {result['calls_per_request']:.1f} |")
    for result in results:
        print(f"\n{result['impl']}: hottest functions (own time per request, calls per request)")
        for item in result["hot"]:
            print(
                f"  {item['tottime_us_per_request']:8.2f} us {item['calls_per_request']:7.2f}"
                f"  {item['function']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
