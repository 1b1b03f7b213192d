"""OpenTelemetry from a request to its task, through a real worker, to a real receiver.

A worker and the sending processes run with ``TRACING_ENABLED=true`` and OTLP/HTTP to a
receiver this module starts; the receiver decodes the protobuf the exporter sent. The
sender is a ``manage.py shell`` that requests the test project's ``/traced/`` view with
Django's test client, so the request's span is Django's instrumentation's own.
"""

import json
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from dramatiq_runtime.testing import wait_until

from .helpers import environment, manage, pinged_worker, start_manage, stop_worker
from .receivers import Span, otlp_receiver

CONFIG = settings.CONFIG
# django_db: pytest-django creates the test database only for a session that asks for it.
pytestmark = [pytest.mark.xdist_group("tracing"), pytest.mark.django_db]

# A request to the view that sends ``traced_work``; waits for the worker to finish it.
REQUEST = """
import json, time
from django.core.cache import cache
from django.test import Client
response = Client().get("/traced/", {{"token": {token!r}, "failures": {failures}}})
assert response.status_code == 200, response.content
deadline = time.monotonic() + 60
while cache.get("traced:{token}:done") is None:
    assert time.monotonic() < deadline, "the worker did not finish traced_work"
    time.sleep(0.05)
print(json.dumps(response.json()))
"""

# A send outside any request: delayed, or under another sampling ratio.
SEND = """
import json, time
from django.core.cache import cache
from testproject.tasks.actors import traced_work
message = traced_work.send_with_options(args=({token!r},), delay={delay})
deadline = time.monotonic() + 60
while cache.get("traced:{token}:done") is None:
    assert time.monotonic() < deadline, "the worker did not finish traced_work"
    time.sleep(0.05)
print(json.dumps({{"message_id": message.message_id, "options": message.options}}))
"""


@pytest.fixture(scope="module")
def traced(redis_client, shared_db, tmp_path_factory):
    """A receiver, the environment that exports to it, and a worker in that environment."""
    receiver = otlp_receiver()
    env = {
        **shared_db,
        "TASKS_NAMESPACE": f"{CONFIG.tasks.namespace}-traced",
        "TRACING_ENABLED": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "runtime-tests",
    }
    try:
        with pinged_worker(env, tmp_path_factory.mktemp("traced")) as log:
            yield receiver, env, log
    finally:
        receiver.stop()


def run(script: str, env: dict[str, str]) -> dict:
    done = manage("shell", "-c", script, env=env, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def trace_of(receiver, message_id: str) -> list[Span]:
    """The spans received so far of the trace that message's send belongs to."""
    spans = receiver.items()
    ours = {
        s.trace_id
        for s in spans
        if s.attributes.get("messaging.message.id") == message_id
    }
    return [s for s in spans if s.trace_id in ours]


def spans_of(
    receiver, message_id: str, consumers: int = 1, timeout: float = 30
) -> list[Span]:
    """The spans of the trace that message's send belongs to, once the worker's are in.

    A worker exports its spans in the order they end, and a task's CONSUMER span ends
    after everything it did: once ``consumers`` of them are in, the rest of the worker's
    spans are too. (The sender's own spans are in already: it exported them as it
    exited; counting spans instead would count those.)
    """

    def complete() -> list[Span] | None:
        found = trace_of(receiver, message_id)
        done = sum(s.kind == "CONSUMER" for s in found) >= consumers
        return found if done else None

    return wait_until(
        complete,
        timeout,
        f"{consumers} CONSUMER span(s) in the trace of message {message_id}",
        state=lambda: [(s.name, s.kind) for s in trace_of(receiver, message_id)],
    )


def tree(spans: list[Span]) -> str:
    """The spans as an indented tree (name, kind, id, parent id), roots first."""
    ids = {s.span_id for s in spans}
    lines = []

    def walk(span: Span, depth: int) -> None:
        lines.append(
            f"{'  ' * depth}{span.name} [{span.kind}] span {span.span_id} "
            f"parent {span.parent_id or '-'} ({span.service})"
        )
        for child in sorted(spans, key=lambda s: s.start):
            if child.parent_id == span.span_id:
                walk(child, depth + 1)

    for root in sorted(spans, key=lambda s: s.start):
        if root.parent_id not in ids:
            walk(root, 0)
    return "\n".join(lines)


def sampled_flag(traceparent: str) -> bool:
    """W3C trace flags' sampled bit (the SDK also sets 0x02, random trace id)."""
    return bool(int(traceparent.rsplit("-", 1)[1], 16) & 0x01)


def one(spans: list[Span], **where) -> Span:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in where.items())]
    assert len(found) == 1, (where, tree(spans))
    return found[0]


def test_a_request_its_send_and_its_task_are_one_trace(traced):
    receiver, env, log = traced
    token = uuid.uuid4().hex
    sent = run(REQUEST.format(token=token, failures=0), env)
    spans = spans_of(receiver, sent["message_id"])
    print(f"\nthe span tree of one request, as the receiver got it:\n{tree(spans)}")
    assert len({s.trace_id for s in spans}) == 1, tree(spans)
    server = one(spans, kind="SERVER")
    producer = one(spans, kind="PRODUCER")
    consumer = one(spans, kind="CONSUMER")
    assert server.parent_id == "" and "GET" in server.name
    assert producer.parent_id == server.span_id and producer.name == "send default"
    assert consumer.parent_id == producer.span_id and consumer.name == "process default"
    for span in (producer, consumer):
        assert span.attributes["messaging.system"] == "dramatiq"
        assert span.attributes["messaging.destination.name"] == "default"
        assert span.attributes["messaging.message.id"] == sent["message_id"]
        assert span.attributes["messaging.dramatiq.actor"] == "traced_work"
    assert consumer.attributes["messaging.dramatiq.retry_count"] == 0
    assert consumer.attributes["messaging.operation.type"] == "process"
    children = [s for s in spans if s.parent_id == consumer.span_id]
    kinds = {
        s.attributes.get("db.system") or s.attributes.get("db.system.name")
        for s in children
    }
    assert {"postgresql", "redis"} <= kinds, tree(spans)  # the actor's own calls
    # The send's own Redis write is the PRODUCER's child.
    assert any(s.parent_id == producer.span_id for s in spans), tree(spans)
    # The worker's log line about the task names the message and the trace.
    line = next(x for x in log.read_text().splitlines() if f"traced_work {token}" in x)
    assert f"[message {sent['message_id']} trace {consumer.trace_id}]" in line, line


def test_a_failed_attempt_and_its_retry_are_linked(traced):
    receiver, env, _ = traced
    token = uuid.uuid4().hex
    sent = run(REQUEST.format(token=token, failures=1), env)
    spans = spans_of(receiver, sent["message_id"], consumers=2)
    consumers = sorted(
        (s for s in spans if s.kind == "CONSUMER"), key=lambda s: s.start
    )
    assert len(consumers) == 2, tree(spans)
    failed, retried = consumers
    assert failed.status == "ERROR" and "exception" in failed.events
    assert retried.status != "ERROR"
    assert retried.attributes["messaging.dramatiq.retry_count"] == 1
    assert retried.links == [(failed.trace_id, failed.span_id)]
    # The retry is a send from inside the failed attempt.
    resend = one(spans, span_id=retried.parent_id)
    assert resend.kind == "PRODUCER" and resend.parent_id == failed.span_id


def test_a_delayed_message_keeps_its_delay_and_its_context(traced):
    receiver, env, _ = traced
    token = uuid.uuid4().hex
    sent = run(SEND.format(token=token, delay=1500), env)
    assert "eta" in sent["options"] and "traceparent" in sent["options"]
    spans = spans_of(receiver, sent["message_id"])
    producer = one(spans, kind="PRODUCER")  # Dramatiq moving it to its queue is no send
    consumer = one(spans, kind="CONSUMER")
    assert (
        producer.parent_id == ""
        and producer.attributes["messaging.dramatiq.delay_ms"] == 1500
    )
    assert consumer.parent_id == producer.span_id
    assert consumer.start - producer.start >= 1.5


def test_the_worker_records_what_the_sender_sampled(traced):
    """A sender at ratio 0 sends traceparent unsampled: the worker (ratio 1) records none."""
    receiver, env, _ = traced
    unsampled, sampled = uuid.uuid4().hex, uuid.uuid4().hex
    quiet = run(
        SEND.format(token=unsampled, delay=None), {**env, "TRACING_SAMPLE_RATIO": "0"}
    )
    assert not sampled_flag(quiet["options"]["traceparent"])
    loud = run(SEND.format(token=sampled, delay=None), env)
    assert sampled_flag(loud["options"]["traceparent"])
    # Once the sampled one's worker spans are in, the unsampled one's would be.
    assert one(spans_of(receiver, loud["message_id"]), kind="CONSUMER")
    assert not trace_of(receiver, quiet["message_id"])


def receiver_ticks(receiver) -> list[Span]:
    return [s for s in receiver.items() if s.name == "tick traced_work"]


def test_each_scheduler_tick_is_a_trace_of_its_own(traced, tmp_path: Path):
    receiver, env, _ = traced
    token = uuid.uuid4().hex
    config = tmp_path / "schedules.yaml"
    config.write_text(
        "tasks:\n  schedules:\n"
        f"    - {{actor: traced_work, every: 1, args: [{token!r}]}}\n"
    )
    scheduler = start_manage("scheduler", env={**env, "CONFIG_FILE": str(config)})
    try:
        ticks = wait_until(
            lambda: len(found := receiver_ticks(receiver)) >= 2 and found,
            60,
            "two ticks of traced_work",
            state=lambda: [s.name for s in receiver.items()],
        )
    finally:
        stop_worker(scheduler)
    assert all(tick.parent_id == "" for tick in ticks)
    assert len({tick.trace_id for tick in ticks}) == len(ticks)
    spans = receiver.items()
    for tick in ticks[:2]:
        producer = one(spans, kind="PRODUCER", parent_id=tick.span_id)
        assert producer.trace_id == tick.trace_id


def test_tracing_on_without_the_extra_says_which_extra(tmp_path: Path):
    """Where OpenTelemetry is not installed (an ``opentelemetry`` that cannot import stands
    in for it), start-up stops with one line naming the switch and the extra."""
    shadow = tmp_path / "opentelemetry"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('not installed')\n")
    done = manage(
        "check",
        env={
            "TRACING_ENABLED": "true",
            "PYTHONPATH": f"{tmp_path}:{environment(None)['PYTHONPATH']}",
        },
    )
    assert done.returncode != 0
    assert (
        "TRACING_ENABLED=true: that needs the runtime's 'opentelemetry' extra, not installed "
        "(dramatiq-runtime[opentelemetry]" in done.stderr
    ), done.stderr[-2000:]
