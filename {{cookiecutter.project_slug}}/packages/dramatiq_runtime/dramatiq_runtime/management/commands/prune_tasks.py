"""Delete task rows older than the retention now (workers also do it every prune_interval)."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dramatiq_runtime.task_rows import prune


class Command(BaseCommand):
    help = (
        "Delete django_dramatiq Task rows unchanged for longer than --days (default: "
        "tasks.tracking.retention_days), in batches of tasks.tracking.prune_batch."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="keep this many days (default: config)",
        )

    def handle(self, *args, days, **options):
        tracking = settings.CONFIG.tasks.tracking
        days = tracking.retention_days if days is None else days
        if days < 1:
            raise CommandError(
                f"--days must be 1 or more, got {days} "
                "(tasks.tracking.retention_days=0 keeps rows forever; pass --days N)"
            )
        deleted = prune(timedelta(days=days), tracking.prune_batch)
        self.stdout.write(f"deleted {deleted} task row(s) older than {days} day(s)")
