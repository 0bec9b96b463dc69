"""``python -m squall.template``: rendering files and the built-in demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import squall.escape
import squall.template
from squall._template._cli import DEMO_VARIABLES, demo_templates


def _pythonpath() -> str:
    # The source directories of squall.template and of its dependency, in
    # case the test runner put them on sys.path without setting PYTHONPATH.
    here = [
        str(Path(module.__file__ or "").resolve().parent.parent)
        for module in (squall.template, squall.escape)
    ]
    existing = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join([*here, *([existing] if existing else [])])


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": _pythonpath()}
    return subprocess.run(
        [sys.executable, "-m", "squall.template", *args],
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    (root / "sub").mkdir(parents=True)
    (root / "base.html").write_text(
        "<title>{% block title %}{% end %}</title>\n\n<main>{% block main %}{% end %}</main>"
    )
    (root / "page.html").write_text(
        '{% extends "base.html" %}{% block title %}{{ title }}{% end %}'
        "{% block main %}{% for i in items %}<i>{{ i }}</i>{% end %}{% end %}"
    )
    (root / "sub" / "leaf.txt").write_text("{{ greeting }},   {{ name }}!\n")
    (root / "bad.html").write_text("ok\n{% if %}")
    (root / "boom.html").write_text("ok\n\n{{ 1 / 0 }}")
    return root


def test_demo() -> None:
    result = run("--demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert out.startswith("<!DOCTYPE html>")
    assert "<title>squall.template demo</title>" in out
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in out
    assert "<script>" not in out
    assert "Tom &amp; Jerry&#39;s &lt;b&gt;bold&lt;/b&gt; cheese" in out
    assert "<td>3</td>" in out
    assert "Total: 12.75" in out
    assert '<a href="https://example.com/docs?a=1&amp;b=2">' in out
    assert "<em>emphasis</em>" in out
    assert "{{ title }}" in out
    assert "Rendered by squall.template." in out
    assert result.stderr == b""


def test_demo_with_overrides() -> None:
    result = run("--demo", "-D", "title=<Mine>", "--whitespace", "oneline")
    assert result.returncode == 0, result.stderr
    assert b"<title>&lt;Mine&gt;</title>" in result.stdout
    assert b"\n" not in result.stdout.strip()


def test_demo_templates_are_package_data() -> None:
    files = demo_templates()
    assert {"base.html", "page.html", "row.html"} <= set(files)
    assert "{% extends" in files["page.html"]
    assert "<script>" in DEMO_VARIABLES["hostile"]


def test_render_file(templates: Path) -> None:
    result = run(
        str(templates / "page.html"), "-D", "title=A & B", "--json-args", '{"items": [1, "<2>"]}'
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"<title>A &amp; B</title>\n<main><i>1</i><i>&lt;2&gt;</i></main>"


def test_json_args_file_and_define_precedence(templates: Path, tmp_path: Path) -> None:
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"title": "from json", "items": []}))
    result = run(str(templates / "page.html"), "--json-args", str(args), "-D", "title=from -D")
    assert result.returncode == 0, result.stderr
    assert b"<title>from -D</title>" in result.stdout


def test_root_with_a_name_or_a_path(templates: Path) -> None:
    result = run("sub/leaf.txt", "--root", str(templates), "-D", "greeting=hi", "-D", "name=<b>")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hi,   &lt;b&gt;!\n"
    result = run(
        str(templates / "sub" / "leaf.txt"),
        "--root",
        str(templates),
        "-D",
        "greeting=x",
        "-D",
        "name=y",
    )
    assert result.stdout == b"x,   y!\n"


def test_relative_file_from_cwd(templates: Path) -> None:
    result = run("leaf.txt", "-D", "greeting=a", "-D", "name=b", cwd=templates / "sub")
    assert result.stdout == b"a,   b!\n"


def test_autoescape_and_whitespace_options(templates: Path) -> None:
    leaf = str(templates / "sub" / "leaf.txt")
    result = run(
        leaf,
        "--autoescape",
        "none",
        "--whitespace",
        "oneline",
        "-D",
        "greeting=<g>",
        "-D",
        "name=n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"<g>, n! "
    result = run(leaf, "--autoescape", "url_escape", "-D", "greeting=a b", "-D", "name=c")
    assert result.stdout == b"a+b,   c!\n"


def test_output_is_raw_utf8(templates: Path) -> None:
    result = run(str(templates / "sub" / "leaf.txt"), "-D", "greeting=☃", "-D", "name=é")
    assert result.stdout == "☃,   é!\n".encode()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--demo", "x.html"],
        ["x.html", "-D", "novalue"],
        ["x.html", "-D", "1bad=x"],
        ["x.html", "--json-args", "{not json"],
        ["x.html", "--json-args", "[1, 2]"],
        ["x.html", "--json-args", "/nonexistent/args.json"],
        ["x.html", "--whitespace", "compact"],
        ["--no-such-option"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"usage:" in result.stderr


def test_missing_file_exits_1(templates: Path) -> None:
    result = run(str(templates / "nope.html"))
    assert result.returncode == 1
    assert b"nope.html" in result.stderr
    assert result.stdout == b""


def test_parse_error_exits_1(templates: Path) -> None:
    result = run(str(templates / "bad.html"))
    assert result.returncode == 1
    assert b"if missing condition at bad.html:2" in result.stderr


def test_render_error_exits_1_naming_the_line(templates: Path) -> None:
    result = run(str(templates / "boom.html"))
    assert result.returncode == 1
    assert b"ZeroDivisionError" in result.stderr
    assert b"in template 'boom.html', line 3" in result.stderr


def test_name_outside_root_exits_1(templates: Path) -> None:
    result = run("../outside.html", "--root", str(templates / "sub"))
    assert result.returncode == 1
    assert b"outside" in result.stderr


def test_help() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert b"--demo" in result.stdout


def test_closed_stdout_is_not_a_traceback() -> None:
    env = {**os.environ, "PYTHONPATH": _pythonpath()}
    with subprocess.Popen(
        [sys.executable, "-m", "squall.template", "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        stderr = process.stderr.read()
        status = process.wait(timeout=60)
    assert b"Traceback" not in stderr
    assert status in (0, 1)


def test_key_error_while_rendering_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "k.txt").write_text("{{ d['missing'] }}")
    result = run(str(tmp_path / "k.txt"), "--json-args", '{"d": {}}')
    assert result.returncode == 1
    assert b"rendering 'k.txt' failed: KeyError: 'missing'" in result.stderr
    assert b"in template 'k.txt', line 1" in result.stderr
