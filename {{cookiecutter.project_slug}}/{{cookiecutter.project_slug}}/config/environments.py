"""Development, production and test: this project's values, one place for each.

Edit a value here to change that environment's default. ``COMMON`` holds what every
environment shares; each class adds or replaces its own, merged key by key (``DevConfig``'s
``tasks.dramatiq.processes`` beside ``COMMON``'s ``tasks.dramatiq.queues``). A profile sits
underneath the YAML file named by ``CONFIG_FILE`` and the environment variables (see
``dramatiq_runtime.config.loading``); ``python manage.py taskconfig`` shows the result.
The models, their bounds and production's rules come from the ``dramatiq_runtime``
package (``packages/dramatiq_runtime/``); the values are yours.
"""

from typing import Any, ClassVar

from dramatiq_runtime.config import DjangoConfig, ProductionConfig, deep_merge

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
    # OpenTelemetry: spans over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (README: "Traces
    # and error reports"). Sentry needs no value here: it is on where SENTRY_DSN is set.
    "tracing": {"enabled": {{ cookiecutter.use_opentelemetry | py }}},
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
                # The runtime's probe actors (tests, benchmarks): never in production.
                "probes": True,
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
{%- if cookiecutter.use_opentelemetry %}
            # Spans to the test process's own output, not to a collector.
            "tracing": {"exporter": "console"},
{%- endif %}
            "tasks": {
                "namespace": f"{SLUG}-test",
                "probes": True,
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


class ProdConfig(ProductionConfig):
    """Production: no debug, more workers, secrets and Redis passwords required."""

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
