"""Print the effective task configuration as JSON, passwords masked."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Print the effective configuration as JSON (passwords and secret key masked)."
    )

    def handle(self, *args, **options):
        config = settings.CONFIG
        dumped = config.masked_dump()
        dumped["tasks"]["dramatiq"]["effective_middleware"] = (
            config.tasks.dramatiq.effective_middleware()
        )
        self.stdout.write(json.dumps(dumped, indent=2))
