"""The Django settings a loaded config implies: what a project's ``settings.py`` assigns.

Each function turns one part of the config into Django's names for it, so ``settings.py``
stays a short, readable list of assignments and holds no value of its own.
"""

# First: the garbage collector is paused while the settings and the apps load.
from . import startup_gc  # noqa: F401

# isort: split
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured

from . import error_reporting, tracing
from .config import ConfigError, DjangoConfig, Environments


def load(environments: Environments) -> DjangoConfig:
    """The config for ``DJANGO_ENV``; a bad value stops Django with one line per problem."""
    try:
        return environments.load()
    except ConfigError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def observability(config: DjangoConfig) -> None:
    """Sentry and OpenTelemetry, each when the config turns it on: before the broker is
    built (``task_settings``), as sentry-sdk's Dramatiq integration needs."""
    with _needs_extra("sentry", "SENTRY_DSN is set"):
        error_reporting.setup(config.sentry, config.environment)
    with _needs_extra("opentelemetry", "TRACING_ENABLED=true"):
        tracing.setup(config.tracing, config.project_slug)


@contextlib.contextmanager
def _needs_extra(extra: str, switch: str) -> Iterator[None]:
    try:
        yield
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"{switch}: that needs the runtime's {extra!r} extra, not installed "
            f"(dramatiq-runtime[{extra}]; the use_{extra} answer adds it): {exc}"
        ) from None


def runtime_apps() -> list[str]:
    """The apps the runtime needs in INSTALLED_APPS, itself last.

    django_dramatiq's app is the runtime's subclass of it (``broker_app``: it builds the
    middleware the settings describe). Django's task framework is built in from Django
    6.0 (``django.tasks``) and the django-tasks backport on 5.2.
    """
    tasks = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"
    return ["dramatiq_runtime.broker_app.DjangoDramatiq", tasks, "dramatiq_runtime"]


def database_settings(url: str, base_dir: Path) -> dict[str, Any]:
    """Django's DATABASES entry for the URL (dj-database-url), with SQLite made safe
    for many worker processes and threads."""
    if not url.startswith("sqlite"):
        # Query parameters (?sslmode=require) become OPTIONS.
        return dict(
            dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        )
    database = dj_database_url.parse(url)
    path = Path(database["NAME"] or "db.sqlite3")
    path = path if path.is_absolute() else base_dir / path
    return {
        **database,
        "NAME": path,
        # A file, not memory, so a worker started by the tests shares the test database.
        "TEST": {"NAME": path.with_name(f"test_{path.name}")},
        # Worker threads and processes write at once: WAL, writers that wait, and
        # transactions that take the write lock up front instead of failing with
        # "database is locked".
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def cache_settings(config: DjangoConfig) -> dict[str, Any]:
    """CACHES: Django's Redis cache on the cache's own database, on a pool that follows
    a failover (``redis_clients``)."""
    cache = config.cache_default
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": cache.url,
            "KEY_PREFIX": cache.key_prefix,
            "TIMEOUT": cache.timeout,
            "OPTIONS": {
                "pool_class": "dramatiq_runtime.redis_clients.CachePool",
                "connection": config.redis.client_options(),
            },
        }
    }


def task_settings(config: DjangoConfig) -> dict[str, Any]:
    """Every DRAMATIQ_* setting, TASKS, and the scheduler's, from the models.

    Plain data, the broker's middleware included (``Component`` entries, built when
    Django populates its apps: ``broker_app``): importing settings imports neither
    Dramatiq nor Redis.
    """
    tasks = config.tasks
    data = tasks.to_django_config(
        config.cache_default,
        config.redis,
        tracing=config.tracing.enabled,
        sentry=config.sentry.enabled,
    )
    found = {
        **data,
        # Workers import every installed app's ``tasks`` and ``actors`` modules.
        "DRAMATIQ_AUTODISCOVER_MODULES": ["tasks", "actors"],
    }
    if tasks.scheduler.enabled:
        # dramatiq-crontab's lock renewal; `manage.py scheduler` reads the schedules.
        found["DRAMATIQ_CRONTAB"] = tasks.crontab_settings()
    return found


def logging_settings() -> dict[str, Any]:
    """LOGGING: one line per record on the console, INFO and up, the chatty libraries
    at WARNING: Django's task framework logs two INFO lines per task (failures still
    come at ERROR, with the traceback); APScheduler every run of every job (the
    scheduler logs each send itself). A line logged while a task runs ends with its
    message id, and its trace id when tracing is on (``log_context``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"task": {"()": "dramatiq_runtime.log_context.TaskContext"}},
        "formatters": {
            "plain": {
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s%(task)s"
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["task"],
            }
        },
        "root": {"handlers": ["console"], "level": "INFO"},
        "loggers": {
            name: {"level": "WARNING"}
            for name in ("django_tasks", "django.tasks", "apscheduler")
        },
    }
