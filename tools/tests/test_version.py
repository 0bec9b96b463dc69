"""tools/version.py: one version, written everywhere."""

from __future__ import annotations

import pytest
import version
from layers import BY_DIR, ROOT


def test_repository_is_in_sync() -> None:
    current = (ROOT / "VERSION").read_text().strip()
    stale = [p for p, (old, new) in version.planned_changes(current).items() if old != new]
    assert stale == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [("0.1.0", ">=0.1,<0.2"), ("1.9.3", ">=1.9,<1.10"), ("2.0.0", ">=2.0,<2.1")],
)
def test_pin_is_the_same_minor_range(given: str, expected: str) -> None:
    assert version.pin(given) == expected


@pytest.mark.parametrize("bad", ["1.2", "1.2.3.4", "v1.2.3", "1.2.x", ""])
def test_malformed_versions_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR\.MICRO"):
        version.parse(bad)


def test_render_pyproject_rewrites_version_and_pins() -> None:
    web = BY_DIR["web"]
    text = (web.path / "pyproject.toml").read_text()
    rendered = version.render_pyproject(text, web, "3.4.5")
    assert 'version = "3.4.5"' in rendered
    assert '"squall-httpcore>=3.4,<3.5"' in rendered
    assert '"squall-template>=3.4,<3.5"' in rendered
    assert "0.1.0" not in rendered.split("[dependency-groups]")[0].split("[project]")[1]


def test_render_pyproject_requires_one_version_line() -> None:
    with pytest.raises(ValueError, match="one 'version"):
        version.render_pyproject("[project]\n", BY_DIR["core"], "1.0.0")


def test_render_meta_init() -> None:
    text = 'x = 1\nversion = "0.0.1"\nversion_info = (0, 0, 1, 0)\n'
    assert version.render_meta_init(text, "2.3.4") == (
        'x = 1\nversion = "2.3.4"\nversion_info = (2, 3, 4, 0)\n'
    )


def test_check_mode_reports_stale_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    import pathlib

    fake = pathlib.Path(str(tmp_path)) / "VERSION"
    fake.write_text("9.9.9\n")
    monkeypatch.setattr(version, "VERSION_FILE", fake)
    assert version.main(["--check"]) == 1
    assert "out of sync with VERSION 9.9.9" in capsys.readouterr().err
