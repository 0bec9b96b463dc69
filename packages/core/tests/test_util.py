"""Tests for squall.util (and the private squall._configurable behind it)."""

from __future__ import annotations

import asyncio
import builtins
import copy
import datetime
import doctest
import errno
import gzip
import importlib
import pickle
import re
import sys
import textwrap
import types
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from squall import escape, util
from squall.util import (
    ArgReplacer,
    Configurable,
    GzipDecompressor,
    ObjectDict,
    PluginNotFoundError,
    TimeoutError,
    errno_from_exception,
    import_object,
    re_unescape,
    timedelta_to_seconds,
)


def test_all_is_sorted_and_complete() -> None:
    assert util.__all__ == sorted(util.__all__)
    public = {
        name
        for name, value in vars(util).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "").startswith("squall.")
    }
    assert public == set(util.__all__)


def test_doctests() -> None:
    result = doctest.testmod(util)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------
# TimeoutError, timedelta_to_seconds
# --------------------------------------------------------------------------


def test_timeout_error_is_the_builtin_one() -> None:
    assert issubclass(TimeoutError, builtins.TimeoutError)
    assert issubclass(TimeoutError, asyncio.TimeoutError)
    assert issubclass(TimeoutError, OSError)
    with pytest.raises(asyncio.TimeoutError):
        raise TimeoutError("late")


def test_timeout_error_is_distinct() -> None:
    # squall's own waits raise the subclass, so callers can tell them apart.
    assert TimeoutError is not builtins.TimeoutError
    assert not isinstance(builtins.TimeoutError(), TimeoutError)


@pytest.mark.parametrize(
    ("td", "seconds"),
    [
        (datetime.timedelta(), 0.0),
        (datetime.timedelta(seconds=1.5), 1.5),
        (datetime.timedelta(days=1, microseconds=1), 86400.000001),
        (datetime.timedelta(minutes=-1), -60.0),
    ],
)
def test_timedelta_to_seconds(td: datetime.timedelta, seconds: float) -> None:
    assert timedelta_to_seconds(td) == pytest.approx(seconds)
    assert isinstance(timedelta_to_seconds(td), float)


# --------------------------------------------------------------------------
# ObjectDict
# --------------------------------------------------------------------------


class TestObjectDict:
    def test_attribute_access(self) -> None:
        d = ObjectDict(a=1)
        assert d.a == 1
        d.b = 2
        assert d["b"] == 2
        d["c"] = 3
        assert d.c == 3
        assert d == {"a": 1, "b": 2, "c": 3}
        assert isinstance(d, dict)

    def test_missing_attribute(self) -> None:
        d = ObjectDict()
        with pytest.raises(AttributeError, match="missing"):
            d.missing  # noqa: B018
        assert not hasattr(d, "missing")
        assert getattr(d, "missing", 5) == 5

    def test_delete(self) -> None:
        d = ObjectDict(a=1)
        del d.a
        assert d == {}
        with pytest.raises(AttributeError):
            del d.a

    def test_dict_methods_still_work(self) -> None:
        d = ObjectDict(keys=1)
        assert list(d.keys()) == ["keys"]  # the method, not the item
        assert d["keys"] == 1
        assert d.get("x", 2) == 2

    def test_copy_and_pickle(self) -> None:
        d = ObjectDict(a=[1])
        shallow = copy.copy(d)
        deep = copy.deepcopy(d)
        loaded = pickle.loads(pickle.dumps(d))
        for other in (shallow, deep, loaded):
            assert type(other) is ObjectDict
            assert other.a == [1]
        assert shallow.a is d.a
        assert deep.a is not d.a


# --------------------------------------------------------------------------
# GzipDecompressor
# --------------------------------------------------------------------------


class TestGzipDecompressor:
    payload = b"squall " * 5000

    def test_whole(self) -> None:
        decompressor = GzipDecompressor()
        data = decompressor.decompress(gzip.compress(self.payload)) + decompressor.flush()
        assert data == self.payload
        assert decompressor.unconsumed_tail == b""

    def test_byte_by_byte(self) -> None:
        decompressor = GzipDecompressor()
        compressed = gzip.compress(self.payload)
        chunks = [decompressor.decompress(compressed[i : i + 1]) for i in range(len(compressed))]
        assert b"".join(chunks) + decompressor.flush() == self.payload

    @pytest.mark.parametrize("max_length", [1, 100, 4096])
    def test_max_length(self, max_length: int) -> None:
        decompressor = GzipDecompressor()
        pending = gzip.compress(self.payload)
        output = []
        while pending:
            chunk = decompressor.decompress(pending, max_length)
            assert len(chunk) <= max_length
            output.append(chunk)
            pending = decompressor.unconsumed_tail
        # zlib may still hold output that did not fit; flush returns it.
        output.append(decompressor.flush())
        assert b"".join(output) == self.payload

    @pytest.mark.parametrize("max_length", [0, None])
    def test_no_limit(self, max_length: int | None) -> None:
        decompressor = GzipDecompressor()
        data = decompressor.decompress(gzip.compress(self.payload), max_length)
        assert data + decompressor.flush() == self.payload

    def test_not_gzip(self) -> None:
        with pytest.raises(zlib.error):
            GzipDecompressor().decompress(b"definitely not gzip")

    def test_raw_zlib_is_rejected(self) -> None:
        with pytest.raises(zlib.error):
            GzipDecompressor().decompress(zlib.compress(self.payload))

    def test_bad_checksum(self) -> None:
        compressed = bytearray(gzip.compress(b"hello"))
        compressed[-8] ^= 0xFF  # CRC32 in the trailer
        with pytest.raises(zlib.error):
            GzipDecompressor().decompress(bytes(compressed))

    def test_truncated(self) -> None:
        decompressor = GzipDecompressor()
        decompressor.decompress(gzip.compress(self.payload)[:-4])
        with pytest.raises(zlib.error, match="incomplete"):
            decompressor.flush()

    def test_empty_input(self) -> None:
        decompressor = GzipDecompressor()
        assert decompressor.decompress(b"") == b""
        assert decompressor.flush() == b""

    def test_trailing_garbage_is_ignored(self) -> None:
        decompressor = GzipDecompressor()
        data = decompressor.decompress(gzip.compress(b"abc") + b"garbage")
        assert data + decompressor.flush() == b"abc"

    @given(st.binary(), st.integers(min_value=1, max_value=64))
    def test_round_trip(self, data: bytes, chunk_size: int) -> None:
        compressed = gzip.compress(data)
        decompressor = GzipDecompressor()
        out = b"".join(
            decompressor.decompress(compressed[i : i + chunk_size])
            for i in range(0, len(compressed), chunk_size)
        )
        assert out + decompressor.flush() == data


# --------------------------------------------------------------------------
# import_object
# --------------------------------------------------------------------------


@pytest.fixture
def tmp_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A uniquely named package on sys.path: pkg/__init__.py and pkg/sub.py."""
    name = f"squall_test_pkg_{uuid.uuid4().hex}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    (package / "sub.py").write_text("class Thing:\n    pass\n")
    (package / "broken.py").write_text("import squall_test_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    _forget_modules(name)


class TestImportObject:
    def test_module(self) -> None:
        assert import_object("squall.escape") is escape
        assert import_object("re") is re

    def test_attribute(self) -> None:
        assert import_object("squall.escape.utf8") is escape.utf8
        assert import_object("os.path.join") is sys.modules["os"].path.join

    def test_submodule_not_yet_imported(self, tmp_package: str) -> None:
        thing = import_object(f"{tmp_package}.sub.Thing")
        assert thing.__name__ == "Thing"
        assert import_object(f"{tmp_package}.sub") is sys.modules[f"{tmp_package}.sub"]
        assert import_object(f"{tmp_package}.VALUE") == 1

    def test_missing_top_level(self) -> None:
        with pytest.raises(ImportError, match="squall_no_such_module"):
            import_object("squall_no_such_module")

    def test_missing_last_piece(self) -> None:
        with pytest.raises(ImportError, match="'missing_module' in 'squall'"):
            import_object("squall.missing_module")
        with pytest.raises(ImportError, match=r"'nope' in 'squall.escape'"):
            import_object("squall.escape.nope")

    def test_missing_middle_piece(self) -> None:
        with pytest.raises(ImportError, match=r"squall.nope"):
            import_object("squall.nope.thing")

    def test_missing_dependency_of_submodule(self, tmp_package: str) -> None:
        # The error names the real missing module, not the one asked for.
        with pytest.raises(ImportError, match="squall_test_no_such_dependency"):
            import_object(f"{tmp_package}.broken")

    @pytest.mark.parametrize("name", ["", ".", "a..b", ".relative", "trailing."])
    def test_invalid_names(self, name: str) -> None:
        with pytest.raises(ImportError, match="invalid"):
            import_object(name)


# --------------------------------------------------------------------------
# errno_from_exception
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (OSError(errno.EPIPE, "Broken pipe"), errno.EPIPE),
        (ConnectionResetError(errno.ECONNRESET, "reset"), errno.ECONNRESET),
        (OSError(errno.EPIPE), errno.EPIPE),  # one argument leaves .errno None
        (OSError("message only"), None),
        (OSError(), None),
        (Exception(), None),
        (Exception(5), 5),
        (Exception("text"), None),
        (Exception(True), None),
    ],
)
def test_errno_from_exception(exc: BaseException, expected: int | None) -> None:
    assert errno_from_exception(exc) == expected


def test_errno_from_exception_uses_attribute() -> None:
    class WithErrno(Exception):
        errno = errno.EAGAIN

    assert errno_from_exception(WithErrno("x")) == errno.EAGAIN


# --------------------------------------------------------------------------
# re_unescape
# --------------------------------------------------------------------------


class TestReUnescape:
    @pytest.mark.parametrize(
        "text", ["", "plain", "a.b*c", "/favicon.ico", "x\\y", "tab\there", "é ∂ 😀", "(?P<x>)"]
    )
    def test_examples(self, text: str) -> None:
        assert re_unescape(re.escape(text)) == text

    def test_unescaped_specials_are_kept(self) -> None:
        assert re_unescape("/foo.html") == "/foo.html"
        assert re_unescape(r"a\_b") == "a_b"

    @pytest.mark.parametrize("text", [r"\d", r"a\db", r"\1", r"\n", r"\A", r"\Z", "\\", "ab\\"])
    def test_not_produced_by_re_escape(self, text: str) -> None:
        with pytest.raises(ValueError, match="cannot unescape"):
            re_unescape(text)

    @given(st.text())
    def test_round_trip(self, text: str) -> None:
        assert re_unescape(re.escape(text)) == text


# --------------------------------------------------------------------------
# ArgReplacer
# --------------------------------------------------------------------------


def sample(a: Any, callback: Any = None, *args: Any, kw_only: Any = None, **kwargs: Any) -> None:
    pass


def positional_only(a: Any, callback: Any = None, /) -> None:
    pass


class TestArgReplacer:
    def test_positional(self) -> None:
        replacer = ArgReplacer(sample, "callback")
        assert replacer.arg_pos == 1
        args, kwargs = (1, "old", 3), {"x": 4}
        assert replacer.get_old_value(args, kwargs) == "old"
        old, new_args, new_kwargs = replacer.replace("new", args, kwargs)
        assert old == "old"
        assert list(new_args) == [1, "new", 3]
        assert new_kwargs == {"x": 4}
        assert args == (1, "old", 3)  # inputs are untouched

    def test_keyword(self) -> None:
        replacer = ArgReplacer(sample, "callback")
        kwargs = {"callback": "old"}
        assert replacer.get_old_value((1,), kwargs) == "old"
        old, new_args, new_kwargs = replacer.replace("new", (1,), kwargs)
        assert (old, list(new_args), new_kwargs) == ("old", [1], {"callback": "new"})
        assert kwargs == {"callback": "old"}

    def test_missing(self) -> None:
        replacer = ArgReplacer(sample, "callback")
        assert replacer.get_old_value((1,), {}) is None
        assert replacer.get_old_value((1,), {}, default="d") == "d"
        old, new_args, new_kwargs = replacer.replace("new", (1,), {})
        assert (old, list(new_args), new_kwargs) == (None, [1], {"callback": "new"})

    def test_keyword_only(self) -> None:
        replacer = ArgReplacer(sample, "kw_only")
        assert replacer.arg_pos is None
        assert replacer.get_old_value((1, 2, 3, 4), {}) is None
        assert replacer.replace("v", (1, 2, 3), {"kw_only": "o"})[0] == "o"

    def test_name_only_in_var_kwargs(self) -> None:
        replacer = ArgReplacer(sample, "other")
        assert replacer.arg_pos is None
        assert replacer.replace(2, (), {"other": 1}) == (1, (), {"other": 2})

    def test_positional_only(self) -> None:
        replacer = ArgReplacer(positional_only, "callback")
        assert replacer.arg_pos == 1
        assert replacer.replace("new", (1, "old"), {})[:2] == ("old", [1, "new"])

    def test_methods(self) -> None:
        class C:
            def method(self, callback: Any) -> None:
                pass

        # Unbound, self is the first positional argument; bound, it is not.
        assert ArgReplacer(C.method, "callback").arg_pos == 1
        assert ArgReplacer(C().method, "callback").arg_pos == 0

    def test_no_signature(self) -> None:
        replacer = ArgReplacer(getattr, "default")
        assert replacer.arg_pos is None
        assert replacer.get_old_value((1, 2, 3), {"default": 4}) == 4


# --------------------------------------------------------------------------
# Configurable
# --------------------------------------------------------------------------


class Base(Configurable):
    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return Base

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return DefaultImpl

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs


class DefaultImpl(Base):
    pass


class OtherImpl(Base):
    class Inner(Base):
        pass


class SubOfOther(OtherImpl):
    pass


class Unrelated(Configurable):
    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return Unrelated

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return Unrelated


# A hierarchy whose implementation is itself a configurable base.
class Outer(Configurable):
    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return Outer

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return NestedBase

    def initialize(self, value: int = 0) -> None:
        self.value = value


class NestedBase(Outer):
    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return NestedBase

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return NestedImpl


class NestedImpl(NestedBase):
    pass


class NestedOther(NestedBase):
    pass


class PlainDefault(Configurable):
    """A hierarchy that keeps the default no-argument initialize()."""

    @classmethod
    def configurable_base(cls) -> type[Configurable]:
        return PlainDefault

    @classmethod
    def configurable_default(cls) -> type[Configurable]:
        return PlainDefault


@pytest.fixture(autouse=True)
def _restore_configuration() -> Iterator[None]:
    saved = [(cls, cls._save_configuration()) for cls in (Base, Outer, NestedBase, Unrelated)]
    yield
    for cls, configuration in saved:
        cls._restore_configuration(configuration)


MODULE = __name__


class TestConfigurable:
    def test_default(self) -> None:
        obj = Base()
        assert type(obj) is DefaultImpl
        assert isinstance(obj, Base)
        assert Base.configured_class() is DefaultImpl
        assert DefaultImpl.configured_class() is DefaultImpl

    def test_initialize_gets_arguments(self) -> None:
        obj: Any = Base(1, 2, a=3)
        assert obj.args == (1, 2)
        assert obj.kwargs == {"a": 3}

    def test_default_initialize_takes_no_arguments(self) -> None:
        assert type(PlainDefault()) is PlainDefault
        with pytest.raises(TypeError):
            PlainDefault(1)

    def test_configure_class(self) -> None:
        Base.configure(OtherImpl)
        assert Base.configured_class() is OtherImpl
        assert type(Base()) is OtherImpl
        assert DefaultImpl.configured_class() is OtherImpl

    def test_configure_kwargs(self) -> None:
        Base.configure(OtherImpl, a=1, b=2)
        obj: Any = Base(b=3, c=4)
        assert type(obj) is OtherImpl
        assert obj.kwargs == {"a": 1, "b": 3, "c": 4}
        # The configured arguments are not consumed or shared.
        assert Base().kwargs == {"a": 1, "b": 2}

    def test_configure_none_resets(self) -> None:
        Base.configure(OtherImpl, a=1)
        Base.configure(None)
        obj: Any = Base()
        assert type(obj) is DefaultImpl
        assert obj.kwargs == {}

    def test_configure_none_with_kwargs(self) -> None:
        Base.configure(None, a=1)
        obj: Any = Base()
        assert type(obj) is DefaultImpl
        assert obj.kwargs == {"a": 1}

    def test_configure_replaces_kwargs(self) -> None:
        Base.configure(OtherImpl, a=1)
        Base.configure(OtherImpl, b=2)
        assert Base().kwargs == {"b": 2}

    def test_direct_subclass_construction(self) -> None:
        Base.configure(OtherImpl, a=1)
        obj: Any = DefaultImpl(x=1)
        assert type(obj) is DefaultImpl
        # Configured arguments only apply when the base is the factory.
        assert obj.kwargs == {"x": 1}
        assert type(SubOfOther()) is SubOfOther

    def test_configure_through_subclass(self) -> None:
        OtherImpl.configure(SubOfOther)
        assert type(Base()) is SubOfOther

    def test_configure_through_subclass_checks_that_subclass(self) -> None:
        with pytest.raises(ValueError, match=r"DefaultImpl is not a subclass of .*OtherImpl"):
            OtherImpl.configure(DefaultImpl)

    def test_not_a_subclass(self) -> None:
        with pytest.raises(ValueError) as info:
            Base.configure(Unrelated)
        message = str(info.value)
        assert f"{MODULE}.Unrelated" in message
        assert f"{MODULE}.Base" in message
        assert Base.configured_class() is DefaultImpl

    @pytest.mark.parametrize("impl", [5, object(), DefaultImpl()])
    def test_not_a_class(self, impl: Any) -> None:
        with pytest.raises(ValueError, match="not a subclass"):
            Base.configure(impl)

    def test_hierarchies_are_independent(self) -> None:
        Base.configure(OtherImpl, a=1)
        assert Unrelated.configured_class() is Unrelated
        assert type(Unrelated()) is Unrelated

    def test_missing_class_methods(self) -> None:
        class Incomplete(Configurable):
            pass

        with pytest.raises(NotImplementedError, match="configurable_base"):
            Incomplete()

        class NoDefault(Configurable):
            @classmethod
            def configurable_base(cls) -> type[Configurable]:
                return NoDefault

        with pytest.raises(NotImplementedError, match="configurable_default"):
            NoDefault()

    def test_nested_hierarchy(self) -> None:
        obj: Any = Outer(value=5)
        assert type(obj) is NestedImpl
        assert obj.value == 5
        NestedBase.configure(NestedOther)
        assert type(Outer()) is NestedOther
        assert Outer.configured_class() is NestedBase
        # Configuring the outer hierarchy does not leak into the nested one.
        Outer.configure(NestedBase, value=7)
        obj = Outer()
        assert type(obj) is NestedOther
        assert obj.value == 7
        assert NestedBase().value == 0

    def test_nested_base_does_not_inherit_configuration(self) -> None:
        Outer.configure(NestedImpl, value=3)
        assert NestedBase.configured_class() is NestedImpl
        assert NestedBase().value == 0

    def test_save_and_restore(self) -> None:
        saved = Base._save_configuration()
        Base.configure(OtherImpl, a=1)
        inner = Base._save_configuration()
        Base.configure(None)
        Base._restore_configuration(inner)
        assert Base().kwargs == {"a": 1}
        assert type(Base()) is OtherImpl
        Base._restore_configuration(saved)
        assert type(Base()) is DefaultImpl
        assert Base().kwargs == {}

    def test_saved_configuration_is_a_snapshot(self) -> None:
        Base.configure(OtherImpl, a=1)
        saved = Base._save_configuration()
        saved[1]["a"] = 2
        assert Base().kwargs == {"a": 1}

    # -- paths ------------------------------------------------------------

    @pytest.mark.parametrize(
        "path", ["{pkg}.sub.Impl", "{pkg}.sub:Impl", "{pkg}.sub:Holder.Impl", "{pkg}:SUB_IMPL"]
    )
    def test_configure_path(self, configurable_package: str, path: str) -> None:
        Base.configure(path.format(pkg=configurable_package), a=1)
        impl = Base.configured_class()
        assert impl.__name__ == "Impl"
        assert impl.__module__ == f"{configurable_package}.sub"
        obj = Base()
        assert obj.kwargs == {"a": 1}
        assert type(obj) is impl

    def test_configure_path_in_this_module(self) -> None:
        Base.configure(f"{MODULE}:OtherImpl.Inner")
        assert Base.configured_class() is OtherImpl.Inner

    def test_path_missing_module(self) -> None:
        with pytest.raises(ImportError, match="squall_no_such_module"):
            Base.configure("squall_no_such_module.Impl")
        with pytest.raises(ImportError, match="squall_no_such_module"):
            Base.configure("squall_no_such_module:Impl")
        assert Base.configured_class() is DefaultImpl

    def test_path_missing_attribute(self, configurable_package: str) -> None:
        with pytest.raises(ImportError, match="'Nope' from"):
            Base.configure(f"{configurable_package}.sub.Nope")
        with pytest.raises(ImportError, match=r"'Holder.Nope' from"):
            Base.configure(f"{configurable_package}.sub:Holder.Nope")

    def test_path_not_a_subclass(self, configurable_package: str) -> None:
        with pytest.raises(ValueError, match="NotAnImpl is not a subclass of"):
            Base.configure(f"{configurable_package}.sub:NotAnImpl")

    @pytest.mark.parametrize("path", [":Impl", "module:", ".Impl", "module.", "a:b..c"])
    def test_invalid_paths(self, path: str) -> None:
        with pytest.raises(ImportError, match="invalid object path"):
            Base.configure(path)

    def test_name_without_group(self) -> None:
        with pytest.raises(ValueError, match="has no plugins") as info:
            Base.configure("other")
        assert not isinstance(info.value, PluginNotFoundError)

    # -- plugins ----------------------------------------------------------

    def test_plugin_name(self, plugins: PluginSetup) -> None:
        base = plugins.base
        base.configure("good", option=1)
        obj: Any = base()
        assert type(obj).__name__ == "GoodImpl"
        assert obj.kwargs == {"option": 1}
        assert base.configured_class() is type(obj)

    def test_plugin_default_by_name(self, plugins: PluginSetup) -> None:
        assert type(plugins.base()).__name__ == "DefaultImpl"
        plugins.base.configure("good")
        plugins.base.configure(None)
        assert type(plugins.base()).__name__ == "DefaultImpl"

    def test_unknown_plugin_name(self, plugins: PluginSetup) -> None:
        with pytest.raises(PluginNotFoundError) as info:
            plugins.base.configure("nonexistent")
        error = info.value
        assert isinstance(error, ValueError)
        assert error.group == plugins.group
        assert error.name == "nonexistent"
        assert error.available == ["broken", "good", "needs_extra", "not_a_subclass"]
        message = str(error)
        assert "'nonexistent'" in message
        assert plugins.group in message
        assert "'broken', 'good', 'needs_extra', 'not_a_subclass'" in message

    def test_plugin_not_found_error_pickles(self) -> None:
        error = PluginNotFoundError("group", "name", ["b", "a"])
        loaded = pickle.loads(pickle.dumps(error))
        assert (loaded.group, loaded.name, loaded.available) == ("group", "name", ["a", "b"])
        assert str(loaded) == str(error)

    def test_unknown_plugin_name_in_empty_group(self, plugins: PluginSetup) -> None:
        class Lonely(Configurable):
            configurable_entry_point_group = "squall.test-no-such-group"

            @classmethod
            def configurable_base(cls) -> type[Configurable]:
                return Lonely

            @classmethod
            def configurable_default(cls) -> type[Configurable]:
                return Lonely

        with pytest.raises(PluginNotFoundError, match=r"installed: none") as info:
            Lonely.configure("anything")
        assert info.value.available == []

    def test_plugin_missing_extra(self, plugins: PluginSetup) -> None:
        with pytest.raises(ImportError) as info:
            plugins.base.configure("needs_extra")
        message = str(info.value)
        assert "install squall-fake-plugins[speedups]" in message
        assert "squall_test_missing_dependency" in message
        assert isinstance(info.value.__cause__, ImportError)
        assert info.value.name == "squall_test_missing_dependency"
        assert type(plugins.base()).__name__ == "DefaultImpl"

    def test_plugin_import_error_without_extra(self, plugins: PluginSetup) -> None:
        with pytest.raises(ImportError, match="cannot load") as info:
            plugins.base.configure("broken")
        assert "install" not in str(info.value)
        assert "squall_test_missing_dependency" in str(info.value)

    def test_plugin_not_a_subclass(self, plugins: PluginSetup) -> None:
        with pytest.raises(ValueError, match="NotAnImpl is not a subclass of"):
            plugins.base.configure("not_a_subclass")

    def test_plugin_name_on_subclass(self, plugins: PluginSetup) -> None:
        # The group is found through the configurable base.
        impl = plugins.base.configurable_default()
        with pytest.raises(ValueError, match=r"GoodImpl is not a subclass of .*DefaultImpl"):
            impl.configure("good")


# -- fixtures for paths and plugins ---------------------------------------


@pytest.fixture
def configurable_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A uniquely named package with implementations of this module's Base."""
    name = f"squall_test_cfg_{uuid.uuid4().hex}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("from .sub import Impl as SUB_IMPL\n")
    (package / "sub.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            Base = sys.modules[{MODULE!r}].Base

            class Impl(Base):
                pass

            class Holder:
                Impl = Impl

            class NotAnImpl:
                pass
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    _forget_modules(name)


class PluginSetup:
    """What the `plugins` fixture made: a base class and its entry-point group."""

    def __init__(self, base: type[Configurable], group: str) -> None:
        self.base = base
        self.group = group


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginSetup]:
    """A fake installed distribution registering plugins of a fresh base.

    It is a ``*.dist-info`` directory (METADATA and entry_points.txt) on
    sys.path, which importlib.metadata finds like any installed package.
    """
    tag = uuid.uuid4().hex
    group = f"squall.test_{tag}"
    base_module = f"squall_test_base_{tag}"
    impl_module = f"squall_test_impl_{tag}"
    broken_module = f"squall_test_broken_{tag}"

    (tmp_path / f"{base_module}.py").write_text(
        textwrap.dedent(
            f"""
            from squall.util import Configurable

            class PluginBase(Configurable):
                configurable_entry_point_group = {group!r}

                @classmethod
                def configurable_base(cls):
                    return PluginBase

                @classmethod
                def configurable_default(cls):
                    return DefaultImpl

                def initialize(self, **kwargs):
                    self.kwargs = kwargs

            class DefaultImpl(PluginBase):
                pass
            """
        )
    )
    (tmp_path / f"{impl_module}.py").write_text(
        textwrap.dedent(
            f"""
            from {base_module} import PluginBase

            class GoodImpl(PluginBase):
                pass

            class NotAnImpl:
                pass
            """
        )
    )
    (tmp_path / f"{broken_module}.py").write_text(
        "import squall_test_missing_dependency\n\nclass Impl:\n    pass\n"
    )
    dist_info = tmp_path / "squall_fake_plugins-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: squall-fake-plugins\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""
            [{group}]
            good = {impl_module}:GoodImpl
            not_a_subclass = {impl_module}:NotAnImpl
            needs_extra = {broken_module}:Impl [speedups]
            broken = {broken_module}:Impl

            [squall.test_other_group_{tag}]
            elsewhere = {impl_module}:GoodImpl
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # also invalidates import caches
    base = importlib.import_module(base_module).PluginBase
    yield PluginSetup(base, group)
    for module in (base_module, impl_module, broken_module):
        _forget_modules(module)
    importlib.invalidate_caches()


def _forget_modules(name: str) -> None:
    for module in list(sys.modules):
        if module == name or module.startswith(name + "."):
            del sys.modules[module]


class TestTypedSubclass:
    """A configurable interface written with full annotations type-checks."""

    class Resolver(Configurable):
        configurable_entry_point_group: ClassVar[str | None] = None

        @classmethod
        def configurable_base(cls) -> type[Configurable]:
            return TestTypedSubclass.Resolver

        @classmethod
        def configurable_default(cls) -> type[Configurable]:
            return TestTypedSubclass.ThreadedResolver

        def initialize(self, num_threads: int = 1) -> None:
            self.num_threads = num_threads

    class ThreadedResolver(Resolver):
        pass

    def test_construct(self) -> None:
        resolver = self.Resolver(num_threads=4)
        assert isinstance(resolver, self.ThreadedResolver)
        assert resolver.num_threads == 4
