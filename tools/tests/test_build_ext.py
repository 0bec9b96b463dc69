"""squall-httpcore's optional C extension: the wheel build hook and the in-place build."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import build_dists
import build_ext
import pytest
from layers import BY_DIR

HTTPCORE = BY_DIR["httpcore"].path
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")

#: A stand-in for the real source: the in-place tests must not depend on the
#: state of the C file someone is editing.
TINY_MODULE = """
#include <Python.h>
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
"""


def build_wheel(outdir: Path, **env: str) -> Path:
    environ = {k: v for k, v in os.environ.items() if k != "SQUALL_NO_EXTENSIONS"}
    command = [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir"]
    result = subprocess.run(
        [*command, str(outdir), str(HTTPCORE)],
        capture_output=True,
        text=True,
        env={**environ, **env},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = outdir.glob("*.whl")
    return wheel


def test_wheel_without_extensions_is_pure_python(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, SQUALL_NO_EXTENSIONS="1")
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "squall/_http1/__init__.py" in names
    assert not [n for n in names if n.endswith((".so", ".pyd", ".c"))]


def test_wheel_holds_the_compiled_extension_and_a_platform_tag(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    assert not wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/WHEEL")]
        wheel_file = archive.read(metadata).decode()
    assert f"squall/_http1/_speedups{EXT_SUFFIX}" in names
    # Exactly one compiled module: not also a copy left in src/ by an editable install.
    assert len([n for n in names if n.endswith((".so", ".pyd"))]) == 1
    assert "Root-Is-Purelib: false" in wheel_file


def fake_wheel(directory: Path, tag: str, *names: str) -> Path:
    wheel = directory / f"squall_httpcore-0.1.0-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name in names:
            archive.writestr(name, "")
    return wheel


@pytest.mark.parametrize(
    ("disabled", "tag", "names", "expected"),
    [
        ("", "cp311-cp311-linux_x86_64", [f"squall/_http1/_speedups{EXT_SUFFIX}"], []),
        ("", "py3-none-any", [], ["lacks its C extension"]),
        ("", "py3-none-any", [f"squall/_http1/_speedups{EXT_SUFFIX}"], ["tagged py3-none-any"]),
        ("1", "py3-none-any", [], []),
        ("1", "cp311-cp311-linux_x86_64", [], ["should be a pure-Python wheel"]),
    ],
)
def test_build_dists_inspects_the_extension(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    disabled: str,
    tag: str,
    names: list[str],
    expected: list[str],
) -> None:
    monkeypatch.setenv("SQUALL_NO_EXTENSIONS", disabled)
    wheel = fake_wheel(tmp_path, tag, *names)
    problems = build_dists.inspect_wheel(BY_DIR["httpcore"], wheel)
    extension_problems = [p for p in problems if "extension" in p or "pure" in p]
    assert len(extension_problems) == len(expected), problems
    for problem, text in zip(extension_problems, expected, strict=True):
        assert text in problem


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of httpcore's layout holding a tiny C module."""
    monkeypatch.delenv("SQUALL_NO_EXTENSIONS", raising=False)
    source = tmp_path / "packages" / "httpcore" / "src" / "squall" / "_http1" / "_speedups.c"
    source.parent.mkdir(parents=True)
    source.write_text(TINY_MODULE, encoding="utf-8")
    return tmp_path / "packages" / "httpcore"


def _age(path: Path, seconds: int) -> None:
    stat = path.stat()
    os.utime(path, (stat.st_atime - seconds, stat.st_mtime - seconds))


def test_build_in_place_compiles_only_a_stale_module(project: Path) -> None:
    target = build_ext.build_in_place(project=project, log=False)
    assert target == project / "src" / "squall" / "_http1" / f"_speedups{EXT_SUFFIX}"
    assert target.is_file()
    built = target.stat().st_mtime_ns

    assert build_ext.build_in_place(project=project, log=False) == target
    assert target.stat().st_mtime_ns == built  # up to date: not compiled again

    _age(target, 60)  # the source is now newer than the module
    build_ext.build_in_place(project=project, log=False)
    assert target.stat().st_mtime_ns >= built  # compiled again


def test_failed_build_raises_and_removes_the_stale_module(project: Path) -> None:
    target = build_ext.build_in_place(project=project, log=False)
    assert target is not None
    source = project / "src" / "squall" / "_http1" / "_speedups.c"
    source.write_text(TINY_MODULE + "\nthis is not C;\n", encoding="utf-8")
    _age(target, 60)
    with pytest.raises(build_ext.BuildError, match="exited with status"):
        build_ext.build_in_place(project=project, log=False)
    assert not target.exists()


def test_disabled_by_the_environment(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQUALL_NO_EXTENSIONS", "1")
    assert build_ext.build_in_place(project=project, log=False) is None
    assert not list(project.rglob("*.so"))
    monkeypatch.setenv("SQUALL_NO_EXTENSIONS", "0")  # "0" keeps the extension
    assert build_ext.build_in_place(project=project, log=False) is not None
