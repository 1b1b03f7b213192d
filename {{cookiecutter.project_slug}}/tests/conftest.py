"""Fixtures that run the real thing: Redis at REDIS_URL and a ``manage.py worker`` process."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

from {{ cookiecutter.project_slug }}.tasks.middleware.tracking import flush_tracking
from {{ cookiecutter.project_slug }}.tasks.ping import send_pings, wait_for_answers

from .helpers import delete_keys, start_worker, stop_worker

CONFIG = settings.CONFIG


def worker_database_url():
    """DATABASE_URL for the database pytest-django created, for a worker to share."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(name).resolve()}"
    return urlsplit(CONFIG.database_url)._replace(path=f"/{name}").geturl()


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


@pytest.fixture(scope="session", autouse=True)
def tracking_written(django_db_setup, django_db_blocker):
    """This process's tracked enqueues reach the test database before it is dropped."""
    yield
    with django_db_blocker.unblock():
        flush_tracking(close=True)


@pytest.fixture(scope="session")
def shared_db(django_db_setup):
    """Environment for a subprocess to use the test database (AdminMiddleware writes)."""
    return {"DATABASE_URL": worker_database_url()}


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
