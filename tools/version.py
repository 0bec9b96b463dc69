"""Keep every distribution on the one version written in ``VERSION``.

Usage::

    python tools/version.py            # write VERSION into every package
    python tools/version.py --check    # fail (exit 1) if anything is out of sync
    python tools/version.py --set 0.2.0

What it writes:

- ``version = "X.Y.Z"`` in each ``packages/*/pyproject.toml``;
- the internal dependencies of each package, pinned to the same minor range
  (``squall-core>=X.Y,<X.(Y+1)``), from the package table in tools/layers.py;
- ``version`` and ``version_info`` in the meta package's ``squall/__init__.py``.
"""

from __future__ import annotations

import argparse
import re
import sys

from layers import BY_DIR, PACKAGES, ROOT, Package

VERSION_FILE = ROOT / "VERSION"
META_INIT = BY_DIR["squall"].path / "src" / "squall" / "__init__.py"

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_PROJECT_VERSION_RE = re.compile(r'^version = "[^"]*"$', re.MULTILINE)
_DEPENDENCIES_RE = re.compile(r"^dependencies = \[[^\]]*\]$", re.MULTILINE)


def parse(version: str) -> tuple[int, int, int]:
    match = _VERSION_RE.match(version)
    if match is None:
        raise ValueError(f"version {version!r} is not of the form MAJOR.MINOR.MICRO")
    major, minor, micro = (int(part) for part in match.groups())
    return major, minor, micro


def pin(version: str) -> str:
    """Return the specifier for an internal dependency: the same minor range."""
    major, minor, _ = parse(version)
    return f">={major}.{minor},<{major}.{minor + 1}"


def render_dependencies(package: Package, version: str) -> str:
    deps = [f"{BY_DIR[d].dist}{pin(version)}" for d in package.depends]
    deps += list(package.requires)
    if not deps:
        return "dependencies = []"
    return "dependencies = [\n" + "".join(f'  "{d}",\n' for d in deps) + "]"


def render_pyproject(text: str, package: Package, version: str) -> str:
    if len(_PROJECT_VERSION_RE.findall(text)) != 1:
        raise ValueError(f"{package.path}/pyproject.toml: expected one 'version = ...' line")
    if len(_DEPENDENCIES_RE.findall(text)) != 1:
        raise ValueError(f"{package.path}/pyproject.toml: expected one 'dependencies' list")
    text = _PROJECT_VERSION_RE.sub(f'version = "{version}"', text)
    deps = render_dependencies(package, version)
    return _DEPENDENCIES_RE.sub(lambda _: deps, text)


def render_meta_init(text: str, version: str) -> str:
    major, minor, micro = parse(version)
    text, n1 = re.subn(r'^version = "[^"]*"$', f'version = "{version}"', text, flags=re.M)
    text, n2 = re.subn(
        r"^version_info = \([^)]*\)$",
        f"version_info = ({major}, {minor}, {micro}, 0)",
        text,
        flags=re.M,
    )
    if (n1, n2) != (1, 1):
        raise ValueError(f"{META_INIT}: expected one 'version' and one 'version_info' line")
    return text


def planned_changes(version: str) -> dict[str, tuple[str, str]]:
    """Map each file to (current text, text it should have)."""
    changes: dict[str, tuple[str, str]] = {}
    for package in PACKAGES:
        path = package.path / "pyproject.toml"
        current = path.read_text(encoding="utf-8")
        changes[str(path)] = (current, render_pyproject(current, package, version))
    current = META_INIT.read_text(encoding="utf-8")
    changes[str(META_INIT)] = (current, render_meta_init(current, version))
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="only report files out of sync")
    group.add_argument("--set", metavar="VERSION", help="write a new version first")
    args = parser.parse_args(argv)

    if args.set:
        parse(args.set)
        VERSION_FILE.write_text(args.set + "\n", encoding="utf-8")
    version = VERSION_FILE.read_text(encoding="utf-8").strip()
    parse(version)

    stale = [path for path, (old, new) in planned_changes(version).items() if old != new]
    if args.check:
        for path in stale:
            print(f"out of sync with VERSION {version}: {path}", file=sys.stderr)
        if not stale:
            print(f"all distributions at {version}")
        return 1 if stale else 0
    for path, (old, new) in planned_changes(version).items():
        if old != new:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(new)
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
