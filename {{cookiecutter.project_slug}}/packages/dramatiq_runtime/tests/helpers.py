"""What several tests do with real processes: run manage.py, start and stop them, poll.

Plain functions, no fixtures (those live in conftest.py), so any test module imports them.
The processes run the test project (``tests/project``) in the test environment.
"""

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import redis
from dramatiq_runtime.testing import stop_process

__all__ = ["stop_process"]  # the runtime's, shared with a project's tests

PACKAGE = Path(__file__).resolve().parents[1]
PROJECT = PACKAGE / "tests" / "project"


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(env: dict[str, str] | None) -> dict[str, str]:
    """This process's environment in the test profile, with ``env`` on top.

    The package and the test project are on the path however pytest was started.
    """
    path = [str(PACKAGE), str(PROJECT), os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        "DJANGO_ENV": "test",
        "PYTHONPATH": os.pathsep.join(filter(None, path)),
        **(env or {}),
    }


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


def run_python(
    code: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c CODE`` in a fresh process of the test environment."""
    return subprocess.run(
        [sys.executable, "-c", code],
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
    """A real worker: the process is the dramatiq master (`manage.py worker` runs it)."""
    return start_manage("worker", *args, env=env, stdout=stdout)


def stop_worker(process: subprocess.Popen[str]) -> str:
    """Stop a worker from ``start_worker``; return what it printed, if it was piped."""
    stop_process(process, timeout=30)
    return process.stdout.read() if process.stdout else ""


@contextlib.contextmanager
def pinged_worker(env: dict[str, str], folder: Path) -> Iterator[Path]:
    """A worker of 1 process x 2 threads in ``env`` that has answered a ping on every
    queue; yields its log file, and stops it after."""
    log = folder / "worker.log"
    with log.open("w") as output:
        process = start_worker(
            "--processes", "1", "--threads", "2", env=env, stdout=output
        )
    try:
        ping = manage("tasks_ping", "--timeout", "60", env=env)
        assert ping.returncode == 0, ping.stdout + ping.stderr + log.read_text()
        yield log
    finally:
        stop_worker(process)


def delete_keys(client: redis.Redis, pattern: str) -> None:
    for key in client.scan_iter(pattern):
        client.delete(key)
