"""Template rendering: a layout extended by a page with a large escaped table.

The same logic in each engine's own syntax: ``base.html`` (doctype, head with
an escaped title, body with a ``body`` block) is extended by ``page.html``,
which fills the block with a table of :data:`ROWS` rows by :data:`COLUMNS`
columns.  Every cell is a string holding ``< > & " '`` and goes through the
engine's autoescaping (``xhtml_escape`` for squall and tornado, markupsafe for
jinja2 with ``autoescape=True``).

Templates come from each engine's in-memory dict loader and are compiled once
in setup; one operation is one render of ``page.html`` to the engine's native
output (``bytes`` for squall and tornado, ``str`` for jinja2).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ._harness import Benchmark, Implementation, MismatchError, Operation

ROWS = 1000
COLUMNS = 6

TITLE = "Squall & \"friends\" <benchmark> 'table'"

#: Tornado's template syntax, which squall.template shares.
TORNADO_TEMPLATES = {
    "base.html": """<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>{{ title }}</title>
</head>
<body>
{% block body %}{% end %}
</body>
</html>
""",
    "page.html": """{% extends "base.html" %}
{% block body %}
<table>
  {% for row in rows %}
  <tr>{% for cell in row %}<td>{{ cell }}</td>{% end %}</tr>
  {% end %}
</table>
{% end %}
""",
}

JINJA2_TEMPLATES = {
    "base.html": """<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>{{ title }}</title>
</head>
<body>
{% block body %}{% endblock %}
</body>
</html>
""",
    "page.html": """{% extends "base.html" %}
{% block body %}
<table>
  {% for row in rows %}
  <tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
  {% endfor %}
</table>
{% endblock %}
""",
}


def make_rows() -> list[list[str]]:
    """Return the table: every cell needs escaping, no two rows are equal."""
    return [
        [f'<b>{i}:{j}</b> & "{i * COLUMNS + j}" isn\'t <i>safe</i>' for j in range(COLUMNS)]
        for i in range(ROWS)
    ]


def _escape(text: str) -> str:
    # Written out here rather than imported, so the check does not trust any
    # of the engines under test.
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, entity)
    return text.replace('"', "&quot;").replace("'", "&#39;")


def expected_output(title: str, rows: list[list[str]]) -> str:
    """The page every engine must render, in normalised form."""
    cells = "".join(
        "<tr>" + "".join(f"<td>{_escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return normalise(
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{_escape(title)}</title></head>"
        f"<body><table>{cells}</table></body></html>"
    )


# Equivalent spellings of the same character reference.
_ENTITY_ALIASES = {"&#34;": "&quot;", "&#x22;": "&quot;", "&#x27;": "&#39;", "&apos;": "&#39;"}


def normalise(html: str) -> str:
    """Drop whitespace between tags, collapse the rest, unify entity spellings.

    Engines differ in whitespace handling (tornado and squall compress it in
    ``.html`` templates, jinja2 keeps it) and markupsafe writes ``&#34;``
    where xhtml_escape writes ``&quot;``; neither difference changes the page.
    """
    html = re.sub(r">\s+", ">", html)
    html = re.sub(r"\s+<", "<", html)
    html = re.sub(r"\s+", " ", html).strip()
    for alias, entity in _ENTITY_ALIASES.items():
        html = html.replace(alias, entity)
    return html


def _first_difference(got: str, want: str) -> str:
    index = next(
        (i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
        min(len(got), len(want)),
    )
    start = max(0, index - 60)
    return (
        f"at character {index} (lengths {len(got)} and {len(want)}):\n"
        f"    got:  {got[start : index + 60]!r}\n"
        f"    want: {want[start : index + 60]!r}"
    )


#: Implementations whose documented output is bytes (Template.generate), so
#: that neither skips the final encoding the other pays for.
BYTES_OUTPUT = frozenset({"squall", "tornado"})


def check(outputs: Mapping[str, object]) -> None:
    want = expected_output(TITLE, make_rows())
    for name, output in outputs.items():
        if name in BYTES_OUTPUT and not isinstance(output, bytes):
            raise MismatchError(f"{name} returned {type(output).__name__}, not bytes")
        if isinstance(output, bytes):
            text = output.decode("utf-8")
        elif isinstance(output, str):
            text = output
        else:
            raise MismatchError(f"{name} returned {type(output).__name__}, not bytes or str")
        got = normalise(text)
        if got != want:
            raise MismatchError(f"{name} renders a different page, {_first_difference(got, want)}")


def _tornado_style(loader_class: Callable[[dict[str, str]], Any]) -> Operation:
    loader = loader_class(TORNADO_TEMPLATES)
    template = loader.load("page.html")
    rows = make_rows()

    def render() -> object:
        return template.generate(title=TITLE, rows=rows)

    return render


def setup_squall() -> Operation:
    from squall.template import DictLoader

    return _tornado_style(DictLoader)


def setup_tornado() -> Operation:
    from tornado.template import DictLoader  # type: ignore[import-not-found,unused-ignore]

    return _tornado_style(DictLoader)


def setup_jinja2() -> Operation:
    import jinja2  # type: ignore[import-not-found,unused-ignore]

    env = jinja2.Environment(loader=jinja2.DictLoader(JINJA2_TEMPLATES), autoescape=True)
    template = env.get_template("page.html")
    rows = make_rows()

    def render() -> object:
        return template.render(title=TITLE, rows=rows)

    return render


BENCHMARK = Benchmark(
    name="template",
    description=(
        f"render a layout extended by a page with a {ROWS}x{COLUMNS} table, "
        "every cell autoescaped; compiled once, rendering only"
    ),
    unit="render",
    implementations=(
        Implementation("squall", "squall.template", "squall-template", setup_squall),
        Implementation("tornado", "tornado.template", "tornado", setup_tornado),
        Implementation("jinja2", "jinja2", "jinja2", setup_jinja2),
    ),
    check=check,
    # From the issue that asked for this benchmark.
    targets={"tornado": 1.3},
)
