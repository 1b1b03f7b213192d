"""After rendering: validate every answer with the generated config models, then finish.

The answers are already in the generated ``config/answers.py``, which also says which
field each prompt sets; building DevConfig and ProdConfig checks exactly what the project
will run with, and a problem is reported against the prompt it came from. Any problem
exits 1 and cookiecutter removes the folder. On success: a ``.env`` with fresh secrets,
the README's settings table, and the next steps.

Importable as it is in the template (the one rendered value sits inside a string), so the
template's tests import and unit-test these functions.
"""

import importlib
import json
import secrets
import sys
from pathlib import Path

# cookiecutter renders this string to the answers as JSON; unrendered, it stays as is.
RENDERED_ANSWERS = r"""{{ cookiecutter | tojson }}"""


def load_answers() -> dict:
    return json.loads(RENDERED_ANSWERS)


def project_config(project: Path, slug: str):
    """The generated ``<slug>.config`` package, imported from ``project``."""
    if str(project) not in sys.path:
        sys.path.insert(0, str(project))
    return importlib.import_module(f"{slug}.config")


def answer_problems(project: Path, answers: dict) -> list[str]:
    """Every problem with the answers, one line each, naming prompt, value and rule."""
    config = project_config(project, answers["project_slug"])
    from pydantic import ValidationError

    stand_ins = importlib.import_module(f"{config.__name__}.stand_ins")
    production = config.loading.variables_source(stand_ins.PRODUCTION_STAND_INS).data
    lines: list[str] = []
    for config_class, data in ((config.DevConfig, {}), (config.ProdConfig, production)):
        try:
            # Middleware paths are checked for importability when the project starts;
            # dramatiq need not be installed next to cookiecutter.
            config_class.model_validate(data, context={"check_imports": False})
        except ValidationError as exc:
            for path, value, rule in config.errors.problems(exc):
                prompt = config.answers.prompt_for(config_class.environment, path)
                if prompt is None:
                    line = f"{'.'.join(path)} = {value!r}: {rule}"
                else:
                    line = f"{prompt} = {answers[prompt]!r}: {rule}"
                if line not in lines:
                    lines.append(line)
    queues = config.names.comma_separated(str(answers["task_queues"]))
    clash = config.names.example_actor_problem(queues)
    if clash and not any(line.startswith("task_queues = ") for line in lines):
        lines.append(f"task_queues = {answers['task_queues']!r}: {clash}")
    return lines


# Files only a scheduler needs (its dependencies are installed only with use_scheduler).
SCHEDULER_FILES = (
    "{slug}/tasks/scheduling.py",
    "{slug}/tasks/management/commands/scheduler.py",
    "tests/test_scheduler.py",
)


def remove_unused(project: Path, answers: dict) -> None:
    """Drop the files of options not chosen, as cookiecutter-django's hook does."""
    if not answers["use_scheduler"]:
        for path in SCHEDULER_FILES:
            (project / path.format(slug=answers["project_slug"])).unlink()


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
    """README's table of every setting, from the models (see config/reference.py)."""
    reference = importlib.import_module(f"{slug}.config.reference")
    readme = project / "README.md"
    readme.write_text(reference.render(readme.read_text(encoding="utf-8")), encoding="utf-8")


def next_steps(project: Path, answers: dict) -> str:
    services = "web, worker" + (", scheduler" if answers["use_scheduler"] else "") + ", redis"
    services += ", postgres" if answers["database"] == "postgresql" else ""
    return (
        f"\nCreated {project}\n\n"
        "Next steps:\n"
        f"  cd {project.name}\n"
        f"  docker compose up                       # {services}\n"
        "or without Docker (see README.md):\n"
        "  python -m venv .venv && .venv/bin/pip install -e . --group dev\n"
        "  .venv/bin/python manage.py migrate && .venv/bin/python manage.py runserver\n"
        "  .venv/bin/python manage.py worker      # in a second terminal\n"
    )


def main(project: Path, answers: dict) -> int:
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
    remove_unused(project, answers)
    write_env_file(project, answers)
    write_settings_table(project, answers["project_slug"])
    print(next_steps(project, answers))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(Path.cwd(), load_answers()))
    except Exception as exc:  # noqa: BLE001 - a traceback of ours would bury the message
        print(f"post-gen hook failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
