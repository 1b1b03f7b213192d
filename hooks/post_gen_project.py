"""After rendering: validate every answer with the generated config models, then finish.

The answers are already in the generated ``config/environments.py`` as literal values;
building DevConfig and ProdConfig checks exactly what the project will run with, and a
problem is reported against the prompt it came from (``FIELDS`` says which field each
prompt sets). Any problem exits 1 and cookiecutter removes the folder. On success: a
``.env`` with fresh secrets, the README's settings table, and the next steps.

Importable as it is in the template (the one rendered value sits inside a string), so the
template's tests import and unit-test these functions.
"""

import importlib
import importlib.util
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

# cookiecutter renders this string to the answers as JSON; unrendered, it stays as is.
RENDERED_ANSWERS = r"""{{ cookiecutter | tojson }}"""
# The template folder (locks/, hook_env.py), from local_extensions.template_dir(): cruft's
# context has no _repo_dir. A JSON object, so the raw string never starts with a quote.
RENDERED_TEMPLATE = r"""{{ {"template": template_dir()} | tojson }}"""


IN_HOOK_ENV = "COOKIECUTTER_DJANGO_DRAMATIQ_HOOK_ENV"  # set in the re-run, against loops


def load_answers() -> dict:
    return json.loads(RENDERED_ANSWERS)


def load_template() -> Path:
    return Path(json.loads(RENDERED_TEMPLATE)["template"])


# Prompts that choose files (the image's Python, deploy/kubernetes), not config values.
FILES_ONLY = ("python_version", "use_kubernetes", "use_sentry")
ALL = None  # an entry of FIELDS that every environment shares
# prompt -> the config fields its answer sets in config/environments.py: (environment, or
# ALL; the field's path). How a model's complaint about a field finds its prompt.
FIELDS: dict[str, tuple[tuple[str | None, tuple[str, ...]], ...]] = {
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
        ("production", ("tasks", "dramatiq", "worker_shutdown_timeout")),
    ),
    "redis_cache_db": ((ALL, ("cache_default", "db")),),
    "redis_broker_db": ((ALL, ("tasks", "broker_db")),),
    "redis_results_db": ((ALL, ("tasks", "results_db")),),
    "use_results": ((ALL, ("tasks", "use_results")),),
    "prometheus_enabled": ((ALL, ("tasks", "dramatiq", "prometheus_enabled")),),
    "admin_enabled": ((ALL, ("tasks", "dramatiq", "admin_enabled")),),
    "use_scheduler": ((ALL, ("tasks", "scheduler", "enabled")),),
    "use_opentelemetry": ((ALL, ("tracing", "enabled")),),
}


def prompt_for(environment: str, path: tuple[str, ...]) -> str | None:
    """The prompt whose answer set the field at ``path`` (or its nearest parent)."""
    while path:
        for prompt, fields in FIELDS.items():
            if (ALL, path) in fields or (environment, path) in fields:
                return prompt
        path = path[:-1]
    return None


RUNTIME = Path("packages") / "dramatiq_runtime"  # the runtime package in every bake


def project_config(project: Path, slug: str):
    """The generated ``<slug>.config`` package, imported from ``project`` with the runtime
    package beside it (not installed yet: the hook runs before any ``uv sync``)."""
    for folder in (project / RUNTIME, project):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    return importlib.import_module(f"{slug}.config")


def answer_problems(project: Path, answers: dict) -> list[str]:
    """Every problem with the answers, one line each, naming prompt, value and rule."""
    config = project_config(project, answers["project_slug"])
    from dramatiq_runtime.config import errors, loading, names, stand_ins
    from pydantic import ValidationError

    production = loading.variables_source(stand_ins.PRODUCTION_STAND_INS).data
    lines: list[str] = []
    for config_class, data in ((config.DevConfig, {}), (config.ProdConfig, production)):
        try:
            # Middleware paths are checked for importability when the project starts;
            # dramatiq need not be installed next to cookiecutter.
            config_class.model_validate(data, context={"check_imports": False})
        except ValidationError as exc:
            for path, value, rule in errors.problems(exc):
                prompt = prompt_for(config_class.environment, path)
                if prompt is None:
                    line = f"{'.'.join(path)} = {value!r}: {rule}"
                else:
                    line = f"{prompt} = {answers[prompt]!r}: {rule}"
                if line not in lines:
                    lines.append(line)
    queues = names.comma_separated(str(answers["task_queues"]))
    clash = names.example_actor_problem(queues)
    if clash and not any(line.startswith("task_queues = ") for line in lines):
        lines.append(f"task_queues = {answers['task_queues']!r}: {clash}")
    return lines


LOCK_PLACEHOLDER = "lockproject"  # the project name in the template's locks/*.lock


# The answers that change pyproject.toml's dependencies (the runtime's extras), each with
# its part of a lock's name: one lock per database and combination of these.
LOCKED_ANSWERS = (
    ("prometheus_enabled", "prometheus"),
    ("use_scheduler", "scheduler"),
    ("use_opentelemetry", "opentelemetry"),
    ("use_sentry", "sentry"),
)


def lock_name(answers: dict) -> str:
    """The shipped lock for the answers that change pyproject.toml's dependencies."""
    parts = [answers["database"]]
    parts += [label if answers[key] else f"no{label}" for key, label in LOCKED_ANSWERS]
    return "-".join(parts) + ".lock"


class TemplateIncomplete(Exception):
    """A file the bake needs is missing from the template itself."""


def install_lock(project: Path, answers: dict, template: Path) -> None:
    """``uv.lock`` from the template's ``locks/`` (made by scripts/lock.py), renamed.

    Shipped rather than resolved here: a bake needs no network, and every project baked
    from one template commit installs the versions that commit's CI tested. A missing lock
    fails the bake: a project without it would install whatever is newest, untested.
    """
    source = template / "locks" / lock_name(answers)
    if not source.is_file():
        raise TemplateIncomplete(
            f"uv.lock: {source} is missing, the template is incomplete (locks/ needs one "
            "lock per database and combination of "
            f"{', '.join(key for key, _ in LOCKED_ANSWERS)}; scripts/lock.py makes them)"
        )
    name = re.sub(r"[-_.]+", "-", answers["project_slug"]).lower()
    text = source.read_text(encoding="utf-8")
    placeholder = f'name = "{LOCK_PLACEHOLDER}"'
    if text.count(placeholder) != 1:
        raise ValueError(f"{source.name}: expected one {placeholder!r}")
    lock = text.replace(placeholder, f'name = "{name}"')
    (project / "uv.lock").write_text(lock, encoding="utf-8")


def write_env_file(project: Path, answers: dict) -> None:
    """A fresh secret key per project; .env is git-ignored and never shipped in images."""
    lines = [
        "# Written by the template: this project's own secrets. Never commit this file.",
        f"DJANGO_SECRET_KEY={secrets.token_urlsafe(64)}",
        f"REDIS_PASSWORD={secrets.token_urlsafe(32)}",
    ]
    if answers["database"] == "postgresql":
        lines.append(f"POSTGRES_PASSWORD={secrets.token_urlsafe(32)}")
    (project / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_settings_table(project: Path, slug: str) -> None:
    """README's table of every setting, from the models (dramatiq_runtime's reference.py)."""
    from dramatiq_runtime.config import reference

    environments = project_config(project, slug).ENVIRONMENTS
    readme = project / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(reference.render(text, environments), encoding="utf-8")


def write_kubernetes(project: Path, slug: str) -> None:
    """deploy/kubernetes from the production config, as ``manage.py kubernetes`` writes it."""
    from dramatiq_runtime import kubernetes

    environments = project_config(project, slug).ENVIRONMENTS
    kubernetes.write(project, kubernetes.manifest_config(environments))


def next_steps(project: Path, answers: dict) -> str:
    services = "web, worker" + (", scheduler" if answers["use_scheduler"] else "") + ", redis"
    services += ", postgres" if answers["database"] == "postgresql" else ""
    return (
        f"\nCreated {project}\n\n"
        "Next steps:\n"
        f"  cd {project.name}\n"
        f"  docker compose up                       # {services}\n"
        "or without Docker (see README.md; `uv sync --locked` installs what uv.lock pins):\n"
        # A new venv's pip (23-24 on Python 3.11-3.13) does not know --group (25.1 does).
        '  python -m venv .venv && .venv/bin/python -m pip install -q "pip>=25.1"\n'
        "  .venv/bin/pip install -e packages/dramatiq_runtime -e . --group dev\n"
        "  .venv/bin/python manage.py migrate && .venv/bin/python manage.py runserver\n"
        "  .venv/bin/python manage.py worker      # in a second terminal\n"
    )


def main(project: Path, answers: dict, template: Path) -> int:
    try:
        problems = answer_problems(project, answers)
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
    try:
        install_lock(project, answers, template)
    except TemplateIncomplete as exc:
        print(exc, file=sys.stderr)
        return 1
    write_env_file(project, answers)
    write_settings_table(project, answers["project_slug"])
    if answers["use_kubernetes"]:
        write_kubernetes(project, answers["project_slug"])
    print(next_steps(project, answers))
    return 0


def in_hook_env(answers: dict, template: Path) -> int:
    """Run this hook again in the cached pydantic environment (``hook_env.py``).

    Also what pre_prompt would have done under cruft (and cookiecutter before 2.4), which
    never run pre_prompt: the environment is made here on first use.
    """
    path = template / "hook_env.py"
    spec = importlib.util.spec_from_file_location("template_hook_env", path)
    hook_env = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook_env)
    try:
        python = hook_env.ensure(answers.get("_template", "<template>"))
    except hook_env.HookEnvError as exc:
        print(exc, file=sys.stderr)
        return 1
    env = {**os.environ, IN_HOOK_ENV: "1"}
    return subprocess.run([str(python), __file__], env=env).returncode


if __name__ == "__main__":
    try:
        answers, template = load_answers(), load_template()
        if importlib.util.find_spec("pydantic") is None and not os.environ.get(IN_HOOK_ENV):
            sys.exit(in_hook_env(answers, template))
        sys.exit(main(Path.cwd(), answers, template))
    except Exception as exc:  # noqa: BLE001 - a traceback of ours would bury the message
        print(f"post-gen hook failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
