"""The {{ cookiecutter.project_slug }} project: settings, typed config and tasks."""
