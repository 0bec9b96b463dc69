"""The Debian packages squall's check uses, installed when missing.

Tests start real programs (curl as a client, nginx as an origin server,
tinyproxy as a forward proxy) rather than mocking them (shared/DESIGN.md §6),
and the C compiler builds squall-httpcore's C extension, which the tests
cover.  The check runs
this first; ``python tools/sysdeps.py`` does it alone.  On a machine where
apt-get is unavailable or we are not root it only reports what is missing,
and the tests that need a missing program fail saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

#: Command the check runs -> the Debian packages that provide it (and what it needs).
COMMANDS: dict[str, str] = {
    "curl": "curl",  # an HTTP client (squall.httpserver's tests)
    "nginx": "nginx-light",  # an origin server (squall.simple_httpclient's tests)
    "tinyproxy": "tinyproxy",  # a forward proxy with CONNECT (the HTTP clients' tests)
    "wrk": "wrk",  # the HTTP load generator (tools/bench and its smoke test)
    "openssl": "openssl",  # hashes a CA directory (squall.client's verify= tests)
    # compiles squall-httpcore's C extension (tools/build_ext.py); the C
    # library's headers are only recommended by gcc.
    "gcc": "gcc libc6-dev",
}


def missing() -> dict[str, str]:
    """The commands not on PATH, with their packages."""
    return {cmd: pkg for cmd, pkg in COMMANDS.items() if shutil.which(cmd) is None}


def _packages(commands: dict[str, str]) -> list[str]:
    return sorted({package for packages in commands.values() for package in packages.split()})


def ensure() -> int:
    """Install the packages of the missing commands; return an exit status."""
    absent = missing()
    if not absent:
        print("system packages: all present")
        return 0
    packages = _packages(absent)
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print(f"system packages missing (install them): {' '.join(packages)}")
        return 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env=env
    )
    still = missing()
    if done.returncode or still:
        print(f"system packages: could not install {' '.join(_packages(still))}")
        return 1
    print(f"system packages: installed {' '.join(packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(ensure())
