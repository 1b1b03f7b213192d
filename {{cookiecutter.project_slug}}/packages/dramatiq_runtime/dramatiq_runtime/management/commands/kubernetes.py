"""Write the Kubernetes manifests from the production config, or check they match it."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dramatiq_runtime import kubernetes


class Command(BaseCommand):
    help = (
        "Rewrite deploy/kubernetes/base from the production config (the overlay's files "
        "only when missing); --check fails when the files there differ."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="change nothing; fail on drift"
        )

    def handle(self, *args, **options):
        config = kubernetes.manifest_config(settings.CONFIG_ENVIRONMENTS)
        project = settings.BASE_DIR
        if options["check"]:
            lines = kubernetes.drift(project, config)
            if lines:
                raise CommandError(
                    "the Kubernetes manifests do not match the config; run "
                    "`python manage.py kubernetes`:\n  " + "\n  ".join(lines)
                )
            self.stdout.write(f"{kubernetes.BASE}: made from the production config")
            return
        for path in kubernetes.write(project, config):
            self.stdout.write(f"wrote {path.relative_to(project)}")
