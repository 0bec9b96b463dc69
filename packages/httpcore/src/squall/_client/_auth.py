"""Authentication for `squall.client`: Basic, Digest, OAuth 1 and OAuth 2 bearer tokens.

An auth is a callable that prepares a `HttpRequest` before it is sent
(``auth(request)``), by adding headers or, for Digest, by handing the
credentials to the lower layer, which answers the server's challenge.  A
tuple ``(username, password)`` is Basic authentication.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from squall._client._request import HttpRequest

__all__ = ["Auth", "HTTPBasicAuth", "HTTPDigestAuth", "OAuth1", "OAuth2", "as_auth"]


class Auth:
    """Base class of authentications: ``auth(request)`` prepares `request`."""

    __module__ = "squall.client"

    def __call__(self, request: HttpRequest) -> None:
        raise NotImplementedError


class HTTPBasicAuth(Auth):
    """HTTP Basic authentication (RFC 7617), user name and password in UTF-8."""

    __module__ = "squall.client"

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def __call__(self, request: HttpRequest) -> None:
        if ":" in self.username:
            # RFC 7617 §2: the user-id cannot contain a colon.
            raise ValueError("A Basic authentication user name cannot contain ':'")
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        request.headers["Authorization"] = f"Basic {token}"

    def __repr__(self) -> str:
        return f"HTTPBasicAuth({self.username!r}, ...)"


class HTTPDigestAuth(Auth):
    """HTTP Digest authentication (RFC 7616): the server's challenge is answered."""

    __module__ = "squall.client"

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def __call__(self, request: HttpRequest) -> None:
        request.auth_username = self.username
        request.auth_password = self.password
        request.auth_mode = "digest"

    def __repr__(self) -> str:
        return f"HTTPDigestAuth({self.username!r}, ...)"


class OAuth2(Auth):
    """An OAuth 2.0 bearer token (RFC 6750 §2.1) in the ``Authorization`` header.

    :arg str client_id: the client's identifier (kept for reference).
    :arg client: an object with an ``access_token`` (and optional
        ``token_type``) attribute, e.g. an ``oauthlib`` client; or give
    :arg str access_token: the token itself.
    """

    __module__ = "squall.client"

    def __init__(
        self,
        client_id: str | None = None,
        client: Any = None,
        *,
        access_token: str | None = None,
        token_type: str = "Bearer",
    ) -> None:
        self.client_id = client_id
        self.client = client
        self.access_token = access_token
        self.token_type = token_type

    def __call__(self, request: HttpRequest) -> None:
        token = self.access_token
        token_type = self.token_type
        if token is None and self.client is not None:
            token = getattr(self.client, "access_token", None)
            token_type = getattr(self.client, "token_type", None) or token_type
        if not token:
            raise ValueError("OAuth2 needs an access token")
        request.headers["Authorization"] = f"{token_type} {token}"


def _encode(value: str) -> str:
    # RFC 5849 §3.6: everything but the unreserved characters is
    # percent-encoded, in UTF-8.
    return urllib.parse.quote(value, safe="~")


class OAuth1(Auth):
    """OAuth 1.0 request signing (RFC 5849) in the ``Authorization`` header.

    Signs with ``HMAC-SHA1`` (the default), ``HMAC-SHA256`` or
    ``PLAINTEXT``.  The signature covers the method, the URL, its query and
    a form-encoded body (§3.4.1).  Alternatively `client` may be an
    ``oauthlib.oauth1.Client`` (anything with its ``sign(uri, http_method,
    body, headers)`` method), which then does the signing.
    """

    __module__ = "squall.client"

    def __init__(
        self,
        client_id: str | None = None,
        client: Any = None,
        *,
        client_secret: str = "",
        resource_owner_key: str | None = None,
        resource_owner_secret: str = "",
        signature_method: str = "HMAC-SHA1",
        realm: str | None = None,
        callback_uri: str | None = None,
        verifier: str | None = None,
        nonce: str | None = None,
        timestamp: str | None = None,
    ) -> None:
        if signature_method not in ("HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT"):
            raise ValueError(f"Unsupported OAuth1 signature method {signature_method!r}")
        if client is None and client_id is None:
            raise ValueError("OAuth1 needs a client_id (or an oauthlib client)")
        self.client_id = client_id
        self.client = client
        self.client_secret = client_secret
        self.resource_owner_key = resource_owner_key
        self.resource_owner_secret = resource_owner_secret
        self.signature_method = signature_method
        self.realm = realm
        self.callback_uri = callback_uri
        self.verifier = verifier
        self.nonce = nonce
        self.timestamp = timestamp

    def oauth_params(self) -> list[tuple[str, str]]:
        """The ``oauth_*`` protocol parameters of a request, without the signature."""
        params = [
            ("oauth_nonce", self.nonce or binascii.hexlify(os.urandom(16)).decode("ascii")),
            ("oauth_timestamp", self.timestamp or str(int(time.time()))),
            ("oauth_version", "1.0"),
            ("oauth_signature_method", self.signature_method),
            ("oauth_consumer_key", self.client_id or ""),
        ]
        if self.resource_owner_key:
            params.append(("oauth_token", self.resource_owner_key))
        if self.callback_uri:
            params.append(("oauth_callback", self.callback_uri))
        if self.verifier:
            params.append(("oauth_verifier", self.verifier))
        return params

    def signature(self, method: str, url: str, params: list[tuple[str, str]]) -> str:
        """The signature of a request (RFC 5849 §3.4) given all its parameters."""
        key = f"{_encode(self.client_secret)}&{_encode(self.resource_owner_secret)}"
        if self.signature_method == "PLAINTEXT":
            return key
        base = signature_base_string(method, url, params)
        digest = hashlib.sha1 if self.signature_method == "HMAC-SHA1" else hashlib.sha256
        mac = hmac.new(key.encode("utf-8"), base.encode("utf-8"), digest)
        return base64.b64encode(mac.digest()).decode("ascii")

    def __call__(self, request: HttpRequest) -> None:
        body = request.body if isinstance(request.body, bytes) else None
        content_type = request.headers.get("Content-Type", "")
        form = content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"
        if self.client is not None:
            _, headers, _ = self.client.sign(
                request.url,
                http_method=request.method,
                body=body.decode("utf-8") if form and body else None,
                headers={"Content-Type": content_type} if content_type else None,
            )
            request.headers["Authorization"] = headers["Authorization"]
            return
        oauth = self.oauth_params()
        params = list(oauth)
        params += urllib.parse.parse_qsl(
            urllib.parse.urlsplit(request.url).query, keep_blank_values=True
        )
        if form and body:
            params += urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        oauth.append(("oauth_signature", self.signature(request.method, request.url, params)))
        fields = [f'realm="{_encode(self.realm)}"'] if self.realm is not None else []
        fields += [f'{_encode(name)}="{_encode(value)}"' for name, value in oauth]
        request.headers["Authorization"] = "OAuth " + ", ".join(fields)


def signature_base_string(method: str, url: str, params: list[tuple[str, str]]) -> str:
    """The signature base string of RFC 5849 §3.4.1 (without ``realm``, ``oauth_signature``)."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    base_uri = f"{scheme}://{host}{parts.path or '/'}"
    pairs = sorted(
        (_encode(name), _encode(value))
        for name, value in params
        if name not in ("realm", "oauth_signature")
    )
    normalized = "&".join(f"{name}={value}" for name, value in pairs)
    return "&".join((method.upper(), _encode(base_uri), _encode(normalized)))


def as_auth(auth: Any) -> Auth | None:
    """A request's ``auth`` argument as an `Auth` (a pair is Basic)."""
    if auth is None or isinstance(auth, Auth):
        return auth
    if isinstance(auth, tuple | list) and len(auth) == 2:
        return HTTPBasicAuth(str(auth[0]), str(auth[1]))
    if callable(auth):
        return _CallableAuth(auth)
    raise TypeError(f"auth must be a (username, password) pair or an Auth, not {auth!r}")


class _CallableAuth(Auth):
    def __init__(self, function: Any) -> None:
        self.function = function

    def __call__(self, request: HttpRequest) -> None:
        self.function(request)
