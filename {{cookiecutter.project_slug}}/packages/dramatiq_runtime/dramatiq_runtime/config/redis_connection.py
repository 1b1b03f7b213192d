"""How every Redis role connects: a URL (as a managed Redis gives) or a Sentinel set, and
how long a send rides out a failover before it fails loudly.

Redis Cluster is not an option: Dramatiq's Lua scripts build keys inside the script.
"""

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from .names import comma_separated

MASTER_NAME = r"^[A-Za-z0-9_.-]+$"


def address_problem(address: str) -> str | None:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return f"{address!r} must be host:port, as sentinel-1:26379"
    return None


class RedisConfig(BaseModel):
    """The connection every Redis role (cache, broker, results, locks) shares.

    With ``sentinels`` empty each role connects by its URL (``REDIS_URL`` and the database
    numbers); a ``READONLY`` reply (a managed Redis swapped its primary behind the same
    endpoint) drops the connection and the command is retried on a new one. With
    ``sentinels`` set each role asks them for ``sentinel_master`` and keeps its own
    database number; ``REDIS_URL``'s host is then not used.
    """

    # Built on first use: a process validates one environment's tree, not every class.
    model_config = ConfigDict(extra="forbid", defer_build=True)
    env_prefix: ClassVar[str] = "REDIS_"

    sentinels: list[str] = Field(
        default=[],
        description="Sentinel addresses, comma-separated host:port (empty: REDIS_URL)",
    )
    sentinel_master: str = Field(
        default="",
        description="The service name the sentinels monitor (sentinel monitor NAME)",
    )
    sentinel_password: SecretStr | None = Field(
        default=None,
        description="Password of the sentinels (requirepass in sentinel.conf)",
    )
    password: SecretStr | None = Field(
        default=None,
        description="Password of the Redis servers: behind the sentinels, or where a "
        "URL carries none",
    )
    tls: bool = Field(
        default=False,
        description="TLS to the sentinels and servers (with a URL: rediss://)",
    )
    socket_timeout: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Seconds a command waits for its reply: a paused server is given up",
    )
    failover_timeout: int = Field(
        default=15_000,
        ge=0,
        le=300_000,
        description="Milliseconds a send keeps retrying while Redis fails over; then "
        "it raises BrokerUnavailable",
    )
    wait_replicas: int = Field(
        default=0,
        ge=0,
        le=16,
        description="Replicas that must hold a sent message before send() returns "
        "(Redis WAIT); 1 with Sentinel loses no acknowledged send",
    )
    wait_timeout: int = Field(
        default=1_000,
        ge=10,
        le=60_000,
        description="Milliseconds a send waits for wait_replicas; short of them it is "
        "sent again",
    )

    _lists = field_validator("sentinels", mode="before")(comma_separated)

    @field_validator("sentinels")
    @classmethod
    def _addresses(cls, addresses: list[str]) -> list[str]:
        problems = [p for a in addresses if (p := address_problem(a))]
        if problems:
            raise ValueError("; ".join(problems))
        return addresses

    @field_validator("sentinel_master")
    @classmethod
    def _master(cls, name: str) -> str:
        if name and not re.fullmatch(MASTER_NAME, name):
            raise ValueError(
                "must be the sentinels' service name: letters, digits, _ . -"
            )
        return name

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)

    def failures(self) -> list[tuple[tuple[str, ...], Any, str]]:
        """What one field cannot tell: a Sentinel set needs its master's name, and the
        Sentinel-only values mean nothing beside a URL."""
        if self.uses_sentinel:
            if not self.sentinel_master:
                rule = "is required with REDIS_SENTINELS (the name in 'sentinel monitor NAME')"
                return [(("redis", "sentinel_master"), "", rule)]
            return []
        failures: list[tuple[tuple[str, ...], Any, str]] = []
        url_only = {
            "sentinel_master": "needs REDIS_SENTINELS",
            "sentinel_password": "needs REDIS_SENTINELS",
            "tls": "is for Sentinel: with a URL, use rediss://",
        }
        for name, rule in url_only.items():
            value = getattr(self, name)
            if value:
                shown = "********" if isinstance(value, SecretStr) else value
                failures.append((("redis", name), shown, rule))
        return failures

    def client_options(self) -> dict[str, Any]:
        """What a client needs beyond a role's URL, as plain data (settings hold it)."""
        if not self.uses_sentinel:
            found: dict[str, Any] = {"socket_timeout": self.socket_timeout}
            if self.password:  # a URL's own password wins (redis-py: URL over options)
                found["password"] = secret(self.password)
            return found
        return {
            "socket_timeout": self.socket_timeout,
            "sentinels": [
                (host, int(port))
                for host, _, port in (a.rpartition(":") for a in self.sentinels)
            ],
            "master": self.sentinel_master,
            "password": secret(self.password),
            "sentinel_password": secret(self.sentinel_password),
            "tls": self.tls,
        }

    def send_options(self) -> dict[str, int]:
        """The broker's: how sends ride out a failover."""
        return {
            "failover_timeout": self.failover_timeout,
            "wait_replicas": self.wait_replicas,
            "wait_timeout": self.wait_timeout,
        }


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None
