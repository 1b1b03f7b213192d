"""OpenTelemetry spans for sends and tasks, the context carried in the message.

Parameters: none; the tracer provider is the process's (``dramatiq_runtime.tracing``).

- A send is a PRODUCER span ``send <queue>``, current while the broker writes (its Redis
  call is a child). Its W3C ``traceparent`` and ``tracestate`` go into the message's
  options beside the others, which stay as they were (``eta`` of a delayed message too).
- A task is a CONSUMER span ``process <queue>`` continuing that context, current while
  the actor runs (its database, Redis and HTTP calls are children) and detached after.
  The sender's sampling decision travels in ``traceparent``: the worker records what the
  sender recorded.
- A retry is a new send from inside the failed attempt; the next attempt links to the
  failed one (``dramatiq.previous_attempt``).
- Dramatiq moving a delayed message to its queue is not a send: the message keeps the
  context its sender gave it. The broker's own polls and acks are not traced.

First in the stack: Dramatiq runs ``after_*`` hooks last to first, so the task's span
ends after every other middleware, Retries' re-enqueue included.
"""

import contextlib
import threading
from contextlib import AbstractContextManager
from contextvars import Token
from dataclasses import dataclass

from dramatiq.common import q_name
from dramatiq.middleware import Middleware
from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

PREVIOUS_ATTEMPT = "dramatiq.previous_attempt"
CARRIER_KEYS = ("traceparent", "tracestate")
SYSTEM = "dramatiq"


@dataclass
class _Open:
    """A span made current by ``_begin``, and how to undo that."""

    message_id: str
    span: trace.Span
    token: Token[context.Context]
    quiet: AbstractContextManager[object]


def _begin(message_id: str, span: trace.Span) -> _Open:
    """Make ``span`` current. An unsampled one's calls also skip the instrumentations:
    they would record nothing, and formatting a Redis command's arguments costs about as
    much as sending it."""
    token = context.attach(trace.set_span_in_context(span))
    quiet = (
        contextlib.nullcontext() if span.is_recording() else suppress_instrumentation()
    )
    quiet.__enter__()
    return _Open(message_id, span, token, quiet)


def _attributes(message, operation: str) -> dict[str, str | int]:
    return {
        "messaging.system": SYSTEM,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.destination.name": q_name(message.queue_name),
        "messaging.message.id": message.message_id,
        "messaging.dramatiq.actor": message.actor_name,
        "messaging.dramatiq.retry_count": message.options.get("retries", 0),
    }


def _carrier(span_context_of: trace.Span | None = None) -> dict[str, str]:
    """The current context (or ``span_context_of``'s) as W3C headers."""
    carrier: dict[str, str] = {}
    where = trace.set_span_in_context(span_context_of) if span_context_of else None
    propagate.inject(carrier, context=where)
    return carrier


class Tracing(Middleware):
    """A PRODUCER span per send, a CONSUMER span per task; see the module docstring."""

    def __init__(self) -> None:
        self.tracer = trace.get_tracer(__name__)
        self._local = threading.local()

    def _stack(self, name: str) -> list[_Open]:
        found = getattr(self._local, name, None)
        if found is None:
            found = []
            setattr(self._local, name, found)
        return found

    def _pop(self, name: str, message_id: str) -> _Open | None:
        stack = self._stack(name)
        for index in range(len(stack) - 1, -1, -1):
            if stack[index].message_id == message_id:
                return stack.pop(index)
        return None

    def before_enqueue(self, broker, message, delay) -> None:
        current = trace.get_current_span().get_span_context()
        if "traceparent" in message.options and not current.is_valid:
            return  # a delayed message moved to its queue: its sender's context stays
        attempt = next(
            (
                open_
                for open_ in self._stack("tasks")
                if open_.message_id == message.message_id
            ),
            None,
        )
        attributes = _attributes(message, "send")
        if delay:
            attributes["messaging.dramatiq.delay_ms"] = int(delay)
        span = self.tracer.start_span(
            f"send {q_name(message.queue_name)}",
            kind=SpanKind.PRODUCER,
            attributes=attributes,
        )
        self._stack("sends").append(_begin(message.message_id, span))
        for key in CARRIER_KEYS:
            message.options.pop(key, None)
        message.options.update(
            {key: value for key, value in _carrier().items() if key in CARRIER_KEYS}
        )
        if attempt is not None:  # a retry from inside the failed attempt
            message.options[PREVIOUS_ATTEMPT] = _carrier(attempt.span)["traceparent"]
        else:
            message.options.pop(PREVIOUS_ATTEMPT, None)

    def after_enqueue(self, broker, message, delay) -> None:
        if (sent := self._pop("sends", message.message_id)) is not None:
            self._close(sent)

    def enqueue_failed(self, message_id: str, exception: BaseException) -> None:
        """The broker could not write the message (``RedisBroker.enqueue`` calls this)."""
        if (sent := self._pop("sends", message_id)) is not None:
            self._close(sent, exception)

    def before_process_message(self, broker, message) -> None:
        options = message.options
        parent = propagate.extract(
            {key: options[key] for key in CARRIER_KEYS if key in options}
        )
        links = []
        if previous := options.get(PREVIOUS_ATTEMPT):
            earlier = trace.get_current_span(
                propagate.extract({"traceparent": previous})
            )
            if earlier.get_span_context().is_valid:
                links.append(
                    Link(earlier.get_span_context(), {"dramatiq.link": "retry"})
                )
        span = self.tracer.start_span(
            f"process {q_name(message.queue_name)}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=_attributes(message, "process"),
            links=links,
        )
        self._stack("tasks").append(_begin(message.message_id, span))

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if (task := self._pop("tasks", message.message_id)) is not None:
            self._close(task, exception)

    def after_skip_message(self, broker, message) -> None:
        if (task := self._pop("tasks", message.message_id)) is not None:
            task.span.set_attribute("messaging.dramatiq.skipped", True)
            self._close(task)

    def before_worker_shutdown(self, broker, worker) -> None:
        # A worker process ends without atexit: what the batch processor holds goes now.
        provider = trace.get_tracer_provider()
        if hasattr(provider, "force_flush"):
            provider.force_flush(timeout_millis=5000)

    def after_process_boot(self, broker) -> None:
        # The broker's own polls, acks and heartbeats are no one's span (redis_backends).
        if hasattr(broker, "untraced"):
            broker.untraced = suppress_instrumentation

    @staticmethod
    def _close(open_: _Open, exception: BaseException | None = None) -> None:
        if exception is not None:
            open_.span.record_exception(exception)
            open_.span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
        open_.span.end()
        open_.quiet.__exit__(None, None, None)
        context.detach(open_.token)
