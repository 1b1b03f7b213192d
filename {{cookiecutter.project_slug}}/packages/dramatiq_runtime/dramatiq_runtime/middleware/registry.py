"""Which queues each worker consumes, beside the broker's heartbeats (for the Queues page)."""

import json
import logging
import os
import socket
import time

from dramatiq.common import q_name
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)


class WorkerRegistry(Middleware):
    """Record this worker process's queues, host and pid under its broker id.

    Dramatiq's heartbeats (``<namespace>:__heartbeats__``) say a worker is alive, not what it
    consumes. One hash field per worker process, ``<namespace>:__workers__``, written at boot
    and removed at shutdown; a field whose worker lost its heartbeat (killed, never shut
    down) is removed by the next worker that boots, so reading the hash (the Queues page)
    never writes. A few calls per worker start: no cost per message.

    Parameters:
      key(str): The hash's name under the broker's namespace.
    """

    def __init__(self, *, key: str = "__workers__") -> None:
        self.key = key

    def after_worker_boot(self, broker, worker) -> None:
        client = getattr(broker, "client", None)
        if client is None:  # a stub broker
            return
        queues = sorted({q_name(name) for name in worker.consumers})
        entry = {
            "queues": queues,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": time.time(),
        }
        key = f"{broker.namespace}:{self.key}"
        try:
            client.hset(key, broker.broker_id, json.dumps(entry))
            self.prune(client, broker, key)
        except Exception as exc:  # the page then shows the worker without its queues
            logger.warning("Could not register this worker's queues: %r", exc)

    @staticmethod
    def prune(client, broker, key: str) -> None:
        """Remove entries of workers with no heartbeat, registered over a timeout ago.

        A worker that has just booted may not have beaten yet: its entry is young.
        """
        beating = set(client.zrange(f"{broker.namespace}:__heartbeats__", 0, -1))
        oldest = time.time() - broker.heartbeat_timeout / 1000
        gone = [
            worker_id
            for worker_id, raw in client.hgetall(key).items()
            if worker_id not in beating and json.loads(raw).get("since", 0) < oldest
        ]
        if gone:
            client.hdel(key, *gone)

    def before_worker_shutdown(self, broker, worker) -> None:
        client = getattr(broker, "client", None)
        if client is None:
            return
        try:
            client.hdel(f"{broker.namespace}:{self.key}", broker.broker_id)
        except Exception as exc:
            logger.warning("Could not unregister this worker: %r", exc)
