"""Start Dramatiq workers as the typed config describes them.

Processes, threads, queues and the shutdown wait come from ``settings.CONFIG``; flags this
command does not know (``--reload``, ``--pid-file``, ...) pass through to django_dramatiq's
``rundramatiq``, which replaces this process with the ``dramatiq`` master.
"""

import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from pydantic import ValidationError

from {{ cookiecutter.project_slug }}.config import DramatiqConfig
from {{ cookiecutter.project_slug }}.config.errors import problems


class Command(BaseCommand):
    help = (
        "Start Dramatiq workers with processes, threads and queues from the config. "
        "Unknown flags pass through to rundramatiq."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--queues",
            "-Q",
            nargs="+",
            metavar="QUEUE",
            help="consume only these configured queues (default: all of them)",
        )
        parser.add_argument("--processes", "-p", type=int, help="override the config")
        parser.add_argument("--threads", "-t", type=int, help="override the config")

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parse_known_args = parser.parse_known_args

        def parse_args(args=None, namespace=None):
            options, passthrough = parse_known_args(args, namespace)
            options.passthrough = passthrough
            return options

        # Django builds the parser itself; this is the one hook for unknown flags.
        parser.parse_args = parse_args  # type: ignore[method-assign]
        return parser

    def handle(self, *args, queues=None, processes=None, threads=None, **options):
        tasks = settings.CONFIG.tasks
        if not tasks.enabled:
            raise CommandError(
                "tasks are disabled (TASKS_ENABLED=false): Django runs with a stub "
                "broker, so there is no queue to consume"
            )
        workers = self.with_overrides(tasks.dramatiq, processes, threads)
        queues = queues or workers.queues
        unknown = [queue for queue in queues if queue not in workers.queues]
        if unknown:
            raise CommandError(
                f"--queues {' '.join(unknown)}: not in the config; "
                f"configured queues: {', '.join(workers.queues)}"
            )
        if workers.prometheus_enabled:
            self.prepare_prometheus(workers)
        call_command(
            "rundramatiq",
            "--processes",
            str(workers.processes),
            "--threads",
            str(workers.threads),
            "--worker-shutdown-timeout",
            str(workers.worker_shutdown_timeout),
            *options.get("passthrough", []),
            "--queues",
            *queues,
        )

    def with_overrides(self, workers, processes, threads) -> DramatiqConfig:
        changes = {"processes": processes, "threads": threads}
        changes = {key: value for key, value in changes.items() if value is not None}
        if not changes:
            return workers
        try:
            return DramatiqConfig.model_validate({**workers.model_dump(), **changes})
        except ValidationError as exc:
            lines = [
                f"--{path[0]}={value}: {rule}" for path, value, rule in problems(exc)
            ]
            raise CommandError("; ".join(lines)) from None

    def prepare_prometheus(self, workers: DramatiqConfig) -> None:
        """One metrics folder shared by dramatiq and prometheus_client, emptied at start.

        Otherwise metrics come out empty when prometheus_client is imported during
        django.setup() in the worker processes.
        """
        folder = Path(
            os.environ.get("PROMETHEUS_MULTIPROC_DIR")
            or Path(tempfile.gettempdir())
            / f"{settings.CONFIG.project_slug}-prometheus"
        )
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.environ.update(
            {
                "PROMETHEUS_MULTIPROC_DIR": str(folder),
                # dramatiq's Prometheus middleware reads these lower-case names.
                "dramatiq_prom_db": str(folder),
                "dramatiq_prom_host": workers.prometheus_host,
                "dramatiq_prom_port": str(workers.prometheus_port),
            }
        )
        self.stdout.write(
            f" * Prometheus metrics on http://{workers.prometheus_host}:"
            f"{workers.prometheus_port}/metrics"
        )
