"""The httpserver benchmark's request path without the network: bytecodes and CPU per request.

Run in the bench venv (made by run.py), from tools/bench::

    cd tools/bench && .venv/bin/python -m benchmarks.trace_httpserver [--top 25]
        [--requests 20000] [--loop asyncio|uvloop]

The wrk benchmark's figures move by up to a third from round to round on a
shared VM, too much to see a change of a few percent.  This takes the
network out: squall's ``HTTPServer`` (the benchmark's callback, from
``benchmarks/_servers.py``) serves the benchmark's request from a fake
transport that takes every write at once, in-process.  It prints:

- the Python bytecodes executed per request, by function (a
  ``sys.settrace`` opcode count over a few hundred requests: exact and the
  same from run to run, a proxy for the Python work; C calls count as the
  one bytecode that calls them);
- the CPU time per request of squall and of the raw ``asyncio.Protocol`` +
  httptools server over the same fake transport (best of 15 batches), so
  the Python share of the wrk figures can be told from the kernel's.

``SQUALL_NO_EXTENSIONS=1`` in the environment measures the pure-Python
parser.  The figures are for comparing two versions of squall on one
machine, not peers.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from . import _servers

#: What wrk sends (wrk 4.1: the request line and Host, nothing else).
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
WARMUP = 1000
BATCHES = 15


class FakeTransport(asyncio.Transport):
    """Takes every write at once (counted, dropped); never pauses."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.protocol: Any = None

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> Any:
        return self.protocol

    def write(self, data: Any) -> None:
        self.writes += 1

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return True

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def _cpu_per_request(feed: Callable[[bytes], object], requests: int) -> float:
    """Best CPU time per request (s) over BATCHES batches of `requests` requests."""
    for _ in range(WARMUP):
        feed(REQUEST)
    best = float("inf")
    for _ in range(BATCHES):
        started = time.process_time()
        for _ in range(requests):
            feed(REQUEST)
        best = min(best, time.process_time() - started)
    return best / requests


def _bytecodes(feed: Callable[[bytes], object], requests: int) -> collections.Counter[str]:
    """Bytecodes executed per function over `requests` requests."""
    counts: collections.Counter[str] = collections.Counter()
    root = str(Path(__file__).resolve().parents[3])

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            counts[f"{os.path.relpath(code.co_filename, root)}:{code.co_name}"] += 1
        return trace

    for _ in range(WARMUP):
        feed(REQUEST)
    sys.settrace(trace)
    try:
        for _ in range(requests):
            feed(REQUEST)
    finally:
        sys.settrace(None)
    return counts


def _squall_feed(loop_name: str) -> tuple[Any, Callable[[], Callable[[bytes], object]]]:
    os.environ.setdefault("SQUALL_IOLOOP", loop_name)
    from squall import httpserver, httputil
    from squall.ioloop import IOLoop
    from squall.iostream import BaseIOStream

    io_loop = IOLoop()

    def connect() -> Callable[[bytes], object]:
        """A connection of the benchmark's server on a fake transport: its data_received."""
        server = httpserver.HTTPServer(_servers.hello_callback(httputil))
        stream = BaseIOStream()
        transport = FakeTransport()
        stream._on_connection_made(transport)
        server.handle_stream(stream, ("127.0.0.1", 1234))  # type: ignore[arg-type]
        feed: Callable[[bytes], object] = transport.protocol.data_received
        return feed

    return io_loop, connect


def _raw_feed() -> Callable[[bytes], object]:
    protocol = _servers.RawProtocol()
    protocol.connection_made(FakeTransport())
    return protocol.data_received


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.trace_httpserver",
        description="Bytecodes and CPU time per request of squall's server, without the network.",
    )
    parser.add_argument("--top", type=int, default=25, help="functions to list")
    parser.add_argument("--requests", type=int, default=20000, help="requests per timed batch")
    parser.add_argument("--loop", choices=_servers.LOOPS, default="asyncio")
    args = parser.parse_args(argv)

    io_loop, connect = _squall_feed(args.loop)
    result: dict[str, Any] = {}

    async def measure() -> None:
        result["squall"] = _cpu_per_request(connect(), args.requests)
        result["bytecodes"] = _bytecodes(connect(), 500)

    io_loop.run_sync(measure)
    result["raw"] = _cpu_per_request(_raw_feed(), args.requests * 10)

    import squall._http1 as http1

    counts: collections.Counter[str] = result["bytecodes"]
    total = sum(counts.values()) / 500
    print(f"squall's server, {http1.IMPLEMENTATION} parser, {args.loop}, fake transport:")
    squall_us, raw_us = result["squall"] * 1e6, result["raw"] * 1e6
    print(f"  CPU per request: squall {squall_us:.2f} us, raw {raw_us:.2f} us")
    print(f"  bytecodes per request: {total:.0f}")
    for function, count in counts.most_common(args.top):
        print(f"  {count / 500:7.1f}  {function}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
