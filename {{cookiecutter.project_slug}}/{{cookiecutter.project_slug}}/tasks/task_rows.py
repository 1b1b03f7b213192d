"""django_dramatiq's ``Task`` rows, written in bulk and pruned in batches.

One ``INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE`` per batch (PostgreSQL and SQLite
>= 3.24 both speak it): a row takes a change only when the change happened at or after the
row's ``updated_at``, so a late write (the web's "enqueued" flushed after the worker's
"done") never overwrites a newer state.
"""

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connections
from django_dramatiq.models import DATABASE_LABEL, Task

# Every column of the table; all but id and created_at take the newer change.
COLUMNS = (
    "id",
    "status",
    "created_at",
    "updated_at",
    "message_data",
    "actor_name",
    "queue_name",
)
UPDATED = ("status", "updated_at", "message_data", "actor_name", "queue_name")


class Row(NamedTuple):
    """One message's latest known state."""

    id: str
    status: str
    created_at: datetime
    updated_at: datetime
    message_data: bytes
    actor_name: str
    queue_name: str


def moment(epoch: float) -> datetime:
    """A ``time.time()`` value as the database's datetime (aware in UTC under USE_TZ)."""
    aware = datetime.fromtimestamp(epoch, UTC)
    return aware if settings.USE_TZ else aware.astimezone().replace(tzinfo=None)


def upsert(rows: Iterable[Row]) -> int:
    """Write ``rows`` in one statement; how many were sent."""
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[DATABASE_LABEL]
    quote = connection.ops.quote_name
    fields = [Task._meta.get_field(name) for name in COLUMNS]
    table = quote(Task._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    updated = quote(Task._meta.get_field("updated_at").column)
    sets = ", ".join(
        f"{quote(column)} = excluded.{quote(column)}"
        for column in (Task._meta.get_field(name).column for name in UPDATED)
    )
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(rows))} "
        f"ON CONFLICT ({quote('id')}) DO UPDATE SET {sets} "
        f"WHERE excluded.{updated} >= {table}.{updated}"
    )
    params = [
        field.get_db_prep_save(value, connection)
        for row in rows
        for field, value in zip(fields, row, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return len(rows)


def prune(older_than: timedelta, batch: int = 1000) -> int:
    """Delete rows whose last change is older than ``older_than``; how many went.

    Filters on ``updated_at``, which has an index (django_dramatiq's ``delete_old_tasks``
    filters on ``created_at``, which has none: a full scan of the table per call), and
    deletes ``batch`` rows per statement so no long lock is held.
    """
    cutoff = moment(time.time()) - older_than
    rows = Task.tasks.using(DATABASE_LABEL)
    deleted = 0
    while True:
        ids = list(
            rows.filter(updated_at__lt=cutoff)
            .order_by("updated_at")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return deleted
        deleted += rows.filter(id__in=ids).delete()[0]
        if len(ids) < batch:
            return deleted


def flush_tracking(broker=None, *, close: bool = False) -> int:
    """Write the state changes this process holds now (tests and shells; workers flush
    by themselves every ``flush_interval``). How many messages were written.

    ``close`` also stops the writer thread and closes its connections, e.g. before a
    test database is dropped.
    """
    import dramatiq

    from .middleware.tracking import TaskTracking

    broker = broker or dramatiq.get_broker()
    trackers = [m for m in broker.middleware if isinstance(m, TaskTracking)]
    if close:
        for tracker in trackers:
            tracker.close()
        return 0
    return sum(tracker.flush() for tracker in trackers)
