"""Fixtures shared by squall-httpcore's tests.

- ``io_loop``: a fresh IOLoop of the configured class (asyncio, or uvloop
  when the suite runs with ``SQUALL_IOLOOP=uvloop``), closed afterwards
  (squall-testing's pytest plugin will provide it once it lands);
- ``tls_ca``: a throw-away certificate authority (trustme) for the session,
  with a certificate for ``localhost``, ``127.0.0.1`` and ``::1``
  (``tls_server_cert``); ``server_ssl_context`` / ``client_ssl_context``
  are contexts that use and trust it.
"""

from __future__ import annotations

import pathlib
import ssl
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import trustme

if TYPE_CHECKING:
    from squall.ioloop import IOLoop


@pytest.fixture
def io_loop() -> Iterator[IOLoop]:
    from squall.ioloop import IOLoop

    loop = IOLoop()
    try:
        yield loop
    finally:
        loop.close(all_fds=True)


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_server_cert(tls_ca: trustme.CA) -> trustme.LeafCert:
    return tls_ca.issue_cert("localhost", "127.0.0.1", "::1")


@pytest.fixture
def server_ssl_context(tls_server_cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_server_cert.configure_cert(context)
    return context


@pytest.fixture
def client_ssl_context(tls_ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    tls_ca.configure_trust(context)
    return context


# The test modules share scripted peers (httpcore_peers.py, beside this file).
sys.path.insert(0, str(pathlib.Path(__file__).parent))
