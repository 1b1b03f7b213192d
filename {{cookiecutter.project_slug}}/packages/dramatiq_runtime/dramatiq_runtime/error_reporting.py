"""Sentry: errors and traces from web, workers and scheduler, and a Crons monitor per schedule.

``setup`` runs from settings, before django_dramatiq builds the broker: sentry-sdk's
Dramatiq integration patches ``Broker.__init__`` to put its middleware first, and carries
the sender's trace to the worker (``_sentry_headers`` in the message's options). Off (no
DSN), nothing of sentry-sdk is imported.

No scheduler for Dramatiq reports to Sentry Crons (sentry-python issue 2146): here every
tick of a schedule sends a check-in to the monitor of that schedule, upserted with its
cron or interval, so Sentry says when a tick is missed or late.
"""

import logging
import re
from typing import Any

from .config.observability import SentryConfig
from .config.schedules import Schedule

logger = logging.getLogger(__name__)

_crons: SentryConfig | None = None
SLUG_LENGTH = 50  # Sentry's limit for a monitor's slug


def setup(sentry: SentryConfig, environment: str) -> None:
    global _crons
    if not sentry.enabled or _crons is not None:
        return
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.dramatiq import DramatiqIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.redis import RedisIntegration

    assert sentry.dsn is not None  # enabled says so
    sentry_sdk.init(
        dsn=sentry.dsn.get_secret_value(),
        environment=sentry.environment or environment,
        release=sentry.release or None,
        traces_sample_rate=sentry.traces_sample_rate,
        send_default_pii=False,
        integrations=[
            DjangoIntegration(),
            DramatiqIntegration(),
            RedisIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
    )
    _crons = sentry


def monitor_slug(project_slug: str, index: int, schedule: Schedule) -> str:
    """``<project>-<index>-<actor>``, in Sentry's alphabet, at most 50 characters."""
    text = f"{project_slug}-{index}-{schedule.actor}".lower().replace("_", "-")
    return re.sub(r"[^a-z0-9-]", "-", text)[:SLUG_LENGTH]


def monitor_config(schedule: Schedule, zone: str) -> dict[str, Any] | None:
    """Sentry's monitor for the schedule; None for an interval Sentry cannot express
    (its intervals count whole minutes)."""
    assert _crons is not None
    if schedule.cron is not None:
        when: dict[str, Any] = {"type": "crontab", "value": schedule.cron}
    elif schedule.every is not None and schedule.every % 60 == 0:
        when = {"type": "interval", "value": schedule.every // 60, "unit": "minute"}
    else:
        return None
    return {"schedule": when, "checkin_margin": _crons.checkin_margin, "timezone": zone}


def monitors(project_slug: str, jobs: list[Any], zone: str) -> dict[int, tuple]:
    """Per job index, the monitor its ticks check in to: none with Crons off."""
    if _crons is None or not _crons.crons:
        return {}
    found = {}
    for job in jobs:
        config = monitor_config(job.schedule, zone)
        if config is None:
            logger.warning(
                "%s: every %s s is not whole minutes; Sentry Crons cannot monitor it.",
                job.name,
                job.schedule.every,
            )
            continue
        found[job.index] = (monitor_slug(project_slug, job.index, job.schedule), config)
    return found


def check_in(monitor: tuple | None, ok: bool) -> None:
    """One check-in for a tick: ``ok`` when the message was sent, else ``error``."""
    if monitor is None:
        return
    from sentry_sdk.crons import capture_checkin

    slug, config = monitor
    capture_checkin(
        monitor_slug=slug, status="ok" if ok else "error", monitor_config=config
    )
