"""Django's task API on Dramatiq: ``@task`` functions run by the same workers and queues.

``enqueue`` sends one message to the ``run_task`` actor on the task's queue (a configured
one), naming the function by its import path; ``run_after`` becomes a Dramatiq delay. The
workers' retries, time limit and age limit apply as to any actor. Each result is a small
record in the broker's Redis (a hash, plus lists of worker ids and errors), written at
enqueue, at each attempt's start and at its end, and kept ``result_ttl`` ms: it serves
``get_result`` with every option set (Dramatiq's results keep no status or traceback and
are off with ``use_results``; the tracking rows exist only with ``admin_enabled``).

Dramatiq has no message priorities on Redis, so ``priority`` is refused (give urgent work a
queue with workers of its own). Coroutine functions run in the worker thread through
asgiref's ``async_to_sync``, as Django runs them.
"""

import atexit
import json
import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dramatiq
import redis
from django.conf import settings
from django.core import checks
from django.utils import timezone
from django.utils.module_loading import import_string

from .middleware.task_results import current_message, on_worker_shutdown
from .task_api import (
    BaseTaskBackend,
    InvalidTaskError,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)

logger = logging.getLogger(__name__)
HOST = socket.gethostname()
READY, RUNNING = TaskResultStatus.READY.value, TaskResultStatus.RUNNING.value
TIMES = ("enqueued_at", "started_at", "last_attempted_at", "finished_at")


@dataclass
class Pending:
    """One result's writes not sent yet, merged: a later field value wins."""

    fields: dict[str, str] = field(default_factory=dict)
    unless_set: dict[str, str] = field(default_factory=dict)  # HSETNX: first write wins
    workers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class ResultStore:
    """The result records: ``<namespace>:<id>`` (hash), ``:workers`` and ``:errors``.

    Writes are held per process, merged per result, and sent by a thread in one pipeline
    every ``FLUSH_INTERVAL`` s (or ``BATCH`` results), so neither ``enqueue`` nor a worker
    waits on Redis for them; a task that starts and ends within one interval costs one
    hash write. Reads flush first, so a process reads its own writes. The status
    ``enqueue`` writes never replaces a worker's (HSETNX): the two flush in either order.
    A write that fails (Redis away) is dropped with a warning: results never fail a task.
    """

    FLUSH_INTERVAL = 0.1  # seconds
    BATCH = 1000

    def __init__(self, url: str | None, namespace: str, ttl: int):
        self.client = redis.Redis.from_url(url) if url else None
        self.namespace = namespace
        self.ttl = ttl
        self._pid = 0
        on_worker_shutdown(self.flush)

    def _ensure_process(self) -> None:
        """Fresh state for this process (a forked worker must not share its parent's)."""
        if self._pid == os.getpid():
            return
        with _STORES_LOCK:
            if self._pid != os.getpid():
                self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._pending: dict[str, Pending] = {}
        self._wake = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="task-results", daemon=True
        )
        self._thread.start()
        atexit.register(self.flush)
        self._pid = os.getpid()  # last: other threads use the store once this is set

    def keys(self, result_id: str) -> tuple[str, str, str]:
        key = f"{self.namespace}:{result_id}"
        return key, f"{key}:workers", f"{key}:errors"

    def _hold(
        self, result_id: str, fields=None, unless_set=None, worker=None, error=None
    ):
        if self.client is None:
            return
        self._ensure_process()
        with self._lock:
            pending = self._pending.get(result_id)
            if pending is None:
                pending = self._pending[result_id] = Pending()
            if fields:
                pending.fields.update(fields)
            if unless_set:
                for name, value in unless_set.items():
                    pending.unless_set.setdefault(name, value)
            if worker:
                pending.workers.append(worker)
            if error:
                pending.errors.append(error)
            full = len(self._pending) >= self.BATCH
        if full:
            self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.FLUSH_INTERVAL)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        if self.client is None or self._pid != os.getpid():
            return
        with self._flushing:
            with self._lock:
                held, self._pending = self._pending, {}
            if not held:
                return
            pipe = self.client.pipeline(transaction=False)
            for result_id, pending in held.items():
                key, workers, errors = self.keys(result_id)
                if pending.fields:
                    pipe.hset(key, mapping={k: v for k, v in pending.fields.items()})
                for name, value in pending.unless_set.items():
                    pipe.hsetnx(key, name, value)
                pipe.pexpire(key, self.ttl)
                if pending.workers:
                    pipe.rpush(workers, *pending.workers)
                    pipe.pexpire(workers, self.ttl)
                if pending.errors:
                    pipe.rpush(errors, *pending.errors)
                    pipe.pexpire(errors, self.ttl)
            try:
                pipe.execute()
            except redis.RedisError as exc:
                logger.warning("Dropped %d @task result write(s): %r", len(held), exc)

    def ready(self, result_id: str, spec: str) -> None:
        """Enqueued: what was asked (a JSON ``spec``); READY unless a worker said more."""
        self._hold(result_id, {"spec": spec}, {"status": READY})

    def running(self, result_id: str, now: str) -> None:
        self._hold(
            result_id,
            {"status": RUNNING, "last_attempted_at": now},
            {"started_at": now},
            worker=worker_id(),
        )

    def finished(self, result_id: str, fields: dict[str, str], error=None) -> None:
        self._hold(result_id, fields, error=json.dumps(error) if error else None)

    def read(self, result_id: str) -> tuple[dict[str, Any], list[str], list[dict]]:
        if self.client is None:
            raise TaskResultDoesNotExist(result_id)
        self.flush()
        key, workers, errors = self.keys(result_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(key)
        pipe.lrange(workers, 0, -1)
        pipe.lrange(errors, 0, -1)
        record, worker_ids, error_list = pipe.execute()
        if not record:
            raise TaskResultDoesNotExist(result_id)
        fields: dict[str, Any] = {k.decode(): v.decode() for k, v in record.items()}
        if (
            "spec" not in fields
        ):  # a worker's write arrived, the enqueue's is on its way
            raise TaskResultDoesNotExist(result_id)
        fields.update(json.loads(fields.pop("spec")))
        return (
            fields,
            [w.decode() for w in worker_ids],
            [json.loads(e) for e in error_list],
        )


_STORES: dict[tuple[str | None, str, int], ResultStore] = {}
_STORES_LOCK = threading.Lock()


def result_store(url: str | None, namespace: str, ttl: int) -> ResultStore:
    """The process's store for this configuration.

    Django makes a backend per thread (``task_backends`` is thread-local): one store each
    would mean a flush thread and a Redis pool per worker thread, and batches of one.
    """
    with _STORES_LOCK:
        key = (url, namespace, ttl)
        if key not in _STORES:
            _STORES[key] = ResultStore(url, namespace, ttl)
        return _STORES[key]


class DramatiqBackend(BaseTaskBackend):
    """``TASKS`` backend: ``@task`` functions on the configured Dramatiq queues."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = False  # Dramatiq's Redis broker has no message priorities

    def __init__(self, alias: str, params: dict):
        super().__init__(alias, params)
        options = params.get("OPTIONS", {})
        self.store = result_store(
            options.get("url"), options.get("namespace", "tasks"), options["result_ttl"]
        )

    def validate_task(self, task) -> None:
        if self.queues and task.queue_name not in self.queues:
            raise InvalidTaskError(
                f"queue {task.queue_name!r} of task {task.module_path!r} is not a "
                f"configured queue ({', '.join(sorted(self.queues))})"
            )
        super().validate_task(task)

    def enqueue(self, task, args, kwargs) -> TaskResult:
        """Send the task; its definition (or ``using()``) was validated already."""
        now = timezone.now()
        result = TaskResult(
            task=task,
            id=uuid.uuid4().hex,
            status=TaskResultStatus.READY,
            enqueued_at=now,
            started_at=None,
            finished_at=None,
            last_attempted_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        enqueued_at = now.isoformat()
        self.store.ready(result.id, spec(task.module_path, result, enqueued_at))
        message = run_task.message(
            self.alias,
            task.module_path,
            result.id,
            result.args,
            result.kwargs,
            enqueued_at,
        )
        if task.queue_name != message.queue_name:
            message = message.copy(queue_name=task.queue_name)
        delay = None
        if task.run_after is not None:
            delay = max(0, int((task.run_after - now).total_seconds() * 1000))
        run_task.broker.enqueue(message, delay=delay)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        fields, worker_ids, errors = self.store.read(result_id)
        times = {
            name: datetime.fromisoformat(fields[name]) if name in fields else None
            for name in TIMES
        }
        result = TaskResult(
            task=import_string(fields["task"]),
            id=result_id,
            status=TaskResultStatus(fields["status"]),
            args=fields["args"],
            kwargs=fields["kwargs"],
            backend=self.alias,
            errors=[TaskError(**error) for error in errors],
            worker_ids=worker_ids,
            **times,
        )
        if "return_value" in fields:
            object.__setattr__(
                result, "_return_value", json.loads(fields["return_value"])
            )
        return result

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        if not settings.CONFIG.tasks.enabled:
            yield checks.Warning(
                "tasks are disabled (TASKS_ENABLED=false): @task results are not kept",
                id="tasks.W001",
            )


def backend(alias: str) -> DramatiqBackend:
    found = task_backends[alias]
    assert isinstance(found, DramatiqBackend), f"TASKS[{alias!r}] is not ours"
    return found


def worker_id() -> str:
    return f"{HOST}:{os.getpid()}"


def spec(path: str, result, enqueued_at: str) -> str:
    """What a result's record keeps of the task, as one JSON field."""
    return json.dumps(
        {
            "task": path,
            "args": result.args,
            "kwargs": result.kwargs,
            "enqueued_at": enqueued_at,
        }
    )


def attempt_of(message) -> tuple[int, bool]:
    """This attempt's number, and whether a failure now is the last (as Retries decides)."""
    options = message.options if message is not None else {}
    retries = options.get("retries", 0)
    max_retries = (
        options.get("max_retries") or settings.CONFIG.tasks.dramatiq.max_retries
    )
    return retries + 1, retries >= max_retries


@dramatiq.actor(queue_name="default")
def run_task(
    alias: str,
    path: str,
    result_id: str,
    args: list,
    kwargs: dict,
    enqueued_at: str,
) -> None:
    """Run the ``@task`` at ``path`` for the result ``result_id`` (on any configured queue).

    A failure the worker's Retries will retry leaves the result READY with its error
    listed; the last one leaves it FAILED. The exception goes on to Dramatiq either way.
    """
    store = backend(alias).store
    attempt, last = attempt_of(current_message())
    now = timezone.now()
    store.running(result_id, now.isoformat())
    task = import_string(path)
    result = TaskResult(
        task=task,
        id=result_id,
        status=TaskResultStatus.RUNNING,
        enqueued_at=datetime.fromisoformat(enqueued_at),
        started_at=now,
        finished_at=None,
        last_attempted_at=now,
        args=args,
        kwargs=kwargs,
        backend=alias,
        errors=[],
        # Earlier attempts' ids are in the record; the count is what the context needs.
        worker_ids=[*([""] * (attempt - 1)), worker_id()],
    )
    task_started.send(DramatiqBackend, task_result=result)
    try:
        if task.takes_context:
            value = task.call(TaskContext(task_result=result), *args, **kwargs)
        else:
            value = task.call(*args, **kwargs)
        encoded = json.dumps(value)  # a return value must be JSON, as for any backend
    except BaseException as exc:
        error = TaskError(
            exception_class_path=f"{type(exc).__module__}.{type(exc).__qualname__}",
            traceback="".join(traceback.format_exception(exc)),
        )
        status = TaskResultStatus.FAILED if last else TaskResultStatus.READY
        fields = {"status": status}
        if last:
            fields["finished_at"] = timezone.now().isoformat()
        store.finished(
            result_id,
            fields,
            error={
                "exception_class_path": error.exception_class_path,
                "traceback": error.traceback,
            },
        )
        object.__setattr__(result, "status", status)
        result.errors.append(error)
        task_finished.send(DramatiqBackend, task_result=result)
        raise
    finished = timezone.now()
    store.finished(
        result_id,
        {
            "status": TaskResultStatus.SUCCESSFUL,
            "finished_at": finished.isoformat(),
            "return_value": encoded,
        },
    )
    object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
    object.__setattr__(result, "finished_at", finished)
    object.__setattr__(result, "_return_value", value)
    task_finished.send(DramatiqBackend, task_result=result)
