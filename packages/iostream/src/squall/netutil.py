"""Miscellaneous network utilities.

- Listening sockets: `bind_sockets` (TCP, IPv4 and IPv6), `bind_unix_socket`,
  and `add_accept_handler` to accept their connections on the `IOLoop`.
- TLS: `ssl_options_to_context` turns Tornado 4's ``ssl_options``
  dictionaries into `ssl.SSLContext` objects; `ssl_wrap_socket`.
- `is_valid_ip`.
- Name resolution: the configurable `Resolver` interface and its
  implementations (`DefaultLoopResolver` by default, `DefaultExecutorResolver`,
  `BlockingResolver`, `ThreadedResolver`, `ExecutorResolver`,
  `OverrideResolver`; plugins ``cares`` and ``twisted`` in
  `squall.platform`).  Failed resolutions raise `OSError` naming the host.

Example: a server socket on a port chosen by the kernel, IPv4 and IPv6::

    sockets = bind_sockets(0, "localhost")
    port = sockets[0].getsockname()[1]
"""

from __future__ import annotations

from squall._netutil._resolver import (
    BlockingResolver,
    DefaultExecutorResolver,
    DefaultLoopResolver,
    ExecutorResolver,
    OverrideResolver,
    Resolver,
    ThreadedResolver,
)
from squall._netutil._sockets import _DEFAULT_BACKLOG as _DEFAULT_BACKLOG
from squall._netutil._sockets import (
    add_accept_handler,
    bind_sockets,
    bind_unix_socket,
    is_valid_ip,
)
from squall._netutil._ssl import ssl_options_to_context, ssl_wrap_socket

__all__ = [
    "BlockingResolver",
    "DefaultExecutorResolver",
    "DefaultLoopResolver",
    "ExecutorResolver",
    "OverrideResolver",
    "Resolver",
    "ThreadedResolver",
    "add_accept_handler",
    "bind_sockets",
    "bind_unix_socket",
    "is_valid_ip",
    "ssl_options_to_context",
    "ssl_wrap_socket",
]

# Public functions report this module as theirs (for docs, pickling, reprs).
for _function in (
    add_accept_handler,
    bind_sockets,
    bind_unix_socket,
    is_valid_ip,
    ssl_options_to_context,
    ssl_wrap_socket,
):
    _function.__module__ = __name__
del _function
