"""Django's own task API (``@task``, DEP 14) on the Dramatiq workers: its backend's settings.

``TASKS`` names our ``DramatiqBackend`` with the configured queues: a ``@task`` on any
other queue is refused when it is defined or enqueued. Retries, time limit and age limit
are the workers' (``DramatiqConfig``), as for any actor.
"""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .middleware import RUNTIME_PACKAGE

DRAMATIQ_BACKEND = f"{RUNTIME_PACKAGE}.task_backend.DramatiqBackend"
DAY_MS = 86_400_000


class DjangoTasksConfig(BaseModel):
    """The ``TASKS`` setting: Django's task framework, run by Dramatiq."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    env_prefix: ClassVar[str] = "DJANGO_TASKS_"

    result_ttl: int = Field(
        default=DAY_MS,
        ge=60_000,
        le=30 * DAY_MS,
        description="Milliseconds a @task's result (status, times, return value, "
        "errors) is kept after its last change",
    )

    def settings(
        self,
        queues: list[str],
        broker_url: str | None,
        namespace: str,
        connection: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``TASKS``; no ``url`` (tasks disabled): results are not kept anywhere."""
        return {
            "default": {
                "BACKEND": DRAMATIQ_BACKEND,
                "QUEUES": list(queues),
                "OPTIONS": {
                    "url": broker_url,
                    "connection": connection or {},
                    "namespace": f"{namespace}-tasks",
                    "result_ttl": self.result_ttl,
                },
            }
        }
