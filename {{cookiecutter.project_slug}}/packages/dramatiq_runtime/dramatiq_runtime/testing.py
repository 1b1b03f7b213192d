"""For a project's own tests: waiting on a worker, sharing the test database with one,
and stopping it.

A worker is another process: what it does shows up later, and it writes to the database
pytest-django created only when told its name.
"""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    state: Callable[[], object] | None = None,
) -> T:
    """Poll ``condition`` until it returns something true, and return that.

    On timeout the error says what was awaited and, if given, ``state()``.
    """
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            detail = f"; {state()}" if state else ""
            raise AssertionError(f"not within {timeout} s: {what}{detail}")
        time.sleep(0.02)
    return value


def test_database_url() -> str:
    """DATABASE_URL of the database the tests run on (the test database, once set up),
    for a worker process to share."""
    from django.conf import settings
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(name).resolve()}"
    return urlsplit(settings.CONFIG.database_url)._replace(path=f"/{name}").geturl()


test_database_url.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def stop_process(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL to its whole group if it is not gone within ``timeout`` s.

    For processes started with ``start_new_session=True``: a worker master forwards SIGTERM
    to its children, and the group kill reaches them too when it hangs.
    """
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
