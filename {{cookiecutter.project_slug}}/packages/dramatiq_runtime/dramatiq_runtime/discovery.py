"""The actors a worker sees: each app's task modules, imported as ``rundramatiq`` does.

A schedule names its actor by name, and only the worker's discovery (every app's
``DRAMATIQ_AUTODISCOVER_MODULES``) is sure to have declared it: the scheduler and the
system check import the same modules before they look the name up.
"""

import io

import dramatiq
from django_dramatiq.management.commands.rundramatiq import Command as RunDramatiq

from dramatiq_runtime.config.schedules import Schedule


def import_task_modules() -> list[str]:
    """Import every task module the worker would; their names."""
    return RunDramatiq(stdout=io.StringIO()).discover_tasks_modules()


def unknown_actors(schedules: list[Schedule], broker: dramatiq.Broker) -> list[str]:
    """One line per schedule whose actor no task module declares."""
    import_task_modules()
    known = sorted(broker.get_declared_actors())
    return [
        f"tasks.schedules[{index}].actor={schedule.actor!r}: no such actor "
        f"(declared: {', '.join(known)})"
        for index, schedule in enumerate(schedules)
        if schedule.actor not in known
    ]
