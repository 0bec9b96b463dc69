"""Every public squall module has a complete, sorted ``__all__`` (STYLE.md 10).

This lives in the meta package because it is the one whose environment holds
every distribution; it checks each module that is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import types

import pytest

import squall

INSTALLED = sorted(
    name
    for name in squall._SUBMODULES
    if name != "platform" and importlib.util.find_spec(f"squall.{name}") is not None
)


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
    assert list(exported) == sorted(exported), f"squall.{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"squall.{name}.__all__ has duplicates"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"squall.{name}.__all__ names what it lacks: {missing}"
    unexported = public_definitions(module) - set(exported)
    assert not unexported, f"squall.{name} defines public names not in __all__: {unexported}"
