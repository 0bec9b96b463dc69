"""Streams: an echo server on IOStream, squall against Tornado, on asyncio and uvloop.

The same code runs on both libraries (they share the API): :func:`_echo_setup`
builds, from the library's ``tcpserver``, ``iostream``, ``netutil`` and
``ioloop`` modules, an echo server (a ``TCPServer`` whose ``handle_stream``
loops over ``read_until(b"\\n")`` or ``read_bytes(n)`` and ``await
stream.write(data)``, the idiom of Tornado's documentation) listening on
127.0.0.1, and a client ``IOStream`` connected to it.  Server and client run
in this process on one IOLoop created in setup, so every byte is handled by
the library twice (client and server side) and the CPU time of both counts.
The connection stays open across operations.

Cases:

- ``64 B lines``: the client writes a batch of :data:`LINES` 64-byte lines
  (one ``write`` each, pipelined), then reads the :data:`LINES` replies with
  ``read_until(b"\\n")``; one call runs :data:`ROUNDS` batches, the times
  are per line (one message echoed: four stream calls, two on each side).
- ``64 KiB chunks``: the client writes :data:`CHUNKS` chunks of 64 KiB, then
  reads them back with ``read_bytes(65536)``; the server echoes each with
  ``read_bytes(65536)``.  The times are per chunk.

Each case on the default asyncio event loop and on uvloop: for Tornado the
uvloop event loop policy is set before its IOLoop is created; for squall
``IOLoop.configure("uvloop")`` chooses its uvloop backend (which is checked:
a case fails if its IOLoop is not on the loop it is named after).  Before
timing, the echoed bytes are compared with those sent.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Mapping
from typing import Any

from ._harness import Benchmark, Implementation, MismatchError, Operation

#: Pipelined lines per batch in the small-message case.
LINES = 100
#: Batches per call: enough that the call's own cost (run_sync) is noise.
ROUNDS = 10
#: Bytes per line, the newline included.
LINE_SIZE = 64
#: Chunk size of the large-message case.
CHUNK_SIZE = 64 * 1024
#: Chunks written before reading them back, per call.
CHUNKS = 16


def _lines() -> list[bytes]:
    """:data:`LINES` distinct lines of :data:`LINE_SIZE` bytes."""
    return [f"line {i:05d} ".encode().ljust(LINE_SIZE - 1, b"x") + b"\n" for i in range(LINES)]


def _chunks() -> list[bytes]:
    """:data:`CHUNKS` distinct chunks of :data:`CHUNK_SIZE` bytes."""
    return [bytes([i % 251]) * (CHUNK_SIZE - 8) + f"{i:07d}\n".encode() for i in range(CHUNKS)]


def _new_loop(package: str, loop_name: str) -> Any:
    """An IOLoop of `package` on the asyncio event loop named `loop_name`."""
    ioloop = importlib.import_module(f"{package}.ioloop")
    if loop_name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        if package == "squall":
            ioloop.IOLoop.configure("uvloop")
    else:
        asyncio.set_event_loop_policy(None)
        if package == "squall":
            ioloop.IOLoop.configure("asyncio")
    try:
        io_loop = ioloop.IOLoop()
    finally:
        asyncio.set_event_loop_policy(None)
        if package == "squall":
            ioloop.IOLoop.configure(None)
    kind = type(io_loop.asyncio_loop).__module__
    if kind.startswith("uvloop") != (loop_name == "uvloop"):
        raise RuntimeError(f"{package}'s IOLoop runs on {kind}, not {loop_name}")
    return io_loop


def _echo_setup(package: str, loop_name: str, mode: str) -> tuple[Any, Any]:
    """Start an echo server and connect a client; return ``(io_loop, client stream)``.

    `mode` is ``"line"`` (the server echoes ``read_until(b"\\n")``) or
    ``"chunk"`` (``read_bytes(CHUNK_SIZE)``).
    """
    iostream = importlib.import_module(f"{package}.iostream")
    netutil = importlib.import_module(f"{package}.netutil")
    tcpserver = importlib.import_module(f"{package}.tcpserver")
    closed = iostream.StreamClosedError
    io_loop = _new_loop(package, loop_name)

    class EchoServer(tcpserver.TCPServer):  # type: ignore[misc,name-defined]
        async def handle_stream(self, stream: Any, address: Any) -> None:
            # As on the client: no Nagle delays (asyncio and uvloop set
            # TCP_NODELAY on their transports anyway; Tornado's sockets
            # would otherwise wait for delayed ACKs, in wall time).
            stream.set_nodelay(True)
            try:
                while True:
                    if mode == "line":
                        data = await stream.read_until(b"\n")
                    else:
                        data = await stream.read_bytes(CHUNK_SIZE)
                    await stream.write(data)
            except closed:
                pass

    async def connect() -> Any:
        import socket

        sockets = netutil.bind_sockets(0, "127.0.0.1")
        server = EchoServer()
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        stream = iostream.IOStream(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        await stream.connect(("127.0.0.1", port))
        stream.set_nodelay(True)
        return stream

    return io_loop, io_loop.run_sync(connect)


def lines_case(package: str, loop_name: str) -> Operation:
    io_loop, stream = _echo_setup(package, loop_name, "line")
    lines = _lines()

    async def drive() -> list[bytes]:
        replies: list[bytes] = []
        for _ in range(ROUNDS):
            for line in lines:
                stream.write(line)
            replies = [await stream.read_until(b"\n") for _ in range(LINES)]
        return replies

    return lambda: io_loop.run_sync(drive)


def chunks_case(package: str, loop_name: str) -> Operation:
    io_loop, stream = _echo_setup(package, loop_name, "chunk")
    chunks = _chunks()

    async def drive() -> list[bytes]:
        for chunk in chunks:
            stream.write(chunk)
        return [await stream.read_bytes(CHUNK_SIZE) for _ in range(CHUNKS)]

    return lambda: io_loop.run_sync(drive)


def _check_echo(expected: list[bytes]) -> Callable[[Mapping[str, object]], None]:
    def check(outputs: Mapping[str, object]) -> None:
        for name, output in outputs.items():
            if output != expected:
                got = repr(output)[:200]
                raise MismatchError(f"{name} echoed {got}..., not what was sent")

    return check


def _implementations(
    case: Callable[[str, str], Operation], loop_name: str
) -> list[Implementation]:
    return [
        Implementation("squall", "squall", "squall-iostream", lambda: case("squall", loop_name)),
        Implementation("tornado", "tornado", "tornado", lambda: case("tornado", loop_name)),
    ]


DESCRIPTION = (
    "an echo server (TCPServer.handle_stream: read, then await write) and a client IOStream"
    " over 127.0.0.1 in one process and one IOLoop, squall and tornado with the same code,"
    " on the default asyncio event loop and on uvloop; CPU time of client and server together"
)

#: squall's target against Tornado on every case (the issue asks for 1.5x).
TARGETS = {"tornado": 1.5}

BENCHMARKS = [
    *(
        Benchmark(
            name=f"64 B lines, {loop_name}",
            description=(
                f"the client writes {LINES} pipelined 64-byte lines, then reads the {LINES}"
                f" replies with read_until; {ROUNDS} batches per call, on {loop_name}"
            ),
            unit="line echoed",
            implementations=_implementations(lines_case, loop_name),
            check=_check_echo(_lines()),
            targets=TARGETS,
            batch=LINES * ROUNDS,
        )
        for loop_name in ("asyncio", "uvloop")
    ),
    *(
        Benchmark(
            name=f"64 KiB chunks, {loop_name}",
            description=(
                f"the client writes {CHUNKS} chunks of 64 KiB, then reads them back with"
                f" read_bytes; the server echoes each with read_bytes, on {loop_name}"
            ),
            unit="64 KiB chunk echoed",
            implementations=_implementations(chunks_case, loop_name),
            check=_check_echo(_chunks()),
            targets=TARGETS,
            batch=CHUNKS,
        )
        for loop_name in ("asyncio", "uvloop")
    ),
]
