"""The HTTP clients of the httpclient benchmark, one per process.

Run by ``bench_httpclient.py`` in the bench venv::

    python -m benchmarks._clients IMPL LOOP URL LENGTH CONCURRENCY

``IMPL`` is one of :data:`IMPLS`; ``LOOP`` is ``asyncio`` or ``uvloop``;
``URL`` the file every GET fetches, ``LENGTH`` its size in bytes, and
``CONCURRENCY`` how many requests are in flight (and the client's own limit:
``max_clients``, the connector's ``limit``, httpx's ``max_connections``, the
session's ``pool_size``).

The client is created once (its connection pool lives for the whole process,
as an application's would), then the process prints one JSON line on stdout,
``{"pid": ..., "loop": ..., "detail": ...}`` (``loop`` is the module of the
running asyncio loop's class, so the caller checks it got the loop it asked
for), and reads commands on stdin, one a line:

- ``run N``: N GETs, CONCURRENCY workers each awaiting one response at a
  time; every response must have status 200 and a body of LENGTH bytes.
  Prints ``{"requests": N, "ok": ..., "errors": ..., "samples": [...],
  "wall_s": ..., "utime_s": ..., "stime_s": ...}``: the CPU time is this
  process's (all its threads: ``getrusage(RUSAGE_SELF)``) over the N GETs
  only, the wall time ``perf_counter`` over the same window;
- ``quit`` (or end of input): closes the client and exits.

If the library cannot be imported the process prints ``{"skip": reason}``
and exits with status 0.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

#: ``IMPL`` -> what it runs (see :func:`make_client`).
IMPLS = (
    "squall-simple",
    "squall-client",
    "squall-curl",
    "tornado-simple",
    "tornado-curl",
    "aiohttp",
    "httpx",
)
LOOPS = ("asyncio", "uvloop")

#: How many failed requests are described in a round's result.
SAMPLES = 3

Fetch = Callable[[], Awaitable[tuple[int, int]]]
"""One GET of the URL: ``(status, body length)``."""


class Client:
    """A client library's fetch, the loop it runs on, and how to close it."""

    def __init__(self, run: Callable[[Callable[[], Awaitable[Any]]], Any]) -> None:
        self.run = run
        """Runs a coroutine function to completion on the client's loop."""
        self.fetch: Fetch | None = None
        self.close: Callable[[], Awaitable[None]] | None = None
        self.detail = ""


def _asyncio_loop(loop_name: str) -> asyncio.AbstractEventLoop:
    if loop_name == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _library_client(package: str, module: str, loop_name: str, url: str, limit: int) -> Client:
    """AsyncHTTPClient of squall or tornado, with the implementation *module*.

    The same code for both: they share the API.  squall's loop is chosen by
    ``SQUALL_IOLOOP``, Tornado's by uvloop's event loop policy.
    """
    if package == "tornado" and loop_name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if package == "squall":
        os.environ["SQUALL_IOLOOP"] = loop_name
    ioloop = importlib.import_module(f"{package}.ioloop")
    httpclient = importlib.import_module(f"{package}.httpclient")
    importlib.import_module(f"{package}.{module}")  # ImportError: skipped
    io_loop = ioloop.IOLoop()
    client = Client(lambda function: io_loop.run_sync(function))

    async def create() -> None:
        cls = httpclient.AsyncHTTPClient
        cls.configure(f"{package}.{module}.{_CLASSES[module]}", max_clients=limit)
        http = cls()

        async def fetch() -> tuple[int, int]:
            response = await http.fetch(url, raise_error=False)
            if response.code != 200:
                raise RuntimeError(f"status {response.code}: {response.error!r}")
            return response.code, len(response.body)

        async def close() -> None:
            http.close()

        client.fetch, client.close = fetch, close
        client.detail = type(http).__module__ + "." + type(http).__name__

    client.run(create)
    if module == "curl_httpclient":
        pycurl = importlib.import_module("pycurl")
        client.detail += f" ({pycurl.version})"
    return client


_CLASSES = {
    "simple_httpclient": "SimpleAsyncHTTPClient",
    "curl_httpclient": "CurlAsyncHTTPClient",
}


def _asyncio_client(impl: str, loop_name: str, url: str, limit: int) -> Client:
    """aiohttp, httpx or squall.client on a plain asyncio (or uvloop) loop."""
    if impl == "aiohttp":
        # Through importlib: the peers are installed only in the bench venv.
        aiohttp = importlib.import_module("aiohttp")

        make: Callable[[], Any] = lambda: aiohttp.ClientSession(  # noqa: E731
            connector=aiohttp.TCPConnector(limit=limit)
        )
    elif impl == "httpx":
        httpx = importlib.import_module("httpx")

        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        make = lambda: httpx.AsyncClient(limits=limits, trust_env=False)  # noqa: E731
    else:
        from squall.client import HttpClient

        make = lambda: HttpClient(pool_size=limit, trust_env=False)  # noqa: E731
    loop = _asyncio_loop(loop_name)
    asyncio.set_event_loop(loop)
    client = Client(lambda function: loop.run_until_complete(function()))

    async def create() -> None:
        session = make()
        client.detail = f"{type(session).__module__}.{type(session).__name__}"
        if impl == "aiohttp":

            async def fetch() -> tuple[int, int]:
                async with session.get(url) as response:
                    body = await response.read()
                    return response.status, len(body)

            async def close() -> None:
                await session.close()

        elif impl == "httpx":

            async def fetch() -> tuple[int, int]:
                response = await session.get(url)
                return response.status_code, len(response.content)

            async def close() -> None:
                await session.aclose()

        else:

            async def fetch() -> tuple[int, int]:
                response = await session.get(url)
                return response.status_code, len(response.content)

            async def close() -> None:
                session.close()

        client.fetch, client.close = fetch, close

    client.run(create)
    return client


def make_client(impl: str, loop_name: str, url: str, limit: int) -> Client:
    """The client *impl* on *loop_name*; ImportError if it is not installed."""
    if impl == "squall-simple":
        return _library_client("squall", "simple_httpclient", loop_name, url, limit)
    if impl == "squall-curl":
        return _library_client("squall", "curl_httpclient", loop_name, url, limit)
    if impl == "tornado-simple":
        return _library_client("tornado", "simple_httpclient", loop_name, url, limit)
    if impl == "tornado-curl":
        return _library_client("tornado", "curl_httpclient", loop_name, url, limit)
    return _asyncio_client(impl, loop_name, url, limit)


async def run_gets(fetch: Fetch, count: int, concurrency: int, length: int) -> dict[str, Any]:
    """*count* GETs, *concurrency* at a time; the outcome of each counted.

    A request is good if it has status 200 and a body of *length* bytes;
    anything else (another status, another length, an exception) is an
    error, of which the first :data:`SAMPLES` are described.
    """
    remaining = count
    ok = 0
    errors = 0
    samples: list[str] = []

    async def worker() -> None:
        nonlocal remaining, ok, errors
        while remaining > 0:
            remaining -= 1
            try:
                status, size = await fetch()
            except Exception as exc:  # any failure of the client is counted
                errors += 1
                if len(samples) < SAMPLES:
                    samples.append(repr(exc)[:300])
                continue
            if status == 200 and size == length:
                ok += 1
            else:
                errors += 1
                if len(samples) < SAMPLES:
                    samples.append(f"status {status}, {size} bytes")

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return {"requests": count, "ok": ok, "errors": errors, "samples": samples}


def measured_round(client: Client, count: int, concurrency: int, length: int) -> dict[str, Any]:
    """:func:`run_gets` with this process's CPU and wall time around it."""
    assert client.fetch is not None
    fetch = client.fetch
    result: dict[str, Any] = {}

    async def gets() -> None:
        result.update(await run_gets(fetch, count, concurrency, length))

    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    client.run(gets)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    result.update(
        wall_s=wall,
        utime_s=after.ru_utime - before.ru_utime,
        stime_s=after.ru_stime - before.ru_stime,
    )
    return result


def serve(impl: str, loop_name: str, url: str, length: int, concurrency: int) -> None:
    try:
        client = make_client(impl, loop_name, url, concurrency)
    except ImportError as exc:
        print(json.dumps({"skip": repr(exc)}), flush=True)
        return
    seen: dict[str, str] = {}

    async def which_loop() -> None:
        seen["loop"] = type(asyncio.get_running_loop()).__module__

    client.run(which_loop)
    info = {"pid": os.getpid(), "loop": seen["loop"], "detail": client.detail}
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[:1] == ["run"] and len(command) == 2:
            result = measured_round(client, int(command[1]), concurrency, length)
            print(json.dumps(result), flush=True)
        else:
            break
    if client.close is not None:
        client.run(client.close)


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[0] not in IMPLS or argv[1] not in LOOPS:
        print(
            f"usage: python -m benchmarks._clients {'|'.join(IMPLS)} {'|'.join(LOOPS)}"
            " URL LENGTH CONCURRENCY"
        )
        return 2
    impl, loop_name, url, length, concurrency = argv
    serve(impl, loop_name, url, int(length), int(concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
