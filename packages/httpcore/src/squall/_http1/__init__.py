"""squall's HTTP/1.1 implementation: the sans-I/O parser and the connection.

`Parser` is the parser chosen at import, unless the environment variable
``SQUALL_NO_EXTENSIONS`` is set (to anything but ``""`` or ``"0"``), which
forces `PyParser` (pure Python).  The first that imports of: `CParser`
(request heads split by this package's optional compiled module,
``squall._http1._speedups``, built at install when a C compiler is there),
`HtParser` (request heads validated by httptools, the
``squall-httpcore[speedups]`` extra), `PyParser`.  `IMPLEMENTATION` names
the choice (``"c"``, ``"httptools"`` or ``"python"``); the environment
variable ``SQUALL_HTTP1_PARSER`` set to one of these names asks for that
one (ImportError if it is not available).  All implement `ParserProtocol`.
"""

from __future__ import annotations

import os
import types as _types
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
    "EXTENSIONS_ALLOWED",
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
    "speedups",
]


#: Whether the environment allows compiled code (``SQUALL_NO_EXTENSIONS``).
EXTENSIONS_ALLOWED: Final = os.environ.get("SQUALL_NO_EXTENSIONS", "") in ("", "0")


def speedups() -> _types.ModuleType | None:
    """This package's compiled module (``_speedups``), or None if not built or not allowed."""
    if not EXTENSIONS_ALLOWED:
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    return _speedups


def _load(name: str) -> type[PyParser]:
    """The parser implementation called `name` (ImportError if it cannot be used here)."""
    if name == "c":
        from ._cparser import CParser

        return CParser
    if name == "httptools":
        from ._htparser import HtParser  # type: ignore[import-not-found,unused-ignore]

        return HtParser
    if name == "python":
        return PyParser
    raise ImportError(
        f"unknown HTTP/1 parser {name!r} (SQUALL_HTTP1_PARSER): c, httptools or python"
    )


def _choose() -> tuple[type[PyParser], str]:
    if not EXTENSIONS_ALLOWED:
        return PyParser, "python"
    wanted = os.environ.get("SQUALL_HTTP1_PARSER", "")
    if wanted:
        return _load(wanted), wanted
    for name in ("c", "httptools"):
        try:
            return _load(name), name
        except ImportError:
            pass
    return PyParser, "python"


Parser, _implementation = _choose()
IMPLEMENTATION: Final[str] = _implementation
