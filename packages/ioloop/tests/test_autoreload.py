"""Tests for squall.autoreload.

Most tests run real programs in subprocesses, under the command-line wrapper
(``python -m squall.autoreload``) or calling :func:`squall.autoreload.wait`
or ``start`` themselves, change their files and wait for the restarted
program's output.  Every wait is bounded by a generous deadline and every
subprocess is killed at the end of its test.  ``SQUALL_AUTORELOAD_CHECK_MS``
makes the checks frequent.

A file change is made by rewriting the file and then setting its
modification time explicitly, further in the future at each attempt: that
defeats coarse mtime granularity (and stale bytecode caches, which compare
whole seconds), and repeating it until the expected output appears covers a
change made before the watcher recorded the file's first modification time.
"""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import textwrap
import threading
import time
import types
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import squall.log
from squall import autoreload

if TYPE_CHECKING:
    from squall.ioloop import IOLoop

#: Where this process found squall-ioloop and squall-core (their src/
#: directories in the development environment, site-packages when installed
#: from wheels): the children import the same code.
SOURCE_DIRS = [
    Path(autoreload.__file__).resolve().parents[1],
    Path(squall.log.__file__).resolve().parents[1],
]

#: Bound of every "eventually" in these tests, in seconds.
DEADLINE = 30.0
#: How long one attempt at a change waits for its effect before touching the
#: file again.
ATTEMPT = 1.0


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(p) for p in SOURCE_DIRS]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env[autoreload.CHECK_TIME_ENV] = "50"
    return env


class Child:
    """A subprocess whose merged stdout and stderr is read line by line."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.args = args
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def expect(self, text: str, timeout: float = DEADLINE) -> str:
        """Return the next line containing *text*; fail after *timeout*."""
        line = self.poll_for(text, timeout)
        if line is None:
            pytest.fail(f"no line with {text!r} within {timeout} s; output:\n" + self.transcript())
        return line

    def poll_for(self, text: str, timeout: float) -> str | None:
        """Like expect(), but return None after *timeout*."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                return None
            if line is None:
                self._lines.put(None)  # stay at end of output
                pytest.fail(
                    f"process exited ({self.proc.wait()}) before printing {text!r}; output:\n"
                    + self.transcript()
                )
            self.output.append(line)
            if text in line:
                return line
        return None

    def transcript(self) -> str:
        return "\n".join(self.output)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=DEADLINE)
        self._reader.join(timeout=DEADLINE)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    """Start ``python ARGS...`` in tmp_path; every child is killed afterwards."""
    children: list[Child] = []

    def start(*args: str) -> Child:
        child = Child(list(args), tmp_path)
        children.append(child)
        return child

    try:
        yield start
    finally:
        for child in children:
            child.close()


def write(path: Path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")


def change(path: Path, source: str, child: Child, expected: str) -> str:
    """Rewrite *path* until *child* prints a line containing *expected*."""
    deadline = time.monotonic() + DEADLINE
    bump = 2.0
    while time.monotonic() < deadline:
        write(path, source)
        mtime = time.time() + bump
        os.utime(path, (mtime, mtime))
        bump += 2.0
        line = child.poll_for(expected, ATTEMPT)
        if line is not None:
            return line
    pytest.fail(
        f"no line with {expected!r} after changing {path.name}; output:\n" + child.transcript()
    )


def program(version: object) -> str:
    return f"""\
        import sys
        print("run", {version!r}, sys.argv[1:], flush=True)
        """


# -- the command-line wrapper ----------------------------------------------------


def test_wrapper_reruns_a_script_when_it_changes(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    script = tmp_path / "prog.py"
    write(
        script,
        """\
        import os, sys
        print("run 1", sys.argv, sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
        """,
    )
    child = spawn("-m", "squall.autoreload", str(script), "arg1", "--flag")
    assert child.expect("run 1") == f"run 1 {[str(script), 'arg1', '--flag']!r} True"
    # A normal exit does not end the wrapper: it waits for a change.
    child.expect("Script exited normally")
    change(script, program(2), child, "run 2 ['arg1', '--flag']")
    change(script, program(3), child, "run 3 ['arg1', '--flag']")


def test_wrapper_notices_a_change_made_while_the_program_runs(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    # The script's modification time is recorded before it runs, so one
    # change, made before the program exits, is enough.
    script = tmp_path / "prog.py"
    write(
        script,
        """\
        import os, time
        print("waiting", flush=True)
        deadline = time.monotonic() + 30
        while not os.path.exists("go") and time.monotonic() < deadline:
            time.sleep(0.01)
        """,
    )
    child = spawn("-m", "squall.autoreload", "prog.py")
    child.expect("waiting")
    write(script, program("second"))
    mtime = time.time() + 2
    os.utime(script, (mtime, mtime))
    (tmp_path / "go").touch()
    child.expect("run second []")


def test_wrapper_runs_a_module_with_dash_m(tmp_path: Path, spawn: Callable[..., Child]) -> None:
    write(tmp_path / "demo_pkg" / "__init__.py", "")
    app = tmp_path / "demo_pkg" / "app.py"
    write(
        app,
        """\
        import sys
        print("module 1", __name__, sys.argv[1:], sys.argv[0] == __file__)
        """,
    )
    child = spawn("-m", "squall.autoreload", "-m", "demo_pkg.app", "arg1")
    assert child.expect("module 1") == "module 1 __main__ ['arg1'] True"
    change(app, 'import sys\nprint("module 2", __name__, sys.argv[1:])\n', child, "module 2")


def test_wrapper_restarts_when_an_imported_module_changes(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    # helper.py is found beside the script, as with ``python prog.py``.
    write(tmp_path / "helper.py", "VALUE = 1\n")
    write(
        tmp_path / "prog.py",
        """\
        import helper
        print("value", helper.VALUE)
        """,
    )
    child = spawn("-m", "squall.autoreload", "prog.py")
    child.expect("value 1")
    change(tmp_path / "helper.py", "VALUE = 2\n", child, "value 2")


def test_wrapper_survives_a_syntax_error_in_the_script(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    script = tmp_path / "prog.py"
    write(script, program(1))
    child = spawn("-m", "squall.autoreload", str(script), "arg1")
    child.expect("run 1 ['arg1']")
    change(script, 'print("never printed"\n', child, "SyntaxError")
    assert child.proc.poll() is None
    change(script, program(2), child, "run 2 ['arg1']")
    assert "never printed" not in child.output


def test_wrapper_starts_despite_a_syntax_error_in_an_imported_module(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    # The broken module never makes it into sys.modules: the wrapper finds
    # it through the SyntaxError's filename.
    write(tmp_path / "helper.py", "VALUE = (\n")
    write(tmp_path / "prog.py", "import helper\nprint('value', helper.VALUE)\n")
    child = spawn("-m", "squall.autoreload", "prog.py")
    child.expect("Script exited with uncaught exception")
    child.expect("SyntaxError")
    change(tmp_path / "helper.py", "VALUE = 'fixed'\n", child, "value fixed")


def test_wrapper_survives_an_exception_and_watches_its_traceback(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    write(
        tmp_path / "failing.py",
        """\
        def fail():
            raise RuntimeError("boom")
        fail()
        """,
    )
    write(tmp_path / "prog.py", "import failing\nprint('imported')\n")
    child = spawn("-m", "squall.autoreload", "prog.py")
    child.expect("Script exited with uncaught exception")
    # The logged traceback starts at the program, not inside the wrapper.
    child.expect("Traceback")
    first_frame = child.expect('File "')
    assert "prog.py" in first_frame
    child.expect("RuntimeError: boom")
    change(tmp_path / "failing.py", "", child, "imported")


def test_wrapper_reports_a_nonzero_exit_status(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    write(tmp_path / "prog.py", "import sys\nprint('exiting')\nsys.exit(3)\n")
    child = spawn("-m", "squall.autoreload", "prog.py")
    child.expect("Script exited with status 3")
    change(tmp_path / "prog.py", program("again"), child, "run again []")


def test_restart_from_inside_the_program_runs_the_wrapper_again(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    # The program watches for changes itself (as Application(debug=True)
    # does); the restart must go through the wrapper, which then catches
    # the error the new version has at import time.
    write(tmp_path / "data.txt", "1")
    write(
        tmp_path / "server.py",
        """\
        import asyncio
        from squall import autoreload

        async def main():
            autoreload.watch("data.txt")
            autoreload.start(check_time=50)
            print("serving", open("data.txt").read(), flush=True)
            await asyncio.Event().wait()

        asyncio.run(main())
        """,
    )
    child = spawn("-m", "squall.autoreload", "server.py")
    child.expect("serving 1")
    change(tmp_path / "server.py", "raise ValueError('broken')\n", child, "ValueError: broken")
    assert child.proc.poll() is None


@pytest.mark.parametrize(("args", "status"), [((), 2), (("-m",), 2), (("--help",), 0)])
def test_wrapper_usage(tmp_path: Path, args: tuple[str, ...], status: int) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "squall.autoreload", *args],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert completed.returncode == status
    assert "usage: python -m squall.autoreload" in completed.stdout + completed.stderr


# -- start(), wait(), watch() and hooks in the program itself ------------------------


def test_reload_hook_runs_before_a_restart_caused_by_a_watched_file(
    tmp_path: Path, spawn: Callable[..., Child]
) -> None:
    write(tmp_path / "data.txt", "one")
    write(
        tmp_path / "prog.py",
        """\
        import asyncio, sys
        from squall import autoreload

        def hook():
            print("hook called", flush=True)

        async def main():
            autoreload.watch(sys.argv[1])
            autoreload.add_reload_hook(hook)
            autoreload.start(check_time=50)
            with open(sys.argv[1]) as f:
                print("data", f.read(), sys.argv[1:], flush=True)
            await asyncio.Event().wait()

        asyncio.run(main())
        """,
    )
    child = spawn("prog.py", "data.txt", "x")
    child.expect("data one ['data.txt', 'x']")
    change(tmp_path / "data.txt", "two", child, "hook called")
    child.expect("data two ['data.txt', 'x']")


@pytest.mark.parametrize("module", ["demo_pkg.tool", "demo_pkg"])
def test_wait_restarts_a_program_started_with_dash_m(
    tmp_path: Path, spawn: Callable[..., Child], module: str
) -> None:
    # ``python -m demo_pkg.tool`` must restart as such, not as the script
    # sys.argv[0] names (its relative import would fail).
    write(tmp_path / "demo_pkg" / "__init__.py", "")
    write(tmp_path / "demo_pkg" / "_version.py", "VERSION = 1\n")
    main_source = """\
        import sys
        from squall import autoreload
        from ._version import VERSION
        print("version", VERSION, __name__, sys.argv[1:], flush=True)
        autoreload.wait()
        """
    write(tmp_path / "demo_pkg" / "tool.py", main_source)
    write(tmp_path / "demo_pkg" / "__main__.py", main_source)
    child = spawn("-m", module, "a", "b")
    child.expect("version 1 __main__ ['a', 'b']")
    change(tmp_path / "demo_pkg" / "_version.py", "VERSION = 2\n", child, "version 2 __main__")


# -- in-process unit tests -----------------------------------------------------------


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the test its own copy of autoreload's process-wide state."""
    monkeypatch.setattr(autoreload, "_watched_files", set())
    monkeypatch.setattr(autoreload, "_reload_hooks", [])
    monkeypatch.setattr(autoreload, "_io_loops", weakref.WeakKeyDictionary())
    monkeypatch.setattr(autoreload, "_reload_attempted", False)
    monkeypatch.setattr(autoreload, "_wrapper_args", None)


@pytest.fixture
def only_watched_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look at watch()'s files only: other work on the tree must not count."""
    monkeypatch.setattr(autoreload, "_source_files", lambda: iter(list(autoreload._watched_files)))


def test_public_names() -> None:
    public = {
        name
        for name, value in vars(autoreload).items()
        if not name.startswith("_")
        and callable(value)
        and getattr(value, "__module__", None) == autoreload.__name__
    }
    assert autoreload.__all__ == sorted(autoreload.__all__)
    assert set(autoreload.__all__) == public
    assert public == {"add_reload_hook", "main", "start", "wait", "watch"}


class ExecCalled(Exception):
    pass


def fake_execv(calls: list[list[str]]) -> Callable[[str, list[str]], None]:
    def execv(path: str, argv: list[str]) -> None:
        assert path == sys.executable
        calls.append(list(argv))
        raise ExecCalled

    return execv


@pytest.mark.usefixtures("fresh_state")
def test_reload_runs_hooks_in_order_then_execs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []
    calls: list[list[str]] = []

    def broken_hook() -> None:
        events.append("broken")
        raise OSError("hook failed")

    autoreload.add_reload_hook(lambda: events.append("first"))
    autoreload.add_reload_hook(broken_hook)
    autoreload.add_reload_hook(lambda: events.append("last"))
    monkeypatch.setattr(os, "execv", fake_execv(calls))
    monkeypatch.setattr(sys, "argv", ["server.py", "--port=1"])
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    with pytest.raises(ExecCalled):
        autoreload._reload()
    assert events == ["first", "broken", "last"]
    assert calls == [[sys.executable, "server.py", "--port=1"]]
    assert "exception in autoreload hook" in caplog.text
    assert autoreload._reload_attempted


@pytest.mark.usefixtures("fresh_state")
@pytest.mark.parametrize(
    ("spec_name", "wrapper", "expected"),
    [
        (None, None, ["/srv/app.py", "-v"]),
        ("app.server", None, ["-m", "app.server", "-v"]),
        ("app.__main__", None, ["-m", "app", "-v"]),
        (
            "app.server",
            ["-m", "app.server", "-x"],
            ["-m", "squall.autoreload", "-m", "app.server", "-x"],
        ),
        (None, ["app.py", "-x"], ["-m", "squall.autoreload", "app.py", "-x"]),
    ],
)
def test_restart_command_line(
    monkeypatch: pytest.MonkeyPatch,
    spec_name: str | None,
    wrapper: list[str] | None,
    expected: list[str],
) -> None:
    main_module = types.ModuleType("__main__")
    main_module.__spec__ = None
    if spec_name is not None:
        main_module.__spec__ = types.SimpleNamespace(name=spec_name)  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", main_module)
    monkeypatch.setattr(sys, "argv", ["/srv/app.py", "-v"])
    monkeypatch.setattr(autoreload, "_wrapper_args", wrapper)
    assert autoreload._restart_argv() == [sys.executable, *expected]


@pytest.mark.usefixtures("fresh_state")
def test_changes_are_reported_once_and_new_files_only_recorded(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("1")
    autoreload.watch(data)
    autoreload.watch(tmp_path / "missing.txt")
    times: dict[str, int] = {}
    assert autoreload._changed_file(times) is None  # first look: recorded
    assert str(data) in times
    assert str(tmp_path / "missing.txt") not in times
    assert autoreload._changed_file(times) is None
    os.utime(data, (time.time() + 5, time.time() + 5))
    assert autoreload._changed_file(times) == str(data)
    assert autoreload._changed_file(times) is None


@pytest.mark.usefixtures("fresh_state")
def test_watch_makes_relative_paths_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    autoreload.watch("conf/settings.ini")
    assert autoreload._watched_files == {str(tmp_path / "conf" / "settings.ini")}


@pytest.mark.usefixtures("fresh_state")
def test_files_of_an_exception_are_watched(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("x = (\n")
    try:
        try:
            compile(broken.read_text(), str(broken), "exec")
        except SyntaxError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as exc:
        autoreload._watch_exception_files(exc)
    assert str(broken) in autoreload._watched_files
    assert __file__ in autoreload._watched_files  # from the traceback's frames


def _run_until(io_loop: IOLoop, done: Callable[[], bool], then_ticks: int = 0) -> None:
    """Run *io_loop* until done(), then for *then_ticks* more short sleeps."""

    async def wait() -> None:
        deadline = time.monotonic() + DEADLINE
        while not done():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.01)
        for _ in range(then_ticks):
            await asyncio.sleep(0.02)

    io_loop.run_sync(wait)


@pytest.mark.usefixtures("fresh_state", "only_watched_files")
def test_start_twice_on_one_loop_watches_once(
    io_loop: IOLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reloads: list[int] = []
    monkeypatch.setattr(autoreload, "_reload", lambda: reloads.append(1))
    data = tmp_path / "data.txt"
    data.write_text("1")
    autoreload.watch(data)

    async def start_twice() -> None:
        autoreload.start(check_time=10)
        autoreload.start(10)  # Tornado 6's positional check_time

    io_loop.run_sync(start_twice)
    mtime = time.time() + 5
    os.utime(data, (mtime, mtime))
    # A second watcher would report the same change a second time.
    _run_until(io_loop, lambda: bool(reloads), then_ticks=10)
    assert reloads == [1]


@pytest.mark.usefixtures("fresh_state", "only_watched_files")
def test_start_on_a_second_loop_warns(
    io_loop: IOLoop, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from squall.ioloop import IOLoop

    monkeypatch.setattr(autoreload, "_reload", lambda: None)

    async def start() -> None:
        autoreload.start(check_time=1000)

    io_loop.run_sync(start)
    assert "more than once" not in caplog.text
    other = IOLoop()
    try:
        other.run_sync(start)
    finally:
        other.close(all_fds=True)
    assert "started more than once" in caplog.text


@pytest.mark.usefixtures("fresh_state", "only_watched_files")
def test_io_loop_argument_is_deprecated_but_works(
    io_loop: IOLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reloads: list[int] = []
    monkeypatch.setattr(autoreload, "_reload", lambda: reloads.append(1))
    data = tmp_path / "data.txt"
    data.write_text("1")
    autoreload.watch(data)
    with pytest.warns(DeprecationWarning, match="io_loop"):
        autoreload.start(io_loop, 10)
    # Started from outside the loop, the watcher runs once the loop does.
    mtime = time.time() + 5
    os.utime(data, (mtime, mtime))
    _run_until(io_loop, lambda: bool(reloads))
    assert reloads == [1]
