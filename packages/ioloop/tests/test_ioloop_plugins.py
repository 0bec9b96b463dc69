"""IOLoop backends as plugins: configure() by name, path or class, SQUALL_IOLOOP,
uvloop, and a third-party distribution installed for real with pip."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from squall._ioloop import _base
from squall.ioloop import IOLoop
from squall.platform.asyncio import AsyncIOLoop
from squall.platform.uvloop import UVLoop
from squall.util import PluginNotFoundError

PLUGIN_DIST = Path(__file__).parent / "plugin_dist"


@pytest.fixture(autouse=True)
def saved_configuration() -> Iterator[None]:
    saved = IOLoop._save_configuration()
    _base._thread_state.current = None
    try:
        yield
    finally:
        IOLoop._restore_configuration(saved)
        if _base._thread_state.current is not None:
            _base._thread_state.current = None
            asyncio.set_event_loop(None)


def new_loop_class() -> type[IOLoop]:
    loop = IOLoop(make_current=False)
    try:
        return type(loop)
    finally:
        loop.close()


# ----------------------------------------------------------------------
# configure()
# ----------------------------------------------------------------------


def test_configure_uvloop_by_name_uses_a_uvloop_loop() -> None:
    IOLoop.configure("uvloop")
    assert IOLoop.configured_class() is UVLoop
    loop = IOLoop(make_current=False)
    try:
        assert type(loop) is UVLoop
        assert isinstance(loop.asyncio_loop, uvloop.Loop)
        assert loop.run_sync(lambda: asyncio.sleep(0, "on uvloop")) == "on uvloop"
    finally:
        loop.close()


def test_configure_asyncio_by_name() -> None:
    IOLoop.configure("asyncio")
    loop = IOLoop(make_current=False)
    try:
        assert type(loop) is AsyncIOLoop
        assert not isinstance(loop.asyncio_loop, uvloop.Loop)
    finally:
        loop.close()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("squall.platform.uvloop:UVLoop", UVLoop),
        ("squall.platform.uvloop.UVLoop", UVLoop),
        ("squall.platform.asyncio:AsyncIOLoop", AsyncIOLoop),
    ],
)
def test_configure_by_path(path: str, expected: type[IOLoop]) -> None:
    IOLoop.configure(path)
    assert new_loop_class() is expected


def test_configure_by_class_with_keyword_arguments() -> None:
    IOLoop.configure(UVLoop, make_current=False)
    loop = IOLoop()
    try:
        assert type(loop) is UVLoop
        assert IOLoop.current(instance=False) is None  # the saved make_current=False
    finally:
        loop.close()


def test_configure_none_goes_back_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SQUALL_IOLOOP", raising=False)
    IOLoop.configure("uvloop")
    IOLoop.configure(None)
    assert new_loop_class() is AsyncIOLoop


def test_current_creates_the_configured_class() -> None:
    IOLoop.configure("uvloop")
    loop = IOLoop.current()
    try:
        assert type(loop) is UVLoop
    finally:
        loop.close()


def test_unknown_name_lists_the_installed_names() -> None:
    with pytest.raises(PluginNotFoundError) as info:
        IOLoop.configure("no-such-loop")
    assert info.value.group == "squall.ioloop"
    assert {"asyncio", "uvloop"} <= set(info.value.available)
    assert "'asyncio'" in str(info.value)
    assert "'uvloop'" in str(info.value)


def test_configure_rejects_what_is_not_an_ioloop() -> None:
    with pytest.raises(ValueError, match="not a subclass"):
        IOLoop.configure("collections:OrderedDict")
    with pytest.raises(ValueError, match="not a subclass"):
        IOLoop.configure(dict)  # type: ignore[arg-type]
    with pytest.raises(ImportError):
        IOLoop.configure("squall.platform.no_such_module:Loop")


# ----------------------------------------------------------------------
# SQUALL_IOLOOP
# ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("uvloop", UVLoop),
        ("asyncio", AsyncIOLoop),
        (" uvloop ", UVLoop),
        ("squall.platform.uvloop:UVLoop", UVLoop),
        ("", AsyncIOLoop),
    ],
)
def test_environment_variable_chooses_the_class(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: type[IOLoop]
) -> None:
    IOLoop.configure(None)
    monkeypatch.setenv("SQUALL_IOLOOP", value)
    assert IOLoop.configured_class() is expected
    assert new_loop_class() is expected


def test_environment_variable_is_read_again_when_it_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    IOLoop.configure(None)
    monkeypatch.setenv("SQUALL_IOLOOP", "uvloop")
    assert IOLoop.configured_class() is UVLoop
    monkeypatch.setenv("SQUALL_IOLOOP", "asyncio")
    assert IOLoop.configured_class() is AsyncIOLoop


def test_configure_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQUALL_IOLOOP", "uvloop")
    IOLoop.configure("asyncio")
    assert new_loop_class() is AsyncIOLoop


def test_environment_variable_with_an_unknown_name(monkeypatch: pytest.MonkeyPatch) -> None:
    IOLoop.configure(None)
    monkeypatch.setenv("SQUALL_IOLOOP", "no-such-loop")
    with pytest.raises(PluginNotFoundError) as info:
        IOLoop(make_current=False)
    assert "'uvloop'" in str(info.value)
    assert any("SQUALL_IOLOOP='no-such-loop'" in note for note in info.value.__notes__)


def test_environment_variable_naming_something_else(monkeypatch: pytest.MonkeyPatch) -> None:
    IOLoop.configure(None)
    monkeypatch.setenv("SQUALL_IOLOOP", "collections:OrderedDict")
    with pytest.raises(ValueError, match=r"not a subclass of squall\.ioloop\.IOLoop") as info:
        IOLoop.configured_class()
    assert any("SQUALL_IOLOOP" in note for note in info.value.__notes__)


# ----------------------------------------------------------------------
# A third-party backend, installed with pip
# ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding squall-test-loop-plugin, installed by pip."""
    target = tmp_path_factory.mktemp("plugin-site")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    if importlib.util.find_spec("hatchling") is not None:
        # The environment has the build backend: no isolated build (and no
        # download of hatchling).
        command.append("--no-build-isolation")
    command += ["--target", str(target), str(PLUGIN_DIST)]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "squall_test_loop_plugin.py").exists()
    return target


def run_python(plugin_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    pythonpath = os.pathsep.join(p for p in [str(plugin_path), os.environ.get("PYTHONPATH")] if p)
    environment = {**os.environ, "PYTHONPATH": pythonpath, **env}
    environment.pop("SQUALL_IOLOOP", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


def test_third_party_plugin_by_name_and_in_the_error_message(plugin_path: Path) -> None:
    result = run_python(
        plugin_path,
        """
        from squall.ioloop import IOLoop
        from squall.util import PluginNotFoundError
        from squall_test_loop_plugin import TestLoop

        IOLoop.configure("testloop")
        loop = IOLoop()
        assert type(loop) is TestLoop, type(loop)
        assert loop.run_sync(lambda: None) is None
        loop.close()
        try:
            IOLoop.configure("no-such-loop")
        except PluginNotFoundError as exc:
            print(sorted(exc.available))
            print(exc)
        """,
    )
    assert result.returncode == 0, result.stderr
    names, message = result.stdout.splitlines()
    assert {"asyncio", "testloop", "uvloop"} <= set(eval(names))
    assert "'testloop'" in message


def test_third_party_plugin_from_the_environment(plugin_path: Path) -> None:
    result = run_python(
        plugin_path,
        """
        from squall.ioloop import IOLoop

        loop = IOLoop.current()
        print(type(loop).__module__, type(loop).__name__)
        loop.close()
        """,
        SQUALL_IOLOOP="testloop",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["squall_test_loop_plugin", "TestLoop"]
