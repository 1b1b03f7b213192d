from django.apps import AppConfig
from django.conf import settings


class DramatiqRuntimeConfig(AppConfig):
    name = "dramatiq_runtime"
    # The label names the Queues page's permission (dramatiq_runtime.manage_dead_letters):
    # keep it stable.
    label = "dramatiq_runtime"
    verbose_name = "Tasks"

    def ready(self):
        # Register the runtime's actors in every process (web too), so .send() finds them.
        from . import checks, ping, startup_gc, task_backend, tracing  # noqa: F401

        tracing.instrument_django()

        if settings.CONFIG.tasks.probes:
            # Probe actors for tests and benchmarks: never in a production worker.
            from . import probes  # noqa: F401

        startup_gc.resume()  # what setup made is made: freeze it, collect again
