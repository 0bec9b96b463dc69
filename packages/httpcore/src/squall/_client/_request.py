"""`HttpRequest`: one request of a `squall.client.HttpClient`, ready to be sent.

A request is built from the arguments of ``client.request(...)`` merged
with the session's defaults; `to_httprequest` turns it into the lower
layer's `squall.httpclient.HTTPRequest` (one per hop: a redirect builds the
next request with `redirected`).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from squall._client._auth import as_auth
from squall._client._body import BodyProducer, add_params, encode_body
from squall._httpclient._redirect import _origin, redirect_request
from squall._httpclient._request import HTTPRequest
from squall.httputil import HTTPHeaders

if TYPE_CHECKING:
    from squall._client._response import HttpResponse
    from squall._client._session import HttpClient

__all__ = ["HttpRequest"]

#: Methods sent without redirects unless asked (RFC 9110: a HEAD's answer
#: has no body to follow).
_NO_REDIRECT_BY_DEFAULT = frozenset({"HEAD"})


class HttpRequest:
    """An `HttpClient` request for an HTTP resource.

    Its interface is close to `urllib.request.Request` (`has_header`,
    `get_header`, `remove_header`).

    :arg client: the `HttpClient` sending it.
    :arg str url: the URL (``http`` or ``https``); `params` are appended to
        its query.
    :arg str method: the request method.
    :arg headers: headers added to (or replacing) the client's; a None value
        removes one of the client's.
    :arg data: a dict or a list of pairs (form-encoded), bytes or str, or a
        (sync or async) generator of chunks (streamed).
    :arg files: dict of name to file object, bytes or
        ``(filename, content[, content_type])``: a multipart body.
    :arg json: an object sent as JSON.
    :arg auth: ``(username, password)`` or an `Auth`.
    :arg int max_redirects: the most redirects followed.
    :arg bool allow_redirects: follow redirects.
    :arg bool decompress: decompress gzip and deflate bodies.
    :arg bool wait_continue: send ``Expect: 100-continue`` and wait for the
        server's go-ahead before the body.
    :arg dict cookies: cookies sent with this request only.
    :arg bool stream: return the response when its head arrives and stream
        the body through ``response.raw``.
    :arg dict proxies: scheme to proxy URL.
    :arg verify: verify the server's certificate (True) or not (False), or
        verify it against the CA certificates of the given file or
        directory (hashed, as ``openssl rehash`` makes it).
    :arg float timeout: seconds for the connection, and for the whole of
        each exchange (a streamed body's included); None or 0: none.
    :arg str charset: the encoding of str data (UTF-8 by default).
    :arg str source_address: the local address to connect from.
    :arg cert: the client's certificate: a file with certificate and key,
        or a pair of files ``(cert, key)``.
    """

    __module__ = "squall.client"

    version = "HTTP/1.1"

    def __init__(
        self,
        client: HttpClient,
        url: str,
        method: str,
        inp_params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str | None] | HTTPHeaders | None = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        history: list[HttpResponse] | None = None,
        auth: Any = None,
        charset: str | None = None,
        max_redirects: int = 10,
        source_address: str | None = None,
        allow_redirects: bool = False,
        decompress: bool = True,
        version: str | None = None,
        wait_continue: bool = False,
        websocket_handler: Any = None,
        cookies: Mapping[str, str] | None = None,
        params: Any = None,
        stream: bool = False,
        proxies: Mapping[str, str] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        timeout: float | None = None,
        **extra: Any,
    ) -> None:
        if extra:
            raise TypeError(f"Unexpected request arguments: {', '.join(sorted(extra))}")
        if websocket_handler is not None:
            raise NotImplementedError("squall.client does not do WebSocket upgrades")
        if version not in (None, "HTTP/1.1"):
            raise ValueError(
                f"Unsupported HTTP version {version!r}: squall.client speaks HTTP/1.1"
            )
        self.client = client
        self.inp_params = inp_params
        self.method = method.upper()
        self.url = add_params(url, params)
        if not self.url.startswith(("http://", "https://")):  # (the usual URLs: no parsing)
            scheme = urllib.parse.urlsplit(self.url).scheme.lower()
            if scheme not in ("http", "https"):
                raise ValueError(f"Unsupported URL scheme {scheme!r} in {url!r}")
        self.headers = HTTPHeaders(client.headers)
        if headers:
            items = headers.get_all() if isinstance(headers, HTTPHeaders) else headers.items()
            for name, value in items:
                if value is None:  # removes one of the client's headers
                    self.headers.pop(name, None)
                else:
                    self.headers[name] = value
        self.charset = charset or "utf-8"
        body, content_type = encode_body(data, files, json, self.charset)
        self.body: bytes | None = body if isinstance(body, bytes) else None
        self.body_producer: BodyProducer | None = None if isinstance(body, bytes) else body
        if content_type is not None and "Content-Type" not in self.headers:
            self.headers["Content-Type"] = content_type
        self.history: list[HttpResponse] = history if history is not None else []
        self.max_redirects = max_redirects
        self.allow_redirects = allow_redirects
        self.decompress = decompress
        self.wait_continue = wait_continue
        self.cookies = dict(cookies) if cookies else {}
        self.stream = stream
        self.proxies = dict(proxies) if proxies else {}
        self.verify = verify
        self.cert = cert
        self.timeout = timeout
        self.source_address = source_address
        self.auth_username: str | None = None
        self.auth_password: str | None = None
        self.auth_mode: str | None = None
        self.auth = as_auth(auth)
        if self.auth is not None:
            self.auth(self)

    # urllib.request.Request-like access to the headers.
    def has_header(self, header_name: str) -> bool:
        """Whether `header_name` is among this request's headers."""
        return header_name in self.headers

    def get_header(self, header_name: str, default: str | None = None) -> str | None:
        """The value of `header_name`, or `default`."""
        return self.headers.get(header_name, default)

    def remove_header(self, header_name: str) -> None:
        """Remove `header_name` from this request's headers (if there)."""
        self.headers.pop(header_name, None)

    @property
    def full_url(self) -> str:
        """The URL with its query (same as `url`)."""
        return self.url

    @property
    def proxy(self) -> str | None:
        """The proxy URL this request goes through, or None."""
        return self.client.proxy_for(self.url, self.proxies)

    @property
    def tunnel(self) -> str | None:
        """The proxy of an ``https`` request, reached through a CONNECT tunnel, or None."""
        if urllib.parse.urlsplit(self.url).scheme.lower() != "https":
            return None
        return self.proxy

    def encode(self) -> bytes:
        """The bytes of this request as sent directly to the server (HTTP/1.1).

        A streamed body (from a generator) is not included.  The lower
        layer adds ``Host``, ``Content-Length`` and ``Accept-Encoding`` as
        needed; they are shown here too.
        """
        parts = urllib.parse.urlsplit(self.url)
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        headers = HTTPHeaders(self.headers)
        if "Host" not in headers:
            headers["Host"] = parts.netloc.rpartition("@")[2]
        if self.body is not None and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(self.body))
        lines = [f"{self.method} {target} {self.version}"]
        lines += [f"{name}: {value}" for name, value in headers.get_all()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + (self.body or b"")

    def to_httprequest(self, **callbacks: Any) -> HTTPRequest:
        """The lower layer's request for this one (redirects are followed here, not there)."""
        timeout = self.timeout or 0.0  # 0: none
        options: dict[str, Any] = {}
        proxy = self.proxy
        if proxy is not None:
            parts = urllib.parse.urlsplit(proxy)
            options.update(
                proxy_host=parts.hostname,
                proxy_port=parts.port or (443 if parts.scheme == "https" else 80),
                proxy_username=urllib.parse.unquote(parts.username) if parts.username else None,
                proxy_password=urllib.parse.unquote(parts.password) if parts.password else None,
            )
        verify = self.verify
        cert = self.cert
        client_cert, client_key = (cert, None) if isinstance(cert, str) or cert is None else cert
        if isinstance(verify, str) and os.path.isdir(verify):
            # A directory of hashed CA certificates (c_rehash): the lower
            # layer takes files only, so the context is made here.
            options["ssl_options"] = self.client.ssl_context(
                capath=verify, certfile=client_cert, keyfile=client_key
            )
        return HTTPRequest(
            self.url,
            method=self.method,
            headers=self.headers,  # not copied: the lower layer does not modify them
            body=self.body,
            body_producer=self.body_producer,
            auth_username=self.auth_username,
            auth_password=self.auth_password,
            auth_mode=self.auth_mode,
            connect_timeout=timeout,
            request_timeout=timeout,
            follow_redirects=False,
            decompress_response=self.decompress,
            network_interface=self.source_address,
            allow_nonstandard_methods=True,
            validate_cert=bool(verify),
            ca_certs=verify if isinstance(verify, str) else None,
            client_cert=client_cert,
            client_key=client_key,
            expect_100_continue=self.wait_continue,
            **options,
            **callbacks,
        )

    def redirected(self, code: int, location: str | None) -> HttpRequest | None:
        """The request that follows a `code` answer to `location`, or None.

        The rules are those of the lower layer (`redirect_request`): 303
        (and 301/302 after POST) become a GET without body, and credentials
        do not follow to another origin.
        """
        if not self.allow_redirects:
            return None
        lower = HTTPRequest(
            self.url,
            method=self.method,
            headers=self.headers,
            body=self.body,
            body_producer=self.body_producer,
            auth_username=self.auth_username,
            auth_password=self.auth_password,
            follow_redirects=True,
            max_redirects=1,
            expect_100_continue=self.wait_continue,
            allow_nonstandard_methods=True,
        )
        new_lower = redirect_request(lower, code, location)
        if new_lower is None:
            return None
        new = object.__new__(HttpRequest)
        new.__dict__.update(self.__dict__)
        new.url = new_lower.url
        new.method = new_lower.method
        new.headers = new_lower.headers
        new.body = new_lower.body
        new.body_producer = new_lower.body_producer
        new.wait_continue = new_lower.expect_100_continue
        new.auth_username = new_lower.auth_username
        new.auth_password = new_lower.auth_password
        if new.auth_username is None:
            new.auth_mode = None
        new.headers.pop("Cookie", None)  # recomputed for the new URL from the cookie jar
        if _origin(urllib.parse.urlsplit(self.url)) != _origin(urllib.parse.urlsplit(new.url)):
            new.cookies = {}  # like credentials, they stay with the origin they were meant for
        elif new.auth is not None and new.auth_username is None:
            new.auth(new)  # signed again for the new URL (OAuth 1)
        return new

    def __repr__(self) -> str:
        return f"<HttpRequest {self.method} {self.url}>"
