"""Sentry through a real worker to a local ingest endpoint used as the DSN.

The worker and the sender run with ``SENTRY_DSN`` pointing at a receiver this module
starts; it parses the envelopes sentry-sdk really sends. Traces are on (sample rate 1),
so the request's transaction and the worker's error share one trace id.
"""

import json
import uuid

import pytest
from django.conf import settings
from dramatiq_runtime.testing import wait_until

from .helpers import manage, pinged_worker
from .receivers import sentry_receiver
from .test_tracing import REQUEST

CONFIG = settings.CONFIG
# django_db: pytest-django creates the test database only for a session that asks for it.
pytestmark = [pytest.mark.xdist_group("sentry"), pytest.mark.django_db]

# Two ticks of the first schedule, as the scheduler sends them, with Sentry Crons on.
TICKS = """
import json
from django.conf import settings
from dramatiq_runtime import error_reporting, scheduling
import dramatiq
found = scheduling.jobs(settings.CONFIG.tasks.schedules, dramatiq.get_broker())
monitors = error_reporting.monitors(settings.CONFIG.project_slug, found, settings.TIME_ZONE)
job = found[0]
for _ in range(2):
    scheduling.send(job.schedule.actor, job.queue, [], {}, monitors.get(job.index))
import sentry_sdk
sentry_sdk.flush(5)
print(json.dumps({"monitors": {str(k): v for k, v in monitors.items()}}))
"""


@pytest.fixture(scope="module")
def sentry(redis_client, shared_db, tmp_path_factory):
    receiver = sentry_receiver()
    env = {
        **shared_db,
        "TASKS_NAMESPACE": f"{CONFIG.tasks.namespace}-sentry",
        "SENTRY_DSN": f"http://public@127.0.0.1:{receiver.port}/42",
        "SENTRY_TRACES_SAMPLE_RATE": "1.0",
        "SENTRY_RELEASE": "tests-1",
    }
    try:
        with pinged_worker(env, tmp_path_factory.mktemp("sentry")):
            yield receiver, env
    finally:
        receiver.stop()


def wait_for(receiver, found, what: str, at_least: int = 1, timeout: float = 30):
    """The items received that ``found`` accepts, once there are ``at_least``."""
    return wait_until(
        lambda: (
            len(items := [i for i in receiver.items() if found(i)]) >= at_least
            and items
        ),
        timeout,
        what,
        state=lambda: [i["type"] for i in receiver.items()],
    )


def test_an_actors_exception_reaches_sentry_with_the_requests_trace(sentry):
    receiver, env = sentry
    token = uuid.uuid4().hex
    # Fails its first attempt (then succeeds on the retry): the failure is the event.
    done = manage(
        "shell", "-c", REQUEST.format(token=token, failures=1), env=env, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    message_id = json.loads(done.stdout.strip().splitlines()[-1])["message_id"]

    def is_our_error(item):
        payload = item["payload"]
        return (
            item["type"] == "event"
            and isinstance(payload, dict)
            and payload.get("extra", {}).get("dramatiq_message_id") == message_id
        )

    event = wait_for(receiver, is_our_error, "the task's error event")[0]["payload"]
    exception = event["exception"]["values"][-1]
    print(
        "\nthe Sentry event's fields: "
        + json.dumps(
            {
                "exception": f"{exception['type']}: {exception['value']}",
                "dramatiq_message_id": event["extra"]["dramatiq_message_id"],
                "transaction": event.get("transaction"),
                "tags": event.get("tags"),
                "trace_id": event["contexts"]["trace"]["trace_id"],
                "release": event.get("release"),
                "environment": event.get("environment"),
            }
        )
    )
    assert exception["type"] == "RuntimeError" and token in exception["value"]
    assert event["transaction"] == "traced_work"
    assert event["tags"]["dramatiq.queue"] == "default"
    assert event["tags"]["dramatiq.actor"] == "traced_work"
    assert event["release"] == "tests-1" and event["environment"] == "test"
    # The request that sent it, as a transaction of the sending process: one trace.
    requests = wait_for(
        receiver,
        lambda i: (
            i["type"] == "transaction"
            and "traced" in str(i["payload"].get("transaction"))
        ),
        "the request's transaction",
    )
    request_traces = {r["payload"]["contexts"]["trace"]["trace_id"] for r in requests}
    assert event["contexts"]["trace"]["trace_id"] in request_traces


def test_each_tick_checks_in_to_its_schedules_monitor(sentry):
    receiver, env = sentry
    done = manage("shell", "-c", TICKS, env=env, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    monitors = json.loads(done.stdout.strip().splitlines()[-1])["monitors"]
    ((slug, config),) = monitors.values()
    assert slug == "testproject-0-clear-expired-sessions"
    checkins = wait_for(
        receiver,
        lambda i: i["type"] == "check_in" and i["payload"]["monitor_slug"] == slug,
        f"a check-in of {slug} per tick",
        at_least=2,
        timeout=40,
    )
    assert len(checkins) == 2
    for item in checkins:
        payload = item["payload"]
        print(f"\nSentry check-in: {json.dumps(payload)}")
        assert payload["status"] == "ok"
        assert payload["monitor_config"]["schedule"] == {
            "type": "crontab",
            "value": "0 4 * * *",
        }
        assert payload["monitor_config"]["checkin_margin"] == 2


def test_the_scheduler_hands_each_job_its_monitor():
    """``manage.py scheduler`` adds each schedule with the monitor its ticks check in to,
    and an interval Sentry cannot express (not whole minutes) gets none."""
    import dramatiq
    from apscheduler.schedulers.background import BackgroundScheduler
    from dramatiq_runtime import error_reporting, scheduling
    from dramatiq_runtime.config.observability import SentryConfig
    from dramatiq_runtime.config.schedules import Schedule

    schedules = [
        Schedule(actor="clear_expired_sessions", cron="0 4 * * *"),
        Schedule(actor="clear_expired_sessions", every=120),
        Schedule(actor="clear_expired_sessions", every=90),
    ]
    found = scheduling.jobs(schedules, dramatiq.get_broker())
    error_reporting._crons = SentryConfig(dsn="http://key@127.0.0.1:9/1")
    try:
        monitors = error_reporting.monitors("shop", found, "UTC")
    finally:
        error_reporting._crons = None
    assert monitors == {
        0: (
            "shop-0-clear-expired-sessions",
            {
                "schedule": {"type": "crontab", "value": "0 4 * * *"},
                "checkin_margin": 2,
                "timezone": "UTC",
            },
        ),
        1: (
            "shop-1-clear-expired-sessions",
            {
                "schedule": {"type": "interval", "value": 2, "unit": "minute"},
                "checkin_margin": 2,
                "timezone": "UTC",
            },
        ),
    }
    scheduler = BackgroundScheduler()
    scheduling.add_jobs(scheduler, found, monitors)
    handed = [job.args[-1] for job in scheduler.get_jobs()]
    assert handed == [monitors[0], monitors[1], None]
