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
    """Write ``rows`` in one round trip; how many were sent.

    PostgreSQL gets one statement over ``unnest`` of one array per column: seven
    parameters whatever the batch size (a VALUES list of 500 rows has 3,500, and psycopg
    parses such a query anew each time: measured 70 us per row). SQLite gets the one-row
    statement through ``executemany``. ``rows`` hold one change per message id (a
    statement may not change a row twice).
    """
    rows = list(rows)
    if not rows:
        return 0
    connection = connections[DATABASE_LABEL]
    fields = [Task._meta.get_field(name) for name in COLUMNS]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg adapts uuid strings, aware datetimes and bytes by itself.
            types = [field.db_type(connection) for field in fields]
            arrays = ", ".join(f"%s::{kind}[]" for kind in types)
            cursor.execute(
                _statement(connection, f"SELECT * FROM unnest({arrays})"),
                [list(column) for column in zip(*rows, strict=True)],
            )
        else:
            one = "VALUES (" + ", ".join(["%s"] * len(fields)) + ")"
            cursor.executemany(
                _statement(connection, one),
                [
                    [
                        field.get_db_prep_save(value, connection)
                        for field, value in zip(fields, row, strict=True)
                    ]
                    for row in rows
                ],
            )
    return len(rows)


def _statement(connection, source: str) -> str:
    """``INSERT ... <source> ON CONFLICT (id) DO UPDATE ... WHERE newer``."""
    quote = connection.ops.quote_name
    table = quote(Task._meta.db_table)
    columns = ", ".join(quote(Task._meta.get_field(n).column) for n in COLUMNS)
    updated = quote(Task._meta.get_field("updated_at").column)
    sets = ", ".join(
        f"{quote(column)} = excluded.{quote(column)}"
        for column in (Task._meta.get_field(name).column for name in UPDATED)
    )
    return (
        f"INSERT INTO {table} ({columns}) {source} "
        f"ON CONFLICT ({quote('id')}) DO UPDATE SET {sets} "
        f"WHERE excluded.{updated} >= {table}.{updated}"
    )


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
