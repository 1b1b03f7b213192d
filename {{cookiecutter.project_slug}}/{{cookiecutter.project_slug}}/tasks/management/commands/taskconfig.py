"""Print the effective task configuration as JSON, passwords masked."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from ....config import reference


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
            readme = Path(settings.BASE_DIR) / "README.md"
            readme.write_text(reference.render(readme.read_text(encoding="utf-8")))
            self.stdout.write(f"Updated the settings table in {readme}")
            return
        config = settings.CONFIG
        dumped = config.masked_dump()
        dumped["tasks"]["dramatiq"]["effective_middleware"] = (
            config.tasks.dramatiq.effective_middleware()
        )
        self.stdout.write(json.dumps(dumped, indent=2))
