"""The package table of shared/DESIGN.md §1, as data the repo tools share.

Every tool that needs to know which distributions exist, what each one
depends on or which modules it owns reads it from here: the version tool
writes the internal pins from it, the isolation check compares what pip
installed against the closure computed from it, and tools/tests check that
each ``pyproject.toml`` and the import-linter contracts agree with it.
"""

from __future__ import annotations

import dataclasses
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES_DIR = ROOT / "packages"


@dataclasses.dataclass(frozen=True)
class Package:
    """One distribution of the monorepo."""

    dir: str
    #: Internal dependencies, by directory name.
    depends: tuple[str, ...]
    #: Public modules under ``squall.`` that this distribution owns.
    modules: tuple[str, ...]
    #: Third-party runtime requirements (PEP 508 strings).
    requires: tuple[str, ...] = ()
    summary: str = ""
    #: Modules that need one of the package's extras, as (module, extra).
    optional: tuple[tuple[str, str], ...] = ()

    @property
    def dist(self) -> str:
        """The distribution name: ``squall-<dir>``, or ``squall`` for the meta package."""
        return "squall" if self.dir == "squall" else f"squall-{self.dir}"

    @property
    def path(self) -> pathlib.Path:
        return PACKAGES_DIR / self.dir


PACKAGES: tuple[Package, ...] = (
    Package(
        "core",
        (),
        ("escape", "log", "options", "util"),
        summary="squall's core utilities: escaping, logging, options, Configurable",
    ),
    Package(
        "template",
        ("core",),
        ("template",),
        summary="squall's template engine, usable on its own",
    ),
    Package(
        "ioloop",
        ("core",),
        (
            "autoreload",
            "concurrent",
            "gen",
            "ioloop",
            "locks",
            "platform.asyncio",
            "platform.uvloop",
            "queues",
            "stack_context",
        ),
        summary="squall's event-loop layer on asyncio",
        optional=(("platform.uvloop", "uvloop"),),
    ),
    Package(
        "iostream",
        ("ioloop",),
        (
            "iostream",
            "netutil",
            "platform.caresresolver",
            "platform.twisted",
            "process",
            "tcpclient",
            "tcpserver",
        ),
        summary="squall's streams, TCP server and client, resolvers",
        optional=(("platform.caresresolver", "cares"), ("platform.twisted", "twisted")),
    ),
    Package(
        "httpcore",
        ("iostream",),
        (
            "client",
            "curl_httpclient",
            "http1connection",
            "httpclient",
            "httpserver",
            "httputil",
            "simple_httpclient",
        ),
        requires=("certifi",),
        summary="squall's HTTP/1.1 server and clients",
        optional=(("curl_httpclient", "curl"),),
    ),
    Package(
        "web",
        ("httpcore", "template"),
        ("locale", "routing", "web", "wsgi"),
        summary="squall's web framework: RequestHandler and Application",
    ),
    Package("websocket", ("web",), ("websocket",), summary="squall's WebSocket server and client"),
    Package("auth", ("web",), ("auth",), summary="squall's third-party login mixins"),
    Package("testing", ("httpcore",), ("testing",), summary="squall's testing toolkit"),
    Package(
        "squall",
        (
            "core",
            "template",
            "ioloop",
            "iostream",
            "httpcore",
            "web",
            "websocket",
            "auth",
            "testing",
        ),
        (),
        summary="squall: the whole asynchronous web framework and networking library",
    ),
)

BY_DIR: dict[str, Package] = {p.dir: p for p in PACKAGES}
BY_DIST: dict[str, Package] = {p.dist: p for p in PACKAGES}


def closure(dir: str) -> list[Package]:
    """Return *dir*'s package and every internal package it needs, in layer order."""
    seen: set[str] = set()
    stack = [dir]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(BY_DIR[current].depends)
    return [p for p in PACKAGES if p.dir in seen]


def has_code(package: Package) -> bool:
    """True when the package ships at least one Python file."""
    return any((package.path / "src" / "squall").rglob("*.py"))


def has_tests(package: Package) -> bool:
    """True when the package has at least one test module."""
    return any((package.path / "tests").glob("test_*.py"))


def owner_of(module: str) -> Package | None:
    """Return the package that owns ``squall.<module>``, if any."""
    for package in PACKAGES:
        if module in package.modules:
            return package
    return None
