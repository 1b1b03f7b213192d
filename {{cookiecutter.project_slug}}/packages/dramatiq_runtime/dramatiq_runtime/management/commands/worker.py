"""Start Dramatiq workers as the typed config describes them.

django_dramatiq's ``rundramatiq`` flags, with the config's values as the defaults of
processes, threads, queues and the shutdown wait; every other flag (``--reload``,
``--pid-file``, ...) works as there. Unlike ``rundramatiq``, which replaces itself with a
``dramatiq`` command whose processes each start Django again, this process becomes the
Dramatiq master with Django already set up (``worker_start``): its worker processes
inherit it.
"""

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django_dramatiq.management.commands.rundramatiq import Command as RunDramatiq
from pydantic import ValidationError

from dramatiq_runtime import worker_start
from dramatiq_runtime.config import DramatiqConfig
from dramatiq_runtime.config.errors import problems

# rundramatiq's flags whose default is the config's.
FROM_CONFIG = ("processes", "threads", "queues", "worker_shutdown_timeout")


class Command(RunDramatiq):
    help = (
        "Start Dramatiq workers with processes, threads, queues and the shutdown wait "
        "from the config; rundramatiq's other flags work as there."
    )
    # The system checks (URLconf, admin, models) are run by migrate, which runs before
    # the workers (compose, the Kubernetes Job), and by `manage.py check`; the config was
    # validated as the settings loaded. At every worker start they cost 20-80 ms of the
    # time to the first task (Kubernetes scales from zero on that), for no worker's use.
    requires_system_checks: list[str] = []

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
        if options["use_gevent"]:  # dramatiq-gevent patches before it imports: exec it
            return super().handle(*args, **options)
        arguments = self.dramatiq_arguments(**options)
        self.stdout.write(f" * Running dramatiq: {' '.join(arguments)}\n\n")
        sys.exit(worker_start.run(arguments, spawn=options["use_spawn"]))

    def dramatiq_arguments(
        self,
        *,
        watch_dir,
        skip_logging,
        use_polling_watcher,
        use_spawn,
        path,
        processes,
        threads,
        verbosity,
        queues,
        pid_file,
        log_file,
        forks,
        worker_shutdown_timeout,
        **_,
    ) -> list[str]:
        """The ``dramatiq`` command line ``rundramatiq`` would run, without the program."""
        found = ["--path", *path, "--processes", str(processes)]
        found += ["--threads", str(threads)]
        found += ["--worker-shutdown-timeout", str(worker_shutdown_timeout)]
        if watch_dir:
            found += ["--watch", watch_dir]
            found += ["--watch-use-polling"] if use_polling_watcher else []
        for function in forks:
            found += ["--fork-function", function]
        found += ["-v"] * (verbosity - 1)
        found += self.discover_tasks_modules()  # the broker module, then the tasks
        found += ["--queues", *queues] if queues else []
        found += ["--pid-file", pid_file] if pid_file else []
        found += ["--log-file", log_file] if log_file else []
        found += ["--skip-logging"] if skip_logging else []
        found += ["--use-spawn"] if use_spawn else []
        return found

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
        # The settings imported dramatiq's Prometheus module in this process, which
        # read those names once, at import; the worker processes inherit the module.
        prometheus = sys.modules.get("dramatiq.middleware.prometheus")
        if prometheus is not None:
            vars(prometheus).update(
                DB_PATH=str(folder),
                HTTP_HOST=workers.prometheus_host,
                HTTP_PORT=workers.prometheus_port,
            )
        self.stdout.write(
            f" * Prometheus metrics on http://{workers.prometheus_host}:"
            f"{workers.prometheus_port}/metrics"
        )
