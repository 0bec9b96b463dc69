"""General-purpose utilities used throughout squall.

Most of this module is internal plumbing, documented in case it is useful.
The one public-facing part is `Configurable` and its ``configure`` method,
which becomes part of the interface of its subclasses (``IOLoop``,
``Resolver``, ``AsyncHTTPClient``...).
"""

from __future__ import annotations

import builtins
import datetime
import importlib
import inspect
import re
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from squall._configurable import Configurable, PluginNotFoundError

__all__ = [
    "ArgReplacer",
    "Configurable",
    "GzipDecompressor",
    "ObjectDict",
    "PluginNotFoundError",
    "TimeoutError",
    "errno_from_exception",
    "import_object",
    "re_unescape",
    "timedelta_to_seconds",
]


class TimeoutError(builtins.TimeoutError):
    """Exception raised by ``with_timeout`` and timed waits.

    A subclass of the built-in `TimeoutError`, which `asyncio.TimeoutError`
    is on Python 3.11+, so ``except asyncio.TimeoutError`` catches it too.
    """


class ObjectDict(dict[str, Any]):
    """A dictionary whose items can also be read and set as attributes.

    >>> d = ObjectDict(a=1)
    >>> d.b = 2
    >>> d.a, d["b"]
    (1, 2)

    Reading or deleting a missing attribute raises `AttributeError`.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None


class GzipDecompressor:
    """Streaming gzip decompressor.

    The interface is like that of `zlib.decompressobj` (without some of its
    optional arguments), but it understands gzip headers and checksums.

    :raises zlib.error: from any method, if the data is not valid gzip.
    """

    def __init__(self) -> None:
        # 16 + MAX_WBITS: expect a gzip header and trailer, any window size.
        self.decompressobj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._fed = False

    def decompress(self, value: bytes, max_length: int | None = 0) -> bytes:
        """Decompress a chunk, returning the newly available data.

        Some data may be buffered for later processing; `flush` must be
        called when there is no more input, to get all of it.

        If `max_length` is given (and not 0 or None), at most that many bytes
        are returned, and some input may be left over in `unconsumed_tail`;
        the caller must pass it back to a later call to `decompress` if it
        is not empty.
        """
        if value:
            self._fed = True
        return self.decompressobj.decompress(value, max_length or 0)

    @property
    def unconsumed_tail(self) -> bytes:
        """The input left over by a `decompress` call with `max_length`."""
        return self.decompressobj.unconsumed_tail

    def flush(self) -> bytes:
        """Return any remaining buffered data, processing all pending input.

        No other method may be called after this one.

        :raises zlib.error: if some input was given but the gzip stream is
            truncated (an empty input is not an error).
        """
        data = self.decompressobj.flush()
        if self._fed and not self.decompressobj.eof:
            raise zlib.error("incomplete gzip stream: the input ends too early")
        return data


def import_object(name: str) -> Any:
    """Import an object by name and return it.

    ``import_object('x')`` is equivalent to ``import x``, and
    ``import_object('x.y.z')`` to ``from x.y import z`` (``z`` may be an
    attribute or a submodule).

    >>> import squall.escape
    >>> import_object('squall.escape') is squall.escape
    True
    >>> import_object('squall.escape.utf8') is squall.escape.utf8
    True
    >>> import_object('squall.missing_module')
    Traceback (most recent call last):
        ...
    ImportError: No module named 'missing_module' in 'squall'

    :raises ImportError: if a module or the final name does not exist; the
        message names the missing piece.
    """
    if not name or "" in name.split("."):
        raise ImportError(f"invalid object name {name!r}")
    if "." not in name:
        return importlib.import_module(name)
    module_name, _, attr = name.rpartition(".")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        pass
    # Not an attribute (yet): it may be a submodule that nothing imported.
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise  # The submodule exists but imports something missing.
        raise ImportError(f"No module named {attr!r} in {module_name!r}", name=name) from None


def errno_from_exception(e: BaseException) -> int | None:
    """Return the errno of an exception object, or None if it has none.

    Uses the ``errno`` attribute if it is set, else the first argument if it
    is an integer (as in ``OSError(errno.EPIPE)``, which leaves ``errno``
    unset).  Exceptions without arguments give None rather than an error.
    """
    errno = getattr(e, "errno", None)
    if isinstance(errno, int) and not isinstance(errno, bool):
        return errno
    if e.args and isinstance(e.args[0], int) and not isinstance(e.args[0], bool):
        return e.args[0]
    return None


# A backslash and the character it escapes; an empty group means a trailing
# backslash.
_RE_ESCAPE_RE = re.compile(r"\\(.?)", re.DOTALL)


def _re_unescape_replacement(match: re.Match[str]) -> str:
    char = match.group(1)
    # re.escape only ever puts a backslash before punctuation and whitespace.
    # After a letter or digit it means a class, a group reference or a
    # special escape (\d, \1, \n), which has no literal value.
    if not char or (char.isascii() and char.isalnum()):
        raise ValueError(f"cannot unescape '\\{char}' in a string produced by re.escape")
    return char


def re_unescape(s: str) -> str:
    """Unescape a string escaped by `re.escape` and return it.

    >>> re_unescape(re.escape("a.b*c (d)"))
    'a.b*c (d)'

    :raises ValueError: for regular expressions that `re.escape` could not
        have produced, e.g. strings containing ``\\d`` or ending in a lone
        backslash.
    """
    if "\\" not in s:
        return s
    return _RE_ESCAPE_RE.sub(_re_unescape_replacement, s)


def timedelta_to_seconds(td: datetime.timedelta) -> float:
    """Return the total number of seconds in a `datetime.timedelta`."""
    return td.total_seconds()


class ArgReplacer:
    """Replaces one value in an ``args, kwargs`` pair.

    Inspects the signature of `func` to find the argument `name` whether it
    is passed by position or by keyword.  For use in decorators and similar
    wrappers.

    >>> def f(a, callback=None): ...
    >>> ArgReplacer(f, "callback").replace("new", (1, "old"), {})
    ('old', [1, 'new'], {})
    """

    def __init__(self, func: Callable[..., Any], name: str) -> None:
        self.name = name
        #: Index of the argument when passed by position, or None if it can
        #: only be passed by keyword.
        self.arg_pos: int | None = None
        try:
            parameters = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):
            return  # No signature (some builtins): keyword only.
        for index, parameter in enumerate(parameters):
            if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                break
            if parameter.name == name:
                self.arg_pos = index
                break

    def get_old_value(
        self, args: Sequence[Any], kwargs: dict[str, Any], default: Any = None
    ) -> Any:
        """Return the value of the argument without replacing it.

        Returns `default` if the argument is not present.
        """
        if self.arg_pos is not None and len(args) > self.arg_pos:
            return args[self.arg_pos]
        return kwargs.get(self.name, default)

    def replace(
        self, new_value: Any, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> tuple[Any, Sequence[Any], dict[str, Any]]:
        """Replace the argument in ``args, kwargs`` with `new_value`.

        Returns ``(old_value, args, kwargs)``.  The returned `args` and
        `kwargs` are new objects; the ones given are not modified.  If the
        argument was not found, `new_value` is added to `kwargs` and None is
        returned as `old_value`.
        """
        if self.arg_pos is not None and len(args) > self.arg_pos:
            new_args = list(args)
            old_value = new_args[self.arg_pos]
            new_args[self.arg_pos] = new_value
            return old_value, new_args, dict(kwargs)
        new_kwargs = dict(kwargs)
        old_value = new_kwargs.get(self.name)
        new_kwargs[self.name] = new_value
        return old_value, args, new_kwargs
