"""Periodic tasks: which actor is sent when, and the scheduler process that sends it.

A cron expression is checked here with the standard library alone (the template's hook
validates without APScheduler): five fields of numbers, ranges, steps and lists, each in
its field's range. Day of week must be a name (``mon``-``sun``) or ``*``: APScheduler, which
fires the schedules, numbers Monday 0 where cron numbers Sunday 0, so a digit would fire on
the wrong day (dramatiq-crontab refuses digits for the same reason).
"""

import json
import re
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

MONTHS: tuple[str, ...] = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug")
MONTHS += ("sep", "oct", "nov", "dec")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# (name, lowest, highest, names allowed instead of numbers, numbers allowed)
CRON_FIELDS = (
    ("minute", 0, 59, (), True),
    ("hour", 0, 23, (), True),
    ("day of month", 1, 31, (), True),
    ("month", 1, 12, MONTHS, True),
    ("day of week", 0, 6, DAYS, False),
)
_PART = re.compile(r"(?P<range>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>[0-9]+))?")


def _value_problem(value: str, field: tuple) -> str | None:
    name, low, high, names, numbers = field
    if value in names or (numbers and value.isdigit() and low <= int(value) <= high):
        return None
    if not numbers:
        return (
            f"{name} must be a name ({', '.join(names)}) or *, got {value!r} "
            "(APScheduler counts Monday as 0, cron Sunday: a number is ambiguous)"
        )
    allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
    return f"{name} must be {allowed}, got {value}"


def _field_problem(text: str, field: tuple) -> str | None:
    name = field[0]
    for part in text.split(","):
        match = _PART.fullmatch(part)
        if not match:
            return f"{name} {part!r} is not a value, range (a-b), step (*/n) or list"
        if match["step"] is not None and int(match["step"]) < 1:
            return f"{name} step must be at least 1, got {part!r}"
        named = match["range"] != "*" and not match["range"][0].isdigit()
        if match["step"] is not None and named:  # APScheduler: no steps over names
            return f"{name} {part!r}: a step needs * or a numeric range"
        if match["range"] == "*":
            continue
        bounds = match["range"].split("-")
        for value in bounds:
            if problem := _value_problem(value, field):
                return problem
        if len(bounds) == 2 and _order(bounds[0], field) > _order(bounds[1], field):
            return f"{name} range {match['range']!r} runs backwards"
    return None


def _order(value: str, field: tuple) -> int:
    names = field[3]
    return names.index(value) if value in names else int(value)


def cron_problem(expression: str) -> str | None:
    """What is wrong with a five-field cron expression, or None."""
    fields = expression.lower().split()
    if len(fields) != len(CRON_FIELDS):
        return (
            "must have five fields (minute hour day-of-month month day-of-week), "
            f"got {len(fields)}"
        )
    for text, field in zip(fields, CRON_FIELDS, strict=True):
        if problem := _field_problem(text, field):
            return problem
    return None


class Schedule(BaseModel):
    """One periodic send of an actor: on a cron expression or every N seconds."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="The actor's name"
    )
    cron: str | None = Field(
        default=None, description="Five-field cron expression, in TIME_ZONE"
    )
    every: int | None = Field(default=None, ge=1, description="Seconds between sends")
    queue: str | None = Field(
        default=None, description="A configured queue (default: the actor's own)"
    )
    args: list[Any] = Field(default=[], description="Positional arguments")
    kwargs: dict[str, Any] = Field(default={}, description="Keyword arguments")
    enabled: bool = Field(default=True, description="False keeps the entry, unsent")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and (problem := cron_problem(value)):
            raise ValueError(f"schedule {info.data.get('actor', '?')!r}: {problem}")
        return value

    @model_validator(mode="after")
    def _cron_or_every(self) -> "Schedule":
        if (self.cron is None) == (self.every is None):
            raise ValueError(
                f"schedule {self.actor!r}: give exactly one of cron or every "
                f"(got {'both' if self.cron else 'neither'})"
            )
        return self

    @property
    def when(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {self.every} s"


def parsed_schedules(value: Any) -> Any:
    """A JSON list from an environment variable, as ``TASKS_SCHEDULES='[...]'``."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise ValueError(f"must be a JSON list of schedules ({exc})") from None
    return [] if value is None else value


def queue_failures(
    schedules: list[Schedule], queues: list[str]
) -> list[tuple[tuple[Any, ...], Any, str]]:
    """Each schedule that names a queue no worker consumes, at its ``queue`` field."""
    return [
        (
            ("schedules", index, "queue"),
            schedule.queue,
            f"schedule {schedule.actor!r}: not a configured queue "
            f"({', '.join(queues)})",
        )
        for index, schedule in enumerate(schedules)
        if schedule.queue is not None and schedule.queue not in queues
    ]


class SchedulerConfig(BaseModel):
    """The scheduler process: one fires, the others stand by on the lock."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    env_prefix: ClassVar[str] = "SCHEDULER_"

    enabled: bool = Field(
        default=True, description="Run periodic tasks (manage.py scheduler)"
    )
    lock_timeout: int = Field(
        default=10_000,
        ge=1000,
        le=600_000,
        description="Milliseconds the lock outlives a scheduler that stopped renewing "
        "it: a standby takes over within this",
    )
    lock_refresh: int = Field(
        default=2000,
        ge=100,
        description="Milliseconds between renewals of the lock (at most lock_timeout / 2)",
    )
    liveness_file: str = Field(
        default="",
        description="File the scheduler keeps fresh, firing or standing by "
        "(its healthcheck reads it)",
    )

    @field_validator("lock_refresh")
    @classmethod
    def _refresh(cls, value: int, info: ValidationInfo) -> int:
        timeout = info.data.get("lock_timeout")
        if timeout is not None and value * 2 > timeout:
            raise ValueError(
                f"must be at most lock_timeout / 2 ({timeout // 2}): a renewal may fail once"
            )
        return value
