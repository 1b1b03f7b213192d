"""Run a compose file's services natively: no Docker engine here, so each service's own
command, environment and healthcheck run on this machine, with service addresses pointed at
processes started here (redis-server for Redis services, the machine's PostgreSQL).
"""

import json
import os
import re
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from conftest import BIN, free_port, run

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def compose_config(project: Path, compose_file: str) -> dict:
    """The file as Compose itself resolves it: anchors merged, .env interpolated."""
    out = run(
        [BIN / "docker-compose", "-f", compose_file, "config", "--format", "json"], cwd=project
    )
    return json.loads(out.stdout)


def validate(project: Path, compose_file: str) -> None:
    """The real Compose binary's validation, every profile included."""
    run([BIN / "docker-compose", "--profile", "*", "-f", compose_file, "config", "-q"], cwd=project)


@dataclass
class NativeStack:
    project: Path
    config: dict
    tmp: Path
    ports: dict = field(default_factory=dict)  # (service host, container port) -> local port
    volumes: dict = field(default_factory=dict)  # named volume's mount point -> local folder
    processes: dict = field(default_factory=dict)  # service -> Popen
    database: str | None = None
    logs: dict = field(default_factory=dict)

    # -- addresses -----------------------------------------------------------------------

    def rewrite(self, value: str) -> str:
        """Point a service address (redis-broker:6379, postgres:5432/x, 0.0.0.0:8000) here."""
        for (host, port), local in self.ports.items():
            value = re.sub(rf"(?<=[@/]){re.escape(host)}:{port}\b", f"127.0.0.1:{local}", value)
            value = value.replace(f"0.0.0.0:{port}", f"127.0.0.1:{local}")
            value = value.replace(f"127.0.0.1:{port}/", f"127.0.0.1:{local}/")
        for target, local in self.volumes.items():  # sqlite:////data/db.sqlite3
            value = value.replace(f"sqlite:///{target}/", f"sqlite:///{local}/")
        if self.database:
            value = re.sub(r"@postgres:5432/\w+", f"@127.0.0.1:5432/{self.database}", value)
        return value

    def environment(self, name: str) -> dict:
        service = self.config["services"][name]
        env = {
            key: self.rewrite(str(value))
            for key, value in (service.get("environment") or {}).items()
        }
        # Several workers share this host: each its own liveness file and metrics port.
        env["DRAMATIQ_LIVENESS_FILE"] = str(self.tmp / f"{name}-alive")
        env["SCHEDULER_LIVENESS_FILE"] = str(self.tmp / f"{name}-scheduler-alive")
        env["DRAMATIQ_PROMETHEUS_PORT"] = str(free_port())
        env["DRAMATIQ_PROMETHEUS_HOST"] = "127.0.0.1"
        env["PROMETHEUS_MULTIPROC_DIR"] = str(self.tmp / f"{name}-metrics")
        env["PATH"] = f"{BIN}:{os.environ['PATH']}"
        env.update(self.image_environment())
        return env

    def image_environment(self) -> dict:
        """What the image's Dockerfile sets with ENV that a command here relies on (the
        healthcheck finds the settings by DJANGO_SETTINGS_MODULE)."""
        dockerfile = (self.project / "Dockerfile").read_text()
        found = re.findall(r"\bDJANGO_SETTINGS_MODULE=(\S+)", dockerfile)
        assert found and len(set(found)) == 1, f"Dockerfile: DJANGO_SETTINGS_MODULE {found}"
        return {"DJANGO_SETTINGS_MODULE": found[0]}

    def command(self, name: str) -> list[str]:
        return [self.rewrite(part) for part in self.config["services"][name]["command"]]

    # -- services ------------------------------------------------------------------------

    def django_services(self) -> list[str]:
        return [name for name, s in self.config["services"].items() if "build" in s]

    def worker_services(self) -> list[str]:
        return [n for n in self.django_services() if self.command(n)[2:3] == ["worker"]]

    def start_infrastructure(self) -> None:
        services = self.config["services"]
        for name, service in services.items():
            for port in service.get("ports", []):
                self.ports[(name, int(port["target"]))] = free_port()
            for volume in service.get("volumes", []) if "build" in service else []:
                if volume["type"] == "volume":  # the project's own, e.g. SQLite's /data
                    local = self.tmp / "volumes" / volume["source"]
                    local.mkdir(parents=True, exist_ok=True)
                    self.volumes[volume["target"]] = local
        for name, service in services.items():
            image = service.get("image", "")
            if image.startswith("redis"):
                self.ports[(name, 6379)] = port = free_port()
                data = self.tmp / name
                data.mkdir(parents=True)
                # The service's own command; the address and data folder are this machine's.
                args = [
                    *service["command"][1:],
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(data),
                ]
                self.start(name, ["redis-server", *args], env={})
            elif image.startswith("postgres"):
                self.database = f"smoke_{uuid.uuid4().hex[:10]}"
                with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
                    conn.execute(f'create database "{self.database}"')

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.logs[name] = log
        process = subprocess.Popen(
            command,
            cwd=self.project,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def run_once(self, name: str, timeout: float = 120) -> None:
        proc = subprocess.run(
            self.command(name),
            cwd=self.project,
            env={**os.environ, **self.environment(name)},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert proc.returncode == 0, f"{name}: {proc.stdout}\n{proc.stderr}"

    def healthcheck(self, name: str, timeout: float = 90) -> None:
        """The service's own healthcheck command, retried until it passes or time runs out."""
        service = self.config["services"][name]
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD", f"{name}: exec-form healthchecks only, got {test}"
        command = [self.rewrite(part) for part in test[1:]]
        env = {**os.environ, **self.environment(name)}
        image = service.get("image", "")
        if image.startswith("redis"):
            command += ["-p", str(self.ports[(name, 6379)])]
        elif image.startswith("postgres"):
            command = [
                part if part != service["environment"]["POSTGRES_DB"] else self.database
                for part in command
            ] + ["-h", "127.0.0.1"]
        deadline = time.monotonic() + timeout
        while True:
            proc = subprocess.run(
                command, cwd=self.project, env=env, capture_output=True, text=True
            )
            if proc.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"healthcheck of {name} failed: {command}\n{proc.stderr}\n{self.log_text(name)}"
                )
            time.sleep(0.5)

    def log_text(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # the master forwards it to its children
        for name, process in self.processes.items():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            self.logs[name].close()
        if self.database:
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{self.database}" with (force)')
