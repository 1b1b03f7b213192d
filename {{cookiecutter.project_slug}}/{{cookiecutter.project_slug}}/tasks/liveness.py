"""A worker's liveness as a file: fresh only while this process's broker heartbeat is.

Every Redis poll of a consuming worker refreshes its score in ``<namespace>:__heartbeats__``
(busy or idle). A thread in each worker process reads that score and touches the file while
it is recent, so a container healthcheck sees whether the worker really consumes, not just
whether a process exists. ``python -m <project>.tasks.liveness`` is that healthcheck.

No Django here: the config module builds this middleware while settings load.
"""

import os
import sys
import threading
import time
from pathlib import Path

from dramatiq.middleware import Middleware


class LivenessFile(Middleware):
    def __init__(self, path: str, max_age_ms: int, interval: float = 2.0):
        self.path = Path(path)
        self.max_age_ms = max_age_ms
        self.interval = interval

    def after_worker_boot(self, broker, worker):
        client = getattr(broker, "client", None)
        if client is None:  # a stub broker has no heartbeat to watch
            return
        key = f"{broker.namespace}:__heartbeats__"
        thread = threading.Thread(
            target=self._watch, args=(client, key, broker.broker_id), daemon=True
        )
        thread.start()

    def _watch(self, client, key: str, broker_id: str) -> None:
        while True:
            try:
                score = client.zscore(key, broker_id)
                if score is not None and time.time() * 1000 - score < self.max_age_ms:
                    self.path.touch()
            except Exception:  # noqa: BLE001 - Redis away: the file simply goes stale
                pass
            time.sleep(self.interval)


def is_fresh(path: str, max_age_ms: int) -> bool:
    try:
        return (time.time() - os.path.getmtime(path)) * 1000 < max_age_ms
    except OSError:
        return False


def main() -> int:
    """Healthcheck: exit 0 when the configured liveness file is fresh."""
    from {{ cookiecutter.project_slug }}.config import load_config

    workers = load_config().tasks.dramatiq
    if not workers.liveness_file:
        print("liveness_file is not configured", file=sys.stderr)
        return 1
    if is_fresh(workers.liveness_file, workers.heartbeat_timeout):
        return 0
    print(
        f"{workers.liveness_file} is stale or missing: not consuming", file=sys.stderr
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
