"""A non-blocking TCP connection factory.

`TCPClient.connect` does everything between a host name and a usable
stream: asynchronous name resolution (through a `squall.netutil.Resolver`),
a dual-stack "happy eyeballs" race over the resolved addresses (RFC 6555,
RFC 8305), an optional local address to bind, an optional TLS handshake and
an optional overall timeout::

    from squall.tcpclient import TCPClient

    async def fetch_banner():
        stream = await TCPClient().connect("localhost", 8888, timeout=5)
        try:
            return await stream.read_until(b"\\n")
        finally:
            stream.close()

How the race goes: the resolved addresses are split into the *primary*
family (that of the first address, which the resolver put first because it
prefers it) and the *secondary* family (the rest).  Primary addresses are
tried one at a time, each after the previous one failed.  The secondary
family joins after `_INITIAL_CONNECT_TIMEOUT` seconds, or at once when a
primary attempt fails, and is tried one address at a time too.  The first
connection to succeed wins; attempts still in flight are abandoned and
their streams closed, including those that connect afterwards.  When every
address has failed, the last error is raised, its message naming each
address tried and why it failed.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import ipaddress
import os
import socket
import ssl
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar

from squall.ioloop import IOLoop
from squall.iostream import IOStream, StreamClosedError
from squall.netutil import Resolver
from squall.util import TimeoutError

__all__ = ["TCPClient"]

_T = TypeVar("_T")

#: Seconds the primary address family has to itself before the secondary one
#: joins the race.  RFC 6555 suggests 150-250 ms and RFC 8305 §5 250 ms for
#: its "Connection Attempt Delay"; Tornado's documented 0.3 s is kept so that
#: applications tuned against it see the same behaviour.
_INITIAL_CONNECT_TIMEOUT = 0.3

#: An address as `socket.connect` takes it: ``(host, port)`` for IPv4,
#: ``(host, port, flowinfo, scope_id)`` for IPv6.
_Address = tuple[Any, ...]
_AddrInfo = list[tuple[socket.AddressFamily, _Address]]

#: Starts one connection attempt: returns the stream and a Future resolved
#: with it once connected (or failed with why it could not connect).
_ConnectFunc = Callable[
    [socket.AddressFamily, _Address], tuple[IOStream, "asyncio.Future[IOStream]"]
]


class _Timers(Protocol):
    """The part of `IOLoop` the connector uses (tests substitute a fake clock)."""

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> object: ...

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> object: ...

    def remove_timeout(self, timeout: object) -> None: ...


class _Connector:
    """One happy-eyeballs race over a resolved address list.

    `start` returns a Future resolved with ``(family, address, stream)`` of
    the winning attempt, or failed with the last attempt's error (its
    message listing every address tried), or with `squall.util.TimeoutError`
    at the deadline.  Cancelling that Future abandons the race.  Whatever the
    outcome, no stream but the winner's stays open and no timer stays armed.

    Must be created with an event loop running.
    """

    def __init__(
        self,
        addrinfo: _AddrInfo,
        connect: _ConnectFunc,
        target: str = "",
        io_loop: _Timers | None = None,
    ) -> None:
        if not addrinfo:
            raise ValueError(f"no address to connect to {target}".rstrip())
        self.io_loop: _Timers = io_loop if io_loop is not None else IOLoop.current()
        self.connect = connect
        self.target = target
        self.primary, self.secondary = self.split(addrinfo)
        self.future: asyncio.Future[tuple[socket.AddressFamily, _Address, IOStream]] = (
            asyncio.get_running_loop().create_future()
        )
        self.future.add_done_callback(self._on_done)
        # Addresses not yet known to have failed; at zero, the race is lost.
        self.remaining = len(addrinfo)
        # Attempts in flight, to close when the race ends.
        self.streams: set[IOStream] = set()
        self.errors: list[tuple[_Address, BaseException]] = []
        self.secondary_started = False
        self.timeout: object | None = None  # the secondary family's head start
        self.connect_timeout: object | None = None  # the whole race's deadline

    @staticmethod
    def split(addrinfo: _AddrInfo) -> tuple[_AddrInfo, _AddrInfo]:
        """Split `addrinfo` into the first address's family and the others.

        Order within each list is kept: the resolver's preference.
        """
        primary_family = addrinfo[0][0]
        primary: _AddrInfo = []
        secondary: _AddrInfo = []
        for family, address in addrinfo:
            (primary if family == primary_family else secondary).append((family, address))
        return primary, secondary

    def start(
        self,
        timeout: float = _INITIAL_CONNECT_TIMEOUT,
        connect_timeout: float | None = None,
    ) -> asyncio.Future[tuple[socket.AddressFamily, _Address, IOStream]]:
        """Start the race and return its Future (see the class docstring).

        :param timeout: seconds before the secondary family joins.
        :param connect_timeout: a deadline on the ``io_loop.time()`` scale
            for the whole race, or None for none.
        """
        if connect_timeout is not None:
            self.connect_timeout = self.io_loop.call_at(connect_timeout, self.on_connect_timeout)
        self.try_connect(iter(self.primary), primary=True)
        if self.secondary and not self.secondary_started and not self.future.done():
            self.timeout = self.io_loop.call_later(timeout, self.on_timeout)
        return self.future

    def try_connect(
        self, addrs: Iterator[tuple[socket.AddressFamily, _Address]], primary: bool
    ) -> None:
        """Start an attempt on the next address of `addrs` that gets that far."""
        failed = False
        for family, address in addrs:
            if self.future.done():
                return
            try:
                stream, connected = self.connect(family, address)
            except Exception as exc:  # e.g. binding source_ip/source_port failed
                if self.record_failure(address, exc):
                    return
                failed = True
                continue
            self.streams.add(stream)
            connected.add_done_callback(
                functools.partial(self.on_connect_done, addrs, primary, family, address, stream)
            )
            break
        if failed and primary:
            self.start_secondary()

    def on_connect_done(
        self,
        addrs: Iterator[tuple[socket.AddressFamily, _Address]],
        primary: bool,
        family: socket.AddressFamily,
        address: _Address,
        stream: IOStream,
        connected: asyncio.Future[IOStream],
    ) -> None:
        self.streams.discard(stream)
        error = None if connected.cancelled() else connected.exception()
        if self.future.done():
            # Lost the race, or it was abandoned: a late success is not wanted.
            if error is None:
                stream.close()
            return
        if connected.cancelled():
            error = StreamClosedError()
        if error is not None:
            if self.record_failure(address, error):
                return
            self.try_connect(addrs, primary)
            if primary:
                self.start_secondary()
            return
        self.future.set_result((family, address, connected.result()))
        self._on_done(self.future)

    def record_failure(self, address: _Address, error: BaseException) -> bool:
        """Note that `address` failed; return True if that lost the race."""
        self.errors.append((address, error))
        self.remaining -= 1
        if self.remaining:
            return False
        self.future.set_exception(_failure(self.target, self.errors))
        self._on_done(self.future)
        return True

    def start_secondary(self) -> None:
        # Called when the head start is over, or at once when a primary
        # attempt fails: no reason to favour a family that has just shown it
        # cannot be used (RFC 8305 §5 starts the next attempt early too).
        if self.secondary_started or self.future.done():
            return
        self.secondary_started = True
        self.clear_timeout()
        self.try_connect(iter(self.secondary), primary=False)

    def on_timeout(self) -> None:
        self.timeout = None
        if not self.future.done():
            self.start_secondary()

    def on_connect_timeout(self) -> None:
        self.connect_timeout = None
        if not self.future.done():
            tried = _describe_errors(self.errors)
            message = f"timed out connecting to {self.target}".rstrip()
            if tried:
                message += f" (failed: {tried})"
            self.future.set_exception(TimeoutError(message))
            self._on_done(self.future)

    def clear_timeout(self) -> None:
        if self.timeout is not None:
            self.io_loop.remove_timeout(self.timeout)
            self.timeout = None

    def clear_timeouts(self) -> None:
        self.clear_timeout()
        if self.connect_timeout is not None:
            self.io_loop.remove_timeout(self.connect_timeout)
            self.connect_timeout = None

    def close_streams(self) -> None:
        streams, self.streams = self.streams, set()
        for stream in streams:
            stream.close()

    def _on_done(self, future: asyncio.Future[Any]) -> None:
        # Won, lost, timed out or cancelled: stop the clock, drop the rest.
        # Called at once when the race ends here, and again (harmlessly) as
        # the Future's done callback, which is what catches a cancellation.
        self.clear_timeouts()
        self.close_streams()


def _format_address(address: _Address) -> str:
    host, port = address[0], address[1]
    if ":" in str(host):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _describe(error: BaseException) -> str:
    if isinstance(error, StreamClosedError) and error.real_error is not None:
        error = error.real_error
    if isinstance(error, OSError) and not isinstance(error, ssl.SSLError) and error.errno:
        # The plain reason: the event loop's own wording repeats the address
        # ("Connect call failed ('127.0.0.1', 80)").
        return f"[Errno {error.errno}] {os.strerror(error.errno)}"
    return str(error) or type(error).__name__


def _describe_errors(errors: list[tuple[_Address, BaseException]]) -> str:
    return "; ".join(f"{_format_address(address)}: {_describe(exc)}" for address, exc in errors)


def _failure(target: str, errors: list[tuple[_Address, BaseException]]) -> BaseException:
    """The last error, restated with a message naming every address tried.

    The exception keeps its class (and errno, and `real_error` for a
    `StreamClosedError`) so that callers can tell refusals from resets; the
    original is chained as its ``__cause__``.
    """
    last = errors[-1][1]
    message = f"could not connect to {target or 'any address'}: {_describe_errors(errors)}"
    restated: BaseException
    if isinstance(last, StreamClosedError):
        restated = StreamClosedError(real_error=last.real_error)
        restated.args = (message,)
    elif isinstance(last, OSError) and last.errno is not None:
        restated = type(last)(last.errno, message)
    else:
        last.add_note(message)
        return last
    restated.__cause__ = last
    return restated


async def _bounded(awaitable: Awaitable[_T], deadline: float | None, what: str) -> _T:
    """Await `awaitable`, giving up at `deadline` (loop time) with TimeoutError.

    The awaited work is cancelled on timeout and when the caller is cancelled.
    """
    future = asyncio.ensure_future(awaitable)
    if deadline is None:
        return await future
    delay = max(0.0, deadline - asyncio.get_running_loop().time())
    try:
        done, _ = await asyncio.wait((future,), timeout=delay)
    except asyncio.CancelledError:
        future.cancel()
        raise
    if not done:
        future.cancel()
        raise TimeoutError(f"timed out {what}")
    return future.result()


async def _start_tls(
    stream: IOStream,
    ssl_options: dict[str, Any] | ssl.SSLContext,
    host: str,
    deadline: float | None,
    target: str,
) -> IOStream:
    """Run the client side of the TLS handshake on `stream`, by `deadline`.

    On timeout or cancellation the upgrade's Future is cancelled, which
    aborts the handshake and closes the connection (see `IOStream.start_tls`);
    a failed handshake closes it too.
    """
    upgrade = stream.start_tls(False, ssl_options=ssl_options, server_hostname=host)
    return await _bounded(upgrade, deadline, f"in the TLS handshake with {target}")


def _source_family(source_ip: str | None) -> socket.AddressFamily:
    """The address family `source_ip` belongs to, or AF_UNSPEC for a host name."""
    if not source_ip:
        return socket.AF_UNSPEC
    try:
        version = ipaddress.ip_address(source_ip.split("%", 1)[0]).version
    except ValueError:
        return socket.AF_UNSPEC
    return socket.AF_INET6 if version == 6 else socket.AF_INET


class TCPClient:
    """A non-blocking TCP connection factory.

    `resolver` is the `squall.netutil.Resolver` to look host names up with;
    by default a new ``Resolver()`` of the configured class, which `close`
    closes (a resolver passed in is left to its owner).

    The ``io_loop`` argument (Tornado 4) is deprecated and ignored: the
    current IOLoop is used.
    """

    def __init__(self, resolver: Resolver | None = None, io_loop: IOLoop | None = None) -> None:
        if io_loop is not None:
            warnings.warn(
                "The io_loop argument of TCPClient is deprecated; the current IOLoop is used",
                DeprecationWarning,
                stacklevel=2,
            )
        if resolver is not None:
            self.resolver = resolver
            self._own_resolver = False
        else:
            self.resolver = Resolver()
            self._own_resolver = True

    def close(self) -> None:
        """Release the resources of the default resolver, if this client made it."""
        if self._own_resolver:
            self.resolver.close()

    def connect(
        self,
        host: str,
        port: int,
        af: socket.AddressFamily = socket.AF_UNSPEC,
        ssl_options: dict[str, Any] | ssl.SSLContext | None = None,
        max_buffer_size: int | None = None,
        source_ip: str | None = None,
        source_port: int | None = None,
        timeout: float | datetime.timedelta | None = None,
    ) -> asyncio.Future[IOStream]:
        """Connect to `host`:`port`; return a Future resolved with the stream.

        The Future's result is an `IOStream`, or an `SSLIOStream` whose TLS
        handshake (with `host` as the server name to verify and send by SNI)
        has completed when `ssl_options` (an `ssl.SSLContext` or a dict of
        `ssl.wrap_socket` arguments) is given.  Name resolution is
        asynchronous; when `host` has addresses of both families, they race
        as the module docstring describes.  `af` restricts the addresses
        used to one family.

        `source_ip` and `source_port` bind the local end of the connection.
        A source IP address limits the race to its own family; a source port
        alone is bound on the wildcard address.  `max_buffer_size` is passed
        to the stream.

        `timeout` (seconds, or a `datetime.timedelta`) bounds everything:
        resolution, connecting and the TLS handshake.  Cancelling the Future
        abandons the attempts.

        :raises squall.util.TimeoutError: if `timeout` expired.
        :raises OSError: if `host` could not be resolved, or has no address
            (of family `af`).
        :raises StreamClosedError: (or another `OSError`, such as
            `ConnectionRefusedError`) if no address could be connected to;
            the message names every address tried and its error.  Also if
            the TLS handshake failed: ``real_error`` holds the
            `ssl.SSLError` (a failed certificate verification, for instance).
        """
        loop = IOLoop.current()
        return loop.asyncio_loop.create_task(
            self._connect(
                loop,
                host,
                port,
                af,
                ssl_options,
                max_buffer_size,
                source_ip,
                source_port,
                timeout,
            )
        )

    async def _connect(
        self,
        loop: IOLoop,
        host: str,
        port: int,
        af: socket.AddressFamily,
        ssl_options: dict[str, Any] | ssl.SSLContext | None,
        max_buffer_size: int | None,
        source_ip: str | None,
        source_port: int | None,
        timeout: float | datetime.timedelta | None,
    ) -> IOStream:
        deadline: float | None = None
        if timeout is not None:
            seconds = (
                timeout.total_seconds()
                if isinstance(timeout, datetime.timedelta)
                else float(timeout)
            )
            deadline = loop.time() + seconds
        if af == socket.AF_UNSPEC:
            # A socket bound to an IPv4 address cannot reach an IPv6 one.
            af = _source_family(source_ip)
        target = f"{host} port {port}"
        addrinfo = await _bounded(
            self.resolver.resolve(host, port, af), deadline, f"resolving {host}"
        )
        if not addrinfo:
            family = "" if af == socket.AF_UNSPEC else f" of family {af.name}"
            raise socket.gaierror(socket.EAI_NONAME, f"{host!r} has no address{family}")
        connector = _Connector(
            addrinfo,
            functools.partial(
                self._create_stream,
                max_buffer_size,
                source_ip=source_ip,
                source_port=source_port,
            ),
            target,
            loop,
        )
        _, _, stream = await connector.start(connect_timeout=deadline)
        if ssl_options is None:
            return stream
        return await _start_tls(stream, ssl_options, host, deadline, target)

    def _create_stream(
        self,
        max_buffer_size: int | None,
        af: socket.AddressFamily,
        addr: _Address,
        source_ip: str | None = None,
        source_port: int | None = None,
    ) -> tuple[IOStream, asyncio.Future[IOStream]]:
        """Start connecting a new stream of family `af` to `addr`.

        Returns the stream and the Future of its connection.

        :raises OSError: if the socket cannot be created or bound.
        """
        sock = socket.socket(af, socket.SOCK_STREAM)
        try:
            if source_ip or source_port:
                wildcard = "::" if af == socket.AF_INET6 else "0.0.0.0"
                sock.bind((source_ip or wildcard, source_port or 0))
            if max_buffer_size is None:
                stream = IOStream(sock)
            else:
                stream = IOStream(sock, max_buffer_size=max_buffer_size)
        except BaseException:
            sock.close()
            raise
        try:
            connected = stream.connect(addr)
        except BaseException:
            stream.close()
            raise
        return stream, asyncio.ensure_future(connected)
