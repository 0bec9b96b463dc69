"""The read machinery against a model, over an in-memory transport (no sockets).

Hypothesis chooses the data, how it is cut into chunks (as a transport
would deliver it) and a sequence of reads; whatever the cut, every read
must return what a reference implementation computes from the whole data.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from squall.ioloop import IOLoop
from squall.iostream import (
    BaseIOStream,
    StreamBufferFullError,
    StreamClosedError,
    UnsatisfiableReadError,
)


class FakeTransport(asyncio.Transport):
    """Records writes; everything is 'sent' at once."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.reading = True
        self.closing = False
        self.protocol: asyncio.BaseProtocol | None = None

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def write(self, data: Any) -> None:
        self.written += data

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True


def attached_stream(**kwargs: Any) -> tuple[BaseIOStream, FakeTransport]:
    stream = BaseIOStream(**kwargs)
    transport = FakeTransport()
    stream._on_connection_made(transport)
    return stream, transport


def deliver(stream: BaseIOStream, chunk: bytes, via_get_buffer: bool) -> None:
    """Hand `chunk` to the stream as a transport would."""
    if via_get_buffer:  # socket transports: get_buffer / buffer_updated, as often as it takes
        view = memoryview(chunk)
        while view:
            buf = stream._protocol.get_buffer(len(view))
            count = min(len(buf), len(view))
            buf[:count] = view[:count]
            stream._protocol.buffer_updated(count)
            view = view[count:]
    else:  # pipe transports: data_received
        stream._protocol.data_received(chunk)


# -- the reads and their reference results ------------------------------------------


@dataclass
class Read:
    kind: str  # until, regex, bytes, into
    arg: Any  # delimiter, pattern or byte count
    max_bytes: int | None = None
    partial: bool = False

    def start(self, stream: BaseIOStream) -> tuple[asyncio.Future[Any], bytearray | None]:
        if self.kind == "until":
            return stream.read_until(self.arg, max_bytes=self.max_bytes), None
        if self.kind == "regex":
            return stream.read_until_regex(self.arg, max_bytes=self.max_bytes), None
        if self.kind == "bytes":
            return stream.read_bytes(self.arg, partial=self.partial), None
        target = bytearray(self.arg)
        return stream.read_into(target, partial=self.partial), target


UNSATISFIABLE = "unsatisfiable"
CLOSED = "closed"


def expected(read: Read, rest: bytes) -> bytes | str:
    """What `read` returns from `rest`, the unread data up to the end of the stream.

    For partial reads any non-empty prefix will do: the longest is returned
    here, and the test accepts its prefixes.
    """
    if read.kind in ("until", "regex"):
        if read.kind == "until":
            found = rest.find(read.arg)
            end = None if found < 0 else found + len(read.arg)
        else:
            match = re.search(read.arg, rest)
            end = None if match is None else match.end()
        limit = read.max_bytes
        if end is not None and (limit is None or end <= limit):
            return rest[:end]
        if limit is not None and (end is not None or len(rest) > limit - (read.kind == "until")):
            return UNSATISFIABLE
        return CLOSED
    if len(rest) >= read.arg or (read.partial and rest):
        return rest[: read.arg]
    return CLOSED


DELIMITERS = [b"\n", b"\r\n", b"ab", b"abc"]
# Patterns whose leftmost match never depends on how the data is cut.
PATTERNS = [rb"\r?\n\r?\n", rb"b+a", rb"ca?b", rb"(ab|x\r)\n"]

reads = st.one_of(
    st.builds(
        Read,
        st.just("until"),
        st.sampled_from(DELIMITERS),
        st.one_of(st.none(), st.integers(1, 40)),
    ),
    st.builds(
        Read,
        st.just("regex"),
        st.sampled_from(PATTERNS),
        st.one_of(st.none(), st.integers(1, 40)),
    ),
    st.builds(Read, st.just("bytes"), st.integers(0, 30), st.none(), st.booleans()),
    st.builds(Read, st.just("into"), st.integers(0, 30), st.none(), st.booleans()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=120).map(lambda b: bytes(b"abc\r\nx"[i % 6] for i in b)),
    cuts=st.lists(st.integers(1, 20), max_size=40),
    ops=st.lists(reads, min_size=1, max_size=12),
    via_get_buffer=st.booleans(),
)
def test_reads_match_the_model(
    data: bytes, cuts: list[int], ops: list[Read], via_get_buffer: bool
) -> None:
    io_loop = IOLoop(make_current=False)
    try:
        io_loop.run_sync(lambda: _check(data, cuts, ops, via_get_buffer))
    finally:
        io_loop.close()


async def _check(data: bytes, cuts: list[int], ops: list[Read], via_get_buffer: bool) -> None:
    stream, _ = attached_stream()
    chunks = _cut(data, cuts)
    consumed = 0
    for read in ops:
        want = expected(read, data[consumed:])
        try:
            future, target = read.start(stream)
        except StreamClosedError:
            assert want == CLOSED
            return
        while not future.done() and chunks:
            deliver(stream, chunks.pop(0), via_get_buffer)
        if not future.done():
            # The end of the stream.
            stream._protocol.eof_received()
            stream._protocol.connection_lost(None)
        assert future.done()
        if want == UNSATISFIABLE:
            with pytest.raises(UnsatisfiableReadError):
                future.result()
            assert stream.closed()
            return
        if want == CLOSED:
            with pytest.raises(StreamClosedError) as info:
                future.result()
            assert info.value.real_error is None
            return
        assert isinstance(want, bytes)
        result = future.result()
        if target is not None:
            assert isinstance(result, int)
            result = bytes(target[:result])
        if read.partial:
            assert result or not read.arg
            assert want.startswith(result)
        else:
            assert result == want
        consumed += len(result)
    # What is left, to the end.
    tail = stream.read_until_close()
    for chunk in chunks:
        deliver(stream, chunk, via_get_buffer)
    stream._protocol.eof_received()
    stream._protocol.connection_lost(None)
    assert await tail == data[consumed:]


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    chunks = []
    pos = 0
    for size in cuts:
        if pos >= len(data):
            break
        chunks.append(data[pos : pos + size])
        pos += size
    if pos < len(data):
        chunks.append(data[pos:])
    return chunks


# -- flow control without sockets --------------------------------------------------


def test_pause_and_resume_at_max_buffer_size(io_loop: IOLoop) -> None:
    async def main() -> None:
        stream, transport = attached_stream(max_buffer_size=100)
        deliver(stream, b"x" * 60, True)
        assert transport.reading
        deliver(stream, b"x" * 60, True)
        assert not transport.reading  # 120 >= 100: paused
        assert await stream.read_bytes(30) == b"x" * 30
        assert transport.reading  # 90 < 100: resumed
        # A read the limit can never satisfy fails, and closes the stream.
        reading = stream.read_until(b"\n")
        deliver(stream, b"y" * 20, False)
        with pytest.raises(StreamBufferFullError):
            await reading
        assert stream.closed()
        assert transport.closing

    io_loop.run_sync(main)


def test_long_line_in_tiny_chunks_is_linear(io_loop: IOLoop) -> None:
    async def main() -> None:
        # Each chunk is searched once (from where the last search stopped),
        # so this stays fast: a quadratic search would take minutes.
        stream, _ = attached_stream()
        reading = stream.read_until(b"\r\n\r\n")
        for _ in range(100_000):
            stream._protocol.data_received(b"ab\r\n")
        stream._protocol.data_received(b"\r\n")
        assert len(await reading) == 400_002

    io_loop.run_sync(main)


def test_header_in_tiny_chunks_is_linear(io_loop: IOLoop) -> None:
    async def main() -> None:
        # The same for a bounded regex (an HTTP header block's end).
        stream, _ = attached_stream()
        reading = stream.read_until_regex(b"\r?\n\r?\n")
        for _ in range(100_000):
            stream._protocol.data_received(b"ab\r\n")
        stream._protocol.data_received(b"\n")
        assert len(await reading) == 400_001

    io_loop.run_sync(main)


def test_written_data_goes_to_the_transport(io_loop: IOLoop) -> None:
    async def main() -> None:
        stream, transport = attached_stream()
        await stream.write(b"abc")
        await stream.write(memoryview(b"def"))
        assert transport.written == b"abcdef"
        assert not stream.writing()

    io_loop.run_sync(main)


# -- where received bytes land (see squall._iostream._receiving) --------------------


def test_read_into_receives_straight_into_its_buffer(io_loop: IOLoop) -> None:
    async def main() -> None:
        stream, _ = attached_stream()
        target = bytearray(100_000)
        reading = stream.read_into(target)
        space = stream._protocol.get_buffer(-1)
        assert space.obj is target  # no copy: the transport fills the caller's buffer
        space[:60_000] = b"a" * 60_000
        stream._protocol.buffer_updated(60_000)
        assert not reading.done()
        deliver(stream, b"b" * 40_000 + b"rest", True)
        assert await reading == 100_000
        assert target == b"a" * 60_000 + b"b" * 40_000
        assert await stream.read_bytes(4) == b"rest"
        # A small buffer is filled from the stream's own block instead.
        small = bytearray(10)
        reading = stream.read_into(small, partial=True)
        assert stream._protocol.get_buffer(-1).obj is not small
        deliver(stream, b"0123456789abc", True)
        assert await reading == 10
        assert small == b"0123456789"

    io_loop.run_sync(main)


def test_memory_follows_the_unread_data(io_loop: IOLoop) -> None:
    async def main() -> None:
        from squall._iostream._receiving import BLOCK_SIZE, SMALL_SLACK

        stream, _ = attached_stream()
        # Everything read: the stream holds no block.
        deliver(stream, b"line\n" * 1000, True)
        for _ in range(1000):
            assert await stream.read_until(b"\n") == b"line\n"
        assert len(stream._block) == 0
        # A slow peer's partial line is kept in a small block, not a 256 KiB one.
        reading = stream.read_until(b"\n")
        deliver(stream, b"partial", True)
        assert len(stream._block) <= 2 * len(b"partial") + SMALL_SLACK
        for _ in range(3000):  # ... which grows with the data, not per receive
            deliver(stream, b"more", True)
        assert len(stream._block) <= 4 * 12_007
        deliver(stream, b"\n", True)
        assert await reading == b"partial" + b"more" * 3000 + b"\n"
        assert len(stream._block) == 0
        # Large unread data keeps (and grows) its block, reading it back is exact.
        data = bytes(range(256)) * (3 * BLOCK_SIZE // 256)
        deliver(stream, data, True)
        assert stream._buffered() == len(data)
        assert await stream.read_bytes(len(data) - 5) == data[:-5]
        assert await stream.read_bytes(5) == data[-5:]
        assert len(stream._block) == 0

    io_loop.run_sync(main)


def test_feeding_hands_a_transport_attached_later_to_the_sink(io_loop: IOLoop) -> None:
    # An accepted connection's stream gets its transport after the
    # protocol layer has started feeding: the first chunk received through
    # the stream hands the transport over.
    async def main() -> None:
        stream = BaseIOStream()
        chunks: list[bytes] = []
        stream._start_feeding(chunks.append)
        transport = FakeTransport()
        stream._on_connection_made(transport)
        assert transport.protocol is None
        deliver(stream, b"first", via_get_buffer=True)
        assert chunks == [b"first"]
        assert isinstance(transport.protocol, asyncio.Protocol)
        assert transport.protocol.data_received == chunks.append
        transport.protocol.data_received(b"direct")
        assert chunks == [b"first", b"direct"]
        stream._stop_feeding()
        assert transport.protocol is stream._protocol

    io_loop.run_sync(main)


def test_feeding_hands_the_transport_to_the_sink(io_loop: IOLoop) -> None:
    async def main() -> None:
        stream, transport = attached_stream()
        chunks: list[bytes] = []
        stream._start_feeding(chunks.append)
        # The transport now calls the sink itself, without the stream.
        assert isinstance(transport.protocol, asyncio.Protocol)
        assert transport.protocol.data_received == chunks.append
        transport.protocol.data_received(b"direct")
        assert chunks == [b"direct"]
        stream._stop_feeding()
        assert transport.protocol is stream._protocol

    io_loop.run_sync(main)


def test_no_read_ahead_beyond_a_block_within_an_iteration(io_loop: IOLoop) -> None:
    async def main() -> None:
        from squall._iostream._receiving import BLOCK_SIZE

        stream, transport = attached_stream()
        stream._burst_receiving = True  # as on uvloop
        deliver(stream, b"x" * BLOCK_SIZE, True)
        # Nobody is reading and the block is full: the transport pauses...
        assert not transport.reading
        await asyncio.sleep(0)
        assert transport.reading  # ... for this iteration only
        deliver(stream, b"y" * BLOCK_SIZE, True)
        assert not transport.reading
        # A read that waits for more data resumes receiving at once.
        reading = stream.read_bytes(3 * BLOCK_SIZE)
        assert transport.reading
        deliver(stream, b"z" * BLOCK_SIZE, True)
        assert await reading == b"x" * BLOCK_SIZE + b"y" * BLOCK_SIZE + b"z" * BLOCK_SIZE

    io_loop.run_sync(main)


def test_feeding_keeps_no_block(io_loop: IOLoop) -> None:
    async def main() -> None:
        stream, _ = attached_stream()
        chunks: list[bytes] = []
        stream._start_feeding(chunks.append)
        deliver(stream, b"a" * 100_000, True)
        deliver(stream, b"b", False)
        assert b"".join(chunks) == b"a" * 100_000 + b"b"
        assert all(type(chunk) is bytes for chunk in chunks)
        assert len(stream._block) == 0

    io_loop.run_sync(main)
