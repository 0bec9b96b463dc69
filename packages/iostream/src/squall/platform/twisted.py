"""Twisted and squall on one event loop, and a DNS resolver over Twisted.

Install it with ``pip install squall-iostream[twisted]``.

squall's IOLoop wraps an asyncio event loop, and Twisted has a reactor that
runs on an asyncio event loop (`twisted.internet.asyncioreactor`): put both
on the same loop and Twisted code and squall code run side by side.
`install` does that::

    from squall.ioloop import IOLoop
    from squall.platform.twisted import install

    reactor = install()          # before anything imports twisted's reactor
    # ... set up Twisted services and squall servers ...
    IOLoop.current().start()     # instead of reactor.run()

In coroutines, Twisted's `~twisted.internet.defer.Deferred` objects can be
awaited as ``await deferred.asFuture(loop)``, and ``yield``\\ ed directly in
`squall.gen.coroutine` functions once this module is imported.

`TwistedResolver` resolves names with Twisted's own DNS client
(`twisted.names`), on that same loop.

Tornado 4's bridges, the reactor on the IOLoop (`TornadoReactor`) and the
IOLoop on the reactor (`TwistedIOLoop`), are deprecated: they now return
the asyncio reactor and an IOLoop on its loop respectively, with a
`DeprecationWarning` pointing here.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any

try:
    from twisted.internet import asyncioreactor
    from twisted.internet.defer import Deferred
    from twisted.names import cache, client, dns, hosts, resolve
    from twisted.names import error as names_error
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "squall.platform.twisted needs Twisted: pip install squall-iostream[twisted]",
        name=exc.name,
    ) from exc

from squall._netutil._resolver import (
    LookupResolver,
    ResolveResult,
    resolve_error,
)
from squall.gen import convert_yielded
from squall.ioloop import IOLoop
from squall.platform.asyncio import BaseAsyncIOLoop

__all__ = ["TornadoReactor", "TwistedIOLoop", "TwistedResolver", "install"]

# These Twisted APIs have no annotations: declare how we use them, once.
_install_asyncio_reactor: Callable[..., None] = asyncioreactor.install
_HostsResolver: Callable[..., Any] = hosts.Resolver
_CacheResolver: Callable[..., Any] = cache.CacheResolver
_DNSClient: Callable[..., Any] = client.Resolver
_ResolverChain: Callable[..., Any] = resolve.ResolverChain

_SUPPORTED_WAY = (
    "use squall.platform.twisted.install(), which runs Twisted's asyncio reactor "
    "(twisted.internet.asyncioreactor) on the IOLoop's asyncio loop"
)


def _installed_reactor() -> Any | None:
    """Return Twisted's global reactor if one is installed, without installing one."""
    # Importing twisted.internet.reactor installs the default reactor.
    if "twisted.internet.reactor" not in sys.modules:
        return None
    from twisted.internet import reactor

    return reactor


def _reactor_on(loop: asyncio.AbstractEventLoop) -> asyncioreactor.AsyncioSelectorReactor:
    """Return Twisted's global reactor, installing an asyncio one on `loop` if there is none.

    :raises RuntimeError: if the installed reactor is not an asyncio reactor
        running on `loop`.
    """
    reactor = _installed_reactor()
    if reactor is None:
        _install_asyncio_reactor(eventloop=loop)
        reactor = _installed_reactor()
    if not isinstance(reactor, asyncioreactor.AsyncioSelectorReactor):
        raise RuntimeError(
            f"Twisted's installed reactor is {type(reactor).__qualname__}, which cannot share "
            "squall's event loop; install twisted.internet.asyncioreactor on the IOLoop's "
            "asyncio loop instead (squall.platform.twisted.install() does it), before "
            "anything imports twisted.internet.reactor"
        )
    if reactor._asyncioEventloop is not loop:
        raise RuntimeError(
            "Twisted's asyncio reactor runs on another asyncio loop than this IOLoop's; "
            "Twisted has one reactor per process, so Twisted code can only run on one loop"
        )
    return reactor


def install(io_loop: IOLoop | None = None) -> Any:
    """Run Twisted's global reactor on the current IOLoop's asyncio loop, and return it.

    Installs `twisted.internet.asyncioreactor.AsyncioSelectorReactor` on
    the loop of `IOLoop.current` and starts it (its startup triggers run),
    so that Twisted works while the IOLoop runs: start the IOLoop instead
    of calling ``reactor.run()``.  Call it early, before anything imports
    ``twisted.internet.reactor`` (which installs Twisted's default
    reactor).  Calling it again for the same loop returns the same reactor.

    ``reactor.stop()`` runs Twisted's shutdown (services stop, the thread
    pool stops) and then stops the IOLoop, as it would end ``reactor.run()``.
    A program that ends without stopping the reactor still exits: its
    thread pool is stopped at interpreter exit.

    The `io_loop` argument is deprecated; it names the IOLoop to use.

    :raises RuntimeError: if Twisted already has another reactor, or an
        asyncio reactor on another loop.
    """
    if io_loop is None:
        io_loop = IOLoop.current()
    else:
        warnings.warn(
            "the io_loop argument of squall.platform.twisted.install is deprecated; "
            "it installs the reactor on the current IOLoop",
            DeprecationWarning,
            stacklevel=2,
        )
    reactor = _reactor_on(io_loop.asyncio_loop)
    if not reactor._started:
        # What reactor.run() does before running the loop, which squall runs.
        # Signal handlers stay squall's (and the application's).
        reactor.startRunning(installSignalHandlers=False)
        _stop_thread_pool_at_exit(reactor)
    return reactor


def _stop_thread_pool_at_exit(reactor: Any) -> None:
    """Let the process exit even if nobody stopped the reactor.

    Twisted's thread pool (``deferToThread``...) has non-daemon threads that
    only Twisted's shutdown stops, and Python waits for them before running
    `atexit` handlers; `threading`'s own pre-join hook (the one
    `concurrent.futures` uses) runs in time.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is None:  # pragma: no cover - not CPython 3.9+
        return

    def stop_thread_pool() -> None:
        pool = getattr(reactor, "threadpool", None)
        if pool is not None and pool.started:
            pool.stop()

    register(stop_thread_pool)


class TornadoReactor:
    """Deprecated: Twisted's reactor on the IOLoop is now Twisted's asyncio reactor.

    ``TornadoReactor(io_loop=None)`` emits a `DeprecationWarning` and returns
    a new, non-global `twisted.internet.asyncioreactor.AsyncioSelectorReactor`
    on the (current) IOLoop's asyncio loop.  For the global reactor, use
    `install`.
    """

    def __new__(cls, io_loop: IOLoop | None = None) -> Any:
        warnings.warn(
            f"squall.platform.twisted.TornadoReactor is deprecated; {_SUPPORTED_WAY}",
            DeprecationWarning,
            stacklevel=2,
        )
        loop = (io_loop or IOLoop.current()).asyncio_loop
        return asyncioreactor.AsyncioSelectorReactor(loop)


class TwistedIOLoop(BaseAsyncIOLoop):
    """Deprecated: an IOLoop on the asyncio loop of Twisted's asyncio reactor.

    Tornado 4's recipe still works::

        TwistedIOLoop().install()   # deprecated twice
        reactor.run()

    With `reactor` None, Twisted's global reactor is used; if none is
    installed yet, an asyncio reactor is installed on a new asyncio loop.
    Other reactors cannot share a loop with squall (`TypeError`).  Emits a
    `DeprecationWarning` pointing to `install`.
    """

    def initialize(  # type: ignore[override]
        self, reactor: Any | None = None, **kwargs: Any
    ) -> None:
        warnings.warn(
            f"squall.platform.twisted.TwistedIOLoop is deprecated; {_SUPPORTED_WAY}",
            DeprecationWarning,
            stacklevel=3,
        )
        if reactor is None:
            reactor = _installed_reactor()
            if reactor is None:
                _install_asyncio_reactor(eventloop=asyncio.new_event_loop())
                reactor = _installed_reactor()
        if not isinstance(reactor, asyncioreactor.AsyncioSelectorReactor):
            raise TypeError(
                f"TwistedIOLoop needs Twisted's asyncio reactor, not {type(reactor).__qualname__}"
            )
        super().initialize(reactor._asyncioEventloop, **kwargs)


# -- Deferreds in coroutines ---------------------------------------------------


@convert_yielded.register(Deferred)
def _convert_deferred(deferred: Deferred[Any]) -> asyncio.Future[Any]:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = IOLoop.current().asyncio_loop
    return deferred.asFuture(loop)


# -- TwistedResolver -----------------------------------------------------------

# Twisted's DNS errors: the socket.gaierror code getaddrinfo would use, and
# what to say (DNSNameError's own text is the whole DNS message).  The most
# specific first: they are all DomainErrors, and those are ValueErrors.
_TWISTED_ERRORS: tuple[tuple[type[BaseException], int, str], ...] = (
    (names_error.DNSNameError, socket.EAI_NONAME, "no such name (NXDOMAIN)"),
    (names_error.DNSServerError, socket.EAI_AGAIN, "server failure (SERVFAIL)"),
    (names_error.DNSQueryRefusedError, socket.EAI_FAIL, "query refused (REFUSED)"),
    (names_error.DNSQueryTimeoutError, socket.EAI_AGAIN, "timed out"),
    (names_error.DomainError, socket.EAI_NONAME, "no address"),
)


class TwistedResolver(LookupResolver):
    """A non-blocking, non-threaded resolver over Twisted's DNS client (`twisted.names`).

    It reads ``/etc/hosts`` and ``/etc/resolv.conf`` itself (no
    ``nsswitch.conf``), so its results may differ from the system
    resolver's; prefer the default resolver unless threads must be avoided.
    It runs on Twisted's global reactor, which must be (or becomes, if none
    is installed yet: see `install`) Twisted's asyncio reactor on the
    IOLoop's loop.  For ``AF_UNSPEC`` it asks for A and AAAA records at
    once and returns the addresses of both (Tornado's returned at most
    one).  IP literals are resolved without a query.

    Failed resolutions raise `socket.gaierror` naming the host and Twisted's
    error.  The `io_loop` argument is deprecated.

    :raises RuntimeError: (from the constructor) if Twisted's reactor cannot
        share the IOLoop's loop.
    """

    reactor: Any
    resolver: Any  # a twisted.names IResolver

    def initialize(self, io_loop: IOLoop | None = None) -> None:
        if io_loop is not None:
            warnings.warn(
                "the io_loop argument of TwistedResolver is deprecated; "
                "the current IOLoop is used",
                DeprecationWarning,
                stacklevel=3,
            )
        self.reactor = _reactor_on(IOLoop.current().asyncio_loop)
        self._dns_client = _DNSClient(resolv="/etc/resolv.conf", reactor=self.reactor)
        self.resolver = _ResolverChain(
            [
                _HostsResolver(file=b"/etc/hosts"),
                _CacheResolver(reactor=self.reactor),
                self._dns_client,
            ]
        )

    def close(self) -> None:
        # The DNS client re-reads resolv.conf every minute through a
        # reactor timer; stop it so a closed resolver leaves nothing behind.
        parse_call = getattr(self._dns_client, "_parseCall", None)
        if parse_call is not None and parse_call.active():
            parse_call.cancel()

    async def _lookup(self, host: str, port: int, family: int) -> ResolveResult:
        if not host or "\0" in host:
            raise socket.gaierror(
                socket.EAI_NONAME, f"cannot resolve {host!r} (port {port}): invalid host name"
            )
        loop = asyncio.get_running_loop()
        lookups: list[tuple[int, Deferred[Any]]] = []
        try:
            if family in (socket.AF_UNSPEC, socket.AF_INET6):
                lookups.append((socket.AF_INET6, self.resolver.lookupIPV6Address(host)))
            if family in (socket.AF_UNSPEC, socket.AF_INET):
                lookups.append((socket.AF_INET, self.resolver.lookupAddress(host)))
        except (UnicodeError, ValueError) as exc:  # a name IDNA cannot encode
            raise resolve_error(host, port, exc) from exc
        if not lookups:
            raise socket.gaierror(
                socket.EAI_FAMILY, f"cannot resolve {host!r} (port {port}): bad family {family}"
            )
        outcomes = await asyncio.gather(
            *(deferred.asFuture(loop) for _, deferred in lookups), return_exceptions=True
        )
        addresses: ResolveResult = []
        first_error: BaseException | None = None
        for (af, _), outcome in zip(lookups, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                # With AF_UNSPEC, a name with only A records fails its AAAA
                # lookup (and vice versa): the other family's answer counts.
                if isinstance(outcome, asyncio.CancelledError):
                    raise outcome
                first_error = first_error or outcome
                continue
            addresses += _addresses(outcome[0], af, port)
        if addresses:
            return addresses
        if first_error is not None:
            raise _twisted_error(host, port, first_error) from first_error
        raise socket.gaierror(
            socket.EAI_NONAME, f"cannot resolve {host!r} (port {port}): no address records"
        )


def _addresses(answers: list[Any], af: int, port: int) -> ResolveResult:
    """The addresses of family `af` among the records `answers` (skipping CNAMEs)."""
    result: ResolveResult = []
    for record in answers:
        if af == socket.AF_INET and record.type == dns.A:
            result.append((socket.AF_INET, (record.payload.dottedQuad(), port)))
        elif af == socket.AF_INET6 and record.type == dns.AAAA:
            ip = socket.inet_ntop(socket.AF_INET6, record.payload.address)
            result.append((socket.AF_INET6, (ip, port, 0, 0)))
    return result


def _twisted_error(host: str, port: object, exc: BaseException) -> OSError:
    for kind, code, reason in _TWISTED_ERRORS:
        if isinstance(exc, kind):
            return socket.gaierror(
                code, f"cannot resolve {host!r} (port {port}): {reason} ({type(exc).__name__})"
            )
    return resolve_error(host, port, exc)
