"""Send the periodic tasks: the config's ``tasks.schedules`` and ``@cron`` / ``@interval``.

Wraps dramatiq-crontab's ``crontab`` command. Run as many as you like: one holds the lock
(on the broker's Redis, in the project's namespace) and fires; the others stand by and
take over within ``SCHEDULER_LOCK_TIMEOUT`` of its death, at once after a clean stop.
dramatiq-crontab's own command exits 0 when another scheduler runs, so a standby there
needs a supervisor's restart; here it waits on the lock.
"""

import functools
import logging
import signal

import dramatiq
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import LockError

from dramatiq_runtime import error_reporting

try:  # the scheduler extra: dramatiq-runtime[scheduler]
    from apscheduler.triggers.interval import IntervalTrigger
    from dramatiq_crontab import scheduler
    from dramatiq_crontab.management.commands import crontab

    from dramatiq_runtime import scheduling
except ImportError as missing:
    MISSING: ImportError | None = missing
    CrontabCommand: type[BaseCommand] = BaseCommand
else:
    MISSING = None
    CrontabCommand = crontab.Command

STOP_SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
logger = logging.getLogger(__name__)


class Command(CrontabCommand):  # type: ignore[valid-type,misc]
    help = (
        "Send periodic tasks (tasks.schedules and @cron/@interval actors); one "
        "scheduler fires at a time, others stand by."
    )

    def add_arguments(self, parser):
        """None: the schedules come from the config, the task modules are the worker's,
        and the healthcheck replaces the library's heartbeat actor."""

    def handle(self, *args, **options):
        tasks = settings.CONFIG.tasks
        if not tasks.enabled:
            raise CommandError(
                "tasks are disabled (TASKS_ENABLED=false): nothing to send"
            )
        if not tasks.scheduler.enabled:
            raise CommandError("the scheduler is off (SCHEDULER_ENABLED=false)")
        if MISSING is not None:
            raise CommandError(
                f"the scheduler needs dramatiq-runtime[scheduler] installed ({MISSING})"
            )
        try:  # imports the task modules the worker imports, and their @cron
            found = scheduling.jobs(tasks.schedules, dramatiq.get_broker())
        except scheduling.ScheduleError as exc:
            raise CommandError("; ".join(exc.problems)) from None
        zone = settings.TIME_ZONE
        monitors = error_reporting.monitors(settings.CONFIG.project_slug, found, zone)
        scheduling.add_jobs(scheduler, found, monitors)
        for job in found:
            self.stdout.write(f" * {job.describe()}")

        for stop in STOP_SIGNALS:
            signal.signal(stop, crontab.kill_softly)
        lock = scheduling.lock(tasks, settings.CONFIG.redis.client_options())
        refresh = tasks.scheduler.lock_refresh / 1000
        alive = functools.partial(scheduling.touch, tasks.scheduler.liveness_file)
        alive()
        logger.info("Waiting for the lock %r.", tasks.scheduler_lock)
        try:
            waited = scheduling.wait_for(lock, refresh, alive)
        except KeyboardInterrupt as exc:
            logger.info("%s (standing by).", exc)
            return
        logger.info("Lock taken after %.1f s standing by: sending.", waited)
        alive()
        scheduler.add_job(
            alive, IntervalTrigger(seconds=refresh), name="scheduler liveness file"
        )
        self.launch_scheduler(lock, scheduler)
        try:
            lock.release()
        except LockError:
            raise CommandError(
                "lost the scheduler lock (Redis away longer than "
                "SCHEDULER_LOCK_TIMEOUT?): stopped firing; restart to stand by again"
            ) from None
