"""A project's actors: one example per queue, as a default bake has, and a chore."""

import os

import dramatiq
from django.core.cache import cache
from django.core.management import call_command
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
