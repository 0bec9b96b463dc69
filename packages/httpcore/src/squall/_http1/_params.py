"""`HTTP1ConnectionParameters`: the limits and options of an HTTP/1 connection."""

from __future__ import annotations

__all__ = ["DEFAULT_CHUNK_SIZE", "DEFAULT_MAX_HEADER_SIZE", "HTTP1ConnectionParameters"]

#: Body data is handed to delegates in pieces of at most this many bytes
#: (Tornado's documented default for ``chunk_size``).
DEFAULT_CHUNK_SIZE = 64 * 1024

#: Largest request or response head, start line included (Tornado's default;
#: nginx allows 8 KiB lines and 32 KiB in all, Apache 8 KiB per field and 100
#: fields: 64 KiB accepts every head a real client sends).
DEFAULT_MAX_HEADER_SIZE = 64 * 1024


class HTTP1ConnectionParameters:
    """Parameters for `HTTP1Connection` and `HTTP1ServerConnection`.

    :param no_keep_alive: if true, always close the connection after one
        request.
    :param chunk_size: how much data to read into memory at once: request
        (or response) bodies reach the delegate in pieces of at most this
        size (default 64 KiB).
    :param max_header_size: maximum amount of data for HTTP headers, the
        start line included (default 64 KiB).  A server answers a longer
        head with 431, a request line longer than 8 KiB (or than this size,
        if smaller) with 414.
    :param header_timeout: how long to wait for all headers (seconds).  The
        clock starts when the connection is ready for the next message (for
        a server: on connecting and after each response), unless
        `idle_timeout` is given, in which case it starts at the head's first
        byte.  None: no limit.
    :param max_body_size: maximum amount of data for the body (default: the
        stream's ``max_buffer_size``).  With `decompress` it bounds the
        decompressed size too.  A server answers a larger body with 413.
    :param body_timeout: how long to wait while reading the body (seconds,
        from the end of the head to the end of the body).  None: no limit.
    :param decompress: if true, decode incoming ``Content-Encoding: gzip``.
    :param idle_timeout: squall extension: how long a server connection may
        wait for the first byte of a request (after connecting, or between
        keep-alive requests) before it is closed.  None: `header_timeout`
        covers that wait too, as in Tornado.
    """

    __module__ = "squall.http1connection"
    __slots__ = (
        "body_timeout",
        "chunk_size",
        "decompress",
        "header_timeout",
        "idle_timeout",
        "max_body_size",
        "max_header_size",
        "no_keep_alive",
    )

    def __init__(
        self,
        no_keep_alive: bool = False,
        chunk_size: int | None = None,
        max_header_size: int | None = None,
        header_timeout: float | None = None,
        max_body_size: int | None = None,
        body_timeout: float | None = None,
        decompress: bool = False,
        *,
        idle_timeout: float | None = None,
    ) -> None:
        self.no_keep_alive = no_keep_alive
        self.chunk_size = chunk_size or DEFAULT_CHUNK_SIZE
        self.max_header_size = max_header_size or DEFAULT_MAX_HEADER_SIZE
        self.header_timeout = header_timeout
        self.max_body_size = max_body_size
        self.body_timeout = body_timeout
        self.decompress = decompress
        self.idle_timeout = idle_timeout

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in sorted(self.__slots__))
        return f"HTTP1ConnectionParameters({fields})"
