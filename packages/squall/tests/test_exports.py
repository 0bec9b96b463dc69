"""Every public squall module has a complete, sorted ``__all__`` (STYLE.md 10).

"Sorted" is the order ruff's RUF022 rule keeps (the lint step enforces it on
every literal ``__all__``): SCREAMING_CASE constants first, then CamelCase
classes, then the rest, each group in natural order.

This lives in the meta package because it is the one whose environment holds
every distribution; it checks each module that is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import types

import pytest

import squall


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"squall.{name}") is not None
    except ModuleNotFoundError:  # squall.platform itself is absent
        return False


INSTALLED = sorted(
    name
    for name in [
        *(n for n in squall._SUBMODULES if n != "platform"),
        *(f"platform.{n}" for n in squall._PLATFORM_SUBMODULES),
    ]
    if _installed(name)
)


def ruff_order(name: str) -> tuple[int, list[object]]:
    """The sort key of ruff's isort-style ``__all__`` order."""
    if name.isupper() or (name.upper() == name and any(c.isalpha() for c in name)):
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    natural: list[object] = [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]
    return group, natural


def public_definitions(module: types.ModuleType) -> set[str]:
    """Names of the classes and functions *module* itself defines, not private."""
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        defined = inspect.isclass(value) or inspect.isfunction(value)
        if defined and value.__module__ == module.__name__:
            names.add(name)
    return names


def test_core_and_template_are_checked() -> None:
    assert {"escape", "util", "log", "options", "template"} <= set(INSTALLED)


@pytest.mark.parametrize("name", INSTALLED)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(f"squall.{name}")
    exported = module.__all__
    assert list(exported) == sorted(exported, key=ruff_order), f"squall.{name}.__all__ order"
    assert len(set(exported)) == len(exported), f"squall.{name}.__all__ has duplicates"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"squall.{name}.__all__ names what it lacks: {missing}"
    unexported = public_definitions(module) - set(exported)
    assert not unexported, f"squall.{name} defines public names not in __all__: {unexported}"
