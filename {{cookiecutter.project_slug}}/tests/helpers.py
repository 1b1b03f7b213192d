"""What several tests do with real processes: run manage.py, start and stop them, poll.

Plain functions, no fixtures (those live in conftest.py), so any test module imports them.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import redis

PROJECT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def environment(env: dict[str, str] | None) -> dict[str, str]:
    """This process's environment in the test profile, with ``env`` on top."""
    return {**os.environ, "DJANGO_ENV": "test", **(env or {})}


def manage(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python manage.py ARGS`` in the test environment; return the finished process."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_manage(
    *args: str,
    env: dict[str, str] | None = None,
    stdout: IO[Any] | int = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """``python manage.py ARGS`` running in its own process group (for a group kill).

    Give ``stdout`` a file when the process logs a lot and nobody reads the pipe.
    """
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=environment(env),
        stdout=stdout,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def start_worker(
    *args: str,
    env: dict[str, str] | None = None,
    stdout: IO[Any] | int = subprocess.PIPE,
) -> subprocess.Popen[str]:
    """A real worker: the dramatiq master (rundramatiq execs it)."""
    return start_manage("worker", *args, env=env, stdout=stdout)


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


def stop_worker(process: subprocess.Popen[str]) -> str:
    """Stop a worker from ``start_worker``; return what it printed, if it was piped."""
    stop_process(process, timeout=30)
    return process.stdout.read() if process.stdout else ""


def delete_keys(client: redis.Redis, pattern: str) -> None:
    for key in client.scan_iter(pattern):
        client.delete(key)
