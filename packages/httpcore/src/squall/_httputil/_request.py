"""`HTTPServerRequest`: one request as the server received it.

Built once per request on the server's hot path, so the constructor does
only what every request needs (splitting the target, the client's address,
the host); the arguments and cookies are parsed on first access.
"""

from __future__ import annotations

import http.cookies
import ssl
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from squall._httputil._body import HTTPFile, parse_body_arguments
from squall._httputil._cookies import parse_cookie
from squall._httputil._headers import HTTPHeaders
from squall._httputil._lines import RequestStartLine, split_host_and_port
from squall.escape import parse_qs_bytes

_new_object = object.__new__

if TYPE_CHECKING:
    from asyncio import Future

    from squall._httputil._interfaces import HTTPConnection

__all__ = ["HTTPServerRequest"]


class HTTPServerRequest:
    """A single HTTP request.

    All attributes are type `str` unless otherwise noted.

    .. attribute:: method

       HTTP request method, e.g. "GET" or "POST"

    .. attribute:: uri

       The requested uri (the request target: path and query).

    .. attribute:: path

       The path portion of `uri`

    .. attribute:: query

       The query portion of `uri` (without the ``?``)

    .. attribute:: version

       HTTP version specified in request, e.g. "HTTP/1.1"

    .. attribute:: headers

       `HTTPHeaders` dictionary-like object for request headers.  Acts like
       a case-insensitive dictionary with additional methods for repeated
       headers.

    .. attribute:: body

       Request body, if present, as a byte string.

    .. attribute:: remote_ip

       Client's IP address as a string (None when the connection does not
       say).  If ``HTTPServer.xheaders`` is set, will pass along the real IP
       address provided by a load balancer in the ``X-Real-Ip`` or
       ``X-Forwarded-For`` header.

    .. attribute:: protocol

       The protocol used, either "http" or "https".  If
       ``HTTPServer.xheaders`` is set, will pass along the protocol used by
       a load balancer if reported via an ``X-Scheme`` header.

    .. attribute:: host

       The requested hostname, usually taken from the ``Host`` header
       ("127.0.0.1" when there is none).

    .. attribute:: host_name

       `host` in lower case, without the port.

    .. attribute:: arguments

       GET/POST arguments are available in the arguments property, which
       maps arguments names to lists of values (to support multiple values
       for individual names).  Names are of type `str`, while arguments are
       byte strings.  Note that this is different from
       ``RequestHandler.get_argument``, which returns argument values as
       unicode strings.

    .. attribute:: query_arguments

       Same format as ``arguments``, but contains only arguments extracted
       from the query string.

    .. attribute:: body_arguments

       Same format as ``arguments``, but contains only arguments extracted
       from the request body.

    .. attribute:: files

       File uploads are available in the files property, which maps file
       names to lists of `HTTPFile`.

    .. attribute:: connection

       An HTTP request is attached to a single HTTP connection, which can
       be accessed through the "connection" attribute.  Since connections
       are typically kept open in HTTP/1.1, multiple requests can be
       handled sequentially on a single connection.

    .. attribute:: server_connection

       The long-lived (TCP-level) connection object the request came on.

    ``remote_ip`` and ``protocol`` come from ``connection.context`` (its
    ``remote_ip`` and ``protocol`` attributes; "http" when it has none);
    the keyword-only arguments of the same names override it (as the
    Tornado 3 ``HTTPRequest`` constructor took them).  When `start_line`
    is given it supplies `method`, `uri` and `version`.
    """

    __module__ = "squall.httputil"

    path: str
    query: str
    body_arguments: dict[str, list[bytes]]
    files: dict[str, list[HTTPFile]]

    def __init__(
        self,
        method: str | None = None,
        uri: str | None = None,
        version: str = "HTTP/1.0",
        headers: HTTPHeaders | None = None,
        body: bytes | None = None,
        host: str | None = None,
        files: dict[str, list[HTTPFile]] | None = None,
        connection: HTTPConnection | None = None,
        start_line: RequestStartLine | None = None,
        server_connection: object | None = None,
        *,
        remote_ip: str | None = None,
        protocol: str | None = None,
    ) -> None:
        if start_line is not None:
            method, uri, version = start_line
        self.method: str = method if method is not None else ""
        self.uri: str = uri if uri is not None else ""
        self.version = version
        if headers is None:
            headers = HTTPHeaders()
        self.headers = headers
        if body:
            self.body = body
        if remote_ip is None and protocol is None:
            # The connection's context knows the peer (HTTP1Connection's is
            # set up by HTTPServer, with xheaders already applied).  Plain
            # attribute reads: the common case costs no function call.
            try:
                context = connection.context  # type: ignore[union-attr]
                remote_ip = context.remote_ip
                protocol = context.protocol
            except AttributeError:
                remote_ip, protocol = self._from_context(connection, None, None)
        elif remote_ip is None or protocol is None:
            remote_ip, protocol = self._from_context(connection, remote_ip, protocol)
        self.remote_ip: str | None = remote_ip
        self.protocol: str = protocol or "http"
        if not host:
            host = _host_field(headers)
        self.host: str = host or "127.0.0.1"
        self.files = files if files is not None else {}
        self.connection = connection
        self.server_connection = server_connection
        self._start_time = time.time()
        self.path, _, self.query = self.uri.partition("?")
        self.body_arguments = {}

    # What the constructors do not set, at its initial value (an instance
    # only stores what changes).
    body: bytes = b""
    _finish_time: float | None = None
    _query_arguments: dict[str, list[bytes]] | None = None
    _arguments: dict[str, list[bytes]] | None = None
    _cookies: http.cookies.SimpleCookie | None = None
    _host_name: str | None = None
    # `_for_server`'s: the head's fields, for what it leaves to first use.
    _fields: list[tuple[str, str]] | None = None

    @classmethod
    def _for_server(
        cls,
        connection: HTTPConnection,
        method: str,
        uri: str,
        version: str,
        fields: list[tuple[str, str]],
        server_connection: object,
        remote_ip: str | None,
        protocol: str,
    ) -> HTTPServerRequest:
        """A received request without a body: what ``__init__`` makes of these arguments.

        The HTTP/1 server's fast constructor (no keyword parsing, no
        defaults to resolve; `remote_ip` and `protocol` are what
        ``connection.context`` says).  `fields` are the head's ``(name,
        value)`` pairs as squall's parser returns them: `headers` is made of
        them on first use, and `host`, `path`, `query`, `files` and
        `body_arguments` too (see `__getattr__`), so a request that never
        looks at them does not pay for them.
        """
        self = _new_object(cls)
        self.method = method
        self.uri = uri
        self.version = version
        self._fields = fields
        self.remote_ip = remote_ip
        self.protocol = protocol
        self.connection = connection
        self.server_connection = server_connection
        self._start_time = time.time()
        return self

    def __getattr__(self, name: str) -> Any:
        # Only reached for an attribute the instance does not have yet: one
        # `_for_server` left to first use.  Made once, then stored, so later
        # reads are plain attribute reads.
        make = _LAZY.get(name)
        if make is None or self._fields is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = make(self)
        setattr(self, name, value)
        return value

    @staticmethod
    def _from_context(
        connection: object, remote_ip: str | None, protocol: str | None
    ) -> tuple[str | None, str | None]:
        context = getattr(connection, "context", None)
        if remote_ip is None:
            remote_ip = getattr(context, "remote_ip", None)
        if protocol is None:
            protocol = getattr(context, "protocol", None)
        return remote_ip, protocol

    # -- parsed on demand -------------------------------------------------

    @property
    def query_arguments(self) -> dict[str, list[bytes]]:
        """The arguments of the query string (parsed on first access, blank values kept)."""
        args = self._query_arguments
        if args is None:
            args = self._query_arguments = parse_qs_bytes(self.query, keep_blank_values=True)
        return args

    @query_arguments.setter
    def query_arguments(self, value: dict[str, list[bytes]]) -> None:
        self._query_arguments = value

    @property
    def arguments(self) -> dict[str, list[bytes]]:
        """The query arguments followed by the body arguments (their own lists)."""
        args = self._arguments
        if args is None:
            args = {name: list(values) for name, values in self.query_arguments.items()}
            for name, values in self.body_arguments.items():
                args.setdefault(name, []).extend(values)
            self._arguments = args
        return args

    @arguments.setter
    def arguments(self, value: dict[str, list[bytes]]) -> None:
        self._arguments = value

    @property
    def host_name(self) -> str:
        """`host` in lower case, without the port (an IPv6 literal keeps its brackets)."""
        if self._host_name is not None:
            return self._host_name
        return split_host_and_port(self.host.lower())[0]

    @host_name.setter
    def host_name(self, value: str) -> None:
        self._host_name = value

    @property
    def cookies(self) -> dict[str, http.cookies.Morsel[str]]:
        """A dictionary of ``http.cookies.Morsel`` objects (parsed on first access).

        Parsed from the ``Cookie`` header with `parse_cookie` (as browsers
        do); a cookie whose name ``http.cookies`` refuses is left out.
        """
        cookies = self._cookies
        if cookies is None:
            cookies = self._cookies = http.cookies.SimpleCookie()
            header = self.headers.get("Cookie")
            if header:
                for name, value in parse_cookie(header).items():
                    try:
                        cookies[name] = value
                    except http.cookies.CookieError:
                        pass
        return cookies

    def _parse_body(self) -> None:
        """Parse `body` into `body_arguments` and `files` (and `arguments`).

        Called by the server (or the web application) once the whole body
        has arrived.  Form bodies (``application/x-www-form-urlencoded``,
        ``multipart/form-data``) are parsed by `parse_body_arguments`;
        malformed ones are logged and ignored, as is a body with a
        ``Content-Encoding`` left undecoded.
        """
        if not self.body:
            return
        parsed: dict[str, list[bytes]] = {}
        headers = self.headers
        parse_body_arguments(
            headers.get("Content-Type", ""), self.body, parsed, self.files, headers
        )
        if not parsed:
            return
        body_arguments = self.body_arguments
        arguments = self._arguments
        for name, values in parsed.items():
            body_arguments.setdefault(name, []).extend(values)
            if arguments is not None:
                arguments.setdefault(name, []).extend(values)

    # -- about the request ----------------------------------------------

    def full_url(self) -> str:
        """Reconstructs the full URL for this request (``protocol://host/uri``)."""
        return self.protocol + "://" + self.host + self.uri

    def request_time(self) -> float:
        """Returns the amount of time it took for this request to execute (seconds).

        Until the request is finished, the time since it started.
        """
        if self._finish_time is None:
            return time.time() - self._start_time
        return self._finish_time - self._start_time

    def get_ssl_certificate(self, binary_form: bool = False) -> Any:
        """Returns the client's SSL certificate, if any.

        To use client certificates, the HTTPServer's
        `ssl.SSLContext.verify_mode` field must be set, e.g.::

            ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_ctx.load_cert_chain("foo.crt", "foo.key")
            ssl_ctx.load_verify_locations("cacerts.pem")
            ssl_ctx.verify_mode = ssl.CERT_REQUIRED
            server = HTTPServer(app, ssl_options=ssl_ctx)

        By default, the return value is a dictionary (or None, if no client
        certificate is present).  If ``binary_form`` is true, a DER-encoded
        form of the certificate is returned instead.  See
        ``ssl.SSLSocket.getpeercert()`` in the standard library for more
        details.  None too when the connection is not TLS or is gone.
        """
        stream = getattr(self.connection, "stream", None)
        if stream is None:
            return None
        try:
            getter = getattr(stream, "get_ssl_certificate", None)
            if getter is not None:
                return getter(binary_form)
            return stream.socket.getpeercert(binary_form=binary_form)
        except (ssl.SSLError, AttributeError, ValueError):
            return None

    def supports_http_1_1(self) -> bool:
        """Returns True if this request supports HTTP/1.1 semantics.

        .. deprecated:: 4.0
           Applications are less likely to need this information with the
           introduction of `HTTPConnection`.  If you still need it, access
           the ``version`` attribute directly.
        """
        warnings.warn(
            "supports_http_1_1() is deprecated; use request.version == 'HTTP/1.1'",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.version == "HTTP/1.1"

    # -- the Tornado 4 output interface (deprecated) ------------------------

    def write(self, chunk: bytes, callback: Callable[[], object] | None = None) -> Future[None]:
        """Writes the given chunk to the response stream.

        .. deprecated:: 4.0
           Use ``request.connection`` and the `HTTPConnection` methods to
           write the response.

        :raises TypeError: if `chunk` is not bytes.
        :raises ValueError: if the request has no connection.
        """
        warnings.warn(
            "HTTPServerRequest.write is deprecated; use request.connection.write_headers"
            " and request.connection.write",
            DeprecationWarning,
            stacklevel=2,
        )
        if not isinstance(chunk, bytes):
            raise TypeError(f"write() takes bytes, not {type(chunk).__name__}")
        connection = self._connection_for_output()
        if callback is None:
            return connection.write(chunk)
        return connection.write(chunk, callback=callback)

    def finish(self) -> None:
        """Finishes this HTTP request on the open connection.

        .. deprecated:: 4.0
           Use ``request.connection`` and the `HTTPConnection` methods to
           write the response.
        """
        warnings.warn(
            "HTTPServerRequest.finish is deprecated; use request.connection.finish",
            DeprecationWarning,
            stacklevel=2,
        )
        self._connection_for_output().finish()
        self._finish_time = time.time()

    def _connection_for_output(self) -> HTTPConnection:
        connection = self.connection
        if connection is None:
            raise ValueError("this request has no connection to write to")
        return connection

    def __repr__(self) -> str:
        # The headers are left out: they may carry credentials (cookies,
        # Authorization) and reprs end up in logs.
        attrs = ("protocol", "host", "method", "uri", "version", "remote_ip")
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in attrs)
        return f"{self.__class__.__name__}({args})"


def _host_field(headers: Any) -> str | None:
    """The Host field of `headers` (an `HTTPHeaders`, or a plain mapping from older code)."""
    try:
        # "Host" is the normalized spelling: one dictionary lookup.
        host: str | None = headers._dict.get("Host")
    except AttributeError:
        host = headers.get("Host")
    return host


#: How `HTTPServerRequest.__getattr__` makes each attribute `_for_server` leaves out.
_LAZY: dict[str, Callable[[HTTPServerRequest], Any]] = {
    "headers": lambda request: HTTPHeaders._from_pairs(request._fields or ()),
    "host": lambda request: _host_field(request.headers) or "127.0.0.1",
    "path": lambda request: request.uri.partition("?")[0],
    "query": lambda request: request.uri.partition("?")[2],
    "files": lambda request: {},
    "body_arguments": lambda request: {},
}
