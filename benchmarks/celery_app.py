"""The anchor users would pick instead: a Celery worker with the same no-op on the same Redis.

``acks_late`` so a message is acknowledged after it ran, as Dramatiq does; the queue and
Redis database come from BENCH_CELERY_URL and BENCH_CELERY_QUEUE.
"""

import os

from celery import Celery

app = Celery("bench", broker=os.environ["BENCH_CELERY_URL"])
app.conf.update(
    task_acks_late=True,
    task_default_queue=os.environ["BENCH_CELERY_QUEUE"],
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="noop", ignore_result=True)
def noop() -> None:
    """Nothing."""
