"""The README's main-job command, end to end: bake, install, migrate, worker, tasks_ping."""

import uuid

import redis

from conftest import TEMPLATE, free_port, run


def test_up_script_brings_the_project_up(tmp_path):
    namespace = f"upjob-{uuid.uuid4().hex[:8]}"  # its own keys on the shared Redis
    env = {
        "DEMO_DIR": str(tmp_path / "demo"),
        "PORT": str(free_port()),
        "TASKS_NAMESPACE": namespace,
        "CACHE_KEY_PREFIX": f"{namespace}-cache",
    }
    try:
        proc = run(
            ["bash", TEMPLATE / "scripts" / "up.sh", "--smoke", "database=sqlite"],
            env=env,
            timeout=600,
        )
    finally:
        for db in range(3):
            client = redis.Redis(db=db)
            for key in client.scan_iter(f"{namespace}*"):
                client.delete(key)
    assert "all 3 queues answered" in proc.stdout
    assert '"status": "ok"' in proc.stdout
    assert "smoke run passed" in proc.stdout
    assert "scheduler healthy" in proc.stdout  # the default has a scheduler
