"""`AsyncHTTPClient` (the configurable interface) and the blocking `HTTPClient`.

Public via `squall.httpclient`.  An implementation subclasses
`AsyncHTTPClient` and provides `AsyncHTTPClient.fetch_impl`; everything
else (argument handling, defaults, the per-IOLoop instance cache, the
Futures, the deprecated callback interface) lives here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import warnings
import weakref
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from squall._httpclient._errors import TRANSPORT_ERROR
from squall._httpclient._request import HTTPRequest
from squall._httpclient._response import HTTPResponse
from squall.ioloop import IOLoop
from squall.util import Configurable, import_object

__all__ = ["AsyncHTTPClient", "HTTPClient"]

#: The per-IOLoop instances, one cache per class (``AsyncHTTPClient()`` and
#: ``SimpleAsyncHTTPClient()`` are cached separately, as in Tornado).
_InstanceCache = weakref.WeakKeyDictionary[IOLoop, "AsyncHTTPClient"]
_instance_caches: weakref.WeakKeyDictionary[type, _InstanceCache] = weakref.WeakKeyDictionary()


#: The default implementation (the plugin named "simple").
_DEFAULT_IMPLEMENTATION = "squall.simple_httpclient.SimpleAsyncHTTPClient"


def _deprecated(what: str, instead: str, stacklevel: int = 3) -> None:
    warnings.warn(f"{what} is deprecated; {instead}", DeprecationWarning, stacklevel=stacklevel)


class AsyncHTTPClient(Configurable):
    """A non-blocking HTTP client.

    ::

        async def f():
            http_client = AsyncHTTPClient()
            try:
                response = await http_client.fetch("http://www.example.com/")
            except HTTPClientError as e:
                print("Error:", e)        # a non-2xx response, or code 599
            else:
                print(response.body)

    The constructor is a factory: it returns an instance of the configured
    implementation (`squall.simple_httpclient.SimpleAsyncHTTPClient` unless
    `configure` chose another), and one instance per `IOLoop` is reused
    (a pseudo-singleton): ``AsyncHTTPClient()`` returns the same object
    each time on a given loop, ignoring its arguments after the first time.
    ``force_instance=True`` creates a new, private instance instead, which
    the caller should `close`.  Use `configure` rather than constructor
    arguments for the shared instance::

        AsyncHTTPClient.configure("simple", max_clients=50)
        AsyncHTTPClient.configure(None, defaults=dict(user_agent="MyUserAgent"))
        client = AsyncHTTPClient(force_instance=True,
                                 defaults=dict(user_agent="MyUserAgent"))

    Every implementation accepts ``defaults``: values for the `HTTPRequest`
    attributes that a request leaves at None.

    The ``io_loop`` argument (Tornado 4) is deprecated: the client belongs
    to the current IOLoop.
    """

    __module__ = "squall.httpclient"

    configurable_entry_point_group: ClassVar[str | None] = "squall.httpclient"

    defaults: dict[str, Any]
    _io_loop_ref: weakref.ref[IOLoop]
    _instance_cache: _InstanceCache | None = None
    _closed: bool = True

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return AsyncHTTPClient

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        # The implementation sits in a layer above this interface: imported
        # by name, as a plugin would be.
        default: type[Configurable] = import_object(_DEFAULT_IMPLEMENTATION)
        return default

    @classmethod
    def _async_clients(cls) -> _InstanceCache:
        cache = _instance_caches.get(cls)
        if cache is None:
            cache = _instance_caches[cls] = weakref.WeakKeyDictionary()
        return cache

    def __new__(
        cls,
        io_loop: IOLoop | bool | None = None,
        force_instance: bool = False,
        **kwargs: Any,
    ) -> Any:
        if isinstance(io_loop, bool):
            # Tornado 6's signature: force_instance is the first parameter.
            force_instance = io_loop
        elif isinstance(io_loop, IOLoop):
            _deprecated("the io_loop argument of AsyncHTTPClient", "the current IOLoop is used")
        elif io_loop is not None:
            raise TypeError(
                f"{cls.__name__}() takes keyword arguments only (besides the deprecated "
                f"io_loop and force_instance), not {io_loop!r}"
            )
        loop = io_loop if isinstance(io_loop, IOLoop) else IOLoop.current()
        cache: _InstanceCache | None = None
        if not force_instance:
            cache = cls._async_clients()
            cached = cache.get(loop)
            if cached is not None:
                return cached
        instance = super().__new__(cls, **kwargs)
        instance._io_loop_ref = weakref.ref(loop)
        instance._instance_cache = cache
        if cache is not None:
            cache[loop] = instance
        return instance

    def initialize(self, defaults: Mapping[str, Any] | None = None) -> None:
        """Set up the client; implementations extend this (with keyword arguments).

        :arg defaults: values for the `HTTPRequest` attributes left at None.
        """
        self._io_loop_ref = weakref.ref(IOLoop.current())
        self.defaults = dict(HTTPRequest._DEFAULTS)
        if defaults is not None:
            self.defaults.update(defaults)
        self._closed = False

    @property
    def io_loop(self) -> IOLoop:
        """The IOLoop this client belongs to."""
        loop = self._io_loop_ref()
        if loop is None:
            raise RuntimeError("the IOLoop of this AsyncHTTPClient no longer exists")
        return loop

    def close(self) -> None:
        """Destroy this client, freeing its connections and other resources.

        Not needed in normal use: the shared instance lives as long as its
        IOLoop.  Useful when the IOLoop is about to close, or for a client
        made with ``force_instance=True``.  No other method may be called
        afterwards (except `close`, which does nothing again).

        :raises RuntimeError: if the per-IOLoop cache holds another instance
            in this client's place (it was corrupted).
        """
        if self._closed:
            return
        self._closed = True
        cache = self._instance_cache
        if cache is not None:
            loop = self._io_loop_ref()
            cached = cache.get(loop) if loop is not None else None
            if cached is not None and cached is not self:
                raise RuntimeError("inconsistent AsyncHTTPClient cache")
            if cached is self and loop is not None:
                del cache[loop]

    async def _wait_closed(self) -> None:
        """After `close`: wait (briefly, bounded) until its connections are really closed.

        Used by `HTTPClient.close` before it closes its IOLoop, so that no
        socket is left behind half-closed.  Implementations with connections
        override it.
        """
        for _ in range(3):
            await asyncio.sleep(0)

    def fetch(
        self,
        request: HTTPRequest | str,
        callback: Callable[[HTTPResponse], object] | bool | None = None,
        raise_error: bool = True,
        **kwargs: Any,
    ) -> asyncio.Future[HTTPResponse]:
        """Execute a request, returning a Future of its `HTTPResponse`.

        `request` is an `HTTPRequest`, or a URL from which one is built with
        the other keyword arguments: ``HTTPRequest(request, **kwargs)``.

        By default the Future fails with an `HTTPClientError` when the
        response's status is not 2xx (``error.response`` holds it) or when
        no response could be obtained (code 599: connection refused,
        timeout, malformed response...).  With ``raise_error=False`` the
        Future always resolves with the response; check its ``error`` (or
        call `HTTPResponse.rethrow`).  Arguments that are wrong in
        themselves (an unsupported URL scheme or method...) fail it with
        `ValueError` either way.

        A bool in `callback`'s place is `raise_error` (Tornado 6's order).
        `callback` (deprecated: await the Future) is called with the
        response, which carries any error as with ``raise_error=False``;
        the Future then always resolves with the response.

        :raises RuntimeError: if the client is closed.
        :raises ValueError: if `request` is an `HTTPRequest` and keyword
            arguments are given too.
        """
        if self._closed:
            raise RuntimeError("fetch() called on closed AsyncHTTPClient")
        if isinstance(callback, bool):
            # Tornado 6's signature: raise_error is the second parameter.
            raise_error, callback = callback, None
        if not isinstance(request, HTTPRequest):
            request = HTTPRequest(url=request, **kwargs)
        elif kwargs:
            raise ValueError("kwargs can't be used if request is an HTTPRequest object")
        original = request
        loop = self._io_loop_ref()  # `io_loop`, without the property's call
        if loop is None:
            raise RuntimeError("the IOLoop of this AsyncHTTPClient no longer exists")
        future: asyncio.Future[HTTPResponse] = loop.asyncio_loop.create_future()
        if callback is not None:
            _deprecated(
                "the callback argument of AsyncHTTPClient.fetch", "await the returned Future"
            )
            future.add_done_callback(functools.partial(self._run_callback, callback))

        def handle_response(response: HTTPResponse) -> None:
            if future.done():
                return
            response.request = original
            error = response.error
            if (
                error is not None
                and callback is None
                and (raise_error or isinstance(error, ValueError))
            ):
                future.set_exception(error)
                return
            future.set_result(response)

        try:
            self.fetch_impl(request._with_defaults(self.defaults), handle_response)
        except Exception as exc:
            if callback is None:
                future.set_exception(exc)
            else:
                handle_response(HTTPResponse(original, TRANSPORT_ERROR, error=exc))
        return future

    @staticmethod
    def _run_callback(
        callback: Callable[[HTTPResponse], object], future: asyncio.Future[HTTPResponse]
    ) -> None:
        if not future.cancelled():
            IOLoop.current().add_callback(callback, future.result())

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        """Start `request`; call `callback` with its `HTTPResponse`, once.

        What implementations provide.  `request` has the client's defaults
        applied (a copy: do not modify its headers).  Every failure is
        reported through `callback`, as a response whose ``error`` is set
        (code 599 when there is no HTTP response; a `ValueError` for
        invalid arguments); `callback` may run before this returns.
        """
        raise NotImplementedError

    @classmethod
    def configure(cls, impl: type[Configurable] | str | None, **kwargs: Any) -> None:
        """Choose the `AsyncHTTPClient` implementation, and its constructor arguments.

        `impl` is a subclass, a path (``"package.module:Class"`` or
        ``"package.module.Class"``), the name of a plugin registered in the
        ``squall.httpclient`` entry-point group (``"simple"``, ``"curl"``),
        or None for the default (`SimpleAsyncHTTPClient`).  Keyword
        arguments are passed to each instance made afterwards; for example
        ``max_clients`` (the most simultaneous ``fetch`` operations per
        IOLoop) and ``defaults``::

            AsyncHTTPClient.configure("curl", max_clients=100)

        :raises squall.util.PluginNotFoundError: (a `ValueError`) if no
            installed plugin has that name; the message lists those that do.
        :raises ImportError: if a path or plugin cannot be imported (naming
            the extra to install, such as ``squall-httpcore[curl]``).
        :raises ValueError: if `impl` is not an `AsyncHTTPClient` subclass.
        """
        super().configure(impl, **kwargs)


class HTTPClient:
    """A blocking HTTP client, for scripts and tests.

    It runs its own private IOLoop (of the configured class) while it
    fetches; most applications, which run an IOLoop already, want
    `AsyncHTTPClient` instead::

        http_client = HTTPClient()
        try:
            response = http_client.fetch("http://www.example.com/")
            print(response.body)
        except HTTPClientError as e:
            # A non-2xx response (in e.response), or code 599.
            print("Error: " + str(e))
        http_client.close()

    `async_client_class` is the `AsyncHTTPClient` class to use (the
    configured one by default); other keyword arguments go to its
    constructor (with ``force_instance=True``).

    Called in a thread whose event loop is running (which blocks that loop
    for the duration, as it did in Tornado 4), it runs its private loop on
    a helper thread.  It does not change `IOLoop.current`.  An HTTPClient
    must not be used from several threads at once.
    """

    __module__ = "squall.httpclient"

    _closed = True
    _executor: concurrent.futures.ThreadPoolExecutor | None = None

    def __init__(
        self, async_client_class: type[AsyncHTTPClient] | None = None, **kwargs: Any
    ) -> None:
        self._io_loop = IOLoop(make_current=False)
        client_class = AsyncHTTPClient if async_client_class is None else async_client_class

        async def make_client() -> AsyncHTTPClient:
            client: AsyncHTTPClient = client_class(force_instance=True, **kwargs)
            return client

        try:
            self._async_client = self._run(make_client)
        except BaseException:
            self._io_loop.close(all_fds=True)
            raise
        self._closed = False

    def _run(self, func: Callable[[], Any]) -> Any:
        """Run `func` (and what it returns, if awaitable) on the private loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._io_loop.run_sync(func)
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="squall-HTTPClient"
            )
        return self._executor.submit(self._io_loop.run_sync, func).result()

    def __del__(self) -> None:
        # Like Tornado: an unclosed client frees its loop when collected.
        if not self._closed:
            try:
                self.close()
            except Exception:  # pragma: no cover - interpreter shutdown
                pass

    def close(self) -> None:
        """Close the client and its IOLoop, freeing their resources.

        Closing twice does nothing.
        """
        if self._closed:
            return
        self._closed = True
        client = self._async_client

        async def close_client() -> None:
            client.close()
            await client._wait_closed()

        try:
            self._run(close_client)
        finally:
            self._io_loop.close(all_fds=True)
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None

    def fetch(self, request: HTTPRequest | str, **kwargs: Any) -> HTTPResponse:
        """Execute a request and return its `HTTPResponse`.

        `request` is an `HTTPRequest` or a URL (other keyword arguments then
        build the request: ``HTTPRequest(request, **kwargs)``).

        :raises HTTPClientError: for a non-2xx response or when no response
            was received (code 599), unless ``raise_error=False`` is given,
            in which case the response is returned with its ``error`` set.
        :raises RuntimeError: if the client is closed.
        """
        if self._closed:
            raise RuntimeError("fetch() called on closed HTTPClient")
        response: HTTPResponse = self._run(
            functools.partial(self._async_client.fetch, request, **kwargs)
        )
        return response
