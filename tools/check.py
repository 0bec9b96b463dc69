"""The full check of the repository: what CI runs, through ``hatch run check``.

Steps, in order (all run; the exit status is non-zero if any failed):

0. the Debian packages the tests use as real peers (tools/sysdeps.py);
1. refresh the editable installs of every package (a package that gained its
   first module since the environment was made needs its path registered),
   then compile squall-httpcore's C extension in place if its source changed
   (tools/build_ext.py): a failure to compile fails the check, since the
   tests must cover the C code (unless ``SQUALL_NO_EXTENSIONS`` is set);
2. versions in sync (tools/version.py --check);
3. ruff lint and format check;
4. mypy --strict over every package and the tools;
5. the import-layer contracts (tools/check_layers.py);
6. the whole pytest suite;
7. the suite of every package built on the event loop once more, on the
   uvloop backend (``SQUALL_IOLOOP=uvloop``);
8. the isolation check: each distribution built, installed alone from its
   wheel in a fresh environment, and tested there (tools/isolation.py).

``python tools/check.py --fast`` skips step 8.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from layers import PACKAGES, ROOT, closure, has_tests

TOOLS = ROOT / "tools"


def loop_test_dirs() -> list[str]:
    """The test directories of every package that runs on the event loop."""
    return [
        str(p.path / "tests")
        for p in PACKAGES
        if p.dir != "squall" and "ioloop" in {c.dir for c in closure(p.dir)} and has_tests(p)
    ]


def steps(fast: bool) -> list[tuple[str, list[str], dict[str, str]]]:
    py = sys.executable
    pytest = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    plan: list[tuple[str, list[str], dict[str, str]]] = [
        ("system packages", [py, str(TOOLS / "sysdeps.py")], {}),
        ("editable installs", [py, str(TOOLS / "devenv.py")], {}),
        ("C extension", [py, str(TOOLS / "build_ext.py")], {}),
        ("versions", [py, str(TOOLS / "version.py"), "--check"], {}),
        ("ruff lint", [py, "-m", "ruff", "check", "."], {}),
        ("ruff format", [py, "-m", "ruff", "format", "--check", "."], {}),
        ("mypy", [py, "-m", "mypy"], {}),
        ("import layers", [py, str(TOOLS / "check_layers.py")], {}),
        ("tests", pytest, {}),
    ]
    loop_tests = loop_test_dirs()
    if loop_tests:
        plan.append(("tests on uvloop", [*pytest, *loop_tests], {"SQUALL_IOLOOP": "uvloop"}))
    if not fast:
        plan.append(("isolation", [py, str(TOOLS / "isolation.py")], {}))
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="skip the isolation check")
    args = parser.parse_args(argv)

    results: list[tuple[str, int, float]] = []
    for name, command, env in steps(args.fast):
        shown = " ".join([*(f"{k}={v}" for k, v in env.items()), *command])
        print(f"\n==> {name}: {shown}", flush=True)
        started = time.monotonic()
        code = subprocess.call(command, cwd=ROOT, env={**os.environ, **env})
        results.append((name, code, time.monotonic() - started))

    print("\n==> summary")
    for name, code, seconds in results:
        print(f"  {'ok  ' if code == 0 else 'FAIL'} {name} ({seconds:.0f}s)")
    failed = [name for name, code, _ in results if code != 0]
    if failed:
        print(f"check failed: {', '.join(failed)}")
        return 1
    print("check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
