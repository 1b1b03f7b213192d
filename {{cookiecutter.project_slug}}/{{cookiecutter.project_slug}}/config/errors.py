"""One line per problem: where the value came from, the value, and the rule it breaks."""

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from .redis_urls import masked

SECRET_FIELDS = {"secret_key"}


class ConfigError(ValueError):
    """Bad configuration; ``problems`` holds one readable line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def shown(path: tuple[str, ...], value: Any) -> str:
    """The value as it may be printed: secrets hidden, URL passwords masked."""
    if path and path[-1] in SECRET_FIELDS:
        return "'********'" if value else "''"
    if isinstance(value, str) and "://" in value:
        return repr(masked(value))
    if isinstance(value, (dict, list)) and len(repr(value)) > 80:
        return type(value).__name__
    return repr(value)


def problems(exc: ValidationError) -> Iterator[tuple[tuple[str, ...], Any, str]]:
    """Each error's field path, the value given, and the rule in words."""
    for error in exc.errors(include_url=False):
        path = tuple(str(part) for part in error["loc"])
        yield path, error.get("input"), error["msg"].removeprefix("Value error, ")


def closest(path: tuple[str, ...], table: Mapping[tuple[str, ...], str]) -> str | None:
    """The entry for ``path`` or its nearest parent (a list item's error is its list's)."""
    while path:
        if path in table:
            return table[path]
        path = path[:-1]
    return None


def describe(
    exc: ValidationError,
    origins: Mapping[tuple[str, ...], str],
    env_names: Mapping[tuple[str, ...], str],
    config_class: type,
) -> list[str]:
    """Readable lines for ``exc``; ``origins`` maps a field path to where its value was set."""
    lines = []
    for path, value, rule in problems(exc):
        origin = closest(path, origins)
        if origin is None:
            env_name = closest(path, env_names)
            hint = f" (set by {env_name})" if env_name else ""
            origin = f"{config_class.__name__}.{'.'.join(path) or 'config'}{hint}"
        lines.append(f"{origin}={shown(path, value)}: {rule}")
    return lines
