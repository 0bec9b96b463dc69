"""squall: an asynchronous web framework and networking library on asyncio.

This file belongs to the meta distribution ``squall``.  Every other
distribution (``squall-core``, ``squall-template``, ...) installs its modules
into the same ``squall`` namespace and works without this file; with it,
``squall`` also offers:

- ``version`` and ``version_info``, the release of the whole stack;
- lazy access to every public submodule: ``import squall`` and then
  ``squall.web.Application`` imports ``squall.web`` on first use.

>>> import squall
>>> squall.escape.xhtml_escape("<b>")
'&lt;b&gt;'
"""

from __future__ import annotations

import importlib
import pkgutil
import types
from typing import Any

# Each distribution installs its own part of the ``squall`` package.  With a
# normal install they all land in one directory; with editable installs each
# part stays in its own source tree, so extend the search path to every
# ``squall`` directory on sys.path (PEP 420 portions and pkgutil-style alike).
__path__ = pkgutil.extend_path(__path__, __name__)

#: The release of squall, as a string (kept in sync by tools/version.py).
version = "0.1.0"

#: The release as a four-tuple ``(major, minor, micro, serial)``; ``serial`` is
#: 0 for final releases, so official releases compare above development ones.
version_info = (0, 1, 0, 0)

# Public submodule -> the distribution that provides it.  Kept in step with
# shared/DESIGN.md §1 (tools/tests/test_layers.py checks it).
_SUBMODULES: dict[str, str] = {
    "auth": "squall-auth",
    "autoreload": "squall-ioloop",
    "client": "squall-httpcore",
    "concurrent": "squall-ioloop",
    "curl_httpclient": "squall-httpcore",
    "escape": "squall-core",
    "gen": "squall-ioloop",
    "http1connection": "squall-httpcore",
    "httpclient": "squall-httpcore",
    "httpserver": "squall-httpcore",
    "httputil": "squall-httpcore",
    "ioloop": "squall-ioloop",
    "iostream": "squall-iostream",
    "locale": "squall-web",
    "locks": "squall-ioloop",
    "log": "squall-core",
    "netutil": "squall-iostream",
    "options": "squall-core",
    "platform": "squall-ioloop",
    "process": "squall-iostream",
    "queues": "squall-ioloop",
    "routing": "squall-web",
    "simple_httpclient": "squall-httpcore",
    "stack_context": "squall-ioloop",
    "tcpclient": "squall-iostream",
    "tcpserver": "squall-iostream",
    "template": "squall-template",
    "testing": "squall-testing",
    "util": "squall-core",
    "web": "squall-web",
    "websocket": "squall-websocket",
    "wsgi": "squall-web",
}

# ``squall.platform`` is a namespace package shared by several distributions.
_PLATFORM_SUBMODULES: dict[str, str] = {
    "asyncio": "squall-ioloop",
    "caresresolver": "squall-iostream",
    "twisted": "squall-iostream",
    "uvloop": "squall-ioloop",
}

__all__ = ["version", "version_info"]


def _import(name: str, dist: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise  # a dependency of the module is missing, not the module
        raise AttributeError(
            f"module {name!r} is not available: install the {dist!r} distribution"
        ) from exc


def _platform_getattr(name: str) -> Any:
    dist = _PLATFORM_SUBMODULES.get(name)
    if dist is None:
        raise AttributeError(f"module 'squall.platform' has no attribute {name!r}")
    return _import(f"squall.platform.{name}", dist)


def __getattr__(name: str) -> Any:
    # PEP 562: called only for names not yet in the module's namespace, so each
    # submodule is imported once; importing it binds it as an attribute here.
    dist = _SUBMODULES.get(name)
    if dist is None:
        raise AttributeError(f"module 'squall' has no attribute {name!r}")
    module = _import(f"squall.{name}", dist)
    if name == "platform" and not hasattr(module, "__getattr__"):
        # A namespace package has no __init__ to hold a __getattr__; give it one
        # so ``squall.platform.asyncio`` is lazy too.
        module.__dict__["__getattr__"] = _platform_getattr
    return module


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBMODULES})
