"""The admin's Queues page and what it reads, on the real Redis with a real worker."""

import json
import time
import uuid
from types import SimpleNamespace

import pytest
from django.conf import settings
from dramatiq.brokers.redis import RedisBroker
from dramatiq_runtime.middleware.registry import WorkerRegistry
from dramatiq_runtime.probes import forget, noop, send_records, tally
from dramatiq_runtime.queues import REGISTRY, BrokerView
from dramatiq_runtime.testing import wait_until

from .helpers import delete_keys

CONFIG = settings.CONFIG


@pytest.fixture
def own_broker(redis_client):
    """A broker on a namespace of its own, with no worker: counts stay put."""
    namespace = f"{CONFIG.tasks.namespace}-page-{uuid.uuid4().hex[:8]}"
    broker = RedisBroker(url=CONFIG.tasks.broker_url, namespace=namespace)
    broker.declare_queue("default")
    yield broker
    delete_keys(broker.client, f"{namespace}:*")
    broker.close()


def test_counts_ages_and_dead_letter_actions(own_broker):
    view = BrokerView(own_broker)
    old = noop.message().copy(message_timestamp=int(time.time() * 1000) - 90_000)
    own_broker.enqueue(old)
    for _ in range(4):
        own_broker.enqueue(noop.message())
    for _ in range(2):
        own_broker.enqueue(noop.message(), delay=60_000)
    oldest = view.queues(["default"])[0].oldest_age
    assert oldest is not None and 89 <= oldest < 120  # the head of the list, 90 s old
    consumer = own_broker.consume("default", prefetch=3, timeout=1000)
    fetched = [next(consumer) for _ in range(3)]
    for message in fetched:  # nack: dead-lettered, as after the last retry
        consumer.nack(message)
    consumer.close()

    (state,) = view.queues(["default"])
    assert (state.ready, state.delayed, state.dead) == (2, 2, 3)
    assert state.oldest_age is not None and state.oldest_age < 90  # the 90 s one went
    dead = {m.message_id for m in view.dead_letters("default")}
    assert dead == {m.message_id for m in fetched}

    assert sorted(view.requeue_dead("default")) == sorted(dead)
    (state,) = view.queues(["default"])
    assert (state.ready, state.dead) == (5, 0)

    consumer = own_broker.consume("default", prefetch=1, timeout=1000)
    last = next(consumer)
    assert last is not None
    consumer.nack(last)
    consumer.close()
    assert view.purge_dead("default") == (1, [last.message_id])
    assert view.queues(["default"])[0].dead == 0


def test_reading_writes_nothing_and_a_booting_worker_prunes_the_registry(own_broker):
    key = f"{own_broker.namespace}:{REGISTRY}"
    client = own_broker.client
    long_ago = time.time() - 3600
    entries = {
        "killed": {"queues": ["default"], "since": long_ago},  # no heartbeat: gone
        "live": {"queues": ["default"], "since": long_ago},  # beats: stays
        "booting": {"queues": ["default"], "since": time.time()},  # young: stays
    }
    client.hset(key, mapping={name: json.dumps(e) for name, e in entries.items()})
    client.zadd(f"{own_broker.namespace}:__heartbeats__", {"live": time.time() * 1000})
    view = BrokerView(own_broker)
    view.queues(["default"], view.workers(view.clients()))
    assert len(client.hkeys(key)) == 3  # the page only reads

    # A worker boots (the middleware's hook, with the one attribute it reads).
    booting = SimpleNamespace(consumers={"default": None})
    WorkerRegistry().after_worker_boot(own_broker, booting)
    own = own_broker.broker_id
    assert sorted(client.hkeys(key)) == sorted(
        name.encode() for name in ("live", "booting", own)
    )
    assert json.loads(client.hget(key, own))["queues"] == ["default"]


@pytest.mark.django_db(transaction=True)
def test_the_page_lists_queues_and_workers_and_requeues(worker, admin_client, client):
    assert client.get("/admin/queues/").status_code == 302  # not staff: the login page

    page = admin_client.get("/admin/queues/").content.decode()
    for queue in CONFIG.tasks.dramatiq.queues:
        assert f'data-queue="{queue}"' in page
    assert '<tr class="alive">' in page
    assert ", ".join(sorted(CONFIG.tasks.dramatiq.queues)) in page  # the worker's

    # A message that fails its only try, dead-lettered, requeued from the page, done.
    run, ids = send_records(1, fail=1, options={"max_retries": 0})
    view = BrokerView()
    wait_until(
        lambda: ids[0] in {m.message_id for m in view.dead_letters("default")},
        30,
        "dead",
    )
    confirm = admin_client.get("/admin/queues/default/requeue/").content.decode()
    assert ids[0] in confirm and "Yes, requeue them" in confirm
    done = admin_client.post("/admin/queues/default/requeue/", follow=True)
    assert "Requeued" in done.content.decode()
    wait_until(
        lambda: tally(run, ids)["completed"] == 1, 30, "the requeued message done"
    )
    forget(run)
    assert admin_client.get("/admin/queues/nope/purge/").status_code == 404
