#!/usr/bin/env python
"""The test project's manage.py: the runtime's commands as a project runs them."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testproject.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads and validates the configuration
    except ImproperlyConfigured as exc:
        sys.exit(f"Configuration error:\n{exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
