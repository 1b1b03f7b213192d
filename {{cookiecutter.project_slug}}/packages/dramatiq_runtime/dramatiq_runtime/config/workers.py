"""Dramatiq workers: how many, on which queues, and how failed tasks are retried.

Field names, defaults and bounds are django-cfg's ``DramatiqConfig`` (processes=4, threads=8,
max_retries=3, ...), which this config follows; the broker timing fields (heartbeat,
maintenance, shutdown) are additions, since Dramatiq's defaults leave a killed worker's
messages waiting for minutes.
"""

import importlib.util
import re
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from .names import comma_separated, queue_problem

ADMIN_MIDDLEWARE = "django_dramatiq.middleware.AdminMiddleware"
PROMETHEUS_MIDDLEWARE = "dramatiq.middleware.prometheus.Prometheus"
# django-cfg's stack plus ShutdownNotifications, Pipelines and GroupCallbacks: without
# them pipeline() and group completion callbacks quietly stop working.
DEFAULT_MIDDLEWARE = (
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.ShutdownNotifications",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Pipelines",
    "dramatiq.middleware.GroupCallbacks",
    "dramatiq.middleware.Retries",
    ADMIN_MIDDLEWARE,
    "django_dramatiq.middleware.DbConnectionsMiddleware",
)
_DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


class DramatiqConfig(BaseModel):
    """Dramatiq worker configuration."""

    # Built on first use: a process validates one environment's tree, not every class.
    model_config = ConfigDict(extra="forbid", defer_build=True)
    env_prefix: ClassVar[str] = "DRAMATIQ_"

    processes: int = Field(
        default=4, ge=1, le=32, description="Number of worker processes"
    )
    threads: int = Field(default=8, ge=1, le=64, description="Threads per process")
    queues: list[str] = Field(
        default_factory=lambda: ["default"],
        description="Queue names to process, comma-separated in the environment",
    )
    max_retries: int = Field(
        default=3, ge=0, description="Maximum retry attempts for failed tasks"
    )
    min_backoff: int = Field(
        default=1000, ge=100, description="Minimum backoff in milliseconds"
    )
    max_backoff: int = Field(
        default=30000, ge=1000, description="Maximum backoff in milliseconds"
    )
    max_age: int | None = Field(
        default=None,
        ge=1000,
        description="Maximum task age in milliseconds (empty: none)",
    )
    time_limit: int = Field(
        default=600000, ge=1000, description="Maximum task run time in milliseconds"
    )
    prometheus_enabled: bool = Field(
        default=False, description="Enable Prometheus metrics"
    )
    admin_enabled: bool = Field(
        default=False, description="Enable admin interface integration"
    )
    prometheus_host: str = Field(
        default="0.0.0.0", description="Address of the workers' metrics server"
    )
    prometheus_port: int = Field(
        default=9191, ge=1, le=65535, description="Port of the workers' metrics server"
    )
    middleware: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MIDDLEWARE),
        description="Middleware stack (order matters!)",
    )
    heartbeat_timeout: int = Field(
        default=60000,
        ge=1000,
        description="Milliseconds without a heartbeat before a worker counts as dead "
        "and its unacknowledged messages are requeued",
    )
    maintenance_chance: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="Chance per million broker calls of a maintenance pass that "
        "requeues a dead worker's messages",
    )
    liveness_file: str | None = Field(
        default=None,
        description="File each consuming worker keeps fresh, for container healthchecks",
    )
    worker_shutdown_timeout: int = Field(
        default=600000,
        ge=1000,
        description="Milliseconds a stopping worker waits for running tasks",
    )

    _lists = field_validator("queues", "middleware", mode="before")(comma_separated)

    @field_validator("max_age", "liveness_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return None if value is None or str(value).strip() == "" else value

    @field_validator("queues")
    @classmethod
    def _queues(cls, queues: list[str]) -> list[str]:
        problems = [
            f"{problem}, got {name!r}"
            for name in queues
            if (problem := queue_problem(name))
        ]
        duplicates = sorted({name for name in queues if queues.count(name) > 1})
        if duplicates:
            problems.append(
                f"queue names must be unique, repeated: {', '.join(duplicates)}"
            )
        if "default" not in queues:
            problems.append(
                "the queues must include 'default' (actors use it unless told)"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return queues

    @field_validator("max_backoff")
    @classmethod
    def _backoff_order(cls, max_backoff: int, info: ValidationInfo) -> int:
        min_backoff = info.data.get("min_backoff")
        if min_backoff is not None and max_backoff < min_backoff:
            raise ValueError(f"must be >= min_backoff ({min_backoff})")
        return max_backoff

    @field_validator("middleware")
    @classmethod
    def _middleware(cls, paths: list[str], info: ValidationInfo) -> list[str]:
        for path in paths:
            if not _DOTTED_PATH.fullmatch(path):
                raise ValueError(
                    f"{path!r} is not a dotted import path like pkg.module.Class"
                )
        classes = [path.rsplit(".", 1)[1] for path in paths]
        repeated = sorted({name for name in classes if classes.count(name) > 1})
        if repeated:
            raise ValueError(
                f"each middleware may appear once (it would run twice): {repeated}"
            )
        if (info.context or {}).get("check_imports", True):
            for path in paths:
                module = path.rsplit(".", 1)[0]
                try:
                    found = importlib.util.find_spec(module) is not None
                except ImportError:
                    found = False
                if not found:
                    raise ValueError(f"{path!r}: module {module!r} cannot be imported")
        return paths
