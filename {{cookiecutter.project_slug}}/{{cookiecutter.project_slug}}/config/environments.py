"""Development, production and test: the answers this project was generated with.

Each ``profile`` sits underneath the YAML file named by ``CONFIG_FILE`` and the environment
variables (see ``loading.py``); edit a value here to change that environment's default.
"""

from typing import Any, ClassVar

from pydantic import SecretStr, field_validator, model_validator

from . import redis_urls
from .base import DEVELOPMENT_SECRET_KEY, DjangoConfig, deep_merge
from .errors import fail_at

QUEUES = [
{%- for queue in cookiecutter.task_queues | py_items %}
    {{ queue }},
{%- endfor %}
]

# Shared by every environment: the project's identity, Redis layout and retry policy.
COMMON: dict[str, Any] = {
    "project_name": {{ cookiecutter.project_name | py }},
    "project_slug": {{ cookiecutter.project_slug | py }},
    "description": {{ cookiecutter.description | py }},
    "author_name": {{ cookiecutter.author_name | py }},
    "author_email": {{ cookiecutter.author_email | py }},
    "domain_name": {{ cookiecutter.domain_name | py }},
{%- if cookiecutter.database == "postgresql" %}
    "database_url": "postgres://postgres@localhost:5432/{{ cookiecutter.project_slug }}",
{%- else %}
    "database_url": "sqlite:///db.sqlite3",
{%- endif %}
    "cache_default": {
        "redis_url": "redis://localhost:6379",
        "db": {{ cookiecutter.redis_cache_db | py }},
        "key_prefix": {{ cookiecutter.project_slug | py }},
    },
    "tasks": {
        "broker_db": {{ cookiecutter.redis_broker_db | py }},
        "results_db": {{ cookiecutter.redis_results_db | py }},
        "use_results": {{ cookiecutter.use_results | py }},
        "namespace": {{ cookiecutter.project_slug | py }},
        "dramatiq": {
            "queues": QUEUES,
            "min_backoff": {{ cookiecutter.min_backoff | py }},
            "max_backoff": {{ cookiecutter.max_backoff | py }},
            "max_age": {{ "None" if cookiecutter.max_age | string | trim == "" else cookiecutter.max_age | py }},
            "time_limit": {{ cookiecutter.time_limit | py }},
            "prometheus_enabled": {{ cookiecutter.prometheus_enabled | py }},
            "admin_enabled": {{ cookiecutter.admin_enabled | py }},
            # Kept fresh by a consuming worker; the compose healthcheck reads it.
            "liveness_file": {{ ("/tmp/" ~ cookiecutter.project_slug ~ "-worker-alive") | py }},
        },
    },
}


def _with(**changes: Any) -> dict[str, Any]:
    return deep_merge(COMMON, changes)


class DevConfig(DjangoConfig):
    """Local development: debug on, few workers, a dead worker's tasks back in ~15 s."""

    environment: ClassVar[str] = "development"
    profile: ClassVar[dict[str, Any]] = _with(
        debug=True,
        allowed_hosts=["localhost", "127.0.0.1", "[::1]"],
        tasks={
            "dramatiq": {
                "processes": {{ cookiecutter.dev_processes | py }},
                "threads": {{ cookiecutter.dev_threads | py }},
                "heartbeat_timeout": 10000,
                "maintenance_chance": 100000,
                # compose.yaml's stop_grace_period is this plus a margin.
                "worker_shutdown_timeout": {{ cookiecutter._dev_worker_shutdown_ms | py }},
            }
        },
    )


class TestConfig(DjangoConfig):
    """The test suite: one small worker, no metrics server, fast requeueing."""

    __test__: ClassVar[bool] = False  # a config, not a pytest test class

    environment: ClassVar[str] = "test"
    profile: ClassVar[dict[str, Any]] = _with(
        allowed_hosts=["testserver", "localhost", "127.0.0.1"],
        cache_default={"key_prefix": {{ (cookiecutter.project_slug ~ "-test-cache") | py }}},
        tasks={
            "namespace": {{ (cookiecutter.project_slug ~ "-test") | py }},
            "dramatiq": {
                "processes": 1,
                "threads": 4,
                "prometheus_enabled": False,
                "heartbeat_timeout": 5000,
                "maintenance_chance": 100000,
                "worker_shutdown_timeout": 10000,
            },
        },
    )


class ProdConfig(DjangoConfig):
    """Production: no debug, more workers, secrets and Redis passwords required."""

    environment: ClassVar[str] = "production"
    profile: ClassVar[dict[str, Any]] = _with(
        debug=False,
        secret_key="",
        allowed_hosts=[{{ cookiecutter.domain_name | py }}],
        tasks={
            "dramatiq": {
                "processes": {{ cookiecutter.prod_processes | py }},
                "threads": {{ cookiecutter.prod_threads | py }},
                "max_retries": {{ cookiecutter.max_retries | py }},
                # A stopping worker waits as long as a task may run; compose.prod.yaml's
                # stop_grace_period is this plus a margin.
                "worker_shutdown_timeout": {{ cookiecutter.time_limit | py }},
            }
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
