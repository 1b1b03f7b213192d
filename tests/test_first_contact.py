"""A user's first commands: cookiecutter alone bakes, and the baked project installs as printed.

A fresh venv holds only cookiecutter (no pydantic), as after ``pip install cookiecutter``:
the hooks make their own cached pydantic environment (``hook_env.py``) and never touch
cookiecutter's. Then the "Next steps" the hook prints run, in order, in a fresh
``python -m venv``, and the shipped uv.lock is what a project installs.
"""

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import BIN, TEMPLATE, free_port, run, wait_until

COOKIECUTTER_PIN = next(
    line
    for line in (TEMPLATE / "requirements-dev.txt").read_text().splitlines()
    if line.startswith("cookiecutter==")
)
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


def base_python() -> str:
    return getattr(sys, "_base_executable", None) or sys.executable


@pytest.fixture(scope="module")
def cookiecutter_only(tmp_path_factory) -> Path:
    """A venv with cookiecutter and what it needs, nothing else: its ``bin``."""
    venv = tmp_path_factory.mktemp("cookiecutter-only") / "venv"
    run([BIN / "uv", "venv", "--quiet", "--python", base_python(), venv])
    run(
        [
            BIN / "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            venv / "bin" / "python",
            COOKIECUTTER_PIN,
        ]
    )
    return venv / "bin"


def imports_pydantic(bin_dir: Path) -> bool:
    probe = subprocess.run([bin_dir / "python", "-c", "import pydantic"], capture_output=True)
    return probe.returncode == 0


def bake_with(bin_dir, out, cache, *answers, path=BASE_PATH, extra_env=None):
    # The machine's own settings (certificates, proxies) stay; PATH and the cache are ours.
    env = {**os.environ, "PATH": path, "XDG_CACHE_HOME": str(cache)}
    started = time.monotonic()
    proc = subprocess.run(
        [bin_dir / "cookiecutter", TEMPLATE, "--no-input", "-o", out, *answers],
        capture_output=True,
        text=True,
        env={**env, **(extra_env or {})},
        timeout=600,
    )
    return proc, time.monotonic() - started


def test_cookiecutter_alone_bakes_and_still_refuses_bad_answers(cookiecutter_only, tmp_path):
    """No uv on PATH: the hook environment is made with python -m venv and pip."""
    assert not imports_pydantic(cookiecutter_only)
    cache = tmp_path / "cache"
    first, first_s = bake_with(cookiecutter_only, tmp_path / "one", cache)
    assert first.returncode == 0, first.stderr
    assert "Installing pydantic==" in first.stderr and "python -m venv + pip" in first.stderr
    assert (tmp_path / "one" / "my_project" / "uv.lock").is_file()

    second, second_s = bake_with(cookiecutter_only, tmp_path / "two", cache)
    assert second.returncode == 0, second.stderr
    assert "Installing" not in second.stderr  # the cache is reused

    refused, _ = bake_with(cookiecutter_only, tmp_path / "bad", cache, "dev_processes=100")
    assert refused.returncode != 0
    assert "dev_processes = '100': Input should be less than or equal to 32" in refused.stderr
    assert not (tmp_path / "bad" / "my_project").exists()
    assert not imports_pydantic(cookiecutter_only)  # nothing went into cookiecutter's venv
    print(f"\ncookiecutter alone (pip): first bake {first_s:.1f} s, second {second_s:.1f} s")


def test_with_uv_on_path_the_hook_environment_is_made_with_uv(cookiecutter_only, tmp_path):
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "uv").symlink_to(BIN / "uv")
    cache = tmp_path / "cache"
    first, first_s = bake_with(
        cookiecutter_only, tmp_path / "one", cache, path=f"{tools}:{BASE_PATH}"
    )
    assert first.returncode == 0, first.stderr
    assert "(uv; once, reused by later bakes)" in first.stderr
    assert not imports_pydantic(cookiecutter_only)
    print(f"\ncookiecutter alone (uv): first bake {first_s:.1f} s")


def test_offline_with_no_cache_says_what_is_missing_and_leaves_nothing(cookiecutter_only, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}/simple"
    proc, _ = bake_with(
        cookiecutter_only,
        tmp_path / "out",
        tmp_path / "cache",
        extra_env={"PIP_INDEX_URL": closed},
    )
    assert proc.returncode != 0
    [line] = [line for line in proc.stderr.splitlines() if "pydantic is needed" in line]
    assert "could not be installed" in line
    assert "uvx --with pydantic cookiecutter" in line
    assert not (tmp_path / "out").exists()


def test_shipped_locks_match_their_pyproject():
    """Each of the eight dependency sets' lock is current (scripts/lock.py --check)."""
    proc = run(
        [sys.executable, TEMPLATE / "scripts" / "lock.py", "--check"],
        env={"PATH": f"{BIN}:{BASE_PATH}"},
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr


def test_a_locked_sync_refuses_a_dependency_the_lock_lacks(tmp_path):
    run([sys.executable, "-m", "cookiecutter", TEMPLATE, "--no-input", "-o", tmp_path])
    project = tmp_path / "my_project"
    assert run([BIN / "uv", "lock", "--check"], cwd=project).returncode == 0
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace("dependencies = [\n", 'dependencies = [\n    "httpx>=0.27",\n', 1)
    )
    proc = run([BIN / "uv", "sync", "--locked"], cwd=project, check=False)
    assert proc.returncode != 0
    assert "needs to be updated" in proc.stderr


def test_the_printed_next_steps_work_in_a_fresh_venv(tmp_path):
    """Run in order as printed; long-running ones are started, checked, stopped."""
    baked = run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            TEMPLATE,
            "--no-input",
            "-o",
            tmp_path,
            "database=sqlite",
        ]
    )
    steps = baked.stdout.split("or without Docker", 1)[1].splitlines()[1:]
    commands = [
        part.strip()
        for line in steps
        if line.startswith("  ")
        for part in line.split("#", 1)[0].split("&&")
    ]
    assert commands[0] == "python -m venv .venv", commands
    project = tmp_path / "my_project"
    python_dir = tmp_path / "python"
    python_dir.mkdir()
    (python_dir / "python").symlink_to(base_python())  # the user's `python`
    run_id = uuid.uuid4().hex[:8]
    env = {
        "PATH": f"{python_dir}:{BASE_PATH}",
        "REDIS_URL": "redis://127.0.0.1:6379",
        "TASKS_NAMESPACE": f"first-contact-{run_id}",
        "CACHE_KEY_PREFIX": f"first-contact-{run_id}",
        "DRAMATIQ_LIVENESS_FILE": str(tmp_path / "alive"),
    }
    port = free_port()
    started = []
    try:
        for command in commands:
            args = command.split()
            if args[-1] in ("runserver", "worker"):
                args += [f"127.0.0.1:{port}"] if args[-1] == "runserver" else []
                log = (tmp_path / f"{args[-1]}.log").open("w")
                started.append(
                    subprocess.Popen(
                        [a.strip('"') for a in args],
                        cwd=project,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
                continue
            run([a.strip('"') for a in args], cwd=project, env=env, timeout=600)
        assert len(started) == 2, commands
        health = f"http://127.0.0.1:{port}/healthz/"
        probe = [
            project / ".venv" / "bin" / "python",
            "-c",
            "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)",
            health,
        ]
        wait_until(
            lambda: subprocess.run(probe, capture_output=True).returncode == 0,
            60,
            f"{health} answers",
        )
        ping = run(
            [project / ".venv" / "bin" / "python", "manage.py", "tasks_ping", "--timeout", "60"],
            cwd=project,
            env=env,
        )
        assert re.search(r"all \d+ queues answered", ping.stdout), ping.stdout
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=60)
        shutil.rmtree(project / ".venv", ignore_errors=True)
