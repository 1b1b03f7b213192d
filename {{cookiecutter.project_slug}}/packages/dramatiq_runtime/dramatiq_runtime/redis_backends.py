"""Dramatiq's Redis broker, results and rate limits on clients that follow a failover.

Each takes a role's ``url`` and the config's ``connection`` (``redis_clients``). The broker
adds what a failover asks of a queue:

- ``send()`` retries for up to ``failover_timeout`` ms (a new master is being chosen, an
  isolated one refuses writes) and then raises ``BrokerUnavailable``: a message is never
  dropped silently, and a web request that cannot enqueue fails rather than answering 200.
- ``wait_replicas``: a send returns once that many replicas hold the message (``WAIT``),
  so a master killed right after it loses nothing a sender was told was sent.
- A consumer rides out a lost connection: it polls again (at most ``POLL_CAP`` s apart)
  instead of handing Dramatiq a connection error, which costs a 3 s pause before the
  consumer restarts and drops the delayed messages it holds in memory.
- Messages a worker holds in Redis but not in memory come back: after a lost connection
  (a fetch whose reply was lost), after a consumer restart (the delayed messages Dramatiq
  dropped) and every ``RECOVER_EVERY`` s (a client's own retry can hide a lost reply).
  They would otherwise wait for the worker to stop (dramatiq issue 527).
"""

import contextlib
import logging
import os
import time
import uuid
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import redis
from dramatiq.brokers.redis import RedisBroker as DramatiqRedisBroker
from dramatiq.brokers.redis import _RedisConsumer
from dramatiq.common import current_millis
from dramatiq.errors import BrokerConnectionError, ConnectionClosed
from dramatiq.rate_limits.backends.redis import RedisBackend as DramatiqRateLimits
from dramatiq.results.backends.redis import RedisBackend as DramatiqResults

from . import redis_clients

logger = logging.getLogger(__name__)

BACKOFF_CAP = 0.5  # seconds between send attempts, at most
RECOVER_EVERY = 10.0  # seconds between a consumer's looks for what it no longer holds
POLL_CAP = 1.0  # seconds between a consumer's polls while Redis is away, at most


class BrokerUnavailable(BrokerConnectionError):
    """A message could not be enqueued within the failover timeout; it was not sent."""


class NotReplicated(redis.RedisError):
    """Fewer replicas than ``wait_replicas`` acknowledged a write within ``wait_timeout``."""


def retryable(exc: BaseException) -> bool:
    """Lost connections (refusals become those: ``redis_clients``) and too few replicas."""
    return isinstance(exc, (redis.ConnectionError, redis.TimeoutError, NotReplicated))


class _RecoveringConsumer(_RedisConsumer):
    """Tracks the messages it handed out, polls through a lost connection, and gives back
    what its worker holds in Redis but no thread does."""

    broker: "RedisBroker"
    away_since: float | None = None

    def __next__(self):
        try:
            with self.broker.untraced():
                if self._recovery_due():
                    self.broker.recover(self.queue_name)
                proxy = super().__next__()
        except (ConnectionClosed, redis.ConnectionError, redis.TimeoutError) as exc:
            # Dramatiq's consumer wraps ConnectionError only; a paused server times out.
            self._away(exc)
            return None
        if self.away_since is not None:
            logger.info(
                "Redis back for %r after %.1f s.",
                self.queue_name,
                time.monotonic() - self.away_since,
            )
            self.away_since = None
        if proxy is not None:
            self.broker.held[self.queue_name].add(proxy.options["redis_message_id"])
        return proxy

    def _away(self, exc: BaseException) -> None:
        self.broker.lost.add(self.queue_name)
        if self.away_since is None:
            self.away_since = time.monotonic()
            logger.warning(
                "Redis unavailable for %r (%s); polling until it is back.",
                self.queue_name,
                exc,
            )
        time.sleep(min(POLL_CAP, self.timeout / 1000))

    def _recovery_due(self) -> bool:
        """After a lost connection, or now and then while every message fetched has been
        handed out (one still in the fetch's cache is in no thread's hands yet)."""
        if self.queue_name in self.broker.lost:
            return True
        due = self.broker.next_recovery.get(self.queue_name, 0.0)
        return not self.message_cache and time.monotonic() >= due

    def ack(self, message):
        with self.broker.untraced():
            super().ack(message)
        self.broker.held[self.queue_name].discard(message.options["redis_message_id"])

    def nack(self, message):
        with self.broker.untraced():
            super().nack(message)
        self.broker.held[self.queue_name].discard(message.options["redis_message_id"])

    def requeue(self, messages):
        messages = list(messages)
        with self.broker.untraced():
            super().requeue(messages)
        held = self.broker.held[self.queue_name]
        for message in messages:
            held.discard(message.options["redis_message_id"])


class RedisBroker(DramatiqRedisBroker):
    """Dramatiq's RedisBroker on a failover-following client; see the module docstring."""

    def __init__(
        self,
        *,
        url: str,
        connection: dict[str, Any] | None = None,
        failover_timeout: int = 15_000,
        wait_replicas: int = 0,
        wait_timeout: int = 1_000,
        **options: Any,
    ) -> None:
        super().__init__(client=redis_clients.client(url, connection), **options)
        self.failover_timeout = failover_timeout
        self.wait_replicas = wait_replicas
        self.wait_timeout = wait_timeout
        # What the consumers' own traffic (polls, acks, heartbeats) runs in: nothing, or
        # with tracing on, a context its Redis instrumentation skips (middleware/tracing).
        self.untraced: Callable[[], AbstractContextManager[Any]] = (
            contextlib.nullcontext
        )
        self._forget_consumers()
        # A worker process forked from one that built this broker (``worker_start``) is a
        # worker of its own: its own id (heartbeat, acks set), nothing held yet.
        forked = weakref.WeakMethod(self._forget_consumers)
        os.register_at_fork(after_in_child=lambda: (method := forked()) and method())

    def _forget_consumers(self) -> None:
        self.broker_id = str(uuid.uuid4())
        self.held: dict[str, set[str]] = {}
        self.lost: set[str] = set()
        self.next_recovery: dict[str, float] = {}

    @property
    def consumer_class(self):
        return _RecoveringConsumer

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000):
        """Dramatiq asks again for a queue only when its consumer thread restarted, which
        empties the thread's delayed messages: none of the delay queue's is held then."""
        if queue_name in self.held:
            self.lost.add(queue_name)
            if queue_name.endswith(".DQ"):
                self.held[queue_name].clear()
        self.held.setdefault(queue_name, set())
        return super().consume(queue_name, prefetch, timeout)

    def enqueue(self, message, *, delay=None):
        """Dramatiq's enqueue; a middleware with ``enqueue_failed`` hears of a failure
        (Dramatiq has no hook for it: the tracing middleware ends its span there)."""
        try:
            return super().enqueue(message, delay=delay)
        except Exception as exc:
            for middleware in self.middleware:
                if (failed := getattr(middleware, "enqueue_failed", None)) is not None:
                    failed(message.message_id, exc)
            raise

    def do_enqueue(self, queue_name: str, message_id: str, payload: bytes) -> None:
        """Enqueue, retrying refusals and lost connections until ``failover_timeout``."""
        deadline = time.monotonic() + self.failover_timeout / 1000
        attempt = 0
        while True:
            try:
                return self._enqueue_once(queue_name, message_id, payload)
            except Exception as exc:
                if not retryable(exc):
                    raise
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrokerUnavailable(
                        f"could not enqueue on {queue_name!r} within the failover "
                        f"timeout ({self.failover_timeout} ms, REDIS_FAILOVER_TIMEOUT): "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                attempt += 1
                if attempt == 1:  # once per send: a failover fails many attempts
                    logger.warning(
                        "Enqueue on %r failed (%s); retrying for up to %d ms.",
                        queue_name,
                        exc,
                        self.failover_timeout,
                    )
                time.sleep(min(BACKOFF_CAP, 0.05 * 2**attempt, left))

    def _enqueue_once(self, queue_name: str, message_id: str, payload: bytes) -> None:
        if not self.wait_replicas:
            self._dispatch("enqueue")(queue_name, message_id, payload)
            return
        # WAIT counts the writes of its own connection: one pipeline holds both.
        pipe = self.client.pipeline(transaction=False)
        self.scripts["dispatch"](
            keys=[self.namespace],
            args=[
                "enqueue",
                current_millis(),
                queue_name,
                self.broker_id,
                self.heartbeat_timeout,
                self.dead_message_ttl,
                0,  # no maintenance on a send that waits for replicas
                self._max_unpack_size(),
                message_id,
                payload,
            ],
            client=pipe,
        )
        pipe.wait(self.wait_replicas, self.wait_timeout)
        _, replicas = pipe.execute()
        if replicas < self.wait_replicas:
            raise NotReplicated(
                f"{replicas} of {self.wait_replicas} replicas acknowledged the message "
                f"within {self.wait_timeout} ms"
            )

    def recover(self, queue_name: str) -> None:
        """Give back what this worker's acks set holds for the queue but no thread does."""
        self.next_recovery[queue_name] = time.monotonic() + RECOVER_EVERY
        # Worker threads ack (and forget) messages meanwhile: what is held is read before
        # the acks set, so a message acked in between is in the first and not the second.
        holding = self.held.setdefault(queue_name, set()).copy()
        acks = f"{self.namespace}:__acks__.{self.broker_id}.{queue_name}"
        stale = [
            member.decode() if isinstance(member, bytes) else member
            for member in self.client.smembers(acks)
        ]
        stale = [message_id for message_id in stale if message_id not in holding]
        if stale:
            self.do_requeue(queue_name, *stale)
            logger.warning(
                "Gave back %d message(s) of %r this worker held in Redis but not in "
                "memory (a lost reply or a consumer restart).",
                len(stale),
                queue_name,
            )
        self.lost.discard(queue_name)


class RedisResults(DramatiqResults):
    """Dramatiq's Redis results backend on a failover-following client."""

    def __init__(
        self, *, url: str, connection: dict[str, Any] | None = None, **options: Any
    ) -> None:
        super().__init__(client=redis_clients.client(url, connection), **options)


class RedisRateLimits(DramatiqRateLimits):
    """Dramatiq's Redis rate-limit backend on a failover-following client."""

    def __init__(
        self, *, url: str, connection: dict[str, Any] | None = None, **options: Any
    ) -> None:
        super().__init__(client=redis_clients.client(url, connection), **options)


__all__ = [
    "BrokerUnavailable",
    "RedisBroker",
    "RedisRateLimits",
    "RedisResults",
]
