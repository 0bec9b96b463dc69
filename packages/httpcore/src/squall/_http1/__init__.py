"""squall's HTTP/1.1 implementation: the sans-I/O parser and the connection.

`Parser` is the parser chosen at import: `HtParser` (on httptools, the
``squall-httpcore[speedups]`` extra) when httptools imports and the
environment variable ``SQUALL_NO_EXTENSIONS`` is unset, empty or ``"0"``;
`PyParser` (pure Python) otherwise.  `IMPLEMENTATION` names the choice
(``"httptools"`` or ``"python"``).  Both implement `ParserProtocol`.
"""

from __future__ import annotations

import os
from typing import Final

from ._events import (
    EOF,
    Body,
    EndOfMessage,
    Event,
    Headers,
    Limits,
    ParseError,
    ParserProtocol,
    RequestHead,
    ResponseHead,
)
from ._pyparser import PyParser

__all__ = [
    "EOF",
    "IMPLEMENTATION",
    "Body",
    "EndOfMessage",
    "Event",
    "Headers",
    "Limits",
    "ParseError",
    "Parser",
    "ParserProtocol",
    "PyParser",
    "RequestHead",
    "ResponseHead",
]


def _choose() -> tuple[type[PyParser], str]:
    if os.environ.get("SQUALL_NO_EXTENSIONS", "") not in ("", "0"):
        return PyParser, "python"
    try:
        from ._htparser import HtParser  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return PyParser, "python"
    return HtParser, "httptools"


Parser, _implementation = _choose()
IMPLEMENTATION: Final[str] = _implementation
