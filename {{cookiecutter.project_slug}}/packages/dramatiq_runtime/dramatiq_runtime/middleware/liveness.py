"""A worker's liveness as a file: fresh only while this process's broker heartbeat is."""

import logging
import threading
import time
from pathlib import Path

from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)


class LivenessFile(Middleware):
    """Touch a file while this worker process's broker heartbeat is recent.

    Every Redis poll of a consuming worker refreshes its score in
    ``<namespace>:__heartbeats__``, busy or idle. A thread in each worker process reads
    that score and touches the file while it is recent, so a container healthcheck
    (``python -m dramatiq_runtime.healthcheck``) sees whether the worker really consumes,
    not just whether a process exists.

    Parameters:
      path(str): The file to keep fresh.
      max_age(int): Milliseconds a heartbeat counts as recent (the broker's
        heartbeat timeout).
      interval(int): Milliseconds between two looks at the heartbeat.
    """

    def __init__(self, *, path: str, max_age: int, interval: int = 2000) -> None:
        self.path = Path(path)
        self.max_age = max_age
        self.interval = interval

    def after_worker_boot(self, broker, worker) -> None:
        client = getattr(broker, "client", None)
        if client is None:  # a stub broker has no heartbeat to watch
            logger.debug("No Redis client on %r: the liveness file stays off.", broker)
            return
        key = f"{broker.namespace}:__heartbeats__"
        thread = threading.Thread(
            target=self._watch,
            args=(client, key, broker.broker_id),
            name="liveness-file",
            daemon=True,
        )
        thread.start()

    def _watch(self, client, key: str, broker_id: str) -> None:
        failing = False
        while True:
            try:
                score = client.zscore(key, broker_id)
            except Exception as exc:  # noqa: BLE001 - Redis away: the file goes stale
                if not failing:
                    logger.warning(
                        "Cannot read the heartbeat (%r); %s goes stale.", exc, self.path
                    )
                failing = True
            else:
                if failing:
                    logger.info("Heartbeat readable again; touching %s.", self.path)
                failing = False
                if score is not None and time.time() * 1000 - score < self.max_age:
                    self.path.touch()
            time.sleep(self.interval / 1000)
