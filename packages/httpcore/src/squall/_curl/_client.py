"""`CurlAsyncHTTPClient`: libcurl's multi interface driven by the IOLoop.

How it runs:

- ``max_clients`` easy handles are made up front; a fetch takes a free one
  or waits in a queue (bounded in time by ``min(connect_timeout,
  request_timeout)``; the time spent queued counts against both).
- libcurl says which sockets to watch through its socket function
  (`CurlAsyncHTTPClient._on_socket`: ``IOLoop.add_handler``,
  ``update_handler``, ``remove_handler``) and when to call it back
  through its timer function (``IOLoop.call_later``); the IOLoop calls
  ``socket_action`` when a socket is ready or the timer expires.  libcurl
  forbids calling it from inside its own callbacks, so the timer callback
  only schedules.
- After each ``socket_action`` the finished transfers are collected
  (``info_read``).  A redirect to follow starts the next hop on the same
  handle; otherwise the handle is reset and returned to the free list,
  and the queue moves on.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

from squall._curl._errors import CURLE_OPERATION_TIMEDOUT, CurlError
from squall._curl._pycurl import pycurl
from squall._curl._setup import check, configure
from squall._curl._transfer import TIMERS, Transfer
from squall._httpclient._client import AsyncHTTPClient
from squall._httpclient._errors import TRANSPORT_ERROR, HTTPClientError
from squall._httpclient._request import HTTPRequest
from squall._httpclient._response import HTTPResponse
from squall.ioloop import IOLoop

__all__ = ["CurlAsyncHTTPClient"]

#: The largest response body held in memory or streamed (as the simple
#: client's default ``max_buffer_size``, Tornado's 100 MB), counted after
#: decompression.
_MAX_BODY_SIZE = 104857600

#: libcurl's socket events (CURL_POLL_*) as IOLoop events.
_EVENTS = {
    pycurl.POLL_NONE: 0,
    pycurl.POLL_IN: IOLoop.READ,
    pycurl.POLL_OUT: IOLoop.WRITE,
    pycurl.POLL_INOUT: IOLoop.READ | IOLoop.WRITE,
}

#: curl_easy_getinfo timers, by ``time_info`` name.
_GETINFO = {
    "namelookup": pycurl.NAMELOOKUP_TIME,
    "connect": pycurl.CONNECT_TIME,
    "appconnect": pycurl.APPCONNECT_TIME,
    "pretransfer": pycurl.PRETRANSFER_TIME,
    "starttransfer": pycurl.STARTTRANSFER_TIME,
    "total": pycurl.TOTAL_TIME,
}
assert set(_GETINFO) == set(TIMERS)


class CurlAsyncHTTPClient(AsyncHTTPClient):
    """libcurl-based HTTP client (``squall-httpcore[curl]``, plugin name ``"curl"``).

    Select it with ``AsyncHTTPClient.configure("curl")`` (or by its path,
    ``"squall.curl_httpclient.CurlAsyncHTTPClient"``).  It behaves as
    `squall.simple_httpclient.SimpleAsyncHTTPClient` does (the same
    redirects, callbacks, errors and timeouts; libcurl keeps connections
    alive), and adds ``prepare_curl_callback`` (called with the
    ``pycurl.Curl`` handle after every other option is set) and
    ``network_interface`` (an interface name or a local address).
    Differences:

    - ``body_producer`` is not supported (a `ValueError`); ``ssl_options``
      may only be a dict of ``ca_certs``, ``certfile``, ``keyfile`` and
      ``cert_reqs``;
    - transport failures are `CurlError` (code 599) with libcurl's message
      and error number, timeouts included (``errno`` 28);
    - ``time_info`` holds libcurl's timers (``namelookup``, ``connect``,
      ``appconnect``, ``pretransfer``, ``starttransfer``) for the final hop,
      ``redirect`` (the earlier hops), ``queue`` and ``total``.

    Handles are reset before every request, so options never leak from
    one request to the next.

    :arg int max_clients: the most transfers in progress at once (one
        libcurl handle each); more are queued.
    :arg dict defaults: values for `HTTPRequest` attributes left at None.
    :arg int max_body_size: squall extension: the largest response body,
        counted after decompression (default 100 MB).
    """

    __module__ = "squall.curl_httpclient"

    def initialize(  # type: ignore[override]
        self,
        max_clients: int = 10,
        defaults: dict[str, Any] | None = None,
        *,
        max_body_size: int = _MAX_BODY_SIZE,
    ) -> None:
        super().initialize(defaults=defaults)
        self.max_clients = max_clients
        self.max_body_size = max_body_size
        self._multi: Any = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        self._multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        self._curls: list[Any] = [pycurl.Curl() for _ in range(max_clients)]
        self._free: list[Any] = list(self._curls)
        self._active: dict[Any, Transfer] = {}
        self.queue: collections.deque[Transfer] = collections.deque()
        self._fds: dict[int, int] = {}
        self._timer: Any = None
        self._in_curl = False  # inside socket_action: libcurl may not be re-entered
        self._process_scheduled = False

    # -- fetches --------------------------------------------------------------------

    def fetch_impl(self, request: HTTPRequest, callback: Callable[[HTTPResponse], None]) -> None:
        check(request)
        loop = self.io_loop
        transfer = Transfer(request, callback, loop.time(), time.time(), self.max_body_size)
        self.queue.append(transfer)
        if not self._free:
            timeout = min(
                (t for t in (request.connect_timeout, request.request_timeout) if t),
                default=None,
            )
            if timeout:
                transfer.queue_timer = loop.call_later(timeout, self._queue_timeout, transfer)
        self._process_queue()

    def _queue_timeout(self, transfer: Transfer) -> None:
        # It stays in the queue, dead; _process_queue skips it.
        transfer.queue_timer = None
        transfer.failed = True
        error = CurlError(CURLE_OPERATION_TIMEDOUT, "Timeout in request queue")
        transfer.callback(transfer.error_response(error, self.io_loop.time()))

    def _process_queue(self) -> None:
        if self._in_curl:
            # Called from a user callback run by libcurl: start later.
            if not self._process_scheduled:
                self._process_scheduled = True
                self.io_loop.add_callback(self._scheduled_process)
            return
        queue = self.queue
        while queue and self._free and not self._closed:
            transfer = queue.popleft()
            if transfer.failed:
                continue
            if transfer.queue_timer is not None:
                self.io_loop.remove_timeout(transfer.queue_timer)
                transfer.queue_timer = None
            transfer.time_info["queue"] = self.io_loop.time() - transfer.enqueued
            self._start(transfer, self._free.pop(), transfer.time_info["queue"])

    def _scheduled_process(self) -> None:
        self._process_scheduled = False
        self._process_queue()

    def _start(self, transfer: Transfer, curl: Any, spent: float) -> None:
        """Set `curl` up for the transfer's current hop and hand it to libcurl."""
        try:
            curl.setopt(pycurl.WRITEFUNCTION, transfer.on_write)
            curl.setopt(pycurl.HEADERFUNCTION, transfer.on_header)
            configure(curl, transfer.hop, spent)
            self._multi.add_handle(curl)
        except Exception as exc:
            # A bad option value or a failing prepare_curl_callback fails this
            # fetch only; the handle goes back to the free list.
            error: BaseException = exc
            if isinstance(exc, pycurl.error):
                error = _curl_error(exc.args)
            self._release(curl)
            transfer.callback(transfer.error_response(error, self.io_loop.time()))
            return
        self._active[curl] = transfer

    def _release(self, curl: Any) -> None:
        curl.reset()  # drops the callbacks, and with them the transfer
        self._free.append(curl)

    # -- libcurl's callbacks ---------------------------------------------------------

    def _on_socket(self, event: int, fd: int, multi: Any, data: Any) -> None:
        """libcurl's socket function: watch `fd` for `event` (or stop)."""
        io_loop = self.io_loop
        if event == pycurl.POLL_REMOVE:
            if self._fds.pop(fd, None) is not None:
                io_loop.remove_handler(fd)
            return
        if self._closed:
            return
        events = _EVENTS[event]
        if fd in self._fds:
            io_loop.update_handler(fd, events)
        else:
            io_loop.add_handler(fd, self._on_events, events)
        self._fds[fd] = events

    def _on_timer(self, msecs: int) -> None:
        """libcurl's timer function: call `socket_action` in `msecs` ms (-1: never)."""
        if self._timer is not None:
            self.io_loop.remove_timeout(self._timer)
            self._timer = None
        if msecs >= 0 and not self._closed:
            self._timer = self.io_loop.call_later(msecs / 1000.0, self._on_timeout)

    def _on_events(self, fd: int, events: int) -> None:
        action = 0
        if events & IOLoop.READ:
            action |= pycurl.CSELECT_IN
        if events & IOLoop.WRITE:
            action |= pycurl.CSELECT_OUT
        if events & IOLoop.ERROR:
            action |= pycurl.CSELECT_ERR
        self._socket_action(fd, action)

    def _on_timeout(self) -> None:
        self._timer = None
        self._socket_action(pycurl.SOCKET_TIMEOUT, 0)

    def _socket_action(self, fd: int, action: int) -> None:
        if self._closed:
            return
        self._in_curl = True
        try:
            while True:
                code, _running = self._multi.socket_action(fd, action)
                if code != pycurl.E_CALL_MULTI_PERFORM:
                    break
        finally:
            self._in_curl = False
        if not self._closed:  # else the teardown reports the active transfers
            self._collect()

    # -- finished transfers ---------------------------------------------------------

    def _collect(self) -> None:
        while True:
            remaining, succeeded, failed = self._multi.info_read()
            for curl in succeeded:
                self._finish(curl, None)
            for curl, errno, message in failed:
                self._finish(curl, (errno, message))
            if not remaining:
                break
        self._process_queue()

    def _finish(self, curl: Any, failure: tuple[int, str] | None) -> None:
        transfer = self._active.pop(curl, None)
        self._multi.remove_handle(curl)
        if transfer is None:
            return
        info = transfer.time_info
        for name, key in _GETINFO.items():
            info[name] = curl.getinfo(key)
        now = self.io_loop.time()
        if failure is None and transfer.error is None and transfer.next_hop is not None:
            info["redirect"] = info.get("redirect", 0.0) + info["total"]
            transfer.start_hop(transfer.next_hop)
            curl.reset()
            self._start(transfer, curl, 0.0)
            return
        self._release(curl)
        if transfer.error is not None:
            response = transfer.error_response(transfer.error, now)
        elif failure is not None:
            response = transfer.error_response(_curl_error(failure), now)
        else:
            error = transfer.finish_body()
            if error is not None:
                response = transfer.error_response(error, now)
            else:
                response = transfer.response(now)
        transfer.callback(response)

    # -- closing --------------------------------------------------------------------

    def close(self) -> None:
        """Close the client: queued and active fetches fail (599), libcurl's
        sockets are closed.

        Called from a callback libcurl is running (a ``streaming_callback``,
        say), the handles are released just after that callback returns.
        """
        if self._closed:
            return
        super().close()
        io_loop = self.io_loop
        if self._timer is not None:
            io_loop.remove_timeout(self._timer)
            self._timer = None
        queued, self.queue = list(self.queue), collections.deque()
        for transfer in queued:
            if transfer.queue_timer is not None:
                io_loop.remove_timeout(transfer.queue_timer)
            if not transfer.failed:
                transfer.failed = True
                transfer.callback(transfer.error_response(_closed_error(), io_loop.time()))
        if self._in_curl:
            io_loop.add_callback(self._teardown)
        else:
            self._teardown()

    def _teardown(self) -> None:
        io_loop = self.io_loop
        active, self._active = self._active, {}
        for curl, transfer in active.items():
            self._multi.remove_handle(curl)
            transfer.callback(transfer.error_response(_closed_error(), io_loop.time()))
        for fd in self._fds:
            io_loop.remove_handler(fd)
        self._fds.clear()
        for curl in self._curls:
            curl.close()
        self._free = []
        self._multi.close()


def _closed_error() -> HTTPClientError:
    return HTTPClientError(TRANSPORT_ERROR, "The HTTP client was closed")


def _curl_error(failure: tuple[Any, ...]) -> CurlError:
    errno, message = (*failure, 0, "")[:2]
    return CurlError(int(errno), str(message))
