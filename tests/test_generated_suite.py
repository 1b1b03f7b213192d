"""The generated project's own test suite passes for representative option sets."""

import uuid

import pytest

from conftest import BIN, PYTHON, run

OPTION_SETS = [
    {"database": "sqlite", "use_results": True, "admin_enabled": True},
    {"database": "postgresql", "use_results": False, "admin_enabled": False},
    {
        "database": "sqlite",
        "use_results": False,
        "admin_enabled": False,
        "prometheus_enabled": True,
        "use_scheduler": False,
    },
    {
        "database": "postgresql",
        "use_results": True,
        "admin_enabled": True,
        "use_opentelemetry": True,
        "use_sentry": True,
        "task_queues": "emails,default,reports",
        "redis_cache_db": 7,
        "redis_broker_db": 5,
        "redis_results_db": 6,
    },
]


# This option set runs in a venv made from the project's uv.lock (`uv sync --locked`);
# the others in the template's test venv.
LOCKED = 3


@pytest.mark.parametrize(
    ("index", "answers"),
    list(enumerate(OPTION_SETS)),
    ids=["-".join(map(str, a.values())) for a in OPTION_SETS],
)
def test_generated_suite_passes(bake, index, answers):
    project = bake(**answers)
    # Option sets run in parallel on one Redis: each gets its own broker namespace and
    # cache prefix, so their workers never take each other's messages.
    run_id = f"suite{index}-{uuid.uuid4().hex[:8]}"
    env = {"TASKS_NAMESPACE": run_id, "CACHE_KEY_PREFIX": f"{run_id}-cache"}
    if answers["database"] == "postgresql":
        # The machine's PostgreSQL; pytest-django creates test_<name>, one per option set.
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/template_suite_{index}"
    python = PYTHON
    if index == LOCKED:
        # The locked set, as the image and the generated CI install it.
        run([BIN / "uv", "sync", "--locked", "--quiet"], cwd=project, timeout=600)
        python = project / ".venv" / "bin" / "python"
        # The generated CI's type check, on what the lock installs (extras left out).
        run([python, "-m", "mypy", "--no-incremental"], cwd=project, timeout=600)
    # 150-300 s on a loaded CI machine: the default 300 s cut one run short.
    suite = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    proc = run(suite, cwd=project, env=env, timeout=900)
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary
    print(f"{answers}{' (from uv.lock)' if index == LOCKED else ''}: {summary}")


def test_djangos_deprecations_fail_the_generated_suite(bake):
    """What the next Django releases remove is an error in a project's tests, not a
    warning nobody reads: a test that meets one fails."""
    project = bake()
    (project / "tests" / "test_deprecated.py").write_text(
        "import warnings\n\n"
        "from django.utils.deprecation import RemovedAfterNextVersionWarning as After\n"
        "from django.utils.deprecation import RemovedInNextVersionWarning as Next\n\n\n"
        "def test_next():\n"
        "    warnings.warn('gone in the next release', Next)\n\n\n"
        "def test_after_next():\n"
        "    warnings.warn('gone in the one after', After)\n"
    )
    suite = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_deprecated.py"]
    proc = run(suite, cwd=project, check=False, timeout=300)
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 1 and "2 failed" in summary, proc.stdout[-3000:]
    assert "gone in the next release" in proc.stdout and "gone in the one after" in proc.stdout
