"""Print the effective task configuration as JSON, passwords masked."""

import json
from pathlib import Path

import dramatiq
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ...config import reference


class Command(BaseCommand):
    help = (
        "Print the effective configuration as JSON (passwords and secret key masked)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--readme",
            action="store_true",
            help="Rewrite README.md's table of every setting from the models.",
        )

    def handle(self, *args, **options):
        if options["readme"]:
            environments = getattr(settings, "CONFIG_ENVIRONMENTS", None)
            if environments is None:
                raise CommandError(
                    "--readme needs the CONFIG_ENVIRONMENTS setting (the project's "
                    "Environments, as in settings.py: CONFIG_ENVIRONMENTS = ENVIRONMENTS)"
                )
            readme = Path(settings.BASE_DIR) / "README.md"
            text = readme.read_text(encoding="utf-8")
            if reference.START not in text or reference.END not in text:
                raise CommandError(
                    f"{readme}: no {reference.START} ... {reference.END} markers to "
                    "write the table between"
                )
            readme.write_text(reference.render(text, environments), encoding="utf-8")
            self.stdout.write(f"Updated the settings table in {readme}")
            return
        dumped = settings.CONFIG.masked_dump()
        dumped["tasks"]["dramatiq"]["running_middleware"] = running_middleware()
        self.stdout.write(json.dumps(dumped, indent=2))


def running_middleware() -> list[str]:
    """The broker's middleware as it runs: the configured stack and what
    django_dramatiq appends (Results), read from the broker itself.

    A started ``dramatiq.Worker`` adds its private ``_WorkerMiddleware``; not ours to show.
    """
    return [
        f"{type(middleware).__module__}.{type(middleware).__qualname__}"
        for middleware in dramatiq.get_broker().middleware
        if not type(middleware).__name__.startswith("_")
    ]
