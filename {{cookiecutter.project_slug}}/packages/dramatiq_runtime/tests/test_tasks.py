"""Tasks through real Redis to a real worker, on every queue; each Redis role in its own DB."""

import os
import time
import uuid

import dramatiq
import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from dramatiq_runtime.config.names import example_actor_name
from dramatiq_runtime.probes import find_user, forget, trace
from dramatiq_runtime.results_off import ResultsOff
from dramatiq_runtime.testing import wait_until
from testproject.tasks import actors

CONFIG = settings.CONFIG
QUEUES = CONFIG.tasks.dramatiq.queues
pytestmark = pytest.mark.django_db(transaction=True)


def example_actor(queue):
    return getattr(actors, example_actor_name(queue))


def wait_for_run(queue, token, timeout=30):
    def this_run():
        run = cache.get(f"tasks:last_run:{queue}")
        return run if run and run["payload"].get("token") == token else None

    return wait_until(this_run, timeout, f"a worker ran the {queue!r} example")


@pytest.mark.parametrize("queue", QUEUES)
def test_each_queue_is_processed_by_a_worker(worker, queue):
    token = uuid.uuid4().hex
    message = example_actor(queue).send({"token": token})
    assert message.queue_name == queue
    run = wait_for_run(queue, token)
    assert run["queue"] == queue
    assert run["pid"] != os.getpid()  # a worker process did it, not us


def test_results_follow_use_results(worker):
    message = example_actor("default").send({"token": uuid.uuid4().hex})
    if CONFIG.tasks.use_results:
        result = message.get_result(block=True, timeout=30_000)
        assert result["queue"] == "default"
        assert result["payload"] == message.args[0]
    else:  # the actor stores (and imports) all the same; reading says results are off
        wait_for_run("default", message.args[0]["token"])
        with pytest.raises(ResultsOff, match="results are off"):
            message.get_result(block=True, timeout=30_000)


def test_each_redis_role_keeps_to_its_own_database(worker, redis_client):
    token = uuid.uuid4().hex
    message = example_actor("default").send({"token": token})
    wait_for_run("default", token)
    if CONFIG.tasks.use_results:
        message.get_result(block=True, timeout=30_000)
    roles = {
        "cache": (
            CONFIG.cache_default.effective_db,
            f"{CONFIG.cache_default.key_prefix}:1:*",  # Django's prefix:version:key
        ),
        "broker": (CONFIG.tasks.broker_db, f"{CONFIG.tasks.namespace}:*"),
    }
    if CONFIG.tasks.use_results:
        roles["results"] = (
            CONFIG.tasks.results_db,
            f"{CONFIG.tasks.namespace}-results:*",
        )
    url = CONFIG.cache_default.redis_url
    for role, (own_db, pattern) in roles.items():
        found = {
            db: sum(1 for _ in redis.Redis.from_url(url, db=db).scan_iter(pattern))
            for db in range(16)
        }
        assert found[own_db] > 0, f"no {role} keys ({pattern}) in its DB {own_db}"
        elsewhere = {db: count for db, count in found.items() if count and db != own_db}
        assert not elsewhere, (
            f"{role} keys ({pattern}) outside DB {own_db}: {elsewhere}"
        )


def test_cache_uses_its_own_database(redis_client):
    key = f"probe-{uuid.uuid4().hex}"
    cache.set(key, "value", 30)
    own = redis.Redis.from_url(CONFIG.cache_default.url)
    assert [k for k in own.scan_iter(f"*{key}")], (
        "the cache key is not in the cache's DB"
    )
    cache.delete(key)


def test_admin_follows_admin_enabled(worker):
    from django.contrib import admin
    from django_dramatiq.models import Task

    middleware = [type(m).__name__ for m in dramatiq.get_broker().middleware]
    token = uuid.uuid4().hex
    message = example_actor("default").send({"token": token})
    wait_for_run("default", token)

    def tracked() -> bool:
        return Task.tasks.filter(id=message.message_id, status="done").exists()

    if CONFIG.tasks.dramatiq.admin_enabled:
        assert admin.site.is_registered(Task)
        assert "TaskTracking" in middleware and "AdminMiddleware" not in middleware
        wait_until(tracked, 10, "the task's row written by the worker's tracker")
    else:
        assert not admin.site.is_registered(Task)
        assert "TaskTracking" not in middleware and "AdminMiddleware" not in middleware
        time.sleep(1)  # more than the tracker's flush interval, were it on
        assert not tracked()  # test_switches runs the same with the admin off


def test_send_on_commit_sends_after_the_commit_and_never_after_a_rollback(
    worker, django_user_model
):
    """The task about a new row finds it: sent at commit, not while the row is unseen."""
    run = uuid.uuid4().hex
    with transaction.atomic():
        django_user_model.objects.create(username=f"committed-{run}")
        find_user.send_on_commit(run, f"committed-{run}")
        time.sleep(1)  # a worker would have run a plain send by now
        assert trace(run, "found") == {} and trace(run, "missing") == {}
    wait_until(lambda: trace(run, "found"), 30, "the task run after the commit")
    assert trace(run, "missing") == {}

    with pytest.raises(RuntimeError), transaction.atomic():
        django_user_model.objects.create(username=f"rolled-back-{run}")
        find_user.send_with_options_on_commit(args=(run, f"rolled-back-{run}"))
        raise RuntimeError("roll back")
    find_user.send(run, "sent-after")  # behind it on the queue, were it sent
    wait_until(lambda: "sent-after" in trace(run, "missing"), 30, "the later task")
    assert f"rolled-back-{run}" not in {**trace(run, "found"), **trace(run, "missing")}
    forget(run)
