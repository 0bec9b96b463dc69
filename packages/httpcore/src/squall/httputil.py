"""HTTP utility code shared by clients and servers.

This module also defines the `HTTPServerRequest` class which is exposed
via ``squall.web.RequestHandler.request``.

What is here:

- `HTTPHeaders`, the case-insensitive, multi-valued header dictionary;
- `HTTPServerRequest`, one request as a server received it;
- the interfaces between HTTP implementations and applications:
  `HTTPServerConnectionDelegate`, `HTTPMessageDelegate`, `HTTPConnection`;
- start lines (`RequestStartLine`, `ResponseStartLine` and their parsers),
  form bodies (`parse_body_arguments`, `parse_multipart_form_data`,
  `HTTPFile`), cookies (`parse_cookie`) and small helpers (`url_concat`,
  `format_timestamp`, `split_host_and_port`, `qs_to_qsl`,
  `encode_username_password`, `responses`).

Exceptions::

    Exception
     ├── HTTPInputError     a malformed message (or start line, or header) from the peer
     └── HTTPOutputError    the application broke HTTP's rules while writing a message

Every parser here is strict where HTTP is (RFC 9110/9112) and runs in time
linear in its input.

>>> h = HTTPHeaders.parse("Content-Type: text/html\\r\\nSet-Cookie: a=1\\r\\nSet-Cookie: b=2")
>>> h["content-type"], h.get_list("Set-Cookie")
('text/html', ['a=1', 'b=2'])
"""

from __future__ import annotations

from http.client import responses

from squall._httputil._body import (
    HTTPFile,
    parse_body_arguments,
    parse_multipart_form_data,
)
from squall._httputil._cookies import parse_cookie
from squall._httputil._errors import HTTPInputError, HTTPOutputError
from squall._httputil._headers import HTTPHeaders
from squall._httputil._interfaces import (
    HTTPConnection,
    HTTPMessageDelegate,
    HTTPServerConnectionDelegate,
)
from squall._httputil._lines import (
    RequestStartLine,
    ResponseStartLine,
    encode_username_password,
    format_timestamp,
    parse_request_start_line,
    parse_response_start_line,
    qs_to_qsl,
    split_host_and_port,
    url_concat,
)
from squall._httputil._request import HTTPServerRequest

__all__ = [
    "HTTPConnection",
    "HTTPFile",
    "HTTPHeaders",
    "HTTPInputError",
    "HTTPMessageDelegate",
    "HTTPOutputError",
    "HTTPServerConnectionDelegate",
    "HTTPServerRequest",
    "RequestStartLine",
    "ResponseStartLine",
    "encode_username_password",
    "format_timestamp",
    "parse_body_arguments",
    "parse_cookie",
    "parse_multipart_form_data",
    "parse_request_start_line",
    "parse_response_start_line",
    "qs_to_qsl",
    "responses",
    "split_host_and_port",
    "url_concat",
]
