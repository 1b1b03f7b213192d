"""Django's cache on Redis: the server every role shares, and the cache's own database."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import redis_urls


class CacheConfig(BaseModel):
    """Redis for Django's cache.

    ``redis_url`` names the server (``REDIS_URL``); the broker and results use the same server
    with their own database numbers unless given URLs of their own. ``db`` picks the cache's
    database; when it is not set, the URL's path (``redis://host:6379/0``) does, else 0.
    """

    # Built on first use: a process validates one environment's tree, not every class.
    model_config = ConfigDict(extra="forbid", defer_build=True)
    env_prefix: ClassVar[str] = "CACHE_"

    redis_url: str = Field(
        default="redis://localhost:6379/0",
        description="Redis server URL; its password is never printed",
        json_schema_extra={"env": "REDIS_URL"},
    )
    db: int | None = Field(
        default=None,
        ge=0,
        le=15,
        description="Redis database for the cache (default: the URL's, else 0)",
        json_schema_extra={"env": "REDIS_CACHE_DB"},
    )
    key_prefix: str = Field(default="", description="Prefix of every cache key")
    timeout: int = Field(
        default=300, ge=0, description="Default cache timeout, seconds"
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if problem := redis_urls.url_problem(value):
            raise ValueError(problem)
        return value

    @property
    def effective_db(self) -> int:
        if self.db is not None:
            return self.db
        return redis_urls.db_of(self.redis_url) or 0

    @property
    def url(self) -> str:
        """The cache's URL, with its database."""
        return redis_urls.with_db(self.redis_url, self.effective_db)
