"""`HttpClient`: a requests-style session over `SimpleAsyncHTTPClient`.

How a request goes (`HttpClient._send`):

1. The arguments and the session's defaults make an `HttpRequest` (its
   ``auth`` prepares it); ``pre_request`` handlers run; the session's
   cookies for the URL are added.
2. One lower-layer fetch per hop (``follow_redirects=False``: redirects are
   followed here so that each hop is an `HttpResponse` in ``history`` and
   gets the cookies of the jar).  Its head callback (``_head_callback``:
   the head as the lower layer parsed it) fills the head and fires
   ``on_headers`` (and stores cookies); its ``streaming_callback`` feeds
   the body and the ``data_received``/``data_processed`` events.
3. On a redirect the body is drained and the next request is built
   (`HttpRequest.redirected`).  Otherwise the response is returned when
   complete, or, with ``stream=True``, as soon as its head is in, its body
   following through ``response.raw``.  ``post_request`` handlers run when
   the body is complete (or the request failed, with ``exc``).

Synchronous mode: given a ``loop`` that is not running, the request methods
run it until the response is complete and return the response.
"""

from __future__ import annotations

import asyncio
import inspect
import ssl
import urllib.parse
import urllib.request
from collections.abc import Mapping
from http.cookiejar import CookieJar
from importlib import metadata
from typing import Any

import certifi

from squall._client._cookies import add_cookie_header, extract_cookies, session_cookie
from squall._client._errors import HttpConnectionError, TooManyRedirects, translate
from squall._client._events import EVENTS, Event, Handler, as_handlers, fire_once
from squall._client._request import HttpRequest
from squall._client._response import HttpResponse
from squall._httpclient._decode import ACCEPT_ENCODING
from squall._httpclient._errors import HTTPStreamClosedError
from squall._httpclient._redirect import REDIRECT_CODES
from squall._httpclient._response import HTTPResponse
from squall._httpclient._simple import SimpleAsyncHTTPClient
from squall.httputil import HTTPHeaders, ResponseStartLine

__all__ = ["HttpClient"]


def _version() -> str:
    try:
        return metadata.version("squall-httpcore")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree
        return "0"


#: The transport errors of a fetch (code 599 in the lower layer).
_TRANSPORT_ERROR = 599


class HttpClient:
    """A client for HTTP/HTTPS servers, with a pool of connections and a cookie jar.

    ::

        from squall.client import HttpClient

        async def main():
            async with HttpClient() as sessions:
                response = await sessions.get("https://example.com/", params={"page": 2})
                response.raise_for_status()
                return response.text()

    :arg dict proxies: scheme (``"http"``, ``"https"``, ``"all"``) to proxy
        URL; ``"no"``: comma-separated hosts reached directly.
    :arg headers: default headers of every request (over
        `DEFAULT_HTTP_HEADERS`).
    :arg verify: verify servers' TLS certificates (True), not (False), or
        against the CA certificates of the given file.
    :arg cookies: cookies (name to value) sent to every host.
    :arg bool store_cookies: keep the cookies servers set (in ``cookies``,
        an `http.cookiejar.CookieJar`) and send them back.
    :arg cert: the client certificate: a file with certificate and key, or
        a pair of files ``(cert, key)``.
    :arg int max_redirects: the most redirects followed by a request.
    :arg bool decompress: decompress gzip and deflate bodies.
    :arg str version: the HTTP version: only ``"HTTP/1.1"``.
    :arg bool trust_env: take proxies from the environment (``http_proxy``,
        ``https_proxy``, ``no_proxy``...) unless `proxies` says otherwise.
    :arg loop: an event loop for the synchronous mode (see the module).
    :arg str client_version: the ``User-Agent``.
    :arg float timeout: seconds for the connection and for each request
        (None or 0: none).
    :arg bool stream: the default of the requests' ``stream``.
    :arg int pool_size: the most requests in progress at once (more are
        queued) and the most idle connections kept alive.
    :arg float keep_alive: seconds an idle connection is kept (default 30).
    :arg bool close_connections: close each connection after its response
        (``Connection: close``) instead of keeping it alive.

    ``websocket_handler`` and ``frame_parser`` (WebSocket upgrades) are not
    supported; ``parser`` and ``logger`` are accepted and ignored.
    """

    __module__ = "squall.client"

    #: Default headers of every request.  ``Accept-Encoding`` is sent even
    #: with ``decompress=False`` (as requests and pulsar do): the body is
    #: then left as the server encoded it.
    DEFAULT_HTTP_HEADERS = HTTPHeaders(
        {"Connection": "keep-alive", "Accept-Encoding": ACCEPT_ENCODING, "Accept": "*/*"}
    )
    #: The ``User-Agent``.
    client_version = f"squall/{_version()}"
    #: The most redirects followed, unless a request says otherwise.
    max_redirects = 10
    #: The HTTP version of requests.
    version = "HTTP/1.1"

    def __init__(
        self,
        proxies: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | HTTPHeaders | None = None,
        verify: bool | str = True,
        cookies: Mapping[str, str] | None = None,
        store_cookies: bool = True,
        cert: str | tuple[str, str] | None = None,
        max_redirects: int = 10,
        decompress: bool = True,
        version: str | None = None,
        websocket_handler: Any = None,
        parser: Any = None,
        trust_env: bool = True,
        loop: asyncio.AbstractEventLoop | None = None,
        client_version: str | None = None,
        timeout: float | None = None,
        stream: bool = False,
        pool_size: int = 10,
        frame_parser: Any = None,
        logger: Any = None,
        close_connections: bool = False,
        keep_alive: float | None = None,
    ) -> None:
        if websocket_handler is not None or frame_parser is not None:
            raise NotImplementedError("squall.client does not do WebSocket upgrades")
        if version not in (None, "HTTP/1.1"):
            raise ValueError(
                f"Unsupported HTTP version {version!r}: squall.client speaks HTTP/1.1"
            )
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.headers = HTTPHeaders(self.DEFAULT_HTTP_HEADERS)
        self.client_version = client_version or self.client_version
        self.headers["User-Agent"] = self.client_version
        if close_connections:
            self.headers["Connection"] = "close"
        if headers:
            items = headers.get_all() if isinstance(headers, HTTPHeaders) else headers.items()
            for name, value in items:
                self.headers[name] = value
        self.proxies = dict(proxies) if proxies else {}
        self.verify = verify
        self.cert = cert
        self.cookies = CookieJar()
        for name, value in (cookies or {}).items():
            self.cookies.set_cookie(session_cookie(name, value))
        self.store_cookies = store_cookies
        self.max_redirects = max_redirects
        self.decompress = decompress
        self.trust_env = trust_env
        self.timeout = timeout
        self.stream = stream
        self.pool_size = pool_size
        self.keep_alive = keep_alive
        self.close_connections = close_connections
        self.parser = parser
        self.logger = logger
        # A squall IOLoop stands for the asyncio loop it wraps.
        self._loop: asyncio.AbstractEventLoop | None = getattr(loop, "asyncio_loop", loop)
        self._events = {name: Event(name) for name in EVENTS}
        self._http: SimpleAsyncHTTPClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ssl_contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
        self._closed = False

    # -- events -----------------------------------------------------------

    def event(self, name: str) -> Event:
        """The session's `Event` `name` (``client.event("on_headers").bind(handler)``).

        :raises KeyError: for an unknown event name.
        """
        return self._events[name]

    # -- requests ---------------------------------------------------------

    def get(self, url: str, **kwargs: Any) -> Any:
        """Send a GET request; see `request`."""
        return self.request("GET", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> Any:
        """Send an OPTIONS request; see `request`."""
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Any:
        """Send a HEAD request (redirects not followed unless asked); see `request`."""
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        """Send a POST request; see `request`."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        """Send a PUT request; see `request`."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        """Send a PATCH request; see `request`."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        """Send a DELETE request; see `request`."""
        return self.request("DELETE", url, **kwargs)

    # The return type is Any because of the synchronous mode: a coroutine
    # resolving to an HttpResponse, or (loop given, not running) the
    # HttpResponse itself.
    def request(self, method: str, url: str, **params: Any) -> Any:
        """Send a request; return a coroutine resolving to its `HttpResponse`.

        ``params`` are those of `HttpRequest` (``params``, ``headers``,
        ``data``, ``files``, ``json``, ``auth``, ``cookies``,
        ``allow_redirects``, ``max_redirects``, ``stream``, ``timeout``,
        ``verify``, ``cert``, ``proxies``, ``decompress``...) and handlers
        for this request only: ``pre_request``, ``on_headers``,
        ``post_request``, ``data_received``, ``data_processed`` (a callable
        or a list of them).

        In synchronous mode (a ``loop`` given to the client and not
        running) the loop is run and the `HttpResponse` returned.

        :raises HttpConnectionError: no complete response (`HttpTimeout`,
            `SSLError` in particular).
        :raises TooManyRedirects: more than ``max_redirects`` redirects.
        :raises ValueError: for an unsupported URL or invalid arguments.
        """
        coroutine = self._request(method, url, **params)
        loop = self._loop
        if loop is not None and not loop.is_running():
            return loop.run_until_complete(coroutine)
        return coroutine

    async def _request(self, method: str, url: str, **params: Any) -> HttpResponse:
        if self._closed:
            raise RuntimeError("The HttpClient is closed")
        handlers: dict[str, list[Handler]] = {}
        events = self._events
        for name in EVENTS:
            extra = params.pop(name, None)
            # (`Event.handlers`, without its call: the handlers of the request alone.)
            handlers[name] = list(events[name]._handlers)
            if extra is not None:
                handlers[name] += as_handlers(extra)
        if params.get("allow_redirects") is None:
            params["allow_redirects"] = method.upper() != "HEAD"
        for name, default in (
            ("max_redirects", self.max_redirects),
            ("stream", self.stream),
            ("verify", self.verify),
            ("cert", self.cert),
            ("decompress", self.decompress),
            ("timeout", self.timeout),
        ):
            if params.get(name) is None:
                params[name] = default
        request = HttpRequest(self, url, method, **params)
        return await self._send(request, handlers)

    def proxy_for(self, url: str, proxies: Mapping[str, str] | None = None) -> str | None:
        """The proxy URL for `url` (from `proxies`, the session's, the environment), or None."""
        merged: dict[str, str] = {}
        if self.trust_env:
            merged.update(urllib.request.getproxies_environment())
        merged.update(self.proxies)
        if proxies:
            merged.update(proxies)
        if not merged:
            return None  # (the usual case: no proxy at all, without parsing the URL)
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        proxy = merged.get(scheme) or merged.get("all")
        if not proxy:
            return None
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if merged.get("no") and bypass(host, merged):
            return None
        if "://" not in proxy:
            proxy = f"http://{proxy}"
        return proxy

    def ssl_context(
        self,
        verify: bool = True,
        cafile: str | None = None,
        capath: str | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
    ) -> ssl.SSLContext:
        """A client TLS context (made once per set of arguments, then reused).

        Requests make their contexts themselves; this is for a CA directory
        (``verify="/etc/ssl/certs"``), which the lower layer does not take.
        """
        key = (verify, cafile, capath, certfile, keyfile)
        context = self._ssl_contexts.get(key)
        if context is None:
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH,
                cafile=cafile if cafile or capath else certifi.where(),
                capath=capath,
            )
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if certfile:
                context.load_cert_chain(certfile, keyfile)
            self._ssl_contexts[key] = context
        return context

    # -- sending ----------------------------------------------------------

    def _http_client(self) -> SimpleAsyncHTTPClient:
        loop = asyncio.get_running_loop()
        http = self._http
        if http is None:
            options: dict[str, Any] = {}
            if self.keep_alive is not None:
                options["idle_timeout"] = self.keep_alive
            http = SimpleAsyncHTTPClient(
                force_instance=True,
                max_clients=self.pool_size,
                max_idle_connections=0 if self.close_connections else self.pool_size,
                **options,
            )
            self._http = http
            self._http_loop = loop
        elif self._http_loop is not loop:
            raise RuntimeError("This HttpClient is in use in another event loop")
        return http

    async def _send(
        self, request: HttpRequest, handlers: dict[str, list[Handler]]
    ) -> HttpResponse:
        http = self._http_client()
        history: list[HttpResponse] = []
        while True:
            response = HttpResponse(request, history)
            response.handlers = handlers
            if handlers["pre_request"]:
                await fire_once(handlers["pre_request"], response, None)
            add_cookie_header(self.cookies, request)
            try:
                await self._start(http, request, response)
                code = response.status_code
                follow = None
                if code in REDIRECT_CODES:
                    follow = request.redirected(code, response.headers.get("Location"))
                if follow is None and request.stream:
                    self._post_request_later(response)
                    return response
                await response._done
                if response.raw._error is not None:
                    raise response.raw._error
            except asyncio.CancelledError:
                # The caller gave up (asyncio.wait_for...): the fetch must not
                # hold its connection and its pool_size slot on.
                _abort(http, response)
                raise
            except Exception as exc:
                _abort(http, response)  # e.g. a handler failed: the rest is not wanted
                await fire_once(handlers["post_request"], response, exc)
                raise
            if handlers["post_request"]:
                await fire_once(handlers["post_request"], response, None)
            if follow is None:
                return response
            history.append(response)
            if len(history) > request.max_redirects:
                raise TooManyRedirects(f"Exceeded {request.max_redirects} redirects", response)
            follow.history = history
            request = follow

    async def _start(
        self, http: SimpleAsyncHTTPClient, request: HttpRequest, response: HttpResponse
    ) -> None:
        """Send `request`; return when the head of its `response` is in."""
        loop = asyncio.get_running_loop()
        head: asyncio.Future[None] = loop.create_future()
        pending: list[Any] = []
        response._done = loop.create_future()

        def on_head(start_line: ResponseStartLine, headers: HTTPHeaders) -> None:
            response._head(start_line.version, start_line.code, start_line.reason, headers)
            if self.store_cookies:
                extract_cookies(self.cookies, request, response)
            try:
                for handler in response.handlers["on_headers"]:
                    result = handler(response)
                    if inspect.isawaitable(result):
                        pending.append(result)
            except Exception as exc:
                response.handler_error = exc
            if not head.done():
                head.set_result(None)

        lower = request.to_httprequest(streaming_callback=response._feed)
        lower._head_callback = on_head
        response._abort_key = on_head
        if http._closed:
            raise RuntimeError("fetch() called on closed AsyncHTTPClient")  # as `fetch`
        # `fetch_impl`, not `fetch`: the end of the fetch is handled as it
        # happens (`_fetched`), not by a done callback of fetch's Future a
        # loop iteration later, so that a response complete when its head
        # arrives wakes this coroutine once.  `head` is resolved by the
        # head, or else by the end of the fetch.
        try:
            http.fetch_impl(
                lower._with_defaults(http.defaults),
                lambda result: self._fetched(response, result, head),
            )
        except Exception as exc:
            self._fetched(response, exc, head)
        await head
        if not response._head_done:
            error = response.raw._error
            if error is None:  # pragma: no cover - the lower layer always gives a head
                error = HttpConnectionError(f"No response from {request.url}", response)
            raise error
        if response.handler_error is not None:
            raise response.handler_error
        for awaitable in pending:
            await awaitable

    def _fetched(
        self,
        response: HttpResponse,
        result: HTTPResponse | Exception,
        head: asyncio.Future[None],
    ) -> None:
        """The lower-layer fetch of `response` ended.

        `result` is its response, or what starting it raised.
        """
        exc: BaseException | None = None
        if isinstance(result, Exception):
            exc = result
        elif result.code == _TRANSPORT_ERROR:
            exc = result.error
        error: BaseException | None = None
        if isinstance(exc, ValueError):
            error = exc  # a request the lower layer refuses to send, as it is
        elif exc is not None:
            error = translate(exc, response)
            error.__cause__ = exc
        if response.handler_error is not None:
            error = response.handler_error
        response.raw._finish(error)
        if not response._done.done():
            response._done.set_result(None)
        if not head.done():
            head.set_result(None)  # no head came: _start raises the error

    def _post_request_later(self, response: HttpResponse) -> None:
        async def post_request() -> None:
            await response._done
            await fire_once(response.handlers["post_request"], response, response.raw._error)

        if response.handlers["post_request"]:
            task = asyncio.ensure_future(post_request())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # -- closing ----------------------------------------------------------

    def close(self) -> None:
        """Close all connections; requests in progress fail.  The client cannot be used after."""
        if self._closed:
            return
        self._closed = True
        http, self._http = self._http, None
        if http is None:
            return
        http.close()
        loop = self._loop
        if (
            loop is not None
            and loop is self._http_loop
            and not loop.is_running()
            and not loop.is_closed()
        ):
            loop.run_until_complete(http._wait_closed())

    async def aclose(self) -> None:
        """Close all connections and wait (briefly) for them to finish closing."""
        http = self._http
        self.close()
        if http is not None and self._http_loop is asyncio.get_running_loop():
            await http._wait_closed()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<HttpClient pool_size={self.pool_size}>"


def _abort(http: SimpleAsyncHTTPClient, response: HttpResponse) -> None:
    """Stop the lower-layer fetch of `response` (found by its head callback).

    SimpleAsyncHTTPClient has no public way to cancel one fetch, so this
    looks among its active and queued fetches; a fetch stopped reports an
    `HTTPStreamClosedError`, which fails ``response.raw``.
    """
    key = response._abort_key
    if key is None or response.raw.done:
        return
    for fetch in list(http.active):
        if fetch.request._head_callback is key:
            fetch.cancel("The request was cancelled")
            return
    for fetch in http.queue:
        if fetch.request._head_callback is key and not fetch.failed:
            fetch.fail(HTTPStreamClosedError("The request was cancelled"))
            return
