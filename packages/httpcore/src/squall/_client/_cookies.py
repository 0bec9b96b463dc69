"""The cookies of a session: a standard `http.cookiejar.CookieJar` fed and read per request.

The jar implements the Netscape/RFC 6265 rules (domains, paths, expiry,
``Secure``); it reads requests and responses through the small interfaces
of `urllib.request.Request` and ``response.info().get_all()``.
"""

from __future__ import annotations

import urllib.request
from http.cookiejar import Cookie, CookieJar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from squall._client._request import HttpRequest
    from squall._client._response import HttpResponse

__all__ = ["add_cookie_header", "extract_cookies", "session_cookie"]


def session_cookie(name: str, value: str) -> Cookie:
    """A cookie given to the session: sent to every host (domain ``""``), every path."""
    return Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain="",
        domain_specified=False,
        domain_initial_dot=False,
        path="/",
        path_specified=True,
        secure=False,
        expires=None,
        discard=True,
        comment=None,
        comment_url=None,
        rest={},
    )


def _carrier(request: HttpRequest) -> urllib.request.Request:
    return urllib.request.Request(request.url, method=request.method)


def add_cookie_header(jar: CookieJar, request: HttpRequest) -> None:
    """Set `request`'s ``Cookie``: the jar's cookies for its URL, then its own ``cookies``.

    A ``Cookie`` header set by the caller is left as it is.
    """
    if "Cookie" in request.headers:
        return
    header = None
    if len(jar):  # (a urllib Request per request costs: only when needed)
        carrier = _carrier(request)
        jar.add_cookie_header(carrier)
        header = carrier.get_header("Cookie")
    pairs = [pair for pair in header.split("; ") if pair] if header else []
    if request.cookies:
        pairs = [pair for pair in pairs if pair.split("=", 1)[0] not in request.cookies]
        pairs += [f"{name}={value}" for name, value in request.cookies.items()]
    if pairs:
        request.headers["Cookie"] = "; ".join(pairs)


def extract_cookies(jar: CookieJar, request: HttpRequest, response: HttpResponse) -> None:
    """Store in `jar` the cookies `response` sets (the jar decides which it accepts)."""
    if "Set-Cookie" in response.headers:
        jar.extract_cookies(response, _carrier(request))  # type: ignore[arg-type]
