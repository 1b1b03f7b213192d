"""The README's main-job command, end to end: bake, install, migrate, worker, tasks_ping."""

import socket

from conftest import TEMPLATE, run


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_up_script_brings_the_project_up(tmp_path):
    proc = run(
        ["bash", TEMPLATE / "scripts" / "up.sh", "--smoke", "database=sqlite"],
        env={"DEMO_DIR": str(tmp_path / "demo"), "PORT": str(free_port())},
        timeout=600,
    )
    assert "all 3 queues answered" in proc.stdout
    assert '"status": "ok"' in proc.stdout
    assert "smoke run passed" in proc.stdout
