"""What production refuses: the rules every production environment class inherits.

A project's ``ProdConfig`` subclasses ``ProductionConfig`` and writes only its values.
"""

from typing import ClassVar

from pydantic import SecretStr, field_validator, model_validator

from . import redis_urls
from .base import DEVELOPMENT_SECRET_KEY, DjangoConfig
from .errors import fail_at


class ProductionConfig(DjangoConfig):
    """No debug, a real secret key, named hosts, and a password on every Redis URL."""

    environment: ClassVar[str] = "production"

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
    def _redis_passwords(self) -> "ProductionConfig":
        """REDIS_PASSWORD is set, or every Redis URL carries a password (derived URLs
        inherit the cache's)."""
        failures = []
        if self.redis.password:  # every role's client gets it
            return self
        if self.redis.uses_sentinel:
            rule = "Redis needs a password in production: REDIS_PASSWORD, the servers'"
            fail_at(type(self).__name__, [(("redis", "password"), None, rule)])
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
