"""The benchmark script runs end to end on a tiny count (figures are not judged here)."""

import json

from conftest import PYTHON, TEMPLATE, cookiecutter, run

BENCHMARKS = TEMPLATE / "benchmarks"


def bench(tmp_path, *args):
    """bench.py on a fresh default bake; its results folder."""
    cookiecutter(tmp_path)
    out = tmp_path / "results"
    project = tmp_path / "my_project"
    run([PYTHON, BENCHMARKS / "bench.py", "--project", project, "--out", out, *args], timeout=600)
    return out


def test_benchmark_runs_on_a_tiny_count(tmp_path):
    out = bench(tmp_path, "--tasks", "200", "--sends", "20", "--startups", "2", "--bakes", "1")
    results = json.loads((out / "results.json").read_text())
    for shape in ("1x8", "2x8"):
        runs = results["throughput"][shape]
        assert set(runs) == {
            "bare",
            "admin_off",
            "django_task",
            "tracking_pg",
            "tracking_sqlite",
            "admin_on",
            "celery",
            "sent_off",
            "tracing_1",
            "tracing_100",
        }
        for figures in runs.values():
            assert figures["tasks_per_s"] > 0
            assert figures["rss_mb_per_worker_process"] and figures["uss_mb_per_worker_process"]
    assert set(results["enqueue"]) == {
        "bare",
        "admin_off",
        "django_task",
        "tracking_pg",
        "admin_on",
        "tracing_1",
        "tracing_100",
    }
    assert results["startup"]["settings_ms"] > 0 < results["startup"]["plain_settings_ms"]
    table = (out / "results.md").read_text()
    assert table.count("\n| ") >= 18 and "x |" in table
    assert (out / "throughput.png").read_bytes()[:4] == b"\x89PNG"


def test_the_per_python_workers_mode_runs_on_a_tiny_count(tmp_path):
    """``--only workers`` (what pythons.sh runs on each Python) and its table."""
    out = bench(tmp_path, "--only", "workers", "--worker-runs", "1", "--tasks", "200")
    results = json.loads((out / "workers.json").read_text())
    for side in ("bare", "generated"):
        figures = results["workers"][side]
        assert figures["start_to_first_task_s"] > 0 and figures["rss_mb_per_worker_process"] > 0
    table = run(
        [PYTHON, BENCHMARKS / "pythons.py", out / "workers.json"],
    ).stdout
    # One line per measure (start, RSS, USS, PSS) for the one Python given.
    assert table.count("generated vs bare") == 4 and "(native)" in table
