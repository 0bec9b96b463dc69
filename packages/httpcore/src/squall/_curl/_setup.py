"""Turning an `HTTPRequest` into libcurl options.

`check` rejects what libcurl cannot do (before anything is queued), and
`configure` sets every option of a freshly reset ``pycurl.Curl`` handle
for one request (one hop: redirects are followed by the client, see
`squall._curl._client`).  The handle is reset before each request, so no
option leaks from one request into the next (Tornado's curl client could
not reset handles and documented such leaks).
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Mapping
from typing import Any

import certifi

from squall._curl._pycurl import SUPPRESS_CONNECT_HEADERS, pycurl
from squall._httpclient._request import HTTPRequest
from squall._httpclient._route import _parse_url, default_user_agent, url_credentials, validate

__all__ = ["check", "configure", "curl_url"]

#: libcurl's debug output (``VERBOSE``) goes here when it is enabled for DEBUG.
curl_log = logging.getLogger("squall.curl_httpclient")

#: The longest piece of libcurl's debug output logged at once.
_DEBUG_MAX = 1024

#: Credentials in header lines (sent or received), replaced before logging.
_SECRET_FIELD = re.compile(r"(?im)^((?:proxy-)?authorization|(?:set-)?cookie):.*$")

#: What libcurl asks for and decodes with ``decompress_response``.
_ENCODINGS = "gzip,deflate"

#: ``ssl_options`` keys (``ssl.wrap_socket`` arguments) that map to libcurl options.
_SSL_OPTION_KEYS = frozenset({"ca_certs", "certfile", "keyfile", "cert_reqs"})

#: Fields libcurl adds on its own unless the request names them: an empty
#: value removes them, so that requests look the same as with the simple
#: client (no form Content-Type on a POST, no ``Expect: 100-continue`` on
#: large bodies unless asked for).
_SUPPRESSED = ("Expect", "Content-Type")

#: Fields that describe the body, which libcurl writes itself from it.
_BODY_FIELDS = ("Content-Length", "Transfer-Encoding")


def check(request: HTTPRequest) -> None:
    """Reject a request this client cannot send.

    :raises ValueError: for what `squall._httpclient._route.validate`
        rejects, an unsupported or malformed URL, a header value that is
        not latin-1, a ``body_producer``
        (libcurl reads bodies from memory here), or ``ssl_options`` that are
        an `ssl.SSLContext` or a dict with keys libcurl has no option for.
    """
    validate(request)
    if request.body_producer is not None:
        raise ValueError(
            "body_producer is not supported by CurlAsyncHTTPClient: "
            "pass the body as bytes, or use SimpleAsyncHTTPClient"
        )
    curl_url(request.url)
    _ssl_options(request)
    for name, value in request.headers.get_all():
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            # RFC 9110 §5.5: field values are octets; latin-1 maps them one to one.
            raise ValueError(f"header field {name!r} cannot be encoded as latin-1") from None


def curl_url(url: str) -> str:
    """The URL handed to libcurl: scheme, IDNA host, port and percent-encoded target.

    User information and the fragment are left out (credentials in the
    URL become ``USERPWD``).

    :raises ValueError: if `url` is not an absolute ``http`` or ``https`` URL.
    """
    scheme, _host, _port, target, host_header = _parse_url(url)
    return f"{scheme}://{host_header}{target}"


def _ssl_options(request: HTTPRequest) -> dict[str, Any]:
    options = request.ssl_options
    if options is None:
        return {}
    if isinstance(options, ssl.SSLContext) or not isinstance(options, Mapping):
        raise ValueError(
            "ssl_options must be a dict of ca_certs, certfile, keyfile and cert_reqs with "
            "CurlAsyncHTTPClient (libcurl cannot use an ssl.SSLContext)"
        )
    unknown = set(options) - _SSL_OPTION_KEYS
    if unknown:
        raise ValueError(
            f"ssl_options keys not supported by CurlAsyncHTTPClient: {sorted(unknown)}"
        )
    return dict(options)


def _header_lines(request: HTTPRequest) -> list[str]:
    headers = request.headers
    lines = []
    for name, value in headers.get_all():
        if request.body is not None and name in _BODY_FIELDS:
            continue
        lines.append(f"{name}: {value}")
    for name in _SUPPRESSED:
        if name not in headers:
            lines.append(f"{name}:")
    if request.expect_100_continue and request.body:
        lines = [line for line in lines if line != "Expect:"]
        if "Expect" not in headers:
            lines.append("Expect: 100-continue")
    return lines


def configure(curl: Any, request: HTTPRequest, spent: float = 0.0) -> None:
    """Set `curl`'s options for `request` (checked by `check`, defaults resolved).

    `spent` is the time already used (queued), taken off the timeouts.
    The callbacks (write and header functions) are set by the caller.

    :raises pycurl.error: if libcurl refuses an option value.
    """
    setopt = curl.setopt
    setopt(pycurl.URL, curl_url(request.url))
    # libcurl speaks http and https only here, whatever it was built with;
    # a prepare_curl_callback may widen this.
    setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
    setopt(pycurl.NOSIGNAL, 1)
    # Redirects are followed by the client (one hop per transfer), so that
    # they behave as with the simple client.
    setopt(pycurl.FOLLOWLOCATION, 0)
    # HTTP/1.1, as the simple client speaks (libcurl would offer HTTP/2
    # over TLS); a prepare_curl_callback may choose otherwise.
    setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    if curl_log.isEnabledFor(logging.DEBUG):
        setopt(pycurl.VERBOSE, 1)
        setopt(pycurl.DEBUGFUNCTION, _debug)
    setopt(pycurl.HTTPHEADER, [line.encode("latin-1") for line in _header_lines(request)])
    setopt(pycurl.USERAGENT, request.user_agent or default_user_agent())
    if request.decompress_response:
        setopt(pycurl.ENCODING, _ENCODINGS)
    _set_method_and_body(setopt, request)
    _set_timeouts(setopt, request, spent)
    _set_auth(setopt, request)
    _set_proxy(setopt, request)
    _set_tls(setopt, request)
    setopt(
        pycurl.IPRESOLVE,
        pycurl.IPRESOLVE_WHATEVER if request.allow_ipv6 is not False else pycurl.IPRESOLVE_V4,
    )
    if request.network_interface:
        setopt(pycurl.INTERFACE, request.network_interface)
    if request.prepare_curl_callback is not None:
        request.prepare_curl_callback(curl)


def _set_method_and_body(setopt: Any, request: HTTPRequest) -> None:
    method = request.method
    body = request.body
    if body is not None:
        setopt(pycurl.POST, 1)
        setopt(pycurl.POSTFIELDSIZE_LARGE, len(body))
        setopt(pycurl.POSTFIELDS, body)
        if method != "POST":
            setopt(pycurl.CUSTOMREQUEST, method)
    elif method == "HEAD":
        setopt(pycurl.NOBODY, 1)
    elif method == "GET":
        setopt(pycurl.HTTPGET, 1)
    else:
        setopt(pycurl.CUSTOMREQUEST, method)


def _milliseconds(seconds: float) -> int:
    # 0 means "no timeout" to libcurl: a positive timeout stays positive.
    return max(1, int(seconds * 1000))


def _set_timeouts(setopt: Any, request: HTTPRequest, spent: float) -> None:
    if request.connect_timeout:
        setopt(pycurl.CONNECTTIMEOUT_MS, _milliseconds(request.connect_timeout - spent))
    if request.request_timeout:
        setopt(pycurl.TIMEOUT_MS, _milliseconds(request.request_timeout - spent))


def _set_auth(setopt: Any, request: HTTPRequest) -> None:
    if request.auth_username is not None:
        credentials: tuple[str, str] | None = (
            request.auth_username,
            request.auth_password or "",
        )
        mode = request.auth_mode or "basic"
    else:
        credentials = url_credentials(request.url)
        mode = "basic"
    if credentials is None:
        return
    setopt(pycurl.USERNAME, credentials[0])
    setopt(pycurl.PASSWORD, credentials[1])
    setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_DIGEST if mode == "digest" else pycurl.HTTPAUTH_BASIC)


def _set_proxy(setopt: Any, request: HTTPRequest) -> None:
    if not request.proxy_host:
        # An empty proxy: libcurl would otherwise follow the http_proxy
        # environment variables, which the other clients ignore.
        setopt(pycurl.PROXY, "")
        return
    setopt(pycurl.PROXY, request.proxy_host)
    setopt(pycurl.PROXYPORT, int(request.proxy_port or 0))
    setopt(SUPPRESS_CONNECT_HEADERS, 1)
    if request.proxy_username is not None:
        setopt(pycurl.PROXYUSERNAME, request.proxy_username)
        setopt(pycurl.PROXYPASSWORD, request.proxy_password or "")
        digest = (request.proxy_auth_mode or "basic") == "digest"
        setopt(pycurl.PROXYAUTH, pycurl.HTTPAUTH_DIGEST if digest else pycurl.HTTPAUTH_BASIC)


def _set_tls(setopt: Any, request: HTTPRequest) -> None:
    options = _ssl_options(request)
    validate_cert = request.validate_cert is not False
    ca_certs = request.ca_certs
    client_cert = request.client_cert
    client_key = request.client_key
    if options:
        validate_cert = options.get("cert_reqs", ssl.CERT_REQUIRED) != ssl.CERT_NONE
        ca_certs = options.get("ca_certs")
        client_cert = options.get("certfile")
        client_key = options.get("keyfile")
    if validate_cert:
        setopt(pycurl.SSL_VERIFYPEER, 1)
        setopt(pycurl.SSL_VERIFYHOST, 2)
    else:
        setopt(pycurl.SSL_VERIFYPEER, 0)
        setopt(pycurl.SSL_VERIFYHOST, 0)
    setopt(pycurl.CAINFO, ca_certs or certifi.where())
    if client_cert is not None:
        setopt(pycurl.SSLCERT, client_cert)
    if client_key is not None:
        setopt(pycurl.SSLKEY, client_key)


#: pycurl's debug kinds (curl_infotype) that are logged, with a prefix.
_DEBUG_KINDS = {0: "*", 1: "<", 2: ">"}  # text, header in, header out


def _debug(kind: int, data: bytes) -> None:
    """libcurl's debug function: log its messages and the header lines, secrets hidden."""
    prefix = _DEBUG_KINDS.get(kind)
    if prefix is None:
        return  # bodies and TLS records are not logged
    text = data[:_DEBUG_MAX].decode("latin-1").rstrip()
    if kind != 0:
        text = _SECRET_FIELD.sub(r"\1: <hidden>", text)
    for line in text.splitlines():
        curl_log.debug("%s %s", prefix, line)
