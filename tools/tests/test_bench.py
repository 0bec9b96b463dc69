"""The benchmark runner's own logic, on fake results: no venv, no timing."""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
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


# -- load benchmarks (httpserver): wrk, CPU accounting, report ----------------------


def _load_package() -> Any:
    """tools/bench/benchmarks as a package under a private name (relative imports)."""
    name = "squall_bench_benchmarks"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name,
            BENCH_DIR / "benchmarks" / "__init__.py",
            submodule_search_locations=[str(BENCH_DIR / "benchmarks")],
        )
        assert spec is not None
        assert spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{name}.bench_httpserver")


httpbench = _load_package()

#: What wrk 4.1.0 printed with the benchmark's script, against a server
#: answering 404 (the summary line is the script's).
WRK_404_OUTPUT = """\
Running 1s test @ http://127.0.0.1:8765/nonexistent
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   837.11us  552.69us   9.20ms   93.75%
    Req/Sec     2.36k   308.92     2.87k    60.00%
  2352 requests in 1.00s, 1.17MB read
  Non-2xx or 3xx responses: 2352
Requests/sec:   2351.52
Transfer/sec:      1.17MB
squall-bench-summary {"requests": 2352, "duration_us": 1000203, "bytes": 1223225, \
"errors": {"connect": 0, "read": 0, "write": 0, "status": 2352, "timeout": 0}, \
"latency_us": {"mean": 837.1, "p50": 734, "p99": 2075, "max": 9201}}
"""

WRK_OK_OUTPUT = """\
Running 3s test @ http://127.0.0.1:45801/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   432.29us  153.74us   2.87ms   86.33%
    Req/Sec   113.78k     8.23k  122.72k    73.33%
  338493 requests in 3.00s, 24.86MB read
Requests/sec: 112796.63
Transfer/sec:      8.28MB
squall-bench-summary {"requests": 338493, "duration_us": 3000914, "bytes": 26063961, \
"errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}, \
"latency_us": {"mean": 432.3, "p50": 390, "p99": 941, "max": 2870}}
"""


def test_wrk_script_prints_the_summary_mark() -> None:
    assert "done = function(summary, latency, requests)" in httpbench.WRK_SCRIPT
    assert httpbench.SUMMARY_MARK in httpbench.WRK_SCRIPT
    assert "MARK" not in httpbench.WRK_SCRIPT.replace(httpbench.SUMMARY_MARK, "")


def test_parse_wrk_output_reads_the_exact_counts() -> None:
    summary = httpbench.parse_wrk_output(WRK_OK_OUTPUT)
    assert summary.requests == 338493
    assert summary.duration_s == pytest.approx(3.000914)
    assert summary.requests_per_s == pytest.approx(338493 / 3.000914)
    assert summary.latency_us["p99"] == 941
    assert summary.error_text() is None


def test_parse_wrk_output_reports_errors() -> None:
    summary = httpbench.parse_wrk_output(WRK_404_OUTPUT)
    assert summary.errors["status"] == 2352
    assert summary.error_text() == "2352 responses with status >= 400"
    line = WRK_OK_OUTPUT.splitlines()[-1]
    broken = line.replace('"read": 0', '"read": 3').replace('"timeout": 0', '"timeout": 1')
    assert httpbench.parse_wrk_output(broken).error_text() == "3 read errors, 1 timeout errors"
    nothing = line.replace('"requests": 338493', '"requests": 0')
    assert httpbench.parse_wrk_output(nothing).error_text() == "no request completed"


@pytest.mark.parametrize(
    "text",
    [
        "unable to connect to 127.0.0.1:1 Connection refused\n",
        "Requests/sec: 1.0\n",
        httpbench.SUMMARY_MARK + '{"requests": 1, "duration_us": 0, "bytes": 0,'
        ' "errors": {}, "latency_us": {}}\n',
    ],
)
def test_parse_wrk_output_without_a_usable_summary(text: str) -> None:
    with pytest.raises(ValueError, match="wrk"):
        httpbench.parse_wrk_output(text)


def test_wrk_command() -> None:
    command = httpbench.wrk_command("wrk", "http://127.0.0.1:1/", 3, Path("/tmp/s.lua"))
    assert command == [
        "wrk",
        "--threads=1",
        "--connections=50",
        "--duration=3s",
        "--script=/tmp/s.lua",
        "http://127.0.0.1:1/",
    ]


def test_parse_proc_stat_counts_fields_after_the_command_name() -> None:
    # A command name with spaces and parentheses (proc(5): field 2).
    fields = [str(n) for n in range(3, 53)]
    fields[0] = "R"
    fields[14 - 3], fields[15 - 3] = "1234", "56"
    text = "4242 (py (x) y) " + " ".join(fields) + "\n"
    assert httpbench.parse_proc_stat(text) == (1234, 56)


def test_process_cpu_seconds_of_this_process() -> None:
    before = httpbench.process_cpu_seconds(os.getpid())
    sum(range(200_000))
    after = httpbench.process_cpu_seconds(os.getpid())
    assert 0 <= before <= after


def test_rounds_and_their_medians() -> None:
    rounds = [
        httpbench.Round(
            requests=requests, duration_s=2.0, wall_s=2.5, server_cpu_s=cpu, client_cpu_s=0.5
        )
        for requests, cpu in ((20_000, 2.0), (10_000, 2.0), (30_000, 2.4))
    ]
    assert rounds[0].requests_per_s == pytest.approx(10_000)
    assert rounds[0].cpu_per_request_s == pytest.approx(1e-4)
    assert rounds[0].server_cpu_use == pytest.approx(0.8)
    assert rounds[0].client_cpu_use == pytest.approx(0.2)
    summary = httpbench.summarize(rounds)
    assert summary["requests_per_s"] == pytest.approx(10_000)
    assert summary["cpu_per_request_s"] == pytest.approx(1e-4)
    assert summary["requests"] == 60_000
    assert len(summary["rounds"]) == 3


def test_server_env_chooses_the_parser_and_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQUALL_NO_EXTENSIONS", "1")
    by_impl = {spec.impl: spec for spec in httpbench.IMPLEMENTATIONS}
    monkeypatch.setenv("SQUALL_HTTP1_PARSER", "python")
    env = httpbench.server_env(by_impl["squall-httptools"], "uvloop")
    assert "SQUALL_NO_EXTENSIONS" not in env
    assert env["SQUALL_HTTP1_PARSER"] == "httptools"
    assert env["SQUALL_IOLOOP"] == "uvloop"
    env = httpbench.server_env(by_impl["squall-c"], "uvloop")
    assert "SQUALL_NO_EXTENSIONS" not in env
    assert "SQUALL_HTTP1_PARSER" not in env  # the default choice: the compiled one
    env = httpbench.server_env(by_impl["squall-python"], "asyncio")
    assert env["SQUALL_NO_EXTENSIONS"] == "1"
    assert env["SQUALL_IOLOOP"] == "asyncio"
    assert "SQUALL_IOLOOP" not in httpbench.server_env(by_impl["tornado"], "uvloop")


def test_load_settings_are_bounded() -> None:
    # Whole seconds (wrk's -d), and a full run of 2 loops x 5 servers stays
    # well under the 3 minutes the issue allows.
    for quick in (True, False):
        load = httpbench.LoadSettings.for_mode(quick)
        seconds = load.warmup_s + load.rounds * load.duration_s
        assert seconds * len(httpbench.LOOPS) * len(httpbench.IMPLEMENTATIONS) < 150


def test_check_response_rejects_a_server_that_closes_or_errs() -> None:
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        do_GET = _handler_writing(b"Hello, world")  # HTTP/1.0 first: closes

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(httpbench.ServerError, match="HTTP version 10"):
            httpbench.check_response(server.server_address[1])
        Handler.protocol_version = "HTTP/1.1"
        httpbench.check_response(server.server_address[1])  # keep-alive, right body
        Handler.do_GET = _handler_writing(b"Hello, World")  # type: ignore[method-assign]
        with pytest.raises(httpbench.ServerError, match="body b'Hello, World'"):
            httpbench.check_response(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _handler_writing(body: bytes) -> Any:
    def do_get(self: Any) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    return do_get


def test_server_process_reports_a_library_it_cannot_import() -> None:
    if importlib.util.find_spec("tornado") is not None:
        pytest.skip("tornado is installed here")
    spec = next(s for s in httpbench.IMPLEMENTATIONS if s.impl == "tornado")
    server = httpbench.ServerProcess(spec, "asyncio", None)
    try:
        server.wait_ready()
        assert server.skip is not None
        assert "tornado" in server.skip
    finally:
        server.stop()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
@pytest.mark.skipif(importlib.util.find_spec("httptools") is None, reason="no httptools")
def test_smoke_one_server_under_wrk_for_one_second(tmp_path: Path) -> None:
    # Bounded: one server, no warm-up worth the name, one round of 1 s.  Only
    # that the figures exist, never how fast.
    script = tmp_path / "summary.lua"
    script.write_text(httpbench.WRK_SCRIPT, encoding="utf-8")
    driver = httpbench.Driver(wrk=shutil.which("wrk"), script=script)
    raw = next(s for s in httpbench.IMPLEMENTATIONS if s.impl == "raw")
    settings = httpbench.LoadSettings(warmup_s=1, duration_s=1, rounds=1)
    messages: list[str] = []
    case = httpbench.measure_case("asyncio", [raw], settings, driver, None, messages.append)
    (result,) = case["results"]
    assert "failure" not in result, result
    assert result["requests"] > 0
    assert result["cpu_per_request_s"] > 0
    assert result["requests_per_s"] > 0


# -- run.py: load documents ---------------------------------------------------------


def _load_result(impl: str, rps: float | None, cpu: float | None, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"impl": impl, "label": impl.replace("-", " "), "version": "1.0"}
    if rps is not None:
        doc.update(
            requests_per_s=rps, cpu_per_request_s=cpu, server_cpu_use=0.99, client_cpu_use=0.3
        )
    doc.update(extra)
    return doc


def load_document(squall_cpu: float = 25e-6) -> dict[str, Any]:
    return {
        "schema": 3,
        "kind": "load",
        "benchmark": "httpserver",
        "description": "hello world under wrk",
        "unit": "request",
        "python": "3.11.7 (CPython)",
        "method": "wrk, 50 connections",
        "implementations": [
            {"impl": "squall-python", "label": "squall python", "description": "ours"},
            {"impl": "tornado", "label": "tornado", "description": "theirs"},
            {"impl": "raw", "label": "raw", "description": "the ceiling"},
        ],
        "baselines": ["tornado", "raw"],
        "targets": [
            {
                "case": "asyncio",
                "impl": "squall-python",
                "peer": "tornado",
                "min_ratio": 4.0,
                "text": "4x tornado",
            },
            {
                "case": "uvloop",
                "impl": "squall-python",
                "peer": "raw",
                "min_ratio": 0.5,
                "text": "half the ceiling",
            },
        ],
        "cases": [
            {
                "name": "asyncio",
                "results": [
                    _load_result("squall-python", 1 / squall_cpu, squall_cpu),
                    _load_result("tornado", 1e4, 1e-4),
                    _load_result("raw", 1e5, 1e-5),
                ],
            },
            {
                "name": "uvloop",
                "results": [
                    _load_result("squall-python", None, None, failure="wrk: 3 read\nerrors"),
                    _load_result("tornado", None, None, skipped="ImportError('tornado')"),
                    _load_result("raw", 1e5, 1e-5),
                ],
            },
        ],
    }


def test_read_run_tells_load_documents_apart() -> None:
    assert isinstance(run.read_run(load_document()), run.LoadRun)
    assert isinstance(run.read_run(fake_document(squall=1.0)), run.BenchRun)
    assert run.read_run(fake_document(squall=1.0)).complete


def test_load_run_ratios() -> None:
    load_run = run.LoadRun.from_json(load_document())
    assert not load_run.complete
    case = load_run.cases[0]
    squall = case.result("squall-python")
    assert case.ratios(squall, "tornado") == pytest.approx((4.0, 4.0))
    assert case.ratios(squall, "raw") == pytest.approx((0.4, 0.4))
    uvloop = load_run.cases[1]
    assert uvloop.ratios(uvloop.result("squall-python"), "raw") is None
    assert uvloop.ratios(uvloop.result("raw"), "tornado") is None


def test_load_table_rows_and_failures() -> None:
    table = run.render_load_table(run.LoadRun.from_json(load_document()))
    lines = table.splitlines()
    assert len({len(line) for line in lines}) == 1  # columns aligned
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[3:] == [
        "requests/s",
        "CPU time/request",
        "server CPU",
        "wrk CPU",
        "vs tornado (CPU)",
        "vs tornado (req/s)",
        "vs raw (CPU)",
        "vs raw (req/s)",
    ]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert cells[0][:9] == [
        "asyncio",
        "squall python",
        "1.0",
        "40,000",
        "25 us",
        "99%",
        "30%",
        "4.00x",
        "4.00x",
    ]
    assert cells[1][7:9] == ["-", "-"]  # tornado against itself
    assert cells[3][3] == "FAILED: wrk: 3 read errors"
    assert cells[4][3] == "skipped: ImportError('tornado')"


@pytest.mark.parametrize(
    ("squall_cpu", "verdict"),
    [
        (25e-6, "met (4.00x by CPU time per request; 4.00x by requests/s)"),
        (50e-6, "MISSED (2.00x by CPU time per request, 50% short; 2.00x by requests/s)"),
    ],
)
def test_load_target_lines(squall_cpu: float, verdict: str) -> None:
    lines = run.load_target_lines(run.LoadRun.from_json(load_document(squall_cpu)))
    assert lines == [
        f"Target: squall python on asyncio >= 4.00x tornado (4x tornado): {verdict}",
        "Target: squall python on uvloop >= 0.50x raw (half the ceiling):"
        " not measured (a server failed or was skipped)",
    ]


def test_load_warnings_name_unsaturated_servers() -> None:
    document = load_document()
    document["cases"][0]["results"][2].update(server_cpu_use=0.8, client_cpu_use=0.97)
    document["cases"][0]["results"][1].update(server_cpu_use=0.5, client_cpu_use=0.2)
    document["cases"][1]["results"][2].update(server_cpu_use=0.7, client_cpu_use=0.2)
    assert run.load_warnings(run.LoadRun.from_json(document)) == [
        "Note: servers below 90% of their CPU (other processes took the CPUs), whose"
        " requests/s understate them (compare CPU time per request): tornado on asyncio 50%,"
        " raw on uvloop 70%.",
        "Note: servers below 90% of their CPU (wrk saturated its CPU), whose requests/s"
        " understate them (compare CPU time per request): raw on asyncio 80%.",
    ]


def test_load_section() -> None:
    ctx = run.RunContext(
        command="python tools/bench/run.py httpserver",
        date="2025-01-01 00:00 UTC",
        machine="Some CPU",
        squall_source="git abc1234",
        packages="tornado 6.6.1",
    )
    section = run.run_section(run.LoadRun.from_json(load_document()), ctx)
    assert section.startswith("## httpserver\n\nHello world under wrk.\n")
    assert "- Method: wrk, 50 connections" in section
    assert "  - raw: the ceiling" in section
    assert "| asyncio    | squall python" in section
    assert "Target: squall python on asyncio >= 4.00x tornado (4x tornado): met" in section


def test_harness_runs_a_load_module() -> None:
    module = ModuleType("bench_fake")
    seen: list[bool] = []

    def run_load(settings: Any, log: Any) -> dict[str, Any]:
        seen.append(settings.quick)
        return load_document()

    module.run_load = run_load  # type: ignore[attr-defined]
    document = harness.run_module("fake", module, harness.Settings.for_mode(True), print)
    assert document["kind"] == "load"
    assert seen == [True]
    assert not harness.Settings.for_mode(False).quick


def test_missing_tools_and_their_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run.shutil, "which", lambda command: None)
    assert run.missing_tools(["template", "httpserver"]) == {"wrk": "wrk"}
    assert not run.ensure_system_tools(["httpserver"], install=False)
    assert run.ensure_system_tools(["template"], install=False)
    monkeypatch.setattr(run.shutil, "which", lambda command: f"/usr/bin/{command}")
    assert run.missing_tools(["httpserver"]) == {}


def test_pinned_restores_affinity_and_priority() -> None:
    affinity = os.sched_getaffinity(0)
    priority = os.getpriority(os.PRIO_PROCESS, 0)
    cpu = min(affinity)
    with httpbench.pinned(cpu) as prioritized:
        assert os.sched_getaffinity(0) == {cpu}
        if prioritized:
            assert os.getpriority(os.PRIO_PROCESS, 0) <= httpbench.NICE
    assert os.sched_getaffinity(0) == affinity
    assert os.getpriority(os.PRIO_PROCESS, 0) == priority


def test_server_process_that_does_not_start_is_an_error() -> None:
    bogus = httpbench.ServerSpec(impl="bogus", label="bogus", distribution="x", server="bogus")
    server = httpbench.ServerProcess(bogus, "asyncio", None)
    try:
        with pytest.raises(httpbench.ServerError, match="did not start: usage"):
            server.wait_ready(timeout=30)
    finally:
        server.stop()


# -- httpclient: nginx, the clients' runs, accounting, report ----------------------

clientbench = importlib.import_module("squall_bench_benchmarks.bench_httpclient")
clients = importlib.import_module("squall_bench_benchmarks._clients")

STUB_STATUS = """\
Active connections: 3
server accepts handled requests
 16 16 5031
Reading: 0 Writing: 1 Waiting: 2
"""


def test_parse_stub_status() -> None:
    status = clientbench.parse_stub_status(STUB_STATUS)
    assert status == clientbench.NginxStatus(active=3, accepts=16, handled=16, requests=5031)
    with pytest.raises(ValueError, match="stub_status"):
        clientbench.parse_stub_status("<html>404 Not Found</html>")


def test_nginx_config_keeps_connections_alive(tmp_path: Path) -> None:
    conf = clientbench.nginx_config(tmp_path, 8123)
    assert "listen 127.0.0.1:8123" in conf
    assert "keepalive_requests 10000000;" in conf
    assert "master_process off;" in conf
    assert "access_log off;" in conf
    assert f"root {tmp_path}/www;" in conf
    assert "stub_status;" in conf
    assert "{" in conf
    assert "{{" not in conf
    body = clientbench.file_body()
    assert len(body) == clientbench.FILE_SIZE == 1024
    assert len(set(body)) > 1


def _run_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "requests": 5000,
        "ok": 5000,
        "errors": 0,
        "samples": [],
        "wall_s": 0.5,
        "utime_s": 0.4,
        "stime_s": 0.05,
    }
    doc.update(changes)
    return doc


def test_run_result_accounting() -> None:
    result = clientbench.RunResult.from_json(_run_doc())
    assert result.cpu_s == pytest.approx(0.45)
    assert result.error_text() is None
    failed = clientbench.RunResult.from_json(
        _run_doc(ok=4998, errors=2, samples=["status 404, 150 bytes", "TimeoutError()"])
    )
    assert failed.error_text() == ("2 of 5000 GETs failed: status 404, 150 bytes; TimeoutError()")
    lost = clientbench.RunResult.from_json(_run_doc(ok=4990))
    assert lost.error_text() == "4990 good GETs of 5000, 0 failed"


def test_client_rounds_and_their_medians() -> None:
    rounds = [
        clientbench.Round(
            requests=5000,
            wall_s=wall,
            client_cpu_s=cpu,
            nginx_cpu_s=0.1,
            nginx_wall_s=wall + 0.01,
            connections=connections,
        )
        for wall, cpu, connections in ((0.5, 0.5, 0), (1.0, 0.9, 50), (0.4, 0.4, 0))
    ]
    assert rounds[0].requests_per_s == pytest.approx(10_000)
    assert rounds[0].cpu_per_request_s == pytest.approx(1e-4)
    assert rounds[1].client_cpu_use == pytest.approx(0.9)
    assert rounds[0].nginx_cpu_use == pytest.approx(0.1 / 0.51)
    summary = clientbench.summarize(rounds)
    assert summary["requests_per_s"] == pytest.approx(10_000)
    assert summary["cpu_per_request_s"] == pytest.approx(1e-4)
    # run.py's keys: the measured process (the client), then the load peer.
    assert summary["server_cpu_use"] == pytest.approx(1.0)
    assert summary["client_cpu_use"] == pytest.approx(0.1 / 0.51)
    assert summary["connections"] == 0
    assert summary["requests"] == 15_000
    result = run.LoadResult.from_json({"impl": "x", "label": "x", "version": "1", **summary})
    assert result.measured
    assert result.connections == 0


def test_client_settings_follow_the_issue() -> None:
    full = clientbench.ClientSettings.for_mode(False)
    assert (full.requests, clientbench.CONCURRENCY) == (5_000, 50)
    assert full.rounds >= 3
    quick = clientbench.ClientSettings.for_mode(True)
    assert quick.requests * quick.rounds <= 1000
    assert {t.impl for t in clientbench.TARGETS} == {"squall-simple"}
    assert {t.peer for t in clientbench.TARGETS} == {"aiohttp"}
    assert {t.case for t in clientbench.TARGETS} == set(clientbench.LOOPS)
    impls = {spec.impl for spec in clientbench.IMPLEMENTATIONS}
    assert impls == set(clients.IMPLS)
    assert set(clientbench.BASELINES) <= impls


def test_client_env_drops_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://proxy:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    env = clientbench.client_env()
    assert "http_proxy" not in env
    assert "HTTPS_PROXY" not in env
    assert env["PATH"] == os.environ["PATH"]


def test_run_gets_counts_every_response_and_bounds_concurrency() -> None:
    import asyncio

    in_flight = 0
    most = 0
    calls = 0

    async def fetch() -> tuple[int, int]:
        nonlocal in_flight, most, calls
        calls += 1
        number = calls
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        if number % 100 == 0:
            raise ConnectionResetError("reset")
        if number % 150 == 0:
            return 200, 10
        if number % 170 == 0:
            return 503, 1024
        return 200, 1024

    result = asyncio.run(clients.run_gets(fetch, 1000, 50, 1024))
    assert calls == 1000
    assert most == 50
    # 10 resets (every 100th call), 3 short bodies (150, 450, 750: 300, 600 and
    # 900 are resets), 5 statuses 503 (170, 340, 510, 680, 850).
    assert result["errors"] == 10 + 3 + 5
    assert result["ok"] == 1000 - result["errors"]
    assert len(result["samples"]) == clients.SAMPLES
    assert result["samples"][0] == "ConnectionResetError('reset')"
    assert "status 200, 10 bytes" in result["samples"]
    small = asyncio.run(clients.run_gets(fetch, 3, 50, 1024))
    assert small["requests"] == 3


def test_client_process_usage() -> None:
    assert clients.main(["bogus", "asyncio", "http://x/", "1", "1"]) == 2
    assert clients.main(["aiohttp", "asyncio"]) == 2


def _client_load_document() -> dict[str, Any]:
    document = load_document()
    document.update(benchmark="httpclient", subject="client", load_peer="nginx")
    document["baselines"] = ["tornado"]
    for case in document["cases"]:
        for result in case["results"]:
            if "requests_per_s" in result:
                result["connections"] = 5000.0 if result["impl"] == "tornado" else 0.0
    return document


def test_client_load_table_names_its_columns() -> None:
    load_run = run.LoadRun.from_json(_client_load_document())
    assert (load_run.subject, load_run.load_peer) == ("client", "nginx")
    lines = run.render_load_table(load_run).splitlines()
    assert len({len(line) for line in lines}) == 1  # columns aligned, failures too
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[3:] == [
        "requests/s",
        "CPU time/request",
        "client CPU",
        "nginx CPU",
        "connections",
        "vs tornado (CPU)",
        "vs tornado (req/s)",
    ]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert cells[0][7:] == ["0", "4.00x", "4.00x"]
    assert cells[1][7] == "5,000"
    assert cells[3][3] == "FAILED: wrk: 3 read errors"
    # The server benchmark's table has no connections column.
    server_header = run.render_load_table(run.LoadRun.from_json(load_document()))
    assert "connections" not in server_header.splitlines()[0]
    assert "| server CPU | wrk CPU |" in server_header


def test_client_load_section_and_notes() -> None:
    document = _client_load_document()
    document["cases"][0]["results"][2].update(server_cpu_use=0.7, client_cpu_use=0.95)
    load_run = run.LoadRun.from_json(document)
    ctx = run.RunContext(
        command="python tools/bench/run.py httpclient",
        date="2025-01-01 00:00 UTC",
        machine="Some CPU",
        squall_source="git abc1234",
        packages="aiohttp 3",
    )
    section = run.run_section(load_run, ctx)
    assert "- Clients:" in section
    assert "- Servers:" not in section
    assert "over this client's" in section
    assert "a saturated nginx" in section
    assert "Note: clients below 90% of their CPU (nginx saturated its CPU)" in section
    lines = run.load_target_lines(load_run)
    assert lines[1].endswith("not measured (a client failed or was skipped)")
    assert run.load_ratios_note(run.LoadRun.from_json(load_document())) == run.LOAD_RATIOS_NOTE


def test_httpclient_needs_nginx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run.shutil, "which", lambda command: None)
    assert run.missing_tools(["httpclient"]) == {"nginx": "nginx-light"}


def _nginx() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )


@pytest.mark.skipif(_nginx() is None, reason="nginx is not installed")
def test_smoke_squall_simple_client_against_nginx() -> None:
    # Bounded: 100 GETs; only that the figures exist, never how fast.
    nginx = clientbench.Nginx(_nginx(), None)
    try:
        nginx.check()
        settings = clientbench.ClientSettings(requests=100, warmup=100, rounds=1)
        spec = next(s for s in clientbench.IMPLEMENTATIONS if s.impl == "squall-simple")
        messages: list[str] = []
        case = clientbench.measure_case("asyncio", [spec], settings, nginx, None, messages.append)
    finally:
        nginx.stop()
    (result,) = case["results"]
    assert "failure" not in result, (result, messages)
    assert result["requests"] == 100
    assert result["cpu_per_request_s"] > 0
    # The warm-up opened all 50 connections; they are kept alive.
    assert result["connections"] == 0


def test_client_rounds_stop_at_the_budget() -> None:
    settings = clientbench.ClientSettings(requests=5000, warmup=100, rounds=3, budget_s=10.0)

    def rounds(*walls: float) -> list[Any]:
        return [
            clientbench.Round(
                requests=5000,
                wall_s=wall,
                client_cpu_s=wall,
                nginx_cpu_s=0.0,
                nginx_wall_s=wall,
                connections=0,
            )
            for wall in walls
        ]

    assert settings.another_round([])
    assert settings.another_round(rounds(0.5, 0.6))
    assert not settings.another_round(rounds(0.5, 0.6, 0.5))
    assert not settings.another_round(rounds(12.0))
    assert settings.another_round(rounds(6.0))
    assert not settings.another_round(rounds(6.0, 6.0))
    quick = clientbench.ClientSettings.for_mode(True)
    assert quick.another_round(rounds(100.0)) is False  # one round anyway
    text = clientbench.method_text(settings, "nginx/1.22.1", (0, 1), True)
    assert "fewer, at least one, once its runs took 10 s" in text
    assert "(status 200, 1024 bytes)" in text
    assert "{" not in text
    assert "inf" not in clientbench.method_text(quick, "nginx", (None, None), False)
