"""Kubernetes: how each queue's workers scale on KEDA, and what a pod may use.

The manifests in ``deploy/kubernetes/base`` are made from these values and the rest of the
config (queues, processes, threads, the shutdown wait): ``manage.py kubernetes`` writes
them, ``manage.py kubernetes --check`` fails when they have drifted.
"""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Kubernetes' grace period must outlast Dramatiq's shutdown wait, with room for the
# master to hand unfinished messages back to Redis after it.
GRACE_MARGIN_SECONDS = 30
# Measured idle on the Docker engine (the production compose stack on Python 3.14, 1, 2,
# 4 and 8 processes: 71, 82, 102 and 144 MiB): a worker container takes 61 MiB (the
# master, Django set up, and the pages its forked processes share) plus 10.4 MiB per
# process. A process's whole resident set is 66 MiB: what it holds once copy-on-write has
# copied every page it shares, the least a process may be given. Limits leave room above
# that for what real tasks hold.
MEASURED_BASE_MIB = 61
MEASURED_PROCESS_RSS_MIB = 66


class QueueScaling(BaseModel):
    """KEDA's ``ScaledObject`` for one queue's worker ``Deployment``."""

    model_config = ConfigDict(extra="forbid")

    min_replicas: int = Field(
        default=1,
        ge=0,
        le=100,
        description="Replicas when the queue is empty; 0 lets KEDA scale it to zero",
    )
    max_replicas: int = Field(default=10, ge=1, le=1000, description="Most replicas")
    target_length: int = Field(
        default=100,
        ge=1,
        description="Ready plus delayed messages per replica KEDA aims for",
    )
    activation_length: int = Field(
        default=0,
        ge=0,
        description="Messages above which a queue at zero replicas wakes up",
    )
    cooldown_seconds: int = Field(
        default=300,
        ge=0,
        le=86400,
        description="Seconds after the last activity before scaling to min_replicas",
    )

    @model_validator(mode="after")
    def _min_below_max(self) -> "QueueScaling":
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) must not exceed max_replicas "
                f"({self.max_replicas})"
            )
        return self


class KubernetesConfig(BaseModel):
    """What the Kubernetes manifests take from the config beyond the workers' own."""

    model_config = ConfigDict(extra="forbid")
    env_prefix: ClassVar[str] = "KUBERNETES_"

    image: str = Field(
        default="",
        description="The image every pod runs (empty: <project_slug>:latest)",
    )
    termination_grace_seconds: int | None = Field(
        default=None,
        ge=1,
        description="Pod grace period; must exceed the worker shutdown timeout "
        f"(empty: that timeout + {GRACE_MARGIN_SECONDS} s)",
    )
    cpu_per_process: int = Field(
        default=1000,
        ge=100,
        le=16000,
        description="Millicores per worker process: a worker pod's CPU limit is this "
        "times its processes",
    )
    memory_per_process_mib: int = Field(
        default=128,
        ge=MEASURED_PROCESS_RSS_MIB,
        description="MiB per worker process (an idle one's whole resident set: "
        f"{MEASURED_PROCESS_RSS_MIB}); a worker pod's limit is {MEASURED_BASE_MIB} plus "
        "this times its processes",
    )
    web_replicas: int = Field(default=2, ge=1, le=100, description="Web pods")
    scaling: dict[str, QueueScaling] = Field(
        default={},
        description="Per-queue KEDA scaling by queue name; a queue not named here gets "
        "QueueScaling's defaults",
    )

    def worker_memory_mib(self, processes: int) -> int:
        return MEASURED_BASE_MIB + processes * self.memory_per_process_mib

    def for_queue(self, queue: str) -> QueueScaling:
        return self.scaling.get(queue) or QueueScaling()

    def grace_seconds(self, shutdown_timeout_ms: int) -> int:
        if self.termination_grace_seconds is not None:
            return self.termination_grace_seconds
        return -(-shutdown_timeout_ms // 1000) + GRACE_MARGIN_SECONDS

    def failures(
        self, queues: list[str], shutdown_timeout_ms: int
    ) -> list[tuple[tuple[str, ...], Any, str]]:
        """What the rest of the config rules out: unknown queues, a grace too short."""
        failures: list[tuple[tuple[str, ...], Any, str]] = []
        for name in self.scaling:
            if name not in queues:
                failures.append(
                    (
                        ("kubernetes", "scaling"),
                        name,
                        f"no such queue (configured: {', '.join(queues)})",
                    )
                )
        grace = self.termination_grace_seconds
        if grace is not None and grace * 1000 <= shutdown_timeout_ms:
            failures.append(
                (
                    ("kubernetes", "termination_grace_seconds"),
                    grace,
                    "must exceed the worker shutdown timeout "
                    f"(tasks.dramatiq.worker_shutdown_timeout={shutdown_timeout_ms} ms): "
                    "Kubernetes would kill running tasks before Dramatiq hands them back",
                )
            )
        return failures
