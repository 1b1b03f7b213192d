"""One line per problem: where the value came from, the value, and the rule it breaks."""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from .redis_urls import masked

SECRET_FIELDS = {"secret_key"}


class ConfigError(ValueError):
    """Bad configuration; ``problems`` holds one readable line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def fail_at(title: str, failures: Sequence[tuple[tuple[str, ...], Any, str]]) -> None:
    """Raise one ValidationError whose errors sit on the fields named, not on the model.

    For checks across fields (after validation), so each message names the variable to fix.
    """
    if failures:
        raise ValidationError.from_exception_data(
            title,
            [
                InitErrorDetails(
                    type=PydanticCustomError("config", "{rule}", {"rule": message}),
                    loc=loc,
                    input=value,
                )
                for loc, value, message in failures
            ],
        )


def with_failures(
    exc: ValidationError, failures: list[tuple[tuple[str, ...], Any, str]]
) -> ValidationError:
    """``exc`` plus ``failures`` not already in it, as one ValidationError."""
    errors = exc.errors(include_url=False)
    known = {tuple(error["loc"]) for error in errors}
    details = [
        InitErrorDetails(
            type=PydanticCustomError("config", "{rule}", {"rule": rule}),
            loc=tuple(loc),
            input=value,
        )
        for loc, value, rule in [
            (error["loc"], error.get("input"), error["msg"]) for error in errors
        ]
        + [failure for failure in failures if tuple(failure[0]) not in known]
    ]
    return ValidationError.from_exception_data(exc.title, details)


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


def item_suffix(
    path: tuple[str, ...], table: Mapping[tuple[str, ...], Any], value: Any
) -> str:
    """``[0].cron`` for an error inside an entry of a list of entries (``tasks.schedules``).

    A list of plain values (``queues``) keeps its origin alone: the value names the item.
    """
    prefix = path
    while prefix and prefix not in table:
        prefix = prefix[:-1]
    rest = path[len(prefix) :]
    if not prefix or not rest or not rest[0].isdigit():
        return ""
    if len(rest) == 1 and not isinstance(value, dict):
        return ""
    return "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in rest)


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
        env_name = closest(path, env_names)
        if origin is not None:
            origin += item_suffix(path, origins, value)
            lines.append(f"{origin}={shown(path, value)}: {rule}")
        elif env_name is not None:
            env_name += item_suffix(path, env_names, value)
            default = f"the {config_class.__name__} default"
            lines.append(f"{env_name}={shown(path, value)} ({default}): {rule}")
        else:
            dotted = ".".join(path) or "config"
            lines.append(
                f"{config_class.__name__}.{dotted}={shown(path, value)}: {rule}"
            )
    return lines
