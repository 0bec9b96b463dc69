"""Install each distribution alone in a fresh virtual environment and test it.

Usage::

    python tools/isolation.py [--jobs N] [--keep] [PACKAGE_DIR ...]

For every distribution (or those named), from the wheels that tools/build_dists.py
makes:

1. create a new virtual environment;
2. install the third-party requirements of the package's declared closure
   from the index, then the distribution itself from the built wheels only
   (``--no-index``), so pip can resolve nothing but what the packages declare;
3. fail if the set of installed squall distributions differs from the closure
   of tools/layers.py (``squall-template`` must bring ``squall-core`` and
   nothing else), or if any module of the closure imports from outside the
   environment, or if a C extension its wheel must hold (squall-httpcore's
   ``squall._http1._speedups``, unless ``SQUALL_NO_EXTENSIONS`` is set) does
   not import from the environment as a compiled module;
4. install the package's ``test`` dependency group and run its own tests there.

Two more environments cover the other ways squall is installed:

- ``editable-without-meta``: core and template installed editable, with no
  ``squall/__init__.py`` anywhere (a pure namespace package); template's tests
  run there;
- the meta distribution's environment runs the tests of *every* package, so
  each standalone part is also tested installed normally next to the meta
  package's ``__init__.py``.

The developers' hatch environment covers the fourth case: everything
editable, with the meta package.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import tomllib

import build_dists
from layers import BY_DIR, PACKAGES, ROOT, Package, closure, has_code, has_tests

# Imports the checker runs inside each environment: every module of every
# package in the closure must come from that environment's site-packages.
_PROBE = """
import importlib, json, sys
results = {}
for name in sys.argv[1:]:
    try:
        module = importlib.import_module(name)
        results[name] = getattr(module, "__file__", None) or ""
    except Exception as exc:
        results[name] = "ERROR " + type(exc).__name__ + ": " + str(exc)
import squall
results["<squall>"] = getattr(squall, "__file__", None) or "<namespace>"
print(json.dumps(results))
"""


@dataclasses.dataclass
class Outcome:
    name: str
    ok: bool
    log: list[str] = dataclasses.field(default_factory=list)


class Failure(Exception):
    pass


class Environment:
    """A throw-away virtual environment, with the commands the checks need."""

    def __init__(self, path: pathlib.Path, log: list[str]) -> None:
        self.path = path
        self.log = log
        self.python = path / "bin" / "python"
        self.run([sys.executable, "-m", "venv", str(path)], what="create the environment")

    def run(self, command: list[str], what: str, cwd: pathlib.Path | None = None) -> str:
        self.log.append("$ " + " ".join(command))
        result = subprocess.run(
            command, capture_output=True, text=True, cwd=cwd, env=_clean_environ()
        )
        if result.returncode != 0:
            self.log.append(result.stdout[-6000:] + result.stderr[-6000:])
            raise Failure(f"could not {what} (exit {result.returncode})")
        return result.stdout

    def pip(self, *args: str, what: str) -> str:
        command = [str(self.python), "-m", "pip", "--disable-pip-version-check"]
        return self.run([*command, *args], what=what)

    def installed_squall(self) -> set[str]:
        listing = self.pip("list", "--format=json", what="list installed distributions")
        return {d["name"] for d in json.loads(listing) if d["name"].startswith("squall")}

    def probe(self, packages: list[Package], editable: bool = False) -> list[str]:
        """Import every module of *packages*; return the problems found.

        Each module must come from this environment, or, for an editable
        install, from its own package's source tree.
        """
        names = [f"squall.{m}" for p in packages if has_code(p) for m in p.modules]
        names = [n for n in names if _module_source(n) is not None]
        output = self.run(
            [str(self.python), "-c", _PROBE, *names], what="import the modules", cwd=self.path
        )
        problems = []
        allowed = [str(self.path)]
        if editable:
            allowed += [str(p.path / "src") for p in packages]
        # A module behind an extra may fail to import without it, but only with
        # an error that says which extra to install.
        extras = {f"squall.{m}": f"{p.dist}[{extra}]" for p in packages for m, extra in p.optional}
        for name, where in json.loads(output).items():
            if where.startswith("ERROR") and name in extras and extras[name] in where:
                continue
            if where.startswith("ERROR"):
                problems.append(f"import {name}: {where[6:]}")
            elif where not in ("", "<namespace>") and not where.startswith(tuple(allowed)):
                problems.append(f"{name} was imported from outside its install: {where}")
        return problems

    def probe_extensions(self, packages: list[Package]) -> list[str]:
        """Import the C extensions of *packages*; return the problems found.

        Each must be a compiled module of this environment's site-packages.
        """
        if build_dists.extensions_disabled():
            return []
        names = [m for p in packages for m in build_dists.EXTENSIONS.get(p.dir, ())]
        if not names:
            return []
        output = self.run(
            [str(self.python), "-c", _PROBE, *names], what="import the C extensions", cwd=self.path
        )
        problems = []
        for name, where in json.loads(output).items():
            if name == "<squall>":
                continue
            if where.startswith("ERROR"):
                problems.append(f"import {name}: {where[6:]}")
            elif not where.startswith(str(self.path)) or not where.endswith((".so", ".pyd")):
                problems.append(f"{name} is not a compiled module of the environment: {where}")
        return problems

    def run_tests(self, package: Package) -> None:
        self.pip(
            "install",
            "-q",
            *_test_requirements(package),
            what=f"install {package.dist}'s test tools",
        )
        tests = package.path / "tests"
        self.run(
            [str(self.path / "bin" / "pytest"), "-p", "no:cacheprovider", "-q", str(tests)],
            what=f"pass {package.dist}'s tests",
            cwd=ROOT,
        )
        self.log.append(f"{package.dist}: tests passed")


def _clean_environ() -> dict[str, str]:
    import os

    # Nothing of the calling environment may leak into the checked one.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


def _module_source(name: str) -> pathlib.Path | None:
    relative = name.replace(".", "/")
    for package in PACKAGES:
        for candidate in (f"{relative}.py", f"{relative}/__init__.py"):
            path = package.path / "src" / candidate
            if path.exists():
                return path
    return None


def _test_requirements(package: Package) -> list[str]:
    data = tomllib.loads((package.path / "pyproject.toml").read_text(encoding="utf-8"))
    requirements: list[str] = data.get("dependency-groups", {}).get("test", [])
    return requirements


def check_wheel_install(package: Package, wheels: pathlib.Path, workdir: pathlib.Path) -> Outcome:
    outcome = Outcome(package.dist, ok=False)
    try:
        env = Environment(workdir / package.dir, outcome.log)
        needed = closure(package.dir)
        third_party = sorted({r for p in needed for r in p.requires})
        if third_party:
            env.pip("install", "-q", *third_party, what="install third-party requirements")
        env.pip(
            "install", "-q", "--no-index", "--find-links", str(wheels), package.dist,
            what=f"install {package.dist} from the built wheels",
        )  # fmt: skip
        installed = env.installed_squall()
        expected = {p.dist for p in needed}
        if installed != expected:
            extra = sorted(installed - expected)
            missing = sorted(expected - installed)
            raise Failure(f"installed squall set differs: extra {extra}, missing {missing}")
        problems = env.probe(needed) + env.probe_extensions(needed)
        if problems:
            raise Failure("; ".join(problems))
        # The meta environment holds every distribution: run every package's
        # tests there, so each is also checked next to squall/__init__.py.
        testable = needed if package.dir == "squall" else [package]
        for target in testable:
            if has_tests(target):
                env.run_tests(target)
        outcome.ok = True
    except Failure as exc:
        outcome.log.append(f"FAILED: {exc}")
    return outcome


def check_editable_without_meta(workdir: pathlib.Path) -> Outcome:
    outcome = Outcome("editable-without-meta", ok=False)
    try:
        env = Environment(workdir / "editable", outcome.log)
        template = BY_DIR["template"]
        env.pip(
            "install", "-q", "-e", str(BY_DIR["core"].path), "-e", str(template.path),
            what="install core and template editable",
        )  # fmt: skip
        installed = env.installed_squall()
        if installed != {"squall-core", "squall-template"}:
            raise Failure(f"unexpected distributions installed: {sorted(installed)}")
        output = env.run(
            [str(env.python), "-c", "import squall; print(squall.__file__)"],
            what="import squall",
            cwd=env.path,
        )
        if output.strip() != "None":
            raise Failure(f"squall should be a namespace package here, got {output.strip()}")
        problems = env.probe(closure("template"), editable=True)
        if problems:
            raise Failure("; ".join(problems))
        env.run_tests(template)
        outcome.ok = True
    except Failure as exc:
        outcome.log.append(f"FAILED: {exc}")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="environments built at once")
    parser.add_argument("--keep", action="store_true", help="keep the environments")
    parser.add_argument("packages", nargs="*", help="package directories (default: all)")
    args = parser.parse_args(argv)
    packages = [BY_DIR[name] for name in args.packages] if args.packages else list(PACKAGES)

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="squall-isolation-"))
    wheels = workdir / "wheels"
    if build_dists.main(["--outdir", str(wheels)]) != 0:
        return 1
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(check_wheel_install, p, wheels, workdir) for p in packages]
            if not args.packages:
                futures.append(pool.submit(check_editable_without_meta, workdir))
            outcomes = [f.result() for f in futures]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    for outcome in outcomes:
        if not outcome.ok:
            print(f"--- {outcome.name}", file=sys.stderr)
            print("\n".join(outcome.log), file=sys.stderr)
    for outcome in outcomes:
        print(f"{'ok  ' if outcome.ok else 'FAIL'} {outcome.name}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
