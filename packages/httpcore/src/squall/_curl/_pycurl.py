"""The one place pycurl is imported (it has no type stubs: an `Any` boundary).

:raises ImportError: naming the extra to install when pycurl is missing.
"""

from __future__ import annotations

import importlib
from typing import Any

try:
    _pycurl_module = importlib.import_module("pycurl")
except ImportError as exc:  # pragma: no cover - exercised by tools/isolation.py
    raise ImportError(
        "squall.curl_httpclient needs pycurl: install squall-httpcore[curl]"
    ) from exc

__all__ = ["pycurl"]

#: The pycurl module, untyped.
pycurl: Any = _pycurl_module

#: CURLOPT_SUPPRESS_CONNECT_HEADERS (libcurl 7.54): the proxy's answer to
#: CONNECT is not passed to the header function.  Older pycurl releases do
#: not name it; the number is libcurl's (CURLOPTTYPE_LONG + 265).
SUPPRESS_CONNECT_HEADERS: int = getattr(pycurl, "SUPPRESS_CONNECT_HEADERS", 265)
