"""The broker's middleware stack as plain data: which classes, with which arguments.

The runtime (``dramatiq_runtime.middleware``) builds the instances; here there is no Dramatiq, only
import paths and the values from the models, so what ``taskconfig`` prints and what the
worker runs come from one list.
"""

from types import MappingProxyType
from typing import Any, NamedTuple

from .tracking import BATCHED, TrackingConfig
from .workers import ADMIN_MIDDLEWARE, PROMETHEUS_MIDDLEWARE, DramatiqConfig

# The runtime package (this one): its middleware live under it.
RUNTIME_PACKAGE = __name__.split(".")[0]
RUNTIME_MIDDLEWARE = f"{RUNTIME_PACKAGE}.middleware"
REQUEUE_PREFETCHED = f"{RUNTIME_MIDDLEWARE}.requeue.RequeuePrefetched"
LIVENESS_FILE = f"{RUNTIME_MIDDLEWARE}.liveness.LivenessFile"
TASK_TRACKING = f"{RUNTIME_MIDDLEWARE}.tracking.TaskTracking"
WORKER_REGISTRY = f"{RUNTIME_MIDDLEWARE}.registry.WorkerRegistry"
TASK_RESULTS = f"{RUNTIME_MIDDLEWARE}.task_results.TaskResults"
TRACING = f"{RUNTIME_MIDDLEWARE}.tracing.Tracing"
SENTRY_TAGS = f"{RUNTIME_MIDDLEWARE}.sentry_tags.SentryTags"
CURRENT_MESSAGE = "dramatiq.middleware.CurrentMessage"
DAY_MS = 86_400_000

REDIS_RATE_LIMITS = f"{RUNTIME_PACKAGE}.redis_backends.RedisRateLimits"
STUB_RATE_LIMITS = "dramatiq.rate_limits.backends.stub.StubBackend"


class Component(NamedTuple):
    """A class to build: its import path and keyword arguments (which may be components)."""

    path: str
    options: MappingProxyType | dict[str, Any] = MappingProxyType({})


def paths_of(components: list[Component]) -> set[str]:
    return {component.path for component in components}


def switched(workers: DramatiqConfig) -> list[str]:
    """``workers.middleware`` with the admin and Prometheus switches applied.

    A switched-off entry is dropped; a switched-on one keeps its place in the list, or goes
    in first (Prometheus, to time everything) or last (admin) when not listed.
    """
    enabled = {
        PROMETHEUS_MIDDLEWARE: workers.prometheus_enabled,
        ADMIN_MIDDLEWARE: workers.admin_enabled,
    }
    paths = [path for path in workers.middleware if enabled.get(path, True)]
    if workers.prometheus_enabled and PROMETHEUS_MIDDLEWARE not in paths:
        paths.insert(0, PROMETHEUS_MIDDLEWARE)
    if workers.admin_enabled and ADMIN_MIDDLEWARE not in paths:
        paths.append(ADMIN_MIDDLEWARE)
    return paths


def tracker(workers: DramatiqConfig, tracking: TrackingConfig) -> Component:
    """What takes the admin's place in the stack: our batched tracker, or theirs."""
    if tracking.tracker != BATCHED:
        return Component(ADMIN_MIDDLEWARE)
    return Component(
        TASK_TRACKING,
        {
            "batch_size": tracking.batch_size,
            "flush_interval": tracking.flush_interval,
            "buffer_limit": tracking.buffer_limit,
            "retention": tracking.retention_days * DAY_MS or None,
            "prune_interval": tracking.prune_interval,
            "prune_batch": tracking.prune_batch,
            "metrics": workers.prometheus_enabled,
        },
    )


def stack(
    workers: DramatiqConfig,
    tracking: TrackingConfig,
    *,
    enabled: bool,
    broker_url: str,
    connection: dict[str, Any],
    tracing: bool = False,
    sentry: bool = False,
) -> list[Component]:
    """Every middleware the broker gets, in order, with the models' values as arguments.

    ``enabled=False`` (a stub broker) leaves out what needs Redis. ``tracing`` puts
    OpenTelemetry's first of all: its span is current for every other hook, and it ends
    after the last (a retry's re-enqueue included). ``sentry`` tags each task's events
    with its queue and actor.
    """
    rate_limits = (
        Component(REDIS_RATE_LIMITS, {"url": broker_url, "connection": connection})
        if enabled
        else Component(STUB_RATE_LIMITS)
    )
    # Dramatiq's own classes that take the models' values, by class name (a path may
    # name the class's module, dramatiq.middleware.age_limit.AgeLimit, or its package).
    configured: dict[str, dict[str, Any]] = {
        "AgeLimit": {"max_age": workers.max_age},
        "TimeLimit": {"time_limit": workers.time_limit},
        "Retries": {
            "max_retries": workers.max_retries,
            "min_backoff": workers.min_backoff,
            "max_backoff": workers.max_backoff,
        },
        "GroupCallbacks": {"rate_limiter_backend": rate_limits},
    }
    components = []
    for path in switched(workers):
        if path == ADMIN_MIDDLEWARE:
            components.append(tracker(workers, tracking))
            continue
        module, name = path.rsplit(".", 1)
        own = module.startswith("dramatiq.middleware")
        components.append(Component(path, configured.get(name, {}) if own else {}))
    # Django's @task API (tasks_api.py). First: its after-hooks run after Retries'.
    components.insert(0, Component(TASK_RESULTS))
    if CURRENT_MESSAGE not in paths_of(components):  # the @task runner reads it
        components.insert(1, Component(CURRENT_MESSAGE))
    if tracing:
        components.insert(0, Component(TRACING))
    if sentry:
        components.append(Component(SENTRY_TAGS))
    if enabled:
        components.append(Component(REQUEUE_PREFETCHED))
        if workers.admin_enabled:  # the Queues page shows each worker's queues
            components.append(Component(WORKER_REGISTRY))
        if workers.liveness_file:
            components.append(
                Component(
                    LIVENESS_FILE,
                    {
                        "path": workers.liveness_file,
                        "max_age": workers.heartbeat_timeout,
                    },
                )
            )
    return components
