"""Tests for squall.process.

Real processes and pipes throughout: the children are ``python -c`` programs
(this interpreter), every wait is bounded by :data:`DEADLINE`, and every
child is killed at the end of its test.  `fork_processes` only ever runs in a
child script started in its own session, never in the test process, and the
whole session is killed afterwards, so a stray worker cannot outlive its test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import squall.ioloop
import squall.log
from squall import process
from squall.process import CalledProcessError, Subprocess

if TYPE_CHECKING:
    from squall.ioloop import IOLoop

#: Bound of every wait in these tests, in seconds.
DEADLINE = 30.0

#: Where this process found squall (src/ directories in development,
#: site-packages when installed from wheels): the child scripts import the
#: same code.
SOURCE_DIRS = [
    Path(process.__file__).resolve().parents[1],
    Path(squall.ioloop.__file__).resolve().parents[1],
    Path(squall.log.__file__).resolve().parents[1],
]

HAS_PIDFD = sys.platform == "linux" and hasattr(os, "pidfd_open")


def python(code: str) -> list[str]:
    """The command running `code` in this interpreter."""
    return [sys.executable, "-c", textwrap.dedent(code)]


Spawn = Callable[..., Subprocess]


@pytest.fixture
def spawn(io_loop: IOLoop) -> Iterator[Spawn]:
    """``spawn(args, **popen_kwargs)``: a Subprocess killed, reaped and closed afterwards."""
    created: list[Subprocess] = []

    def make(*args: Any, **kwargs: Any) -> Subprocess:
        sub = Subprocess(*args, **kwargs)
        created.append(sub)
        return sub

    try:
        yield make
    finally:
        for sub in created:
            if sub.proc.poll() is None:
                sub.proc.kill()
            sub.proc.wait(timeout=DEADLINE)
            for stream in (sub.stdin, sub.stdout, sub.stderr):
                if stream is not None:
                    stream.close()
        Subprocess.uninitialize()
        Subprocess._waiting.clear()


def run(io_loop: IOLoop, func: Callable[[], Any]) -> Any:
    return io_loop.run_sync(func, timeout=DEADLINE)


# --------------------------------------------------------------------------
# Subprocess: streams
# --------------------------------------------------------------------------


def test_stdout_stream(io_loop: IOLoop, spawn: Spawn) -> None:
    async def main() -> tuple[bytes, int]:
        sub = spawn(python("print('hello'); print('world')"), stdout=Subprocess.STREAM)
        output = await sub.stdout.read_until_close()
        return output, await sub.wait_for_exit()

    output, status = run(io_loop, main)
    assert output.splitlines() == [b"hello", b"world"]
    assert status == 0


def test_stdin_written_then_closed(io_loop: IOLoop, spawn: Spawn) -> None:
    # A cat: it sees end-of-file only if the parent's end of stdin is the
    # only one left open (nothing leaked into the child).
    cat = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().upper())"

    async def main() -> bytes:
        sub = spawn(python(cat), stdin=Subprocess.STREAM, stdout=Subprocess.STREAM)
        await sub.stdin.write(b"line one\n")
        await sub.stdin.write(b"line two\n" * 1000)
        sub.stdin.close()
        output: bytes = await sub.stdout.read_until_close()
        assert await sub.wait_for_exit() == 0
        return output

    assert run(io_loop, main) == b"LINE ONE\n" + b"LINE TWO\n" * 1000


def test_read_until_on_stdout(io_loop: IOLoop, spawn: Spawn) -> None:
    # Line by line, as a caller talking to a child would.
    echo = """
        import sys
        for line in sys.stdin:
            print("got", line.strip(), flush=True)
    """

    async def main() -> list[bytes]:
        sub = spawn(python(echo), stdin=Subprocess.STREAM, stdout=Subprocess.STREAM)
        replies = []
        for word in (b"a", b"b", b"c"):
            await sub.stdin.write(word + b"\n")
            replies.append(await sub.stdout.read_until(b"\n"))
        sub.stdin.close()
        await sub.wait_for_exit()
        return replies

    assert run(io_loop, main) == [b"got a\n", b"got b\n", b"got c\n"]


def test_stderr_stream(io_loop: IOLoop, spawn: Spawn) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr)"

    async def main() -> tuple[bytes, bytes]:
        sub = spawn(python(code), stdout=Subprocess.STREAM, stderr=Subprocess.STREAM)
        out, err = await asyncio.gather(
            sub.stdout.read_until_close(), sub.stderr.read_until_close()
        )
        await sub.wait_for_exit()
        return out, err

    assert run(io_loop, main) == (b"out\n", b"err\n")


def test_stderr_to_stdout_stream(io_loop: IOLoop, spawn: Spawn) -> None:
    code = "import sys; print('err', file=sys.stderr, flush=True); print('out')"

    async def main() -> bytes:
        sub = spawn(python(code), stdout=Subprocess.STREAM, stderr=subprocess.STDOUT)
        assert sub.stderr is None
        output: bytes = await sub.stdout.read_until_close()
        await sub.wait_for_exit()
        return output

    assert run(io_loop, main) == b"err\nout\n"


def test_popen_pipes_are_left_alone(io_loop: IOLoop, spawn: Spawn) -> None:
    # Without STREAM the attributes are Popen's own.
    async def main() -> None:
        sub = spawn(python("print('x')"), stdout=subprocess.PIPE)
        assert sub.stdout is sub.proc.stdout
        assert sub.stdin is None
        await sub.wait_for_exit()
        assert sub.stdout.read() == b"x\n"

    run(io_loop, main)


def test_only_standard_fds_in_the_child(io_loop: IOLoop, spawn: Spawn) -> None:
    # The parent's ends of the pipes are not inherited.
    code = "import os; print(sorted(int(fd) for fd in os.listdir('/proc/self/fd')))"
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc")

    async def main() -> bytes:
        sub = spawn(
            python(code),
            stdin=Subprocess.STREAM,
            stdout=Subprocess.STREAM,
            stderr=Subprocess.STREAM,
        )
        output: bytes = await sub.stdout.read_until_close()
        await sub.wait_for_exit()
        return output

    fds = eval(run(io_loop, main))
    assert fds[:3] == [0, 1, 2]
    assert len(fds) <= 4  # the directory listing's own fd


def test_failed_popen_closes_the_pipes(io_loop: IOLoop) -> None:
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc")
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(FileNotFoundError):
        Subprocess(
            ["/nonexistent/program"],
            stdin=Subprocess.STREAM,
            stdout=Subprocess.STREAM,
            stderr=Subprocess.STREAM,
        )
    assert set(os.listdir("/proc/self/fd")) <= before


def test_created_before_the_loop_runs(io_loop: IOLoop, spawn: Spawn) -> None:
    # Tornado 4 style: made (and watched) outside the loop, which then runs.
    sub = spawn(python("print('early')"), stdout=Subprocess.STREAM)
    statuses: list[int] = []
    sub.set_exit_callback(statuses.append)

    async def main() -> bytes:
        output: bytes = await sub.stdout.read_until_close()
        await sub.wait_for_exit()
        return output

    assert run(io_loop, main) == b"early\n"
    run(io_loop, lambda: asyncio.sleep(0))  # let the exit callback run
    assert statuses == [0]


def test_gen_coroutine_style(io_loop: IOLoop, spawn: Spawn) -> None:
    from squall import gen

    @gen.coroutine  # type: ignore[untyped-decorator,unused-ignore]
    def main() -> Any:
        sub = spawn(python("print('from a generator')"), stdout=Subprocess.STREAM)
        output = yield sub.stdout.read_until_close()
        status = yield sub.wait_for_exit()
        return output, status

    assert run(io_loop, main) == (b"from a generator\n", 0)


# --------------------------------------------------------------------------
# Subprocess: exit
# --------------------------------------------------------------------------


def test_exit_callback(io_loop: IOLoop, spawn: Spawn) -> None:
    async def main() -> tuple[int, Subprocess]:
        sub = spawn(python("import sys; sys.exit(3)"))
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        sub.set_exit_callback(done.set_result)
        return await done, sub

    status, sub = run(io_loop, main)
    assert status == 3
    assert sub.returncode == 3
    assert sub.proc.returncode == 3  # reaped through the Popen


def test_exit_callback_after_the_exit(io_loop: IOLoop, spawn: Spawn) -> None:
    async def main() -> int:
        sub = spawn(python("pass"))
        sub.proc.wait(timeout=DEADLINE)  # reaped by its owner first
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        sub.set_exit_callback(done.set_result)
        return await done

    assert run(io_loop, main) == 0


def test_exit_callback_replaced_and_run_once(io_loop: IOLoop, spawn: Spawn) -> None:
    calls: list[tuple[str, int]] = []

    async def main() -> None:
        sub = spawn(python("import sys; sys.exit(2)"))
        sub.set_exit_callback(lambda status: calls.append(("first", status)))
        sub.set_exit_callback(lambda status: calls.append(("second", status)))
        await sub.wait_for_exit(raise_error=False)
        await asyncio.sleep(0)  # the callback runs on the next iteration
        await asyncio.sleep(0)

    run(io_loop, main)
    assert calls == [("second", 2)]


def test_exit_callback_exception_is_logged(
    io_loop: IOLoop, spawn: Spawn, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(status: int) -> None:
        raise ValueError(f"callback failed on {status}")

    async def main() -> int:
        sub = spawn(python("pass"))
        sub.set_exit_callback(broken)
        status: int = await sub.wait_for_exit()
        for _ in range(3):
            await asyncio.sleep(0)
        return status

    assert run(io_loop, main) == 0
    assert "callback failed on 0" in caplog.text


def test_wait_for_exit_zero(io_loop: IOLoop, spawn: Spawn) -> None:
    async def main() -> int:
        return await spawn(python("pass")).wait_for_exit()  # type: ignore[no-any-return]

    assert run(io_loop, main) == 0


def test_wait_for_exit_nonzero_raises(io_loop: IOLoop, spawn: Spawn) -> None:
    args = python("import sys; sys.exit(5)")

    async def main() -> None:
        await spawn(args).wait_for_exit()

    with pytest.raises(CalledProcessError) as caught:
        run(io_loop, main)
    assert caught.value.returncode == 5
    assert caught.value.cmd == args
    assert CalledProcessError is subprocess.CalledProcessError


def test_wait_for_exit_nonzero_without_raising(io_loop: IOLoop, spawn: Spawn) -> None:
    async def main() -> int:
        sub = spawn(python("import sys; sys.exit(5)"))
        return await sub.wait_for_exit(raise_error=False)  # type: ignore[no-any-return]

    assert run(io_loop, main) == 5


def test_wait_for_exit_twice_and_after_the_exit(io_loop: IOLoop, spawn: Spawn) -> None:
    async def main() -> list[int]:
        sub = spawn(python("pass"))
        first, second = await asyncio.gather(sub.wait_for_exit(), sub.wait_for_exit())
        return [first, second, await sub.wait_for_exit()]

    assert run(io_loop, main) == [0, 0, 0]


def test_wait_for_exit_cancelled(io_loop: IOLoop, spawn: Spawn) -> None:
    async def main() -> int:
        sub = spawn(python("pass"))
        sub.wait_for_exit().cancel()
        return await sub.wait_for_exit()  # type: ignore[no-any-return]

    assert run(io_loop, main) == 0


def test_killed_by_a_signal(io_loop: IOLoop, spawn: Spawn) -> None:
    async def main() -> tuple[int, BaseException | None]:
        sub = spawn(python("import time; time.sleep(60)"))
        failure = sub.wait_for_exit()
        status = sub.wait_for_exit(raise_error=False)
        sub.proc.send_signal(signal.SIGKILL)
        try:
            await failure
        except CalledProcessError as exc:
            return await status, exc
        return await status, None

    status, exc = run(io_loop, main)
    assert status == -signal.SIGKILL
    assert isinstance(exc, CalledProcessError)
    assert exc.returncode == -signal.SIGKILL


def test_many_concurrent_subprocesses(io_loop: IOLoop, spawn: Spawn) -> None:
    count = 20

    async def one(i: int) -> tuple[bytes, int]:
        code = f"import sys; print({i}); sys.exit({i % 3})"
        sub = spawn(python(code), stdout=Subprocess.STREAM)
        output, status = await asyncio.gather(
            sub.stdout.read_until_close(), sub.wait_for_exit(raise_error=False)
        )
        return output, status

    async def main() -> list[tuple[bytes, int]]:
        return await asyncio.gather(*(one(i) for i in range(count)))

    assert run(io_loop, main) == [(f"{i}\n".encode(), i % 3) for i in range(count)]


def test_watching_uses_a_pidfd(io_loop: IOLoop, spawn: Spawn) -> None:
    if not (HAS_PIDFD and process._pidfd_supported):
        pytest.skip("pidfds are not available here")

    async def main() -> None:
        sub = spawn(python("import sys; sys.stdin.read()"), stdin=subprocess.PIPE)
        future = sub.wait_for_exit()
        assert sub._pidfd is not None
        assert sub._watch_thread is None
        sub.proc.stdin.close()  # type: ignore[union-attr]
        assert await future == 0
        assert sub._pidfd is None  # released once the exit is seen

    run(io_loop, main)


def test_watching_in_threads_without_pidfds(
    io_loop: IOLoop, spawn: Spawn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "_pidfd_supported", False)

    async def main() -> list[int]:
        subs = [spawn(python(f"import sys; sys.exit({i})")) for i in range(3)]
        statuses = await asyncio.gather(*(s.wait_for_exit(raise_error=False) for s in subs))
        assert all(s._pidfd is None for s in subs)
        return list(statuses)

    assert run(io_loop, main) == [0, 1, 2]


def test_uninitialize_then_initialize_resumes(io_loop: IOLoop, spawn: Spawn) -> None:
    async def main() -> int:
        sub = spawn(python("import sys; sys.stdin.read()"), stdin=subprocess.PIPE)
        future = sub.wait_for_exit()
        Subprocess.uninitialize()
        assert sub._pidfd is None
        assert Subprocess._waiting == {sub.pid: sub}
        sub.proc.stdin.close()  # type: ignore[union-attr]
        Subprocess.initialize()
        Subprocess.initialize()  # again: nothing more
        return await future  # type: ignore[no-any-return]

    assert run(io_loop, main) == 0


def test_closing_the_loop_while_watching(spawn: Spawn) -> None:
    # close(all_fds=True) closes the pidfd; uninitialize copes.
    other = squall.ioloop.IOLoop(make_current=False)

    async def main() -> Subprocess:
        sub = spawn(python("import time; time.sleep(60)"))
        sub.wait_for_exit()
        return sub

    sub = other.run_sync(main, timeout=DEADLINE)
    other.close(all_fds=True)
    Subprocess.uninitialize()
    assert sub._pidfd is None


def test_io_loop_argument_is_deprecated(io_loop: IOLoop, spawn: Spawn) -> None:
    with pytest.warns(DeprecationWarning, match="io_loop"):
        sub = spawn(python("pass"), io_loop=io_loop)
    assert sub.io_loop is io_loop
    with pytest.warns(DeprecationWarning, match="io_loop"):
        Subprocess.initialize(io_loop=io_loop)


def test_repr_and_attributes(io_loop: IOLoop, spawn: Spawn) -> None:
    async def main() -> None:
        sub = spawn(python("pass"))
        assert sub.pid == sub.proc.pid
        assert f"pid={sub.pid}" in repr(sub)
        assert await sub.wait_for_exit() == 0
        assert sub.returncode == 0

    run(io_loop, main)


# --------------------------------------------------------------------------
# cpu_count, task_id
# --------------------------------------------------------------------------


def test_cpu_count() -> None:
    count = process.cpu_count()
    assert isinstance(count, int)
    assert 1 <= count <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert count == len(os.sched_getaffinity(0))


def test_cpu_count_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert process.cpu_count() == 1


def test_task_id_outside_workers() -> None:
    assert process.task_id() is None


# --------------------------------------------------------------------------
# fork_processes, in child scripts
# --------------------------------------------------------------------------


#: Defines ``say(*words)``: one line written with a single write(2), so the
#: lines of concurrent workers never interleave.
SCRIPT_PRELUDE = """\
import os as _os


def say(*words):
    _os.write(1, (" ".join(map(str, words)) + "\\n").encode())

"""


def run_script(tmp_path: Path, code: str) -> tuple[int, str, str]:
    """Run `code` as a script in its own session; return (status, stdout, stderr).

    The whole session (the script and any worker it forked) is killed at the
    end, whatever happened.
    """
    script = tmp_path / "script.py"
    script.write_text(SCRIPT_PRELUDE + textwrap.dedent(code))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [*(str(p) for p in SOURCE_DIRS), *filter(None, [env.get("PYTHONPATH")])]
    )
    child = subprocess.Popen(
        [sys.executable, "-W", "error", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        out, err = child.communicate(timeout=DEADLINE)
    finally:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait(timeout=DEADLINE)
    return child.returncode, out.decode(), err.decode()


def test_fork_processes_runs_every_task(tmp_path: Path) -> None:
    status, out, err = run_script(
        tmp_path,
        """
        import os
        from squall import process

        assert process.task_id() is None
        task = process.fork_processes(3)
        assert process.task_id() == task
        say("task", task, os.getpid())
        """,
    )
    assert status == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert sorted(int(line[1]) for line in lines) == [0, 1, 2]
    assert len({line[2] for line in lines}) == 3  # three processes


def test_fork_processes_one_per_cpu(tmp_path: Path) -> None:
    status, out, err = run_script(
        tmp_path,
        """
        from squall import process

        task = process.fork_processes(0)
        say(task, process.cpu_count())
        """,
    )
    assert status == 0, err
    pairs = [tuple(map(int, line.split())) for line in out.splitlines()]
    cpus = process.cpu_count()
    assert sorted(pairs) == [(i, cpus) for i in range(cpus)]


def test_fork_processes_reseeds_random(tmp_path: Path) -> None:
    status, out, err = run_script(
        tmp_path,
        """
        import random
        from squall import process

        random.seed(1)  # the same state in the parent before forking
        process.fork_processes(2)
        say(random.getrandbits(64))
        """,
    )
    assert status == 0, err
    values = out.split()
    assert len(values) == 2
    assert values[0] != values[1]


def test_crashed_workers_are_restarted(tmp_path: Path) -> None:
    # Worker 1 exits with status 3 on its first run, worker 2 is killed by a
    # signal on its first run; both are restarted with their task id.
    status, out, err = run_script(
        tmp_path,
        """
        import os, signal, sys
        from squall import process

        task = process.fork_processes(3, max_restarts=5)
        marker = f"ran-{task}"
        first = not os.path.exists(marker)
        open(marker, "a").close()
        say("run", task, "first" if first else "again")
        if first and task == 1:
            sys.exit(3)
        if first and task == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    assert status == 0, err
    runs = sorted(tuple(line.split()[1:]) for line in out.splitlines())
    assert runs == [("0", "first"), ("1", "again"), ("1", "first"), ("2", "again"), ("2", "first")]
    assert "exited with status 3, restarting" in err
    assert f"killed by signal {int(signal.SIGKILL)}, restarting" in err


def test_too_many_restarts(tmp_path: Path) -> None:
    status, out, err = run_script(
        tmp_path,
        """
        import os
        from squall import process

        try:
            task = process.fork_processes(1, max_restarts=2)
        except RuntimeError as exc:
            say("parent:", exc)
            raise SystemExit(7)
        say("worker", task)
        os._exit(1)
        """,
    )
    assert status == 7, err
    lines = out.splitlines()
    assert lines.count("worker 0") == 3  # the first run and two restarts
    assert lines[-1].startswith("parent: too many child restarts")


def test_fork_processes_in_a_running_loop(io_loop: IOLoop) -> None:
    # Refused before any fork, so safe to run in the test process.
    async def main() -> None:
        with pytest.raises(RuntimeError, match="running"):
            process.fork_processes(2)

    run(io_loop, main)


def test_fork_processes_after_an_ioloop_warns(tmp_path: Path) -> None:
    status, out, err = run_script(
        tmp_path,
        """
        import warnings
        from squall import process
        from squall.ioloop import IOLoop

        loop = IOLoop()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            task = process.fork_processes(1)
        say(task, [str(w.message) for w in caught])
        """,
    )
    assert status == 0, err
    assert out.startswith("0 ")
    assert "after an IOLoop was created" in out
