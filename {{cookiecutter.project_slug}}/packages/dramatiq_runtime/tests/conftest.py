"""Fixtures that run the real thing: Redis at REDIS_URL and a ``manage.py worker`` process.

The suite runs the test project (``tests/project``) on PostgreSQL; ``tests.isolation`` gave
this run its own broker namespace, cache prefix and database before the settings loaded.
"""

import pytest
import redis
from django.conf import settings
from django.db import connection
from dramatiq_runtime.ping import send_pings, wait_for_answers
from dramatiq_runtime.testing import test_database_url

from .helpers import delete_keys, start_worker, stop_worker

# The runtime's own plugin, as a project's conftest uses it: tracked rows written and the
# tracking connection closed before the test database is dropped.
pytest_plugins = ["dramatiq_runtime.pytest_plugin"]
CONFIG = settings.CONFIG
# The modules whose tests run for tens of seconds (real workers killed, thousands of
# messages, scheduler take-overs): collected first, so that pytest-xdist spreads them
# over its workers instead of leaving one to run alone at the end.
LONG = ("test_tracking.py", "test_faults.py", "test_scheduler.py", "test_security.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.path.name not in LONG)  # stable: order kept


@pytest.fixture(scope="session")
def redis_client():
    """The Redis server at REDIS_URL (no database chosen): the tests need a real one."""
    client = redis.Redis.from_url(CONFIG.cache_default.redis_url)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"no Redis at REDIS_URL={CONFIG.cache_default.redis_url!r}: {exc}")
    yield client
    # This run's keys only: its namespaces (with the -silent and -metrics ones of single
    # tests) in the broker and results databases, its prefix in the cache's.
    patterns = {
        CONFIG.cache_default.effective_db: f"{CONFIG.cache_default.key_prefix}:*",
        CONFIG.tasks.broker_db: f"{CONFIG.tasks.namespace}*",
        CONFIG.tasks.results_db: f"{CONFIG.tasks.namespace}-results:*",
    }
    server = CONFIG.cache_default.redis_url
    for db, pattern in patterns.items():
        delete_keys(redis.Redis.from_url(server, db=db), pattern)


@pytest.fixture(scope="session")
def shared_db(django_db_setup):
    """Environment for a subprocess to use the test database (AdminMiddleware writes)."""
    return {"DATABASE_URL": test_database_url()}


@pytest.fixture(scope="session")
def postgresql(django_db_setup):
    """For tests of PostgreSQL's own behaviour: the suite runs on it (DATABASE_URL)."""
    if connection.vendor != "postgresql":
        pytest.fail(
            f"this test needs PostgreSQL, the database is {connection.vendor}: "
            "point DATABASE_URL at one (postgres://user@host:5432/name)"
        )


@pytest.fixture(scope="session")
def worker(redis_client, shared_db, django_db_blocker):
    """One real worker for the session, on every queue, sharing the test database."""
    process = start_worker(env=shared_db)
    queues = CONFIG.tasks.dramatiq.queues
    with django_db_blocker.unblock():
        token, _ = send_pings(queues)
        answers = wait_for_answers(token, queues, timeout=60)
    if len(answers) < len(queues):
        output = stop_worker(process)
        pytest.fail(
            f"the worker did not answer on {sorted(set(queues) - set(answers))}:\n{output}"
        )
    yield process
    stop_worker(process)
