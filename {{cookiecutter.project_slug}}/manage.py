#!/usr/bin/env python
"""Django's command-line utility."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{{ cookiecutter.project_slug }}.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads and validates the configuration
    except ImproperlyConfigured as exc:
        # One line per bad value, naming it; a traceback would only bury them.
        sys.exit(f"Configuration error:\n{exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
