"""Chores every Django project needs done periodically.

``clear_expired_sessions`` is what Django's documentation asks for in a cron job
(``manage.py clearsessions``); the shipped schedule in ``config/environments.py`` sends it
nightly when the project has a scheduler.
"""

import dramatiq
from django.core.management import call_command


@dramatiq.actor(queue_name="default", max_retries=1)
def clear_expired_sessions() -> None:
    """Delete the sessions that have expired (a no-op for cookie-based sessions)."""
    call_command("clearsessions")
