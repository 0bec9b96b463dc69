"""Who the client is: the connection's context, and the proxy headers (``xheaders``).

Each server connection gets an `HTTPRequestContext`: the peer's address,
``remote_ip`` and ``protocol`` (what `~squall.httputil.HTTPServerRequest`
reads).  Behind a reverse proxy (``HTTPServer(xheaders=True)``) the peer is
the proxy; `ProxyAdapter` then takes the client's address and scheme from
the headers the proxy adds, for the duration of one request:

- ``X-Real-Ip``, else the last address of ``X-Forwarded-For`` that is not
  one of the ``trusted_downstream`` proxies (each proxy appends the address
  it received the request from, so the last untrusted one is the client as
  the nearest trusted proxy saw it); ignored unless it is a valid IP;
- ``X-Scheme``, else ``X-Forwarded-Proto`` (its last value): "http" or
  "https", anything else is ignored.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Iterable
from typing import Any

from squall.httputil import (
    HTTPConnection,
    HTTPHeaders,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.iostream import IOStream, SSLIOStream
from squall.netutil import is_valid_ip

__all__ = ["HTTPRequestContext", "ProxyAdapter"]


class HTTPRequestContext:
    """What a server knows about the client of one connection.

    ``address`` is the peer's address as ``accept`` returned it;
    ``remote_ip`` its IP (``"0.0.0.0"`` for a unix socket); ``protocol``
    "https" on a TLS connection (unless the server was given another
    ``protocol``), else "http".  Printed, it is the remote IP (or the
    address, when it is not IP).
    """

    def __init__(
        self,
        stream: IOStream,
        address: Any,
        protocol: str | None,
        trusted_downstream: Iterable[str] | None = None,
    ) -> None:
        self.address = address
        sock = getattr(stream, "socket", None)
        self.address_family: int | None = sock.family if sock is not None else None
        if (
            self.address_family in (socket.AF_INET, socket.AF_INET6)
            and isinstance(address, tuple)
            and address
        ):
            self.remote_ip: str = address[0]
        else:
            # Unix sockets and the like: no IP to report.
            self.remote_ip = "0.0.0.0"
        if protocol:
            self.protocol = protocol
        elif isinstance(stream, SSLIOStream):
            self.protocol = "https"
        else:
            self.protocol = "http"
        self._orig_remote_ip = self.remote_ip
        self._orig_protocol = self.protocol
        self.trusted_downstream = set(trusted_downstream or ())

    def __str__(self) -> str:
        if self.address_family in (socket.AF_INET, socket.AF_INET6):
            return self.remote_ip
        if isinstance(self.address, bytes):
            # Python 3 returns unix socket addresses as bytes (Linux
            # abstract namespace); show them readably.
            return self.address.decode("latin-1")
        return str(self.address)

    def _apply_xheaders(self, headers: HTTPHeaders) -> None:
        """Take the client's address and scheme from a proxy's headers."""
        ip = self._orig_remote_ip
        forwarded = headers.get("X-Forwarded-For")
        if forwarded is not None:
            for candidate in reversed(forwarded.split(",")):
                ip = candidate.strip()
                if ip not in self.trusted_downstream:
                    break
        ip = headers.get("X-Real-Ip", ip).strip()
        if is_valid_ip(ip):
            self.remote_ip = ip
        scheme = headers.get("X-Scheme")
        if scheme is None:
            scheme = headers.get("X-Forwarded-Proto")
        if scheme is not None:
            scheme = scheme.split(",")[-1].strip().lower()
            if scheme in ("http", "https"):
                self.protocol = scheme

    def _unapply_xheaders(self) -> None:
        """Forget the proxy's headers (the next request has its own)."""
        self.remote_ip = self._orig_remote_ip
        self.protocol = self._orig_protocol


class ProxyAdapter(HTTPMessageDelegate):
    """Applies the proxy headers to the connection's context for one request."""

    def __init__(self, delegate: HTTPMessageDelegate, request_conn: HTTPConnection) -> None:
        self.connection = request_conn
        self.delegate = delegate

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> Awaitable[None] | None:
        context = getattr(self.connection, "context", None)
        if isinstance(context, HTTPRequestContext):
            context._apply_xheaders(headers)
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        try:
            self.delegate.finish()
        finally:
            self._cleanup()

    def on_connection_close(self) -> None:
        try:
            self.delegate.on_connection_close()
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        context = getattr(self.connection, "context", None)
        if isinstance(context, HTTPRequestContext):
            context._unapply_xheaders()
