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

import json
import os
import socket
import traceback
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import dramatiq
import redis
from django.conf import settings
from django.core import checks
from django.utils import timezone
from django.utils.module_loading import import_string

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

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
TIMES = ("enqueued_at", "started_at", "last_attempted_at", "finished_at")


class ResultStore:
    """The result records: ``<namespace>:<id>`` (hash), ``:workers`` and ``:errors``."""

    def __init__(self, url: str | None, namespace: str, ttl: int):
        self.client = redis.Redis.from_url(url) if url else None
        self.namespace = namespace
        self.ttl = ttl

    def keys(self, result_id: str) -> tuple[str, str, str]:
        key = f"{self.namespace}:{result_id}"
        return key, f"{key}:workers", f"{key}:errors"

    def _write(
        self, result_id: str, fields: dict[str, str], *, worker=None, error=None
    ):
        """One round trip: the fields, an attempt's worker or an error, the expiry."""
        if self.client is None:
            return []
        key, workers, errors = self.keys(result_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(key, mapping={name: value for name, value in fields.items()})
        if worker is not None:
            pipe.hsetnx(key, "started_at", fields["last_attempted_at"])
            pipe.rpush(workers, worker)
            pipe.lrange(workers, 0, -1)
        if error is not None:
            pipe.rpush(errors, json.dumps(error))
        for name in (key, workers, errors):
            pipe.pexpire(name, self.ttl)
        return pipe.execute()

    def ready(self, result_id: str, task, args, kwargs, now: datetime) -> None:
        self._write(
            result_id,
            {
                "task": task.module_path,
                "queue": task.queue_name,
                "backend": task.backend,
                "status": TaskResultStatus.READY,
                "args": json.dumps(args),
                "kwargs": json.dumps(kwargs),
                "enqueued_at": now.isoformat(),
            },
        )

    def running(self, result_id: str, now: datetime) -> list[str]:
        """Mark an attempt started; the worker ids of every attempt so far."""
        fields = {
            "status": TaskResultStatus.RUNNING,
            "last_attempted_at": now.isoformat(),
        }
        replies = self._write(result_id, fields, worker=WORKER_ID)
        return [w.decode() for w in replies[3]] if replies else [WORKER_ID]

    def finished(
        self, result_id: str, status, now: datetime, *, value=None, error=None
    ):
        fields = {"status": status, "finished_at": now.isoformat()}
        if status == TaskResultStatus.SUCCESSFUL:
            fields["return_value"] = json.dumps(value)
        elif status == TaskResultStatus.READY:  # failed, to be retried
            del fields["finished_at"]
        self._write(result_id, fields, error=error)

    def read(self, result_id: str) -> tuple[dict[str, str], list[str], list[dict]]:
        if self.client is None:
            raise TaskResultDoesNotExist(result_id)
        key, workers, errors = self.keys(result_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(key)
        pipe.lrange(workers, 0, -1)
        pipe.lrange(errors, 0, -1)
        record, worker_ids, error_list = pipe.execute()
        if not record:
            raise TaskResultDoesNotExist(result_id)
        fields = {k.decode(): v.decode() for k, v in record.items()}
        return (
            fields,
            [w.decode() for w in worker_ids],
            [json.loads(e) for e in error_list],
        )


class DramatiqBackend(BaseTaskBackend):
    """``TASKS`` backend: ``@task`` functions on the configured Dramatiq queues."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = False  # Dramatiq's Redis broker has no message priorities

    def __init__(self, alias: str, params: dict):
        super().__init__(alias, params)
        options = params.get("OPTIONS", {})
        self.store = ResultStore(
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
        self.validate_task(task)
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
        # The record first: a fast worker's "running" must not be overwritten by it.
        self.store.ready(result.id, task, result.args, result.kwargs, now)
        message = run_task.message(
            self.alias,
            task.module_path,
            result.id,
            result.args,
            result.kwargs,
            now.isoformat(),
        )
        message = message.copy(queue_name=task.queue_name)
        delay = None
        if task.run_after is not None:
            delay = max(0, int((task.run_after - now).total_seconds() * 1000))
        run_task.broker.enqueue(message, delay=delay)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        fields, worker_ids, errors = self.store.read(result_id)
        task = import_string(fields["task"])
        times = {
            name: datetime.fromisoformat(fields[name]) if name in fields else None
            for name in TIMES
        }
        result = TaskResult(
            task=task,
            id=result_id,
            status=TaskResultStatus(fields["status"]),
            args=json.loads(fields["args"]),
            kwargs=json.loads(fields["kwargs"]),
            backend=fields["backend"],
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
    Two writes per attempt, one round trip each: the start and the outcome.
    """
    store = backend(alias).store
    now = timezone.now()
    worker_ids = store.running(result_id, now)
    result = TaskResult(
        task=import_string(path),
        id=result_id,
        status=TaskResultStatus.RUNNING,
        enqueued_at=datetime.fromisoformat(enqueued_at),
        started_at=now if len(worker_ids) == 1 else None,
        finished_at=None,
        last_attempted_at=now,
        args=args,
        kwargs=kwargs,
        backend=alias,
        errors=[],
        worker_ids=worker_ids,
    )
    task = result.task
    task_started.send(DramatiqBackend, task_result=result)
    try:
        if task.takes_context:
            value = task.call(TaskContext(task_result=result), *args, **kwargs)
        else:
            value = task.call(*args, **kwargs)
        json.dumps(value)  # a return value must be JSON, as for any task backend
    except BaseException as exc:
        error = TaskError(
            exception_class_path=f"{type(exc).__module__}.{type(exc).__qualname__}",
            traceback="".join(traceback.format_exception(exc)),
        )
        retried = len(worker_ids) <= settings.CONFIG.tasks.dramatiq.max_retries
        status = TaskResultStatus.READY if retried else TaskResultStatus.FAILED
        store.finished(
            result_id,
            status,
            timezone.now(),
            error={
                "exception_class_path": error.exception_class_path,
                "traceback": error.traceback,
            },
        )
        object.__setattr__(result, "status", status)
        result.errors.append(error)
        task_finished.send(DramatiqBackend, task_result=result)
        raise
    store.finished(result_id, TaskResultStatus.SUCCESSFUL, timezone.now(), value=value)
    object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
    object.__setattr__(result, "finished_at", timezone.now())
    object.__setattr__(result, "_return_value", value)
    task_finished.send(DramatiqBackend, task_result=result)
