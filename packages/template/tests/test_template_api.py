"""The public surface of squall.template matches the documented API."""

from __future__ import annotations

import doctest
import importlib.metadata
import inspect
import types

import pytest

import squall.template
from squall.template import BaseLoader, DictLoader, Loader, ParseError, Template, filter_whitespace

DOCUMENTED = ["BaseLoader", "DictLoader", "Loader", "ParseError", "Template", "filter_whitespace"]


def test_all_is_sorted_and_complete() -> None:
    assert squall.template.__all__ == sorted(squall.template.__all__)
    assert squall.template.__all__ == DOCUMENTED
    public = {
        name
        for name, value in vars(squall.template).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert public == set(DOCUMENTED)


def test_public_objects_live_in_squall_template() -> None:
    for name in DOCUMENTED:
        assert getattr(squall.template, name).__module__ == "squall.template"


def test_template_distribution_ships_no_squall_init() -> None:
    # squall is a namespace package shared by several distributions: only the
    # meta distribution may own squall/__init__.py (it may sit beside us when
    # installed, so ask the distribution's file list, not the directory).
    files = importlib.metadata.files("squall-template") or []
    shipped = {f.as_posix() for f in files}
    assert "squall/template.py" in shipped or any(
        name.endswith(".pth") for name in shipped
    )  # a wheel install, or an editable one
    assert "squall/__init__.py" not in shipped


def test_module_docstring_examples() -> None:
    failures, tests = doctest.testmod(squall.template)
    assert tests > 0
    assert failures == 0


@pytest.mark.parametrize(
    ("obj", "params"),
    [
        (
            Template,
            [
                "template_string",
                "name",
                "loader",
                "compress_whitespace",
                "autoescape",
                "whitespace",
            ],
        ),
        (BaseLoader, ["autoescape", "namespace", "whitespace"]),
        (Loader, ["root_directory", "kwargs"]),
        (DictLoader, ["dict", "kwargs"]),
        (ParseError, ["message", "filename", "lineno"]),
        (filter_whitespace, ["mode", "text"]),
        (BaseLoader.load, ["self", "name", "parent_path"]),
        (BaseLoader.resolve_path, ["self", "name", "parent_path"]),
        (BaseLoader.reset, ["self"]),
        (BaseLoader.create_template, ["self", "name"]),
        (Template.generate, ["self", "kwargs"]),
    ],
)
def test_signatures(obj: object, params: list[str]) -> None:
    assert list(inspect.signature(obj).parameters) == params  # type: ignore[arg-type]


def test_defaults() -> None:
    signature = inspect.signature(Template)
    assert signature.parameters["name"].default == "<string>"
    assert signature.parameters["loader"].default is None
    assert signature.parameters["whitespace"].default is None
    loader_signature = inspect.signature(BaseLoader)
    assert loader_signature.parameters["autoescape"].default == "xhtml_escape"
    assert loader_signature.parameters["namespace"].default is None
    parse_error = inspect.signature(ParseError)
    assert parse_error.parameters["filename"].default is None
    assert parse_error.parameters["lineno"].default == 0


def test_template_attributes() -> None:
    loader = DictLoader({"a.html": "x"}, namespace={"k": 1})
    template = loader.load("a.html")
    assert template.name == "a.html"
    assert template.loader is loader
    assert template.autoescape == "xhtml_escape"
    assert template.namespace == {"k": 1}
    assert isinstance(template.code, str)
    standalone = Template("x")
    assert standalone.name == "<string>"
    assert standalone.loader is None
    assert standalone.namespace == {}


def test_public_api_is_documented() -> None:
    for name in DOCUMENTED:
        assert inspect.getdoc(getattr(squall.template, name))
    for method in (BaseLoader.load, BaseLoader.reset, BaseLoader.resolve_path, Template.generate):
        assert inspect.getdoc(method)
    assert squall.template.__doc__
