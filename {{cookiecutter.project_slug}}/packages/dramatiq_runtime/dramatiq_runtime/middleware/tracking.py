"""Task tracking in batches: every state change, none of the per-task database round trips."""

import logging
import os
import threading
import time
import traceback
from datetime import timedelta
from typing import Any, NamedTuple

import dramatiq
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from ..batching import BatchWriter

logger = logging.getLogger(__name__)

# django_dramatiq's Task statuses (its model is not imported here: settings load this).
ENQUEUED, DELAYED, RUNNING = "enqueued", "delayed", "running"
DONE, FAILED, SKIPPED = "done", "failed", "skipped"


class Change(NamedTuple):
    at: float  # time.time() when it happened
    status: str
    message: Any  # dramatiq Message or MessageProxy; encoded when written


class TaskTracking(Middleware):
    """Record each message's state in django_dramatiq's ``Task`` table, in batches.

    The same states as django_dramatiq's ``AdminMiddleware`` (enqueued, delayed, running,
    done, failed with its traceback, skipped; a retry is the failure followed by a new
    "delayed"), held per process and written by a thread of this middleware: one bulk
    upsert per flush, when ``batch_size`` messages wait or ``flush_interval`` has passed.
    Changes of one message within a batch collapse to the latest; a row only takes a change
    newer than its own (``tasks.task_rows.upsert``), so processes may flush in any order.
    An enqueue is stamped before the message reaches Redis: no worker can record a later
    state with an earlier time.

    Tracking never fails a task: when the database is away the batch is dropped with a
    counted warning (and ``dramatiq_tracking_dropped_total`` when ``metrics``), and
    beyond ``buffer_limit`` held messages new changes are dropped too. What a process holds
    is written when its worker stops, and at interpreter exit (web processes).

    With ``retention`` set, one worker process at a time (a Redis lock beside the broker's
    keys) deletes rows unchanged for longer, every ``prune_interval``.

    Parameters:
      batch_size(int): Messages written per statement.
      flush_interval(int): Milliseconds a change waits at most before it is written.
      buffer_limit(int): Messages held unwritten per process at most.
      retention(int): Milliseconds a row is kept after its last change (None: forever).
      prune_interval(int): Milliseconds between two retention passes.
      prune_batch(int): Rows deleted per statement.
      metrics(bool): Count dropped changes in a Prometheus counter.
    """

    def __init__(
        self,
        *,
        batch_size: int = 500,
        flush_interval: int = 250,
        buffer_limit: int = 50_000,
        retention: int | None = None,
        prune_interval: int = 600_000,
        prune_batch: int = 1000,
        metrics: bool = False,
    ) -> None:
        self.retention = retention
        self.prune_interval = prune_interval
        self.prune_batch = prune_batch
        self._dropped_counter: Any = None
        self._local = threading.local()
        self._next_prune = time.monotonic() + prune_interval / 1000
        self._prune_lock: tuple[Any, str] | None = None
        self.writer: BatchWriter[str, Change] = BatchWriter(
            "task-tracking",
            self._write,
            label="Task tracking",
            unit="state change(s)",
            merge=lambda held, new: new if new.at >= held.at else held,
            batch_size=batch_size,
            interval=flush_interval / 1000,
            limit=buffer_limit,
            on_drop=self._count_dropped if metrics else None,
            chores=self._chores,
            thread_done=self._discard_connection,
        )

    @property
    def dropped(self) -> int:
        return self.writer.dropped

    # -- Dramatiq's hooks --------------------------------------------------------------

    def after_worker_boot(self, broker, worker) -> None:
        client = getattr(broker, "client", None)
        if self.retention and client is not None:
            self._prune_lock = (client, f"{broker.namespace}:__tracking-prune__")
        self.writer.start()  # now, not at the first change: retention passes run too

    def before_enqueue(self, broker, message, delay) -> None:
        self._local.enqueued_at = time.time()

    def after_enqueue(self, broker, message, delay) -> None:
        at = getattr(self._local, "enqueued_at", None) or time.time()
        self._local.enqueued_at = None
        self._record(at, DELAYED if delay else ENQUEUED, message)

    def before_process_message(self, broker, message) -> None:
        self._record(time.time(), RUNNING, message)

    def after_skip_message(self, broker, message) -> None:
        self._record(time.time(), SKIPPED, message)

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is None:
            self._record(time.time(), DONE, message)
            return
        # As AdminMiddleware: the admin shows the traceback from the message's options.
        message.options["traceback"] = "".join(
            traceback.format_exception(exception, limit=30)
        )
        self._record(time.time(), FAILED, message)

    def after_worker_shutdown(self, broker, worker) -> None:
        self.close()

    # -- the buffer ----------------------------------------------------------------------

    def _record(self, at: float, status: str, message) -> None:
        self.writer.hold(message.message_id, Change(at, status, message))

    def _chores(self) -> None:
        if self._prune_lock and time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self.prune_interval / 1000
            self.prune()

    def flush(self) -> int:
        """Write what this process holds; how many messages were written."""
        return self.writer.flush()

    def close(self) -> None:
        """Stop the thread and write what is left (a stopping worker, an exiting process)."""
        self.writer.close()
        self._discard_connection()

    def _count_dropped(self, count: int) -> None:
        # Made on first use, never at boot: prometheus_client fixes its value class when
        # first imported, and Dramatiq's Prometheus middleware (whose after_process_boot
        # runs after ours) must set its multiprocess folder first.
        if self._dropped_counter is None:
            import prometheus_client

            self._dropped_counter = prometheus_client.Counter(
                "dramatiq_tracking_dropped_total",
                "Task state changes dropped by the tracker (database away, buffer full).",
                registry=None,
            )
        self._dropped_counter.inc(count)

    # -- the database --------------------------------------------------------------------

    @staticmethod
    def _write(changes: list[Change]) -> int:
        """One upsert, on a connection checked first and with no query log kept.

        Checked as Django checks a request's (``close_if_unusable_or_obsolete``, with
        CONN_HEALTH_CHECKS): a connection a database restart broke is replaced before
        the batch, not after losing it. With DEBUG on, Django keeps each statement's SQL
        (every row's message here) in the connection's query log: about 1 KB per task in
        a long-running worker, so the writer's entries are cleared (unless a test
        captures queries).
        """
        from django.db import connections
        from django_dramatiq.models import DATABASE_LABEL

        from ..task_rows import Row, upsert

        connection = connections[DATABASE_LABEL]
        if not connection.in_atomic_block:  # a caller's transaction is left alone
            connection.close_if_unusable_or_obsolete()
        try:
            return upsert(
                Row(
                    id=change.message.message_id,
                    status=change.status,
                    created_at=change.message.message_timestamp / 1000,
                    updated_at=change.at,
                    message_data=change.message.encode(),
                    actor_name=change.message.actor_name,
                    queue_name=q_name(change.message.queue_name),
                )
                for change in changes
            )
        finally:
            if not connection.force_debug_cursor:
                connection.queries_log.clear()

    @staticmethod
    def _discard_connection() -> None:
        """Close this thread's connection: a broken one is then not reused."""
        from django.db import connections
        from django_dramatiq.models import DATABASE_LABEL

        try:
            connections[DATABASE_LABEL].close()
        except Exception as exc:
            logger.debug("Closing the tracking connection failed: %r", exc)

    def prune(self) -> int:
        """Delete rows older than the retention, if this process gets the pass's lock."""
        if not self.retention or not self._prune_lock:
            return 0
        client, key = self._prune_lock
        try:
            if not client.set(key, os.getpid(), nx=True, px=self.prune_interval):
                return 0  # another worker has this pass
            from ..task_rows import prune

            deleted = prune(timedelta(milliseconds=self.retention), self.prune_batch)
        except Exception as exc:
            logger.warning("Task retention pass failed: %r", exc)
            self._discard_connection()
            return 0
        if deleted:
            logger.info("Task retention deleted %d row(s).", deleted)
        return deleted


def flush_tracking(broker=None, *, close: bool = False) -> int:
    """Write the state changes this process holds now (tests and shells; workers flush
    by themselves every ``flush_interval``). How many messages were written.

    ``close`` also stops the writer thread and closes its connections, e.g. before a
    test database is dropped.
    """
    broker = broker or dramatiq.get_broker()
    trackers = [m for m in broker.middleware if isinstance(m, TaskTracking)]
    if close:
        for tracker in trackers:
            tracker.close()
        return 0
    return sum(tracker.flush() for tracker in trackers)
