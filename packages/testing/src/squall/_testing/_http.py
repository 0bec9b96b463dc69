"""`AsyncHTTPTestCase` and `AsyncHTTPSTestCase`: a test server and client per test.

`squall.httpserver` and `squall.httpclient` are imported when a test
starts, not when this module is imported.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from squall._testing._case import AsyncTestCase
from squall._testing._ports import bind_unused_port
from squall._testing._timeout import get_async_test_timeout

if TYPE_CHECKING:
    from squall.httpclient import AsyncHTTPClient, HTTPResponse
    from squall.httpserver import HTTPServer

__all__ = ["CERTFILE", "KEYFILE", "AsyncHTTPSTestCase", "AsyncHTTPTestCase"]

_HERE = os.path.dirname(os.path.abspath(__file__))
#: The self-signed certificate (for localhost, 127.0.0.1 and ::1, valid
#: until 2120) that `AsyncHTTPSTestCase` serves, and its key.  The key is
#: public: never trust this certificate outside tests.
CERTFILE = os.path.join(_HERE, "test.crt")
KEYFILE = os.path.join(_HERE, "test.key")


class AsyncHTTPTestCase(AsyncTestCase):
    """A test case that starts an HTTP server on a free port for each test.

    Subclasses override `get_app` to return the application to test: a
    ``squall.web.Application``, or any other `HTTPServer` request callback
    (an ``HTTPServerConnectionDelegate``, or a function taking the
    request).  Tests typically fetch pages with ``self.fetch``::

        class TestHelloApp(AsyncHTTPTestCase):
            def get_app(self):
                return hello.make_app()

            def test_homepage(self):
                response = self.fetch("/")
                self.assertEqual(response.code, 200)
                self.assertEqual(response.body, b"Hello, world")

    or, in coroutine tests, with ``self.http_client.fetch(self.get_url(path))``.

    In `setUp` the server (``self.http_server``, listening on 127.0.0.1 at
    `get_http_port`) and the client (``self.http_client``) are created on
    the test's loop; `tearDown` stops the server, closes its connections
    (within the async test timeout) and closes the client, before the
    loop's own checks.
    """

    __module__ = "squall.testing"

    http_server: HTTPServer
    http_client: AsyncHTTPClient

    def setUp(self) -> None:
        super().setUp()
        sock, port = bind_unused_port()
        self.__port = port
        try:
            self.http_client = self.get_http_client()
            self._app = self.get_app()
            self.http_server = self.get_http_server()
        except BaseException:
            sock.close()
            raise
        self.http_server.add_sockets([sock])

    def tearDown(self) -> None:
        try:
            server = self.__dict__.pop("http_server", None)
            client = self.__dict__.pop("http_client", None)
            try:
                if server is not None:
                    server.stop()
                    self.io_loop.run_sync(
                        server.close_all_connections, timeout=get_async_test_timeout()
                    )
            finally:
                if client is not None:
                    client.close()
                self.__dict__.pop("_app", None)
        finally:
            super().tearDown()

    def get_app(self) -> Any:
        """Return the application to serve: override this.

        An ``Application``, or any `HTTPServer` request callback.

        :raises NotImplementedError: unless overridden.
        """
        raise NotImplementedError(f"{type(self).__name__} must override get_app()")

    def get_http_client(self) -> AsyncHTTPClient:
        """Return the client of ``self.http_client``: ``AsyncHTTPClient()`` by default."""
        from squall.httpclient import AsyncHTTPClient

        client: AsyncHTTPClient = AsyncHTTPClient()
        return client

    def get_http_server(self) -> HTTPServer:
        """Return the server of ``self.http_server``, serving `get_app`'s application.

        Its keyword arguments come from `get_httpserver_options`.
        """
        from squall.httpserver import HTTPServer

        return HTTPServer(self._app, **self.get_httpserver_options())

    def get_httpserver_options(self) -> dict[str, Any]:
        """Return keyword arguments for the `HTTPServer` (none by default); may be overridden."""
        return {}

    def get_http_port(self) -> int:
        """Return the port the server listens on (a new free one for each test)."""
        return self.__port

    def get_protocol(self) -> str:
        """Return the URL scheme of the server: ``"http"``."""
        return "http"

    def get_url(self, path: str) -> str:
        """Return an absolute URL of the test server for `path` (e.g. ``"/index?x=1"``)."""
        return f"{self.get_protocol()}://127.0.0.1:{self.get_http_port()}{path}"

    def fetch(self, path: str, raise_error: bool = False, **kwargs: Any) -> HTTPResponse:
        """Fetch `path` from the test server synchronously and return the response.

        `path` is appended to the server's URL, unless it already is an
        absolute ``http://`` or ``https://`` URL, which is fetched as is.
        Other keyword arguments go to ``AsyncHTTPClient.fetch``
        (``method="POST"``, ``body=...``, ``headers=...``).

        Unlike ``AsyncHTTPClient.fetch``, `raise_error` is False by default,
        since tests often check error codes: a response with a non-200 code
        is returned.  Other errors (connection failures...) are raised.

        :raises squall.util.TimeoutError: if the response did not arrive
            within `get_async_test_timeout` seconds.
        :raises squall.httpclient.HTTPError: for a non-200 response, with
            ``raise_error=True``.
        """
        __tracebackhide__ = True
        if path.lower().startswith(("http://", "https://")):
            url = path
        else:
            url = self.get_url(path)
        client = self.http_client
        return self._test_loop("fetch()").run(  # type: ignore[no-any-return]
            lambda: client.fetch(url, raise_error=raise_error, **kwargs),
            get_async_test_timeout(),
            f"fetch({url!r})",
        )


class AsyncHTTPSTestCase(AsyncHTTPTestCase):
    """A test case that starts an HTTPS server for each test.

    The same interface as `AsyncHTTPTestCase`; the server uses the
    options of `get_ssl_options` (by default a self-signed certificate for
    ``localhost`` / ``127.0.0.1`` shipped with squall.testing), and the
    client does not verify certificates.
    """

    __module__ = "squall.testing"

    def get_http_client(self) -> AsyncHTTPClient:
        """Return a private client whose requests do not verify certificates by default."""
        from squall.httpclient import AsyncHTTPClient

        client: AsyncHTTPClient = AsyncHTTPClient(
            force_instance=True, defaults={"validate_cert": False}
        )
        return client

    def get_httpserver_options(self) -> dict[str, Any]:
        """Return ``{"ssl_options": self.get_ssl_options()}``."""
        return {"ssl_options": self.get_ssl_options()}

    def get_ssl_options(self) -> Any:
        """Return the server's ``ssl_options``: a dict or an `ssl.SSLContext`.

        By default `default_ssl_options`; override to use another
        certificate.
        """
        return AsyncHTTPSTestCase.default_ssl_options()

    @staticmethod
    def default_ssl_options() -> dict[str, Any]:
        """Return ``ssl_options`` for the shipped test certificate and key."""
        return {"certfile": CERTFILE, "keyfile": KEYFILE}

    def get_protocol(self) -> str:
        """Return ``"https"``."""
        return "https"
