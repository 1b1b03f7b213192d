"""A broker that survives losing its Redis: Sentinel failovers and a managed-style swap.

Real processes on free ports: a master, two replicas and three sentinels (``SentinelSet``),
or two servers behind a relay that stands in for a managed Redis's one endpoint. A sender
enqueues ``probes.record`` messages while a real worker consumes them and the master is
killed, paused or swapped mid-run; every message is counted by its id in a trace kept on
the shared Redis, off the servers under test. No worker is restarted.
"""

import json
import os
import signal
import threading
import time
import uuid

import dramatiq
import pytest
import redis
from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.test import Client, override_settings
from django.urls import include, path
from dramatiq_runtime import redis_clients
from dramatiq_runtime.config import DjangoConfig
from dramatiq_runtime.config.redis_urls import with_db
from dramatiq_runtime.probes import forget, send_records, trace
from dramatiq_runtime.redis_backends import BrokerUnavailable, RedisBroker
from dramatiq_runtime.testing import wait_until

from .helpers import delete_keys, manage, start_worker, stop_worker
from .redis_sentinel import MASTER, PASSWORD, SENTINEL_PASSWORD, SentinelSet
from .redis_server import RedisServer
from .relay import Relay
from .test_scheduler import EVERY, Schedulers, per_tick

CONFIG = settings.CONFIG
SENT = 2000
TASK_SECONDS = 0.002
# Seconds between sends: 2,000 take about 8 s, and the fault lands mid-run.
SEND_EVERY = 0.004
FAULT_AFTER = 600  # sends before the fault
WORKER = ("--processes", "2", "--threads", "4")
# One at a time (one xdist worker): each runs six Redis processes and a worker, and a
# starved sentinel takes a slow host for a lost master.
pytestmark = [
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("failover"),
]


def report(run: str, counts: dict[str, float]) -> str:
    line = (
        f"{run}: {counts['sent']} sent, {counts['acknowledged']} acknowledged, "
        f"{counts['completed']} completed, {counts['lost']} lost, "
        f"{counts['duplicates']} duplicates; first task completed "
        f"{counts['recovery']:.1f} s after the failure"
    )
    print(f"\n{line}")
    return line


class Sender(threading.Thread):
    """Sends ``SENT`` records one by one. After ``FAULT_AFTER`` it calls ``inject`` (the
    fault, before the next send) and starts ``settle`` (what follows it) beside itself."""

    def __init__(self, broker: RedisBroker, inject, settle):
        super().__init__(daemon=True)
        self.broker = broker
        self.inject = inject
        self.settle = settle
        self.run_id = uuid.uuid4().hex
        self.acknowledged: list[str] = []
        self.refused: list[str] = []
        self.after_fault: list[str] = []  # acknowledged sends made after the fault
        self.fault_at: float | None = None

    def run(self) -> None:
        for count in range(SENT):
            if count == FAULT_AFTER:
                self.fault_at = time.monotonic()
                self.inject()
                threading.Thread(target=self.settle, daemon=True).start()
            try:
                _, [message_id] = send_records(
                    1, run=self.run_id, seconds=TASK_SECONDS, broker=self.broker
                )
            except BrokerUnavailable:
                self.refused.append(f"#{count}")
                continue
            self.acknowledged.append(message_id)
            if self.fault_at is not None:
                self.after_fault.append(message_id)
            time.sleep(SEND_EVERY)


def measure(sender: Sender, timeout: float = 120) -> dict[str, float]:
    """Wait until every acknowledged send completed; the counts and the recovery time."""
    sender.start()
    wait_until(lambda: sender.after_fault, 90, "a send acknowledged after the fault")
    first = sender.after_fault[0]
    wait_until(lambda: first in trace(sender.run_id), timeout, "that send completed")
    assert sender.fault_at is not None
    recovery = time.monotonic() - sender.fault_at
    sender.join(timeout)

    def counts():
        done = trace(sender.run_id)
        completed = [m for m in sender.acknowledged if m in done]
        return {
            "sent": SENT,
            "acknowledged": len(sender.acknowledged),
            "completed": len(completed),
            "lost": len(sender.acknowledged) - len(completed),
            "duplicates": sum(done[m] - 1 for m in completed),
            "recovery": recovery,
        }

    wait_until(
        lambda: counts()["lost"] == 0, timeout, "every acknowledged send", counts
    )
    time.sleep(1)  # a late duplicate would show up now
    return counts()


def sentinel_connection(sentinels: SentinelSet) -> dict:
    return DjangoConfig(
        redis={
            "sentinels": sentinels.addresses,
            "sentinel_master": MASTER,
            "sentinel_password": SENTINEL_PASSWORD,
            "password": PASSWORD,
        }
    ).redis.client_options()


@pytest.fixture
def sentinels(tmp_path):
    found = SentinelSet(tmp_path).start()
    yield found
    found.stop()


@pytest.fixture
def on_sentinels(sentinels, shared_db, tmp_path):
    """A worker on the Sentinel set, and a sender's broker there (WAIT for a replica)."""
    namespace = f"{CONFIG.tasks.namespace}-ha-{uuid.uuid4().hex[:8]}"
    env = {
        **shared_db,
        **sentinels.env(),
        "TASKS_NAMESPACE": namespace,
        "TASKS_PROBE_TRACE_URL": CONFIG.cache_default.url,
    }
    broker = RedisBroker(
        url=with_db(CONFIG.cache_default.redis_url, CONFIG.tasks.broker_db),
        connection=sentinel_connection(sentinels),
        namespace=namespace,
        wait_replicas=1,
        middleware=[],
    )
    with open(tmp_path / "worker.log", "w") as log:
        worker = start_worker(*WORKER, env=env, stdout=log)
    yield broker, env
    stop_worker(worker)


@pytest.mark.parametrize("fault", ["sigkill", "sigstop"])
def test_a_sentinel_failover_loses_no_acknowledged_send(sentinels, on_sentinels, fault):
    broker, _ = on_sentinels
    old = sentinels.master()
    assert old is sentinels.servers[0]
    assert old.process is not None
    pid = old.process.pid
    failover: dict[str, float] = {}

    def replaced():
        failover["seconds"] = sentinels.wait_for_new_master(old.port)
        if fault == "sigstop":
            time.sleep(2)  # replaced, and still paused: its clients time out
            os.kill(pid, signal.SIGCONT)  # back as a stale master

    signal_number = signal.SIGKILL if fault == "sigkill" else signal.SIGSTOP
    sender = Sender(broker, lambda: os.kill(pid, signal_number), replaced)
    try:
        counts = measure(sender)
    finally:
        forget(sender.run_id)
    report(f"Sentinel, master {fault}", counts)
    print(f"sentinels promoted a replica {failover['seconds']:.1f} s after the failure")
    assert counts["lost"] == 0
    assert counts["acknowledged"] + len(sender.refused) == SENT
    assert counts["acknowledged"] >= SENT * 0.99, sender.refused
    if fault == "sigstop":  # the stale master is demoted, not left beside the new one
        wait_until(
            lambda: sentinels.replicas_of(sentinels.master()) == 2,
            60,
            "the old master back as a replica",
            sentinels.logs,
        )


def test_a_managed_style_swap_heals_without_a_restart(shared_db, tmp_path):
    """One endpoint (the relay); the replica promoted and the old primary demoted behind
    it (Redis's FAILOVER: writes paused, the replica caught up, roles swapped)."""
    servers = []
    for name in ("primary", "replica"):
        (tmp_path / name).mkdir()
        servers.append(RedisServer(tmp_path / name, password=PASSWORD))
    primary, replica = servers
    primary.start(["--masterauth", PASSWORD])
    replica.start(
        ["--masterauth", PASSWORD, "--replicaof", "127.0.0.1", str(primary.port)]
    )
    relay = Relay(("127.0.0.1", primary.port))
    relayed = f"redis://:{PASSWORD}@127.0.0.1:{relay.port}"
    namespace = f"{CONFIG.tasks.namespace}-managed-{uuid.uuid4().hex[:8]}"
    env = {
        **shared_db,
        "REDIS_URL": relayed,
        "TASKS_NAMESPACE": namespace,
        "TASKS_PROBE_TRACE_URL": CONFIG.cache_default.url,
    }
    broker = RedisBroker(
        url=with_db(relayed, CONFIG.tasks.broker_db),
        connection=DjangoConfig().redis.client_options(),
        namespace=namespace,
        middleware=[],
    )
    wait_until(lambda: SentinelSet.replicas_of(primary) == 1, 20, "the replica in sync")

    def swap():  # Redis runs it in the background: writes paused, then roles swapped
        primary.client().execute_command(
            "FAILOVER", "TO", "127.0.0.1", replica.port, "TIMEOUT", 5000
        )

    def switch():
        wait_until(
            lambda: replica.client().info("replication")["role"] == "master",
            20,
            "the replica promoted",
        )
        relay.switch(("127.0.0.1", replica.port))  # new connections: the new primary

    with open(tmp_path / "worker.log", "w") as log:
        worker = start_worker(*WORKER, env=env, stdout=log)
    sender = Sender(broker, swap, switch)
    try:
        counts = measure(sender)
        old_role = primary.client().info("replication")["role"]
    finally:
        forget(sender.run_id)
        stop_worker(worker)
        relay.close()
        for server in servers:
            server.stop()
    report("managed-style swap behind one endpoint", counts)
    # The old primary is a replica now: connections that stayed on it were refused writes.
    assert old_role == "slave"
    assert counts["lost"] == 0
    assert counts["acknowledged"] == SENT, sender.refused


def test_a_send_gives_up_after_the_failover_timeout_and_says_so(tmp_path):
    (tmp_path / "gone").mkdir()
    server = RedisServer(tmp_path / "gone").start()
    broker = RedisBroker(
        url=server.url(1),
        connection=DjangoConfig().redis.client_options(),
        namespace=f"gone-{uuid.uuid4().hex[:8]}",
        failover_timeout=1500,
        middleware=[],
    )
    server.stop()
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as info:
        send_records(1, broker=broker)
    waited = time.monotonic() - started
    assert "within the failover timeout (1500 ms, REDIS_FAILOVER_TIMEOUT)" in str(
        info.value
    )
    assert 1.5 <= waited < 15, waited


def test_the_scheduler_and_task_results_ride_out_a_failover(
    sentinels, shared_db, tmp_path, redis_client
):
    """One fire per tick across a SIGKILLed master; a @task result stored before it is
    read after it, and a @task sent after it completes."""
    group = Schedulers(
        tmp_path,
        shared_db,
        extra={**sentinels.env(), "TASKS_PROBE_TRACE_URL": CONFIG.cache_default.url},
    )
    try:
        group.start("a")
        group.start("b")
        wait_until(lambda: len(group.sends()) >= 3, 60, "three ticks sent")
        before = enqueue_add(group.env)
        wait_until(
            lambda: result_of(group.env, before)[0] == "SUCCESSFUL", 60, "add ran"
        )
        time.sleep(1)  # replicated (asynchronously) before the kill
        old = sentinels.master()
        assert old.process is not None
        os.kill(old.process.pid, signal.SIGKILL)
        killed = time.time()
        sentinels.wait_for_new_master(old.port)
        wait_until(
            lambda: any(moment > killed + EVERY for moment, _, _ in group.sends()),
            60,
            "a tick sent after the failover",
        )
        after = enqueue_add(group.env)
        wait_until(
            lambda: result_of(group.env, after)[0] == "SUCCESSFUL", 60, "add ran after"
        )
        group.stop()
        sends = group.sends()
        wait_until(lambda: group.runs() >= len(sends), 60, "the worker ran every send")
        counts = per_tick(sends)
        print(
            f"\nscheduler across a Sentinel failover: {len(counts)} ticks, sends per "
            f"tick {counts}; @task results {result_of(group.env, before)}, "
            f"{result_of(group.env, after)}"
        )
        assert max(counts) == 1, counts
        assert group.runs() == len(sends)
        assert result_of(group.env, before) == ["SUCCESSFUL", 5]
        assert result_of(group.env, after) == ["SUCCESSFUL", 5]
    finally:
        group.close()


def enqueue_add(env: dict[str, str]) -> str:
    code = "from tests.task_functions import add; print(add.enqueue(2, 3).id)"
    return last_line(manage("shell", "-c", code, env=env))


def result_of(env: dict[str, str], result_id: str) -> list:
    code = (
        "import json; from tests.task_functions import add; "
        f"r = add.get_result({result_id!r}); "
        "print(json.dumps([r.status, r.return_value if r.is_finished else None]))"
    )
    return json.loads(last_line(manage("shell", "-c", code, env=env)))


def last_line(process) -> str:
    assert process.returncode == 0, process.stdout + process.stderr
    return process.stdout.strip().splitlines()[-1]


def send_view(request):
    run, [message_id] = send_records(1, broker=dramatiq.get_broker())
    forget(run)
    return JsonResponse({"sent": message_id})


urlpatterns = [
    path("admin/queues/", include("dramatiq_runtime.urls")),
    path("admin/", admin.site.urls),
    path("send/", send_view),
]


@override_settings(ROOT_URLCONF=__name__)
def test_pages_and_sends_while_the_broker_is_away(tmp_path, admin_client):
    """While the broker's Redis is away: the Queues page and /healthz/ answer 503 with a
    plain statement, a view that sends fails (500, not 200); all well again after."""
    (tmp_path / "broker").mkdir()
    server = RedisServer(tmp_path / "broker").start()
    project_broker = dramatiq.get_broker()
    broker = RedisBroker(
        url=server.url(CONFIG.tasks.broker_db),
        connection={"socket_timeout": 1},
        namespace=f"away-{uuid.uuid4().hex[:8]}",
        failover_timeout=1000,
        middleware=[],
    )
    dramatiq.set_broker(broker)
    web = Client(raise_request_exception=False)
    try:
        assert admin_client.get("/admin/queues/").status_code == 200
        assert web.get("/send/").status_code == 200
        server.stop()
        page = admin_client.get("/admin/queues/")
        health = web.get("/healthz/")
        assert page.status_code == 503
        assert 'id="broker-unavailable"' in page.content.decode()
        assert 'id="queues"' not in page.content.decode()
        assert health.status_code == 503
        assert health.json()["failed"] == ["broker"]
        assert web.get("/send/").status_code == 500
        server.start()
        assert admin_client.get("/admin/queues/").status_code == 200
        assert web.get("/healthz/").status_code == 200
        assert web.get("/send/").status_code == 200
    finally:
        dramatiq.set_broker(project_broker)
        server.stop()


def test_what_a_worker_holds_in_redis_but_not_in_memory_comes_back(redis_client):
    """A fetch whose reply never arrived (the connection dropped after Redis ran it) left
    the message in this worker's acks set; the consumer's next look gives it back. A
    message the worker does hold is left alone."""
    namespace = f"{CONFIG.tasks.namespace}-lostreply-{uuid.uuid4().hex[:8]}"
    broker = RedisBroker(
        url=CONFIG.tasks.broker_url,
        connection=CONFIG.redis.client_options(),
        namespace=namespace,
        middleware=[],
    )
    broker.declare_queue("default")
    client = redis.Redis.from_url(CONFIG.tasks.broker_url)
    acks = f"{namespace}:__acks__.{broker.broker_id}.default"
    try:
        run, [held_id, lost_id] = send_records(2, broker=broker)
        consumer = broker.consume("default", prefetch=2, timeout=100)
        [first] = broker.do_fetch("default", 1)  # as the consumer's own fetch would
        consumer.message_cache = [first]
        held = next(consumer)  # handed out: a worker thread would be running it now
        assert held is not None and held.message_id == held_id
        broker.do_fetch("default", 1)  # run in Redis, its reply lost on the way
        assert client.scard(acks) == 2 and client.llen(f"{namespace}:default") == 0
        broker.next_recovery["default"] = 0.0  # the periodic look is due
        given_back = next(consumer)
        assert given_back is not None and given_back.message_id == lost_id
        consumer.ack(held)
        consumer.ack(given_back)
        assert client.scard(acks) == 0 and client.hlen(f"{namespace}:default.msgs") == 0
        forget(run)
    finally:
        delete_keys(client, f"{namespace}:*")


def test_a_command_caught_by_a_frozen_master_completes_on_the_new_one(sentinels):
    """Its retries ask the sentinels again: redis-py's own reconnect went back to the
    paused master on every retry (and raised TimeoutError after four socket timeouts)."""
    client = redis_clients.client(
        with_db("redis://sentinel/", 1),
        # Longer than the failover: the first retry finds the new master named.
        {**sentinel_connection(sentinels), "socket_timeout": 10.0},
    )
    client.set("before", "1")
    old = sentinels.master()
    assert old.process is not None
    os.kill(old.process.pid, signal.SIGSTOP)
    try:
        assert client.set("during", "1")  # retried onto the new master
        assert sentinels.master_port() != old.port
        assert client.get("before") == b"1"
    finally:
        os.kill(old.process.pid, signal.SIGCONT)
