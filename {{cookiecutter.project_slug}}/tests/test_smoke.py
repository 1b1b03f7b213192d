"""End to end, as production runs it: a real ``manage.py worker`` process on every queue.

Each example actor sent from here is run by that worker, and Django's ``@task`` API too.
Keep this test when you replace the examples: send your own actors the same way.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django_dramatiq.models import Task
from dramatiq_runtime.testing import stop_process, test_database_url, wait_until

from {{ cookiecutter.project_slug }}.tasks import actors
from {{ cookiecutter.project_slug }}.tasks.portable import count_words

PROJECT = Path(__file__).resolve().parents[1]
CONFIG = settings.CONFIG


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A worker on every queue, sharing the test database; its log goes to a file (a pipe
    nobody reads would fill up and stop it)."""
    env = {**os.environ, "DJANGO_ENV": "test", "DATABASE_URL": test_database_url()}
    log = tmp_path / "worker.log"
    command = [sys.executable, "manage.py", "worker", "-p", "1", "-t", "2"]
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ping = subprocess.run(
        [sys.executable, "manage.py", "tasks_ping", "--timeout", "60"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )
    yield ping, log
    stop_process(process, timeout=30)


def test_a_real_worker_runs_every_example(worker):
    ping, log = worker
    # Every queue answered.
    assert ping.returncode == 0, ping.stdout + ping.stderr + log.read_text()
    token = uuid.uuid4().hex
    sent = {}
    for queue in CONFIG.tasks.dramatiq.queues:
        actor = getattr(actors, f"{queue.replace('-', '_')}_example")
        sent[queue] = actor.send({"token": token})
    for queue, message in sent.items():

        def ran(queue: str = queue) -> bool:
            run = cache.get(f"tasks:last_run:{queue}") or {}
            return run.get("payload") == {"token": token}

        wait_until(ran, 30, f"{queue}_example ran")
        if CONFIG.tasks.use_results:
            result = message.get_result(block=True, timeout=10_000)
            assert result["payload"] == {"token": token} and result["queue"] == queue
        if CONFIG.tasks.dramatiq.admin_enabled:  # tracked: its row reaches "done"
            done = Task.tasks.filter(id=message.message_id, status=Task.STATUS_DONE)
            wait_until(done.exists, 30, f"{queue}_example's task row says done")

    result = count_words.enqueue("a real worker counts these words")
    wait_until(lambda: result.refresh() or result.is_finished, 30, "the @task finished")
    assert result.return_value == 6
