"""TLS helpers: `ssl_options_to_context` and `ssl_wrap_socket`.

The ``ssl_options`` dictionaries of Tornado 4 hold the keyword arguments of
the old ``ssl.wrap_socket`` function (removed in Python 3.12); they are
turned into an `ssl.SSLContext` here, once, by the components that accept
both forms.
"""

from __future__ import annotations

import socket
import ssl
import warnings
from collections.abc import Mapping
from typing import Any

__all__ = ["ssl_options_to_context", "ssl_wrap_socket"]

#: The keys an ``ssl_options`` dictionary may hold: the context-related
#: arguments of ``ssl.wrap_socket``.
_SSL_OPTION_KEYS = frozenset(
    {"ssl_version", "certfile", "keyfile", "cert_reqs", "ca_certs", "ciphers"}
)


def ssl_options_to_context(
    ssl_options: Mapping[str, Any] | ssl.SSLContext, server_side: bool | None = None
) -> ssl.SSLContext:
    """Return an `ssl.SSLContext` for `ssl_options`.

    An `ssl.SSLContext` is returned unchanged.  A dictionary holds the
    arguments of the old ``ssl.wrap_socket``: ``certfile`` and ``keyfile``
    (the certificate chain to present), ``cert_reqs`` (``ssl.CERT_NONE``,
    ``CERT_OPTIONAL`` or ``CERT_REQUIRED``: whether to verify the peer),
    ``ca_certs`` (the CA file to verify it with), ``ciphers`` (an OpenSSL
    cipher string) and ``ssl_version`` (an ``ssl.PROTOCOL_*`` constant).

    `server_side` says which end the context is for, and sets the defaults:

    - ``True``: a server context; client certificates are not requested
      unless ``cert_reqs`` says so.
    - ``False``: a client context that verifies the server's certificate
      and host name (against ``ca_certs``, else the system's CA store)
      unless ``cert_reqs`` is ``ssl.CERT_NONE``.
    - ``None`` (the Tornado 4 behaviour): a context usable on either end,
      with ``ssl.wrap_socket``'s defaults: no verification unless
      ``cert_reqs`` asks for it.

    TLS compression is disabled (CRIME), and TLS 1.2 is the minimum version
    unless ``ssl_version`` chooses a protocol.

    :raises ValueError: if the dictionary has keys other than those above
        (the message names them).
    :raises OSError: (`ssl.SSLError`, `FileNotFoundError`...) if a
        certificate, key or CA file cannot be loaded.
    """
    if isinstance(ssl_options, ssl.SSLContext):
        return ssl_options
    unknown = set(ssl_options) - _SSL_OPTION_KEYS
    if unknown:
        raise ValueError(
            f"unknown ssl_options keys: {', '.join(sorted(map(repr, unknown)))} "
            f"(expected some of {', '.join(sorted(_SSL_OPTION_KEYS))})"
        )
    context = _new_context(ssl_options.get("ssl_version"), server_side)
    if "cert_reqs" in ssl_options:
        cert_reqs = ssl.VerifyMode(ssl_options["cert_reqs"])
        if cert_reqs == ssl.CERT_NONE:
            # Must go first: a context checking host names refuses CERT_NONE.
            context.check_hostname = False
        context.verify_mode = cert_reqs
    if ssl_options.get("certfile"):
        context.load_cert_chain(ssl_options["certfile"], ssl_options.get("keyfile"))
    if ssl_options.get("ca_certs"):
        context.load_verify_locations(ssl_options["ca_certs"])
    elif server_side is False and context.verify_mode != ssl.CERT_NONE:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if ssl_options.get("ciphers"):
        context.set_ciphers(ssl_options["ciphers"])
    # Compression leaks secrets through the size of the ciphertext (CRIME).
    context.options |= ssl.OP_NO_COMPRESSION
    return context


def _new_context(ssl_version: int | None, server_side: bool | None) -> ssl.SSLContext:
    if ssl_version is not None:
        # The caller's explicit choice, deprecation warnings included.
        return ssl.SSLContext(ssl_version)
    if server_side:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    elif server_side is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        # The only protocol constant whose contexts work on both ends; it is
        # deprecated only in favour of the two above, which we cannot pick
        # without knowing the side.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def ssl_wrap_socket(
    socket: socket.socket,
    ssl_options: Mapping[str, Any] | ssl.SSLContext,
    server_hostname: str | None = None,
    server_side: bool | None = None,
    **kwargs: Any,
) -> ssl.SSLSocket:
    """Return an `ssl.SSLSocket` wrapping `socket`.

    `ssl_options` is an `ssl.SSLContext` or a dictionary accepted by
    `ssl_options_to_context` (which receives `server_side`).  On the client
    side, `server_hostname` is sent for SNI and checked against the
    server's certificate when the context checks host names.  Other keyword
    arguments (``do_handshake_on_connect``, ``suppress_ragged_eofs``...) go
    to `ssl.SSLContext.wrap_socket`.

    :raises ValueError: for bad ``ssl_options`` (see `ssl_options_to_context`),
        or a client context that checks host names without `server_hostname`.
    :raises ssl.SSLError: if the handshake fails (when it runs on connect).
    """
    context = ssl_options_to_context(ssl_options, server_side=server_side)
    if server_side:
        return context.wrap_socket(socket, server_side=True, **kwargs)
    return context.wrap_socket(socket, server_hostname=server_hostname, **kwargs)
