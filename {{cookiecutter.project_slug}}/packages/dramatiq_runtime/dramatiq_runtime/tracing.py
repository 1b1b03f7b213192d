"""The process's OpenTelemetry set-up: provider, sampler, exporter and instrumentations.

Called from settings (``settings_bridge.observability``) in every process that loads them:
web, workers, scheduler, ``manage.py`` commands. Off, it imports nothing of OpenTelemetry.
The OTLP exporter reads its endpoint, headers, protocol and timeouts from the standard
``OTEL_EXPORTER_OTLP_*`` variables; ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``
are honoured as the SDK honours them.
"""

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from .config.observability import TracingConfig

_configured = False


def _entry_points_sampler(ratio: float) -> Any:
    from opentelemetry.sdk.trace.sampling import (
        Decision,
        ParentBased,
        Sampler,
        SamplingResult,
        TraceIdRatioBased,
    )
    from opentelemetry.trace import SpanKind

    class EntryPoints(Sampler):
        """New traces only where work starts (a request, a send, a task, a tick).

        A worker's consumer polls Redis all the time, outside any task: such CLIENT
        spans without a parent would each be a trace of one span, and are dropped.
        """

        def __init__(self, ratio: float) -> None:
            self.ratio = TraceIdRatioBased(ratio)

        def should_sample(
            self,
            parent_context,
            trace_id,
            name,
            kind=None,
            attributes=None,
            links=None,
            trace_state=None,
        ):
            if kind == SpanKind.CLIENT:
                return SamplingResult(Decision.DROP)
            return self.ratio.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"EntryPoints({self.ratio.get_description()})"

    return ParentBased(root=EntryPoints(ratio))


def setup(tracing: TracingConfig, default_service: str) -> None:
    """Install the tracer provider and instrument psycopg and redis (Django: ``ready``)."""
    global _configured
    if not tracing.enabled or _configured:
        return
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    attributes = {}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes[SERVICE_NAME] = tracing.service_name or default_service
    provider = TracerProvider(
        resource=Resource.create(attributes),
        sampler=_entry_points_sampler(tracing.sample_ratio),
    )
    if tracing.exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        exporter: Any = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    with contextlib.suppress(ImportError):  # the sqlite option has no psycopg
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

        PsycopgInstrumentor().instrument()
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    RedisInstrumentor().instrument()
    _configured = True


def instrument_django() -> None:
    """Django's request spans: from ``AppConfig.ready``, once settings are loaded and
    before a handler builds its middleware chain."""
    if _configured:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument()


@contextlib.contextmanager
def new_trace(name: str, **attributes: Any) -> Iterator[None]:
    """A root span of its own (each scheduler tick), or nothing when tracing is off."""
    if not _configured:
        yield
        return
    from opentelemetry import context, trace

    tracer = trace.get_tracer(__name__)
    with tracer.start_as_current_span(
        name, context=context.Context(), attributes=attributes
    ):
        yield


def current_trace_id() -> str | None:
    """The current span's trace id as 32 hex digits, or None (off, or no span)."""
    if not _configured:
        return None
    from opentelemetry import trace

    found = trace.get_current_span().get_span_context()
    return format(found.trace_id, "032x") if found.is_valid else None
