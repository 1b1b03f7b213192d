from django.apps import AppConfig
from django.conf import settings


class TasksConfig(AppConfig):
    name = "{{ cookiecutter.project_slug }}.tasks"
    verbose_name = "Tasks"

    def ready(self):
        # Register the actors in every process (web too), so .send() finds them.
        from . import actors, ping, probes  # noqa: F401

        if not settings.CONFIG.tasks.dramatiq.admin_enabled:
            # django_dramatiq must stay installed (it builds the broker), but its task
            # admin is part of the admin_enabled switch.
            from django.contrib import admin
            from django_dramatiq.models import Task

            if admin.site.is_registered(Task):
                admin.site.unregister(Task)
