"""What Django's ``@task`` runner needs from the worker: its message, and a last flush."""

import logging
import threading
from collections.abc import Callable

from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)

_local = threading.local()
_flushes: list[Callable[[], object]] = []


def current_message():
    """The message this worker thread is processing, or None outside a task."""
    return getattr(_local, "message", None)


def on_worker_shutdown(flush: Callable[[], object]) -> None:
    """Call ``flush`` when the worker stops (a forked worker process skips atexit)."""
    if flush not in _flushes:
        _flushes.append(flush)


class TaskResults(Middleware):
    """Hand ``run_task`` its message (its attempt number is there) and flush its results.

    Django's task API counts a task's attempts and must know whether a failure will be
    retried; Dramatiq keeps that in the message's ``retries`` option. The results are
    written in batches by the runner's store; a stopping worker writes what it holds.
    """

    def before_process_message(self, broker, message) -> None:
        _local.message = message

    def after_process_message(self, broker, message, *, result=None, exception=None):
        _local.message = None

    after_skip_message = after_process_message

    def after_worker_shutdown(self, broker, worker) -> None:
        for flush in _flushes:
            try:
                flush()
            except Exception:
                logger.exception("Writing @task results at shutdown failed.")
