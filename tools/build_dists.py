"""Build the wheel and sdist of every distribution into ``dist/``.

Usage::

    python tools/build_dists.py [--outdir DIR] [PACKAGE_DIR ...]

Each package is built the way a user's ``pip`` would see it: the sdist first,
then the wheel from that sdist (so a file missing from the sdist breaks the
build here rather than on a user's machine).  The wheels are then inspected:

- only the meta distribution may contain ``squall/__init__.py`` (any other
  copy would turn the shared namespace into one distribution's package);
- every public module that tools/layers.py assigns to a package with code is
  in its wheel;
- squall-httpcore's wheel holds its compiled C extension
  (``squall/_http1/_speedups*.so``, and is tagged for the platform), unless
  ``SQUALL_NO_EXTENSIONS`` is set: then it must be pure Python.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

from layers import BY_DIR, PACKAGES, ROOT, Package, has_code

DEFAULT_OUTDIR = ROOT / "dist"


def build(package: Package, outdir: pathlib.Path) -> None:
    command = [sys.executable, "-m", "build", "--outdir", str(outdir)]
    # Without build isolation when hatchling is at hand: the dev environment has
    # it, and it saves a virtual environment per package.
    if importlib.util.find_spec("hatchling") is not None:
        command.append("--no-isolation")
    command.append(str(package.path))
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"build of {package.dist} failed")
    # A build hook's warnings (an optional extension that did not compile)
    # would be lost in the captured output: show them.
    if "WARNING: squall-" in result.stderr:
        sys.stderr.write(result.stderr)


#: The compiled modules a package's wheel must contain, by package directory:
#: its optional C extensions, built unless SQUALL_NO_EXTENSIONS is set.
EXTENSIONS: dict[str, tuple[str, ...]] = {"httpcore": ("squall._http1._speedups",)}


def extensions_disabled() -> bool:
    return os.environ.get("SQUALL_NO_EXTENSIONS", "") not in ("", "0")


def wheel_path(package: Package, outdir: pathlib.Path, version: str) -> pathlib.Path:
    """The one wheel of *package* in *outdir*, whatever its tags (pure or platform)."""
    name = package.dist.replace("-", "_")
    found = sorted(outdir.glob(f"{name}-{version}-*.whl"))
    if len(found) != 1:
        raise SystemExit(f"expected one wheel of {package.dist} in {outdir}, found {found}")
    return found[0]


def inspect_wheel(package: Package, wheel: pathlib.Path) -> list[str]:
    """Return the problems found in *package*'s wheel."""
    problems: list[str] = []
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    if "squall/__init__.py" in names and package.dir != "squall":
        problems.append(f"{wheel.name} ships squall/__init__.py (only the meta package may)")
    if package.dir == "squall" and "squall/__init__.py" not in names:
        problems.append(f"{wheel.name} lacks squall/__init__.py")
    if has_code(package):
        for module in package.modules:
            base = "squall/" + module.replace(".", "/")
            if f"{base}.py" not in names and f"{base}/__init__.py" not in names:
                # A documented module that is not written yet is reported by the
                # tests of its package, not here: only flag modules whose source
                # exists but did not reach the wheel.
                source = package.path / "src" / f"{base}.py"
                if source.exists():
                    problems.append(f"{wheel.name} lacks {base}.py")
    problems += _inspect_extensions(package, wheel, names)
    return problems


def _inspect_extensions(package: Package, wheel: pathlib.Path, names: set[str]) -> list[str]:
    problems: list[str] = []
    compiled = sorted(n for n in names if n.endswith((".so", ".pyd")))
    pure = wheel.name.endswith("-py3-none-any.whl")
    modules = EXTENSIONS.get(package.dir, ())
    if not modules or extensions_disabled():
        if compiled:
            problems.append(f"{wheel.name} ships compiled modules: {', '.join(compiled)}")
        if not pure:
            problems.append(f"{wheel.name} should be a pure-Python wheel (py3-none-any)")
        return problems
    for module in modules:
        pattern = module.replace(".", "/") + ".*"
        if not any(fnmatch.fnmatchcase(n, pattern) for n in compiled):
            problems.append(
                f"{wheel.name} lacks its C extension {pattern}: see the build's warning "
                "(SQUALL_NO_EXTENSIONS=1 builds pure-Python wheels on purpose)"
            )
    if compiled and pure:
        problems.append(f"{wheel.name} holds a C extension but is tagged py3-none-any")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=pathlib.Path, default=DEFAULT_OUTDIR)
    parser.add_argument("packages", nargs="*", help="package directories (default: all)")
    args = parser.parse_args(argv)

    packages = [BY_DIR[name] for name in args.packages] if args.packages else list(PACKAGES)
    outdir: pathlib.Path = args.outdir
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    version = (ROOT / "VERSION").read_text(encoding="utf-8").strip()

    problems: list[str] = []
    for package in packages:
        build(package, outdir)
        problems += inspect_wheel(package, wheel_path(package, outdir, version))
        print(f"built {package.dist} {version}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
