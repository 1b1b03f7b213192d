"""Traces and error reports: OpenTelemetry and Sentry, each off unless a project turns it on.

Only what the project decides lives here. Where a value has a standard variable of its
own, that variable is the one read: the OTLP exporter's endpoint, headers and protocol come
from ``OTEL_EXPORTER_OTLP_*`` (the exporter reads them), and Sentry's fields are named as
sentry-sdk names them (``SENTRY_DSN``, ``SENTRY_ENVIRONMENT``, ``SENTRY_RELEASE``).
"""

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class TracingConfig(BaseModel):
    """OpenTelemetry traces from a request to the tasks it sends (``use_opentelemetry``)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    env_prefix: ClassVar[str] = "TRACING_"

    enabled: bool = Field(
        default=False,
        description="Trace requests, sends and tasks (the 'opentelemetry' extra)",
    )
    service_name: str = Field(
        default="",
        description="service.name of every span (empty: the project's slug); "
        "OTEL_SERVICE_NAME wins when set",
    )
    sample_ratio: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Share of new traces recorded, 0-1; a task follows its sender's choice",
    )
    exporter: Literal["otlp", "console"] = Field(
        default="otlp",
        description="otlp: OTLP over HTTP to OTEL_EXPORTER_OTLP_ENDPOINT; console: stdout",
    )


class SentryConfig(BaseModel):
    """Errors, traces and cron check-ins sent to Sentry (``use_sentry``); off without a DSN."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    env_prefix: ClassVar[str] = "SENTRY_"

    dsn: SecretStr | None = Field(
        default=None,
        description="The project's DSN (empty: Sentry off)",
    )
    environment: str = Field(
        default="",
        description="Sentry's environment (empty: DJANGO_ENV's profile)",
    )
    release: str = Field(default="", description="The release events belong to")
    traces_sample_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Share of requests and tasks sent to Sentry as traces, 0-1",
    )
    crons: bool = Field(
        default=True,
        description="A Sentry Crons check-in for every scheduler tick, a monitor "
        "per schedule",
    )
    checkin_margin: int = Field(
        default=2,
        ge=1,
        le=1440,
        description="Minutes a check-in may come late before Sentry calls it missed",
    )

    @property
    def enabled(self) -> bool:
        return bool(self.dsn and self.dsn.get_secret_value())
