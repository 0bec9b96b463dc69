"""Modules behind an extra say which extra to install when it is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


@pytest.mark.parametrize(
    ("module", "dependency", "extra"),
    [
        ("squall.platform.caresresolver", "pycares", "squall-iostream[cares]"),
        ("squall.platform.twisted", "twisted", "squall-iostream[twisted]"),
    ],
)
def test_missing_dependency_names_the_extra(module: str, dependency: str, extra: str) -> None:
    # In a fresh interpreter, make the dependency unimportable (a None entry in
    # sys.modules is what the import system treats as "not installed").
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules[{dependency!r}] = None
        try:
            import {module}
        except ImportError as exc:
            print(exc)
        else:
            print("imported")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert f"pip install {extra}" in result.stdout
