from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "{{ cookiecutter.project_slug }}.tasks"
    verbose_name = "Tasks"

    def ready(self):
        # Register the actors in every process (web too), so .send() finds them.
        from . import (  # noqa: F401
            actors,
            checks,
            housekeeping,
            ping,
            portable,
            probes,
            task_backend,
        )
