"""Where values come from: environment variables over a YAML file over the profiles.

pydantic-settings reads the variables (and a ``.env`` file beside ``manage.py``) and the
YAML file named by ``CONFIG_FILE``; each value remembers where it came from, so a bad one is
reported as ``DRAMATIQ_PROCESSES='100': ...`` or ``config.yaml: tasks.dramatiq.processes``.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .base import DjangoConfig, deep_merge
from .environments import ENVIRONMENTS
from .errors import ConfigError, describe

ENV_FILE = Path(__file__).resolve().parents[2] / ".env"


def env_names(model: type[BaseModel] = DjangoConfig, path: tuple[str, ...] = ()):
    """Every leaf field's path and the environment variable that overrides it."""
    table: dict[tuple[str, ...], str] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            table.update(env_names(annotation, (*path, name)))
            continue
        extra = (
            field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        )
        table[(*path, name)] = extra.get("env") or f"{model.env_prefix}{name.upper()}"
    return table


def _tree(values: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path, value in values.items():
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return tree


def _leaves(tree: Mapping[str, Any], path: tuple[str, ...] = ()):
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, (*path, str(key)))
        else:
            yield (*path, str(key)), value


def read_variables(names, environ=None, env_file: Path | None = None) -> dict[str, str]:
    """The variables among ``names`` that are set, from ``environ`` or else the process
    environment and the ``.env`` file (read by pydantic-settings; the environment wins)."""
    if environ is None and not (env_file and env_file.is_file()):
        # Nothing for pydantic-settings to add (it costs ~100 ms of imports at every
        # start): a container gets its variables from compose, not from a .env file.
        environ = os.environ
    if environ is not None:
        return {name: environ[name] for name in names if name in environ}
    from pydantic import create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class Variables(BaseSettings):
        # .env also holds what only compose reads (REDIS_PASSWORD, ...): ignore it.
        model_config = SettingsConfigDict(
            case_sensitive=True,
            extra="ignore",
            env_file=env_file,
        )

    variables = create_model(
        "EnvironmentVariables",
        __base__=Variables,
        **{name: (str | None, None) for name in names},
    )
    return variables().model_dump(exclude_none=True)


def from_yaml(path: Path):
    """Values in the YAML file, and ``file: key.path`` for each."""
    from pydantic_settings import YamlConfigSettingsSource

    if not path.is_file():
        raise ConfigError([f"CONFIG_FILE={str(path)!r}: no such file"])
    try:
        tree = YamlConfigSettingsSource(DjangoConfig, yaml_file=path)()
    except Exception as exc:  # the YAML parser's own errors name line and column
        raise ConfigError(
            [f"CONFIG_FILE={str(path)!r}: not valid YAML ({exc})"]
        ) from None
    origins = {leaf: f"{path.name}:{'.'.join(leaf)}" for leaf, _ in _leaves(tree)}
    for key in tree:  # a whole section replaced by a scalar still gets its file named
        origins.setdefault((key,), f"{path.name}:{key}")
    return tree, origins


def load_config(env: str | None = None, environ: Mapping[str, str] | None = None):
    """The configuration for ``env`` (default: ``DJANGO_ENV``, else development).

    ``environ`` replaces the process environment and ``.env`` (for tests). Raises
    ConfigError with one line per problem, each naming where the value came from.
    """
    table = env_names()
    variables = read_variables(
        [*table.values(), "DJANGO_ENV", "CONFIG_FILE"], environ, env_file=ENV_FILE
    )
    name = env or variables.get("DJANGO_ENV") or "development"
    if name not in ENVIRONMENTS:
        choices = ", ".join(ENVIRONMENTS)
        raise ConfigError([f"DJANGO_ENV={name!r}: must be one of {choices}"])
    config_class = ENVIRONMENTS[name]

    data: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}
    if config_file := variables.get("CONFIG_FILE"):
        data, origins = from_yaml(Path(config_file))
    from_env = {path: variables[var] for path, var in table.items() if var in variables}
    data = deep_merge(data, _tree(from_env))
    origins.update({path: table[path] for path in from_env})
    try:
        return config_class.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, origins, table, config_class)) from None
