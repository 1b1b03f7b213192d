"""django_dramatiq's app, handed the broker's middleware as instances when apps load.

Settings hold the stack as plain data (``config.middleware.Component`` entries, from
``settings_bridge.task_settings``), so importing them imports neither Dramatiq nor Redis:
a web process, a ``manage.py`` command and a worker pay for the broker once, when Django
populates its apps and django_dramatiq builds it. ``runtime_apps`` installs this app in
django_dramatiq's place; its label, models and admin are django_dramatiq's own.
"""

from typing import Any

from django_dramatiq.apps import DjangoDramatiqConfig

from .middleware import build_stack


class DjangoDramatiq(DjangoDramatiqConfig):
    @classmethod
    def broker_settings(cls) -> dict[str, Any]:
        found = super().broker_settings()
        return {**found, "MIDDLEWARE": build_stack(found.get("MIDDLEWARE", []))}
