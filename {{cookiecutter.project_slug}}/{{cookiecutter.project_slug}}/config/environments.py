"""Development, production and test: the answers this project was generated with.

Each ``profile`` is the answers' fields (``answers.py``) plus what the environment itself
decides; it sits underneath the YAML file named by ``CONFIG_FILE`` and the environment
variables (see ``loading.py``). Edit a value here to change that environment's default.
"""

from typing import Any, ClassVar

from pydantic import SecretStr, field_validator, model_validator

from . import answers, redis_urls
from .base import DEVELOPMENT_SECRET_KEY, DjangoConfig, deep_merge
from .errors import fail_at

SLUG = answers.ANSWERS["project_slug"]
# What `manage.py scheduler` sends when the project has one: Django's session clean-up,
# which its documentation asks to run periodically (tasks/housekeeping.py).
EXAMPLE_SCHEDULES = [{"actor": "clear_expired_sessions", "cron": "0 4 * * *"}]
# Shared by every environment, beside the answers.
COMMON: dict[str, Any] = {
    "cache_default": {"redis_url": "redis://localhost:6379"},
    "tasks": {
        "dramatiq": {
            # Kept fresh by a consuming worker; the compose healthcheck reads it.
            "liveness_file": f"/tmp/{SLUG}-worker-alive",
        },
        # Kept fresh by a scheduler, firing or standing by; its healthcheck reads it.
        "scheduler": {"liveness_file": f"/tmp/{SLUG}-scheduler-alive"},
        "schedules": EXAMPLE_SCHEDULES if answers.ANSWERS["use_scheduler"] else [],
    },
}


def _profile(environment: str, **changes: Any) -> dict[str, Any]:
    return deep_merge(deep_merge(COMMON, answers.profile(environment)), changes)


class DevConfig(DjangoConfig):
    """Local development: debug on, few workers, a dead worker's tasks back in ~15 s."""

    environment: ClassVar[str] = "development"
    profile: ClassVar[dict[str, Any]] = _profile(
        environment,
        debug=True,
        allowed_hosts=["localhost", "127.0.0.1", "[::1]"],
        tasks={
            "dramatiq": {
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
    profile: ClassVar[dict[str, Any]] = _profile(
        environment,
        allowed_hosts=["testserver", "localhost", "127.0.0.1"],
        cache_default={"key_prefix": f"{SLUG}-test-cache"},
        tasks={
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
    )


class ProdConfig(DjangoConfig):
    """Production: no debug, more workers, secrets and Redis passwords required."""

    environment: ClassVar[str] = "production"
    # compose.prod.yaml's stop_grace_period is worker_shutdown_timeout plus a margin.
    profile: ClassVar[dict[str, Any]] = _profile(
        environment,
        debug=False,
        secret_key="",
        # Dramatiq's 1 in 1,000 leaves a killed worker's messages on an idle queue for
        # ~12 minutes on average; 1 in 100 brings them back ~1-2 minutes after the
        # 60 s heartbeat (a pass is one Lua call over the heartbeat set: cheap).
        tasks={"dramatiq": {"maintenance_chance": 10000}},
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
