"""Install every distribution of the monorepo, editable, into this interpreter.

Run by the hatch environments of the root pyproject.toml after they install
their tools (``post-install-commands``); safe to run again at any time.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from layers import PACKAGES


def main() -> int:
    command = [sys.executable, "-m", "pip", "install", "--quiet"]
    if importlib.util.find_spec("hatchling") is not None:
        # The environment has the build backend already: skip pip's isolated
        # build environment per package (most of the time of this step).
        command.append("--no-build-isolation")
    for package in PACKAGES:
        command += ["--editable", str(package.path)]
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
