"""A baked project's compose stack on a real Docker engine: up, exec, faults, figures, down.

Each stack has a compose project name of its own, so stacks of parallel tests never share
containers, networks or volumes, and ``down -v`` removes everything it made.
"""

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from conftest import FIGURES, free_port, run


def engine_problem() -> str | None:
    """Why no Docker engine with Compose can be used here, or None when one can."""
    for command in (["docker", "info"], ["docker", "compose", "version"]):
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(command)}: {exc}"
        if proc.returncode != 0:
            return f"{' '.join(command)}: {proc.stderr.strip()[-300:]}"
    return None


def figure(line: str) -> None:
    with FIGURES.open("a") as out:
        out.write(line + "\n")


class Stack:
    """``docker compose`` for one compose file of one baked project."""

    def __init__(self, project: Path, kind: str, compose_file: str, env_file: bool):
        self.project = project
        self.kind = kind
        self.name = f"e2e-{project.name.replace('_', '-')}-{kind}-{uuid.uuid4().hex[:6]}"
        self.base = ["docker", "compose", "-p", self.name, "-f", compose_file]
        if env_file:
            self.base += ["--env-file", ".env"]
        self.web_port = 0

    def compose(self, *args: str, timeout: float = 300, check: bool = True, env=None):
        return run([*self.base, *args], cwd=self.project, timeout=timeout, check=check, env=env)

    def up(self, *services: str, build: bool = True, timeout: float = 900) -> float:
        """``up -d --wait``; seconds until every container is healthy (or done)."""
        self.web_port = self.web_port or free_port()
        started = time.monotonic()
        args = ["up", "-d", "--wait", "--wait-timeout", str(int(timeout))]
        if build:
            args.append("--build")
        env = {"WEB_PORT": str(self.web_port)}
        proc = self.compose(*args, *services, timeout=timeout + 60, check=False, env=env)
        if proc.returncode != 0:
            raise AssertionError(
                f"{self.name}: up --wait failed ({proc.returncode})\n{proc.stderr[-3000:]}\n"
                f"{self.logs()}"
            )
        return time.monotonic() - started

    def logs(self, tail: int = 40) -> str:
        proc = self.compose("logs", "--no-color", "--tail", str(tail), check=False)
        return proc.stdout[-6000:]

    def down(self) -> None:
        self.compose("down", "-v", "--remove-orphans", "-t", "5", timeout=300, check=False)

    def exec(self, service: str, *command: str, timeout: float = 300, check: bool = True):
        return self.compose("exec", "-T", service, *command, timeout=timeout, check=check)

    def manage(self, *args: str, timeout: float = 300):
        return self.exec("web", "python", "manage.py", *args, timeout=timeout)

    def python(self, code: str, timeout: float = 300):
        """Run ``code`` in Django's shell inside the web container; return its JSON output."""
        out = self.manage("shell", "-c", code, timeout=timeout).stdout
        return json.loads(out.strip().splitlines()[-1])

    def containers(self) -> list[dict]:
        out = self.compose("ps", "--all", "--format", "json").stdout.strip()
        if out.startswith("["):
            return json.loads(out)
        return [json.loads(line) for line in out.splitlines() if line]

    def container_id(self, service: str) -> str:
        return self.compose("ps", "-q", service).stdout.strip()

    def main_pid(self, service: str) -> int:
        """The host pid of the service container's main process (its PID 1)."""
        return int(self.inspect(service, "{{.State.Pid}}"))

    def inspect(self, service: str, template: str) -> str:
        """``docker inspect -f TEMPLATE`` of the service's container."""
        return run(["docker", "inspect", "-f", template, self.container_id(service)]).stdout.strip()

    def health(self, service: str) -> str:
        return self.inspect(service, "{{.State.Health.Status}}")

    def memory_mib(self) -> dict[str, float]:
        """Each running service's memory use now, in MiB (``docker stats``)."""
        ids = {c["ID"][:12]: c["Service"] for c in self.containers() if c["State"] == "running"}
        out = run(["docker", "stats", "--no-stream", "--format", "{{json .}}", *ids]).stdout
        usage = {}
        for line in out.splitlines():
            stat = json.loads(line)
            used = stat["MemUsage"].split("/")[0].strip()
            number, unit = float(used[:-3]), used[-3:]
            usage[ids[stat["ID"][:12]]] = number * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]
        return usage

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, str]:
        """An HTTP GET to the published web port; redirects are returned, not followed."""

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}{path}", headers=headers or {}
        )
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode(errors="replace")


def image_size_mb(image: str) -> float:
    out = run(["docker", "image", "inspect", "-f", "{{.Size}}", image])
    return int(out.stdout) / 1e6
