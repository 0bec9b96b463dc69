"""Utilities for multiple processes: forking a server, and subprocesses on the loop.

- `fork_processes` turns one process into a supervisor of N forked workers,
  restarting those that crash; each worker learns its `task_id`.
- `Subprocess` is `subprocess.Popen` whose pipes can be PipeIOStreams
  (``stdout=Subprocess.STREAM``) and whose exit can be awaited
  (`Subprocess.wait_for_exit`) or reported to a callback
  (`Subprocess.set_exit_callback`) without blocking the IOLoop.

How a child's exit is noticed
-----------------------------
Tornado installs a process-wide ``SIGCHLD`` handler (or, on asyncio, uses the
loop's child watcher).  squall does neither: asyncio's child watchers are
deprecated from Python 3.12 on, and uvloop handles ``SIGCHLD`` itself for its
own subprocesses, so a second handler would fight it.  Instead each watched
child gets a *pidfd* (``os.pidfd_open``, Linux 5.3 and later), which becomes
readable when the child exits; it is registered with `IOLoop.add_handler`, so
the same code runs on every IOLoop backend, and the child is then reaped by
``Popen.poll()`` so the `subprocess.Popen` object stays consistent
(``returncode`` set, no "still running" warning).  Where pidfds are not
available (other systems, old kernels, sandboxes that forbid the call) a
daemon thread blocks in ``Popen.wait()`` and hands the status to the loop
with `IOLoop.add_callback`.  Nothing is global: no signal handler is
installed, and only the children of `Subprocess` objects are ever reaped.

`Subprocess.initialize` and `Subprocess.uninitialize` keep their documented
roles: the first starts the watching (it is implied by `set_exit_callback`
and `wait_for_exit`), the second stops it and releases its file descriptors,
for test tear-downs; a later `initialize` resumes watching the children
still waited for.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

from squall.ioloop import IOLoop
from squall.log import gen_log

__all__ = ["CalledProcessError", "Subprocess", "cpu_count", "fork_processes", "task_id"]

#: Raised by `Subprocess.wait_for_exit` for a non-zero exit status: the
#: standard library's exception itself (``returncode``, ``cmd``).
CalledProcessError = subprocess.CalledProcessError

#: `fork_processes` gives up after this many restarts of crashed children,
#: unless told otherwise: enough to ride out occasional crashes, few enough
#: that a worker crashing at start-up does not fork forever.
DEFAULT_MAX_RESTARTS = 100


# --------------------------------------------------------------------------
# Forking workers
# --------------------------------------------------------------------------


def cpu_count() -> int:
    """Return the number of processors this process may run on (at least 1).

    That is the CPUs of its affinity mask where the system tells
    (``os.process_cpu_count``, ``os.sched_getaffinity``), else all of the
    machine's (``os.cpu_count``); 1 if nothing can be found out.
    """
    process_cpu_count: Callable[[], int | None] | None = getattr(os, "process_cpu_count", None)
    if process_cpu_count is not None:  # Python 3.13
        count = process_cpu_count()
    elif hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:
        count = os.cpu_count()
    if not count:
        gen_log.error("Could not detect the number of processors; assuming 1")
        return 1
    return count


_task_id: int | None = None


def task_id() -> int | None:
    """Return this process's task id from `fork_processes`, or None.

    None in a process that `fork_processes` did not create (including the
    supervising parent).
    """
    return _task_id


def _reseed_random() -> None:
    # Children of one parent would otherwise share its random state (the
    # random module also reseeds itself at fork; this keeps the guarantee
    # explicit and independent of how the process was forked).
    try:
        seed = int.from_bytes(os.urandom(16), "big")
    except NotImplementedError:
        seed = int(time.time() * 1000) ^ os.getpid()
    random.seed(seed)


def _check_no_loop() -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            f"fork_processes() called while the event loop {running!r} is running: "
            "fork the workers first, then create and start the IOLoop in each of them"
        )
    if IOLoop.current(instance=False) is not None:
        warnings.warn(
            "fork_processes() called after an IOLoop was created: every worker inherits "
            "that event loop's state (its selector and file descriptors); create IOLoops "
            "only after forking",
            RuntimeWarning,
            stacklevel=3,
        )


def fork_processes(num_processes: int | None, max_restarts: int | None = None) -> int:
    """Fork `num_processes` workers and supervise them; return the task id in each.

    With `num_processes` None or ``<= 0``, one worker per CPU is forked
    (`cpu_count`).  In each worker the call returns its task id, an integer
    from 0 to ``num_processes - 1`` (also given by `task_id`), and the
    `random` module is reseeded.  Workers share no memory: each must create
    its own IOLoop *after* this call (typically ``sock = bind_sockets(...)``
    before, ``IOLoop.current()`` after).  Not compatible with `squall.autoreload`.

    The parent never returns: it waits for the workers, restarting any that
    exits abnormally (killed by a signal, or a non-zero exit status) with the
    same task id, and exits with ``sys.exit(0)`` (`SystemExit`) once every
    worker has exited normally.

    :param max_restarts: the total number of restarts allowed (None: 100).
    :raises RuntimeError: in the parent, once more than `max_restarts`
        restarts would be needed; also if an event loop is running in the
        calling thread (a warning is issued if an IOLoop merely exists).
    """
    if _task_id is not None:
        raise RuntimeError("fork_processes() called in a worker it created")
    _check_no_loop()
    if max_restarts is None:
        max_restarts = DEFAULT_MAX_RESTARTS
    if num_processes is None or num_processes <= 0:
        num_processes = cpu_count()
    gen_log.info("Starting %d processes", num_processes)
    children: dict[int, int] = {}  # pid -> task id

    def start_child(i: int) -> int | None:
        pid = os.fork()
        if pid == 0:
            global _task_id
            _reseed_random()
            _task_id = i
            return i
        children[pid] = i
        return None

    for i in range(num_processes):
        worker = start_child(i)
        if worker is not None:
            return worker
    restarts = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            raise RuntimeError(
                f"the workers {sorted(children.values())} were reaped by someone else"
            ) from None
        if pid not in children:
            continue  # a child of something else in this process
        worker_id = children.pop(pid)
        if os.WIFSIGNALED(status):
            gen_log.warning(
                "child %d (pid %d) killed by signal %d, restarting",
                worker_id,
                pid,
                os.WTERMSIG(status),
            )
        elif os.WEXITSTATUS(status) != 0:
            gen_log.warning(
                "child %d (pid %d) exited with status %d, restarting",
                worker_id,
                pid,
                os.WEXITSTATUS(status),
            )
        else:
            gen_log.info("child %d (pid %d) exited normally", worker_id, pid)
            continue
        restarts += 1
        if restarts > max_restarts:
            raise RuntimeError(f"too many child restarts ({max_restarts} allowed), giving up")
        worker = start_child(worker_id)
        if worker is not None:
            return worker
    # All workers exited cleanly.  SystemExit rather than returning, as since
    # Tornado 3.1: code after the call is worker code.
    sys.exit(0)


# --------------------------------------------------------------------------
# Subprocess
# --------------------------------------------------------------------------


class _PidFD:
    """A pidfd registered with an IOLoop; closing it twice is harmless.

    Registered as an object rather than an int so that ``IOLoop.close(all_fds=True)``
    closes it through `close`, and we never close a number reused since.
    """

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


# Whether os.pidfd_open can be used; False once it failed for lack of
# support (not for a vanished process).
_pidfd_supported = hasattr(os, "pidfd_open")


def _deprecated_io_loop(where: str) -> None:
    warnings.warn(
        f"the io_loop argument of {where} is deprecated (since Tornado 4.1) and ignored; "
        "the current IOLoop is used",
        DeprecationWarning,
        stacklevel=3,
    )


class Subprocess:
    """`subprocess.Popen` with IOStream pipes and non-blocking exit notification.

    The constructor takes `subprocess.Popen`'s arguments.  `stdin`,
    `stdout` and `stderr` may also be `Subprocess.STREAM`: the attribute of
    the same name is then a `squall.iostream.PipeIOStream` on the parent's
    end of a new pipe.  Otherwise the attribute is Popen's (a file object
    for ``subprocess.PIPE``, else None).  The deprecated ``io_loop`` argument
    is accepted with a `DeprecationWarning` and ignored.

    Example::

        proc = Subprocess([sys.executable, "-c", "print('hi')"], stdout=Subprocess.STREAM)
        output = await proc.stdout.read_until_close()   # b"hi\\n"
        status = await proc.wait_for_exit()              # 0

    Attributes: `proc` (the `subprocess.Popen`), `pid`, `returncode` (None
    until the exit is noticed), `io_loop` (the IOLoop current at creation,
    where exit callbacks run).  Unix only: on Windows use `subprocess.Popen`.

    :raises OSError: what `subprocess.Popen` raises (the pipes are closed).
    """

    #: Pass as `stdin`, `stdout` or `stderr` for a `PipeIOStream`.
    STREAM: ClassVar[object] = object()

    # Whether exits are being watched (initialize() until uninitialize()).
    _initialized: ClassVar[bool] = False
    # The subprocesses whose exit is waited for, by pid.
    _waiting: ClassVar[dict[int, Subprocess]] = {}

    # The streams, or Popen's attributes: their type depends on the
    # arguments (PipeIOStream for STREAM, a file for PIPE, None).
    stdin: Any
    stdout: Any
    stderr: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "io_loop" in kwargs:
            kwargs.pop("io_loop")
            _deprecated_io_loop("Subprocess()")
        self.io_loop = IOLoop.current()
        child_ends: list[int] = []  # closed in the parent once the child has them
        parent_ends: dict[str, int] = {}
        try:
            for name in ("stdin", "stdout", "stderr"):
                if kwargs.get(name) is Subprocess.STREAM:
                    read_fd, write_fd = os.pipe()  # not inheritable by default
                    child, parent = (read_fd, write_fd) if name == "stdin" else (write_fd, read_fd)
                    child_ends.append(child)
                    parent_ends[name] = parent
                    kwargs[name] = child
            self.proc = subprocess.Popen(*args, **kwargs)
        except BaseException:
            for fd in [*child_ends, *parent_ends.values()]:
                os.close(fd)
            raise
        for fd in child_ends:
            os.close(fd)
        self.pid: int = self.proc.pid
        self.stdin = self.proc.stdin
        self.stdout = self.proc.stdout
        self.stderr = self.proc.stderr
        if parent_ends:
            from squall.iostream import PipeIOStream

            for name, fd in parent_ends.items():
                setattr(self, name, PipeIOStream(fd))
        self._exit_callback: Callable[[int], object] | None = None
        # wait_for_exit()'s Futures and their raise_error.
        self._exit_futures: list[tuple[asyncio.Future[int], bool]] = []
        # Once the exit has been noticed: the status handed to callbacks.
        self._exit_status: int | None = None
        # How the exit is being watched: the registered pidfd, or a
        # generation number that a waiting thread's report must match.
        self._pidfd: _PidFD | None = None
        self._watch_generation = 0
        self._watch_thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pid={self.pid} returncode={self.returncode}>"

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal), or None while running."""
        return self.proc.returncode

    def set_exit_callback(self, callback: Callable[[int], object]) -> None:
        """Call ``callback(returncode)`` on the IOLoop once this process exits.

        `returncode` is the exit status, or ``-N`` if the process was killed
        by signal N.  A later call replaces the callback; if the process has
        already exited, the callback runs on the next iteration of the loop.
        It runs once.  Exceptions it raises are logged.

        No ``SIGCHLD`` handler is installed (see the module's documentation),
        so this does not conflict with other users of that signal; the child
        is reaped with ``Popen.poll()``.  Implies `initialize`.
        """
        self._exit_callback = callback
        if self._exit_status is not None:
            self._run_exit_callback(self._exit_status)
        else:
            self._start_waiting()

    def wait_for_exit(self, raise_error: bool = True) -> asyncio.Future[int]:
        """Return a Future of this process's exit status, resolved once it exits.

        A coroutine-friendly alternative to `set_exit_callback` (which it
        does not replace: both may be used) and a non-blocking replacement
        for `subprocess.Popen.wait`::

            status = await proc.wait_for_exit()

        The Future belongs to `io_loop`'s event loop.  It resolves to the
        status (``-N`` for a process killed by signal N).

        :raises CalledProcessError: (through the Future) if the status is
            not 0 and `raise_error` is true.
        """
        future: asyncio.Future[int] = self.io_loop.asyncio_loop.create_future()
        if self._exit_status is not None:
            self._resolve(future, raise_error, self._exit_status)
        else:
            self._exit_futures.append((future, raise_error))
            self._start_waiting()
        return future

    # -- class-wide watching -------------------------------------------------

    @classmethod
    def initialize(cls, io_loop: IOLoop | None = None) -> None:
        """Start watching for the exit of every subprocess waited for.

        Implied by `set_exit_callback` and `wait_for_exit`; calling it again
        does nothing.  Exits are noticed on each subprocess's own `io_loop`
        (through a pidfd, or a helper thread where pidfds are unavailable),
        so unlike Tornado's ``SIGCHLD`` handler no IOLoop needs to be
        designated.  The deprecated `io_loop` argument is ignored, with a
        `DeprecationWarning`.
        """
        if io_loop is not None:
            _deprecated_io_loop("Subprocess.initialize()")
        if cls._initialized:
            return
        Subprocess._initialized = True
        for sub in list(Subprocess._waiting.values()):
            sub._arm()

    @classmethod
    def uninitialize(cls) -> None:
        """Stop watching for exits and release the file descriptors used for it.

        Exit callbacks and `wait_for_exit` Futures of subprocesses still
        running stay pending: a later `initialize` (or `set_exit_callback`,
        `wait_for_exit`) resumes the watching.  Call it from the thread of
        the IOLoops concerned; test tear-downs do.
        """
        Subprocess._initialized = False
        for sub in list(Subprocess._waiting.values()):
            sub._disarm()

    # -- this process's watch ------------------------------------------------

    def _start_waiting(self) -> None:
        if self.pid in Subprocess._waiting:
            return
        Subprocess._waiting[self.pid] = self
        if Subprocess._initialized:
            self._arm()
        else:
            Subprocess.initialize()  # arms every waiting subprocess, this one too

    def _arm(self) -> None:
        """Begin watching this process's exit on `io_loop`."""
        global _pidfd_supported
        if self._pidfd is not None or self._watch_thread is not None:
            return
        if self.proc.poll() is not None:
            # Already over (or reaped through the Popen by its owner).
            self.io_loop.add_callback(self._check_exit)
            return
        if _pidfd_supported:
            try:
                fd = os.pidfd_open(self.pid)
            except ProcessLookupError:
                # Reaped behind Popen's back (os.waitpid(-1) elsewhere):
                # Popen.poll() will report it (as status 0, Popen's choice).
                self.io_loop.add_callback(self._check_exit)
                return
            except OSError as exc:
                # ENOSYS (kernel before 5.3), EPERM (seccomp sandbox)...
                gen_log.debug("pidfd_open unavailable (%s); waiting in threads", exc)
                _pidfd_supported = False
            else:
                self._pidfd = _PidFD(fd)
                try:
                    self.io_loop.add_handler(self._pidfd, self._on_pidfd, IOLoop.READ)
                except BaseException:
                    self._pidfd.close()
                    self._pidfd = None
                    raise
                return
        generation = self._watch_generation
        self._watch_thread = threading.Thread(
            target=self._wait_in_thread,
            args=(generation,),
            name=f"squall.process wait {self.pid}",
            daemon=True,
        )
        self._watch_thread.start()

    def _disarm(self) -> None:
        """Stop watching (uninitialize); the process stays in `_waiting`."""
        self._watch_generation += 1
        self._watch_thread = None  # it ends by itself; its report is now stale
        pidfd, self._pidfd = self._pidfd, None
        if pidfd is not None:
            if not self.io_loop.asyncio_loop.is_closed():
                self.io_loop.remove_handler(pidfd)
            pidfd.close()

    def _on_pidfd(self, pidfd: _PidFD, events: int) -> None:
        self._check_exit()

    def _wait_in_thread(self, generation: int) -> None:
        # Popen.wait() serialises with poll() through Popen's own lock.
        self.proc.wait()
        self.io_loop.add_callback(self._on_thread_exit, generation)

    def _on_thread_exit(self, generation: int) -> None:
        if generation == self._watch_generation:
            self._watch_thread = None
            self._check_exit()

    def _check_exit(self) -> None:
        """On the loop: if the process has exited, report its status."""
        if self._exit_status is not None:
            return
        status = self.proc.poll()
        if status is None:
            # Not yet: a spurious wake-up, or another thread is inside
            # Popen.wait() (poll() does not block on its lock) and is about
            # to reap the child.  Keep watching.
            return
        self._disarm()
        Subprocess._waiting.pop(self.pid, None)
        self._exit_status = status
        futures, self._exit_futures = self._exit_futures, []
        for future, raise_error in futures:
            self._resolve(future, raise_error, status)
        if self._exit_callback is not None:
            self._run_exit_callback(status)

    def _run_exit_callback(self, status: int) -> None:
        callback, self._exit_callback = self._exit_callback, None
        if callback is not None:
            self.io_loop.add_callback(callback, status)

    def _resolve(self, future: asyncio.Future[int], raise_error: bool, status: int) -> None:
        if future.done():
            return  # cancelled by its consumer
        if status != 0 and raise_error:
            future.set_exception(CalledProcessError(status, self.proc.args))
        else:
            future.set_result(status)
