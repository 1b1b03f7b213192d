"""What Django's ``@task`` runner needs from the worker: each failure's fate, a last flush."""

import logging
import threading
from collections.abc import Callable

from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)

_local = threading.local()
_flushes: list[Callable[[], object]] = []


def settle_after_retries(settle: Callable[[bool], object]) -> None:
    """Call ``settle(retried)`` once the middleware have handled this thread's failure.

    ``retried`` is what Dramatiq's Retries did, not a guess from settings: True when it
    sent the message again. Actor options, ``throws``, ``retry_when`` and
    ``max_retries=0`` are then all decided where Dramatiq decides them.
    """
    _local.settle = settle


def on_worker_shutdown(flush: Callable[[], object]) -> None:
    """Call ``flush`` when the worker stops (a forked worker process skips atexit)."""
    if flush not in _flushes:
        _flushes.append(flush)


class TaskResults(Middleware):
    """Settle each failed ``@task`` attempt once Retries has decided, and flush at shutdown.

    First in the stack: Dramatiq runs ``after_*`` hooks last-to-first, so this one's runs
    after Retries has re-enqueued the message (seen through ``after_enqueue``) or given it
    up. The results are written in batches by the runner's store; a stopping worker writes
    what it holds.
    """

    def before_process_message(self, broker, message) -> None:
        _local.processing = message.message_id
        _local.retried = False
        _local.settle = None

    def after_enqueue(self, broker, message, delay) -> None:
        if getattr(_local, "processing", None) == message.message_id:
            _local.retried = True  # Retries sent it again (from its after-hook)

    def after_process_message(self, broker, message, *, result=None, exception=None):
        settle = getattr(_local, "settle", None)
        retried = getattr(_local, "retried", False)
        _local.processing = _local.settle = None
        if settle is not None:
            settle(retried)

    after_skip_message = after_process_message

    def after_worker_shutdown(self, broker, worker) -> None:
        for flush in _flushes:
            try:
                flush()
            except Exception:
                logger.exception("Writing @task results at shutdown failed.")
