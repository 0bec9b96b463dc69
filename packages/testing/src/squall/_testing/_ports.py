"""Ports for test servers: `bind_unused_port`, and the deprecated `get_unused_port`."""

from __future__ import annotations

import socket
import warnings

__all__ = ["bind_unused_port", "get_unused_port"]

# How many kernel-chosen ports get_unused_port tries before giving up on
# finding one it has not handed out yet (the kernel rarely repeats itself).
_UNUSED_PORT_ATTEMPTS = 100

_handed_out: set[int] = set()


def bind_unused_port(
    reuse_port: bool = False, address: str = "127.0.0.1"
) -> tuple[socket.socket, int]:
    """Bind a listening server socket to a free port on the loopback interface.

    Returns ``(socket, port)``: a non-blocking socket listening on `address`
    (``127.0.0.1`` by default; the name ``localhost`` is never resolved)
    and the port the kernel chose.  Unlike `get_unused_port`, the port is
    held by the socket, so no other process can take it.  Pass the socket
    to a server's ``add_sockets``; close it if it is not used.

    :param reuse_port: set ``SO_REUSEPORT`` on the socket.
    :param address: the address to bind instead of ``127.0.0.1``.
    :raises ValueError: if `reuse_port` is set where ``SO_REUSEPORT`` does
        not exist.
    :raises OSError: if the address cannot be bound.
    """
    from squall.netutil import bind_sockets

    sockets = bind_sockets(0, address, reuse_port=reuse_port)
    # A host name may give one socket per address family: keep the first.
    for extra in sockets[1:]:
        extra.close()
    sock = sockets[0]
    port: int = sock.getsockname()[1]
    return sock, port


def get_unused_port() -> int:
    """Return a port number that was free a moment ago (deprecated).

    Deprecated: use `bind_unused_port`, which keeps the port bound; a port
    returned here may be taken by someone else before it is used.  Only
    distinctness is guaranteed: calls in one process never return the same
    port twice.

    :raises RuntimeError: if no port not yet handed out could be found.
    """
    warnings.warn(
        "get_unused_port() is deprecated; use bind_unused_port(), which keeps the port bound",
        DeprecationWarning,
        stacklevel=2,
    )
    for _ in range(_UNUSED_PORT_ATTEMPTS):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("get_unused_port() found no port it had not handed out already")
