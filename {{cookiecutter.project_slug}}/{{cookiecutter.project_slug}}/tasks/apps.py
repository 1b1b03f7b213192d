from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "{{ cookiecutter.project_slug }}.tasks"
    # Not "tasks": Django 6's own django.tasks app has that label. The label names the
    # Queues page's permission (dramatiq_runtime.manage_dead_letters): keep it stable.
    label = "dramatiq_runtime"
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
