"""Start Dramatiq workers as the typed config describes them.

django_dramatiq's ``rundramatiq`` with the config's values as its defaults: processes,
threads, queues and the shutdown wait come from ``settings.CONFIG`` unless given; every
other flag of ``rundramatiq`` (``--reload``, ``--pid-file``, ...) is its own, and it
replaces this process with the ``dramatiq`` master.
"""

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django_dramatiq.management.commands.rundramatiq import Command as RunDramatiq
from pydantic import ValidationError

from dramatiq_runtime.config import DramatiqConfig
from dramatiq_runtime.config.errors import problems

# rundramatiq's flags whose default is the config's.
FROM_CONFIG = ("processes", "threads", "queues", "worker_shutdown_timeout")


class Command(RunDramatiq):
    help = (
        "Start Dramatiq workers with processes, threads, queues and the shutdown wait "
        "from the config; rundramatiq's other flags work as there."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(**dict.fromkeys(FROM_CONFIG))
        # Plain help: rundramatiq's formatter would print "(default: None)" for these.
        parser.formatter_class = argparse.HelpFormatter
        for action in parser._actions:  # argparse offers no public way to reword help
            if action.dest in FROM_CONFIG:
                action.help = f"{action.help} (default: the config's)"

    def handle(self, *args, **options):
        tasks = settings.CONFIG.tasks
        if not tasks.enabled:
            raise CommandError(
                "tasks are disabled (TASKS_ENABLED=false): Django runs with a stub "
                "broker, so there is no queue to consume"
            )
        workers = self.with_overrides(
            tasks.dramatiq, options["processes"], options["threads"]
        )
        queues = options["queues"] or workers.queues
        unknown = [queue for queue in queues if queue not in workers.queues]
        if unknown:
            raise CommandError(
                f"--queues {' '.join(unknown)}: not in the config; "
                f"configured queues: {', '.join(workers.queues)}"
            )
        if workers.prometheus_enabled:
            self.prepare_prometheus(workers)
        shutdown = options["worker_shutdown_timeout"] or workers.worker_shutdown_timeout
        options.update(
            processes=workers.processes,
            threads=workers.threads,
            queues=queues,
            worker_shutdown_timeout=shutdown,
        )
        super().handle(*args, **options)

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
