"""A project's actors: one example per queue, as a default bake has, and a chore."""

import logging
import os

import dramatiq
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from dramatiq_runtime.on_commit import actor


def record_run(queue: str, payload: dict) -> dict:
    run = {"queue": queue, "payload": payload, "pid": os.getpid()}
    cache.set(f"tasks:last_run:{queue}", run, 3600)
    return run


@actor(queue_name="critical", store_results=True)
def critical_example(payload: dict) -> dict:
    return record_run("critical", payload)


@actor(queue_name="default", store_results=True)
def default_example(payload: dict) -> dict:
    return record_run("default", payload)


@actor(queue_name="background", store_results=True)
def background_example(payload: dict) -> dict:
    return record_run("background", payload)


@dramatiq.actor(queue_name="default", max_retries=1)
def clear_expired_sessions() -> None:
    call_command("clearsessions")


logger = logging.getLogger(__name__)


@dramatiq.actor(queue_name="default", max_retries=2, min_backoff=100, max_backoff=100)
def traced_work(token: str, failures: int = 0) -> None:
    """Touches the database and Redis (each a child span when traced), logs a line, and
    fails its first ``failures`` attempts."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.add(f"traced:{token}:attempts", 0, 600)
    attempt = cache.incr(f"traced:{token}:attempts")
    logger.info("traced_work %s attempt %s", token, attempt)
    if attempt <= failures:
        raise RuntimeError(f"attempt {attempt} of {token} fails on purpose")
    cache.set(f"traced:{token}:done", attempt, 600)
