"""No task lost: workers killed or stopped mid-task, Redis restarted, retries and limits.

Every message is a ``probes.record`` keyed by its message id, so both losses and duplicates
are counted. The kill and restart tests run on a Redis server of their own (AOF on); the
test profile's ``heartbeat_timeout`` (5 s) and ``maintenance_chance`` (10 %) bring a killed
worker's messages back within seconds (production keeps Dramatiq's 60 s).
"""

import os
import signal
import time
import uuid

import dramatiq
import pytest
import redis
from django.conf import settings
from dramatiq.brokers.redis import _RedisConsumer
from dramatiq_runtime.probes import forget, send_records, tally, trace
from dramatiq_runtime.redis_backends import RedisBroker
from dramatiq_runtime.testing import wait_until

from .helpers import delete_keys, start_worker, stop_worker
from .redis_server import RedisServer

CONFIG = settings.CONFIG
BROKER_URL = CONFIG.tasks.broker_url  # resolved by the config: the broker's own DB
SENT = 600  # messages per fault
TASK_SECONDS = 0.02
DELAYED, DELAY_MS = 50, 15_000  # of the Redis-restart test's messages
OUTAGE_SECONDS = 3
WORKER = ("--processes", "2", "--threads", "4")
pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def report(fault: str, counts: dict[str, int]) -> None:
    """The line the reliability claim rests on; run pytest with -s to see it."""
    print(
        f"\n{fault}: {counts['sent']} sent, {counts['completed']} completed, "
        f"{counts['lost']} lost, {counts['duplicates']} duplicates"
    )


def completed(run: str, count: int):
    return lambda: len(trace(run)) >= count


def unacked(client: redis.Redis, namespace: str) -> int:
    """Messages some worker took and neither acknowledged nor gave back."""
    keys = client.scan_iter(f"{namespace}:__acks__.*")
    return sum(client.scard(key) for key in keys)


def broker_on(url: str, namespace: str) -> RedisBroker:
    """A broker built from the project's own config, pointed at ``url`` and ``namespace``."""
    tasks = CONFIG.tasks.model_copy(update={"broker_url": url, "namespace": namespace})
    options = tasks.to_django_config(CONFIG.cache_default)["DRAMATIQ_BROKER"]["OPTIONS"]
    return RedisBroker(**options, middleware=[])


@pytest.fixture
def private_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def fault(private_redis, shared_db, tmp_path):
    """Broker, worker environment and cleanup for one fault on the private Redis."""
    namespace = f"{CONFIG.tasks.namespace}-fault-{uuid.uuid4().hex[:8]}"
    url = private_redis.url(CONFIG.tasks.broker_db)
    runs = []

    class Fault:
        broker = broker_on(url, namespace)
        client = redis.Redis.from_url(url)
        env = {**shared_db, "TASKS_BROKER_URL": url, "TASKS_NAMESPACE": namespace}

        def send(self, count, run=None, delay_ms=None):
            run, ids = send_records(
                count,
                run=run,
                seconds=TASK_SECONDS,
                broker=self.broker,
                delay_ms=delay_ms,
            )
            runs.append(run)
            return run, ids

        def start_worker(self):
            with open(tmp_path / f"worker-{time.monotonic_ns()}.log", "w") as log:
                return start_worker(*WORKER, env=self.env, stdout=log)

        def finish(self, run, ids, timeout, what="every message completed"):
            """A fresh worker until every message is done (plus 1 s for late duplicates)."""
            worker = self.start_worker()
            try:
                wait_until(
                    lambda: tally(run, ids)["lost"] == 0,
                    timeout,
                    what,
                    self.state(run, ids),
                )
                time.sleep(1)  # a late duplicate would show up now
            finally:
                stop_worker(worker)
            return tally(run, ids)

        def state(self, run, ids):
            return lambda: {
                **tally(run, ids),
                "queued": self.queued(),
                "delayed": self.client.hlen(f"{namespace}:default.DQ.msgs"),
                "unacked": self.unacked(),
            }

        def unacked(self) -> int:
            return unacked(self.client, namespace)

        def queued(self) -> int:
            return self.client.llen(f"{namespace}:default")

    yield Fault()
    for run in runs:
        forget(run)


def test_sigkill_mid_task_loses_nothing(fault):
    kills = 3
    run, ids = fault.send(SENT)
    interrupted = 0
    for kill in range(1, kills + 1):
        worker = fault.start_worker()
        target = SENT * kill // (kills + 1)
        wait_until(completed(run, target), 60, f"{target} done before kill {kill}")
        os.killpg(worker.pid, signal.SIGKILL)  # master and worker processes, no warning
        worker.wait()
        tries, done = trace(run, "tries"), trace(run)
        interrupted += sum(1 for message_id in tries if message_id not in done)
    assert interrupted > 0, "no kill landed while a task was running"

    counts = fault.finish(run, ids, timeout=90)
    report(f"SIGKILL x{kills} ({interrupted} tasks interrupted)", counts)
    assert counts["lost"] == 0
    assert counts["completed"] == SENT


def test_sigterm_finishes_or_requeues_in_flight_tasks(fault):
    run, ids = fault.send(SENT)
    worker = fault.start_worker()
    wait_until(completed(run, SENT // 3), 60, "a third completed")
    worker.send_signal(signal.SIGTERM)  # the master only, as `docker compose stop` does
    stopping = time.monotonic()
    shutdown_wait = CONFIG.tasks.dramatiq.worker_shutdown_timeout / 1000
    assert worker.wait(timeout=shutdown_wait + 15) == 0
    stopped_in = time.monotonic() - stopping
    # Nothing waits for a heartbeat timeout: every message is done or back in its queue
    # (a retry waits in the delay queue), prefetched ones included (RequeuePrefetched).
    state = fault.state(run, ids)()
    assert state["unacked"] == 0, state
    assert state["completed"] + state["queued"] + state["delayed"] == SENT, state

    counts = fault.finish(run, ids, timeout=60)
    report(f"SIGTERM (stopped in {stopped_in:.1f} s)", counts)
    assert counts["lost"] == 0
    assert counts["duplicates"] == 0  # a graceful stop runs nothing twice


def test_redis_restart_with_aof_loses_nothing(fault, private_redis, tmp_path):
    """Workers reconnect and go on; everything Redis acknowledged survives the restart.

    Messages a worker holds in Redis but not in memory as Redis goes down (delayed ones,
    such as retries waiting out their backoff, whose consumer meets the outage; a fetch
    whose reply was lost) stayed in that worker's ack set for as long as the worker lived
    (dramatiq issue 527). The runtime's broker gives them back (``redis_backends``): the
    same worker, never restarted, completes every message.
    """
    run, delayed = fault.send(DELAYED, delay_ms=DELAY_MS)
    _, first = fault.send(SENT // 2 - DELAYED, run=run)
    worker = fault.start_worker()
    try:
        wait_until(completed(run, SENT // 6), 60, "a sixth completed")
        # Down long enough that the clients' own retries give up (a quick restart they
        # ride out): the worker's consumers meet the outage.
        private_redis.stop()
        time.sleep(OUTAGE_SECONDS)
        private_redis.start()
        _, second = fault.send(SENT - SENT // 2, run=run)
        ids = delayed + first + second
        wait_until(
            lambda: tally(run, ids)["lost"] == 0,
            DELAY_MS / 1000 + 60,
            "every message completed by the same worker",
            fault.state(run, ids),
        )
        assert worker.poll() is None, "the worker died with the Redis restart"
        time.sleep(1)  # a late duplicate would show up now
    finally:
        stop_worker(worker)
    counts = tally(run, ids)
    logs = "".join(path.read_text() for path in tmp_path.glob("worker-*.log"))
    given_back = sum(
        int(line.split("Gave back ", 1)[1].split()[0])
        for line in logs.splitlines()
        if "Gave back " in line and "held in Redis" in line
    )
    report(
        f"Redis down {OUTAGE_SECONDS} s, AOF (the same worker; {given_back} it held in "
        "Redis but no longer in memory given back)",
        counts,
    )
    assert counts["lost"] == 0
    assert fault.unacked() == 0, fault.state(run, ids)()


@pytest.fixture(scope="module")
def policy_worker(redis_client, shared_db, tmp_path_factory):
    """A worker with short retry, age and time limits, set through the environment."""
    namespace = f"{CONFIG.tasks.namespace}-policy-{uuid.uuid4().hex[:8]}"
    limits = {
        "DRAMATIQ_MAX_RETRIES": "2",
        "DRAMATIQ_MIN_BACKOFF": "100",
        "DRAMATIQ_MAX_BACKOFF": "1000",
        # Far above a retried message's age even on a loaded machine: a 3rd try killed by
        # AgeLimit would look like too few retries.
        "DRAMATIQ_MAX_AGE": "60000",
        # For the time-limit test; tests whose tries must not be cut give their messages
        # a longer ``time_limit`` option (a message's option wins over the worker's).
        "DRAMATIQ_TIME_LIMIT": "3000",
    }
    log = tmp_path_factory.mktemp("policy") / "worker.log"
    env = {**shared_db, **limits, "TASKS_NAMESPACE": namespace}
    with log.open("w") as output:
        process = start_worker(*WORKER, env=env, stdout=output)
    client = redis.Redis.from_url(BROKER_URL)
    yield broker_on(BROKER_URL, namespace), client, namespace, log
    stop_worker(process)
    delete_keys(client, f"{namespace}:*")


def dead_letters(policy_worker) -> int:
    _, client, namespace, _ = policy_worker
    return client.zcard(f"{namespace}:default.XQ")


def dead_retries(policy_worker, ids: list[str]) -> dict[str, int]:
    """The ``retries`` option of each of ``ids`` in the dead-letter queue, by message id."""
    _, client, namespace, _ = policy_worker
    stored = client.hvals(f"{namespace}:default.XQ.msgs")
    messages = [dramatiq.Message.decode(data) for data in stored]
    return {
        m.message_id: m.options.get("retries", 0)
        for m in messages
        if m.message_id in ids
    }


@pytest.mark.xdist_group("policy")  # one policy worker, not one per xdist worker
def test_exhausted_retries_land_in_the_dead_letter_queue(policy_worker):
    broker, log = policy_worker[0], policy_worker[3]
    before = dead_letters(policy_worker)
    # The worker's 3 s TimeLimit is for the time-limit test: a try stalled that long on a
    # loaded machine must not be cut before it is counted. The message's own option wins.
    limits = {"time_limit": 60_000}
    run, ids = send_records(3, fail=True, broker=broker, options=limits)
    wait_until(lambda: dead_letters(policy_worker) == before + 3, 30, "3 dead letters")
    # Dramatiq's own count: each dead message was retried max_retries (2) times.
    assert dead_retries(policy_worker, ids) == dict.fromkeys(ids, 2)
    # The trace (cache DB) and the dead letters (broker DB) are two Redis databases read
    # one after the other: wait for the trace too rather than read it once.
    tried_three_times = dict.fromkeys(ids, 3)  # first try + max_retries 2
    wait_until(
        lambda: trace(run, "tries") == tried_three_times,
        10,
        "3 tries each",
        state=lambda: f"{trace(run, 'tries')}\n{log.read_text()[-3000:]}",
    )
    assert trace(run) == {}
    forget(run)


@pytest.mark.xdist_group("policy")
def test_max_age_drops_stale_messages(policy_worker):
    broker = policy_worker[0]
    before = dead_letters(policy_worker)
    stale_run, _ = send_records(2, created_ago_ms=600_000, broker=broker)
    fresh_run, fresh = send_records(2, broker=broker)
    wait_until(lambda: len(trace(fresh_run)) == 2, 30, "fresh messages done")
    wait_until(lambda: dead_letters(policy_worker) == before + 2, 30, "2 dead letters")
    assert trace(stale_run, "tries") == {}  # never run
    forget(stale_run)
    forget(fresh_run)


@pytest.mark.xdist_group("policy")
def test_time_limit_stops_a_stuck_task(policy_worker):
    broker, log = policy_worker[0], policy_worker[3]
    before = dead_letters(policy_worker)
    started = time.monotonic()
    run, ids = send_records(1, seconds=60, broker=broker)
    wait_until(lambda: dead_letters(policy_worker) == before + 1, 30, "1 dead letter")
    assert time.monotonic() - started < 30  # three 3 s attempts, not 60 s
    assert trace(run, "tries") == dict.fromkeys(ids, 3)
    assert trace(run) == {}
    assert "TimeLimitExceeded" in log.read_text()
    forget(run)


def test_a_stopping_consumer_gives_back_its_prefetched_messages(redis_client):
    """Dramatiq leaves a consumer's prefetch cache leased; RequeuePrefetched returns it."""
    from types import SimpleNamespace

    from dramatiq_runtime.middleware.requeue import RequeuePrefetched

    namespace = f"{CONFIG.tasks.namespace}-prefetch-{uuid.uuid4().hex[:8]}"
    broker = broker_on(BROKER_URL, namespace)
    client = redis.Redis.from_url(BROKER_URL)
    try:
        broker.declare_queue("default")
        run, _ = send_records(5, broker=broker)
        consumer = broker.consume("default", prefetch=5, timeout=100)
        assert isinstance(consumer, _RedisConsumer)  # the cache is Redis-specific
        assert next(consumer) is not None  # one handed out, four left in the cache
        assert len(consumer.message_cache) == 4
        assert client.llen(f"{namespace}:default") == 0
        RequeuePrefetched().before_consumer_thread_shutdown(
            broker, SimpleNamespace(consumer=consumer)
        )
        assert client.llen(f"{namespace}:default") == 4  # back in the queue at once
        assert unacked(client, namespace) == 1  # only the one handed out
        forget(run)
    finally:
        delete_keys(client, f"{namespace}:*")
