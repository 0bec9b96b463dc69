"""Where a request goes and what it looks like on the wire.

Sans-I/O.  `route` checks a request's URL and proxy settings and says which
connection serves it (`ConnectionKey`), what to connect to, and the request
target to send; `request_headers` builds the header block.  Invalid
requests raise `ValueError` here, before any connection is made.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import socket
import urllib.parse
from typing import NamedTuple

from squall._http1._conn_client import RequestHead
from squall._httpclient._auth import AUTH_MODES, basic_authorization
from squall._httpclient._decode import ACCEPT_ENCODING
from squall._httpclient._pool import ConnectionKey
from squall._httpclient._request import HTTPRequest
from squall._httpclient._tls import request_ssl_context
from squall.httputil import HTTPHeaders, HTTPOutputError

__all__ = ["Route", "request_head", "request_headers", "route", "validate"]

#: The methods accepted without ``allow_nonstandard_methods``.
SUPPORTED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})

#: Methods that must have a body (others must not), unless
#: ``allow_nonstandard_methods``.
_BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})

#: Methods a client may retry on a new connection when an idle keep-alive
#: connection turns out to be closed (RFC 9110 §9.2.2 idempotent methods).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})

_DEFAULT_PORTS = {"http": 80, "https": 443}

# RFC 9110 §5.5: no CR, LF or NUL in a field value (checked again when the
# head is written; checked here so that nothing is sent).
_UNSAFE_VALUE = re.compile(r"[\r\n\x00]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Characters left as they are when percent-encoding a request target: the
# reserved and unreserved sets of RFC 3986, and "%" (already encoded).
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"


class Route(NamedTuple):
    """How a request reaches its server."""

    key: ConnectionKey  #: the pool key of the connection that serves it
    scheme: str  #: ``"http"`` or ``"https"``
    host: str  #: the server's host name (IDNA-encoded), lower-cased
    port: int
    #: Where to connect (the proxy's address for a proxied request).
    connect_host: str
    connect_port: int
    target: str  #: the request target (absolute-form through a plain proxy)
    host_header: str  #: the ``Host`` field (RFC 9110 §7.2)
    #: Plain ``http`` through a proxy: requests carry ``Proxy-Authorization``.
    via_proxy: bool
    #: ``https`` through a proxy: a CONNECT tunnel (RFC 9110 §9.3.6).
    tunnel: bool


def validate(request: HTTPRequest) -> None:
    """Check what does not depend on the URL: method, body, auth modes, headers.

    :raises ValueError: naming what is wrong.
    """
    # request._body and ._headers: the properties' values, without their calls.
    method = request.method
    if not isinstance(method, str) or (
        method not in SUPPORTED_METHODS and _TOKEN.fullmatch(method) is None
    ):
        raise ValueError(f"invalid HTTP method {method!r}")
    if not request.allow_nonstandard_methods:
        if method not in SUPPORTED_METHODS:
            raise ValueError(
                f"unknown method {method} (pass allow_nonstandard_methods=True to use it)"
            )
        body_expected = method in _BODY_METHODS
        body_present = request._body is not None or request.body_producer is not None
        if body_expected != body_present:
            raise ValueError(
                f"Body must {'not ' if body_present else ''}be None for method {method} "
                "(unless allow_nonstandard_methods is true)"
            )
    if request._body is not None and request.body_producer is not None:
        raise ValueError("body and body_producer may not both be given")
    if request.auth_mode is not None or request.proxy_auth_mode is not None:
        for what, mode in (
            ("auth_mode", request.auth_mode),
            ("proxy_auth_mode", request.proxy_auth_mode),
        ):
            if mode is not None and mode not in AUTH_MODES:
                raise ValueError(f"unsupported {what} {mode!r} (supported: basic, digest)")
    headers = request._headers
    if headers is not None:
        for name, value in headers.get_all():
            if _TOKEN.fullmatch(name) is None or _UNSAFE_VALUE.search(value):
                raise ValueError(
                    f"invalid header field {name[:64]!r}: CR, LF or NUL, or a bad name"
                )
    if request.user_agent is not None and _UNSAFE_VALUE.search(request.user_agent):
        raise ValueError("invalid user_agent: CR, LF or NUL")
    if request.proxy_host is not None and request.proxy_port is None:
        raise ValueError("proxy_port must be given with proxy_host")


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError(f"invalid host name {host!r}: {exc}") from None


class _Target(NamedTuple):
    scheme: str
    host: str
    port: int
    target: str
    host_header: str


@functools.lru_cache(maxsize=512)
def _parse_url(url: str) -> _Target:
    """The parts of `url` a request needs (cached: clients fetch the same URLs again)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r} in {url!r}")
    if not parts.hostname:
        raise ValueError(f"no host in URL {url!r}")
    host = _ascii_host(parts.hostname)
    default_port = _DEFAULT_PORTS[scheme]
    if port is None:
        port = default_port
    host_header = f"[{host}]" if ":" in host else host
    if port != default_port:
        host_header += f":{port}"
    # RFC 9112 §3.2: the target never has a fragment; non-ASCII is encoded.
    target = urllib.parse.quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        target += "?" + urllib.parse.quote(parts.query, safe=_TARGET_SAFE)
    return _Target(scheme, host, port, target, host_header)


def route(request: HTTPRequest) -> Route:
    """Return the `Route` of `request` (whose defaults are resolved).

    :raises ValueError: if the URL is not an absolute ``http`` or ``https``
        URL with a host, or its port is invalid.
    """
    scheme, host, port, target, host_header = _parse_url(request.url)
    ssl_context = request_ssl_context(request) if scheme == "https" else None
    family = socket.AF_UNSPEC if request.allow_ipv6 is not False else socket.AF_INET
    source_ip = request.network_interface or None
    proxy_host = request.proxy_host
    if proxy_host:
        assert request.proxy_port is not None  # checked by validate()
        proxy_port = int(request.proxy_port)
        proxy = _ascii_host(proxy_host)
        if scheme == "http":
            # RFC 9112 §3.2.2: absolute-form through a proxy; any http URL
            # can share the connection to the proxy.
            key = ConnectionKey("proxy", proxy, proxy_port, None, None, source_ip, family)
            absolute = f"http://{host_header}{target}"
            return Route(
                key, scheme, host, port, proxy, proxy_port, absolute, host_header, True, False
            )
        tunnel = (
            proxy,
            proxy_port,
            request.proxy_username,
            request.proxy_password,
            request.proxy_auth_mode,
        )
        key = ConnectionKey(scheme, host, port, tunnel, ssl_context, source_ip, family)
        return Route(key, scheme, host, port, proxy, proxy_port, target, host_header, False, True)
    if ssl_context is None:
        return _direct_route(request.url, source_ip, family)
    key = ConnectionKey(scheme, host, port, None, ssl_context, source_ip, family)
    return Route(key, scheme, host, port, host, port, target, host_header, False, False)


@functools.lru_cache(maxsize=512)
def _direct_route(url: str, source_ip: str | None, family: socket.AddressFamily) -> Route:
    """The `Route` of a plain ``http`` request without a proxy (cached, as `_parse_url`)."""
    scheme, host, port, target, host_header = _parse_url(url)
    key = ConnectionKey(scheme, host, port, None, None, source_ip, family)
    return Route(key, scheme, host, port, host, port, target, host_header, False, False)


@functools.cache
def default_user_agent() -> str:
    """``squall/<version>``: the ``User-Agent`` sent when none is given."""
    try:
        version = importlib.metadata.version("squall-httpcore")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "squall"
    return f"squall/{version}"


@functools.lru_cache(maxsize=512)
def url_credentials(url: str) -> tuple[str, str] | None:
    """The user name and password given in `url` (``http://user:pw@host/``), if any.

    Cached, as `_parse_url`: clients fetch the same URLs again.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return None
    return (
        urllib.parse.unquote(parts.username),
        urllib.parse.unquote(parts.password or ""),
    )


def request_headers(
    request: HTTPRequest,
    route: Route,
    authorization: str | None,
    proxy_authorization: str | None,
) -> HTTPHeaders:
    """Return the header block to send for `request` (a new object).

    The caller's fields come first and win, except ``Authorization`` when
    credentials are given (`authorization`, already computed) and the
    fields that describe the body (``Content-Length`` is set from ``body``).
    Added when missing: ``Host``, ``User-Agent``, ``Accept-Encoding``
    (with ``decompress_response``), ``Expect: 100-continue``.
    """
    if request._headers is None or not request._headers:
        # The common case: only the fields added here, as one dict (the
        # same fields in the same order as below, at a fraction of the calls).
        fields = {
            "Host": route.host_header,
            "User-Agent": request.user_agent or default_user_agent(),
        }
        if request.decompress_response:
            fields["Accept-Encoding"] = ACCEPT_ENCODING
        if authorization is not None:
            fields["Authorization"] = authorization
        if proxy_authorization is not None:
            fields["Proxy-Authorization"] = proxy_authorization
        body = request._body
        if body is not None:
            fields["Content-Length"] = str(len(body))
        if request.expect_100_continue and (body or request.body_producer is not None):
            fields["Expect"] = "100-continue"
        return HTTPHeaders(fields)
    headers = HTTPHeaders(request.headers)
    if "Host" not in headers:
        headers["Host"] = route.host_header
    if request.user_agent:
        headers["User-Agent"] = request.user_agent
    elif "User-Agent" not in headers:
        headers["User-Agent"] = default_user_agent()
    if request.decompress_response and "Accept-Encoding" not in headers:
        headers["Accept-Encoding"] = ACCEPT_ENCODING
    if authorization is not None:
        headers["Authorization"] = authorization
    if proxy_authorization is not None:
        headers["Proxy-Authorization"] = proxy_authorization
    body = request._body
    if body is not None:
        # A body given as bytes is always sent with its length (RFC 9112 §6.2).
        headers.pop("Transfer-Encoding", None)
        headers["Content-Length"] = str(len(body))
    if request.expect_100_continue and (body or request.body_producer is not None):
        headers["Expect"] = "100-continue"
    return headers


#: The most encoded heads `request_head` keeps (a client sends the same
#: few again and again; past this many distinct ones it starts over).
_MAX_HEADS = 512

_heads: dict[tuple[object, ...], bytes] = {}


def request_head(
    request: HTTPRequest,
    route: Route,
    authorization: str | None,
    proxy_authorization: str | None,
) -> bytes | None:
    """The encoded head of `request` (`request_headers`, serialized), or None.

    For the requests whose body is bytes (or none) and that do not expect
    ``100 Continue``: their head depends on a few values only (the URL,
    the method, the body's length, the credentials, the header fields
    given...), by which it is cached.  None for the others, and for heads
    `HTTP1Connection.write_request` cannot send (a chunked body, ``Expect``
    or ``Connection: close`` among the fields, an invalid field: the usual
    path reports it).
    """
    if request.body_producer is not None or request.expect_100_continue:
        return None
    headers = request._headers
    method = request.method
    body = request._body
    key = (
        method,
        route.target,
        route.host_header,
        request.user_agent,
        request.decompress_response,
        authorization,
        proxy_authorization,
        None if body is None else len(body),
        () if headers is None else tuple(headers.get_all()),
    )
    head = _heads.get(key)
    if head is None:
        fields = request_headers(request, route, authorization, proxy_authorization)
        if "Expect" in fields:
            return None
        try:
            parts = RequestHead.of(method, route.target, fields)
            if not parts.reusable(body):
                return None
            head = parts.data
        except HTTPOutputError:
            return None
        if len(_heads) >= _MAX_HEADS:
            _heads.clear()
        _heads[key] = head
    return head


def basic_credentials(request: HTTPRequest) -> str | None:
    """The ``Authorization`` value for Basic authentication of `request`, or None.

    From ``auth_username``/``auth_password`` (with ``auth_mode`` basic, the
    default), or else from the URL's user information.
    """
    if request.auth_username is not None:
        if (request.auth_mode or "basic") != "basic":
            return None
        return basic_authorization(request.auth_username, request.auth_password or "")
    credentials = url_credentials(request.url)
    if credentials is not None:
        return basic_authorization(*credentials)
    return None


def basic_proxy_credentials(request: HTTPRequest) -> str | None:
    """The ``Proxy-Authorization`` value for Basic proxy authentication, or None."""
    if request.proxy_username is None or (request.proxy_auth_mode or "basic") != "basic":
        return None
    return basic_authorization(request.proxy_username, request.proxy_password or "")
