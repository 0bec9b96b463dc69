"""Listening sockets: `bind_sockets`, `bind_unix_socket`, `add_accept_handler`, `is_valid_ip`."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import stat
import warnings
from collections.abc import Callable
from typing import Any

from squall.ioloop import IOLoop
from squall.log import app_log

__all__ = [
    "_DEFAULT_BACKLOG",
    "add_accept_handler",
    "bind_sockets",
    "bind_unix_socket",
    "is_valid_ip",
]

#: Default ``listen()`` backlog, and the most connections `add_accept_handler`
#: accepts per readiness event.  128 was the Linux ``somaxconn`` default for
#: decades (the kernel caps larger values at ``somaxconn`` anyway).
_DEFAULT_BACKLOG = 128

# With port 0, the kernel chooses the first socket's port and the others must
# get the same one; another process may hold it on the other family already.
# Binding again from scratch a few times makes that race practically harmless.
_PORT_ZERO_ATTEMPTS = 5

# How long add_accept_handler stops accepting after running out of file
# descriptors or memory: the listening socket stays readable, so accepting
# again at once would spin the loop logging the same error.
_ACCEPT_PAUSE_SECONDS = 0.1
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def _deprecated_io_loop(function: str) -> None:
    warnings.warn(
        f"the io_loop argument of {function} is deprecated; the current IOLoop is used",
        DeprecationWarning,
        stacklevel=3,
    )


def bind_sockets(
    port: int,
    address: str | None = None,
    family: socket.AddressFamily = socket.AF_UNSPEC,
    backlog: int = _DEFAULT_BACKLOG,
    flags: int | None = None,
    reuse_port: bool = False,
) -> list[socket.socket]:
    """Create listening sockets bound to `port` on every address of `address`.

    `address` is an IP address or a host name (every address it resolves to
    is bound), or ``""`` / None for all interfaces.  `family` restricts the
    sockets to ``AF_INET`` or ``AF_INET6``; with ``AF_UNSPEC`` both are used
    where available.  IPv6 sockets are ``IPV6_V6ONLY``, so that an IPv4 and
    an IPv6 socket can share the port (dual stack).  `backlog` is passed to
    ``listen()``; `flags` is a bitmask of ``AI_*`` flags for
    ``getaddrinfo`` (default ``AI_PASSIVE``).  With `reuse_port`, every
    socket gets ``SO_REUSEPORT`` so that several processes can bind the same
    port.  With port 0 the kernel chooses a free port, and every socket of
    the list gets the same one.  IPv6 addresses of a host name that cannot
    serve here are skipped: link-local ones (``fe80::1%lo0`` for
    "localhost" on some systems) and, where IPv6 is disabled, those that
    fail with ``EADDRNOTAVAIL``; an explicit address is always bound.

    Returns the sockets, non-blocking and listening (several when the
    address maps to several IP addresses, typically one IPv4 and one IPv6).

    :raises ValueError: if `reuse_port` is set and the platform has no
        ``SO_REUSEPORT``.
    :raises OSError: if an address cannot be resolved or bound (e.g.
        ``EADDRINUSE``); the sockets created so far are closed.
    """
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("the platform does not support SO_REUSEPORT (reuse_port=True)")
    if address == "":
        address = None
    if not socket.has_ipv6 and family == socket.AF_UNSPEC:
        # Python built without IPv6 support: getaddrinfo may still return
        # IPv6 addresses that no socket could be created for.
        family = socket.AF_INET
    if flags is None:
        flags = socket.AI_PASSIVE
    infos = socket.getaddrinfo(address, port, family, socket.SOCK_STREAM, 0, flags)
    attempts = _PORT_ZERO_ATTEMPTS if port == 0 else 1
    for attempt in range(attempts):
        try:
            return _bind_all(infos, address, backlog, reuse_port)
        except _PortTakenError as exc:
            if attempt == attempts - 1:
                raise exc.error from None
    raise AssertionError("unreachable")  # pragma: no cover


class _PortTakenError(Exception):
    """The port the kernel chose for the first socket is taken on another address."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


def _bind_all(
    infos: list[tuple[Any, ...]], address: str | None, backlog: int, reuse_port: bool
) -> list[socket.socket]:
    sockets: list[socket.socket] = []
    seen: set[tuple[Any, ...]] = set()
    bound_port: int | None = None
    last_error: OSError | None = None
    explicit = address is not None and is_valid_ip(address)
    try:
        for af, socktype, proto, _canonname, sockaddr in infos:
            if (af, sockaddr) in seen:
                # getaddrinfo may list an address twice (e.g. from two
                # /etc/hosts lines); binding it again would fail.
                continue
            seen.add((af, sockaddr))
            if _is_implicit_link_local(af, sockaddr, explicit):
                continue
            try:
                sock = socket.socket(af, socktype, proto)
            except OSError as exc:
                # IPv6 addresses resolve on hosts whose kernel has no IPv6.
                if exc.errno == errno.EAFNOSUPPORT:
                    last_error = exc
                    continue
                raise
            sockets.append(sock)
            _configure_listener(sock, af, reuse_port)
            if bound_port is not None and sockaddr[1] == 0:
                sockaddr = (sockaddr[0], bound_port, *sockaddr[2:])
            try:
                sock.bind(sockaddr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE and bound_port is not None:
                    raise _PortTakenError(exc) from None
                if exc.errno == errno.EADDRNOTAVAIL and af == socket.AF_INET6 and not explicit:
                    # A name (typically "localhost" -> ::1) resolving to IPv6
                    # on a host whose interfaces have IPv6 disabled, as in
                    # many containers: the other addresses still serve.
                    sockets.remove(sock)
                    sock.close()
                    last_error = exc
                    continue
                raise
            bound_port = sock.getsockname()[1]
            sock.listen(backlog)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    if not sockets and last_error is not None:
        raise last_error
    return sockets


def _is_implicit_link_local(af: int, sockaddr: tuple[Any, ...], explicit: bool) -> bool:
    """Whether `sockaddr` is an IPv6 link-local address the caller did not ask for.

    Some systems resolve "localhost" to ``fe80::1%lo0`` as well as ``::1``.
    A link-local address only means something together with its interface
    (its scope id), so binding it for a host name is a surprise at best and
    fails at worst; an `explicit` ``fe80::...%iface`` address is still bound.
    """
    if af != socket.AF_INET6 or len(sockaddr) < 4 or sockaddr[3] == 0:
        return False
    return not explicit


def _configure_listener(sock: socket.socket, af: int, reuse_port: bool) -> None:
    if os.name != "nt":
        # Restart a server at once even while its old connections linger in
        # TIME_WAIT.  (On Windows this option means something else: it lets
        # another process steal the port.)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if af == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
        # Otherwise "::" would take the IPv4 port too (on Linux) and the
        # IPv4 socket of the list could not bind.
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.setblocking(False)


def bind_unix_socket(
    file: str, mode: int = 0o600, backlog: int = _DEFAULT_BACKLOG
) -> socket.socket:
    """Create a listening unix socket at the path `file`, with permissions `mode`.

    A stale socket file at `file` (one that nobody listens on any more, left
    by a server that died) is replaced.  A name starting with a NUL byte is a
    Linux abstract socket: no file is created and `mode` does not apply.

    Returns the socket (a single one, unlike `bind_sockets`), non-blocking
    and listening.

    :raises ValueError: if `file` exists and is not a socket.
    :raises OSError: ``EADDRINUSE`` if a server is listening on `file`; any
        other error from ``stat``, ``bind`` or ``chmod``.
    """
    abstract = file.startswith("\0")
    if not abstract:
        _remove_stale_socket(file)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.bind(file)
        if not abstract:
            # Nobody can connect before listen(), so the socket never accepts
            # a client under the umask's permissions.
            os.chmod(file, mode)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _remove_stale_socket(file: str) -> None:
    """Unlink `file` if it is a socket nobody listens on.

    :raises ValueError: if `file` is not a socket.
    :raises OSError: ``EADDRINUSE`` if a server listens on it.
    """
    try:
        st = os.stat(file)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ValueError(f"{file!r} exists and is not a socket; not replacing it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.setblocking(False)
    try:
        probe.connect(file)
    except ConnectionRefusedError:
        pass  # nobody listens: a stale file
    except BlockingIOError:
        # A full backlog: somebody listens.
        raise OSError(errno.EADDRINUSE, f"a server is listening on {file!r}") from None
    else:
        raise OSError(errno.EADDRINUSE, f"a server is listening on {file!r}")
    finally:
        probe.close()
    try:
        os.unlink(file)
    except FileNotFoundError:
        pass  # someone else removed it meanwhile


def add_accept_handler(
    sock: socket.socket,
    callback: Callable[[socket.socket, Any], object],
    io_loop: IOLoop | None = None,
) -> Callable[[], None]:
    """Accept connections on the listening socket `sock` with the current IOLoop.

    For each connection, ``callback(connection, address)`` runs with the new
    socket and the peer's address (unlike the ``(fd, events)`` signature of
    `IOLoop.add_handler` callbacks).  At most `_DEFAULT_BACKLOG` connections
    are accepted per readiness event, so that one busy listener cannot
    starve the rest of the loop; the others are accepted on the next
    iteration.  When the process runs out of file descriptors or memory,
    the error is logged and accepting pauses briefly instead of spinning.

    Returns a function that stops accepting (the socket stays open).  The
    `io_loop` argument is deprecated and ignored in favour of
    `IOLoop.current`.
    """
    if io_loop is not None:
        _deprecated_io_loop("add_accept_handler")
    acceptor = _Acceptor(IOLoop.current(), sock, callback)
    return acceptor.remove


class _Acceptor:
    """The readiness handler of one `add_accept_handler` listener."""

    def __init__(
        self,
        loop: IOLoop,
        sock: socket.socket,
        callback: Callable[[socket.socket, Any], object],
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._callback = callback
        self._removed = False
        self._paused: object | None = None  # the timeout that resumes accepting
        loop.add_handler(sock, self._on_readable, IOLoop.READ)

    def _on_readable(self, fd: Any, events: int) -> None:
        for _ in range(_DEFAULT_BACKLOG):
            # The callback may have called remove(): check before each accept.
            if self._removed:
                return
            try:
                connection, address = self._sock.accept()
            except BlockingIOError:
                return  # EAGAIN / EWOULDBLOCK: no more pending connections
            except ConnectionAbortedError:
                continue  # the client gave up before we accepted; others may wait
            except OSError as exc:
                if exc.errno not in _RESOURCE_ERRNOS:
                    raise
                app_log.error(
                    "cannot accept connections on %s (%s); pausing for %s s",
                    _sock_name(self._sock),
                    exc,
                    _ACCEPT_PAUSE_SECONDS,
                )
                self._loop.remove_handler(self._sock)
                self._paused = self._loop.call_later(_ACCEPT_PAUSE_SECONDS, self._resume)
                return
            self._callback(connection, address)

    def _resume(self) -> None:
        self._paused = None
        if not self._removed:
            self._loop.add_handler(self._sock, self._on_readable, IOLoop.READ)

    def remove(self) -> None:
        """Stop accepting connections; calling it again does nothing."""
        if self._removed:
            return
        self._removed = True
        if self._paused is not None:
            self._loop.remove_timeout(self._paused)
            self._paused = None
        else:
            self._loop.remove_handler(self._sock)


def _sock_name(sock: socket.socket) -> str:
    try:
        return repr(sock.getsockname())
    except OSError:
        return f"fd {sock.fileno()}"


def is_valid_ip(ip: str) -> bool:
    """Return whether `ip` is a well-formed IPv4 or IPv6 address.

    No DNS lookup is made.  IPv6 addresses may carry a zone
    (``fe80::1%eth0``).  Empty strings, strings with NUL bytes, surrounding
    whitespace, host names and the old ``inet_aton`` shorthands
    (``127.1``, octal or hex parts, zero-padded octets) are rejected.
    """
    if not isinstance(ip, str) or not ip or "\0" in ip:
        return False
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True
