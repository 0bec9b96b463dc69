"""Receiving: where a stream's incoming bytes land, and flow control.

Transports that support it (sockets, TLS) receive straight into the stream's
*block*, a ``bytearray`` whose ``[_pos:_end]`` is the unread data: the
protocol's ``get_buffer`` answers with the block's free tail and
``buffer_updated`` moves ``_end``.  Reads copy their result out of the block
once (``_take``): one copy per byte received, the least a ``bytes`` result
allows.  A pending ``read_into`` with nothing buffered gets the transport
to receive into its own buffer instead (no copy at all).

Blocks are never resized in place (a transport may still hold a view of
one): making room compacts a block (moving the unread bytes to its front)
or replaces it by a larger one.  Memory follows the data:

- a stream with nothing unread holds no block: an emptied block of the
  standard size goes back to the thread's spare blocks, for the next
  stream that receives;
- a stream that keeps a little unread data (a partial line from a slow
  peer) keeps it in a small block of its own, about twice the data plus
  `SMALL_SLACK` (`_trim`): a standard block is kept only for data (or a
  pending ``read_bytes``) of at least 1/`_TRIM_RATIO` of its size;
- a block grows geometrically, and only with received data.

Flow control: the transport stops reading when the unread data reaches
``max_buffer_size`` (and resumes once reads bring it below), or while a
feeding protocol has paused it.  On event loops that receive in bursts (uvloop receives
up to 32 times per readiness event), a stream whose block is full while
nobody is reading also stops until its reader runs or the next iteration,
rather than moving or growing the block to take in more at once.

Pipe transports call ``data_received``; the bytes are copied into the block
the same way.  While *feeding* (`_start_feeding`), each receive goes to the
sink as ``bytes`` instead, and nothing is kept.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from squall._iostream._core import BYTES, StreamCore
from squall._iostream._protocol import FeedingProtocol

__all__ = ["Receiving"]

#: The size of a standard block: what one receive may bring in (asyncio's
#: socket transports read at most 256 KiB at a time too).
BLOCK_SIZE = 256 * 1024
#: Room a receive is offered at least (or a new block is found): a smaller
#: receive would take one more system call (and loop iteration) per chunk.
MIN_RECEIVE = 64 * 1024
#: A small block keeps this much room beyond twice its data, so that a slow
#: peer's next bytes land in it without moving anything.
SMALL_SLACK = 4096
#: A standard block is kept for unread data only while its size is at most
#: this many times what the data (or the pending read) needs; otherwise the
#: data moves to a small block (slow peers must not pin 256 KiB each).
_TRIM_RATIO = 4
#: A ``read_into`` whose buffer has at least this much room left receives
#: straight into it.
DIRECT_MIN = 16 * 1024
#: Spare standard blocks kept per thread.
_SPARE_BLOCKS = 4


class _Spares(threading.local):
    """Each thread's spare standard blocks (its streams run on its event loop)."""

    def __init__(self) -> None:
        self.blocks: list[bytearray] = []


_spares = _Spares()

#: The block of a stream that holds none (never written: it has no room).
_NO_BLOCK = bytearray()
_NO_VIEW = memoryview(_NO_BLOCK)


def spare_blocks() -> list[bytearray]:
    """This thread's list of spare blocks."""
    return _spares.blocks


class Receiving(StreamCore):
    """The receive side of `BaseIOStream`: the block, the protocol's receive events, feeding."""

    def _init_receiving(self) -> None:
        self._block = _NO_BLOCK
        self._view = _NO_VIEW
        self._pos = 0
        self._end = 0
        self._free_blocks = spare_blocks()
        self._direct = False
        self._sink = None
        self._held = False
        # uvloop (libuv) receives up to 32 times per readiness event, as long
        # as each receive fills the space offered; asyncio's selector loop
        # receives once per iteration, and needs no hold (see _on_received).
        self._burst_receiving = not isinstance(self._loop, asyncio.SelectorEventLoop)

    # -- the protocol's receive events ----------------------------------------

    def _get_buffer(self, sizehint: int) -> memoryview:
        """Where the transport is to put the next bytes it receives (``get_buffer``)."""
        end = self._end
        if len(self._block) - end >= MIN_RECEIVE and self._read_target is None:
            self._direct = False
            return self._view[end:]
        return self._receive_space()

    def _on_received(self, nbytes: int) -> None:
        """`nbytes` bytes have landed where `_get_buffer` said (``buffer_updated``)."""
        if self._direct:
            self._received_into_target(nbytes)
            return
        sink = self._sink
        if sink is not None:
            end = self._end
            data = self._view[end : end + nbytes].tobytes()
            if self._pos == end:
                self._drop_block()
            sink(data)
            self._hand_to_sink(sink)
            return
        self._end += nbytes
        step = self._read_step
        if step is not None:
            step()
        unread = self._end - self._pos
        if unread:
            if unread >= self.max_buffer_size:
                self._buffer_full()
            elif len(self._block) > _TRIM_RATIO * unread:
                self._trim()
            elif (
                unread >= MIN_RECEIVE
                and len(self._block) - self._end < MIN_RECEIVE
                and self._burst_receiving
            ):
                future = self._read_future
                if future is None or future.done():
                    # Nobody is reading yet and the block is full: uvloop
                    # would receive again at once, and making room would
                    # move or grow all of this.  Let the reader run first.
                    self._hold()

    def _on_data(self, data: bytes) -> None:
        """`data` has been received (``data_received``: pipes, fd transports)."""
        sink = self._sink
        if sink is not None:
            sink(data)
            self._hand_to_sink(sink)
            return
        view = memoryview(data)
        while view:
            space = self._get_buffer(len(view))
            count = min(len(space), len(view))
            space[:count] = view[:count]
            self._on_received(count)
            view = view[count:]

    def _buffered(self) -> int:
        """How many received bytes are waiting to be read."""
        return self._end - self._pos

    # -- the block -------------------------------------------------------------

    def _receive_space(self) -> memoryview:
        """`_get_buffer` when the block's free tail is not the answer."""
        pos = self._pos
        end = self._end
        unread = end - pos
        target = self._read_target
        if target is not None and not unread:
            future = self._read_future
            filled = self._read_filled
            if future is not None and not future.done() and len(target) - filled >= DIRECT_MIN:
                self._direct = True
                return target[filled:]
        self._direct = False
        block = self._block
        free = len(block) - end
        if 0 < len(block) < BLOCK_SIZE and free >= SMALL_SLACK and free >= self._still_needed():
            return self._view[end:]  # a small block with room for what is awaited
        if unread + MIN_RECEIVE <= BLOCK_SIZE:
            if len(block) == BLOCK_SIZE:
                # Compact: move the unread bytes to the front.  At most
                # BLOCK_SIZE - MIN_RECEIVE bytes move to make room for at
                # least MIN_RECEIVE: a bounded cost per byte received.
                view = self._view
                if unread:
                    view[:unread] = view[pos:end]
                self._moved(pos)
                return view[unread:]
            spares = self._free_blocks
            new = spares.pop() if spares else bytearray(BLOCK_SIZE)
        else:
            new = bytearray(max(unread + MIN_RECEIVE, 2 * unread))
        self._replace_block(new)
        return self._view[self._end :]

    def _still_needed(self) -> int:
        """How many more bytes the pending read surely needs (0 if unknown)."""
        if self._read_kind == BYTES and not self._read_partial and self._read_step is not None:
            return (self._read_max or 0) - (self._end - self._pos)
        return 0

    def _replace_block(self, new: bytearray) -> None:
        """Move the unread bytes to the front of `new`, which becomes the block."""
        pos = self._pos
        unread = self._end - pos
        view = memoryview(new)
        if unread:
            view[:unread] = self._view[pos : self._end]
        self._release(self._block)
        self._block = new
        self._view = view
        self._moved(pos)

    def _moved(self, offset: int) -> None:
        """The unread bytes have moved from `_pos` to the front of the block."""
        self._end -= offset
        self._pos = 0
        self._search_pos = max(self._search_pos - offset, 0)

    def _drop_block(self) -> None:
        """Nothing is unread: give the block up."""
        self._release(self._block)
        self._block = _NO_BLOCK
        self._view = _NO_VIEW
        self._pos = self._end = 0
        self._search_pos = 0

    def _release(self, block: bytearray) -> None:
        if len(block) == BLOCK_SIZE and len(self._free_blocks) < _SPARE_BLOCKS:
            self._free_blocks.append(block)

    def _trim(self) -> None:
        """Move a little unread data out of a standard (or larger) block into a small one."""
        unread = self._end - self._pos
        if len(self._block) < BLOCK_SIZE or not unread:
            return
        needed = max(unread, unread + self._still_needed())
        if len(self._block) > _TRIM_RATIO * needed:
            self._replace_block(bytearray(2 * unread + SMALL_SLACK))

    def _received_into_target(self, nbytes: int) -> None:
        """`nbytes` bytes have landed in the pending ``read_into``'s buffer."""
        self._direct = False
        target = self._read_target
        future = self._read_future
        assert target is not None
        assert future is not None
        filled = self._read_filled = self._read_filled + nbytes
        if filled == len(target) or self._read_partial:
            self._read_future = self._read_step = None
            self._read_target = None
            future.set_result(filled)

    # -- consuming -------------------------------------------------------------

    def _take(self, end: int) -> bytes:
        """Consume the unread bytes up to offset `end` of the block and return them."""
        data = self._view[self._pos : end].tobytes()
        self._consumed(end)
        return data

    def _consumed(self, end: int) -> None:
        """The unread bytes up to offset `end` of the block have been read."""
        if end == self._end:
            self._drop_block()
        else:
            self._pos = end
        if self._reading_paused or self._held or self._eof:
            self._after_consume()

    def _after_consume(self) -> None:
        if self._reading_paused and self._buffered() < self.max_buffer_size:
            self._resume_receiving()
        if self._held and self._buffered() < MIN_RECEIVE:
            self._release_hold()
        if (
            self._eof
            and not self._buffered()
            and self._close_callback is not None
            and not self._closed
            and self._read_future is None
        ):
            # What was left after the peer's EOF has been read.
            self._loop.call_soon(self._close_if_idle)

    def _close_if_idle(self) -> None:
        if self._read_future is None and not self._buffered():
            self.close()

    # -- flow control ------------------------------------------------------------
    #
    # The transport reads while neither _reading_paused (the unread data
    # reached max_buffer_size, or a feeding protocol paused) nor _held
    # (nobody is reading and a block's worth is unread) is set.

    def _pause_receiving(self) -> None:
        """Stop the transport reading until `_resume_receiving`."""
        if not self._reading_paused and not self._closed:
            self._reading_paused = True
            if not self._held:
                self._pause_transport()

    def _resume_receiving(self) -> None:
        if self._reading_paused:
            self._reading_paused = False
            if not self._held:
                self._resume_transport()

    def _hold(self) -> None:
        """Receive no more until the unread data is read, a read waits, or the next iteration."""
        if not self._held and not self._closed:
            self._held = True
            if not self._reading_paused:
                self._pause_transport()
            # Only for this iteration: a stream nobody reads still buffers
            # up to max_buffer_size, a receive per iteration.
            self._loop.call_soon(self._release_hold)

    def _release_hold(self) -> None:
        if self._held:
            self._held = False
            if not self._reading_paused:
                self._resume_transport()

    def _pause_transport(self) -> None:
        transport = self._transport
        if transport is not None:
            transport.pause_reading()

    def _resume_transport(self) -> None:
        transport = self._transport
        if transport is not None and not self._closed:
            transport.resume_reading()

    # -- feeding: the protocol layers' direct path ------------------------------

    def _start_feeding(self, sink: Callable[[bytes], object]) -> None:
        """Hand every received chunk to `sink` as it arrives, instead of buffering it.

        For protocol implementations above the stream (HTTP/1, WebSocket)
        that parse the bytes themselves: no read Futures, no copy into the
        read buffer.  Data already buffered is passed first, synchronously.
        ``sink(b"")`` reports the peer's EOF (the stream stays open for
        writing where the transport allows it).  Closing is reported as
        usual (``set_close_callback``).  No read may be pending.
        """
        if self._read_future is not None and not self._read_future.done():
            raise RuntimeError("Cannot feed a stream while a read is pending")
        self._sink = sink
        if self._buffered():
            sink(self._take(self._end))
        self._release_hold()
        transport = self._transport
        if transport is not None and self._sink is sink and not self._closed:
            # From now on the transport calls the sink itself.
            transport.set_protocol(FeedingProtocol(self, sink))  # type: ignore[arg-type]
        if self._eof and self._sink is sink and not self._closed:
            sink(b"")

    def _hand_to_sink(self, sink: Callable[[bytes], object]) -> None:
        """The stream's protocol received for `sink`: let the transport call it directly.

        A stream whose transport was attached after `_start_feeding` (an
        accepted connection's transport is made after the stream) hands it
        over on the first chunk received.
        """
        transport = self._transport
        if transport is not None and self._sink is sink and not self._closed:
            transport.set_protocol(FeedingProtocol(self, sink))  # type: ignore[arg-type]

    def _stop_feeding(self) -> None:
        """Return to buffering received data for the read methods."""
        self._sink = None
        transport = self._transport
        if transport is not None and not self._closed:
            transport.set_protocol(self._protocol)

    def _pause_feeding(self) -> None:
        """Stop receiving (flow control) until `_resume_feeding`."""
        self._pause_receiving()

    def _resume_feeding(self) -> None:
        """Receive again after `_pause_feeding`."""
        self._resume_receiving()
