"""What the httpserver and httpclient benchmarks share: a measured program in
its own process of the bench venv, and the round-robin measurement of a case.
"""

from __future__ import annotations

import json
import os
import platform
import select
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import IO, Any, Protocol, TypeVar


class Spec(Protocol):
    @property
    def impl(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def distribution(self) -> str: ...


class BenchProcess:
    """A program of ``benchmarks._servers`` or ``benchmarks._clients`` in its
    own process, on one CPU, that announces itself with one JSON line."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        cwd: str | os.PathLike[str] | None,
        env: Mapping[str, str],
        stdin: int,
        preexec_fn: Callable[[], None],
    ) -> None:
        # Closed by stop(); read for the failure message if the process dies.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            preexec_fn=preexec_fn,
        )
        self.skip: str | None = None

    def wait_ready(self) -> None:
        """Read the ready line; set :attr:`skip`, or raise if it is wrong."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def stderr_tail(self, limit: int = 1500) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace").strip()[-limit:]

    def _read_raw_line(self, timeout: float) -> tuple[bytes, dict[str, Any] | None]:
        """The next line of stdout within *timeout* (``b""`` if none), and
        its JSON object (None if it is not one)."""
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        line = stdout.readline() if ready else b""
        try:
            doc = json.loads(line) if line else None
        except ValueError:
            doc = None
        return line, doc if isinstance(doc, dict) else None

    def _read_line(self, timeout: float) -> dict[str, Any] | None:
        return self._read_raw_line(timeout)[1]

    def _close_pipes(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


def terminate(process: subprocess.Popen[bytes]) -> None:
    """Stop *process* if it runs: SIGTERM, then SIGKILL after 5 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def loop_mismatch(info: Mapping[str, Any], loop_name: str) -> str | None:
    """The loop module of a ready line if it is not *loop_name*'s, else None."""
    loop_module = str(info["loop"])
    if loop_module.startswith("uvloop") != (loop_name == "uvloop"):
        return loop_module
    return None


S = TypeVar("S", bound=Spec)
P = TypeVar("P", bound=BenchProcess)
R = TypeVar("R")


def measure_case(
    loop_name: str,
    specs: Sequence[S],
    rounds: int,
    *,
    start: Callable[[S], P],
    warm_up: Callable[[P], object],
    ready_text: Callable[[P], str],
    measure: Callable[[P], R],
    round_text: Callable[[R], str],
    another_round: Callable[[Sequence[R]], bool],
    error: type[Exception],
    summarize: Callable[[Sequence[R]], dict[str, Any]],
    version: Callable[[str], str],
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """Start, warm up and measure every process of *specs* on *loop_name*,
    round-robin; return the case's results (schema 3).

    *start* starts the process of a spec; it is stopped on the way out.  An
    *error* while warming up or in a round fails that implementation.
    """
    failures: dict[str, str] = {}
    skips: dict[str, str] = {}
    measured: dict[str, list[R]] = {spec.impl: [] for spec in specs}
    with ExitStack() as stack:
        procs: dict[str, P] = {}
        for spec in specs:
            proc = start(spec)
            stack.callback(proc.stop)
            try:
                proc.wait_ready()
                if proc.skip is not None:
                    skips[spec.impl] = proc.skip
                    log(f"  {spec.impl}: skipped ({proc.skip})")
                    continue
                warm_up(proc)
            except error as exc:
                failures[spec.impl] = str(exc)
                log(f"  {spec.impl}: FAILED: {exc}")
                continue
            procs[spec.impl] = proc
            log(f"  {spec.impl}: {ready_text(proc)}")
        for number in range(rounds):
            for impl, proc in procs.items():
                if impl in failures or not another_round(measured[impl]):
                    continue
                try:
                    result = measure(proc)
                except error as exc:
                    failures[impl] = str(exc)
                    log(f"  {impl}: FAILED in round {number + 1}: {exc}")
                    continue
                measured[impl].append(result)
                log(f"  {impl} round {number + 1}: {round_text(result)}")
    results = []
    for spec in specs:
        doc: dict[str, Any] = {
            "impl": spec.impl,
            "label": spec.label,
            "version": version(spec.distribution),
        }
        if spec.impl in skips:
            doc["skipped"] = skips[spec.impl]
        elif spec.impl in failures:
            doc["failure"] = failures[spec.impl]
        else:
            doc.update(summarize(measured[spec.impl]))
        results.append(doc)
    return results


class DescribedSpec(Spec, Protocol):
    @property
    def description(self) -> str: ...


class ToJson(Protocol):
    def to_json(self) -> dict[str, Any]: ...


def load_document(
    *,
    schema: int,
    benchmark: str,
    description: str,
    method: str,
    implementations: Sequence[DescribedSpec],
    baselines: Sequence[str],
    targets: Sequence[ToJson],
    cases: list[dict[str, Any]],
    extra: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The document of a load benchmark (schema 3, "load"); *extra* keys
    follow ``unit``."""
    return {
        "schema": schema,
        "kind": "load",
        "benchmark": benchmark,
        "description": description,
        "unit": "request",
        **(extra or {}),
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "method": method,
        "implementations": [
            {"impl": spec.impl, "label": spec.label, "description": spec.description}
            for spec in implementations
        ],
        "baselines": list(baselines),
        "targets": [target.to_json() for target in targets],
        "cases": cases,
    }
