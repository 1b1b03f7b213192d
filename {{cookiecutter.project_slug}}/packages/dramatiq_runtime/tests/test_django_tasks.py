"""Django's task API (``@task``) on the real workers and Redis: results, failures, delays.

The session's worker runs every configured queue; each test enqueues through
``TASKS["default"]`` (``DramatiqBackend``) and reads results back with ``get_result``.
"""

import importlib.util
import json
import os
import threading
import uuid
from datetime import timedelta
from types import SimpleNamespace

import django
import dramatiq
import pytest
from django.http import JsonResponse
from django.test import override_settings
from django.urls import path
from django.utils import timezone
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage, Retries
from dramatiq_runtime.middleware.task_results import TaskResults
from dramatiq_runtime.middleware.tracking import flush_tracking
from dramatiq_runtime.task_api import (
    InvalidTaskError,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)
from dramatiq_runtime.task_backend import ResultStore, run_task, spec, worker_id
from dramatiq_runtime.testing import wait_until
from testproject.tasks.signal_log import signal_log_key

from .task_functions import add, add_async, add_later, attempt_and_id, refuse

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def tracked_enqueues_written():
    """This test's enqueues tracked while it may still reach the database."""
    yield
    flush_tracking()


def finished(task, result_id, timeout=30):
    def done():
        result = task.get_result(result_id)
        return result if result.is_finished else None

    return wait_until(done, timeout, f"{task.name} {result_id} finished")


def test_enqueue_and_get_result_round_trip(worker):
    result = add.enqueue(2, 3)
    assert result.status == TaskResultStatus.READY and result.enqueued_at is not None
    done = finished(add, result.id)
    print(
        f"\n@task round trip: {done.status} {done.return_value!r} in "
        f"{(done.finished_at - done.enqueued_at).total_seconds():.3f} s"
    )
    assert done.status == TaskResultStatus.SUCCESSFUL
    assert done.return_value == 5
    assert done.enqueued_at <= done.started_at <= done.finished_at
    assert done.attempts == 1 and done.errors == []
    assert (done.args, done.kwargs) == ([2, 3], {})


def test_a_failing_task_ends_failed_with_its_error(worker, settings):
    result = refuse.enqueue("no thanks")
    max_retries = settings.CONFIG.tasks.dramatiq.max_retries
    done = finished(refuse, result.id, timeout=90)  # the workers' retries run first
    error = done.errors[-1]
    print(
        f"\n@task failure: {done.status} after {done.attempts} attempts, "
        f"{error.exception_class_path}"
    )
    assert done.status == TaskResultStatus.FAILED
    assert done.attempts == max_retries + 1 and len(done.errors) == max_retries + 1
    assert error.exception_class_path == "tests.task_functions.Refused"
    assert "no thanks" in error.traceback and "Traceback" in error.traceback
    with pytest.raises(ValueError, match="Task failed"):
        _ = done.return_value


def test_the_signals_are_djangos_own_on_6_and_the_backports_on_5_2():
    if django.VERSION >= (6, 0):
        from django.tasks import signals

        # Django's own task framework, and no backport beside it (the lock's markers).
        assert importlib.util.find_spec("django_tasks") is None
    else:
        from django_tasks import signals
    assert (task_enqueued, task_started, task_finished) == (
        signals.task_enqueued,
        signals.task_started,
        signals.task_finished,
    )


def signals_for(result_id: str, client) -> list[dict]:
    """What the test project's receivers (``testproject.tasks.signal_log``) recorded."""
    entries = client.lrange(signal_log_key(), 0, -1)
    return [entry for entry in map(json.loads, entries) if entry["id"] == result_id]


@pytest.mark.parametrize(
    ("function", "args", "final"),
    [(add, (2, 3), "SUCCESSFUL"), (refuse, ("no",), "FAILED")],
    ids=["succeeds", "fails"],
)
def test_receivers_see_enqueued_here_and_started_and_finished_in_the_worker(
    worker, settings, function, args, final
):
    """Django's task signals (Django's own on 6, the backport's on 5.2) reach receivers:
    ``task_enqueued`` in the process that enqueues, the other two in the worker's. An
    attempt that will be retried finishes back in READY; only the last one is final."""
    attempts = (
        1 if final == "SUCCESSFUL" else settings.CONFIG.tasks.dramatiq.max_retries + 1
    )
    expected = [("task_enqueued", "READY")]
    for attempt in range(1, attempts + 1):
        ending = final if attempt == attempts else "READY"
        expected += [("task_started", "RUNNING"), ("task_finished", ending)]
    client = dramatiq.get_broker().client
    result = function.enqueue(*args)
    finished(function, result.id, timeout=90)

    def all_of_them():
        seen = signals_for(result.id, client)
        return seen if len(seen) >= len(expected) else None

    seen = wait_until(all_of_them, 10, f"{len(expected)} signals for {result.id}")
    print(
        f"\nDjango {django.get_version()}, {function.name}: "
        + ", ".join(f"{e['signal']} {e['status']} (pid {e['pid']})" for e in seen)
    )
    assert [(entry["signal"], entry["status"]) for entry in seen] == expected
    assert seen[0]["pid"] == os.getpid()
    assert os.getpid() not in {entry["pid"] for entry in seen[1:]}
    senders = {entry["sender"] for entry in seen}
    assert senders == {"dramatiq_runtime.task_backend.DramatiqBackend"}


def test_a_deferred_task_runs_after_run_after_not_before(worker):
    run_after = timezone.now() + timedelta(seconds=3)
    result = add.using(run_after=run_after).enqueue(1, 1)
    early = add.get_result(result.id)
    assert early.status == TaskResultStatus.READY and early.attempts == 0
    done = finished(add, result.id)
    print(
        f"\n@task deferred 3 s: started {(done.started_at - run_after).total_seconds():+.2f} s "
        "after run_after"
    )
    assert done.started_at >= run_after
    assert done.return_value == 2


def test_a_task_on_an_unknown_queue_is_refused_naming_it_and_the_configured_ones(
    settings,
):
    queues = ", ".join(sorted(settings.CONFIG.tasks.dramatiq.queues))
    with pytest.raises(InvalidTaskError) as caught:
        add.using(queue_name="nope").enqueue(1, 2)
    print(f"\n@task unknown queue: {caught.value}")
    assert "queue 'nope'" in str(caught.value) and f"({queues})" in str(caught.value)


def test_priority_is_refused_dramatiq_has_none_on_redis():
    with pytest.raises(InvalidTaskError, match="priority"):
        add.using(priority=10)


def test_get_result_of_an_unknown_id_raises():
    with pytest.raises(TaskResultDoesNotExist):
        add.get_result("no-such-id")


def test_context_and_async_tasks_run(worker):
    result = attempt_and_id.enqueue()
    assert finished(attempt_and_id, result.id).return_value == [1, result.id]
    result = add_async.enqueue(20, 22)
    assert finished(add_async, result.id).return_value == 42


def enqueue_view(request):
    return JsonResponse({"id": add.enqueue(4, 5).id})


urlpatterns = [path("enqueue-task/", enqueue_view)]


@override_settings(ROOT_URLCONF=__name__)
def test_the_same_task_from_a_web_request_and_from_another_task(worker, client):
    from_web = client.get("/enqueue-task/").json()["id"]
    assert finished(add, from_web).return_value == 9
    outer = add_later.enqueue(6, 7)
    inner_id = finished(add_later, outer.id).return_value
    assert finished(add, inner_id).return_value == 13


def test_the_backend_is_ours_with_the_configured_queues(settings):
    backend = task_backends["default"]
    assert type(backend).__name__ == "DramatiqBackend"
    assert backend.queues == set(settings.CONFIG.tasks.dramatiq.queues)


def test_threads_share_the_process_result_store(worker):
    """Django makes a backend per thread; their results go through one store and thread."""
    results, stores = [], []

    def enqueue_here():
        stores.append(task_backends["default"].store)
        results.append(add.enqueue(1, 1))

    threads = [threading.Thread(target=enqueue_here) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(store) for store in stores}) == 1
    assert stores[0] is task_backends["default"].store
    flushers = [t for t in threading.enumerate() if t.name == "task-results"]
    assert len(flushers) == 1
    for result in results:
        assert finished(add, result.id).return_value == 2


def settle_on_stub(stack, options=None):
    """Run ``refuse`` once through a worker whose stack is ``stack`` (a StubBroker of
    its own: no Redis queue shared with the session worker); its result, when settled.
    """
    broker = StubBroker(middleware=[TaskResults(), CurrentMessage(), *stack])
    broker.emit_after("process_boot")
    on_stub = dramatiq.actor(
        actor_name=run_task.actor_name, queue_name="default", broker=broker
    )
    actor = on_stub(run_task.fn)
    backend = task_backends["default"]
    result_id = uuid.uuid4().hex
    enqueued_at = timezone.now().isoformat()
    asked = SimpleNamespace(args=["no"], kwargs={})
    backend.store.ready(result_id, spec(refuse.module_path, asked, enqueued_at))
    actor.send_with_options(
        args=("default", refuse.module_path, result_id, ["no"], {}, enqueued_at),
        **(options or {}),
    )
    worker = Worker(broker, worker_timeout=50)
    worker.start()
    try:
        broker.join("default", fail_fast=False, timeout=30_000)
        worker.join()
    finally:
        worker.stop()
    return finished(refuse, result_id, timeout=10)


@pytest.mark.parametrize(
    ("case", "attempts"),
    [
        ("retried twice", 3),
        ("no Retries in the stack", 1),
        ("retry_when says no", 1),
        ("the message's max_retries=0", 1),
    ],
)
def test_a_failure_is_final_when_retries_gives_it_up_whatever_the_settings(
    case, attempts
):
    """FAILED after the attempt Retries did not send again, READY before: what Dramatiq
    decided, not what the settings predict (the test profile's max_retries is 3)."""

    def retries(**options) -> Retries:
        return Retries(min_backoff=10, max_backoff=10, **options)

    stack, options = {
        "retried twice": ([retries(max_retries=2)], {}),
        "no Retries in the stack": ([], {}),
        "retry_when says no": ([retries(retry_when=lambda n, exc: False)], {}),
        "the message's max_retries=0": ([retries(max_retries=5)], {"max_retries": 0}),
    }[case]
    done = settle_on_stub(stack, options)
    assert done.status == TaskResultStatus.FAILED, case
    assert done.attempts == attempts and len(done.errors) == attempts
    assert done.finished_at is not None


def test_a_result_record_takes_each_write_in_any_order_and_expires(settings):
    """The record's hash, worker ids and errors, written by one script call per flush:
    the enqueue's READY flushed after the worker's RUNNING leaves RUNNING, the first
    start time stays, lists append, and every key carries the TTL."""
    options = settings.TASKS["default"]["OPTIONS"]
    store = ResultStore(
        options["url"], f"records-{uuid.uuid4().hex[:8]}", 60_000, options["connection"]
    )
    result_id = uuid.uuid4().hex
    key, workers, errors = store.keys(result_id)
    try:
        store.running(result_id, "2026-12-03T01:00:00+00:00")
        store.finished(result_id, {}, error={"traceback": "first"})
        store.flush()
        store.ready(result_id, json.dumps({"task": "t", "args": [], "kwargs": {}}))
        store.running(result_id, "2026-12-03T02:00:00+00:00")  # the retry
        store.finished(result_id, {"status": "SUCCESSFUL", "return_value": "2"})
        store.flush()
        record = {k.decode(): v.decode() for k, v in store.client.hgetall(key).items()}
        assert record["status"] == "SUCCESSFUL" and record["return_value"] == "2"
        assert record["started_at"] == "2026-12-03T01:00:00+00:00"
        assert record["last_attempted_at"] == "2026-12-03T02:00:00+00:00"
        assert json.loads(record["spec"])["task"] == "t"
        assert [w.decode() for w in store.client.lrange(workers, 0, -1)] == [
            worker_id(),
            worker_id(),
        ]
        assert [json.loads(e) for e in store.client.lrange(errors, 0, -1)] == [
            {"traceback": "first"}
        ]
        assert all(0 < store.client.pttl(k) <= 60_000 for k in (key, workers, errors))
    finally:
        store.writer.close()
        store.client.delete(key, workers, errors)
