"""cookiecutter in a real terminal (tmux): answers typed at the prompts, bad ones included."""

import json
import shlex
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import PYTHON, TEMPLATE

CONFIG = json.loads((TEMPLATE / "cookiecutter.json").read_text())
PROMPTS = [key for key in CONFIG if not key.startswith("_")]
pytestmark = pytest.mark.skipif(not shutil.which("tmux"), reason="needs tmux")


class Terminal:
    """A tmux session running one command; keys in, screen text out."""

    def __init__(self, command: str):
        self.name = f"cc-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", "200", "-y", "50",
             f"{command}; echo EXIT=$?; sleep 60"],
            check=True,
        )  # fmt: skip

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-J", "-S", "-500", "-t", self.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared:\n{self.screen()}")

    def type(self, answer: str) -> None:
        if answer:
            subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", answer], check=True)
        subprocess.run(["tmux", "send-keys", "-t", self.name, "Enter"], check=True)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], check=False)


def walk(tmp_path, answers: dict[str, str], bad_at: dict[str, tuple[str, str]] | None = None):
    """Answer every prompt in order ('' keeps the default); return the final screen.

    ``bad_at`` maps a prompt to (a bad answer, the complaint cookiecutter must show) typed
    before the real answer.
    """
    bad_at = bad_at or {}
    out = tmp_path / "out"
    out.mkdir()
    command = f"{shlex.quote(PYTHON)} -m cookiecutter {shlex.quote(str(TEMPLATE))} -o {out}"
    terminal = Terminal(command)
    try:
        for index, key in enumerate(PROMPTS, start=1):
            terminal.wait_for(f"[{index}/{len(PROMPTS)}]")
            if key in bad_at:
                bad, complaint = bad_at[key]
                terminal.type(bad)
                terminal.wait_for(complaint)
            terminal.type(answers.get(key, ""))
        return terminal.wait_for("EXIT=", timeout=120), out
    finally:
        terminal.close()


def test_a_walk_through_the_prompts_with_bad_answers(tmp_path):
    screen, out = walk(
        tmp_path,
        {"project_name": "Tmux Shop", "dev_processes": "100", "redis_broker_db": "0"},
        bad_at={"use_results": ("maybe", "Please enter Y or N")},
    )
    # Each prompt showed its help text, the choices were offered, the hook refused.
    assert CONFIG["__prompts__"]["dev_processes"] in screen
    assert "PostgreSQL (recommended" in screen
    assert "dev_processes = '100': Input should be less than or equal to 32" in screen
    assert "redis_broker_db = '0': Redis database 0 is already the cache's" in screen
    assert "EXIT=1" in screen
    assert list(out.iterdir()) == []


def test_a_walk_through_the_prompts_that_bakes(tmp_path):
    screen, out = walk(
        tmp_path,
        {"project_name": "Tmux Shop", "database": "2", "task_queues": "default,mail"},
    )
    assert "EXIT=0" in screen and "Next steps" in screen
    environments = out / "tmux_shop" / "tmux_shop" / "config" / "environments.py"
    text = environments.read_text()
    assert '"database_url": "sqlite:///db.sqlite3",' in text
    assert '"queues": [\n                "default",\n                "mail",\n' in text
