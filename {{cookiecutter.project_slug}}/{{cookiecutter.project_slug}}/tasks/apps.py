from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "{{ cookiecutter.project_slug }}.tasks"
    label = "tasks"
    verbose_name = "Tasks"
