"""Types of the compiled module ``_speedups.c`` (see the contracts there)."""

from squall.httputil import ResponseStartLine

from ._events import Headers, Limits, RequestHead

def parse_request_head(
    head: bytes | bytearray | memoryview, max_start_line: int, max_headers: int, /
) -> RequestHead | tuple[str, str, str, Headers] | None: ...
def response_head(
    code: int,
    reason: str,
    fields: dict[str, str],
    extra: str,
    body: bytes | bytearray | memoryview | None,
    /,
) -> bytes | None: ...
def usual_response(
    request_head: RequestHead,
    start_line: ResponseStartLine,
    fields: dict[str, str],
    body: bytes | bytearray | memoryview | None,
    no_keep_alive: bool,
    /,
) -> tuple[bytes, int] | None: ...
def configure(request_head_type: type[RequestHead], /) -> None: ...
def take_request_head(
    buffer: bytearray, scan: int, limits: Limits, /
) -> RequestHead | tuple[str, str, str, Headers] | None: ...
