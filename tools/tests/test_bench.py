"""The benchmark runner's own logic, on fake results: no venv, no timing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while building classes.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


run = _load("squall_bench_run", BENCH_DIR / "run.py")


def fake_document(**times: float) -> dict[str, Any]:
    """A harness result with the given median seconds per implementation."""
    labels = {"squall": "squall.template", "tornado": "tornado.template", "jinja2": "jinja2"}
    return {
        "schema": 1,
        "benchmark": "template",
        "description": "render a page",
        "unit": "render",
        "statistic": "median",
        "repeats": 15,
        "min_time_s": 0.2,
        "python": "3.11.7 (CPython)",
        "targets": {"tornado": 1.3},
        "results": [
            {
                "impl": impl,
                "label": labels[impl],
                "version": "1.0",
                "median_s": median,
                "best_s": median * 0.9,
                "repeat_s": [median],
            }
            for impl, median in times.items()
        ],
        "skipped": [],
    }


def test_speedup_is_peer_time_over_squall_time() -> None:
    bench = run.BenchResult.from_json(fake_document(tornado=0.004, squall=0.002, jinja2=0.001))
    by_impl = {r.impl: r for r in bench.results}
    assert bench.speedup(by_impl["tornado"]) == pytest.approx(2.0)
    assert bench.speedup(by_impl["jinja2"]) == pytest.approx(0.5)
    assert bench.speedup(by_impl["squall"]) == pytest.approx(1.0)
    assert by_impl["squall"].ops_per_s == pytest.approx(500.0)


def test_speedup_without_squall_is_none() -> None:
    bench = run.BenchResult.from_json(fake_document(tornado=0.004))
    assert bench.speedup(bench.results[0]) is None
    assert run.target_lines(bench) == [
        "Target: squall >= 1.30x tornado.template: not measured (no squall result)"
    ]


def test_table_lists_squall_first_with_ratios() -> None:
    bench = run.BenchResult.from_json(fake_document(tornado=0.004, squall=0.002, jinja2=0.001))
    lines = run.render_table([bench]).splitlines()
    assert lines[0].split("|")[1].strip() == "benchmark"
    assert set(lines[1]) <= {"|", "-"}
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert [row[1] for row in cells] == ["squall.template", "tornado.template", "jinja2"]
    assert cells[0][-1] == "(reference)"
    assert cells[1][-1] == "2.00x"
    assert cells[2][-1] == "0.50x"
    assert cells[1][3] == "4 ms"
    assert cells[1][4] == "3.6 ms"
    assert len({len(line) for line in lines}) == 1  # columns aligned


def test_table_shows_skipped_implementations() -> None:
    document = fake_document(tornado=0.004)
    document["skipped"] = [
        {"impl": "squall", "label": "squall.template", "reason": "ModuleNotFoundError()"}
    ]
    bench = run.BenchResult.from_json(document)
    table = run.render_table([bench], with_benchmark=False)
    assert "skipped: ModuleNotFoundError()" in table
    assert "| n/a " in table


@pytest.mark.parametrize(
    ("speedups", "verdict"),
    [((0.002, 0.003), "met (1.50x)"), ((0.002, 0.0025), "MISSED (1.25x)")],
)
def test_target_lines(speedups: tuple[float, float], verdict: str) -> None:
    squall, tornado = speedups
    bench = run.BenchResult.from_json(fake_document(squall=squall, tornado=tornado))
    assert run.target_lines(bench) == [f"Target: squall >= 1.30x tornado.template: {verdict}"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2.5, "2.5 s"), (0.0012345, "1.234 ms"), (4.2e-5, "42 us"), (3e-8, "30 ns")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert run.format_duration(seconds) == text


def test_format_rate() -> None:
    assert run.format_rate(123456.7) == "123,457"
    assert run.format_rate(12.34) == "12.3"


def test_update_report_replaces_only_its_section() -> None:
    text = run.update_report("", "template", "## template\nold\n")
    text = run.update_report(text, "http", "## http\nkept\n")
    assert text.startswith(run.REPORT_HEADER)
    text = run.update_report(text, "template", "## template\nnew\n")
    assert "new" in text
    assert "old" not in text
    assert "kept" in text
    assert text.index("## template") < text.index("## http")
    assert text.count("<!-- bench:template:begin -->") == 1


def test_report_section_names_the_command_and_machine() -> None:
    bench = run.BenchResult.from_json(fake_document(tornado=0.004, squall=0.002))
    ctx = run.RunContext(
        command="python tools/bench/run.py template",
        date="2025-01-01 00:00 UTC",
        machine="Some CPU, 2 logical CPUs",
        squall_source="git abc1234",
        packages="tornado 6.6.1",
    )
    section = run.report_section(bench, ctx)
    assert "`python tools/bench/run.py template`" in section
    assert "Some CPU, 2 logical CPUs" in section
    assert "median, and best, of 15 repetitions" in section
    assert "Target: squall >= 1.30x tornado.template: met (2.00x)" in section


def test_benchmarks_are_discovered() -> None:
    assert "template" in run.available_benchmarks()


def test_benchmark_modules_define_their_cases() -> None:
    assert "ioloop" in run.available_benchmarks()


# -- modules of several cases, batches ------------------------------------------

harness = _load("squall_bench_harness", BENCH_DIR / "benchmarks" / "_harness.py")


def cases_document() -> dict[str, Any]:
    first = fake_document(squall=2e-6, tornado=4e-6)
    first["benchmark"] = "gen.coroutine"
    first["unit"] = "coroutine"
    first["batch"] = 100_000
    first["targets"] = {"tornado": 1.0}
    second = fake_document(squall=3e-6, tornado=1.5e-6)
    second["benchmark"] = "add_callback"
    second["targets"] = {"tornado": 1.0}
    return {
        "schema": 2,
        "benchmark": "ioloop",
        "description": "the loop",
        "cases": [first, second],
    }


def test_bench_run_reads_a_single_benchmark_document() -> None:
    bench_run = run.BenchRun.from_json(fake_document(squall=0.002, tornado=0.004))
    assert not bench_run.multi
    assert bench_run.name == "template"
    assert [case.name for case in bench_run.cases] == ["template"]
    assert bench_run.cases[0].batch == 1


def test_bench_run_reads_a_document_of_cases() -> None:
    bench_run = run.BenchRun.from_json(cases_document())
    assert bench_run.multi
    assert bench_run.name == "ioloop"
    assert [case.name for case in bench_run.cases] == ["gen.coroutine", "add_callback"]
    assert bench_run.cases[0].batch == 100_000
    assert not bench_run.skipped


def test_cases_section_has_one_table_and_each_cases_targets() -> None:
    ctx = run.RunContext(
        command="python tools/bench/run.py ioloop",
        date="2025-01-01 00:00 UTC",
        machine="Some CPU",
        squall_source="git abc1234",
        packages="tornado 6.6.1",
    )
    section = run.run_section(run.BenchRun.from_json(cases_document()), ctx)
    assert section.startswith("## ioloop\n\nThe loop.\n")
    assert "`python tools/bench/run.py ioloop`" in section
    assert "  - gen.coroutine (coroutine, timed in batches of 100,000): render a page" in section
    assert "| gen.coroutine | squall.template" in section
    assert "| add_callback  | tornado.template" in section
    assert "gen.coroutine: Target: squall >= 1.00x tornado.template: met (2.00x)" in section
    assert "add_callback: Target: squall >= 1.00x tornado.template: MISSED (0.50x)" in section
    # A single benchmark keeps its own layout.
    single = run.BenchRun.from_json(fake_document(squall=0.002, tornado=0.004))
    assert run.run_section(single, ctx) == run.report_section(single.cases[0], ctx)


def _counting_benchmark(name: str, batch: int) -> Any:
    def setup() -> Any:
        return lambda: sum(range(1000))

    return harness.Benchmark(
        name=name,
        description=f"{name} case",
        unit="sum",
        implementations=[harness.Implementation("squall", "squall", "squall-core", setup)],
        check=lambda outputs: None,
        batch=batch,
    )


def test_harness_divides_times_by_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fake clock: every call of an operation takes 0.01 s of CPU time.
    monkeypatch.setattr(harness, "_time_repetition", lambda op, number: 0.01 * number)
    settings = harness.Settings(repeats=3, min_time=0.05)
    ops = {"squall": lambda: None}
    whole = harness.measure(ops, settings, lambda message: None)["squall"]
    batched = harness.measure(ops, settings, lambda message: None, batch=1000)["squall"]
    assert whole == pytest.approx([0.01] * 3)
    assert batched == pytest.approx([0.01 / 1000] * 3)


def test_harness_runs_every_case_of_a_module() -> None:
    module = ModuleType("bench_fake")
    module.DESCRIPTION = "fake cases"  # type: ignore[attr-defined]
    module.BENCHMARKS = [_counting_benchmark("one", 1), _counting_benchmark("two", 10)]  # type: ignore[attr-defined]
    settings = harness.Settings(repeats=1, min_time=0.001)
    document = harness.run_module("fake", module, settings, lambda message: None)
    assert document["schema"] == 2
    assert document["benchmark"] == "fake"
    assert [case["benchmark"] for case in document["cases"]] == ["one", "two"]
    assert document["cases"][1]["batch"] == 10
    bench_run = run.BenchRun.from_json(document)
    assert bench_run.multi
    assert bench_run.description == "fake cases"


def test_harness_runs_a_single_benchmark_module() -> None:
    module = ModuleType("bench_fake")
    module.BENCHMARK = _counting_benchmark("single", 1)  # type: ignore[attr-defined]
    settings = harness.Settings(repeats=1, min_time=0.001)
    document = harness.run_module("fake", module, settings, lambda message: None)
    assert document["schema"] == 1
    assert document["benchmark"] == "single"
    assert not run.BenchRun.from_json(document).multi
