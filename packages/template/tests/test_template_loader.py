"""Loaders, inheritance and includes."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from squall.template import BaseLoader, DictLoader, Loader, ParseError, Template


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# -- Loader ----------------------------------------------------------------


def test_loader_loads_and_renders(tmp_path: Path) -> None:
    write(tmp_path, {"test.html": "<html>{{ myvalue }}</html>"})
    template = Loader(str(tmp_path)).load("test.html")
    assert template.name == "test.html"
    assert template.generate(myvalue="XXX") == b"<html>XXX</html>"


def test_loader_accepts_pathlike_and_relative_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"t/a.txt": "A"})
    assert Loader(tmp_path / "t").load("a.txt").generate() == b"A"
    monkeypatch.chdir(tmp_path)
    loader = Loader("t")
    assert loader.root == str(tmp_path / "t")
    assert loader.load("a.txt").generate() == b"A"


def test_loader_reads_utf8_regardless_of_locale(tmp_path: Path) -> None:
    (tmp_path / "u.html").write_bytes("ünï {{ 'cödé' }}".encode())
    assert Loader(tmp_path).load("u.html").generate() == "ünï cödé".encode()


def test_loader_caches_until_reset(tmp_path: Path) -> None:
    write(tmp_path, {"a.html": "one"})
    loader = Loader(tmp_path)
    first = loader.load("a.html")
    assert loader.load("a.html") is first
    assert loader.load("./a.html") is first
    write(tmp_path, {"a.html": "two"})
    assert loader.load("a.html").generate() == b"one"
    loader.reset()
    second = loader.load("a.html")
    assert second is not first
    assert second.generate() == b"two"


def test_loader_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Loader(tmp_path).load("missing.html")


def test_loader_subdirectories_and_relative_references(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.html": "[{% block body %}{% end %}]{% include 'foot.html' %}",
            "foot.html": "(root foot)",
            "admin/page.html": "{% extends '../base.html' %}{% block body %}"
            "{% include 'row.html' %}{% include 'sub/cell.html' %}{% end %}",
            "admin/row.html": "<row>",
            "admin/sub/cell.html": "{% include '../row.html' %}cell",
        },
    )
    loader = Loader(tmp_path)
    assert loader.load("admin/page.html").generate() == b"[<row><row>cell](root foot)"
    assert set(loader.templates) == {
        "admin/page.html",
        "base.html",
        "foot.html",
        "admin/row.html",
        "admin/sub/cell.html",
    }


def test_loader_resolve_path() -> None:
    loader = Loader("/srv/templates")
    assert loader.resolve_path("a.html") == "a.html"
    assert loader.resolve_path("./x/../a.html") == "a.html"
    assert loader.resolve_path("b.html", parent_path="dir/a.html") == "dir/b.html"
    assert loader.resolve_path("../b.html", parent_path="dir/a.html") == "b.html"
    assert loader.resolve_path("b.html", parent_path="<string>") == "b.html"
    assert loader.resolve_path("/abs.html", parent_path="dir/a.html") == "/abs.html"


@pytest.mark.parametrize(
    "name", ["../outside.html", "sub/../../outside.html", "/etc/passwd", "", "a\0b", "."]
)
def test_loader_refuses_names_outside_root(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    write(root, {"sub/in.html": "in"})
    write(tmp_path, {"outside.html": "secret"})
    with pytest.raises(ValueError, match="template"):
        Loader(root).load(name)


def test_loader_refuses_absolute_path_even_inside_root(tmp_path: Path) -> None:
    write(tmp_path, {"a.html": "a"})
    with pytest.raises(ValueError, match="relative path"):
        Loader(tmp_path).load(str(tmp_path / "a.html"))


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_loader_refuses_symlinks_leaving_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, {"real.html": "real"})
    write(tmp_path, {"secret/x.html": "secret"})
    (root / "link.html").symlink_to(tmp_path / "secret" / "x.html")
    (root / "linkdir").symlink_to(tmp_path / "secret", target_is_directory=True)
    (root / "inside.html").symlink_to(root / "real.html")
    loader = Loader(root)
    with pytest.raises(ValueError, match="outside the template root"):
        loader.load("link.html")
    with pytest.raises(ValueError, match="outside the template root"):
        loader.load("linkdir/x.html")
    assert loader.load("inside.html").generate() == b"real"


def test_loader_root_may_itself_be_a_symlink(tmp_path: Path) -> None:
    write(tmp_path, {"real/a.html": "a"})
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    assert Loader(tmp_path / "alias").load("a.html").generate() == b"a"


def test_include_escaping_root_is_a_parse_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, {"page.html": "x\n{% include '../../secret.html' %}"})
    write(tmp_path, {"secret.html": "secret"})
    with pytest.raises(ParseError) as info:
        Loader(root).load("page.html")
    assert (info.value.filename, info.value.lineno) == ("page.html", 2)
    assert "../../secret.html" in info.value.message
    assert isinstance(info.value.__cause__, ValueError)


def test_include_missing_file_names_it(tmp_path: Path) -> None:
    write(tmp_path, {"page.html": "a\nb\n{% include 'nope.html' %}"})
    with pytest.raises(ParseError) as info:
        Loader(tmp_path).load("page.html")
    assert "nope.html" in str(info.value)
    assert str(info.value).endswith("at page.html:3")
    assert isinstance(info.value.__cause__, FileNotFoundError)


# -- DictLoader ------------------------------------------------------------


def test_dict_loader_missing_template() -> None:
    with pytest.raises(KeyError):
        DictLoader({}).load("x.html")


def test_dict_loader_include_missing_names_it() -> None:
    loader = DictLoader({"a.html": "{% include 'gone.html' %}"})
    message = r"cannot load 'gone\.html' for \{% include %\}: KeyError.*at a\.html:1"
    with pytest.raises(ParseError, match=message):
        loader.load("a.html")
    loader = DictLoader({"a.html": '{% extends "gone.html" %}'})
    with pytest.raises(ParseError, match=r"cannot load 'gone\.html' for \{% extends %\}"):
        loader.load("a.html")


def test_dict_loader_relative_names() -> None:
    loader = DictLoader(
        {
            "a/page.html": "{% include 'part.html' %}{% include '../top.html' %}"
            "{% include '/abs.html' %}",
            "a/part.html": "P",
            "top.html": "T",
            "/abs.html": "A",
        }
    )
    assert loader.load("a/page.html").generate() == b"PTA"


def test_dict_loader_accepts_bytes() -> None:
    assert DictLoader({"a": "é{{ 1 }}".encode()}).load("a").generate() == "é1".encode()


def test_dict_loader_cache_and_reset() -> None:
    templates = {"a.html": "1"}
    loader = DictLoader(templates)
    first = loader.load("a.html")
    templates["a.html"] = "2"
    assert loader.load("a.html") is first
    loader.reset()
    assert loader.load("a.html").generate() == b"2"


# -- BaseLoader ------------------------------------------------------------


def test_base_loader_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        BaseLoader().load("x")


def test_base_loader_defaults() -> None:
    loader = BaseLoader()
    assert loader.autoescape == "xhtml_escape"
    assert loader.namespace == {}
    assert loader.whitespace is None
    assert loader.resolve_path("a/b.html", parent_path="c/d.html") == "a/b.html"


class CountingLoader(BaseLoader):
    """A custom loader in the documented style: create_template + resolve_path."""

    def __init__(self, texts: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.texts = texts
        self.created: list[str] = []

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        return name.upper()

    def create_template(self, name: str) -> Template:
        self.created.append(name)
        return Template(self.texts[name], name=name, loader=self)


def test_custom_loader() -> None:
    loader = CountingLoader({"A": "a{% include 'b' %}", "B": "b"})
    assert loader.load("a").generate() == b"ab"
    assert loader.load("A") is loader.load("a")
    assert loader.created == ["A", "B"]


def test_tornado_style_loader_overriding_private_create_template() -> None:
    class Legacy(BaseLoader):
        def _create_template(self, name: str) -> Template:
            return Template("legacy " + name, name=name, loader=self)

    assert Legacy().load("x").generate() == b"legacy x"


def test_loader_is_thread_safe() -> None:
    barrier = threading.Barrier(8)
    loader = CountingLoader({"A": "{% include 'b' %}" * 50, "B": "{{ 1 }}"})
    results: list[Template] = []

    def worker() -> None:
        barrier.wait()
        results.append(loader.load("a"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(result is results[0] for result in results)
    assert loader.created == ["A", "B"]
    assert results[0].generate() == b"1" * 50


# -- inheritance -----------------------------------------------------------

BASE = """<title>{% block title %}Default title{% end %}</title>
<ul>{% for student in students %}{% block student %}<li>{{ student }}</li>{% end %}{% end %}\
</ul>"""

BOLD = """{% extends "base.html" %}
{% block title %}A bolder title{% end %}
{% block student %}<li><b>{{ student }}</b></li>{% end %}"""


def test_extends_overrides_blocks() -> None:
    loader = DictLoader({"base.html": BASE, "bold.html": BOLD})
    assert loader.load("base.html").generate(students=["a"]) == (
        b"<title>Default title</title>\n<ul><li>a</li></ul>"
    )
    assert loader.load("bold.html").generate(students=["a", "<b>"]) == (
        b"<title>A bolder title</title>\n<ul><li><b>a</b></li><li><b>&lt;b&gt;</b></li></ul>"
    )


def test_child_content_outside_blocks_is_ignored() -> None:
    loader = DictLoader(
        {
            "base.html": "<{% block a %}A{% end %}>",
            "child.html": "ignored {{ 1 / 0 }}{% extends 'base.html' %}ignored"
            "{% block a %}child{% end %}{% block unused %}U{% end %}",
        }
    )
    assert loader.load("child.html").generate() == b"<child>"


def test_extends_chain() -> None:
    loader = DictLoader(
        {
            "base.html": "{% block head %}H{% end %}|{% block body %}B{% end %}|"
            "{% block foot %}F{% end %}",
            "layout.html": "{% extends 'base.html' %}{% block body %}L[{% block inner %}"
            "i{% end %}]{% end %}{% block foot %}LF{% end %}",
            "page.html": "{% extends 'layout.html' %}{% block inner %}page{% end %}"
            "{% block foot %}PF{% end %}",
        }
    )
    assert loader.load("layout.html").generate() == b"H|L[i]|LF"
    assert loader.load("page.html").generate() == b"H|L[page]|PF"


def test_blocks_nested_in_child_block_override_parent() -> None:
    loader = DictLoader(
        {
            "base.html": "{% block outer %}O[{% block inner %}i{% end %}]{% end %}",
            "a.html": "{% extends 'base.html' %}{% block inner %}I{% end %}",
            "b.html": "{% extends 'base.html' %}{% block outer %}X{% block inner %}"
            "j{% end %}{% end %}",
            "c.html": "{% extends 'b.html' %}{% block inner %}K{% end %}",
        }
    )
    assert loader.load("a.html").generate() == b"O[I]"
    assert loader.load("b.html").generate() == b"Xj"
    assert loader.load("c.html").generate() == b"XK"


def test_block_sees_loop_variables_and_sets() -> None:
    loader = DictLoader(
        {
            "base.html": "{% set sep = '-' %}{% for i in range(3) %}{% block item %}"
            "{{ i }}{% end %}{% end %}",
            "child.html": "{% extends 'base.html' %}"
            "{% block item %}{{ sep }}{{ i * 10 }}{% end %}",
        }
    )
    assert loader.load("child.html").generate() == b"-0-10-20"


def test_autoescape_follows_the_file_a_block_comes_from() -> None:
    loader = DictLoader(
        {
            "base.html": "{% autoescape None %}{{ x }}{% block b %}{% end %}",
            "child.html": "{% extends 'base.html' %}{% block b %}{{ x }}{% end %}",
        }
    )
    assert loader.load("child.html").generate(x="<") == b"<&lt;"


def test_blocks_defined_in_included_files() -> None:
    loader = DictLoader(
        {
            "base.html": "[{% include 'part.html' %}]",
            "part.html": "{% block p %}default{% end %}",
            "child.html": "{% extends 'base.html' %}{% block p %}over{% end %}",
            "child2.html": "{% extends 'base.html' %}{% block p %}{% include 'b.html' %}{% end %}",
            "b.html": "included",
        }
    )
    assert loader.load("child.html").generate() == b"[over]"
    assert loader.load("child2.html").generate() == b"[included]"


def test_extends_relative_to_child(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "layouts/base.html": "<{% block b %}{% end %}>{% include 'nav.html' %}",
            "layouts/nav.html": "nav",
            "pages/p.html": "{% extends '../layouts/base.html' %}{% block b %}P{% end %}",
        },
    )
    assert Loader(tmp_path).load("pages/p.html").generate() == b"<P>nav"


def test_extends_cycle() -> None:
    loader = DictLoader({"a.html": "{% extends 'b.html' %}", "b.html": "\n{% extends 'a.html' %}"})
    with pytest.raises(ParseError, match="extends or includes itself") as info:
        loader.load("a.html")
    assert "a.html -> b.html -> a.html" in str(info.value)


def test_extends_self() -> None:
    loader = DictLoader({"a.html": "{% extends 'a.html' %}"})
    with pytest.raises(ParseError, match="itself"):
        loader.load("a.html")


def test_include_cycle() -> None:
    loader = DictLoader({"a.html": "{% include 'b.html' %}", "b.html": "{% include 'a.html' %}"})
    with pytest.raises(ParseError, match="itself"):
        loader.load("a.html")
    assert loader.templates == {}


def test_include_cycle_from_template_outside_loader() -> None:
    loader = DictLoader({"b.html": "{% include 'a.html' %}", "a.html": "{% include 'b.html' %}"})
    with pytest.raises(ParseError, match="itself"):
        Template("{% include 'b.html' %}", name="a.html", loader=loader)


def test_extends_and_include_need_a_loader() -> None:
    with pytest.raises(ParseError, match="extends requires a template loader"):
        Template("{% extends 'base.html' %}")
    with pytest.raises(ParseError, match=r"include requires a template loader at <string>:2"):
        Template("\n{% include 'x.html' %}")


def test_template_with_explicit_loader_resolves_against_its_name() -> None:
    loader = DictLoader({"dir/base.html": "base:{% block b %}{% end %}"})
    template = Template(
        "{% extends 'base.html' %}{% block b %}mine{% end %}", name="dir/x.html", loader=loader
    )
    assert template.generate() == b"base:mine"


# -- include ---------------------------------------------------------------


def test_include_shares_the_namespace() -> None:
    loader = DictLoader(
        {
            "page.html": "{% set a = 1 %}{% for i in [7] %}{% include 'inc.html' %}{% end %}"
            "{{ b }}",
            "inc.html": "{{ a }}{{ i }}{{ kw }}{% set b = 'B' %}",
        }
    )
    assert loader.load("page.html").generate(kw="k") == b"17kB"


def test_include_uses_its_own_autoescape() -> None:
    loader = DictLoader(
        {
            "page.html": "{% autoescape None %}{{ x }}{% include 'inc.html' %}{{ x }}",
            "inc.html": "[{{ x }}]",
            "raw.html": "{% autoescape None %}({{ x }})",
            "page2.html": "{{ x }}{% include 'raw.html' %}",
        }
    )
    assert loader.load("page.html").generate(x="<") == b"<[&lt;]<"
    assert loader.load("page2.html").generate(x="<") == b"&lt;(<)"


def test_include_in_loop_and_twice() -> None:
    loader = DictLoader(
        {
            "page.html": "{% for i in range(3) %}{% include 'i.html' %}{% end %}"
            "{% include 'i.html' %}",
            "i.html": "<{{ i }}>",
        }
    )
    assert loader.load("page.html").generate() == b"<0><1><2><2>"


def test_included_template_with_extends_inlines_its_own_body() -> None:
    loader = DictLoader(
        {
            "page.html": "[{% include 'child.html' %}]",
            "child.html": "{% extends 'base.html' %}{% block b %}c{% end %}",
            "base.html": "base",
        }
    )
    assert loader.load("page.html").generate() == b"[c]"


# -- loader settings -------------------------------------------------------


def test_loader_namespace() -> None:
    loader = DictLoader({"a.html": "{{ greet('x') }} {{ v }}"}, namespace={"greet": str.upper})
    template = loader.load("a.html")
    assert template.namespace is loader.namespace
    assert template.generate(v=1) == b"X 1"
    assert template.generate(v=1, greet=str.lower) == b"x 1"


def test_loader_namespace_changes_are_seen() -> None:
    loader = DictLoader({"a.html": "{{ v }}"}, namespace={"v": 1})
    template = loader.load("a.html")
    loader.namespace["v"] = 2
    assert template.generate() == b"2"


def test_loader_autoescape_setting() -> None:
    loader = DictLoader({"a.html": "{{ x }}", "b.html": "{% autoescape xhtml_escape %}{{ x }}"})
    assert loader.load("a.html").generate(x="<") == b"&lt;"
    loader = DictLoader(
        {"a.html": "{{ x }}", "b.html": "{% autoescape xhtml_escape %}{{ x }}"}, autoescape=None
    )
    assert loader.load("a.html").generate(x="<") == b"<"
    assert loader.load("b.html").generate(x="<") == b"&lt;"
    loader = DictLoader({"a.html": "{{ x }}"}, autoescape="url_escape")
    assert loader.load("a.html").generate(x="a b") == b"a+b"


def test_template_autoescape_argument_beats_loader() -> None:
    loader = DictLoader({}, autoescape=None)
    assert Template("{{ x }}", loader=loader).generate(x="<") == b"<"
    assert Template("{{ x }}", loader=loader, autoescape="xhtml_escape").generate(x="<") == (
        b"&lt;"
    )
