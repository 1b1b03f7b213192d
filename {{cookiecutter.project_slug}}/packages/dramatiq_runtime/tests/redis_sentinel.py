"""Redis as self-hosting runs it: a master, two replicas and three sentinels, each a real
process on a free port."""

import os
import signal
import subprocess
import time
from pathlib import Path

import redis
from dramatiq_runtime.testing import wait_until

from .helpers import free_port, stop_process
from .redis_server import RedisServer, server_binary

MASTER = "tasks"
PASSWORD = "server-secret"
SENTINEL_PASSWORD = "sentinel-secret"
# Short for a test (a killed master is replaced in about 4 s), yet long enough that a
# busy CI host does not look like a lost master; the rest as compose.ha.yaml has it.
DOWN_AFTER_MS = 2000
FAILOVER_TIMEOUT_MS = 5000
MIN_REPLICAS = ["--min-replicas-to-write", "1", "--min-replicas-max-lag", "10"]


class SentinelSet:
    """A master, two replicas (AOF, passwords, an isolated master refusing writes) and
    three sentinels (quorum 2)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.servers = []
        for name in ("a", "b", "c"):
            folder = directory / name
            folder.mkdir()
            self.servers.append(RedisServer(folder, password=PASSWORD))
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen] = []

    @property
    def addresses(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def env(self) -> dict[str, str]:
        """What a worker's environment says to use this set."""
        return {
            "REDIS_SENTINELS": self.addresses,
            "REDIS_SENTINEL_MASTER": MASTER,
            "REDIS_SENTINEL_PASSWORD": SENTINEL_PASSWORD,
            "REDIS_PASSWORD": PASSWORD,
        }

    def start(self) -> "SentinelSet":
        first = self.servers[0]
        auth = ["--masterauth", PASSWORD, *MIN_REPLICAS]
        first.start(auth)
        for replica in self.servers[1:]:
            replica.start([*auth, "--replicaof", "127.0.0.1", str(first.port)])
        wait_until(
            lambda: self.replicas_of(first) == 2, 20, "both replicas in sync", first.log
        )
        for port in self.sentinel_ports:
            self.sentinels.append(self._sentinel(port, first.port))
        # Sentinels find each other through the master's hello channel: give them time,
        # or the first failover waits for a quorum.
        wait_until(self._acquainted, 30, "three sentinels that know each other")
        return self

    def _sentinel(self, port: int, master_port: int) -> subprocess.Popen:
        folder = self.directory / f"sentinel-{port}"
        folder.mkdir()
        conf = folder / "sentinel.conf"
        conf.write_text(
            "\n".join(
                [
                    f"port {port}",
                    "bind 127.0.0.1",
                    f"dir {folder}",
                    f"logfile {folder / 'sentinel.log'}",
                    f"requirepass {SENTINEL_PASSWORD}",
                    f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 2",
                    f"sentinel auth-pass {MASTER} {PASSWORD}",
                    f"sentinel sentinel-pass {SENTINEL_PASSWORD}",
                    f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}",
                    f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}",
                    f"sentinel parallel-syncs {MASTER} 1",
                    "",
                ]
            )
        )
        return subprocess.Popen(
            [server_binary(), str(conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def sentinel(self, index: int = 0) -> redis.Redis:
        return redis.Redis(
            port=self.sentinel_ports[index],
            password=SENTINEL_PASSWORD,
            socket_timeout=1,
            decode_responses=True,
        )

    def _acquainted(self) -> bool:
        try:
            return all(
                int(self.sentinel(i).sentinel_master(MASTER)["num-other-sentinels"])
                == 2
                for i in range(3)
            )
        except redis.RedisError:
            return False

    def master_port(self) -> int:
        """The master's port as the sentinels report it."""
        host, port = self.sentinel().sentinel_get_master_addr_by_name(MASTER)
        return int(port)

    def master(self) -> RedisServer:
        port = self.master_port()
        return next(server for server in self.servers if server.port == port)

    @staticmethod
    def replicas_of(server: RedisServer) -> int:
        try:
            info = server.client().info("replication")
        except redis.RedisError:
            return -1
        return sum(
            1
            for key, value in info.items()
            if key.startswith("slave") and isinstance(value, dict)
            if value.get("state") == "online"
        )

    def wait_for_new_master(self, old_port: int, timeout: float = 60) -> float:
        """Seconds until the sentinels name another master (an election that fails is
        tried again after twice the failover timeout)."""
        started = time.monotonic()
        wait_until(
            lambda: self._master_port_or_none() not in (old_port, None),
            timeout,
            "the sentinels to promote a replica",
            self.logs,
        )
        return time.monotonic() - started

    def _master_port_or_none(self) -> int | None:
        try:
            return self.master_port()
        except redis.RedisError:
            return None

    def logs(self) -> str:
        parts = []
        for path in sorted(self.directory.glob("*/*.log")):
            tail = path.read_text(errors="replace").splitlines()[-15:]
            parts.append(f"--- {path.parent.name}/{path.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self) -> None:
        for process in self.sentinels:
            stop_process(process, timeout=10)
        for server in self.servers:
            if server.process and server.process.poll() is None:
                os.kill(
                    server.process.pid, signal.SIGCONT
                )  # a paused one must hear TERM
            server.stop()
