"""The meta package's ``squall/__init__.py``: version, lazy submodules, path."""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import squall


def run_python(code: str, *extra_path: str) -> str:
    """Run *code* in a fresh interpreter (so nothing is imported yet)."""
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join([*extra_path, env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_version_matches_distribution_metadata() -> None:
    assert squall.version == importlib.metadata.version("squall")


def test_version_info_is_a_four_tuple_of_the_version() -> None:
    assert len(squall.version_info) == 4
    assert all(isinstance(part, int) for part in squall.version_info)
    assert ".".join(map(str, squall.version_info[:3])) == squall.version
    assert squall.version_info[3] == 0


def test_submodules_are_imported_lazily() -> None:
    output = run_python(
        """
        import sys
        import squall
        print("squall.escape" in sys.modules, "squall.template" in sys.modules)
        print(squall.escape.xhtml_escape("<b>"))
        print(squall.template.Template("{{ x }}").generate(x="<i>").decode())
        print("squall.escape" in sys.modules, "squall.template" in sys.modules)
        """
    )
    assert output.split("\n") == ["False False", "&lt;b&gt;", "&lt;i&gt;", "True True", ""]


def test_lazy_access_returns_the_module() -> None:
    import squall.escape

    assert squall.escape is sys.modules["squall.escape"]
    assert squall.util is sys.modules["squall.util"]


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = squall.nope  # type: ignore[attr-defined]


def test_missing_distribution_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(squall._SUBMODULES, "not_there", "squall-not-there")
    with pytest.raises(AttributeError, match="install the 'squall-not-there' distribution"):
        _ = squall.not_there  # type: ignore[attr-defined]


def test_dir_lists_every_submodule() -> None:
    listing = dir(squall)
    for name in ("web", "template", "escape", "ioloop", "version", "version_info"):
        assert name in listing


def test_path_covers_every_installed_portion() -> None:
    import squall.escape
    import squall.template

    portions = {os.path.realpath(p) for p in squall.__path__}
    for module in (squall.escape, squall.template):
        assert module.__file__ is not None
        assert os.path.realpath(os.path.dirname(module.__file__)) in portions


def test_platform_namespace_is_lazy_too(tmp_path: pathlib.Path) -> None:
    # A third-party-style portion of squall.platform on sys.path.
    platform_dir = tmp_path / "squall" / "platform"
    platform_dir.mkdir(parents=True)
    (platform_dir / "fakeplat.py").write_text("VALUE = 42\n")
    output = run_python(
        """
        import squall
        squall._PLATFORM_SUBMODULES["fakeplat"] = "squall-fake"
        print(squall.platform.fakeplat.VALUE)
        try:
            squall.platform.nothing
        except AttributeError as exc:
            print("AttributeError", exc)
        """,
        str(tmp_path),
    )
    lines = output.splitlines()
    assert lines[0] == "42"
    assert lines[1] == "AttributeError module 'squall.platform' has no attribute 'nothing'"
