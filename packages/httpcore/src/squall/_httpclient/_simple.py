"""`SimpleAsyncHTTPClient`: the pooling HTTP/1.1 client (public via `squall.simple_httpclient`).

How a fetch goes:

1. `SimpleAsyncHTTPClient.fetch_impl` checks the request (`_route.validate`,
   `_route.route`: a `ValueError` is raised before anything is sent) and
   starts it at once if fewer than ``max_clients`` fetches are active, or
   queues it (bounded in time by ``min(connect_timeout, request_timeout)``).
2. `_Fetch._fetch` (a Task) takes an idle connection from the pool for
   the route, or opens one (`Connector`), and runs an `Exchange` on it.  A
   reused connection that turns out closed before any response is replaced
   once for idempotent requests (RFC 9112 §9.3.1).  The common case, an
   idle connection ready in the pool, needs no Task: the exchange is
   started at once and its end handled by a callback (`_Fetch.start`);
   only a retry, a redirect or a Digest challenge continues in a Task.
3. Redirects and authentication challenges (Digest, for the server or
   the proxy) are answered with further exchanges within the same fetch
   and ``max_clients`` slot, each redirect with its own timeouts.
4. A completed exchange whose connection is reusable puts it back in the
   pool; any failure closes it.  The callback gets an `HTTPResponse`:
   the response, or one with code 599 and the error.

Timeouts: one deadline per fetch, kept by the client (`_Deadlines`: one
loop timer for all of them).  ``connect_timeout`` bounds the time from
the start of the fetch (its queueing included) to a connected stream, and
``request_timeout`` the whole of each exchange (for the first, its queueing
included).  When it fires, the fetch's Task is cancelled (or its
callback-driven exchange abandoned) and its connection closed: nothing
waits beyond it.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from squall._http1._deadline import loop_clock
from squall._httpclient._auth import DigestChallenge, digest_authorization, find_digest_challenge
from squall._httpclient._client import AsyncHTTPClient
from squall._httpclient._connect import Connector
from squall._httpclient._errors import (
    TRANSPORT_ERROR,
    HTTPStreamClosedError,
    HTTPTimeoutError,
)
from squall._httpclient._exchange import Exchange, StaleConnectionError
from squall._httpclient._pool import ConnectionPool, PooledConnection
from squall._httpclient._redirect import REDIRECT_CODES, redirect_request
from squall._httpclient._request import HTTPRequest
from squall._httpclient._response import HTTPResponse
from squall._httpclient._route import (
    IDEMPOTENT_METHODS,
    Route,
    basic_credentials,
    basic_proxy_credentials,
    request_head,
    request_headers,
    route,
    validate,
)
from squall.http1connection import HTTP1ConnectionParameters
from squall.httputil import HTTPHeaders
from squall.netutil import OverrideResolver, Resolver
from squall.tcpclient import TCPClient
from squall.util import TimeoutError

__all__ = ["SimpleAsyncHTTPClient"]

#: Tornado's default ``max_buffer_size`` (100 MB): the most response body
#: held in memory.
_MAX_BUFFER_SIZE = 104857600

#: The most seconds `SimpleAsyncHTTPClient._wait_closed` waits for the
#: connections closed by `close` to finish closing (a TLS connection sends
#: its close_notify alert and waits for the server's, RFC 8446 §6.1).
_CLOSE_GRACE = 1.0

#: Seconds an idle keep-alive connection is kept.  Servers close idle
#: connections after 5 s (Apache), 75 s (nginx) or an hour (Tornado); a
#: request sent just as the server closes one is retried when idempotent.
_IDLE_TIMEOUT = 30.0


class SimpleAsyncHTTPClient(AsyncHTTPClient):
    """Non-blocking HTTP client with no dependency beyond the standard library and certifi.

    An HTTP/1.1 client on squall's `HTTP1Connection` and `IOStream`.  Unlike
    Tornado's, it keeps connections alive and reuses them: idle connections
    are pooled per (scheme, host, port) and TLS, proxy and source settings.
    It supports HTTP proxies (CONNECT tunnels for ``https``), Basic and
    Digest authentication (``auth_mode`` and ``proxy_auth_mode``), gzip and
    deflate responses, ``body_producer``, ``expect_100_continue``, streaming
    and header callbacks; ``network_interface`` is the local address to
    connect from; ``prepare_curl_callback`` is ignored.

    As with every `AsyncHTTPClient`, only one instance exists per IOLoop
    unless ``force_instance=True`` is given, so only the first call to the
    constructor uses its arguments: prefer `AsyncHTTPClient.configure`.

    :arg int max_clients: the most fetches in progress at once; more are
        queued (time spent queued counts against ``connect_timeout`` and
        ``request_timeout``, and is reported as ``time_info["queue"]``).
    :arg dict hostname_mapping: host names to replacement addresses (or
        names), as local DNS overrides (e.g. in tests).
    :arg int max_buffer_size: the most body held in memory (default 100 MB).
    :arg resolver: the `squall.netutil.Resolver` to use (a new one of the
        configured class by default, closed with the client).
    :arg dict defaults: values for `HTTPRequest` attributes left at None.
    :arg int max_header_size: the largest response head (default 64 KiB).
    :arg int max_body_size: the largest response body, counted after
        decompression (default `max_buffer_size`).  Without a
        ``streaming_callback`` the smaller of this and `max_buffer_size`
        applies.
    :arg int max_idle_connections: squall extension: the most idle
        keep-alive connections kept, in all (default `max_clients`; 0
        turns connection reuse off).
    :arg float idle_timeout: squall extension: seconds an idle connection
        is kept (default 30).
    """

    __module__ = "squall.simple_httpclient"

    def initialize(  # type: ignore[override]
        self,
        max_clients: int = 10,
        hostname_mapping: dict[str, str] | None = None,
        max_buffer_size: int = _MAX_BUFFER_SIZE,
        resolver: Resolver | None = None,
        defaults: dict[str, Any] | None = None,
        max_header_size: int | None = None,
        max_body_size: int | None = None,
        *,
        max_idle_connections: int | None = None,
        idle_timeout: float = _IDLE_TIMEOUT,
    ) -> None:
        super().initialize(defaults=defaults)
        self.max_clients = max_clients
        self.max_buffer_size = max_buffer_size
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size if max_body_size is not None else max_buffer_size
        self.queue: collections.deque[_Fetch] = collections.deque()
        self.active: set[_Fetch] = set()
        if resolver is not None:
            self.resolver = resolver
            self.own_resolver = False
        else:
            self.resolver = Resolver()
            self.own_resolver = True
        if hostname_mapping is not None:
            self.resolver = OverrideResolver(resolver=self.resolver, mapping=hostname_mapping)
        self.tcp_client = TCPClient(resolver=self.resolver)
        self._connector = Connector(self.tcp_client, max_buffer_size, max_header_size)
        self._pool = ConnectionPool(
            self.io_loop,
            max_clients if max_idle_connections is None else max_idle_connections,
            idle_timeout,
            loop_clock(self.io_loop.asyncio_loop),
        )
        self._asyncio_loop = self.io_loop.asyncio_loop
        # The loop's clock, read a few times per fetch (see `loop_clock`).
        self._clock = loop_clock(self._asyncio_loop)
        self._deadlines = _Deadlines(self._asyncio_loop)
        self._body_limits = {streaming: self._body_limit(streaming) for streaming in (False, True)}
        self._params = {
            streaming: HTTP1ConnectionParameters(
                max_header_size=max_header_size, max_body_size=self._body_limit(streaming)
            )
            for streaming in (False, True)
        }

    def _body_limit(self, streaming: bool) -> int:
        if streaming:
            return self.max_body_size
        return min(self.max_body_size, self.max_buffer_size)

    def close(self) -> None:
        """Close the client: pending and active fetches fail, connections close."""
        if self._closed:
            return
        super().close()
        queued, self.queue = list(self.queue), collections.deque()
        for fetch in queued:
            if not fetch.failed:
                fetch.fail(HTTPStreamClosedError("The HTTP client was closed"))
        active = list(self.active)
        for fetch in active:
            fetch.cancel("The HTTP client was closed")
        self._closing_tasks = [fetch.task for fetch in active if fetch.task is not None]
        self._closing_streams = self._pool.close()
        self._closing_streams += [fetch.stream for fetch in active if fetch.stream is not None]
        self._deadlines.close()
        if self.own_resolver:
            self.resolver.close()
        self.tcp_client.close()

    _closing_tasks: list[asyncio.Task[HTTPResponse]] = []
    _closing_streams: list[Any] = []

    async def _wait_closed(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _CLOSE_GRACE
        tasks = [task for task in self._closing_tasks if not task.done()]
        if tasks:
            await asyncio.wait(tasks, timeout=_CLOSE_GRACE)
        await asyncio.sleep(0)
        while loop.time() < deadline and any(map(_socket_open, self._closing_streams)):
            await asyncio.sleep(0.005)

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        validate(request)
        fetch = _Fetch(self, request, route(request), callback)
        if len(self.active) < self.max_clients:
            self.active.add(fetch)
            fetch.start()
            return
        timeout = min(
            (t for t in (request.connect_timeout, request.request_timeout) if t), default=None
        )
        if timeout:
            fetch.timer = self.io_loop.asyncio_loop.call_at(
                fetch.enqueued + timeout, self._queue_timeout, fetch
            )
        self.queue.append(fetch)

    def _start(self, fetch: _Fetch) -> None:
        if fetch.timer is not None:
            fetch.timer.cancel()
            fetch.timer = None
        self.active.add(fetch)
        fetch.start()

    def _queue_timeout(self, fetch: _Fetch) -> None:
        # The fetch stays in the queue, dead (removing it would cost a scan
        # of the queue per timeout); _release skips it.
        fetch.timer = None
        fetch.fail(HTTPTimeoutError("Timeout in request queue"))

    def _start_queued(self) -> None:
        """Start queued fetches while there is room (after an active one ended)."""
        queue = self.queue
        while queue and len(self.active) < self.max_clients and not self._closed:
            waiting = queue.popleft()
            if not waiting.failed:
                self._start(waiting)


def _socket_open(stream: Any) -> bool:
    try:
        return bool(stream.socket.fileno() >= 0)
    except (AttributeError, OSError):
        return False


class _Deadlines:
    """The fetches' deadlines, on one loop timer (due at the earliest).

    A loop timer per fetch, armed and cancelled per request, costs a dozen
    Python calls in asyncio (its handle, the heap's comparisons, the
    cancellation); here a deadline is an entry in a heap of tuples compared
    in C, and a cancelled one is left in place (its token no longer
    matches), dropped when it reaches the top or when the stale entries
    outnumber the live ones.
    """

    __slots__ = ("_heap", "_live", "_loop", "_timer", "_timer_at", "_tokens")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, _Fetch]] = []
        self._tokens = itertools.count()
        self._live = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")

    def add(self, fetch: _Fetch, deadline: float) -> None:
        """Call ``fetch._on_timeout()`` at `deadline` unless `remove` comes first."""
        token = next(self._tokens)
        fetch.deadline_token = token
        heapq.heappush(self._heap, (deadline, token, fetch))
        self._live += 1
        if deadline < self._timer_at:
            self._arm(deadline)

    def remove(self, fetch: _Fetch) -> None:
        """Forget `fetch`'s deadline (it has one)."""
        fetch.deadline_token = None
        self._live -= 1
        heap = self._heap
        while heap and heap[0][2].deadline_token != heap[0][1]:
            heapq.heappop(heap)
        if len(heap) > 2 * self._live + 64:
            self._heap = heap = [entry for entry in heap if entry[2].deadline_token == entry[1]]
            heapq.heapify(heap)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._expire)
        self._timer_at = when

    def _expire(self) -> None:
        self._timer = None
        self._timer_at = float("inf")
        now = self._loop.time()
        # self._heap, not a local: a timeout's callbacks may add and remove
        # deadlines (and `remove` may replace the list).
        while self._heap:
            deadline, token, fetch = self._heap[0]
            if fetch.deadline_token != token:
                heapq.heappop(self._heap)
            elif deadline > now:
                if deadline < self._timer_at:
                    self._arm(deadline)
                return
            else:
                heapq.heappop(self._heap)
                fetch.deadline_token = None
                self._live -= 1
                fetch._on_timeout()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = float("inf")


class _Challenge(NamedTuple):
    """A 401 or 407 with a Digest challenge this fetch will answer."""

    proxy: bool
    challenge: DigestChallenge


class _Redirect(NamedTuple):
    request: HTTPRequest
    route: Route


class _Fetch:
    """One fetch: its queueing, its Task, its timer and its hops."""

    def __init__(
        self,
        client: SimpleAsyncHTTPClient,
        request: HTTPRequest,
        first_route: Route,
        callback: Callable[[HTTPResponse], None],
    ) -> None:
        self.client = client
        self.request = request
        self.route = first_route
        self.callback = callback
        self.loop = client._asyncio_loop
        self.clock = client._clock
        self.enqueued = self.clock()
        self.start_wall = time.time()
        self.time_info: dict[str, float] = {}
        self.url = request.url

    # The state of a fetch at its start.  Class attributes: a fetch is made
    # per request, and an instance only stores what changes.
    timer: asyncio.TimerHandle | None = None  # the queue timeout
    deadline_token: int | None = None  # see _Deadlines
    task: asyncio.Task[HTTPResponse] | None = None
    phase = "during request"
    cancel_reason: str | None = None
    failed = False  # failed while queued
    stream: Any = None  # the connection in use
    reported = False
    # The fast path (no Task): the exchange in flight and its connection.
    _exchange: Exchange | None = None
    _connection: PooledConnection | None = None

    # -- life cycle --------------------------------------------------------------

    def _start_task(self, hop: HTTPRequest, hop_route: Route, start: float, fresh: bool) -> None:
        self.task = self.loop.create_task(self._fetch(hop, hop_route, start, fresh))
        self.task.add_done_callback(self._done)

    def _report(self, response: HTTPResponse) -> None:
        if self.reported:
            return
        self.reported = True
        client = self.client
        if self.deadline_token is not None:
            client._deadlines.remove(self)  # `_arm(None)`, without its call
        client.active.discard(self)
        if client.queue:
            client._start_queued()
        self.callback(response)

    def _cancel_error(self) -> BaseException:
        reason = self.cancel_reason or "The fetch was cancelled"
        if reason.startswith("Timeout"):
            return HTTPTimeoutError(reason)
        return HTTPStreamClosedError(reason)

    def fail(self, error: BaseException) -> None:
        """Report `error` without running (a queued fetch)."""
        self.failed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.callback(self._error_response(error))

    def cancel(self, reason: str) -> None:
        """Stop the fetch; it reports an `HTTPStreamClosedError` with `reason`."""
        if self.cancel_reason is None:
            self.cancel_reason = reason
        if self.task is not None:
            self.task.cancel()
        elif self._exchange is not None:
            self._cancel_fast()

    def _on_timeout(self) -> None:
        if self.cancel_reason is None and (self.task is not None or self._exchange is not None):
            self.cancel_reason = f"Timeout {self.phase}"
            if self.task is not None:
                self.task.cancel()
            else:
                self._cancel_fast()

    def _arm(self, deadline: float | None) -> None:
        deadlines = self.client._deadlines
        if self.deadline_token is not None:
            deadlines.remove(self)
        if deadline is not None:
            deadlines.add(self, deadline)

    def _done(self, task: asyncio.Task[HTTPResponse]) -> None:
        """The Task ended: report its response (a done callback, so that even
        a Task cancelled before it ever ran reports)."""
        if task.cancelled():
            response = self._error_response(self._cancel_error())
        else:
            exc = task.exception()
            response = task.result() if exc is None else self._error_response(exc)
        self._report(response)

    def _error_response(self, error: BaseException) -> HTTPResponse:
        now = self.clock()
        self.time_info["total"] = now - self.enqueued
        return HTTPResponse(
            self.request,
            TRANSPORT_ERROR,
            error=error,
            effective_url=self.url,
            request_time=now - self.enqueued,
            start_time=self.start_wall,
            time_info=self.time_info,
        )

    # -- the fast path: a pooled connection, a callback instead of a Task ------------

    def start(self) -> None:
        """Start the fetch: the fast path if it can, else in a Task (`_fetch`).

        The fast path: the first exchange on an idle pooled connection,
        without a Task.  Its response is handled by `_fast_done`, a
        callback; anything but a final response (a stale connection to
        retry, a redirect) continues in a Task.  Fetches that may answer a
        Digest challenge, and those without an idle connection, run in a
        Task from the start.
        """
        self.time_info["queue"] = self.clock() - self.enqueued
        hop = self.request
        hop_route = self.route
        client = self.client
        connection = None
        if hop.auth_mode != "digest" and hop.proxy_auth_mode != "digest":
            connection = client._pool.take(hop_route.key)
        if connection is None:
            self._start_task(hop, hop_route, self.enqueued, False)
            return
        self.time_info["connect"] = 0.0
        request_timeout = hop.request_timeout
        if request_timeout:
            # `_arm`, without its call: a fetch starting here has no deadline yet.
            client._deadlines.add(self, self.enqueued + request_timeout)
        self.stream = connection.stream
        proxy_authorization = basic_proxy_credentials(hop) if hop_route.via_proxy else None
        authorization = basic_credentials(hop)
        headers: HTTPHeaders | bytes | None = request_head(
            hop, hop_route, authorization, proxy_authorization
        )
        if headers is None:
            headers = request_headers(hop, hop_route, authorization, proxy_authorization)
        streaming = hop.streaming_callback is not None
        exchange = Exchange(
            hop,
            hop_route,
            connection,
            headers,
            client._params[streaming],
            client._body_limits[streaming],
            self._decide_first,
            True,
            self.clock,
        )
        self.phase = "during request"
        self._exchange = exchange
        self._connection = connection
        try:
            exchange.begin(self._fast_done)
        except Exception as exc:
            self._exchange = None
            connection.stream.close()
            # Reported from the loop, as a Task's failure would be.
            self.loop.call_soon(self._report, self._error_response(exc))

    def _decide_first(self, code: int, headers: HTTPHeaders) -> object:
        return self._decide(self.request, self.route, code, headers, set())

    def _cancel_fast(self) -> None:
        """Cancel the fast path's exchange (a timeout, the client closing)."""
        exchange = self._exchange
        connection = self._connection
        assert exchange is not None
        assert connection is not None
        self._exchange = None
        exchange._stop_writing()
        connection.stream.close()
        self._report(self._error_response(self._cancel_error()))

    def _fast_done(self, read: asyncio.Future[bool]) -> None:
        exchange = self._exchange
        connection = self._connection
        if exchange is None or connection is None:
            if not read.cancelled():
                read.exception()  # cancelled already: reported
            return
        self._exchange = self._connection = None
        hop = self.request
        try:
            reusable = exchange.end(read)
        except StaleConnectionError:
            connection.stream.close()
            if hop.method not in IDEMPOTENT_METHODS or hop.body_producer:
                self._report(
                    self._error_response(
                        HTTPStreamClosedError(
                            f"Connection closed by {exchange._where()} before the response "
                            "(an idle keep-alive connection the server had closed)"
                        )
                    )
                )
                return
            self._start_task(hop, self.route, self.enqueued, True)
            return
        except BaseException as exc:
            connection.stream.close()
            self._report(self._error_response(exc))
            if not isinstance(exc, Exception | asyncio.CancelledError):
                raise
            return
        connection.requests += 1
        if reusable:
            self.client._pool.put(connection)
        else:
            connection.stream.close()
        action = exchange.action
        if isinstance(action, _Redirect):
            self._start_task(action.request, action.route, self.clock(), False)
            return
        try:
            response = self._response(hop, exchange)
        except Exception as exc:
            response = self._error_response(exc)
        self._report(response)

    # -- the hops ------------------------------------------------------------------

    async def _fetch(
        self, hop: HTTPRequest, hop_route: Route, start: float, fresh: bool
    ) -> HTTPResponse:
        while True:
            self.url = hop.url
            exchange = await self._hop(hop, hop_route, start, fresh)
            fresh = False
            action = exchange.action
            if not isinstance(action, _Redirect):
                break
            hop, hop_route = action
            start = self.clock()
        return self._response(hop, exchange)

    def _response(self, hop: HTTPRequest, exchange: Exchange) -> HTTPResponse:
        now = self.clock()
        if exchange.first_byte is not None:
            self.time_info["starttransfer"] = exchange.first_byte - self.enqueued
        self.time_info["total"] = now - self.enqueued
        headers = exchange.headers if hop.header_callback is None else HTTPHeaders()
        chunks = exchange._chunks
        return HTTPResponse._received(
            self.request,
            exchange.code,
            exchange.reason,
            headers,
            chunks[0] if len(chunks) == 1 else b"".join(chunks),  # `exchange.body`
            hop.url,
            now - self.enqueued,
            self.start_wall,
            self.time_info,
        )

    async def _hop(
        self, hop: HTTPRequest, hop_route: Route, start: float, fresh: bool
    ) -> Exchange:
        """Exchange `hop` (answering auth challenges) and return the final exchange."""
        client = self.client
        request_timeout = hop.request_timeout
        request_deadline = start + request_timeout if request_timeout else None
        connect_timeout = hop.connect_timeout
        connect_deadline = start + connect_timeout if connect_timeout else None
        if request_deadline is not None and (
            connect_deadline is None or request_deadline < connect_deadline
        ):
            connect_deadline = request_deadline
        self._arm(request_deadline)
        authorization = basic_credentials(hop)
        proxy_authorization = basic_proxy_credentials(hop) if hop_route.via_proxy else None
        answered: set[bool] = set()  # challenges answered (False: server, True: proxy)
        streaming = hop.streaming_callback is not None

        def decide(code: int, headers: HTTPHeaders) -> object:
            return self._decide(hop, hop_route, code, headers, answered)

        while True:
            connection, reused = await self._acquire(hop, hop_route, fresh, connect_deadline)
            self.stream = connection.stream
            headers: HTTPHeaders | bytes | None = request_head(
                hop, hop_route, authorization, proxy_authorization
            )
            if headers is None:
                headers = request_headers(hop, hop_route, authorization, proxy_authorization)
            exchange = Exchange(
                hop,
                hop_route,
                connection,
                headers,
                client._params[streaming],
                client._body_limit(streaming),
                decide,
                reused,
                self.clock,
            )
            self.phase = "during request"
            try:
                reusable = await exchange.run()
            except StaleConnectionError:
                connection.stream.close()
                if fresh or hop.method not in IDEMPOTENT_METHODS or hop.body_producer:
                    raise HTTPStreamClosedError(
                        f"Connection closed by {exchange._where()} before the response "
                        "(an idle keep-alive connection the server had closed)"
                    ) from None
                fresh = True
                continue
            except BaseException:
                connection.stream.close()
                raise
            connection.requests += 1
            if reusable:
                client._pool.put(connection)
            else:
                connection.stream.close()
            action = exchange.action
            if isinstance(action, _Challenge):
                answered.add(action.proxy)
                if action.proxy:
                    proxy_authorization = self._digest(hop, hop_route, action, proxy=True)
                else:
                    authorization = self._digest(hop, hop_route, action, proxy=False)
                continue
            return exchange

    async def _acquire(
        self, hop: HTTPRequest, hop_route: Route, fresh: bool, deadline: float | None
    ) -> tuple[PooledConnection, bool]:
        """An idle connection for `hop_route` (reused: True), or a new one."""
        client = self.client
        if not fresh:
            connection = client._pool.take(hop_route.key)
            if connection is not None:
                self.time_info.setdefault("connect", 0.0)
                return connection, True
        self.phase = "while connecting"
        began = self.clock()
        timeout = None if deadline is None else max(0.0, deadline - began)
        try:
            stream = await client._connector.connect(hop_route, hop, timeout)
        except TimeoutError as exc:
            raise HTTPTimeoutError("Timeout while connecting") from exc
        self.time_info["connect"] = self.clock() - began
        return PooledConnection(stream, hop_route.key), False

    def _decide(
        self,
        hop: HTTPRequest,
        hop_route: Route,
        code: int,
        headers: HTTPHeaders,
        answered: set[bool],
    ) -> object:
        """What to do with a response to `hop`, from its head (see `Exchange`)."""
        if code in REDIRECT_CODES:
            new = redirect_request(hop, code, headers.get("Location"))
            if new is None:
                return None
            try:
                new_route = route(new)
            except ValueError:
                return None  # e.g. a bad port: return the redirect itself
            return _Redirect(new, new_route)
        if (
            code == 401
            and False not in answered
            and hop.auth_mode == "digest"
            and hop.auth_username is not None
        ):
            challenge = find_digest_challenge(headers.get_list("WWW-Authenticate"))
            if challenge is not None:
                return _Challenge(False, challenge)
        if (
            code == 407
            and True not in answered
            and hop_route.via_proxy
            and hop.proxy_auth_mode == "digest"
            and hop.proxy_username is not None
        ):
            challenge = find_digest_challenge(headers.get_list("Proxy-Authenticate"))
            if challenge is not None:
                return _Challenge(True, challenge)
        return None

    @staticmethod
    def _digest(hop: HTTPRequest, hop_route: Route, action: _Challenge, proxy: bool) -> str:
        if proxy:
            assert hop.proxy_username is not None
            username, password = hop.proxy_username, hop.proxy_password or ""
        else:
            assert hop.auth_username is not None
            username, password = hop.auth_username, hop.auth_password or ""
        return digest_authorization(
            action.challenge, username, password, hop.method, hop_route.target
        )
