"""Where values come from, in one ordered list, each source naming its values' origin.

Lowest first; a later source wins, key by key:

1. the environment class's ``profile`` (a project's environments, ``Environments``),
2. the YAML file named by ``CONFIG_FILE`` (``config.yaml:tasks.dramatiq.processes``),
3. the project's ``.env`` file, ``Environments.env_file`` (``.env:DRAMATIQ_PROCESSES``),
4. the process environment (``DRAMATIQ_PROCESSES``).

A bad value is reported with its origin: ``DRAMATIQ_PROCESSES='100': ...``.
"""

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .base import DjangoConfig, deep_merge, tree
from .errors import ConfigError, describe

FieldPath = tuple[str, ...]


@functools.cache
def env_names(
    model: type[BaseModel] = DjangoConfig, path: FieldPath = ()
) -> dict[FieldPath, str]:
    """Every leaf field's path and the environment variable that overrides it."""
    table: dict[FieldPath, str] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            table.update(env_names(annotation, (*path, name)))
            continue
        extra = (
            field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        )
        env_prefix = getattr(model, "env_prefix", "")
        env = extra.get("env")
        table[(*path, name)] = (
            env if isinstance(env, str) else f"{env_prefix}{name.upper()}"
        )
    return table


def leaves(nested: Mapping[str, Any], path: FieldPath = ()):
    for key, value in nested.items():
        if isinstance(value, Mapping):
            yield from leaves(value, (*path, str(key)))
        else:
            yield (*path, str(key)), value


@dataclass
class Values:
    """What one source sets: the values as the models' tree, and each leaf's origin."""

    data: dict[str, Any]
    origins: dict[FieldPath, str]


def variables_source(variables: Mapping[str, str], label: str = "{name}") -> Values:
    """Variables named in ``env_names()``; ``label`` formats each origin."""
    table = env_names()
    found = {path: name for path, name in table.items() if name in variables}
    return Values(
        tree({path: variables[name] for path, name in found.items()}),
        {path: label.format(name=name) for path, name in found.items()},
    )


def env_file_variables(path: Path) -> dict[str, str]:
    """The ``.env`` file's variables (python-dotenv, as docker compose reads it)."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {
        key: value for key, value in dotenv_values(path).items() if value is not None
    }


def yaml_source(path: Path) -> Values:
    """The file's values, each with ``file:key.path`` as its origin."""
    import yaml

    if not path.is_file():
        raise ConfigError([f"CONFIG_FILE={str(path)!r}: no such file"])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:  # the parser's own message names line and column
        raise ConfigError(
            [f"CONFIG_FILE={str(path)!r}: not valid YAML ({exc})"]
        ) from None
    if not isinstance(data, dict):
        kind = type(data).__name__
        rule = f"must hold a mapping of settings (tasks: ...), not a {kind}"
        raise ConfigError([f"CONFIG_FILE={str(path)!r}: {rule}"])
    origins = {leaf: f"{path.name}:{'.'.join(leaf)}" for leaf, _ in leaves(data)}
    for key in data:  # a whole section replaced by a scalar still gets its file named
        origins.setdefault((key,), f"{path.name}:{key}")
    return Values(data, origins)


def sources(environ: Mapping[str, str], env_file: Mapping[str, str]) -> list[Values]:
    """The sources above the profile, lowest first (the module docstring's order)."""
    config_file = environ.get("CONFIG_FILE") or env_file.get("CONFIG_FILE")
    return [
        yaml_source(Path(config_file)) if config_file else Values({}, {}),
        variables_source(env_file, label=".env:{name}"),
        variables_source(environ),
    ]


def merged(layers: list[Values]) -> Values:
    data: dict[str, Any] = {}
    origins: dict[FieldPath, str] = {}
    for layer in layers:
        data = deep_merge(data, layer.data)
        origins.update(layer.origins)
    return Values(data, origins)


class Environments(Mapping[str, type[DjangoConfig]]):
    """A project's environment classes by name, and the ``.env`` file beside its manage.py.

    The project builds one (``config/__init__.py``); ``load()`` is its ``load_config``.
    """

    def __init__(self, *classes: type[DjangoConfig], env_file: Path) -> None:
        self._classes = {config.environment: config for config in classes}
        self.env_file = env_file

    def __getitem__(self, name: str) -> type[DjangoConfig]:
        return self._classes[name]

    def __iter__(self):
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def load(
        self, env: str | None = None, environ: Mapping[str, str] | None = None
    ) -> DjangoConfig:
        """The configuration for ``env`` (default: ``DJANGO_ENV``, else development).

        ``environ`` replaces the process environment and ``.env`` (for tests). Raises
        ConfigError with one line per problem, each naming where the value came from.
        """
        dotenv = {} if environ is not None else env_file_variables(self.env_file)
        environ = os.environ if environ is None else environ
        name = (
            env
            or environ.get("DJANGO_ENV")
            or dotenv.get("DJANGO_ENV")
            or "development"
        )
        if name not in self:
            choices = ", ".join(self)
            raise ConfigError([f"DJANGO_ENV={name!r}: must be one of {choices}"])
        config_class = self[name]
        values = merged(sources(environ, dotenv))
        try:
            return config_class.model_validate(values.data)
        except ValidationError as exc:
            raise ConfigError(
                describe(exc, values.origins, env_names(), config_class)
            ) from None
