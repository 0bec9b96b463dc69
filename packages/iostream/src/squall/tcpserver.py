"""A non-blocking, single-threaded TCP server.

Subclass `TCPServer` and override `handle_stream`; each accepted connection
is handed to it as an `IOStream` (an `SSLIOStream` when the server has
``ssl_options``).  An echo server::

    from squall.iostream import StreamClosedError
    from squall.tcpserver import TCPServer

    class EchoServer(TCPServer):
        async def handle_stream(self, stream, address):
            while True:
                try:
                    data = await stream.read_until(b"\\n")
                    await stream.write(data)
                except StreamClosedError:
                    break

    server = EchoServer()
    server.listen(8888)
    IOLoop.current().start()

Three ways to start one, as in Tornado:

- `TCPServer.listen`: bind and accept in one call, in this process;
- `TCPServer.bind` then `TCPServer.start`: ``start(n)`` forks ``n``
  processes (one per CPU for 0 or None) that share the listening sockets;
- `squall.netutil.bind_sockets`, `squall.process.fork_processes`, then
  `TCPServer.add_sockets`: the same, with the fork under your control.

Errors in `handle_stream` are logged to ``squall.application`` and never
stop the server.  Failures caused by the peer are not errors of the
application, and are logged briefly to ``squall.general``, without a
traceback: a failed TLS handshake (a client that sends something that is not
TLS, or an unacceptable certificate) in one line at info level, naming the
peer and the reason; a peer that hangs up or resets the connection (during
the handshake or later), at debug level.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import ssl
import types
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from squall.gen import convert_yielded
from squall.ioloop import IOLoop
from squall.iostream import IOStream, SSLIOStream, StreamClosedError
from squall.log import app_log, gen_log
from squall.netutil import _DEFAULT_BACKLOG, add_accept_handler, bind_sockets
from squall.netutil import ssl_options_to_context as _ssl_options_to_context

__all__ = ["TCPServer"]

#: How much of a peer-caused error message is logged: the text may come from
#: the peer (DESIGN.md §5: attacker input is logged bounded, at most at info).
_MAX_LOGGED_ERROR = 200


class TCPServer:
    """A non-blocking, single-threaded TCP server.

    Override `handle_stream` to serve connections, then start the server
    with `listen`, `bind` and `start`, or `add_sockets` (see the module
    docstring).

    :param ssl_options: serve TLS: an `ssl.SSLContext`, or a dict of
        ``ssl.wrap_socket`` arguments (``certfile`` required, ``keyfile``,
        ``cert_reqs``, ``ca_certs``, ``ciphers``, ``ssl_version``), turned
        into a server context once, here.
    :param max_buffer_size: the read buffer limit of each connection's
        stream (the stream's default if None).
    :param read_chunk_size: how much each stream reads at a time (the
        stream's default if None).
    :raises ValueError: if an ``ssl_options`` dict lacks ``certfile`` or
        names a certificate or key file that does not exist, or has keys
        ``ssl.wrap_socket`` does not take.
    :raises TypeError: if `ssl_options` is neither a dict nor an SSLContext.

    The ``io_loop`` argument of Tornado 4 (also accepted as the first
    positional argument) is deprecated and ignored: the server accepts on
    the IOLoop current when `add_sockets` (or `listen`, or `start`) is
    called.  Creating a server neither creates nor touches an IOLoop, so
    that `start` can still fork.
    """

    def __init__(
        self,
        ssl_options: Mapping[str, Any] | ssl.SSLContext | None = None,
        max_buffer_size: int | None = None,
        read_chunk_size: int | None = None,
        io_loop: IOLoop | None = None,
    ) -> None:
        first: object = ssl_options
        if isinstance(first, IOLoop):
            # Tornado 4's positional order: (io_loop, ssl_options,
            # max_buffer_size, read_chunk_size).
            shifted: tuple[Any, Any, Any] = (max_buffer_size, read_chunk_size, io_loop)
            io_loop = first
            ssl_options, max_buffer_size, read_chunk_size = shifted
        if io_loop is not None:
            warnings.warn(
                "The io_loop argument of TCPServer is deprecated; the current IOLoop is used",
                DeprecationWarning,
                stacklevel=2,
            )
        #: The ``ssl_options`` given, as given.
        self.ssl_options = ssl_options
        self.max_buffer_size = max_buffer_size
        self.read_chunk_size = read_chunk_size
        self._ssl_context = _server_context(ssl_options)
        # Arguments for each connection's stream, computed once.
        self._stream_kwargs: dict[str, Any] = {}
        if max_buffer_size is not None:
            self._stream_kwargs["max_buffer_size"] = max_buffer_size
        if read_chunk_size is not None:
            self._stream_kwargs["read_chunk_size"] = read_chunk_size
        # Listening sockets by fd, and the functions that stop accepting on them.
        self._sockets: dict[int, socket.socket] = {}
        self._handlers: dict[int, Callable[[], None]] = {}
        # Bound by bind(), waiting for start().
        self._pending_sockets: list[socket.socket] = []
        self._started = False
        # handle_stream coroutines still running: asyncio keeps only weak
        # references to tasks, and a handler waiting on a peer that went
        # quiet must not be collected mid-await.
        self._tasks: set[asyncio.Future[Any]] = set()

    # ------------------------------------------------------------------
    # Starting and stopping
    # ------------------------------------------------------------------

    def listen(
        self,
        port: int,
        address: str | None = None,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        backlog: int = _DEFAULT_BACKLOG,
        flags: int | None = None,
        reuse_port: bool = False,
    ) -> None:
        """Start accepting connections on `port` (and `address`) at once.

        May be called more than once to listen on several ports.  Nothing
        more to call but start the IOLoop.  The arguments are those of
        `squall.netutil.bind_sockets`: `address` is an IP address or host
        name (all its addresses are bound), or ``""`` / None for every
        interface.  With port 0 the kernel picks a free port; to learn
        which, bind the sockets yourself (``bind_sockets(0)``, then
        ``sockets[0].getsockname()[1]``) and pass them to `add_sockets`.

        :raises OSError: if the port cannot be bound (e.g. it is in use).
        """
        self.add_sockets(_bind(port, address, family, backlog, flags, reuse_port))

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        """Start accepting connections on the listening `sockets`.

        The sockets are typically those of `squall.netutil.bind_sockets`,
        possibly shared with processes forked by
        `squall.process.fork_processes`; they must be listening.  The
        server owns them from now on: `stop` closes them.  Accepting happens
        on the current IOLoop.
        """
        for sock in sockets:
            fd = sock.fileno()
            self._sockets[fd] = sock
            self._handlers[fd] = add_accept_handler(sock, self._handle_connection)

    def add_socket(self, socket: socket.socket) -> None:
        """Start accepting connections on one listening socket (see `add_sockets`)."""
        self.add_sockets([socket])

    def bind(
        self,
        port: int,
        address: str | None = None,
        family: socket.AddressFamily = socket.AF_UNSPEC,
        backlog: int = _DEFAULT_BACKLOG,
        flags: int | None = None,
        reuse_port: bool = False,
    ) -> None:
        """Bind `port` on `address` now; `start` accepts on it later.

        The arguments are those of `listen`.  `address` may be an IP
        address or a host name (all of its addresses are bound), or ``""``
        / None for every interface; `family` may restrict the sockets to
        ``AF_INET`` or ``AF_INET6``.  `reuse_port` sets ``SO_REUSEPORT``
        (see `squall.netutil.bind_sockets`).  May be called several times
        before `start` to listen on several ports or interfaces.

        :raises OSError: if the port cannot be bound.
        """
        sockets = _bind(port, address, family, backlog, flags, reuse_port)
        if self._started:
            self.add_sockets(sockets)
        else:
            self._pending_sockets.extend(sockets)

    def start(self, num_processes: int | None = 1, max_restarts: int | None = None) -> None:
        """Start accepting on the sockets of `bind`, after forking if asked to.

        With `num_processes` 1 (the default) the server runs in this process.
        With None or a number <= 0, one process is forked per CPU; with a
        number > 1, that many.  The processes share the listening sockets
        and nothing else (see `squall.process.fork_processes`, which also
        restarts children that crash, up to `max_restarts` times).  When
        forking, `start` must come before any IOLoop is created in this
        process, and does not return in the parent process (which only
        supervises its children).  Multiple processes are incompatible with
        `squall.autoreload`.

        :raises RuntimeError: if the server was started already.
        """
        if self._started:
            raise RuntimeError("TCPServer.start() called twice")
        self._started = True
        if num_processes != 1:
            from squall import process  # only servers that fork need it

            process.fork_processes(num_processes, max_restarts)
        sockets, self._pending_sockets = self._pending_sockets, []
        self.add_sockets(sockets)

    def stop(self) -> None:
        """Stop listening for new connections, and close the listening sockets.

        Sockets bound by `bind` but not yet started are closed too.
        Connections already accepted go on being served.  Calling `stop`
        again does nothing.
        """
        for fd, sock in list(self._sockets.items()):
            self._handlers.pop(fd)()
            del self._sockets[fd]
            sock.close()
        sockets, self._pending_sockets = self._pending_sockets, []
        for sock in sockets:
            sock.close()

    # ------------------------------------------------------------------
    # Connections
    # ------------------------------------------------------------------

    def handle_stream(self, stream: IOStream, address: Any) -> Awaitable[None] | None:
        """Serve one incoming connection; subclasses override this.

        `stream` is an `IOStream`, or an `SSLIOStream` on a TLS server;
        `address` is the peer's address as ``socket.accept`` reports it.
        May be a coroutine (``async def``, or one decorated with
        `squall.gen.coroutine`) or return any awaitable: accepting other
        connections does not wait for it, and whatever it raises is logged.

        On a TLS server this is called at once, before the TLS handshake
        has completed: reads and writes wait for it, and a failed handshake
        closes the stream (reads raise `StreamClosedError`).  Await
        `SSLIOStream.wait_for_handshake` to inspect the client's certificate
        or the negotiated ALPN protocol first.

        When it raises (or its awaitable fails), the error is logged and the
        stream closed; the server goes on.
        """
        raise NotImplementedError

    def _handle_connection(self, connection: socket.socket, address: Any) -> None:
        # The accept hot path: one stream, one call, a task only for
        # coroutine handlers.
        try:
            if self._ssl_context is not None:
                tls = SSLIOStream(
                    connection,
                    ssl_options=self._ssl_context,
                    server_side=True,
                    **self._stream_kwargs,
                )
                tls._on_handshake_failure = functools.partial(_log_handshake_failure, address)
                stream: IOStream = tls
            else:
                stream = IOStream(connection, **self._stream_kwargs)
        except OSError as exc:
            # The peer may already be gone (ECONNRESET, ENOTCONN...).
            connection.close()
            gen_log.debug("Dropped a connection from %s: %s", _peer(address), _bounded(exc))
            return
        try:
            result = self.handle_stream(stream, address)
        except Exception as exc:
            self._log_failure(exc, stream, address)
            return
        if result is None:
            return
        if type(result) is types.CoroutineType:
            task: asyncio.Future[Any] = asyncio.get_running_loop().create_task(result)
        else:
            try:
                task = convert_yielded(result)
            except Exception as exc:
                self._log_failure(exc, stream, address)
                return
            if task.done():
                self._handler_done(stream, address, task)
                return
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._handler_done, stream, address))

    def _handler_done(self, stream: IOStream, address: Any, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._log_failure(exc, stream, address)

    def _log_failure(self, exc: BaseException, stream: IOStream, address: Any) -> None:
        # What the peer caused (it went away, or failed the TLS handshake)
        # is logged quietly and briefly; anything else is a bug in the
        # application, logged with its traceback.
        if isinstance(exc, StreamClosedError | ssl.SSLError | ConnectionError):
            if (
                isinstance(stream, SSLIOStream)
                and not stream._handshake_done
                and stream.error is not None
            ):
                pass  # the failed handshake has been logged
            else:
                real = getattr(exc, "real_error", None) or exc
                gen_log.debug(
                    "Connection from %s closed in handle_stream: %s",
                    _peer(address),
                    _bounded(real),
                )
        else:
            app_log.error(
                "Exception in handle_stream for %s",
                _peer(address),
                exc_info=(type(exc), exc, exc.__traceback__),
            )
        # Nobody is serving this connection any more: do not leak it.
        stream.close()


def _bind(
    port: int,
    address: str | None,
    family: socket.AddressFamily,
    backlog: int,
    flags: int | None,
    reuse_port: bool,
) -> list[socket.socket]:
    if isinstance(flags, bool):
        # Tornado 4's bind(port, address, family, backlog, reuse_port): a
        # fifth positional argument was reuse_port (AI_* flags are never bools).
        reuse_port = flags
        flags = None
    return bind_sockets(
        port, address=address, family=family, backlog=backlog, flags=flags, reuse_port=reuse_port
    )


def _server_context(
    ssl_options: Mapping[str, Any] | ssl.SSLContext | None,
) -> ssl.SSLContext | None:
    """Check `ssl_options` early, and turn a dict into a server SSLContext.

    Checking here, when the server is created, reports a misconfiguration at
    start-up rather than on the first connection.
    """
    if ssl_options is None or isinstance(ssl_options, ssl.SSLContext):
        return ssl_options
    if not isinstance(ssl_options, Mapping):
        raise TypeError(
            f"ssl_options must be an ssl.SSLContext or a dict, not {type(ssl_options).__name__}"
        )
    if not ssl_options.get("certfile"):
        raise ValueError('missing key "certfile" in ssl_options')
    for key in ("certfile", "keyfile"):
        path = ssl_options.get(key)
        if path and not os.path.exists(path):
            raise ValueError(f'ssl_options["{key}"] file not found: {path}')
    return _ssl_options_to_context(ssl_options, server_side=True)


def _log_handshake_failure(address: Any, error: BaseException) -> None:
    """Log (briefly: the peer caused it) why the TLS handshake with `address` failed."""
    if isinstance(error, ssl.SSLError):
        gen_log.info("TLS handshake with %s failed: %s", _peer(address), _bounded(error))
    else:  # the peer hung up or reset (port probes and health checks do)
        gen_log.debug(
            "TLS handshake with %s failed: connection lost (%s)", _peer(address), _bounded(error)
        )


def _peer(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address) or "unknown peer"


def _bounded(exc: BaseException) -> str:
    """`exc`'s message on one line, cut at `_MAX_LOGGED_ERROR` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) > _MAX_LOGGED_ERROR:
        text = text[:_MAX_LOGGED_ERROR] + "..."
    return text
