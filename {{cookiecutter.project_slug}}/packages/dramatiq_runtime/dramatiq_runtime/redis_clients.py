"""Redis clients that follow a failover: every role's client is made here.

A role names its database by URL (``config.redis_urls``); ``connection`` (the config's
``RedisConfig.client_options()``) says how to reach the server:

- a URL alone: a managed Redis keeps one endpoint and swaps the primary behind it, and a
  connection opened before the swap reaches the old primary, now a replica, whose writes
  answer ``READONLY`` (dramatiq issue 628). Our connections turn that reply into a dropped
  connection and a ``ConnectionError``, which the client's retry sends again on a new one.
- ``sentinels``: redis-py's Sentinel pool asks them for the master on every new connection
  and does the same on ``READONLY``.

Either way a command waits at most ``socket_timeout`` for its reply (a paused server is
given up, not waited on forever) and is retried a few times with a short backoff.
"""

from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.connection import (
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from .config.redis_urls import db_of

RETRIES = 3
URL_OPTIONS = ("socket_timeout", "password")  # a connection's options every client takes
CONNECT_TIMEOUT = 5.0  # seconds


def retry() -> Retry:
    """A few tries 50 ms to 1 s apart: a reconnect after READONLY, a blip, a new master."""
    return Retry(
        ExponentialBackoff(cap=1.0, base=0.05),
        RETRIES,
        supported_errors=(ConnectionError, TimeoutError),
    )


class _DropOnReadOnly:
    """A connection that leaves a demoted server: READONLY becomes a ConnectionError.

    The write was refused, so sending it again on a new connection is safe.
    """

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        except ReadOnlyError as exc:
            self.disconnect()  # type: ignore[attr-defined]
            raise ConnectionError(
                f"{exc} (the server was demoted: reconnecting to the endpoint)"
            ) from exc


class HealingConnection(_DropOnReadOnly, Connection):
    pass


class HealingSSLConnection(_DropOnReadOnly, SSLConnection):
    pass


class HealingUnixConnection(_DropOnReadOnly, UnixDomainSocketConnection):
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
        return ConnectionPool.from_url(
            url, connection_class=HEALING[scheme], **found
        )
    secure = {"ssl": True} if connection.get("tls") else {}
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
        **secure,
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
