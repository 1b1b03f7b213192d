"""The test project's environments, with literal values, and how to load one."""

from pathlib import Path
from typing import Any, ClassVar

from dramatiq_runtime.config import (
    ConfigError,
    DjangoConfig,
    Environments,
    ProductionConfig,
    deep_merge,
)

SLUG = "testproject"

COMMON: dict[str, Any] = {
    "project_name": "Test Project",
    "project_slug": SLUG,
    "description": "The dramatiq_runtime package's test project.",
    "author_name": "Test Author",
    "author_email": "tests@example.com",
    "domain_name": "example.com",
    "database_url": "postgres://postgres@127.0.0.1:5432/runtime_tests",
    "cache_default": {
        "redis_url": "redis://127.0.0.1:6379",
        "db": 0,
        "key_prefix": SLUG,
    },
    "tasks": {
        "namespace": SLUG,
        "broker_db": 1,
        "results_db": 2,
        "use_results": True,
        "dramatiq": {
            "queues": ["critical", "default", "background"],
            "min_backoff": 1000,
            "max_backoff": 30000,
            "max_age": None,
            "time_limit": 600000,
            "prometheus_enabled": False,
            "admin_enabled": True,
            "liveness_file": f"/tmp/{SLUG}-worker-alive",
        },
        "scheduler": {"enabled": True, "liveness_file": f"/tmp/{SLUG}-scheduler-alive"},
        "schedules": [{"actor": "clear_expired_sessions", "cron": "0 4 * * *"}],
    },
}


class DevConfig(DjangoConfig):
    environment: ClassVar[str] = "development"
    profile: ClassVar[dict[str, Any]] = deep_merge(
        COMMON,
        {
            "debug": True,
            "allowed_hosts": ["localhost", "127.0.0.1", "[::1]"],
            "tasks": {
                "probes": True,
                "dramatiq": {
                    "processes": 2,
                    "threads": 4,
                    "heartbeat_timeout": 10000,
                    "maintenance_chance": 100000,
                    "worker_shutdown_timeout": 30000,
                },
            },
        },
    )


class TestConfig(DjangoConfig):
    __test__: ClassVar[bool] = False  # a config, not a pytest test class

    environment: ClassVar[str] = "test"
    profile: ClassVar[dict[str, Any]] = deep_merge(
        COMMON,
        {
            "allowed_hosts": ["testserver", "localhost", "127.0.0.1"],
            "cache_default": {"key_prefix": f"{SLUG}-test-cache"},
            "tasks": {
                "namespace": f"{SLUG}-test",
                "probes": True,
                "dramatiq": {
                    "processes": 1,
                    "threads": 4,
                    "heartbeat_timeout": 5000,
                    "maintenance_chance": 100000,
                    "worker_shutdown_timeout": 10000,
                },
            },
        },
    )


class ProdConfig(ProductionConfig):
    profile: ClassVar[dict[str, Any]] = deep_merge(
        COMMON,
        {
            "debug": False,
            "secret_key": "",
            "allowed_hosts": ["example.com"],
            "tasks": {
                "dramatiq": {
                    "processes": 8,
                    "threads": 16,
                    "max_retries": 5,
                    "worker_shutdown_timeout": 600000,
                    "maintenance_chance": 10000,
                },
            },
        },
    )


ENVIRONMENTS = Environments(
    DevConfig,
    ProdConfig,
    TestConfig,
    env_file=Path(__file__).resolve().parents[1] / ".env",
)
load_config = ENVIRONMENTS.load

__all__ = [
    "ENVIRONMENTS",
    "ConfigError",
    "DevConfig",
    "ProdConfig",
    "TestConfig",
    "load_config",
]
