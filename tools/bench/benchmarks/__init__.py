"""squall's benchmarks, one module per benchmark (``bench_<name>.py``).

Each module defines ``BENCHMARK``, a :class:`~._harness.Benchmark` naming the
implementations it compares, or ``BENCHMARKS`` and ``DESCRIPTION`` for several
cases reported together.  The modules import the peers (tornado, jinja2,
...), so they run only inside ``tools/bench/.venv``, started by
``tools/bench/run.py`` as ``python -m benchmarks._harness NAME``.
"""
