"""Install every distribution of the monorepo, editable, into this interpreter.

Run by the hatch environments of the root pyproject.toml after they install
their tools (``post-install-commands``); safe to run again at any time.
"""

from __future__ import annotations

import subprocess
import sys

from layers import PACKAGES


def main() -> int:
    command = [sys.executable, "-m", "pip", "install", "--quiet"]
    for package in PACKAGES:
        command += ["--editable", str(package.path)]
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
