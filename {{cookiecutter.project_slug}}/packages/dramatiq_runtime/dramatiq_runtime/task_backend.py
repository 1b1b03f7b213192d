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
import logging
import os
import socket
import threading
import traceback
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

import dramatiq
from django.conf import settings
from django.core import checks
from django.utils import timezone
from django.utils.module_loading import import_string
from dramatiq.message import generate_unique_id as dramatiq_message_id
from dramatiq.middleware import CurrentMessage

from . import redis_clients
from .batching import BatchWriter
from .middleware.task_results import on_worker_shutdown, settle_after_retries
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


class Pending(NamedTuple):
    """One result's writes not sent yet, merged: a later field value wins.

    A tuple of JSON's types: a batch is ``json.dumps`` of a list of them, one string the
    script takes apart inside Redis (per value, redis-py packs an argument in Python).
    """

    result_id: str
    fields: dict[str, str]
    unless_set: dict[str, str]  # HSETNX: the first write wins
    workers: list[str]
    errors: list[str]

    def merged(self, later: "Pending") -> "Pending":
        self.fields.update(later.fields)
        for name, value in later.unless_set.items():
            self.unless_set.setdefault(name, value)
        self.workers.extend(later.workers)
        self.errors.extend(later.errors)
        return self


# One call writes a whole batch: per result, its hash fields (HSET), the fields only the
# first write sets (HSETNX), worker ids and errors appended (RPUSH), every key's TTL
# renewed. ARGV: the namespace, the TTL and the batch (JSON, a list of ``Pending``); the
# keys are the namespace's, as in Dramatiq's own scripts.
WRITE_RESULTS = """
local namespace, ttl = ARGV[1], ARGV[2]
local batch = cjson.decode(ARGV[3])
for _, pending in ipairs(batch) do
  local key = namespace .. ":" .. pending[1]
  local pairs_ = {}
  for name, value in pairs(pending[2]) do
    pairs_[#pairs_ + 1] = name
    pairs_[#pairs_ + 1] = value
  end
  if #pairs_ > 0 then redis.call("HSET", key, unpack(pairs_)) end
  for name, value in pairs(pending[3]) do redis.call("HSETNX", key, name, value) end
  redis.call("PEXPIRE", key, ttl)
  for index, suffix in ipairs({":workers", ":errors"}) do
    local values = pending[3 + index]
    if #values > 0 then
      redis.call("RPUSH", key .. suffix, unpack(values))
      redis.call("PEXPIRE", key .. suffix, ttl)
    end
  end
end
return #batch
"""


class ResultStore:
    """The result records: ``<namespace>:<id>`` (hash), ``:workers`` and ``:errors``.

    Writes are held per process, merged per result, and sent by a ``BatchWriter`` in one
    script call every ``FLUSH_INTERVAL`` s (or ``BATCH`` results), so neither ``enqueue``
    nor a worker waits on Redis for them; a task that starts and ends within one interval
    costs one hash write. Reads flush first, so a process reads its own writes. The status
    ``enqueue`` writes never replaces a worker's (HSETNX): the two flush in either order.
    A write that fails (Redis away) is dropped with a warning: results never fail a task.
    """

    FLUSH_INTERVAL = 0.1  # seconds
    BATCH = 1000

    def __init__(
        self,
        url: str | None,
        namespace: str,
        ttl: int,
        connection: dict[str, Any] | None = None,
    ):
        self.client = redis_clients.client(url, connection) if url else None
        # EVALSHA, loading the script where Redis lacks it (a new master after failover).
        self.write_results = (
            self.client.register_script(WRITE_RESULTS)
            if self.client is not None
            else None
        )
        self.namespace = namespace
        self.ttl = ttl
        self.writer: BatchWriter[str, Pending] = BatchWriter(
            "task-results",
            self._write,
            label="@task results",
            unit="result write(s)",
            merge=Pending.merged,
            batch_size=self.BATCH,
            interval=self.FLUSH_INTERVAL,
        )
        on_worker_shutdown(self.writer.close)

    def keys(self, result_id: str) -> tuple[str, str, str]:
        key = f"{self.namespace}:{result_id}"
        return key, f"{key}:workers", f"{key}:errors"

    def _hold(
        self,
        result_id: str,
        fields: dict[str, str],
        unless_set: dict[str, str] | None = None,
        worker: str | None = None,
        error: str | None = None,
    ) -> None:
        """Hold a write; the dicts are the caller's own, fresh (they are merged into)."""
        if self.client is not None:
            self.writer.hold(
                result_id,
                Pending(
                    result_id,
                    fields,
                    unless_set or {},
                    [worker] if worker else [],
                    [error] if error else [],
                ),
            )

    def _write(self, held: list[Pending]) -> int:
        assert self.write_results is not None
        batch = json.dumps(held, ensure_ascii=False)
        return int(self.write_results(args=[self.namespace, self.ttl, batch]))

    def flush(self) -> None:
        if self.client is not None:
            self.writer.flush()

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

    def finished(
        self, result_id: str, fields: dict[str, str], error: dict | None = None
    ) -> None:
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
        if "spec" not in fields:  # a worker's write came first; the enqueue's is coming
            raise TaskResultDoesNotExist(result_id)
        fields.update(json.loads(fields.pop("spec")))
        return (
            fields,
            [w.decode() for w in worker_ids],
            [json.loads(e) for e in error_list],
        )


_STORES: dict[tuple[str | None, str, int], ResultStore] = {}
_STORES_LOCK = threading.Lock()


def result_store(
    url: str | None,
    namespace: str,
    ttl: int,
    connection: dict[str, Any] | None = None,
) -> ResultStore:
    """The process's store for this configuration.

    Django makes a backend per thread (``task_backends`` is thread-local): one store each
    would mean a flush thread and a Redis pool per worker thread, and batches of one. A
    process has one ``connection`` (the config's), so it is not part of the key.
    """
    with _STORES_LOCK:
        key = (url, namespace, ttl)
        if key not in _STORES:
            _STORES[key] = ResultStore(url, namespace, ttl, connection)
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
            options.get("url"),
            options.get("namespace", "tasks"),
            options["result_ttl"],
            options.get("connection"),
        )

    def validate_task(self, task) -> None:
        if self.queues and task.queue_name not in self.queues:
            raise InvalidTaskError(
                f"queue {task.queue_name!r} of task {task.module_path!r} is not a "
                f"configured queue ({', '.join(sorted(self.queues))})"
            )
        super().validate_task(task)

    def enqueue(self, task, args, kwargs) -> TaskResult:
        """Send the task; its definition (or ``using()``) was validated already.

        The result's id is its message's (the admin's tracking row has the same id).
        """
        now = timezone.now()
        result = TaskResult(
            task=task,
            id=dramatiq_message_id(),
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
        # run_task's message, built as Actor.message() builds it, on the task's queue.
        message: dramatiq.Message = dramatiq.Message(
            queue_name=task.queue_name,
            actor_name=run_task.actor_name,
            args=(
                self.alias,
                task.module_path,
                result.id,
                result.args,
                result.kwargs,
                enqueued_at,
            ),
            kwargs={},
            options={},
            message_id=result.id,
        )
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

    A failure is listed in the result at once; once Retries has decided (``TaskResults``),
    a failure it retries leaves the result READY and the last one leaves it FAILED. The
    exception goes on to Dramatiq either way.
    """
    store = backend(alias).store
    message = CurrentMessage.get_current_message()
    attempt = (message.options.get("retries", 0) if message else 0) + 1
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
        store.finished(
            result_id,
            {},
            error={
                "exception_class_path": error.exception_class_path,
                "traceback": error.traceback,
            },
        )
        result.errors.append(error)

        def settle(retried: bool) -> None:
            status = TaskResultStatus.READY if retried else TaskResultStatus.FAILED
            fields = {"status": status}
            if not retried:
                finished = timezone.now()
                fields["finished_at"] = finished.isoformat()
                object.__setattr__(result, "finished_at", finished)
            store.finished(result_id, fields)
            object.__setattr__(result, "status", status)
            task_finished.send(DramatiqBackend, task_result=result)

        if message is None:  # called outside a worker (a test): nothing retries it
            settle(False)
        else:
            settle_after_retries(settle)
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
