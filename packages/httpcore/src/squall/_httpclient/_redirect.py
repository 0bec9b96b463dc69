"""Following redirects (RFC 9110 §15.4): the request to send next.

Sans-I/O: `redirect_request` turns a request and the 3xx answer to it into
the next request, or None when the answer is to be returned as it is.
"""

from __future__ import annotations

import copy
import urllib.parse

from squall._httpclient._request import HTTPRequest
from squall.httputil import HTTPHeaders

__all__ = ["REDIRECT_CODES", "redirect_request"]

#: The statuses followed (RFC 9110 §15.4.2-§15.4.9; 300 and 304 are not
#: redirects to follow, 305 and 306 are obsolete).
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

#: Fields that describe the request's content, dropped with it when a
#: redirect turns the request into a GET (RFC 9110 §15.4).
_CONTENT_FIELDS = ("Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding")

#: Credentials that must not follow a redirect to another origin (as
#: browsers and curl do): the new server was chosen by the old one.
_CREDENTIAL_FIELDS = ("Authorization", "Cookie")


def _origin(url: urllib.parse.SplitResult) -> tuple[str, str, int | None]:
    scheme = url.scheme.lower()
    try:
        port = url.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if scheme == "https" else 80
    return scheme, (url.hostname or "").lower(), port


def redirect_request(request: HTTPRequest, code: int, location: str | None) -> HTTPRequest | None:
    """Return the request that follows `request`'s `code` answer to `location`.

    None if the answer is not a redirect to follow: `code` is not one of
    `REDIRECT_CODES`, there is no ``Location``, it is not an ``http`` or
    ``https`` URL, ``follow_redirects`` is off or ``max_redirects`` is
    exhausted.

    The new request is a copy with the URL resolved against the old one
    (RFC 9110 §10.2.2), one redirect fewer allowed, and:

    - 303 turns any method but HEAD into GET; 301 and 302 turn POST into GET
      (what every client does, RFC 9110 §15.4.2-3); the body and its
      ``Content-*`` fields are dropped.  307 and 308 keep method and body.
    - ``Host`` is dropped (it is the new URL's).
    - For another origin (scheme, host or port), ``Authorization`` and
      ``Cookie`` fields and the ``auth_username``/``auth_password`` are
      dropped: credentials are not sent to a server the old one picked.
    """
    if code not in REDIRECT_CODES or not location:
        return None
    if not request.follow_redirects or (request.max_redirects or 0) <= 0:
        return None
    try:
        old_url = urllib.parse.urlsplit(request.url)
        new_url = urllib.parse.urlsplit(urllib.parse.urljoin(request.url, location.strip()))
    except ValueError:
        return None
    if new_url.scheme.lower() not in ("http", "https") or not new_url.hostname:
        return None
    new = copy.copy(request)
    new.url = urllib.parse.urlunsplit(new_url)
    new.max_redirects = request.max_redirects - 1  # type: ignore[operator]
    headers = HTTPHeaders(request.headers)
    headers.pop("Host", None)
    method = request.method.upper()
    if (code == 303 and method != "HEAD") or (code in (301, 302) and method == "POST"):
        new.method = "GET"
        new.body = None
        new.body_producer = None
        new.expect_100_continue = False
        for name in _CONTENT_FIELDS:
            headers.pop(name, None)
    if _origin(old_url) != _origin(new_url):
        for name in _CREDENTIAL_FIELDS:
            headers.pop(name, None)
        new.auth_username = None
        new.auth_password = None
    new.headers = headers
    return new
