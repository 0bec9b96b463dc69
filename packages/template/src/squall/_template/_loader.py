"""Template loaders: find templates by name, compile them once, cache them.

A loader is what makes ``{% extends %}`` and ``{% include %}`` work: a
template asks its loader for the named template, resolved relative to its
own name (``{% include "row.html" %}`` in ``admin/page.html`` means
``admin/row.html``).
"""

from __future__ import annotations

import os
import posixpath
import threading
from collections.abc import Mapping
from typing import Any

from ._compiled import DEFAULT_AUTOESCAPE, Template
from ._lexer import filter_whitespace

__all__ = ["BaseLoader", "DictLoader", "Loader"]


class BaseLoader:
    """Base class for template loaders.

    A loader is needed for ``{% extends %}`` and ``{% include %}``.  It
    caches every template after loading it the first time; `reset` empties
    the cache.  The cache is safe to use from several threads.

    Subclasses implement `create_template` (or, as in Tornado,
    ``_create_template``) and usually `resolve_path`.

    :param autoescape: the name of a function in the template namespace,
        such as ``"xhtml_escape"``, or ``None`` to disable escaping by
        default.
    :param namespace: a dict added to the default template namespace, or
        ``None``.
    :param whitespace: the default whitespace mode of the templates (see
        `filter_whitespace`); ``None`` means ``single`` for names ending in
        ``.html`` and ``.js`` and ``all`` for others.
    :raises ValueError: for an unknown whitespace mode.
    """

    def __init__(
        self,
        autoescape: str | None = DEFAULT_AUTOESCAPE,
        namespace: dict[str, Any] | None = None,
        whitespace: str | None = None,
    ) -> None:
        if whitespace is not None:
            filter_whitespace(whitespace, "")  # raises ValueError for a bad mode
        self.autoescape = autoescape
        self.namespace: dict[str, Any] = namespace or {}
        self.whitespace = whitespace
        self.templates: dict[str, Template] = {}
        # Reentrant: compiling a template loads the ones it extends and
        # includes through this same loader, on the same thread.
        self.lock = threading.RLock()
        self._loading: list[str] = []

    def reset(self) -> None:
        """Forget every compiled template, so the next `load` reads it again."""
        with self.lock:
            self.templates = {}

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Return the canonical name of template `name`, as referenced from
        the template named `parent_path` (None at the top level).

        The base implementation returns `name` unchanged.
        """
        return name

    def load(self, name: str, parent_path: str | None = None) -> Template:
        """Return the compiled template `name`, from the cache if possible.

        :raises ParseError: if the template (or one it uses) has a syntax
            error.
        :raises ValueError: if the template extends or includes itself,
            directly or not.
        :raises Exception: whatever `create_template` raises when the
            template does not exist (`Loader`: `FileNotFoundError`,
            `DictLoader`: `KeyError`).
        """
        name = self.resolve_path(name, parent_path=parent_path)
        with self.lock:
            template = self.templates.get(name)
            if template is not None:
                return template
            if name in self._loading:
                chain = " -> ".join((*self._loading[self._loading.index(name) :], name))
                raise ValueError(f"template {name!r} extends or includes itself ({chain})")
            self._loading.append(name)
            try:
                template = self.create_template(name)
            finally:
                self._loading.pop()
            self.templates[name] = template
            return template

    def create_template(self, name: str) -> Template:
        """Create the template called `name` (a name from `resolve_path`).

        The default calls ``self._create_template(name)``, the name Tornado
        loaders override.

        :raises NotImplementedError: unless a subclass implements it.
        """
        return self._create_template(name)

    def _create_template(self, name: str) -> Template:
        raise NotImplementedError(f"{type(self).__name__} must implement create_template()")


def _relative_to_parent(name: str, parent_path: str | None) -> str | None:
    """Return `name` joined to the directory of `parent_path`, normalised,
    or None when it is not a relative reference from a named template."""
    if (
        parent_path
        and not parent_path.startswith("<")
        and not parent_path.startswith("/")
        and not name.startswith("/")
    ):
        return posixpath.normpath(posixpath.join(posixpath.dirname(parent_path), name))
    return None


class Loader(BaseLoader):
    """A template loader that loads from a single root directory.

    Template names are ``/``-separated paths relative to the root.  Names
    that would leave the root -- absolute paths, ``..`` climbing above it,
    symbolic links pointing outside it -- are refused with `ValueError`.

    :param root_directory: the directory holding the templates.
    :param kwargs: passed to `BaseLoader`.
    """

    def __init__(self, root_directory: str | os.PathLike[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = os.path.abspath(root_directory)

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Return `name` relative to the root, resolved against the
        directory of `parent_path` when given, and normalised."""
        relative = _relative_to_parent(name, parent_path)
        if relative is not None:
            return relative
        if not name or os.path.isabs(name) or name.startswith("/"):
            return name
        return posixpath.normpath(name)

    def create_template(self, name: str) -> Template:
        """Read and compile ``<root>/<name>``.

        :raises ValueError: if `name` leads outside the root directory.
        :raises OSError: if the file cannot be read (`FileNotFoundError`
            if it does not exist).
        :raises ParseError: for syntax errors.
        """
        path = self._path(name)
        with open(path, "rb") as f:
            source = f.read()
        return Template(source, name=name, loader=self)

    def _path(self, name: str) -> str:
        if not name or "\0" in name or os.path.isabs(name) or name.startswith(("/", "\\")):
            raise ValueError(f"template name {name!r} is not a relative path inside {self.root}")
        root = os.path.realpath(self.root)
        path = os.path.realpath(os.path.join(root, name))
        if os.path.commonpath([root, path]) != root or path == root:
            raise ValueError(
                f"template name {name!r} resolves outside the template root {self.root}"
            )
        return path


class DictLoader(BaseLoader):
    """A template loader that loads from a dictionary of name -> text.

    :param dict: template texts (``str`` or ``bytes``) by name.
    :param kwargs: passed to `BaseLoader`.
    """

    def __init__(self, dict: Mapping[str, str | bytes], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dict = dict

    def resolve_path(self, name: str, parent_path: str | None = None) -> str:
        """Return `name` resolved against the directory of `parent_path`."""
        relative = _relative_to_parent(name, parent_path)
        return name if relative is None else relative

    def create_template(self, name: str) -> Template:
        """Compile the template stored under `name`.

        :raises KeyError: if there is no such template.
        :raises ParseError: for syntax errors.
        """
        return Template(self.dict[name], name=name, loader=self)
