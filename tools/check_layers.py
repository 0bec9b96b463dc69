"""Run import-linter's contracts over squall as one namespace package.

The meta distribution's ``squall/__init__.py`` makes ``squall`` a regular
package whose directory holds only that file; import-linter (grimp) would see
nothing else.  The contracts are about the other distributions, so this runs
``lint-imports`` with the meta package's source directory taken off
``sys.path`` and every other package's ``src`` put on it: ``squall`` is then
the PEP 420 namespace package that a user without the meta package gets.
"""

from __future__ import annotations

import os
import sys

from layers import BY_DIR, PACKAGES, ROOT


def main() -> int:
    meta_src = os.path.realpath(BY_DIR["squall"].path / "src")
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != meta_src]
    sys.path[:0] = [str(p.path / "src") for p in PACKAGES if p.dir != "squall"]
    sys.modules.pop("squall", None)
    os.chdir(ROOT)  # lint-imports reads the root pyproject.toml

    from importlinter.cli import lint_imports

    return lint_imports(no_cache=True)


if __name__ == "__main__":
    sys.exit(main())
