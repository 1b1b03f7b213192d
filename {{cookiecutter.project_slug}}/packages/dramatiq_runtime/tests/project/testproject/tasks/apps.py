from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "testproject.tasks"
    label = "testproject_tasks"

    def ready(self):
        from . import actors, signal_log  # noqa: F401

        signal_log.connect()
