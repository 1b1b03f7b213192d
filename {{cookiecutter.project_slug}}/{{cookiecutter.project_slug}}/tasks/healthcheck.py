"""A worker container's healthcheck: ``python -m {{ cookiecutter.project_slug }}.tasks.healthcheck``.

Exits 0 while the configured liveness file is fresher than the broker's heartbeat timeout
(``middleware/liveness.py`` keeps it fresh only while the worker consumes). Loads the
config models only, not Django, so it runs in a fraction of a second.
"""

import os
import sys
import time

from {{ cookiecutter.project_slug }}.config import load_config


def is_fresh(path: str, max_age: int) -> bool:
    """Whether ``path`` was touched less than ``max_age`` milliseconds ago."""
    try:
        return (time.time() - os.path.getmtime(path)) * 1000 < max_age
    except OSError:
        return False


def main() -> int:
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
