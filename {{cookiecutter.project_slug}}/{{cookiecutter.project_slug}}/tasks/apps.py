from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "{{ cookiecutter.project_slug }}.tasks"
    # Not "tasks": Django 6's own django.tasks app has that label.
    label = "{{ cookiecutter.project_slug }}_tasks"
    verbose_name = "{{ cookiecutter.project_name }} tasks"

    def ready(self):
        # Register the actors in every process (web too), so .send() finds them.
        from . import actors, housekeeping, portable  # noqa: F401
