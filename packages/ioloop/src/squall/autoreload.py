"""Restart the process when a source file changes, for development.

Most applications do not use this module directly: they pass
``autoreload=True`` (or ``debug=True``) to ``squall.web.Application``, which
calls :func:`start`.  Restarting is destructive: requests in progress are
aborted when the process restarts.

The module is also a command-line wrapper that runs a program and runs it
again whenever one of its source files changes::

    python -m squall.autoreload server.py --port=8888
    python -m squall.autoreload -m mypackage.tests

Unlike :func:`start`, the wrapper survives a program that fails at import
time (a syntax error, an exception while importing): it prints the
traceback, keeps watching the program's files, including the one with the
error, and restarts the program when they change.  When the program exits
normally the wrapper also waits for a change, as :func:`wait` does.  Both can
be combined: the wrapper catches start-up errors, ``autoreload=True`` catches
changes while the server runs.

How a restart works: the hooks of :func:`add_reload_hook` run, then the
process re-executes itself (:func:`os.execv`) with ``sys.executable`` and the
command line it was started with (``sys.argv``, or ``-m module`` when it was
started with ``python -m``).  Interpreter options such as ``-u`` are not
repeated, and a program that modifies ``sys.argv`` changes what is run again.
File descriptors are closed by the exec unless they are inheritable; Python
creates them non-inheritable (:pep:`446`).

The environment variable ``SQUALL_AUTORELOAD_CHECK_MS`` sets how often, in
milliseconds, the command-line wrapper and :func:`wait` look for changes
(default 500); :func:`start` takes it as its ``check_time`` argument.

Autoreload does not work with the multi-process mode of the HTTP server
(``HTTPServer.start(n)`` with n other than 1, or ``fork_processes``).
"""

from __future__ import annotations

import functools
import logging
import os
import runpy
import signal
import subprocess
import sys
import traceback
import types
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NoReturn, overload

from squall.log import LogFormatter, app_log, gen_log

if TYPE_CHECKING:
    from squall.ioloop import IOLoop

__all__ = ["add_reload_hook", "main", "start", "wait", "watch"]

#: Environment variable: milliseconds between checks of the wrapper and wait().
CHECK_TIME_ENV = "SQUALL_AUTORELOAD_CHECK_MS"

#: Milliseconds between two looks at the files' modification times.  Each
#: look stats every imported module's file (a few hundred to a few thousand
#: stat calls), cheap at twice a second.
DEFAULT_CHECK_TIME = 500

_USAGE = """\
usage: python -m squall.autoreload -m module [args...]
       python -m squall.autoreload script.py [args...]

Run a Python module or script, and run it again whenever one of its source
files changes.  The program's own arguments follow its name.
"""

_watched_files: set[str] = set()
_reload_hooks: list[Callable[[], object]] = []
# The IOLoops autoreload was started on, so that a second start() on the
# same loop does nothing (weak: a closed and dropped loop is forgotten).
_io_loops: weakref.WeakKeyDictionary[IOLoop, bool] = weakref.WeakKeyDictionary()
# Set once a restart has begun: a check that runs while the hooks run (or
# after a failed exec) must not start another one.
_reload_attempted = False
# The wrapper's own arguments (``[-m] program args...``) when this process is
# ``python -m squall.autoreload``: a restart runs the wrapper again, not just
# the program.
_wrapper_args: list[str] | None = None


def watch(filename: str | os.PathLike[str]) -> None:
    """Add a file to the watch list: a change to it restarts the process.

    The source files of all imported modules are watched without being
    added.  A relative *filename* is taken relative to the current
    directory at the time of the call.  A file that does not exist (yet) is
    ignored until it appears.  Returns None.
    """
    _watched_files.add(os.path.abspath(os.fspath(filename)))


def add_reload_hook(fn: Callable[[], object]) -> None:
    """Call *fn* (without arguments) just before the process restarts.

    Hooks run in the order they were added.  One that raises is logged to
    ``squall.application`` and the restart goes on.  For open files and
    sockets a hook is rarely needed: they are closed by the restart unless
    they were made inheritable.  Returns None.
    """
    _reload_hooks.append(fn)


@overload
def start(check_time: float, /) -> None: ...
@overload
def start(io_loop: IOLoop | None = ..., check_time: float = ...) -> None: ...
def start(io_loop: IOLoop | float | None = None, check_time: float = DEFAULT_CHECK_TIME) -> None:
    """Begin watching source files for changes; restart when one changes.

    Every *check_time* milliseconds, on the current IOLoop, the modification
    times of the files of all imported modules and of the files given to
    :func:`watch` are compared with those seen before.  Starting twice on the
    same IOLoop does nothing more; starting on a second IOLoop in the same
    process logs a warning (both then watch).

    Both spellings are accepted: ``start(check_time)`` as in Tornado 6 and
    ``start(io_loop, check_time)`` as in Tornado 4.5, whose ``io_loop``
    argument is deprecated (DeprecationWarning) and, when given, names the
    loop to watch on.  Returns None.
    """
    if isinstance(io_loop, int | float):
        _start(None, io_loop, warn_twice=True)
        return
    if io_loop is not None:
        warnings.warn(
            "the io_loop argument of squall.autoreload.start is deprecated; "
            "call start() while the loop runs",
            DeprecationWarning,
            stacklevel=2,
        )
    _start(io_loop, check_time, warn_twice=True)


def _start(
    io_loop: IOLoop | None,
    check_time: float,
    *,
    warn_twice: bool,
    modify_times: dict[str, int] | None = None,
) -> None:
    # Imported here, not at the top: the command-line wrapper runs the
    # program before anything of the event loop is imported.
    from squall.ioloop import IOLoop, PeriodicCallback

    loop = IOLoop.current() if io_loop is None else io_loop
    if loop in _io_loops:
        return
    _io_loops[loop] = True
    if warn_twice and len(_io_loops) > 1:
        gen_log.warning("squall.autoreload started more than once in the same process")
    if modify_times is None:
        modify_times = {}
    # This first look records the files not seen yet, so that a change made
    # before the first timer tick is not missed.  The wrapper passes times
    # it recorded before running the program: the program's file may
    # already have changed.
    _check(modify_times)
    scheduler = PeriodicCallback(functools.partial(_check, modify_times), check_time)
    if io_loop is None:
        scheduler.start()
    else:
        # PeriodicCallback runs on the loop that is current when it starts.
        loop.add_callback(scheduler.start)


def wait() -> NoReturn:
    """Wait for a watched file to change, then restart the process.

    Meant for the end of scripts such as test runners, to run them again
    after a source change (the command-line wrapper does this for any
    program, and also survives import-time errors).  Runs a new IOLoop and
    never returns; ``KeyboardInterrupt`` and other exceptions from the loop
    propagate.
    """
    _wait(None)


def _wait(modify_times: dict[str, int] | None) -> NoReturn:
    from squall.ioloop import IOLoop

    io_loop = IOLoop()
    io_loop.add_callback(
        _start, None, _env_check_time(), warn_twice=False, modify_times=modify_times
    )
    io_loop.start()
    # stop() is never called on this private loop, but a third-party loop
    # could return anyway: keep the promise of not returning.
    raise SystemExit(0)


def _env_check_time() -> float:
    value = os.environ.get(CHECK_TIME_ENV, "")
    try:
        check_time = float(value)
    except ValueError:
        if value:
            gen_log.warning("ignoring %s=%r: not a number of milliseconds", CHECK_TIME_ENV, value)
        return DEFAULT_CHECK_TIME
    return check_time if check_time > 0 else DEFAULT_CHECK_TIME


# -- detecting changes ----------------------------------------------------------


def _source_files() -> Iterator[str]:
    """Yield the files to watch: imported modules' sources, then watch()'s."""
    # A snapshot: a module imported during the iteration (by another thread,
    # or lazily by os.stat's machinery) must not break it.
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        if path.endswith((".pyc", ".pyo")):
            path = path[:-1]
        yield path
    yield from list(_watched_files)


def _changed_file(modify_times: dict[str, int]) -> str | None:
    """Return the first file whose modification time changed, recording all.

    A file seen for the first time is recorded, not reported; one that
    cannot be stat'ed (built-in, zipped, deleted for a moment by an editor's
    atomic save) is skipped this time.
    """
    changed = None
    for path in _source_files():
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            continue
        previous = modify_times.get(path)
        modify_times[path] = mtime
        if previous is not None and previous != mtime and changed is None:
            changed = path
    return changed


def _check(modify_times: dict[str, int]) -> None:
    if _reload_attempted:
        return
    path = _changed_file(modify_times)
    if path is not None:
        gen_log.info("%s modified; restarting", path)
        _reload()


# -- restarting -------------------------------------------------------------


def _restart_argv() -> list[str]:
    """Return the command line that runs this process's program again."""
    if _wrapper_args is not None:
        return [sys.executable, "-m", "squall.autoreload", *_wrapper_args]
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    name = getattr(spec, "name", None)
    if isinstance(name, str) and name != "__main__":
        # Started as ``python -m name``: sys.argv[0] is the module's file,
        # which must not be run as a script (its relative imports would
        # fail).  ``python -m pkg`` runs ``pkg.__main__``.
        return [sys.executable, "-m", name.removesuffix(".__main__"), *sys.argv[1:]]
    return [sys.executable, *sys.argv]


def _reload() -> None:
    """Run the reload hooks, then replace this process with a fresh run."""
    global _reload_attempted
    _reload_attempted = True
    for hook in list(_reload_hooks):
        try:
            hook()
        except Exception:
            app_log.exception("exception in autoreload hook %r", hook)
    if hasattr(signal, "setitimer"):
        # An interval timer survives exec; its SIGALRM would kill the new
        # program before it could install a handler.
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
    argv = _restart_argv()
    # exec discards Python's buffers: write out what the program printed.
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    if sys.platform == "win32":  # pragma: no cover - exec does not replace a process there
        subprocess.Popen(argv)
        os._exit(0)
    try:
        os.execv(sys.executable, argv)
    except OSError:
        # exec can fail where spawning works (e.g. a process with threads on
        # some platforms): start the new program beside us, then leave.
        gen_log.exception("autoreload: exec failed; spawning a new process")
        os.spawnv(os.P_NOWAIT, sys.executable, argv)
        os._exit(0)


# -- the command-line wrapper -------------------------------------------------


def main() -> None:
    """Run the program named on the command line; restart it when it changes.

    ``python -m squall.autoreload [-m module | script.py] [args...]`` runs
    the module (as ``python -m module`` would) or the script (as ``python
    script.py`` would) with ``sys.argv`` set to its own arguments.  When it
    exits, normally or with an exception (whose traceback is logged), the
    wrapper keeps watching its files, including any named in the traceback
    or by a ``SyntaxError``, and runs it again after a change.  This is
    like calling :func:`wait` at the end of the program, but also catches
    import-time errors that would prevent the program from reaching it.

    Never returns (a restart replaces the process); exits with status 2 and
    a usage message when no program is given, 0 for ``-h``/``--help``.
    """
    global _wrapper_args
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        print(_USAGE, end="")
        raise SystemExit(0)
    if not args or (args[0] == "-m" and len(args) < 2):
        print(_USAGE, end="", file=sys.stderr)
        raise SystemExit(2)
    _wrapper_args = list(args)
    wrapper_argv = sys.argv
    # Modification times recorded before the program runs: a change to its
    # main file while it runs then restarts it as soon as it exits.
    modify_times: dict[str, int] = {}
    if args[0] == "-m":
        module, program_args = args[1], args[2:]
        # run_module sets argv[0] to the module's file, as ``python -m`` does.
        sys.argv = [module, *program_args]
        error = _run_program(functools.partial(_run_module, module, modify_times))
    else:
        script, program_args = args[0], args[1:]
        watch(script)
        _changed_file(modify_times)
        sys.argv = [script, *program_args]
        error = _run_program(functools.partial(_run_script, script))
    sys.argv = wrapper_argv
    _configure_logging()
    if error is None:
        gen_log.info("Script exited normally")
    elif isinstance(error, SystemExit):
        gen_log.info("Script exited with status %s", error.code)
    else:
        gen_log.error(
            "Script exited with uncaught exception",
            exc_info=(type(error), error, _program_traceback(error.__traceback__)),
        )
        _watch_exception_files(error)
    _wait(modify_times)


def _run_module(module: str, modify_times: dict[str, int]) -> None:
    import importlib.util

    # Imports the module's parent packages, whose errors are the program's.
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.origin is not None and spec.has_location:
        watch(spec.origin)
        _changed_file(modify_times)
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def _run_script(script: str) -> None:
    if not sys.flags.safe_path and sys.path:
        # ``python -m squall.autoreload`` put the current directory first on
        # sys.path; ``python script.py`` puts the script's directory there.
        sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")


def _run_program(run: Callable[[], object]) -> BaseException | None:
    """Run the program; return the exception it ended with, if any.

    ``SystemExit(0)`` and ``SystemExit(None)`` count as a normal exit;
    ``KeyboardInterrupt`` (and other BaseExceptions) propagate, ending the
    wrapper as they would end the program.
    """
    try:
        run()
    except SystemExit as exc:
        return None if exc.code in (None, 0) else exc
    except Exception as exc:
        return exc
    return None


def _program_traceback(tb: types.TracebackType | None) -> types.TracebackType | None:
    """Return *tb* without its first frames, the wrapper's and runpy's."""
    while tb is not None and tb.tb_frame.f_globals.get("__name__") in (__name__, "runpy"):
        tb = tb.tb_next
    return tb


def _watch_exception_files(error: BaseException) -> None:
    """Watch every file named by *error*'s traceback, its causes and contexts."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        if isinstance(exc, SyntaxError) and exc.filename:
            # The file that failed to compile has no frame in the traceback.
            watch(exc.filename)
        for frame in traceback.extract_tb(exc.__traceback__):
            watch(frame.filename)
        pending += [exc.__cause__, exc.__context__]


def _configure_logging() -> None:
    # The program is over: if it left logging unconfigured, make the
    # wrapper's messages (and the traceback) visible on stderr.
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(LogFormatter())
        root.addHandler(handler)
    if gen_log.getEffectiveLevel() > logging.INFO:
        gen_log.setLevel(logging.INFO)


if __name__ == "__main__":
    # ``python -m squall.autoreload`` runs this file as the module __main__,
    # a copy distinct from squall.autoreload, which is what the program
    # imports to call watch() or start().  Run the real module's main() so
    # that there is one set of watched files, hooks and wrapper arguments.
    from squall.autoreload import main as _main

    _main()
