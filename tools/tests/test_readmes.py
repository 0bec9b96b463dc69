"""The Python examples in the READMEs run, and print what their comments say.

Convention: a ``print(...)`` line whose trailing comment is ``# <text>`` must
print exactly ``<text>``.  A block whose prints have no such comments is only
run; a block must not mix the two.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest
from layers import ROOT

READMES = [ROOT / "README.md", *sorted(ROOT.glob("packages/*/README.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PRINT_WITH_OUTPUT = re.compile(r"^\s*print\(.*\)\s+# (.*)$")


def examples() -> list[tuple[str, str]]:
    found = []
    for readme in READMES:
        for number, match in enumerate(_BLOCK.finditer(readme.read_text(encoding="utf-8"))):
            found.append((f"{readme.relative_to(ROOT)}#{number}", match.group(1)))
    return found


def test_every_package_with_code_has_an_example() -> None:
    from layers import PACKAGES, has_code

    with_examples = {name.split("#")[0] for name, _ in examples()}
    for package in PACKAGES:
        if has_code(package):
            assert f"packages/{package.dir}/README.md" in with_examples


@pytest.mark.parametrize(("name", "code"), examples(), ids=[n for n, _ in examples()])
def test_example_runs_and_prints_what_it_says(
    name: str, code: str, tmp_path: pathlib.Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stderr}"
    expected = [m.group(1) for line in code.splitlines() if (m := _PRINT_WITH_OUTPUT.match(line))]
    if expected:
        prints = [line for line in code.splitlines() if line.lstrip().startswith("print(")]
        assert len(prints) == len(expected), f"{name} mixes prints with and without output"
        assert result.stdout.splitlines() == expected, name
