"""`HTTPRequest`: what to fetch and how (public via `squall.httpclient`).

A request holds only what the caller gave; ``None`` means "use the
client's default".  `AsyncHTTPClient.fetch` resolves the defaults once (the
client's ``defaults`` argument over `HTTPRequest._DEFAULTS`) into a copy
that the implementation reads, leaving the caller's object untouched.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from squall.escape import utf8
from squall.httputil import HTTPHeaders, ResponseStartLine, format_timestamp

__all__ = ["HTTPRequest"]

#: ``body_producer(write)``: calls ``write(chunk)`` (which returns an
#: awaitable for flow control) as data becomes available; returns an
#: awaitable that resolves when the body is complete.
BodyProducer = Callable[[Callable[[bytes], Awaitable[None]]], Awaitable[None] | None]

#: The attributes a client's ``defaults`` fill in when None (``body`` and
#: ``use_gzip`` are accepted too, through their properties).
_PLAIN_DEFAULTS = frozenset(
    (
        "allow_ipv6",
        "allow_nonstandard_methods",
        "auth_mode",
        "auth_password",
        "auth_username",
        "body_producer",
        "ca_certs",
        "client_cert",
        "client_key",
        "connect_timeout",
        "decompress_response",
        "follow_redirects",
        "header_callback",
        "max_redirects",
        "network_interface",
        "prepare_curl_callback",
        "proxy_auth_mode",
        "proxy_host",
        "proxy_password",
        "proxy_port",
        "proxy_username",
        "request_timeout",
        "ssl_options",
        "streaming_callback",
        "user_agent",
        "validate_cert",
    )
)


class HTTPRequest:
    """An HTTP client request.

    All parameters except `url` are optional; the defaults that apply when a
    parameter is None are those of `_DEFAULTS`, which a client's
    ``defaults`` argument overrides (see `AsyncHTTPClient`).

    :arg str url: the URL to fetch (``http`` or ``https``).
    :arg str method: e.g. ``"GET"`` or ``"POST"``.
    :arg headers: extra request headers, an `HTTPHeaders` or a `dict`
        (copied into an `HTTPHeaders`).
    :arg body: the request body, `bytes` or `str` (encoded as UTF-8).
    :arg body_producer: for lazy or streaming bodies: called with a
        ``write(chunk)`` function that returns an awaitable for flow
        control; returns an awaitable resolved when the body is complete.
        Only one of `body` and `body_producer` may be given.  Without a
        ``Content-Length`` header the body is sent chunked.
    :arg str auth_username: user name for HTTP authentication.
    :arg str auth_password: password for HTTP authentication.
    :arg str auth_mode: ``"basic"`` (the default) or ``"digest"``.
    :arg float connect_timeout: seconds to establish the connection
        (default 20).  With `SimpleAsyncHTTPClient` it also bounds the time
        spent waiting for a ``max_clients`` slot.
    :arg float request_timeout: seconds for the whole request (default 20).
    :arg if_modified_since: a `datetime` or a Unix timestamp, for the
        ``If-Modified-Since`` header.
    :arg bool follow_redirects: follow 3xx responses (default True).
    :arg int max_redirects: the most redirects to follow (default 5).
    :arg str user_agent: the ``User-Agent`` header.
    :arg bool decompress_response: ask for a compressed response and
        decompress it (default True).
    :arg bool use_gzip: deprecated alias of `decompress_response`.
    :arg str network_interface: the local address to connect from.
    :arg streaming_callback: called with each chunk of the body as it
        arrives, in which case the response's ``body`` and ``buffer`` are
        empty.
    :arg header_callback: called with each header line as it arrives,
        the status line first and a final ``"\\r\\n"``, each with its line
        ending; the response's ``headers`` are then empty.
    :arg prepare_curl_callback: called with the ``pycurl.Curl`` object by
        the curl client (ignored by the others).
    :arg str proxy_host: an HTTP proxy; `proxy_port` must be set too.
    :arg int proxy_port: the proxy's port.
    :arg str proxy_username: user name for the proxy.
    :arg str proxy_password: password for the proxy (default ``""``).
    :arg str proxy_auth_mode: ``"basic"`` (the default) or ``"digest"``.
    :arg bool allow_nonstandard_methods: allow methods other than GET, HEAD,
        POST, PUT, PATCH, DELETE and OPTIONS, and bodies where the method
        does not usually have one (default False).
    :arg bool validate_cert: verify the server's TLS certificate (default
        True).
    :arg str ca_certs: a PEM file of CA certificates to verify against, or
        None for certifi's bundle.
    :arg bool allow_ipv6: use IPv6 when available (default True).
    :arg str client_key: the file of the client's TLS private key.
    :arg str client_cert: the file of the client's TLS certificate.
    :arg ssl_options: an `ssl.SSLContext` (or a dict of ``ssl.wrap_socket``
        arguments) to use instead of `validate_cert`, `ca_certs`,
        `client_key` and `client_cert`.
    :arg bool expect_100_continue: send ``Expect: 100-continue`` and wait
        for the server's go-ahead before sending the body.

    Setting `headers` or `body` after construction converts them as the
    constructor does.
    """

    __module__ = "squall.httpclient"

    #: The values of the parameters that are None, unless the client's
    #: ``defaults`` say otherwise.
    _DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "connect_timeout": 20.0,
        "request_timeout": 20.0,
        "follow_redirects": True,
        "max_redirects": 5,
        "decompress_response": True,
        "proxy_password": "",
        "allow_nonstandard_methods": False,
        "validate_cert": True,
        "allow_ipv6": True,
    }

    # None until the headers are given or first used (most requests have
    # none: no empty `HTTPHeaders` made per request).
    _headers: HTTPHeaders | None = None
    #: squall.client's hook, not part of the API: the simple client calls it
    #: with the final response's start line and headers (where it would
    #: call ``header_callback`` with lines to parse again).
    _head_callback: Callable[[ResponseStartLine, HTTPHeaders], object] | None = None
    # The attributes' values when not given (the constructor stores only
    # what is given: see `_with_defaults`).
    method = "GET"
    _body: bytes | None = None
    decompress_response: bool | None = None
    expect_100_continue = False
    proxy_host: str | None = None
    proxy_port: int | None = None
    proxy_username: str | None = None
    proxy_password: str | None = None
    proxy_auth_mode: str | None = None
    body_producer: BodyProducer | None = None
    auth_username: str | None = None
    auth_password: str | None = None
    auth_mode: str | None = None
    connect_timeout: float | None = None
    request_timeout: float | None = None
    follow_redirects: bool | None = None
    max_redirects: int | None = None
    user_agent: str | None = None
    network_interface: str | None = None
    streaming_callback: Callable[[bytes], object] | None = None
    header_callback: Callable[[str], object] | None = None
    prepare_curl_callback: Callable[[Any], object] | None = None
    allow_nonstandard_methods: bool | None = None
    validate_cert: bool | None = None
    ca_certs: str | None = None
    allow_ipv6: bool | None = None
    client_key: str | None = None
    client_cert: str | None = None
    ssl_options: Any = None

    def __init__(
        self,
        url: str,
        method: str = "GET",
        headers: HTTPHeaders | Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        auth_username: str | None = None,
        auth_password: str | None = None,
        auth_mode: str | None = None,
        connect_timeout: float | None = None,
        request_timeout: float | None = None,
        if_modified_since: datetime.datetime | float | None = None,
        follow_redirects: bool | None = None,
        max_redirects: int | None = None,
        user_agent: str | None = None,
        use_gzip: bool | None = None,
        network_interface: str | None = None,
        streaming_callback: Callable[[bytes], object] | None = None,
        header_callback: Callable[[str], object] | None = None,
        prepare_curl_callback: Callable[[Any], object] | None = None,
        proxy_host: str | None = None,
        proxy_port: int | None = None,
        proxy_username: str | None = None,
        proxy_password: str | None = None,
        proxy_auth_mode: str | None = None,
        allow_nonstandard_methods: bool | None = None,
        validate_cert: bool | None = None,
        ca_certs: str | None = None,
        allow_ipv6: bool | None = None,
        client_key: str | None = None,
        client_cert: str | None = None,
        body_producer: BodyProducer | None = None,
        expect_100_continue: bool = False,
        decompress_response: bool | None = None,
        ssl_options: Any = None,
    ) -> None:
        # Only what is given is stored: an attribute left at None is the
        # class's (see `_with_defaults`).  The setters' conversions, without
        # their calls.
        if headers is not None:
            self._headers = headers if isinstance(headers, HTTPHeaders) else HTTPHeaders(headers)
        if if_modified_since is not None:
            self.headers["If-Modified-Since"] = format_timestamp(if_modified_since)
        self.url = url
        if method != "GET":
            self.method = method
        if body is not None:
            self._body = utf8(body)
        if proxy_host is not None:
            self.proxy_host = proxy_host
        if proxy_port is not None:
            self.proxy_port = proxy_port
        if proxy_username is not None:
            self.proxy_username = proxy_username
        if proxy_password is not None:
            self.proxy_password = proxy_password
        if proxy_auth_mode is not None:
            self.proxy_auth_mode = proxy_auth_mode
        if body_producer is not None:
            self.body_producer = body_producer
        if auth_username is not None:
            self.auth_username = auth_username
        if auth_password is not None:
            self.auth_password = auth_password
        if auth_mode is not None:
            self.auth_mode = auth_mode
        if connect_timeout is not None:
            self.connect_timeout = connect_timeout
        if request_timeout is not None:
            self.request_timeout = request_timeout
        if follow_redirects is not None:
            self.follow_redirects = follow_redirects
        if max_redirects is not None:
            self.max_redirects = max_redirects
        if user_agent is not None:
            self.user_agent = user_agent
        if network_interface is not None:
            self.network_interface = network_interface
        if streaming_callback is not None:
            self.streaming_callback = streaming_callback
        if header_callback is not None:
            self.header_callback = header_callback
        if prepare_curl_callback is not None:
            self.prepare_curl_callback = prepare_curl_callback
        if allow_nonstandard_methods is not None:
            self.allow_nonstandard_methods = allow_nonstandard_methods
        if validate_cert is not None:
            self.validate_cert = validate_cert
        if ca_certs is not None:
            self.ca_certs = ca_certs
        if allow_ipv6 is not None:
            self.allow_ipv6 = allow_ipv6
        if client_key is not None:
            self.client_key = client_key
        if client_cert is not None:
            self.client_cert = client_cert
        if ssl_options is not None:
            self.ssl_options = ssl_options
        if decompress_response is None:
            decompress_response = use_gzip
        if decompress_response is not None:
            self.decompress_response = decompress_response
        if expect_100_continue is not False:
            self.expect_100_continue = expect_100_continue
        #: Wall-clock time (`time.time`) at which the request was made.
        self.start_time = time.time()

    @property
    def headers(self) -> HTTPHeaders:
        """The request headers (an `HTTPHeaders`; a dict set here is converted)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = HTTPHeaders()
        return headers

    @headers.setter
    def headers(self, value: HTTPHeaders | Mapping[str, str] | None) -> None:
        if value is None:
            self._headers = HTTPHeaders()
        elif isinstance(value, HTTPHeaders):
            self._headers = value
        else:
            self._headers = HTTPHeaders(value)

    @property
    def body(self) -> bytes | None:
        """The request body as bytes (a str set here is encoded as UTF-8)."""
        return self._body

    @body.setter
    def body(self, value: bytes | str | None) -> None:
        self._body = utf8(value)

    # Tornado's name for decompress_response, still accepted.
    @property
    def use_gzip(self) -> bool | None:
        """Deprecated alias of `decompress_response`."""
        return self.decompress_response

    @use_gzip.setter
    def use_gzip(self, value: bool | None) -> None:
        self.decompress_response = value

    def _with_defaults(self, defaults: Mapping[str, Any]) -> HTTPRequest:
        """Return a shallow copy with every None attribute named in `defaults` filled in.

        Names in `defaults` that are not attributes of a request are ignored.
        The copy shares `headers` with this request: implementations must
        not modify them.
        """
        resolved = object.__new__(type(self))
        given = self.__dict__
        if defaults.keys() <= _PLAIN_DEFAULTS and None not in given.values():
            # The usual case: every default names an attribute, and the
            # attributes stored are the ones given (not None): two dict
            # merges in C.
            resolved.__dict__ = {**defaults, **given}
            return resolved
        # A plain copy of the attributes (faster than copy.copy).
        attributes = resolved.__dict__
        attributes.update(given)
        for name, value in defaults.items():
            if name in _PLAIN_DEFAULTS:
                if attributes.get(name) is None:
                    attributes[name] = value
            elif name == "body":
                if resolved._body is None:
                    resolved.body = value
            elif name == "use_gzip" and resolved.decompress_response is None:
                resolved.decompress_response = value
        return resolved

    def __repr__(self) -> str:
        return f"HTTPRequest({self.method} {self.url!r})"
