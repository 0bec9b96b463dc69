"""Opening the connections of the simple client: direct, to a proxy, or tunnelled.

`Connector.connect` returns a connected stream for a `Route`: TCP (and TLS
for ``https``) to the server, TCP to the HTTP proxy for a plain ``http``
request through it, or a CONNECT tunnel through the proxy (RFC 9110
§9.3.6) with TLS to the server inside it for ``https``.  Failures are
raised as `HTTPClientError` (599) naming the address and the reason.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

from squall._httpclient._auth import digest_authorization, find_digest_challenge
from squall._httpclient._errors import TRANSPORT_ERROR, HTTPClientError, HTTPStreamClosedError
from squall._httpclient._request import HTTPRequest
from squall._httpclient._route import Route, basic_proxy_credentials
from squall.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from squall.httputil import (
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    RequestStartLine,
    ResponseStartLine,
)
from squall.iostream import IOStream, StreamClosedError
from squall.tcpclient import TCPClient
from squall.util import TimeoutError

__all__ = ["Connector"]

#: The largest body of a proxy's refusal of a CONNECT that is read (it is
#: not used; the connection is closed beyond it).
_MAX_CONNECT_BODY = 64 * 1024


class Connector:
    """Opens connections with `tcp_client` (whose resolver does the lookups)."""

    def __init__(
        self, tcp_client: TCPClient, max_buffer_size: int, max_header_size: int | None
    ) -> None:
        self.tcp_client = tcp_client
        self.max_buffer_size = max_buffer_size
        self.max_header_size = max_header_size

    async def connect(self, route: Route, request: HTTPRequest, timeout: float | None) -> IOStream:
        """Return a stream ready for `request`'s HTTP exchange.

        `timeout` (seconds) bounds resolving, connecting and the TLS
        handshake with the server (or the proxy); the CONNECT exchange is
        bounded by the caller's request timeout.

        :raises HTTPTimeoutError: never itself: `squall.util.TimeoutError`
            is raised when `timeout` expires, for the caller to name.
        :raises HTTPClientError: (599) if the connection cannot be made.
        """
        if route.tunnel:
            return await self._tunnel(route, request, timeout)
        ssl_context = (
            route.key.ssl_context if route.scheme == "https" and not route.via_proxy else None
        )
        return await self._open(
            route, route.connect_host, route.connect_port, ssl_context, timeout
        )

    async def _open(
        self,
        route: Route,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        timeout: float | None,
    ) -> IOStream:
        try:
            return await self.tcp_client.connect(
                host,
                port,
                af=route.key.family,
                ssl_options=ssl_context,
                max_buffer_size=self.max_buffer_size,
                source_ip=route.key.source_ip,
                timeout=timeout,
            )
        except TimeoutError:
            raise
        except StreamClosedError as exc:
            real = exc.real_error
            if isinstance(real, ssl.SSLError):
                raise HTTPClientError(
                    TRANSPORT_ERROR, f"TLS handshake with {host}:{port} failed: {real}"
                ) from real
            raise HTTPStreamClosedError(
                f"Connection to {host}:{port} closed while connecting: {real or exc}"
            ) from exc
        except socket.gaierror as exc:
            raise HTTPClientError(TRANSPORT_ERROR, f"Cannot resolve {host}: {exc}") from exc
        except OSError as exc:
            raise HTTPClientError(
                TRANSPORT_ERROR, f"Cannot connect to {host}:{port}: {exc}"
            ) from exc

    async def _tunnel(self, route: Route, request: HTTPRequest, timeout: float | None) -> IOStream:
        authority = (
            f"[{route.host}]:{route.port}" if ":" in route.host else f"{route.host}:{route.port}"
        )
        proxy_authorization = basic_proxy_credentials(request)
        for attempt in range(2):
            stream = await self._open(route, route.connect_host, route.connect_port, None, timeout)
            try:
                code, reason, headers = await self._send_connect(
                    stream, authority, proxy_authorization
                )
            except BaseException:
                stream.close()
                raise
            if 200 <= code < 300:
                break
            stream.close()
            if (
                code == 407
                and attempt == 0
                and request.proxy_auth_mode == "digest"
                and request.proxy_username is not None
            ):
                challenge = find_digest_challenge(headers.get_list("Proxy-Authenticate"))
                if challenge is not None:
                    proxy_authorization = digest_authorization(
                        challenge,
                        request.proxy_username,
                        request.proxy_password or "",
                        "CONNECT",
                        authority,
                    )
                    continue
            raise HTTPClientError(
                TRANSPORT_ERROR,
                f"The proxy {route.connect_host}:{route.connect_port} refused the tunnel "
                f"to {authority}: {code} {reason}",
            )
        ssl_context = route.key.ssl_context
        assert ssl_context is not None
        return await _start_tls(stream, ssl_context, route.host, authority)

    async def _send_connect(
        self, stream: IOStream, authority: str, proxy_authorization: str | None
    ) -> tuple[int, str, HTTPHeaders]:
        """Send ``CONNECT authority`` and read the proxy's answer's head.

        On a 2xx answer the stream is the tunnel (detached from HTTP).
        """
        params = HTTP1ConnectionParameters(
            max_header_size=self.max_header_size, max_body_size=_MAX_CONNECT_BODY
        )
        h1 = HTTP1Connection(stream, True, params)
        headers = HTTPHeaders({"Host": authority})
        if proxy_authorization is not None:
            headers["Proxy-Authorization"] = proxy_authorization
        reader = _ConnectReader(h1)
        try:
            h1.write_headers(RequestStartLine("CONNECT", authority, "HTTP/1.1"), headers)
            h1.finish()
            await h1.read_response(reader)
        except StreamClosedError as exc:
            raise HTTPStreamClosedError(
                f"The proxy closed the connection before answering CONNECT {authority}"
            ) from exc.real_error or exc
        except HTTPInputError as exc:
            raise HTTPClientError(
                TRANSPORT_ERROR, f"Malformed answer of the proxy to CONNECT {authority}: {exc}"
            ) from exc
        assert reader.start_line is not None
        return reader.start_line.code, reader.start_line.reason, reader.headers


class _ConnectReader(HTTPMessageDelegate):
    def __init__(self, connection: HTTP1Connection) -> None:
        self.connection = connection
        self.start_line: ResponseStartLine | None = None
        self.headers = HTTPHeaders()

    def headers_received(
        self, start_line: RequestStartLine | ResponseStartLine, headers: HTTPHeaders
    ) -> None:
        assert isinstance(start_line, ResponseStartLine)
        if start_line.code < 200:
            return
        self.start_line = start_line
        self.headers = headers
        if start_line.code < 300:
            self.connection.detach()  # the tunnel is open: no more HTTP on it


async def _start_tls(
    stream: IOStream, context: ssl.SSLContext, host: str, authority: str
) -> IOStream:
    """The TLS handshake with `host` inside a tunnel; the stream is closed on failure."""
    upgrade = asyncio.ensure_future(
        stream.start_tls(False, ssl_options=context, server_hostname=host)
    )
    try:
        return await upgrade
    except BaseException as exc:
        # Shutting the socket down makes an abandoned handshake fail (and
        # its stream close) wherever it is.
        try:
            stream.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        stream.close()
        if not upgrade.done():
            upgrade.cancel()
        if isinstance(exc, StreamClosedError) and isinstance(exc.real_error, ssl.SSLError):
            raise HTTPClientError(
                TRANSPORT_ERROR,
                f"TLS handshake with {authority} (through the proxy) failed: {exc.real_error}",
            ) from exc.real_error
        if isinstance(exc, (ssl.SSLError, StreamClosedError)):
            raise HTTPClientError(
                TRANSPORT_ERROR,
                f"TLS handshake with {authority} (through the proxy) failed: {exc}",
            ) from exc
        raise
