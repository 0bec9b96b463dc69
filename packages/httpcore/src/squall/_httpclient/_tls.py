"""The TLS contexts of the simple client.

Building an `ssl.SSLContext` and loading certifi's bundle into it costs
milliseconds, so contexts are made once per distinct set of request
options and shared.  Verification is on unless ``validate_cert=False``.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from typing import Any

import certifi

from squall._httpclient._request import HTTPRequest
from squall.netutil import ssl_options_to_context

__all__ = ["request_ssl_context"]

#: The only protocol this client speaks (RFC 7301 ALPN), announced so that
#: servers offering HTTP/2 do not have to guess.
_ALPN = ["http/1.1"]


@functools.lru_cache(maxsize=16)
def _context(
    validate_cert: bool, ca_certs: str | None, client_cert: str | None, client_key: str | None
) -> ssl.SSLContext:
    context = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=ca_certs if ca_certs else certifi.where()
    )
    if not validate_cert:
        # check_hostname must go off before verify_mode may be CERT_NONE.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert is not None:
        context.load_cert_chain(client_cert, client_key)
    context.set_alpn_protocols(_ALPN)
    return context


@functools.lru_cache(maxsize=16)
def _context_from_items(items: tuple[tuple[str, Any], ...]) -> ssl.SSLContext:
    return ssl_options_to_context(dict(items), server_side=False)


def request_ssl_context(request: HTTPRequest) -> ssl.SSLContext:
    """Return the context for an ``https`` `request` (shared between equal requests).

    ``ssl_options`` (an `ssl.SSLContext`, used as it is, or a dict of
    ``ssl.wrap_socket`` arguments) overrides ``validate_cert``, ``ca_certs``,
    ``client_cert`` and ``client_key``; without it the context trusts
    ``ca_certs`` or else certifi's bundle.

    :raises OSError: (`ssl.SSLError`, `FileNotFoundError`...) if a file
        cannot be loaded.
    :raises ValueError: for an ``ssl_options`` dict with unknown keys.
    """
    options = request.ssl_options
    if isinstance(options, ssl.SSLContext):
        return options
    if isinstance(options, Mapping):
        items = tuple(sorted(options.items()))
        try:
            hash(items)
        except TypeError:
            return ssl_options_to_context(dict(options), server_side=False)
        return _context_from_items(items)
    if options is not None:
        raise ValueError(f"ssl_options must be an ssl.SSLContext or a dict, not {options!r}")
    return _context(
        request.validate_cert is not False,
        request.ca_certs,
        request.client_cert,
        request.client_key,
    )
