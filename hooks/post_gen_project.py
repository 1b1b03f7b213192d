"""After rendering: validate every answer with the generated config models, then finish.

The answers are already in ``config/environments.py`` (as each environment's profile), so
building DevConfig and ProdConfig checks exactly what the project will run with. A problem is
reported against the prompt it came from; any problem exits 1 and cookiecutter removes the
folder. On success: a ``.env`` with a fresh secret key, and the next steps. (No file belongs
to one answer only: options are rendered inside the files, so nothing is removed.)
"""

import json
import secrets
import sys
from pathlib import Path

ANSWERS = json.loads({{ cookiecutter | tojson | tojson }})
SLUG = ANSWERS["project_slug"]
PROJECT = Path.cwd()

# Field path in the config models -> the prompt whose answer it holds. Processes, threads
# and retries differ per environment, so they are keyed by environment as well.
PROMPTS = {
    ("project_name",): "project_name",
    ("project_slug",): "project_slug",
    ("description",): "description",
    ("author_name",): "author_name",
    ("author_email",): "author_email",
    ("domain_name",): "domain_name",
    ("allowed_hosts",): "domain_name",
    ("cache_default", "db"): "redis_cache_db",
    ("tasks", "broker_db"): "redis_broker_db",
    ("tasks", "results_db"): "redis_results_db",
    ("tasks", "use_results"): "use_results",
    ("tasks", "dramatiq", "queues"): "task_queues",
    ("tasks", "dramatiq", "min_backoff"): "min_backoff",
    ("tasks", "dramatiq", "max_backoff"): "max_backoff",
    ("tasks", "dramatiq", "max_age"): "max_age",
    ("tasks", "dramatiq", "time_limit"): "time_limit",
    ("tasks", "dramatiq", "prometheus_enabled"): "prometheus_enabled",
    ("tasks", "dramatiq", "admin_enabled"): "admin_enabled",
    ("development", "tasks", "dramatiq", "processes"): "dev_processes",
    ("development", "tasks", "dramatiq", "threads"): "dev_threads",
    ("production", "tasks", "dramatiq", "processes"): "prod_processes",
    ("production", "tasks", "dramatiq", "threads"): "prod_threads",
    ("production", "tasks", "dramatiq", "max_retries"): "max_retries",
    # Production's shutdown wait is the time limit answer (see environments.py).
    ("production", "tasks", "dramatiq", "worker_shutdown_timeout"): "time_limit",
}

# Stand-ins for what production reads from its environment, so the answers can be checked.
PRODUCTION_ENVIRONMENT = {
    "secret_key": "hook-validation-" + "x" * 16 + secrets.token_urlsafe(32),
    "cache_default": {"redis_url": "redis://:hook-validation@localhost:6379"},
}


def prompt_for(environment: str, path: tuple[str, ...]) -> str | None:
    while path:
        for key in ((environment, *path), path):
            if key in PROMPTS:
                return PROMPTS[key]
        path = path[:-1]
    return None


def answer_problems() -> list[str]:
    """Every problem with the answers, one line each, naming prompt, value and rule."""
    sys.path.insert(0, str(PROJECT))
    config = __import__(f"{SLUG}.config", fromlist=["DevConfig", "ProdConfig"])
    from pydantic import ValidationError

    lines: list[str] = []
    checks = [
        (config.DevConfig, {}),
        (config.ProdConfig, PRODUCTION_ENVIRONMENT),
    ]
    for config_class, data in checks:
        try:
            # Middleware paths are checked for importability when the project starts;
            # dramatiq need not be installed next to cookiecutter.
            config_class.model_validate(data, context={"check_imports": False})
        except ValidationError as exc:
            for path, value, rule in config.errors.problems(exc):
                prompt = prompt_for(config_class.environment, path)
                if prompt is None:
                    line = f"{'.'.join(path)} = {value!r}: {rule}"
                else:
                    line = f"{prompt} = {ANSWERS[prompt]!r}: {rule}"
                if line not in lines:
                    lines.append(line)
    queues = [name.strip() for name in str(ANSWERS["task_queues"]).split(",")]
    clash = config.names.example_actor_problem(queues)
    if clash and not any(line.startswith("task_queues = ") for line in lines):
        lines.append(f"task_queues = {ANSWERS['task_queues']!r}: {clash}")
    return lines


def write_env_file() -> None:
    """A fresh secret key per project; .env is git-ignored and never shipped in images."""
    lines = [
        "# Written by the template: this project's own secrets. Never commit this file.",
        f"DJANGO_SECRET_KEY={secrets.token_urlsafe(64)}",
        f"REDIS_PASSWORD={secrets.token_urlsafe(32)}",
    ]
    if ANSWERS["database"] == "postgresql":
        lines.append(f"POSTGRES_PASSWORD={secrets.token_urlsafe(32)}")
    (PROJECT / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_settings_table() -> None:
    """README's table of every setting, from the models (see config/reference.py)."""
    reference = __import__(f"{SLUG}.config.reference", fromlist=["render"])
    readme = PROJECT / "README.md"
    readme.write_text(reference.render(readme.read_text(encoding="utf-8")), encoding="utf-8")


def next_steps() -> str:
    return (
        f"\nCreated {PROJECT}\n\n"
        "Next steps:\n"
        f"  cd {PROJECT.name}\n"
        "  docker compose up                       # web, worker, redis"
        f"{', postgres' if ANSWERS['database'] == 'postgresql' else ''}\n"
        "or without Docker (see README.md):\n"
        "  python -m venv .venv && .venv/bin/pip install -e . --group dev\n"
        "  .venv/bin/python manage.py migrate && .venv/bin/python manage.py runserver\n"
        "  .venv/bin/python manage.py worker      # in a second terminal\n"
    )


def main() -> int:
    try:
        problems = answer_problems()
    except ImportError as exc:
        print(
            f"Cannot load the generated config models ({exc}). Run cookiecutter with "
            "pydantic installed: uvx --with pydantic cookiecutter <template>",
            file=sys.stderr,
        )
        return 1
    if problems:
        print("The answers have problems; nothing was generated:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    write_env_file()
    write_settings_table()
    print(next_steps())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # noqa: BLE001 - a traceback of ours would bury the message
        print(f"post-gen hook failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
