"""A container's healthcheck: ``python -m dramatiq_runtime.healthcheck [scheduler]``.

A worker is healthy while its liveness file is fresher than the broker's heartbeat
timeout (``middleware/liveness.py`` keeps it fresh only while the worker consumes); the
scheduler while its file is fresher than its lock timeout (it touches it firing or
standing by). It imports the settings module (``DJANGO_SETTINGS_MODULE``) for its
``CONFIG`` but sets nothing up, so it runs in a fraction of a second.
"""

import importlib
import os
import sys
import time


def is_fresh(path: str, max_age: int) -> bool:
    """Whether ``path`` was touched less than ``max_age`` milliseconds ago."""
    try:
        return (time.time() - os.path.getmtime(path)) * 1000 < max_age
    except OSError:
        return False


def main(argv: list[str]) -> int:
    settings = importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
    tasks = settings.CONFIG.tasks
    path: str | None
    if argv == ["scheduler"]:
        path, max_age = tasks.scheduler.liveness_file, tasks.scheduler.lock_timeout
        what = "not firing nor standing by"
    elif not argv:
        path, max_age = tasks.dramatiq.liveness_file, tasks.dramatiq.heartbeat_timeout
        what = "not consuming"
    else:
        print("usage: healthcheck [scheduler]", file=sys.stderr)
        return 2
    if not path:
        print("liveness_file is not configured", file=sys.stderr)
        return 1
    if is_fresh(path, max_age):
        return 0
    print(f"{path} is stale or missing: {what}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
