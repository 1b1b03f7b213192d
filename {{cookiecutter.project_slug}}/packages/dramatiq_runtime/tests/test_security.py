"""Secrets stay secret: a Redis password never reaches output, logs or error messages."""

import secrets
import time
import uuid

import pytest

from .helpers import manage, start_worker, stop_worker
from .redis_server import RedisServer


@pytest.mark.django_db(transaction=True)
def test_redis_password_never_printed(tmp_path, shared_db):
    password = secrets.token_urlsafe(18)
    server = RedisServer(tmp_path, password=password).start()
    run = uuid.uuid4().hex[:8]
    env = {
        **shared_db,
        "REDIS_URL": server.url(),
        "TASKS_NAMESPACE": f"secret-{run}",
        "CACHE_KEY_PREFIX": f"secret-{run}-cache",
    }
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = start_worker(env=env, stdout=output)
    try:
        ping = manage("tasks_ping", "--timeout", "60", env=env)
        config = manage("taskconfig", env=env)
        refused = manage("check", env={**env, "DRAMATIQ_THREADS": "0"})
        server.stop()  # the worker now logs connection errors, with the URL's host
        time.sleep(3)
    finally:
        stop_worker(worker)
        server.stop()
    assert ping.returncode == 0, ping.stdout + ping.stderr  # it used the password
    assert "********" in config.stdout
    assert refused.returncode == 1
    worker_log = log.read_text()
    assert "connection" in worker_log.lower()  # the outage was logged...
    outputs = [ping.stdout, ping.stderr, config.stdout, config.stderr]
    outputs += [refused.stdout, refused.stderr, worker_log]
    assert all(password not in text for text in outputs)  # ...without the password
