"""Install every distribution of the monorepo, editable, into this interpreter.

Run by the hatch environments of the root pyproject.toml after they install
their tools (``post-install-commands``); safe to run again at any time.

pip compiles squall-httpcore's optional C extension in place while it
installs the package (packages/httpcore/hatch_build.py); tools/build_ext.py
then makes sure the compiled module is there and matches its source.  A
failure to compile is a warning here (the pure-Python code is used) and an
error in tools/check.py, whose tests must cover the C code.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import build_ext
from layers import PACKAGES


def main() -> int:
    command = [sys.executable, "-m", "pip", "install", "--quiet"]
    if importlib.util.find_spec("hatchling") is not None:
        # The environment has the build backend already: skip pip's isolated
        # build environment per package (most of the time of this step).
        command.append("--no-build-isolation")
    for package in PACKAGES:
        command += ["--editable", str(package.path)]
    code = subprocess.call(command)
    try:
        build_ext.build_in_place()
    except build_ext.BuildError as exc:
        print(
            f"warning: squall._http1._speedups was not compiled; the pure-Python code "
            f"will be used:\n{exc}",
            file=sys.stderr,
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
