"""System checks of the task config that need Django: the models cannot see the actors."""

import dramatiq
from django.conf import settings
from django.core import checks

from .discovery import unknown_actors


@checks.register(checks.Tags.compatibility)
def schedules_name_actors(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``manage.py check`` (and runserver, migrate) refuse a schedule of no actor."""
    return [
        checks.Error(problem, id="tasks.E001")
        for problem in unknown_actors(
            settings.CONFIG.tasks.schedules, dramatiq.get_broker()
        )
    ]
