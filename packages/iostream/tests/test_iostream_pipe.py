"""PipeIOStream specifics: direction, the other end going away, a child process.

The stream behaviour shared with the other kinds is in test_iostream_conformance.py.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from squall.ioloop import IOLoop
from squall.iostream import PipeIOStream, StreamClosedError


def run(io_loop: IOLoop, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    async def main_then_settle() -> None:
        await main()
        for _ in range(5):  # let closing transports finish closing
            await asyncio.sleep(0)

    io_loop.run_sync(main_then_settle)


def test_one_direction_only(io_loop: IOLoop) -> None:
    async def main() -> None:
        r, w = os.pipe()
        reader, writer = PipeIOStream(r), PipeIOStream(w)
        assert reader.fileno() == r
        assert writer.fileno() == w
        with pytest.raises(io.UnsupportedOperation):
            reader.write(b"x")
        with pytest.raises(io.UnsupportedOperation):
            writer.read_bytes(1)
        reader.close()
        writer.close()

    run(io_loop, main)


def test_reader_gone_closes_the_writer(io_loop: IOLoop) -> None:
    async def main() -> None:
        r, w = os.pipe()
        reader, writer = PipeIOStream(r), PipeIOStream(w)
        closed = asyncio.get_running_loop().create_future()
        writer.set_close_callback(lambda: closed.set_result(None))
        await asyncio.wait_for(writer.write(b"x"), 10)
        reader.close()

        # The event loops report the reader going away as the end of the
        # pipe (real_error None) or as a BrokenPipeError.
        async def write_until_refused() -> StreamClosedError:
            for _ in range(1000):
                try:
                    await asyncio.wait_for(writer.write(b"y" * 65536), 10)
                except StreamClosedError as exc:
                    return exc
            raise AssertionError("the writes went on")

        error = await write_until_refused()
        assert error.real_error is None or isinstance(error.real_error, BrokenPipeError)
        await asyncio.wait_for(closed, 10)
        assert writer.closed()

    run(io_loop, main)


def test_child_process(io_loop: IOLoop) -> None:
    async def main() -> None:
        child = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdin is not None
        assert child.stdout is not None
        # The stream takes over the descriptors (Popen must not close them).
        stdin = PipeIOStream(os.dup(child.stdin.fileno()))
        stdout = PipeIOStream(os.dup(child.stdout.fileno()))
        child.stdin.close()
        child.stdout.close()
        await asyncio.wait_for(stdin.write(b"hello, child\n" * 1000), 10)
        stdin.close()
        assert await asyncio.wait_for(stdout.read_until_close(), 10) == b"HELLO, CHILD\n" * 1000
        assert stdout.closed()
        assert child.wait(10) == 0

    run(io_loop, main)
