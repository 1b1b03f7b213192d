"""This run's own Redis keys and test database, set before the settings load.

A pytest plugin (``-p tests.isolation`` in pyproject.toml): pytest-django loads the
settings before any conftest.py, so a conftest would be too late. What the environment
already sets is kept; every process the tests start inherits these.
"""

import os
import uuid

RUN = uuid.uuid4().hex[:8]
# pytest-xdist's workers inherit the controller's values: each needs keys of its own.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _own(name: str, default: str) -> None:
    value = os.environ.get(name) or default
    os.environ[name] = f"{value}-{WORKER}" if WORKER else value


_own("TASKS_NAMESPACE", f"runtime-tests-{RUN}")
_own("CACHE_KEY_PREFIX", f"runtime-tests-{RUN}-cache")
# pytest-django creates and drops test_<name>: a name per run, so two runs on one server
# never drop each other's.
os.environ.setdefault(
    "DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/runtime_tests_{RUN}"
)
