"""Task tracking: how task state changes reach django_dramatiq's ``Task`` table.

django_dramatiq's ``AdminMiddleware`` writes each state change as it happens (an
``update_or_create`` with ``SELECT ... FOR UPDATE``, three per task): measured here it cut a
worker to 0.10-0.17x of bare Dramatiq. The batched tracker buffers the changes per process and
writes them in bulk, so tracking can stay on.
"""

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Tracker = Literal["batched", "django_dramatiq"]
BATCHED: Tracker = "batched"


class TrackingConfig(BaseModel):
    """Task tracking, on when ``tasks.dramatiq.admin_enabled`` is."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    env_prefix: ClassVar[str] = "TRACKING_"

    tracker: Tracker = Field(
        default=BATCHED,
        description="batched: ours, bulk writes; django_dramatiq: its AdminMiddleware, "
        "one write per state change",
    )
    batch_size: int = Field(
        default=500, ge=1, le=10_000, description="State changes written per flush"
    )
    flush_interval: int = Field(
        default=250,
        ge=10,
        le=60_000,
        description="Milliseconds a state change waits at most before it is written",
    )
    buffer_limit: int = Field(
        default=50_000,
        ge=100,
        le=1_000_000,
        description="Messages a process holds unwritten; beyond, changes are dropped "
        "and counted",
    )
    retention_days: int = Field(
        default=14,
        ge=0,
        le=3650,
        description="Days a task row is kept after its last change (0: forever)",
    )
    prune_interval: int = Field(
        default=600_000,
        ge=10_000,
        description="Milliseconds between two retention passes (one worker per pass)",
    )
    prune_batch: int = Field(
        default=1000, ge=10, le=100_000, description="Rows deleted per statement"
    )
