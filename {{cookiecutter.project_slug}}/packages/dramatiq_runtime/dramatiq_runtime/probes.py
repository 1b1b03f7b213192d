"""Actors for measuring the task pipeline rather than doing work.

``record`` leaves a trace of every attempt and completion, by message id: fault tests (and
anyone checking a deployment) send records, break something (kill a worker, restart
Redis), and count from the trace: a message never completed is lost, one completed twice
is a duplicate. The trace lives in the cache's Redis database under the cache key prefix,
apart from the broker under test (or at ``tasks.probe_trace_url``, off a Redis failing
over), and expires after a day. ``noop`` does nothing, so a
benchmark of it measures what the worker and its middleware cost; ``noop_task`` is the same
through Django's ``@task`` API.
"""

import threading
import time
import uuid
from collections.abc import Iterable

import dramatiq
import redis
from django.conf import settings

from . import redis_clients
from .on_commit import actor
from .task_api import task

TRACE_TTL = 86_400  # seconds
STEP = 0.02  # seconds: sleep in short steps so TimeLimit can interrupt a long task

_store: redis.Redis | None = None
_store_lock = threading.Lock()


class ProbeFailure(Exception):
    """Raised on purpose by ``record(..., fail=True)``."""


def store() -> redis.Redis:
    """The process's one client for the trace.

    Made under a lock: two threads making it at once would each make a client, and the
    one dropped closes its connection pool when collected (``Redis.__del__``), under the
    other thread's command. A worker's first messages lost their count to that.
    """
    global _store
    with _store_lock:
        if _store is None:
            config = settings.CONFIG
            if config.tasks.probe_trace_url:  # off the Redis under test
                _store = redis.Redis.from_url(config.tasks.probe_trace_url)
            else:
                _store = redis_clients.client(
                    config.cache_default.url, config.redis.client_options()
                )
        return _store


def trace_key(run: str, what: str) -> str:
    return f"{settings.CONFIG.cache_default.key_prefix}:probe:{run}:{what}"


def _count(run: str, what: str, message_id: str) -> int:
    """Count one more ``what`` of ``message_id``; the count so far."""
    key = trace_key(run, what)
    pipe = store().pipeline()
    pipe.hincrby(key, message_id, 1)
    pipe.expire(key, TRACE_TTL)
    return int(pipe.execute()[0])


@dramatiq.actor(queue_name="default")
def record(run: str, message_id: str, seconds: float = 0.0, fail: bool | int = False):
    """Count the attempt, work for ``seconds``, then fail or count the completion.

    ``fail``: True fails every try; a number n fails the first n tries (then retries
    succeed).
    """
    tries = _count(run, "tries", message_id)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(STEP, left))
    if fail is True or (not isinstance(fail, bool) and tries <= fail):
        raise ProbeFailure(f"probe {message_id} failed on purpose")
    _count(run, "done", message_id)


@dramatiq.actor(queue_name="default")
def noop() -> None:
    """Nothing: the cost of a task is then all broker, worker and middleware."""


@actor(queue_name="default")
def find_user(run: str, username: str) -> None:
    """Count whether the user ``username`` exists when the task runs ("found" or
    "missing", by username): what a task sent about a new row sees of it."""
    from django.contrib.auth import get_user_model

    found = get_user_model().objects.filter(username=username).exists()
    _count(run, "found" if found else "missing", username)


@task()
def noop_task() -> None:
    """``noop`` through Django's task API: what ``@task`` adds to an actor's cost."""


@dramatiq.actor(queue_name="default", max_retries=0)
def echo(*args, raise_text: str | None = None, **kwargs) -> None:
    """Carry any arguments, or fail with ``raise_text``: what a task's admin page shows.

    The security tests send hostile text through it to check that the admin escapes it.
    """
    if raise_text is not None:
        raise ProbeFailure(raise_text)


def send_records(
    count: int,
    *,
    run: str | None = None,
    seconds: float = 0.0,
    fail: bool | int = False,
    queue: str = "default",
    options: dict | None = None,
    broker: dramatiq.Broker | None = None,
    created_ago_ms: int = 0,
    delay_ms: int | None = None,
) -> tuple[str, list[str]]:
    """Enqueue ``count`` records (on ``broker``, default the project's); returns run, ids.

    Each message carries its own message id as an argument, so the trace is keyed by it.
    ``created_ago_ms`` backdates the messages, as if they had waited that long;
    ``delay_ms`` holds them back, as a retry's backoff or ``send_with_options(delay=)``;
    ``options`` are message options (``max_retries``, ``max_age``, ...).
    """
    run = run or uuid.uuid4().hex
    broker = broker or record.broker
    ids = []
    for _ in range(count):
        message = record.message(run, "", seconds, fail)
        message = message.copy(
            args=(run, message.message_id, seconds, fail),
            queue_name=queue,
            message_timestamp=message.message_timestamp - created_ago_ms,
            options={**message.options, **(options or {})},
        )
        broker.enqueue(message, delay=delay_ms)
        ids.append(message.message_id)
    return run, ids


def trace(run: str, what: str = "done") -> dict[str, int]:
    """How many times each message id was tried or done."""
    raw = store().hgetall(trace_key(run, what))
    # bytes from redis-py's client; typed bytes | str since redis-py 6 ships its own hints.
    return {
        key.decode() if isinstance(key, bytes) else key: int(value)
        for key, value in raw.items()
    }


def tally(run: str, ids: Iterable[str]) -> dict[str, int]:
    """Sent, completed (distinct), lost and duplicates for the messages ``ids``."""
    ids = list(ids)
    done = trace(run)
    completed = [message_id for message_id in ids if message_id in done]
    return {
        "sent": len(ids),
        "completed": len(completed),
        "lost": len(ids) - len(completed),
        "duplicates": sum(done[message_id] - 1 for message_id in completed),
    }


def forget(run: str) -> None:
    store().delete(trace_key(run, "tries"), trace_key(run, "done"))
