"""Compile squall-httpcore's C extension in place when its source changed.

Usage::

    python tools/build_ext.py [--force]

An editable install imports ``squall._http1._speedups`` from beside its
source (``packages/httpcore/src/squall/_http1/``), and pip compiles it there
only when the package is installed.  This recompiles it, for the interpreter
that runs this script, when the compiled module is missing or older than the
C source (or than the compile recipe, packages/httpcore/speedups_build.py,
which this loads and uses: the same one as the wheel's build hook).

Exit status: 0 when the module is up to date or was rebuilt, or when
``SQUALL_NO_EXTENSIONS`` disables it; 1 when compiling fails (the stale
module is removed then, so nothing imports a build of an older source).
Standard library only: tools/bench/run.py runs it with the benchmark
environment's interpreter.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys
from typing import Protocol, cast

PROJECT = pathlib.Path(__file__).resolve().parent.parent / "packages" / "httpcore"
HELPER = PROJECT / "speedups_build.py"


class _Helper(Protocol):
    """What this uses of packages/httpcore/speedups_build.py."""

    SOURCE: pathlib.PurePosixPath
    DISABLE_VARIABLE: str
    CompileError: type[Exception]

    def disabled(self) -> bool: ...
    def in_place_target(self, project: pathlib.Path) -> pathlib.Path: ...
    def compile_extension(self, source: pathlib.Path, target: pathlib.Path) -> str: ...


def _load_helper() -> _Helper:
    spec = importlib.util.spec_from_file_location("_squall_speedups_build", HELPER)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HELPER}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(_Helper, module)


helper = _load_helper()
#: Raised by :func:`build_in_place` when the compiler fails or is missing.
BuildError = helper.CompileError


def is_stale(source: pathlib.Path, target: pathlib.Path) -> bool:
    """Whether *target* is missing or older than *source* or the compile recipe."""
    if not target.exists():
        return True
    built = target.stat().st_mtime
    return any(path.stat().st_mtime > built for path in (source, HELPER))


def build_in_place(
    force: bool = False, project: pathlib.Path = PROJECT, log: bool = True
) -> pathlib.Path | None:
    """Compile the extension beside its source in *project* if it is stale.

    Returns the compiled module's path, or None when ``SQUALL_NO_EXTENSIONS``
    disables the extension.  Raises :data:`BuildError` when compiling fails,
    after removing the stale module.  The compiler's warnings are printed.
    """
    if helper.disabled():
        if log:
            print(f"{helper.DISABLE_VARIABLE} is set: squall._http1._speedups not built")
        return None
    source = project / helper.SOURCE
    target = helper.in_place_target(project)
    if not force and not is_stale(source, target):
        return target
    try:
        output = helper.compile_extension(source, target)
    except helper.CompileError:
        target.unlink(missing_ok=True)
        raise
    if output:
        print(output, file=sys.stderr)
    if log:
        print(f"compiled {target.relative_to(project.parent.parent)}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="compile even if up to date")
    args = parser.parse_args(argv)
    try:
        build_in_place(force=args.force)
    except BuildError as exc:
        print(f"error: compiling squall._http1._speedups failed:\n{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
