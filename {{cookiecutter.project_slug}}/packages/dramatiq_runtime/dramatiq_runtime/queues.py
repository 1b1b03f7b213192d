"""What the broker's Redis holds, per queue and per worker, read with bounded calls.

RedisBroker's keys under its namespace (see dramatiq's ``brokers/redis/dispatch.lua``):
``<queue>`` a list of waiting ids, oldest first; ``<queue>.msgs`` their bodies; the same
two for ``<queue>.DQ`` (delayed); ``<queue>.XQ`` a sorted set of dead letters by time,
``<queue>.XQ.msgs`` their bodies; ``__acks__.<worker>.<queue>`` what a worker holds;
``__heartbeats__`` each worker's last poll. No KEYS or SCAN: one LLEN, ZCARD or SCARD per
queue and worker, so a page costs the same with a million messages as with ten.
"""

import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field

import dramatiq
from dramatiq import Message
from dramatiq.common import dq_name, xq_name

logger = logging.getLogger(__name__)

REGISTRY = "__workers__"  # hash: worker id -> its queues, host and pid (our middleware)

# KEYS: a dead-letter set and its bodies; ARGV[1]: how many bodies to return (>= 1).
PURGE = """
local count = redis.call("ZCARD", KEYS[1])
local ids = redis.call("ZRANGE", KEYS[1], 0, tonumber(ARGV[1]) - 1)
local bodies = {}
if #ids > 0 then bodies = redis.call("HMGET", KEYS[2], unpack(ids)) end
redis.call("UNLINK", KEYS[1], KEYS[2])
return {count, ids, bodies}
"""
REQUEUE_LIMIT = 1000  # dead letters sent back per requeue


def decoded(redis_id: bytes, body: bytes | None) -> Message | None:
    """A dead letter's message, or None when its body is gone or unreadable (logged)."""
    if body is None:
        return None
    try:
        return Message.decode(body)
    except Exception as exc:  # an old encoder's body, a truncated one
        logger.warning("Unreadable dead letter %r: %r", redis_id, exc)
        return None


@dataclass
class QueueState:
    name: str
    ready: int
    delayed: int
    dead: int
    held: int  # fetched by workers, running or waiting in their memory
    oldest_age: float | None  # seconds the oldest ready message has waited


@dataclass
class WorkerState:
    id: str
    last_seen: float  # seconds since its last heartbeat
    alive: bool
    queues: list[str] = field(default_factory=list)
    host: str = ""
    pid: int | None = None


class BrokerView:
    """Counts and actions on one RedisBroker's queues."""

    def __init__(self, broker: dramatiq.Broker | None = None):
        self.broker = broker or dramatiq.get_broker()
        self.client = self.broker.client  # type: ignore[attr-defined]
        self.namespace = self.broker.namespace  # type: ignore[attr-defined]
        self.heartbeat_timeout = self.broker.heartbeat_timeout  # type: ignore[attr-defined]

    def key(self, name: str) -> str:
        return f"{self.namespace}:{name}"

    def workers(self, clients: list[WorkerState] | None = None) -> list[WorkerState]:
        """Processes that consume, from the registry; see ``clients`` for all.

        ``clients``: what ``clients()`` already read, so a page reads Redis once.
        """
        clients = self.clients() if clients is None else clients
        return [client for client in clients if client.queues]

    def clients(self) -> list[WorkerState]:
        """Every process with a heartbeat: workers, and senders (any broker call beats)."""
        now = time.time() * 1000
        beats = self.client.zrange(self.key("__heartbeats__"), 0, -1, withscores=True)
        # Read only: a page view writes nothing (workers prune the registry at boot).
        registry = self.client.hgetall(self.key(REGISTRY))
        found = []
        for raw_id, score in beats:
            worker_id = raw_id.decode()
            seen = (now - score) / 1000
            info = json.loads(registry.get(raw_id, b"{}"))
            found.append(
                WorkerState(
                    id=worker_id,
                    last_seen=seen,
                    alive=seen * 1000 < self.heartbeat_timeout,
                    queues=info.get("queues", []),
                    host=info.get("host", ""),
                    pid=info.get("pid"),
                )
            )
        return sorted(found, key=lambda worker: (not worker.alive, worker.last_seen))

    def queues(
        self, names: list[str], workers: list[WorkerState] | None = None
    ) -> list[QueueState]:
        """Each queue's counts; ``workers``: what ``workers()`` already read."""
        workers = self.workers() if workers is None else workers
        worker_ids = [worker.id for worker in workers]
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.llen(self.key(name))
            pipe.llen(self.key(dq_name(name)))
            pipe.zcard(self.key(xq_name(name)))
            pipe.lindex(self.key(name), 0)
            for worker_id in worker_ids:
                pipe.scard(self.key(f"__acks__.{worker_id}.{name}"))
                pipe.scard(self.key(f"__acks__.{worker_id}.{dq_name(name)}"))
        replies = iter(pipe.execute())
        states = []
        for name in names:
            ready, delayed, dead, oldest_id = (next(replies) for _ in range(4))
            held = 0
            for _ in worker_ids:
                held += next(replies)
                delayed += next(replies)  # delayed messages wait in the worker's memory
            states.append(
                QueueState(name, ready, delayed, dead, held, self._age(name, oldest_id))
            )
        return states

    def _age(self, queue: str, message_id: bytes | None) -> float | None:
        if message_id is None:
            return None
        data = self.client.hget(self.key(f"{queue}.msgs"), message_id)
        if data is None:  # fetched between the two calls
            return None
        message = Message.decode(data)
        return max(0.0, time.time() - message.message_timestamp / 1000)

    def dead_count(self, queue: str) -> int:
        return int(self.client.zcard(self.key(xq_name(queue))))

    def dead_letters(self, queue: str, limit: int = 1000) -> list[Message]:
        ids = self.client.zrange(self.key(xq_name(queue)), 0, limit - 1)
        if not ids:
            return []
        bodies = self.client.hmget(self.key(f"{xq_name(queue)}.msgs"), ids)
        # One left where it is when unreadable: a purge still deletes it.
        letters = [decoded(raw, body) for raw, body in zip(ids, bodies, strict=True)]
        return [letter for letter in letters if letter is not None]

    def requeue_dead(
        self, queue: str, limit: int = REQUEUE_LIMIT, moved: list[str] | None = None
    ) -> list[str]:
        """Send up to ``limit`` dead letters back to their queue, with fresh retries.

        Each is enqueued before it leaves the dead-letter set: a crash in between leaves
        a duplicate, never a loss. Returns the message ids moved, appended to ``moved``
        as they go (so a caller can record a requeue that fails half-way).
        """
        moved = [] if moved is None else moved
        for message in self.dead_letters(queue, limit):
            # Redis keys it by redis_message_id (one per enqueue), not message_id.
            redis_id = message.options["redis_message_id"]
            fresh = {
                key: value
                for key, value in message.options.items()
                if key not in ("retries", "traceback", "eta", "redis_message_id")
            }
            # dataclasses.replace: Message.copy would merge the old options back in.
            self.broker.enqueue(
                dataclasses.replace(message, queue_name=queue, options=fresh)
            )
            self._forget_dead(queue, redis_id)
            moved.append(message.message_id)
        return moved

    def purge_dead(self, queue: str, listed: int = 100) -> tuple[int, list[str]]:
        """Delete every dead letter of ``queue``: how many, and the first ``listed`` ids.

        One script, so the count and ids are exactly what was deleted: a letter that
        dies meanwhile is either counted and listed, or left for the next purge. A body
        that does not decode is listed by its Redis id: the purge is done by then.
        """
        keys = [self.key(xq_name(queue)), self.key(f"{xq_name(queue)}.msgs")]
        count, ids, bodies = self.client.eval(PURGE, 2, *keys, max(1, listed))
        named = [
            letter.message_id if (letter := decoded(raw, body)) else raw.decode()
            for raw, body in zip(ids, bodies, strict=True)
        ]
        return int(count), named[:listed]

    def _forget_dead(self, queue: str, redis_id: str) -> None:
        pipe = self.client.pipeline()
        pipe.zrem(self.key(xq_name(queue)), redis_id)
        pipe.hdel(self.key(f"{xq_name(queue)}.msgs"), redis_id)
        pipe.execute()
