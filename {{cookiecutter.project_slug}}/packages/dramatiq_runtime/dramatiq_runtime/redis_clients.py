"""Redis clients that follow a failover: every role's client is made here.

A role names its database by URL (``config.redis_urls``); ``connection`` (the config's
``RedisConfig.client_options()``) says how to reach the server:

- a URL alone: a managed Redis keeps one endpoint and swaps the primary behind it, and a
  connection opened before the swap still reaches the old primary, now a replica;
- ``sentinels``: redis-py's Sentinel pool asks them for the master on every new connection.

Either way a connection that meets a refusal drops itself and raises ``ConnectionError``,
which the client's retry sends again on a new connection, to the new primary: ``READONLY``
(a demoted server, dramatiq issue 628) and ``NOREPLICAS`` (an isolated master under
``min-replicas-to-write``: a paused master back after the sentinels replaced it refuses
writes until they demote it, seconds later). A refused write was not applied, so sending
it again is safe. A command waits at most ``socket_timeout`` for its reply: a paused
server is given up, not waited on forever.
"""

import re
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.connection import (
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import (
    ConnectionError,
    MasterDownError,
    ReadOnlyError,
    ResponseError,
    TimeoutError,
)
from redis.retry import Retry
from redis.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)

from .config.redis_urls import db_of

RETRIES = 3
CONNECT_TIMEOUT = 5.0  # seconds
# The connection's options every client takes (the rest are Sentinel's).
URL_OPTIONS = ("socket_timeout", "password")
# The refusal redis-py has no class for (READONLY and MASTERDOWN have theirs, their code
# stripped). A pipeline's error starts "Command # 1 (...) of pipeline caused error: ".
NOREPLICAS = re.compile(r"(^|error: )NOREPLICAS ")
REFUSED = (ReadOnlyError, MasterDownError)


def retry() -> Retry:
    """A few tries 50 ms to 1 s apart: a reconnect after a refusal, a blip, a new master."""
    return Retry(
        ExponentialBackoff(cap=1.0, base=0.05),
        RETRIES,
        supported_errors=(ConnectionError, TimeoutError),
    )


class _DropOnRefusal:
    """A connection that leaves a server refusing writes for a failover's sake."""

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        except ResponseError as exc:
            if not (isinstance(exc, REFUSED) or NOREPLICAS.search(str(exc))):
                raise
            self.disconnect()  # type: ignore[attr-defined]
            raise ConnectionError(f"{exc} (failing over: reconnecting)") from exc


class HealingConnection(_DropOnRefusal, Connection):
    pass


class HealingSSLConnection(_DropOnRefusal, SSLConnection):
    pass


class HealingUnixConnection(_DropOnRefusal, UnixDomainSocketConnection):
    pass


class _AsksTheSentinels:
    """A Sentinel connection that asks for the master whenever it reconnects.

    redis-py asks only when the pool opens a connection: a command's retry reconnects the
    dropped one to the address it had (``send_packed_command``), so a paused master that
    timed out was asked again on every retry, 4 x 5 s, long after it was replaced.
    """

    host: str
    port: int
    _sock: Any
    connection_pool: Any
    _asked = False

    def connect_to(self, address: tuple[str, int]) -> None:
        self._asked = True  # the pool just asked the sentinels
        try:
            super().connect_to(address)  # type: ignore[misc]
        finally:
            self._asked = False

    def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        if not self._sock and not self._asked and self.connection_pool.is_master:
            self.host, self.port = self.connection_pool.get_master_address()
        super().connect_check_health(*args, **kwargs)  # type: ignore[misc]


class HealingSentinelConnection(
    _DropOnRefusal, _AsksTheSentinels, SentinelManagedConnection
):
    pass


class HealingSentinelSSLConnection(
    _DropOnRefusal, _AsksTheSentinels, SentinelManagedSSLConnection
):
    pass


HEALING = {
    "redis": HealingConnection,
    "rediss": HealingSSLConnection,
    "unix": HealingUnixConnection,
}


def pool(
    url: str, connection: dict[str, Any] | None = None, **options: Any
) -> ConnectionPool:
    """A connection pool for the role at ``url`` (its database), as ``connection`` says.

    ``options`` are redis-py connection options (``socket_timeout``, ``parser_class``...).
    """
    connection = connection or {}
    found = {"socket_connect_timeout": CONNECT_TIMEOUT, "retry": retry()}
    found.update({k: v for k, v in connection.items() if k in URL_OPTIONS})
    found.update(options)
    sentinels = connection.get("sentinels")
    if not sentinels:
        scheme = url.split(":", 1)[0]
        return ConnectionPool.from_url(url, connection_class=HEALING[scheme], **found)
    tls = bool(connection.get("tls"))
    secure = {"ssl": True} if tls else {}
    manager = Sentinel(
        [tuple(address) for address in sentinels],
        sentinel_kwargs={
            "password": connection.get("sentinel_password"),
            "socket_timeout": found.get("socket_timeout"),
            "socket_connect_timeout": CONNECT_TIMEOUT,
            **secure,
        },
    )
    return SentinelConnectionPool(
        connection["master"],
        manager,
        db=db_of(url) or 0,
        connection_class=HealingSentinelSSLConnection
        if tls
        else HealingSentinelConnection,
        **found,
    )


def client(
    url: str, connection: dict[str, Any] | None = None, **options: Any
) -> redis.Redis:
    """A client for the role at ``url``; see ``pool``."""
    return redis.Redis(connection_pool=pool(url, connection, **options))


class CachePool(ConnectionPool):
    """Django's Redis cache's ``pool_class``: ``from_url`` with the connection option.

    Django calls ``pool_class.from_url(location, **OPTIONS)``.
    """

    @classmethod
    def from_url(cls, url: str, **options: Any) -> ConnectionPool:  # type: ignore[override]
        connection = options.pop("connection", None)
        return pool(url, connection, **options)
