"""The keep-alive connection pool of the simple client.

Idle HTTP/1.1 connections are kept per `ConnectionKey` (scheme, host, port
and everything else that makes two connections interchangeable: proxy, TLS
context, source address, address family) and handed out again, most
recently used first.  The pool is bounded: at most `max_idle` idle
connections in all (the least recently used one is closed to make room),
each closed after `idle_timeout` seconds unused.

A connection is never reused once broken.  While idle, the pool watches
it: any byte from the server (an HTTP/1.1 server has nothing to say
between responses) or its EOF closes and forgets it, as does the stream
closing.  The exchange decides whether a connection may go back at all
(complete response, keep-alive on both sides, nothing left over).

The server may still close an idle connection just as a request is sent
on it (RFC 9112 §9.3.1); the client retries such requests on a new
connection when that is safe (see `squall._httpclient._simple`).
"""

from __future__ import annotations

import collections
import socket
import ssl
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

__all__ = ["ConnectionKey", "ConnectionPool", "PooledConnection"]


class ConnectionKey(NamedTuple):
    """What makes two connections interchangeable."""

    #: ``"http"``, ``"https"``, or ``"proxy"`` for a plain connection to an
    #: HTTP proxy (which serves requests for any ``http`` URL).
    scheme: str
    host: str  #: lower-cased; the proxy's for ``"proxy"``
    port: int
    #: For a tunnel: (proxy host, proxy port, user name, password, mode).
    tunnel: tuple[str, int, str | None, str | None, str | None] | None
    #: The TLS context (compared by identity: contexts are shared).
    ssl_context: ssl.SSLContext | None
    source_ip: str | None
    family: socket.AddressFamily


class _Stream(Protocol):
    """The parts of `squall.iostream.IOStream` the pool uses."""

    def closed(self) -> bool: ...

    def close(self) -> None: ...

    def set_close_callback(self, callback: Callable[[], object] | None) -> None: ...

    def _start_feeding(self, sink: Callable[[bytes], object]) -> None: ...


class _Timers(Protocol):
    """The timer methods of `squall.ioloop.IOLoop` (tests substitute a fake clock)."""

    def time(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> object: ...

    def remove_timeout(self, timeout: object) -> None: ...


class PooledConnection:
    """A connection the pool can hold: its stream, its key, and how often it was used.

    Once watched (`feed` or the pool's `put`), the stream feeds this object's
    `receive` for the rest of its life: during an exchange every chunk goes
    to the exchange's sink (`feed`), and between exchanges (`unfeed`) any
    byte or EOF from the server closes the stream (an HTTP/1.1 server has
    nothing to say between responses).  One sink for the connection's life:
    the transport's protocol is switched once, not twice per exchange.

    Likewise its close callback: the stream's is `_on_stream_closed` for
    good, which tells the pool while the connection is idle there, or else
    `on_close` (the exchange's, while one reads a response): no
    ``set_close_callback`` per exchange.
    """

    __slots__ = (
        "_feeding",
        "_pool",
        "_target",
        "h1",
        "key",
        "on_close",
        "requests",
        "stream",
    )

    def __init__(self, stream: Any, key: ConnectionKey) -> None:
        self.stream = stream
        self.key = key
        #: How many exchanges completed on it.
        self.requests = 0
        self._target: Callable[[bytes], object] = self._unsolicited
        self._feeding = False
        #: Called when the stream closes (unless the connection is idle in a pool).
        self.on_close: Callable[[], object] | None = None
        self._pool: ConnectionPool | None = None  # the pool it is idle in
        #: The connection object (`HTTP1Connection`) its exchanges share
        #: (see `squall._httpclient._exchange`).
        self.h1: Any = None

    def __repr__(self) -> str:
        return f"<PooledConnection {self.key.scheme}://{self.key.host}:{self.key.port}>"

    def receive(self, data: bytes) -> None:
        """The stream's sink: pass `data` (``b""``: EOF) to the current target."""
        self._target(data)

    def _unsolicited(self, data: bytes) -> None:
        self.stream.close()

    def _on_stream_closed(self) -> None:
        """The stream's close callback, once watched."""
        pool = self._pool
        if pool is not None:
            pool._discard(self)
        elif self.on_close is not None:
            self.on_close()

    def feed(self, sink: Callable[[bytes], object]) -> None:
        """Pass what the stream receives to `sink` until `unfeed`."""
        self._target = sink
        if not self._feeding:
            self._feeding = True
            self.stream.set_close_callback(self._on_stream_closed)
            self.stream._start_feeding(self.receive)

    def unfeed(self) -> None:
        """Stop passing data to the exchange's sink: from now on any closes the stream."""
        self._target = self._unsolicited

    def watch(self) -> None:
        """Close the stream on anything the server sends (the connection is idle)."""
        if self._feeding:
            self._target = self._unsolicited
        else:
            self.feed(self._unsolicited)


class ConnectionPool:
    """Idle keep-alive connections, bounded in number and in idle time.

    `take` removes and returns an idle connection for a key (or None);
    `put` parks one; `close` closes every idle connection.
    """

    def __init__(
        self,
        timers: _Timers,
        max_idle: int,
        idle_timeout: float,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._timers = timers
        # `timers.time`, or a cheaper function reading the same clock.
        self._clock = clock if clock is not None else timers.time
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self._idle: dict[ConnectionKey, list[PooledConnection]] = {}
        # Every idle connection and when it was parked, least recently parked
        # first: also the order in which they expire.
        self._lru: collections.OrderedDict[PooledConnection, float] = collections.OrderedDict()
        # One timer for the whole pool, due when the oldest connection
        # expires (parking and taking connections cost no timer).
        self._timer: object | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._lru)

    def take(self, key: ConnectionKey) -> PooledConnection | None:
        """Remove and return the most recently parked idle connection for `key`.

        The caller owns it from now on.  None if there is none (still open).
        """
        stack = self._idle.get(key)
        while stack:
            connection = stack.pop()
            del self._lru[connection]  # `_forget`, without its call
            if not stack:
                del self._idle[key]
            connection._pool = None  # closing it no longer concerns the pool
            if not connection.stream.closed():
                return connection
            stack = self._idle.get(key)
        return None

    def put(self, connection: PooledConnection) -> None:
        """Park `connection`, idle and reusable; or close it if the pool is closed or off."""
        stream = connection.stream
        if self._closed or self.max_idle <= 0 or stream.closed():
            stream.close()
            return
        while len(self._lru) >= self.max_idle:
            oldest = next(iter(self._lru))
            self._discard(oldest)
        self._idle.setdefault(connection.key, []).append(connection)
        self._lru[connection] = self._clock()
        if self._timer is None:
            self._timer = self._timers.call_later(self.idle_timeout, self._expire)
        connection.on_close = None
        connection._pool = self  # its stream closing discards it
        # Anything from the server between responses (data or EOF) means
        # the connection is of no further use: it closes the stream
        # (`watch`, without its call when the connection is watched already).
        if connection._feeding:
            connection._target = connection._unsolicited
        else:
            connection.watch()

    def _expire(self) -> None:
        """Close the connections idle for `idle_timeout`; re-arm for the next one."""
        self._timer = None
        now = self._clock()
        while self._lru:
            connection, parked = next(iter(self._lru.items()))
            due = parked + self.idle_timeout
            if due > now:
                self._timer = self._timers.call_later(due - now, self._expire)
                return
            self._discard(connection)

    def _discard(self, connection: PooledConnection) -> None:
        """Close an idle `connection` and forget it (if it is still idle here)."""
        if connection not in self._lru:
            return
        self._forget(connection, from_stack=True)
        connection._pool = None
        connection.stream.close()

    def _forget(self, connection: PooledConnection, from_stack: bool) -> None:
        del self._lru[connection]
        if from_stack:
            stack = self._idle.get(connection.key)
            if stack is not None:
                stack.remove(connection)
                if not stack:
                    del self._idle[connection.key]

    def close(self) -> list[Any]:
        """Close every idle connection; connections put afterwards are closed at once.

        Returns the streams closed (whose closing may still be under way:
        a TLS connection says goodbye first).
        """
        self._closed = True
        connections = list(self._lru)
        for connection in connections:
            self._discard(connection)
        if self._timer is not None:
            self._timers.remove_timeout(self._timer)
            self._timer = None
        return [connection.stream for connection in connections]
