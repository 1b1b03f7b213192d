"""The README's table of every setting, made from the models so it cannot drift.

Written between two markers of a project's README (by a template's hook, or by
``python manage.py taskconfig --readme`` after a value or a model changes).
"""

import json
from typing import Any

from pydantic import BaseModel

from .base import DjangoConfig
from .loading import Environments, env_names

START, END = "<!-- settings:start -->", "<!-- settings:end -->"
_MISSING = object()
# Values too long for a table cell, and secrets, are described instead.
DESCRIBED = {
    (
        "tasks",
        "dramatiq",
        "middleware",
    ): "the stack in `dramatiq_runtime.config.workers`",
    ("secret_key",): "required (`.env` holds one)",
}


def _field(path: tuple[str, ...]):
    model: type[BaseModel] = DjangoConfig
    for name in path[:-1]:
        annotation = model.model_fields[name].annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation
    return model.model_fields[path[-1]]


def _value(config_class: type[DjangoConfig], path: tuple[str, ...]) -> Any:
    node: Any = config_class.profile
    for key in path:
        if not isinstance(node, dict) or key not in node:
            field = _field(path)
            return field.get_default(call_default_factory=True)
        node = node[key]
    return node


def _shown(path: tuple[str, ...], value: Any) -> str:
    if path in DESCRIBED and (path != ("secret_key",) or not value):
        return DESCRIBED[path]
    if path == ("secret_key",):
        return "a development key"
    if isinstance(value, list) and any(isinstance(item, dict) for item in value):
        value = json.dumps(value)  # as the variable takes it (TASKS_SCHEDULES)
    elif isinstance(value, list):
        value = ",".join(map(str, value))
    if value is None or value == "":
        return "(none)"
    return f"`{value}`"


def table(environments: Environments) -> str:
    development, production = environments["development"], environments["production"]
    lines = [
        "| variable | field | development | production | what it is |",
        "|---|---|---|---|---|",
    ]
    for path, variable in env_names().items():
        description = (_field(path).description or "").replace("|", "\\|")
        lines.append(
            f"| `{variable}` | `{'.'.join(path)}` | "
            f"{_shown(path, _value(development, path))} | "
            f"{_shown(path, _value(production, path))} | {description} |"
        )
    return "\n".join(lines)


def render(readme: str, environments: Environments) -> str:
    """``readme`` with the table between the markers replaced by the current one."""
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table(environments)}\n{END}{after}"
