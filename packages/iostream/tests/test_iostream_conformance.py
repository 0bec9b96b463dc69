"""The stream conformance suite: the same tests over every kind of stream.

Each test runs over TCP (IPv4 and IPv6 loopback), a unix socket, TLS (a
trustme CA) and a pipe, through the ``stream_pair`` fixture (conftest.py):
``writer`` sends to ``reader``.  Waits are bounded (`wait`); nothing
asserts on elapsed time.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest

from squall.ioloop import IOLoop
from squall.iostream import (
    BaseIOStream,
    StreamBufferFullError,
    StreamClosedError,
    UnsatisfiableReadError,
)

_T = TypeVar("_T")

#: Bound on every wait in this suite (a hang fails instead of blocking CI).
WAIT = 10.0

MiB = 1024 * 1024


async def wait(awaitable: Awaitable[_T]) -> _T:
    return await asyncio.wait_for(awaitable, WAIT)


async def wait_until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.001)

    await wait(poll())


def run(io_loop: IOLoop, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    io_loop.run_sync(main)


Pairs = Callable[..., Awaitable[Any]]


# -- reads ---------------------------------------------------------------------


def test_read_until(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        pair.writer.write(b"one\r\ntwo\r\nthr")
        assert await wait(pair.reader.read_until(b"\r\n")) == b"one\r\n"
        assert await wait(pair.reader.read_until(b"\r\n")) == b"two\r\n"
        reading = pair.reader.read_until(b"\r\n")
        assert pair.reader.reading()
        # The delimiter arrives split across writes.
        await pair.writer.write(b"ee\r")
        await pair.writer.write(b"\nfour")
        assert await wait(reading) == b"three\r\n"
        assert not pair.reader.reading()

    run(io_loop, main)


def test_read_until_byte_by_byte(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_until(b"<end>")
        message = b"some data <en< <end>"
        for i in range(len(message)):
            await pair.writer.write(message[i : i + 1])
        assert await wait(reading) == message

    run(io_loop, main)


def test_read_until_regex(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        pair.writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\n\nrest")
        headers = await wait(pair.reader.read_until_regex(b"\r?\n\r?\n"))
        assert headers == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        assert await wait(pair.reader.read_until_regex(re.compile(b"\r?\n\r?\n"))) == b"body\n\n"
        reading = pair.reader.read_until_regex(b"[0-9]+;")
        await pair.writer.write(b"12")
        await pair.writer.write(b"34;")
        assert await wait(reading) == b"rest1234;"

    run(io_loop, main)


def test_read_bytes(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        assert await wait(pair.reader.read_bytes(0)) == b""
        pair.writer.write(b"abcdef")
        assert await wait(pair.reader.read_bytes(2)) == b"ab"
        reading = pair.reader.read_bytes(6)
        await pair.writer.write(b"ghij")
        assert await wait(reading) == b"cdefgh"
        assert await wait(pair.reader.read_bytes(2)) == b"ij"

    run(io_loop, main)


def test_read_bytes_partial(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_bytes(100, partial=True)
        await pair.writer.write(b"hello")
        assert await wait(reading) == b"hello"
        await pair.writer.write(b"0123456789")
        # Never more than asked for, even with more buffered.
        await wait_until(lambda: pair.reader._buffered() == 10)
        assert await wait(pair.reader.read_bytes(4, partial=True)) == b"0123"
        assert await wait(pair.reader.read_bytes(100, partial=True)) == b"456789"

    run(io_loop, main)


def test_read_into(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        buf = bytearray(10)
        pair.writer.write(b"0123")
        reading = pair.reader.read_into(buf)
        await pair.writer.write(b"456789abc")
        assert await wait(reading) == 10
        assert buf == b"0123456789"
        # Partial: whatever is there (here the 3 remaining bytes), into a memoryview.
        buf2 = bytearray(8)
        assert await wait(pair.reader.read_into(memoryview(buf2), partial=True)) == 3
        assert buf2[:3] == b"abc"
        reading = pair.reader.read_into(buf2, partial=True)
        await pair.writer.write(b"xy")
        assert await wait(reading) == 2
        assert buf2[:2] == b"xy"

    run(io_loop, main)


def test_read_until_close(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_until_close()
        await pair.writer.write(b"all ")
        await pair.writer.write(b"of it")
        pair.writer.close()
        assert await wait(reading) == b"all of it"
        assert pair.reader.closed()
        # Again, on the closed stream: nothing left.
        assert await wait(pair.reader.read_until_close()) == b""

    run(io_loop, main)


def test_buffered_data_readable_after_peer_close(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        await pair.writer.write(b"line 1\nline 2\ntail")
        pair.writer.close()
        closed = asyncio.get_running_loop().create_future()
        pair.reader.set_close_callback(lambda: closed.set_result(None))
        assert await wait(pair.reader.read_until(b"\n")) == b"line 1\n"
        assert await wait(pair.reader.read_bytes(7)) == b"line 2\n"
        assert await wait(pair.reader.read_until_close()) == b"tail"
        await wait(closed)
        with pytest.raises(StreamClosedError):
            await pair.reader.read_bytes(1)

    run(io_loop, main)


def test_concurrent_read_is_an_error(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_until(b"\n")
        with pytest.raises(RuntimeError, match="Already reading"):
            pair.reader.read_bytes(1)
        with pytest.raises(RuntimeError):
            pair.reader.read_until_close()
        await pair.writer.write(b"ok\n")
        assert await wait(reading) == b"ok\n"

    run(io_loop, main)


def test_cancelled_read_leaves_data(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(pair.reader.read_until(b"\n"), 0.01)
        assert not pair.reader.reading()
        await pair.writer.write(b"kept\n")
        assert await wait(pair.reader.read_until(b"\n")) == b"kept\n"

    run(io_loop, main)


# -- limits ----------------------------------------------------------------------


def test_max_bytes_unsatisfiable(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_until(b"\r\n", max_bytes=10)
        await pair.writer.write(b"0123456789abc")
        with pytest.raises(UnsatisfiableReadError) as info:
            await wait(reading)
        # Also a StreamClosedError (what Tornado-era code catches).
        assert isinstance(info.value, StreamClosedError)
        assert isinstance(info.value.real_error, UnsatisfiableReadError)
        assert pair.reader.closed()
        assert pair.reader.error is info.value.real_error

    run(io_loop, main)


def test_max_bytes_from_the_buffer(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        await pair.writer.write(b"01234567\r\n")
        await wait_until(lambda: pair.reader._buffered() == 10)
        # Delimiter found, but beyond max_bytes.
        with pytest.raises(UnsatisfiableReadError):
            await wait(pair.reader.read_until(b"\r\n", max_bytes=9))
        assert pair.reader.closed()

    run(io_loop, main)


def test_max_bytes_regex(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_until_regex(b"\r?\n\r?\n", max_bytes=16)
        await pair.writer.write(b"x" * 17)
        with pytest.raises(StreamClosedError) as info:
            await wait(reading)
        assert isinstance(info.value, UnsatisfiableReadError)

    run(io_loop, main)


def test_max_bytes_satisfied_at_the_limit(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_until(b"\r\n", max_bytes=10)
        await pair.writer.write(b"01234567\r\nmore")
        assert await wait(reading) == b"01234567\r\n"
        assert await wait(pair.reader.read_until_regex(b"e", max_bytes=4)) == b"more"
        assert not pair.reader.closed()

    run(io_loop, main)


def test_reading_pauses_at_max_buffer_size(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        limit = 64 * 1024
        pair = await stream_pair(max_buffer_size=limit)
        transport = pair.reader._transport
        # Nobody reads: write until the writer feels the back-pressure (the
        # kernel's buffers, larger for TLS, absorb the first megabytes).
        chunks: list[bytes] = []
        written: list[asyncio.Future[None]] = []
        while len(chunks) < 64:
            chunks.append(os.urandom(MiB))
            written.append(pair.writer.write(chunks[-1]))
            for _ in range(10):
                await asyncio.sleep(0)
            if not written[-1].done():
                break
        assert not written[-1].done()
        # The reader paused its transport instead of buffering it all.
        await wait_until(lambda: not transport.is_reading())
        buffered = pair.reader._buffered()
        assert limit <= buffered < limit + 2 * MiB
        for _ in range(20):
            await asyncio.sleep(0)
        assert pair.reader._buffered() == buffered  # it stopped growing
        # Reading resumes as the buffer drains; nothing is lost.
        data = b"".join(chunks)
        received = bytearray()
        while len(received) < len(data):
            received += await wait(pair.reader.read_bytes(limit // 2, partial=True))
        assert received == data
        await wait(asyncio.gather(*written))

    run(io_loop, main)


def test_read_beyond_max_buffer_size(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        limit = 64 * 1024
        pair = await stream_pair(max_buffer_size=limit)
        reading = pair.reader.read_until(b"\n")
        pair.writer.write(b"x" * (4 * limit))
        with pytest.raises(StreamBufferFullError) as info:
            await wait(reading)
        assert isinstance(info.value, StreamClosedError)
        assert pair.reader.closed()

    run(io_loop, main)


def test_read_bytes_more_than_max_buffer_size(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair(max_buffer_size=1024)
        with pytest.raises(StreamBufferFullError):
            await wait(pair.reader.read_bytes(1025))
        assert pair.reader.closed()

    run(io_loop, main)


def test_read_until_close_beyond_max_buffer_size(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        limit = 64 * 1024
        pair = await stream_pair(max_buffer_size=limit)
        reading = pair.reader.read_until_close()
        pair.writer.write(b"x" * (4 * limit))
        with pytest.raises(StreamBufferFullError):
            await wait(reading)

    run(io_loop, main)


def test_partial_reads_of_a_long_stream_within_max_buffer_size(
    io_loop: IOLoop, stream_pair: Pairs
) -> None:
    async def main() -> None:
        limit = 64 * 1024
        pair = await stream_pair(max_buffer_size=limit)
        data = os.urandom(2 * MiB)
        pair.writer.write(data)
        pair.writer.close()
        received = bytearray()
        while True:
            try:
                received += await wait(pair.reader.read_bytes(limit, partial=True))
            except StreamClosedError:
                break
        assert received == data

    run(io_loop, main)


def test_max_write_buffer_size(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair(writer_kwargs={"max_write_buffer_size": MiB})
        # Fill the kernel's buffers and the transport's: nobody reads.
        refused = None
        for _ in range(64):
            try:
                pair.writer.write(b"x" * (512 * 1024))
            except StreamBufferFullError as exc:
                refused = exc
                break
        assert refused is not None
        assert not pair.writer.closed()  # the write is refused; the stream goes on

    run(io_loop, main)


# -- writes ----------------------------------------------------------------------


def test_big_writes_resolve_in_order(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        chunks = [os.urandom(MiB) for _ in range(6)]
        done: list[int] = []
        futures = [pair.writer.write(chunk) for chunk in chunks]
        for i, future in enumerate(futures):
            future.add_done_callback(lambda f, i=i: done.append(i))
        assert pair.writer.writing()
        received = await wait(pair.reader.read_bytes(6 * MiB))
        assert received == b"".join(chunks)
        await wait(asyncio.gather(*futures))
        await asyncio.sleep(0)
        assert done == [0, 1, 2, 3, 4, 5]
        assert not pair.writer.writing()

    run(io_loop, main)


def test_write_accepts_bytes_like(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        await wait(pair.writer.write(bytearray(b"ab")))
        await wait(pair.writer.write(memoryview(b"xcdx")[1:3]))
        await wait(pair.writer.write(b""))
        assert await wait(pair.reader.read_bytes(4)) == b"abcd"

    run(io_loop, main)


def test_small_write_future_resolves(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        for i in range(100):
            await wait(pair.writer.write(b"%d\n" % i))
        for i in range(100):
            assert await wait(pair.reader.read_until(b"\n")) == b"%d\n" % i

    run(io_loop, main)


# -- closing ---------------------------------------------------------------------


def test_close_callback_runs_once(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        calls: list[str] = []
        pair.writer.set_close_callback(lambda: calls.append("writer"))
        pair.reader.set_close_callback(lambda: calls.append("reader"))
        pair.writer.close()
        pair.writer.close()
        assert pair.writer.closed()
        # The reader notices the peer going away because it has a close callback.
        await wait_until(lambda: "reader" in calls)
        for _ in range(5):
            await asyncio.sleep(0)
        assert sorted(calls) == ["reader", "writer"]
        assert pair.reader.closed()
        assert pair.reader.error is None

    run(io_loop, main)


def test_peer_close_mid_read(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_bytes(100)
        await pair.writer.write(b"only this")
        pair.writer.close()
        with pytest.raises(StreamClosedError) as info:
            await wait(reading)
        assert info.value.real_error is None
        assert pair.reader.closed()

    run(io_loop, main)


# Only TCP connections reset (RST): pipes and unix sockets cannot.
@pytest.mark.parametrize("stream_pair", ["tcp", "tcp6", "tls"], indirect=True)
def test_reset_mid_read(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_until(b"\n")
        pair.reset_writer()
        with pytest.raises(StreamClosedError) as info:
            await wait(reading)
        assert isinstance(info.value.real_error, ConnectionResetError)
        assert pair.reader.error is info.value.real_error

    run(io_loop, main)


def test_reads_and_writes_after_close(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        pair.reader.close()
        pair.writer.close()
        for stream in (pair.reader, pair.writer):
            with pytest.raises(StreamClosedError):
                stream.read_bytes(1)
            with pytest.raises(StreamClosedError):
                stream.read_until(b"\n")
            with pytest.raises(StreamClosedError):
                stream.read_into(bytearray(1))
        with pytest.raises(StreamClosedError):
            pair.writer.write(b"x")

    run(io_loop, main)


def test_close_fails_pending_read(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_until(b"\n")
        pair.reader.close()
        with pytest.raises(StreamClosedError):
            await wait(reading)

    run(io_loop, main)


def test_close_with_exc_info(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_bytes(1)
        try:
            raise ValueError("why")
        except ValueError:
            pair.reader.close(exc_info=True)
        assert isinstance(pair.reader.error, ValueError)
        with pytest.raises(StreamClosedError) as info:
            await wait(reading)
        assert info.value.real_error is pair.reader.error

    run(io_loop, main)


def test_write_then_close_delivers(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        data = os.urandom(3 * MiB)
        pair.writer.write(data)
        pair.writer.close()  # unsent data is still delivered
        assert await wait(pair.reader.read_until_close()) == data

    run(io_loop, main)


def test_fileno(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        assert isinstance(pair.reader.fileno(), int)
        assert pair.reader.fileno() >= 0

    run(io_loop, main)


# -- the deprecated callback interface ------------------------------------------------


def test_callbacks(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        loop = asyncio.get_running_loop()
        results: list[Any] = []
        written = loop.create_future()
        with pytest.deprecated_call():
            pair.writer.write(b"line\nabcdef", callback=lambda: written.set_result(None))
        await wait(written)
        got = loop.create_future()
        with pytest.deprecated_call():
            pair.reader.read_until(b"\n", callback=got.set_result)
        assert await wait(got) == b"line\n"
        got = loop.create_future()
        with pytest.deprecated_call():
            pair.reader.read_until_regex(b"b", callback=got.set_result)
        assert await wait(got) == b"ab"
        got = loop.create_future()
        with pytest.deprecated_call():
            pair.reader.read_bytes(4, callback=got.set_result)
        assert await wait(got) == b"cdef"
        # Streaming: chunks to the streaming callback, an empty final result.
        got = loop.create_future()
        with pytest.deprecated_call():
            pair.reader.read_bytes(6, callback=got.set_result, streaming_callback=results.append)
        await pair.writer.write(b"123")
        await pair.writer.write(b"456789")
        assert await wait(got) == b""
        assert b"".join(results) == b"123456"
        results.clear()
        got = loop.create_future()
        with pytest.deprecated_call():
            pair.reader.read_until_close(
                callback=got.set_result, streaming_callback=results.append
            )
        await pair.writer.write(b"tail")
        pair.writer.close()
        assert await wait(got) == b""
        assert b"".join(results) == b"789tail"

    run(io_loop, main)


def test_close_callback_for_callback_users(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        loop = asyncio.get_running_loop()
        closed = loop.create_future()
        pair.reader.set_close_callback(lambda: closed.set_result(None))
        with pytest.deprecated_call():
            pair.reader.read_bytes(10, callback=lambda data: None)
        pair.writer.close()
        await wait(closed)

    run(io_loop, main)


def test_io_loop_argument_is_deprecated(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        with pytest.deprecated_call():
            pair = await stream_pair(io_loop=io_loop)
        assert pair.reader.io_loop is io_loop

    run(io_loop, main)


def test_streams_are_base_streams(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        assert isinstance(pair.reader, BaseIOStream)
        assert isinstance(pair.writer, BaseIOStream)

    run(io_loop, main)


# -- feeding (the direct path of protocol layers) ------------------------------


def test_feeding_hands_over_buffered_then_received_data(
    io_loop: IOLoop, stream_pair: Pairs
) -> None:
    async def main() -> None:
        pair = await stream_pair()
        pair.writer.write(b"head\r\nrest")
        assert await wait(pair.reader.read_until(b"\r\n")) == b"head\r\n"
        await wait_until(lambda: pair.reader._buffered() == 4)
        chunks: list[bytes] = []
        pair.reader._start_feeding(chunks.append)
        assert chunks == [b"rest"]  # the buffered bytes, synchronously
        await pair.writer.write(b"more")
        await wait_until(lambda: b"".join(chunks) == b"restmore")
        # Paused: nothing is delivered until resumed.
        pair.reader._pause_feeding()
        await pair.writer.write(b"later")
        await asyncio.sleep(0.05)
        assert b"".join(chunks) == b"restmore"
        pair.reader._resume_feeding()
        await wait_until(lambda: b"".join(chunks) == b"restmorelater")
        # Back to the read methods.
        pair.reader._stop_feeding()
        await pair.writer.write(b"x\n")
        assert await wait(pair.reader.read_until(b"\n")) == b"x\n"
        # EOF is reported as b"".
        pair.reader._start_feeding(chunks.append)
        pair.writer.close()
        await wait_until(lambda: chunks[-1] == b"")

    run(io_loop, main)


def test_feeding_refused_while_a_read_is_pending(io_loop: IOLoop, stream_pair: Pairs) -> None:
    async def main() -> None:
        pair = await stream_pair()
        reading = pair.reader.read_bytes(1)
        with pytest.raises(RuntimeError, match="read is pending"):
            pair.reader._start_feeding(lambda data: None)
        await pair.writer.write(b"1")
        assert await wait(reading) == b"1"

    run(io_loop, main)
