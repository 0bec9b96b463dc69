"""The `Resolver` interface and its getaddrinfo-based implementations.

Every implementation's `Resolver.resolve` returns a Future of a list of
``(family, address)`` pairs and fails with an `OSError` whose message names
the host:

    OSError
     +-- socket.gaierror   -- the name does not resolve (or is malformed)
     +-- others            -- whatever the system reports (e.g. ``EMFILE``)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import threading
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeAlias

from squall._netutil._sockets import is_valid_ip
from squall.concurrent import dummy_executor
from squall.ioloop import IOLoop
from squall.util import Configurable

__all__ = [
    "BlockingResolver",
    "DefaultExecutorResolver",
    "DefaultLoopResolver",
    "ExecutorResolver",
    "OverrideResolver",
    "Resolver",
    "ThreadedResolver",
]

#: The result of a resolution: ``(family, address)`` pairs, where `address`
#: is what ``socket.connect`` takes (``(host, port)`` for IPv4,
#: ``(host, port, flowinfo, scope_id)`` for IPv6).
ResolveResult: TypeAlias = list[tuple[socket.AddressFamily, Any]]


class Resolver(Configurable):
    """Configurable asynchronous DNS resolver interface.

    ``Resolver()`` returns an instance of the configured implementation,
    `DefaultLoopResolver` unless `configure` chose another, by class, by
    path or by the name of a plugin registered in the ``squall.resolver``
    entry-point group::

        Resolver.configure("threaded", num_threads=10)
        Resolver.configure("squall.netutil.ThreadedResolver")  # the same

    The implementations shipped with squall, and their names:

    - ``default``: `DefaultLoopResolver`, the asyncio loop's ``getaddrinfo``;
    - `DefaultExecutorResolver`: ``getaddrinfo`` on the IOLoop's executor;
    - ``blocking``: `BlockingResolver`, ``getaddrinfo`` on the loop's thread;
    - ``threaded``: `ThreadedResolver`, on a thread pool shared by all;
    - `ExecutorResolver`, on an executor of your choice;
    - `OverrideResolver`, which wraps another with a mapping of overrides;
    - ``cares``: `squall.platform.caresresolver.CaresResolver` (pycares);
    - ``twisted``: `squall.platform.twisted.TwistedResolver` (Twisted).
    """

    __module__ = "squall.netutil"

    configurable_entry_point_group: ClassVar[str | None] = "squall.resolver"

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return Resolver

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return DefaultLoopResolver

    def resolve(
        self,
        host: str,
        port: int,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        callback: Callable[[ResolveResult], object] | None = None,
    ) -> asyncio.Future[ResolveResult]:
        """Resolve `host` (a host name or an IP literal) for connecting to `port`.

        Returns a Future whose result is a list of ``(family, address)``
        pairs, where `address` is a tuple suitable for ``socket.connect``
        (``(host, port)`` for IPv4; IPv6 adds fields).  `family` restricts
        the result to ``AF_INET`` or ``AF_INET6``.  The deprecated `callback`
        is called with the result as well.

        :raises OSError: (through the Future) if the address cannot be
            resolved; the message names `host`.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the resources of this resolver (executors, channels...).

        The resolver must not be used afterwards.
        """


def _deprecated(what: str, instead: str) -> None:
    warnings.warn(f"{what} is deprecated; {instead}", DeprecationWarning, stacklevel=4)


def _current_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return IOLoop.current().asyncio_loop


def returning_future(
    awaitable: Awaitable[ResolveResult],
    callback: Callable[[ResolveResult], object] | None,
) -> asyncio.Future[ResolveResult]:
    """Return `awaitable` as a Future, calling the deprecated `callback` with its result."""
    future = asyncio.ensure_future(awaitable, loop=_current_loop())
    if callback is not None:
        _deprecated("the callback argument of Resolver.resolve", "await the returned Future")
        IOLoop.current().add_future(future, lambda f: callback(f.result()))
    return future


def resolve_error(host: str, port: object, exc: BaseException) -> OSError:
    """Return the `OSError` to raise for a failed resolution of `host`.

    Both ``socket.gaierror`` and a host name that cannot even be encoded
    (``UnicodeError`` for an over-long label, ``ValueError`` for a NUL byte)
    become a ``socket.gaierror`` naming the host; other `OSError`\\ s get
    the host added to their message.  Shared with the plugin resolvers.
    """
    if isinstance(exc, socket.gaierror) or not isinstance(exc, OSError):
        code = exc.errno if isinstance(exc, socket.gaierror) else socket.EAI_NONAME
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return socket.gaierror(code, f"cannot resolve {host!r} (port {port}): {reason}")
    return OSError(exc.errno, f"cannot resolve {host!r} (port {port}): {exc.strerror or exc}")


def numeric_result(host: str, port: int, family: int) -> ResolveResult | None:
    """Resolve `host` without any lookup if it is an IP literal, else return None.

    Shared with the plugin resolvers, which need not ask a DNS server (or a
    thread) about an address they already have.

    :raises socket.gaierror: naming `host` if it does not fit `family`.
    """
    if not isinstance(port, int) or not is_valid_ip(host):
        return None
    flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0, flags)
    except (OSError, UnicodeError, ValueError) as exc:
        raise resolve_error(host, port, exc) from exc
    return [(af, address) for af, _type, _proto, _name, address in infos]


def _resolve_addr(host: str, port: int, family: int) -> ResolveResult:
    """``getaddrinfo`` for a stream socket, blocking; errors name the host."""
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise resolve_error(host, port, exc) from exc
    return [(af, address) for af, _type, _proto, _name, address in infos]


class LookupResolver(Resolver):
    """Base of the resolvers that look a name up in a coroutine.

    `resolve` answers IP literals at once, without a lookup, and hands every
    other name to `_lookup`, which subclasses implement.
    """

    def resolve(
        self,
        host: str,
        port: int,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        callback: Callable[[ResolveResult], object] | None = None,
    ) -> asyncio.Future[ResolveResult]:
        return returning_future(self._resolve(host, port, family), callback)

    async def _resolve(self, host: str, port: int, family: int) -> ResolveResult:
        numeric = numeric_result(host, port, family)
        if numeric is not None:
            return numeric
        return await self._lookup(host, port, family)

    async def _lookup(self, host: str, port: int, family: int) -> ResolveResult:
        """Resolve *host* (never an IP literal); raise an OSError naming it."""
        raise NotImplementedError


class DefaultLoopResolver(LookupResolver):
    """The default `Resolver`: the asyncio event loop's ``getaddrinfo``.

    CPython's loop runs ``getaddrinfo`` on its default executor; uvloop
    runs it on libuv's thread pool.  IP literals are resolved at once,
    without a thread.
    """

    __module__ = "squall.netutil"

    async def _lookup(self, host: str, port: int, family: int) -> ResolveResult:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError) as exc:
            raise resolve_error(host, port, exc) from exc
        return [(af, address) for af, _type, _proto, _name, address in infos]


class DefaultExecutorResolver(LookupResolver):
    """A `Resolver` running ``socket.getaddrinfo`` on the IOLoop's default executor.

    See `squall.ioloop.IOLoop.run_in_executor` and `set_default_executor`.
    """

    __module__ = "squall.netutil"

    async def _lookup(self, host: str, port: int, family: int) -> ResolveResult:
        return await IOLoop.current().run_in_executor(None, _resolve_addr, host, port, family)


class ExecutorResolver(Resolver):
    """A `Resolver` running ``socket.getaddrinfo`` on a `concurrent.futures.Executor`.

    `executor` defaults to `squall.concurrent.dummy_executor`, which
    resolves synchronously.  `close` shuts the executor down unless
    ``close_executor=False`` (to share the executor with other users).

    Deprecated since Tornado 5: `DefaultExecutorResolver` (or
    `IOLoop.run_in_executor`) covers the common case; the class still works.
    The `io_loop` argument is deprecated and ignored.
    """

    __module__ = "squall.netutil"

    executor: concurrent.futures.Executor
    close_executor: bool

    def initialize(
        self,
        executor: concurrent.futures.Executor | None = None,
        close_executor: bool = True,
        io_loop: IOLoop | None = None,
    ) -> None:
        if io_loop is not None:
            _deprecated(
                f"the io_loop argument of {type(self).__name__}", "the current IOLoop is used"
            )
        if executor is None:
            executor, close_executor = dummy_executor, False
        self.executor = executor
        self.close_executor = close_executor

    def resolve(
        self,
        host: str,
        port: int,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        callback: Callable[[ResolveResult], object] | None = None,
    ) -> asyncio.Future[ResolveResult]:
        loop = _current_loop()
        try:
            numeric = numeric_result(host, port, family)
        except OSError as exc:
            future: asyncio.Future[ResolveResult] = loop.create_future()
            future.set_exception(exc)
            return returning_future(future, callback)
        if numeric is not None:
            future = loop.create_future()
            future.set_result(numeric)
        else:
            submitted = self.executor.submit(_resolve_addr, host, port, family)
            future = asyncio.wrap_future(submitted, loop=loop)
        return returning_future(future, callback)

    def close(self) -> None:
        if self.close_executor:
            self.executor.shutdown()


class BlockingResolver(ExecutorResolver):
    """A `Resolver` calling ``socket.getaddrinfo`` on the loop's own thread.

    The IOLoop is blocked during the resolution, although the Future's
    callbacks run only on a later iteration of the loop.
    """

    __module__ = "squall.netutil"

    def initialize(self, io_loop: IOLoop | None = None) -> None:  # type: ignore[override]
        super().initialize(io_loop=io_loop)


class ThreadedResolver(ExecutorResolver):
    """A `Resolver` running ``socket.getaddrinfo`` on a pool of threads.

    Every ThreadedResolver shares one pool, whose size is set by the first
    one created (after a ``fork``, by the first one created in the child)::

        Resolver.configure("threaded", num_threads=10)

    `close` leaves the shared pool running.
    """

    __module__ = "squall.netutil"

    _threadpool: ClassVar[concurrent.futures.ThreadPoolExecutor | None] = None
    _threadpool_pid: ClassVar[int | None] = None
    _threadpool_lock: ClassVar[threading.Lock] = threading.Lock()

    def initialize(  # type: ignore[override]
        self, num_threads: int = 10, io_loop: IOLoop | None = None
    ) -> None:
        pool = ThreadedResolver._create_threadpool(num_threads)
        super().initialize(executor=pool, close_executor=False, io_loop=io_loop)

    @classmethod
    def _create_threadpool(cls, num_threads: int) -> concurrent.futures.ThreadPoolExecutor:
        pid = os.getpid()
        with cls._threadpool_lock:
            # A pool inherited through fork() has no threads in this process.
            if ThreadedResolver._threadpool_pid != pid:
                ThreadedResolver._threadpool = None
            if ThreadedResolver._threadpool is None:
                ThreadedResolver._threadpool = concurrent.futures.ThreadPoolExecutor(
                    num_threads, thread_name_prefix="squall-resolver"
                )
                ThreadedResolver._threadpool_pid = pid
            return ThreadedResolver._threadpool


#: The keys of an `OverrideResolver` mapping.
_OverrideKey: TypeAlias = str | tuple[str, int] | tuple[str, int, int]


class OverrideResolver(Resolver):
    """Wraps `resolver` with a `mapping` of overrides.

    This changes name resolution locally (in tests, say) without touching
    system-wide settings.  The keys of `mapping` are host names, ``(host,
    port)`` pairs or ``(host, port, family)`` triples; the values are,
    respectively, a replacement host or a ``(host, port)`` pair.  The most
    specific key wins::

        OverrideResolver(Resolver(), {
            "example.com": "127.1.0.1",
            ("login.example.com", 443): ("localhost", 1443),
            ("login.example.com", 443, socket.AF_INET6): ("::1", 1443),
        })

    `close` closes `resolver` too.
    """

    __module__ = "squall.netutil"

    resolver: Resolver
    mapping: Mapping[Any, Any]

    def initialize(self, resolver: Resolver, mapping: Mapping[Any, Any]) -> None:
        self.resolver = resolver
        self.mapping = mapping

    def close(self) -> None:
        self.resolver.close()

    def resolve(
        self,
        host: str,
        port: int,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        callback: Callable[[ResolveResult], object] | None = None,
    ) -> asyncio.Future[ResolveResult]:
        if (host, port, family) in self.mapping:
            host, port = self.mapping[(host, port, family)]
        elif (host, port) in self.mapping:
            host, port = self.mapping[(host, port)]
        elif host in self.mapping:
            host = self.mapping[host]
        # The wrapped resolver may be a Tornado 6-style one (an ``async def
        # resolve(host, port, family)`` without callback): keep the callback.
        return returning_future(self.resolver.resolve(host, port, family), callback)
