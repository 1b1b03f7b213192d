"""Development, production and test: this project's values, one place for each.

Edit a value here to change that environment's default. ``COMMON`` holds what every
environment shares; each class adds or replaces its own, merged key by key (``DevConfig``'s
``tasks.dramatiq.processes`` beside ``COMMON``'s ``tasks.dramatiq.queues``). A profile sits
underneath the YAML file named by ``CONFIG_FILE`` and the environment variables (see
``loading.py``); ``python manage.py taskconfig`` shows the result.
"""

from typing import Any, ClassVar

from pydantic import SecretStr, field_validator, model_validator

from . import redis_urls
from .base import DEVELOPMENT_SECRET_KEY, DjangoConfig, deep_merge
from .errors import fail_at

SLUG = {{ cookiecutter.project_slug | py }}

COMMON: dict[str, Any] = {
    "project_name": {{ cookiecutter.project_name | py }},
    "project_slug": SLUG,
    "description": {{ cookiecutter.description | py }},
    "author_name": {{ cookiecutter.author_name | py }},
    "author_email": {{ cookiecutter.author_email | py }},
    "domain_name": {{ cookiecutter.domain_name | py }},
{%- if cookiecutter.database == "postgresql" %}
    "database_url": f"postgres://postgres@localhost:5432/{SLUG}",
{%- else %}
    "database_url": "sqlite:///db.sqlite3",
{%- endif %}
    "cache_default": {
        "redis_url": "redis://localhost:6379",
        "db": {{ cookiecutter.redis_cache_db | py }},
        "key_prefix": SLUG,
    },
    "tasks": {
        "namespace": SLUG,
        "broker_db": {{ cookiecutter.redis_broker_db | py }},
        "results_db": {{ cookiecutter.redis_results_db | py }},
        "use_results": {{ cookiecutter.use_results | py }},
        "dramatiq": {
            "queues": [
{%- for queue in cookiecutter.task_queues | items %}
                {{ queue | py }},
{%- endfor %}
            ],
            "min_backoff": {{ cookiecutter.min_backoff | py }},
            "max_backoff": {{ cookiecutter.max_backoff | py }},
            "max_age": {% if cookiecutter.max_age | string | trim %}{{ cookiecutter.max_age | py }}{% else %}None{% endif %},
            "time_limit": {{ cookiecutter.time_limit | py }},
            "prometheus_enabled": {{ cookiecutter.prometheus_enabled | py }},
            "admin_enabled": {{ cookiecutter.admin_enabled | py }},
            # Kept fresh by a consuming worker; the compose healthcheck reads it.
            "liveness_file": f"/tmp/{SLUG}-worker-alive",
        },
        "scheduler": {
            "enabled": {{ cookiecutter.use_scheduler | py }},
            # Kept fresh by a scheduler, firing or standing by; its healthcheck reads it.
            "liveness_file": f"/tmp/{SLUG}-scheduler-alive",
        },
{%- if cookiecutter.use_scheduler %}
        # What `manage.py scheduler` sends: Django's session clean-up, which its
        # documentation asks to run periodically (tasks/housekeeping.py).
        "schedules": [{"actor": "clear_expired_sessions", "cron": "0 4 * * *"}],
{%- else %}
        "schedules": [],
{%- endif %}
    },
}


class DevConfig(DjangoConfig):
    """Local development: debug on, few workers, a dead worker's tasks back in ~15 s."""

    environment: ClassVar[str] = "development"
    profile: ClassVar[dict[str, Any]] = deep_merge(
        COMMON,
        {
            "debug": True,
            "allowed_hosts": ["localhost", "127.0.0.1", "[::1]"],
            "tasks": {
                "dramatiq": {
                    "processes": {{ cookiecutter.dev_processes | py }},
                    "threads": {{ cookiecutter.dev_threads | py }},
                    "heartbeat_timeout": 10000,
                    "maintenance_chance": 100000,
                    # compose.yaml's stop_grace_period is this plus a margin.
                    "worker_shutdown_timeout": {{ cookiecutter._dev_worker_shutdown_ms | py }},
                },
            },
        },
    )


class TestConfig(DjangoConfig):
    """The test suite: one small worker, no metrics server, fast requeueing."""

    __test__: ClassVar[bool] = False  # a config, not a pytest test class

    environment: ClassVar[str] = "test"
    profile: ClassVar[dict[str, Any]] = deep_merge(
        COMMON,
        {
            "allowed_hosts": ["testserver", "localhost", "127.0.0.1"],
            "cache_default": {"key_prefix": f"{SLUG}-test-cache"},
            "tasks": {
                "namespace": f"{SLUG}-test",
                "dramatiq": {
                    "processes": 1,
                    "threads": 4,
                    "prometheus_enabled": False,
                    "heartbeat_timeout": 5000,
                    "maintenance_chance": 100000,
                    "worker_shutdown_timeout": 10000,
                },
            },
        },
    )


class ProdConfig(DjangoConfig):
    """Production: no debug, more workers, secrets and Redis passwords required."""

    environment: ClassVar[str] = "production"
    profile: ClassVar[dict[str, Any]] = deep_merge(
        COMMON,
        {
            "debug": False,
            "secret_key": "",
            "allowed_hosts": [
                {{ cookiecutter.domain_name | py }},
            ],
            "tasks": {
                "dramatiq": {
                    "processes": {{ cookiecutter.prod_processes | py }},
                    "threads": {{ cookiecutter.prod_threads | py }},
                    "max_retries": {{ cookiecutter.max_retries | py }},
                    # A stopping worker waits as long as a task may run (time_limit);
                    # compose.prod.yaml's stop_grace_period is this plus a margin.
                    "worker_shutdown_timeout": {{ cookiecutter.time_limit | py }},
                    # Dramatiq's 1 in 1,000 leaves a killed worker's messages on an idle
                    # queue for ~12 minutes on average; 1 in 100 brings them back ~1-2
                    # minutes after the 60 s heartbeat (a pass is one cheap Lua call).
                    "maintenance_chance": 10000,
                },
            },
        },
    )

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        if not key:
            raise ValueError("is required in production")
        if key == DEVELOPMENT_SECRET_KEY or key.startswith("django-insecure-"):
            raise ValueError("must not be a development key in production")
        if len(key) < 50 or len(set(key)) < 5:
            raise ValueError("must be at least 50 characters with 5 different ones")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, hosts: list[str]) -> list[str]:
        if not [host for host in hosts if host]:
            raise ValueError("must name at least one host in production")
        return hosts

    @field_validator("debug")
    @classmethod
    def _debug(cls, debug: bool) -> bool:
        if debug:
            raise ValueError("must be off in production")
        return debug

    @model_validator(mode="after")
    def _redis_passwords(self) -> "ProdConfig":
        """Every Redis URL carries a password; derived URLs inherit the cache's."""
        failures = []
        chain = [
            (("cache_default", "redis_url"), self.cache_default.redis_url),
            (("tasks", "broker_url"), self.tasks.broker_url),
            (("tasks", "result_backend"), self.tasks.result_backend),
        ]
        for loc, url in chain:
            if url and not redis_urls.has_password(url):
                rule = "Redis needs a password in production: redis://:password@host"
                failures.append((loc, url, rule))
                break  # the URLs after it are derived from this one
        fail_at(type(self).__name__, failures)
        return self


ENVIRONMENTS: dict[str, type[DjangoConfig]] = {
    config.environment: config for config in (DevConfig, ProdConfig, TestConfig)
}
