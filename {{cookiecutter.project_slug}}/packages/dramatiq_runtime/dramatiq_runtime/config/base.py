"""The whole project's configuration: what every environment class builds on."""

from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from . import names, redis_urls
from .cache import CacheConfig
from .errors import fail_at, with_failures
from .kubernetes import KubernetesConfig
from .names import comma_separated
from .observability import SentryConfig, TracingConfig
from .redis_connection import RedisConfig
from .tasks import TaskConfig

DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-never-use-this-in-production"
DATABASE_SCHEMES = ("postgres", "postgresql", "sqlite")


def redis_layout_failures(
    cache: CacheConfig, tasks: TaskConfig
) -> list[tuple[tuple[str, ...], Any, str]]:
    """Each pair of roles on one Redis database, reported at both fields to fix.

    Either side may be the one the user typed (``redis_cache_db=1`` collides with the
    broker's default 1), so both are named.
    """
    where = {
        "cache": ("cache_default", "db", cache.effective_db),
        "broker": ("tasks", "broker_url", tasks.broker_url)
        if tasks.broker_url
        else ("tasks", "broker_db", tasks.broker_db),
        "results": ("tasks", "result_backend", tasks.result_backend)
        if tasks.result_backend
        else ("tasks", "results_db", tasks.results_db),
    }
    seen: dict[tuple, str] = {}
    failures = []
    rule = "cache, broker and results each need their own database"
    for role, url in tasks.redis_roles(cache).items():
        key = (*redis_urls.server_of(url), redis_urls.db_of(url))
        if key in seen:
            first = seen[key]
            db = key[-1]
            *loc, value = where[role]
            already = f"Redis database {db} is already the {first}'s: {rule}"
            failures.append((tuple(loc), value, already))
            *loc, value = where[first]
            also = f"Redis database {db} is also the {role}'s: {rule}"
            failures.append((tuple(loc), value, also))
        seen.setdefault(key, role)
    return failures


def sentinel_failures(
    redis: RedisConfig, tasks: TaskConfig
) -> list[tuple[tuple[str, ...], Any, str]]:
    """With Sentinel, every role is a database number on the master it names."""
    if not redis.uses_sentinel:
        return []
    rule = (
        "must be empty with REDIS_SENTINELS: each role is a database number on the "
        "Sentinel master (REDIS_BROKER_DB, REDIS_RESULTS_DB)"
    )
    return [
        (("tasks", name), redis_urls.masked(value), rule)
        for name in ("broker_url", "result_backend")
        if (value := getattr(tasks, name))
    ]


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, merging nested dicts key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def tree(values: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    """``{("a", "b"): 1}`` as ``{"a": {"b": 1}}``."""
    nested: dict[str, Any] = {}
    for path, value in values.items():
        node = nested
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return nested


class DjangoConfig(BaseModel):
    """Project configuration; subclasses set per-environment defaults in ``profile``.

    ``profile`` (and model-typed field defaults, as in ``tasks: TaskConfig = TaskConfig(...)``)
    sit underneath whatever is passed in, merged key by key: ``DevConfig(tasks={"dramatiq":
    {"threads": 2}})`` keeps the profile's processes and queues.
    """

    # Built on first use: a process validates one environment class, not all three.
    model_config = ConfigDict(
        extra="forbid", validate_assignment=False, defer_build=True
    )
    env_prefix: ClassVar[str] = "DJANGO_"
    environment: ClassVar[str] = "base"
    profile: ClassVar[dict[str, Any]] = {}

    project_name: str = Field(default="My Project", description="Shown in the admin")
    project_slug: str = Field(default="my_project", description="The Python package")
    description: str = Field(default="", description="One line about the project")
    author_name: str = Field(default="", description="Name in ADMINS")
    author_email: str = Field(
        default="admin@example.com", description="Receives error mails (ADMINS)"
    )
    domain_name: str = Field(
        default="example.com", description="Production's host name"
    )
    debug: bool = Field(default=False, description="Django DEBUG; never in production")
    secret_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET_KEY),
        description="Django SECRET_KEY; 50+ characters in production",
    )
    # A list or dict default is a literal: pydantic copies it for each instance, and a
    # factory such as ``list`` would have its signature parsed at import (tokenize).
    allowed_hosts: list[str] = Field(
        default=[], description="Django ALLOWED_HOSTS, comma-separated"
    )
    database_url: str = Field(
        default="sqlite:///db.sqlite3",
        description="postgres://user:password@host:5432/name or sqlite:///path",
        json_schema_extra={"env": "DATABASE_URL"},
    )
    cache_default: CacheConfig = Field(default_factory=CacheConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    tasks: TaskConfig = Field(default_factory=TaskConfig)
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
    tracing: TracingConfig = Field(default_factory=TracingConfig)
    sentry: SentryConfig = Field(default_factory=SentryConfig)

    _lists = field_validator("allowed_hosts", mode="before")(comma_separated)

    @classmethod
    def with_defaults(cls, data: Any) -> Any:
        """The data over the profile over the sub-models' own defaults."""
        if not isinstance(data, dict):
            return data
        base: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            if isinstance(field.default, BaseModel):
                base[name] = field.default.model_dump(exclude_unset=True)
        return deep_merge(deep_merge(base, cls.profile), data)

    @model_validator(mode="before")
    @classmethod
    def _defaults_underneath(cls, data: Any) -> Any:
        return cls.with_defaults(data)

    @field_validator("project_slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if problem := names.slug_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("project_name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("author_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if problem := names.email_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("domain_name")
    @classmethod
    def _domain(cls, value: str) -> str:
        if problem := names.domain_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in DATABASE_SCHEMES:
            raise ValueError(
                "must be postgres://user:password@host:5432/name or sqlite:///path"
            )
        if parts.scheme != "sqlite" and not parts.path.strip("/"):
            raise ValueError("must name the database: postgres://user@host:5432/name")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, data: Any, handler: Any) -> "DjangoConfig":
        """Report the Redis layout even when other fields fail.

        Pydantic skips after-validators once a field is invalid; a user fixing answers one
        error at a time would then meet the database collision only on the second try.
        """
        try:
            return handler(data)
        except ValidationError as exc:
            merged = cls.with_defaults(data)
            if not isinstance(merged, dict):
                raise
            try:
                cache = CacheConfig.model_validate(merged.get("cache_default", {}))
                tasks_data = dict(merged.get("tasks", {}))
                tasks_data.pop("dramatiq", None)
                tasks_data.pop("schedules", None)  # their queues need the dramatiq part
                tasks = TaskConfig.model_validate(tasks_data)
            except ValidationError:
                raise exc from None
            raise with_failures(exc, redis_layout_failures(cache, tasks)) from None

    @model_validator(mode="after")
    def _across_fields(self) -> "DjangoConfig":
        """Cache, broker and results each get a database of their own, the Kubernetes
        values fit the workers; fill derived URLs."""
        failures = redis_layout_failures(self.cache_default, self.tasks)
        failures += self.redis.failures() + sentinel_failures(self.redis, self.tasks)
        workers = self.tasks.dramatiq
        failures += self.kubernetes.failures(
            workers.queues, workers.worker_shutdown_timeout
        )
        fail_at(type(self).__name__, failures)
        self.tasks = self.tasks.resolved(self.cache_default)
        return self

    def masked_dump(self) -> dict[str, Any]:
        """The effective configuration, safe to print: passwords and secret key hidden."""
        data = self.model_dump(mode="json")
        data["secret_key"] = "********"
        data["database_url"] = redis_urls.masked(self.database_url)
        data["cache_default"]["redis_url"] = redis_urls.masked(
            self.cache_default.redis_url
        )
        for key in ("broker_url", "result_backend", "probe_trace_url"):
            if data["tasks"][key]:
                data["tasks"][key] = redis_urls.masked(data["tasks"][key])
        return {"environment": self.environment, **data}
