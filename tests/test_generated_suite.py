"""The generated project's own test suite passes for representative option sets."""

import pytest

from conftest import PYTHON, run

OPTION_SETS = [
    {"database": "sqlite", "use_results": True, "admin_enabled": True},
    {"database": "postgresql", "use_results": False, "admin_enabled": False},
    {"database": "sqlite", "use_results": False, "admin_enabled": False,
     "prometheus_enabled": True},
    {"database": "postgresql", "use_results": True, "admin_enabled": True,
     "task_queues": "emails,default,reports", "redis_cache_db": 7, "redis_broker_db": 5,
     "redis_results_db": 6},
]


@pytest.mark.parametrize(
    ("index", "answers"),
    list(enumerate(OPTION_SETS)),
    ids=["-".join(map(str, a.values())) for a in OPTION_SETS],
)
def test_generated_suite_passes(bake, index, answers):
    project = bake(**answers)
    env = {}
    if answers["database"] == "postgresql":
        # The machine's PostgreSQL; pytest-django creates test_<name>, one per option set.
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/template_suite_{index}"
    proc = run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env)
    assert " passed" in proc.stdout and "failed" not in proc.stdout, proc.stdout
