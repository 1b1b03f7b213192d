"""The switches the test project leaves on (or off), flipped through the environment.

The test project tracks tasks, stores results and exports no metrics. A project may do
each the other way: here a worker and a process of its own run with
``DRAMATIQ_ADMIN_ENABLED=false``, ``TASKS_USE_RESULTS=false`` and
``DRAMATIQ_PROMETHEUS_ENABLED=true``, as such a project's would.
"""

import json
import time
import urllib.request

import pytest
from django.conf import settings
from django_dramatiq.models import Task
from dramatiq_runtime.config.middleware import switched
from dramatiq_runtime.config.workers import PROMETHEUS_MIDDLEWARE

from .helpers import free_port, manage, pinged_worker

CONFIG = settings.CONFIG
QUEUES = CONFIG.tasks.dramatiq.queues
# One switched worker: under pytest-xdist, these tests go to one of its workers.
pytestmark = pytest.mark.xdist_group("switches")

# What a process of the switched project reports (``manage.py shell``): the stack it
# runs, what its admin pages answer a superuser, and what reading a result says.
SEE = """
import json, time, uuid
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django_dramatiq.models import Task
from dramatiq_runtime.management.commands.taskconfig import running_middleware
from dramatiq_runtime.results_off import ResultsOff
from testproject.tasks.actors import default_example

token = uuid.uuid4().hex
message = default_example.send({"token": token})
deadline = time.monotonic() + 30
while (cache.get("tasks:last_run:default") or {}).get("payload") != {"token": token}:
    assert time.monotonic() < deadline, "the switched worker did not run the example"
    time.sleep(0.05)
try:
    message.get_result(block=True, timeout=10_000)
    result = "a result was read"
except ResultsOff as exc:
    result = str(exc)
with transaction.atomic():  # the superuser never outlives the script
    user = get_user_model().objects.create_superuser(f"switched-{token[:8]}")
    client = Client()
    client.force_login(user)
    urls = ["/admin/", "/admin/django_dramatiq/task/", "/admin/queues/"]
    pages = {url: client.get(url).status_code for url in urls}
    transaction.set_rollback(True)
print(json.dumps({
    "message_id": message.message_id,
    "middleware": [path.rsplit(".", 1)[1] for path in running_middleware()],
    "task_admin": admin.site.is_registered(Task),
    "pages": pages,
    "result": result,
}))
"""


@pytest.fixture(scope="module")
def flipped(redis_client, shared_db, tmp_path_factory):
    """A worker with the three switches flipped (its own namespace, metrics port and
    folder), and what a process of the same environment saw (``SEE``)."""
    port = free_port()
    env = {
        **shared_db,
        "TASKS_NAMESPACE": f"{CONFIG.tasks.namespace}-switched",
        "DRAMATIQ_ADMIN_ENABLED": "false",
        "TASKS_USE_RESULTS": "false",
        "DRAMATIQ_PROMETHEUS_ENABLED": "true",
        "DRAMATIQ_PROMETHEUS_HOST": "127.0.0.1",
        "DRAMATIQ_PROMETHEUS_PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("prometheus")),
    }
    with pinged_worker(env, tmp_path_factory.mktemp("switched")) as log:
        seen = manage("shell", "-c", SEE, env=env)
        assert seen.returncode == 0, seen.stderr[-3000:] + log.read_text()[-3000:]
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
        yield {
            **json.loads(seen.stdout.strip().splitlines()[-1]),
            "metrics": metrics.read().decode(),
            "log": log,
        }


def test_prometheus_follows_its_switch(flipped):
    """Off: not in the stack. On: in it, and the worker serves its counts."""
    assert not CONFIG.tasks.dramatiq.prometheus_enabled
    assert PROMETHEUS_MIDDLEWARE not in switched(CONFIG.tasks.dramatiq)
    names = flipped["middleware"]
    assert "Prometheus" in names  # before the configured rest, to time all of it
    assert names.index("Prometheus") < names.index("AgeLimit")
    processed = [
        line
        for line in flipped["metrics"].splitlines()
        if line.startswith("dramatiq_messages_total{") and 'actor_name="ping"' in line
    ]
    assert processed, flipped["metrics"][:2000]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in processed) >= len(QUEUES)
    assert " * Prometheus metrics on http://127.0.0.1:" in flipped["log"].read_text()


@pytest.mark.django_db
def test_admin_off_tracks_nothing_and_shows_no_task_pages(flipped):
    assert flipped["task_admin"] is False
    names = flipped["middleware"]
    assert "TaskTracking" not in names and "AdminMiddleware" not in names
    assert flipped["pages"] == {
        "/admin/": 200,
        "/admin/django_dramatiq/task/": 404,
        "/admin/queues/": 404,
    }
    time.sleep(1)  # more than the tracker's flush interval, were it on
    assert not Task.tasks.filter(id=flipped["message_id"]).exists()


def test_results_off_stores_nothing_and_reading_says_so(flipped):
    """The example actors declare ``store_results``: they import and run all the same."""
    assert "Results" in flipped["middleware"]
    assert flipped["result"].startswith("results are off (use_results")
