"""The answers this project was generated with, and the config field each one sets.

The one place that knows which prompt became which field: ``environments.py`` builds the
profiles from it, and the template's post-gen hook reads it back to name the prompt behind
a value the models refuse. Answers are kept as given; the models' validators parse them
("a,b" lists, "" for none), so a bad answer is judged by the same rules as a bad variable.
"""

from typing import Any

from .base import tree

ANSWERS: dict[str, Any] = {
    "project_name": {{ cookiecutter.project_name | py }},
    "project_slug": {{ cookiecutter.project_slug | py }},
    "description": {{ cookiecutter.description | py }},
    "author_name": {{ cookiecutter.author_name | py }},
    "author_email": {{ cookiecutter.author_email | py }},
    "domain_name": {{ cookiecutter.domain_name | py }},
    "database": {{ cookiecutter.database | py }},
    "task_queues": {{ cookiecutter.task_queues | py }},
    "dev_processes": {{ cookiecutter.dev_processes | py }},
    "dev_threads": {{ cookiecutter.dev_threads | py }},
    "prod_processes": {{ cookiecutter.prod_processes | py }},
    "prod_threads": {{ cookiecutter.prod_threads | py }},
    "max_retries": {{ cookiecutter.max_retries | py }},
    "min_backoff": {{ cookiecutter.min_backoff | py }},
    "max_backoff": {{ cookiecutter.max_backoff | py }},
    "max_age": {{ cookiecutter.max_age | py }},
    "time_limit": {{ cookiecutter.time_limit | py }},
    "redis_cache_db": {{ cookiecutter.redis_cache_db | py }},
    "redis_broker_db": {{ cookiecutter.redis_broker_db | py }},
    "redis_results_db": {{ cookiecutter.redis_results_db | py }},
    "use_results": {{ cookiecutter.use_results | py }},
    "prometheus_enabled": {{ cookiecutter.prometheus_enabled | py }},
    "admin_enabled": {{ cookiecutter.admin_enabled | py }},
    "use_scheduler": {{ cookiecutter.use_scheduler | py }},
}

ALL = None  # an entry of FIELDS that every environment shares
Field = tuple[str | None, tuple[str, ...]]

# prompt -> the fields its answer sets: (environment, or ALL; the field's path).
FIELDS: dict[str, tuple[Field, ...]] = {
    "project_name": ((ALL, ("project_name",)),),
    "project_slug": (
        (ALL, ("project_slug",)),
        (ALL, ("cache_default", "key_prefix")),
        (ALL, ("tasks", "namespace")),
    ),
    "description": ((ALL, ("description",)),),
    "author_name": ((ALL, ("author_name",)),),
    "author_email": ((ALL, ("author_email",)),),
    "domain_name": ((ALL, ("domain_name",)), ("production", ("allowed_hosts",))),
    "database": ((ALL, ("database_url",)),),
    "task_queues": ((ALL, ("tasks", "dramatiq", "queues")),),
    "dev_processes": (("development", ("tasks", "dramatiq", "processes")),),
    "dev_threads": (("development", ("tasks", "dramatiq", "threads")),),
    "prod_processes": (("production", ("tasks", "dramatiq", "processes")),),
    "prod_threads": (("production", ("tasks", "dramatiq", "threads")),),
    "max_retries": (("production", ("tasks", "dramatiq", "max_retries")),),
    "min_backoff": ((ALL, ("tasks", "dramatiq", "min_backoff")),),
    "max_backoff": ((ALL, ("tasks", "dramatiq", "max_backoff")),),
    "max_age": ((ALL, ("tasks", "dramatiq", "max_age")),),
    "time_limit": (
        (ALL, ("tasks", "dramatiq", "time_limit")),
        # A stopping production worker waits as long as a task may run.
        ("production", ("tasks", "dramatiq", "worker_shutdown_timeout")),
    ),
    "redis_cache_db": ((ALL, ("cache_default", "db")),),
    "redis_broker_db": ((ALL, ("tasks", "broker_db")),),
    "redis_results_db": ((ALL, ("tasks", "results_db")),),
    "use_results": ((ALL, ("tasks", "use_results")),),
    "prometheus_enabled": ((ALL, ("tasks", "dramatiq", "prometheus_enabled")),),
    "admin_enabled": ((ALL, ("tasks", "dramatiq", "admin_enabled")),),
    "use_scheduler": ((ALL, ("tasks", "scheduler", "enabled")),),
}


def database_url(database: str, slug: str) -> str:
    """The ``database`` answer as a URL for the machine running the project natively."""
    if database == "postgresql":
        return f"postgres://postgres@localhost:5432/{slug}"
    return "sqlite:///db.sqlite3"


def field_value(prompt: str, answers: dict[str, Any]) -> Any:
    """The value ``prompt``'s answer gives its fields."""
    if prompt == "database":
        return database_url(answers["database"], answers["project_slug"])
    return answers[prompt]


def profile(environment: str, answers: dict[str, Any] = ANSWERS) -> dict[str, Any]:
    """The fields the answers set for ``environment``, as a nested dict."""
    return tree(
        {
            path: field_value(prompt, answers)
            for prompt, fields in FIELDS.items()
            for where, path in fields
            if where in (ALL, environment)
        }
    )


def prompt_for(environment: str, path: tuple[str, ...]) -> str | None:
    """The prompt whose answer set the field at ``path`` (or its nearest parent)."""
    while path:
        for prompt, fields in FIELDS.items():
            if (ALL, path) in fields or (environment, path) in fields:
                return prompt
        path = path[:-1]
    return None
