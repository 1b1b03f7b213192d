"""Dramatiq as Django sees it: broker, results and middleware, as plain settings data."""

from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import middleware, redis_urls
from .cache import CacheConfig
from .errors import fail_at
from .middleware import (
    REDIS_RATE_LIMITS,
    RUNTIME_PACKAGE,
    STUB_RATE_LIMITS,
    Component,
)
from .redis_connection import RedisConfig
from .schedules import Schedule, SchedulerConfig, parsed_schedules, queue_failures
from .tasks_api import DjangoTasksConfig
from .tracking import TrackingConfig
from .workers import DramatiqConfig

REDIS_BROKER = f"{RUNTIME_PACKAGE}.redis_backends.RedisBroker"
STUB_BROKER = "dramatiq.brokers.stub.StubBroker"
REDIS_RESULTS = f"{RUNTIME_PACKAGE}.redis_backends.RedisResults"
STUB_RESULTS = "dramatiq.results.backends.stub.StubBackend"
NO_RESULTS = f"{RUNTIME_PACKAGE}.results_off.NoResults"
# redis-py's default 5 s socket timeout breaks get_result(block=True) waits longer than 5 s.
RESULTS_SOCKET_TIMEOUT = 60


class TaskConfig(BaseModel):
    """Dramatiq task queue configuration.

    ``broker_url`` "" means the cache's Redis server with ``broker_db``; ``result_backend``
    None means the broker's server with ``results_db``. ``enabled=False`` gives Django a stub
    broker: nothing connects to Redis and the worker command refuses to start.
    """

    # Built on first use: a process validates one environment's tree, not every class.
    model_config = ConfigDict(extra="forbid", defer_build=True)
    env_prefix: ClassVar[str] = "TASKS_"

    broker_url: str = Field(
        default="",
        description="Redis URL for the broker (empty: cache server, broker_db)",
    )
    result_backend: str | None = Field(
        default=None,
        description="Redis URL for results (empty: broker server, results_db)",
    )
    enabled: bool = Field(default=True, description="Enable/disable task processing")
    use_results: bool = Field(default=True, description="Store task results in Redis")
    probes: bool = Field(
        default=False,
        description="Register the probe actors tests and benchmarks send (never in production)",
    )
    probe_trace_url: str = Field(
        default="",
        description="Redis URL of the probes' trace (empty: the cache's); a fault test "
        "keeps it off the Redis it breaks",
    )
    broker_db: int = Field(
        default=1,
        ge=0,
        le=15,
        description="Redis database of the broker when broker_url is empty",
        json_schema_extra={"env": "REDIS_BROKER_DB"},
    )
    results_db: int = Field(
        default=2,
        ge=0,
        le=15,
        description="Redis database of the results when result_backend is empty",
        json_schema_extra={"env": "REDIS_RESULTS_DB"},
    )
    result_ttl: int = Field(
        default=600000, ge=1000, description="Milliseconds a stored result is kept"
    )
    namespace: str = Field(
        default="dramatiq",
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of every broker key; one per project sharing a Redis database",
    )
    dramatiq: DramatiqConfig = Field(
        default_factory=DramatiqConfig, description="Dramatiq-specific configuration"
    )
    tracking: TrackingConfig = Field(
        default_factory=TrackingConfig,
        description="Task tracking for the admin (on with dramatiq.admin_enabled)",
    )
    scheduler: SchedulerConfig = Field(
        default_factory=SchedulerConfig,
        description="The scheduler process that sends the schedules",
    )
    django_tasks: DjangoTasksConfig = Field(
        default_factory=DjangoTasksConfig,
        description="Django's @task API on these workers (the TASKS setting)",
    )
    schedules: list[Schedule] = Field(
        default=[],
        description="Periodic sends: actor, cron or every, queue, args, kwargs, "
        "enabled (a JSON list in the environment)",
    )

    @field_validator("broker_url", "result_backend", "probe_trace_url", mode="before")
    @classmethod
    def _url(cls, value):
        if value is None or value == "":
            return None if value is None else value
        if problem := redis_urls.url_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("result_backend", mode="after")
    @classmethod
    def _empty_result_backend(cls, value):
        return value or None

    @field_validator("dramatiq", "tracking", "scheduler", "django_tasks", mode="before")
    @classmethod
    def _default_section(cls, value, info: ValidationInfo):
        """An empty section (``dramatiq:`` alone in YAML) is that section's defaults."""
        if value is not None:
            return value
        sections = {
            "dramatiq": DramatiqConfig,
            "tracking": TrackingConfig,
            "scheduler": SchedulerConfig,
            "django_tasks": DjangoTasksConfig,
        }
        return sections[str(info.field_name)]()

    _schedules = field_validator("schedules", mode="before")(parsed_schedules)

    @model_validator(mode="after")
    def _schedule_queues(self) -> "TaskConfig":
        fail_at(
            type(self).__name__, queue_failures(self.schedules, self.dramatiq.queues)
        )
        return self

    def resolved(self, cache: CacheConfig) -> "TaskConfig":
        """This config with the broker and results URLs filled in from the cache's server."""
        broker_url = self.broker_url or redis_urls.with_db(
            cache.redis_url, self.broker_db
        )
        result_backend = self.result_backend
        if self.use_results and not result_backend:
            result_backend = redis_urls.with_db(broker_url, self.results_db)
        if not self.use_results:
            result_backend = None
        return self.model_copy(
            update={"broker_url": broker_url, "result_backend": result_backend}
        )

    def redis_roles(self, cache: CacheConfig) -> dict[str, str]:
        """Each Redis role's URL: what must not share a database."""
        tasks = self.resolved(cache)
        roles = {"cache": cache.url, "broker": tasks.broker_url}
        if tasks.result_backend:
            roles["results"] = tasks.result_backend
        return roles

    def to_django_config(
        self,
        cache: CacheConfig | None = None,
        redis: RedisConfig | None = None,
        *,
        tracing: bool = False,
        sentry: bool = False,
    ) -> dict[str, Any]:
        """The ``DRAMATIQ_*`` settings django_dramatiq reads, as plain data.

        ``DRAMATIQ_BROKER["MIDDLEWARE"]`` holds ``Component`` entries (path and
        arguments); settings.py has the runtime build them into instances. Every Redis
        client gets ``redis``'s connection (URL or Sentinel) beside its role's URL.
        ``tracing`` and ``sentry`` add their middleware (the project's ``tracing.enabled``,
        ``sentry.enabled``).
        """
        tasks = self.resolved(cache or CacheConfig())
        redis = redis or RedisConfig()
        connection = redis.client_options()
        settings: dict[str, Any] = {
            "DRAMATIQ_BROKER": {
                "BROKER": REDIS_BROKER if tasks.enabled else STUB_BROKER,
                "OPTIONS": tasks._broker_options(redis),
                "MIDDLEWARE": tasks.middleware_stack(
                    connection, tracing=tracing, sentry=sentry
                ),
            },
            "DRAMATIQ_RATE_LIMITER_BACKEND": tasks._rate_limiter_settings(connection),
            "DRAMATIQ_TASKS_DATABASE": "default",
            "TASKS": tasks.django_tasks.settings(
                tasks.dramatiq.queues,
                tasks.broker_url if tasks.enabled else None,
                tasks.namespace,
                connection,
            ),
        }
        # Always a backend, so django_dramatiq always installs Results: an actor with
        # store_results imports whatever use_results says (results_off.py).
        backend = REDIS_RESULTS if tasks.enabled else STUB_RESULTS
        settings["DRAMATIQ_RESULT_BACKEND"] = {
            "BACKEND": backend if tasks.use_results else NO_RESULTS,
            "BACKEND_OPTIONS": tasks._results_options(connection),
            "MIDDLEWARE_OPTIONS": {"result_ttl": tasks.result_ttl},
        }
        return settings

    def middleware_stack(
        self,
        connection: dict[str, Any] | None = None,
        *,
        tracing: bool = False,
        sentry: bool = False,
    ) -> list[Component]:
        """Every middleware of the broker, in order, with its arguments.

        django_dramatiq appends ``Results`` after these when results are on.
        """
        return middleware.stack(
            self.dramatiq,
            self.tracking,
            enabled=self.enabled,
            broker_url=self.broker_url,
            connection=connection or RedisConfig().client_options(),
            tracing=tracing,
            sentry=sentry,
        )

    @property
    def scheduler_lock(self) -> str:
        """The scheduler's lock key: on the broker's database, in the project's namespace."""
        return f"{self.namespace}:scheduler-lock"

    def crontab_settings(self) -> dict[str, Any]:
        """``DRAMATIQ_CRONTAB``: dramatiq-crontab's settings (seconds) for its lock renewal.

        Its own module-level lock (key ``dramatiq-scheduler``, shared by every project on
        the database) goes unused: ``manage.py scheduler`` takes ``scheduler_lock``.
        """
        scheduler = self.scheduler
        return {
            "REDIS_URL": self.broker_url,
            "LOCK_TIMEOUT": scheduler.lock_timeout / 1000,
            "LOCK_REFRESH_INTERVAL": scheduler.lock_refresh / 1000,
            "LOCK_BLOCKING_TIMEOUT": scheduler.lock_refresh / 1000,
        }

    def _broker_options(self, redis: RedisConfig) -> dict[str, Any]:
        if not self.enabled:
            return {}
        return {
            "url": self.broker_url,
            "connection": redis.client_options(),
            **redis.send_options(),
            "namespace": self.namespace,
            "heartbeat_timeout": self.dramatiq.heartbeat_timeout,
            "maintenance_chance": self.dramatiq.maintenance_chance,
        }

    def _results_options(self, connection: dict[str, Any]) -> dict[str, Any]:
        if not self.enabled or not self.result_backend:
            return {}
        return {
            "url": self.result_backend,
            # A socket_timeout in the URL's query still wins (redis-py: URL over kwargs).
            "connection": {**connection, "socket_timeout": RESULTS_SOCKET_TIMEOUT},
            "namespace": f"{self.namespace}-results",
            # <namespace>:<queue>:<actor>:<id> rather than a bare hash: keys can be
            # scanned, counted and expired per project.
            "use_namespace_prefix_keys": True,
        }

    def _rate_limiter_settings(self, connection: dict[str, Any]) -> dict[str, Any]:
        if not self.enabled:
            return {"BACKEND": STUB_RATE_LIMITS}
        return {
            "BACKEND": REDIS_RATE_LIMITS,
            "BACKEND_OPTIONS": {"url": self.broker_url, "connection": connection},
        }
