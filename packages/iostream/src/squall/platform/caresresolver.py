"""A non-blocking DNS `Resolver` over c-ares (the `pycares` package).

Install it with ``pip install squall-iostream[cares]`` and select it with
``Resolver.configure("cares")``.

How it is wired to the event loop: pycares 5 gives every channel its own
c-ares event thread by default, which watches the channel's sockets and
handles retries and timeouts; results come back through a callback that
runs in that thread (or at once, for names c-ares answers without a query)
and are handed to the loop with ``call_soon_threadsafe``.  The alternative,
``sock_state_cb`` with `IOLoop.add_handler` on c-ares's sockets, would also
oblige us to drive c-ares's timers with ``process_fd`` ourselves (the
Tornado 4 resolver did not, so a query to an unresponsive server never
finished); the event thread is what pycares recommends, behaves the same on
every event loop (asyncio, uvloop) and costs one thread per resolver.
"""

from __future__ import annotations

import asyncio
import socket
import warnings
from typing import Any

try:
    import pycares
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "CaresResolver needs pycares: pip install squall-iostream[cares]", name=exc.name
    ) from exc

from squall._netutil._resolver import (
    LookupResolver,
    ResolveResult,
    resolve_error,
)
from squall.ioloop import IOLoop

__all__ = ["CaresResolver"]

if int(pycares.__version__.split(".")[0]) < 5:  # pragma: no cover - depends on the install
    raise ImportError(
        f"squall.platform.caresresolver needs pycares 5 or newer, not {pycares.__version__} "
        "(install squall-iostream[cares])",
        name="pycares",
    )

# c-ares status codes, as the socket.gaierror codes getaddrinfo would use.
_GAI_CODES = {
    pycares.errno.ARES_ENOTFOUND: socket.EAI_NONAME,
    pycares.errno.ARES_ENONAME: socket.EAI_NONAME,
    pycares.errno.ARES_EBADNAME: socket.EAI_NONAME,
    pycares.errno.ARES_ENODATA: socket.EAI_NONAME,
    pycares.errno.ARES_ETIMEOUT: socket.EAI_AGAIN,
    pycares.errno.ARES_ECONNREFUSED: socket.EAI_AGAIN,
    pycares.errno.ARES_ESERVFAIL: socket.EAI_AGAIN,
    pycares.errno.ARES_EREFUSED: socket.EAI_AGAIN,
    pycares.errno.ARES_EBADFAMILY: socket.EAI_FAMILY,
    pycares.errno.ARES_ENOMEM: socket.EAI_MEMORY,
    pycares.errno.ARES_ESERVICE: socket.EAI_SERVICE,
}


class CaresResolver(LookupResolver):
    """Name resolver based on the c-ares library.

    A non-blocking resolver that does not use the loop's thread pool (c-ares
    runs one event thread per resolver).  Its results may differ from the
    system resolver's: c-ares reads ``/etc/hosts`` and ``/etc/resolv.conf``
    itself and ignores ``nsswitch.conf`` (mDNS, LDAP...).  It resolves
    ``AF_UNSPEC`` lookups with ``getaddrinfo`` (Tornado's advice to use
    ``AF_INET`` only concerned older c-ares queries).  IP literals are
    resolved without a query.

    Keyword arguments other than the deprecated `io_loop` are options of
    `pycares.Channel` (``timeout``, ``tries``, ``servers``...)::

        Resolver.configure("cares", timeout=2.0, tries=2)

    Failed resolutions raise `socket.gaierror` naming the host and the
    c-ares error (e.g. ``ARES_ENOTFOUND``).  `close` cancels pending
    resolutions (they fail likewise) and stops the event thread.
    """

    channel: pycares.Channel

    def initialize(self, io_loop: IOLoop | None = None, **channel_options: Any) -> None:
        if io_loop is not None:
            warnings.warn(
                "the io_loop argument of CaresResolver is deprecated; the current IOLoop is used",
                DeprecationWarning,
                stacklevel=3,
            )
        # No sock_state_cb: pycares runs c-ares's own event thread.
        self.channel = pycares.Channel(**channel_options)

    def close(self) -> None:
        self.channel.close()

    async def _lookup(self, host: str, port: int, family: int) -> ResolveResult:
        if "\0" in host:
            # c-ares would silently resolve the name up to the NUL.
            raise socket.gaierror(
                socket.EAI_NONAME, f"cannot resolve {host!r} (port {port}): NUL in host name"
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, int | None]] = loop.create_future()

        def on_result(result: Any, status: int | None) -> None:
            # Runs in c-ares's event thread, or right away in this one.
            try:
                loop.call_soon_threadsafe(_deliver, future, result, status)
            except RuntimeError:
                pass  # the loop is closed: nobody waits for this answer any more

        try:
            self.channel.getaddrinfo(
                host,
                port,
                family=socket.AddressFamily(family),
                type=socket.SOCK_STREAM,
                callback=on_result,
            )
        except (UnicodeError, ValueError, TypeError) as exc:
            # A host name pycares cannot even encode.
            raise resolve_error(host, port, exc) from exc
        result, status = await future
        if status is not None:
            raise _cares_error(host, port, status)
        addresses: ResolveResult = []
        for node in result.nodes:
            if family not in (socket.AF_UNSPEC, node.family):
                continue
            ip = node.addr[0]
            address = (ip.decode("ascii") if isinstance(ip, bytes) else ip, *node.addr[1:])
            addresses.append((socket.AddressFamily(node.family), address))
        if not addresses:
            raise socket.gaierror(
                socket.EAI_NONAME, f"cannot resolve {host!r} (port {port}): no address"
            )
        return addresses


def _deliver(
    future: asyncio.Future[tuple[Any, int | None]], result: Any, status: int | None
) -> None:
    if not future.done():  # the caller may have been cancelled
        future.set_result((result, status))


def _cares_error(host: str, port: object, status: int) -> socket.gaierror:
    name = pycares.errno.errorcode.get(status, str(status))
    reason = pycares.errno.strerror(status)
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return socket.gaierror(
        _GAI_CODES.get(status, socket.EAI_FAIL),
        f"cannot resolve {host!r} (port {port}): {reason} ({name})",
    )
