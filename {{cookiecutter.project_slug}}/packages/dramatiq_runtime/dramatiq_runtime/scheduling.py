"""The scheduler's runtime: the config's schedules as APScheduler jobs, the lock, standby.

dramatiq-crontab does the firing (its ``@cron`` / ``@interval`` decorators, its
APScheduler instance and its lock renewal); this module adds the schedules of the typed
config to that instance and provides the project's own lock: on the broker's database
under the project's namespace (the library's is one key for every project on a server).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.utils import timezone
from redis.lock import Lock

from dramatiq_runtime import error_reporting, redis_clients, tracing
from dramatiq_runtime.config import TaskConfig
from dramatiq_runtime.config.schedules import Schedule
from dramatiq_runtime.discovery import unknown_actors

logger = logging.getLogger(__name__)


class ScheduleError(Exception):
    """Schedules that cannot run; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Job:
    """One enabled schedule, its actor found: what the scheduler adds."""

    index: int
    schedule: Schedule
    queue: str

    @property
    def name(self) -> str:
        return f"tasks.schedules[{self.index}] {self.schedule.actor}"

    def describe(self) -> str:
        return f"{self.name}: {self.schedule.when} on {self.queue!r}"


def jobs(schedules: list[Schedule], broker: dramatiq.Broker) -> list[Job]:
    """The enabled schedules with their queues; ScheduleError names unknown actors."""
    if problems := unknown_actors(schedules, broker):
        raise ScheduleError(problems)
    found = []
    for index, schedule in enumerate(schedules):
        if schedule.enabled:
            actor = broker.get_actor(schedule.actor)
            found.append(Job(index, schedule, schedule.queue or actor.queue_name))
    return found


def trigger(schedule: Schedule) -> BaseTrigger:
    zone = timezone.get_default_timezone()
    if schedule.cron is not None:
        return CronTrigger.from_crontab(schedule.cron, timezone=zone)
    return IntervalTrigger(seconds=schedule.every, timezone=zone)


def send(
    actor_name: str,
    queue: str,
    args: list[Any],
    kwargs: dict[str, Any],
    monitor: tuple | None = None,
) -> None:
    """Enqueue one run of the actor on ``queue`` (a schedule may name another queue).

    Each tick is a trace of its own when tracing is on, and a Sentry Crons check-in on
    the schedule's ``monitor`` when Sentry is.
    """
    broker = dramatiq.get_broker()
    actor = broker.get_actor(actor_name)
    message = actor.message_with_options(args=tuple(args), kwargs=kwargs)
    if queue != message.queue_name:
        message = message.copy(queue_name=queue)
    with tracing.new_trace(f"tick {actor_name}", **{"dramatiq.schedule": actor_name}):
        try:
            broker.enqueue(message)
        except Exception:
            error_reporting.check_in(monitor, ok=False)
            raise
    error_reporting.check_in(monitor, ok=True)
    logger.info("Sent %s to %r (message %s).", actor_name, queue, message.message_id)


def add_jobs(
    scheduler, found: list[Job], monitors: dict[int, tuple] | None = None
) -> None:
    """Each job on dramatiq-crontab's scheduler: late rather than never, and once.

    APScheduler's default drops a run more than 1 s late (a busy host); a run missed
    several times (a long pause) is sent once. ``monitors``: Sentry Crons' per job index.
    """
    monitors = monitors or {}
    for job in found:
        scheduler.add_job(
            send,
            trigger(job.schedule),
            args=(
                job.schedule.actor,
                job.queue,
                job.schedule.args,
                job.schedule.kwargs,
                monitors.get(job.index),
            ),
            name=job.name,
            misfire_grace_time=None,
            coalesce=True,
        )


def lock(tasks: TaskConfig, connection: dict[str, Any] | None = None) -> Lock:
    """The scheduler lock; its owner renews it, so it expires only with its owner.

    On the broker's database, through a client that follows a failover (``connection``:
    the config's). ``thread_local=False``: dramatiq-crontab renews it from a scheduler
    thread.
    """
    client = redis_clients.client(tasks.broker_url, connection)
    return client.lock(
        tasks.scheduler_lock,
        timeout=tasks.scheduler.lock_timeout / 1000,
        thread_local=False,
    )


def touch(path: str) -> None:
    """Freshen the liveness file the scheduler's healthcheck reads."""
    if path:
        Path(path).touch()


def wait_for(the_lock: Lock, every: float, alive: Callable[[], None]) -> float:
    """Block until ``the_lock`` is ours, calling ``alive`` every ``every`` seconds.

    Returns the seconds spent standing by.
    """
    started = time.monotonic()
    while not the_lock.acquire(blocking=True, blocking_timeout=every):
        alive()
    return time.monotonic() - started
