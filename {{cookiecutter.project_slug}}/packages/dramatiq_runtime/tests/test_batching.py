"""The batch writer behind tracking rows and ``@task`` results: it keeps writing through
errors, starts empty after a fork, and its database writes survive a broken connection."""

import os
import time

import pytest
from django.db import connections
from django.test.utils import override_settings
from django_dramatiq.models import DATABASE_LABEL, Task
from dramatiq_runtime.batching import BatchWriter
from dramatiq_runtime.middleware.tracking import TaskTracking
from dramatiq_runtime.probes import noop
from dramatiq_runtime.testing import wait_until


class Sink:
    """A write function that keeps what it is given, and fails when told to."""

    def __init__(self) -> None:
        self.written: list[int] = []
        self.fail_next: BaseException | None = None

    def __call__(self, values: list[int]) -> int:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        self.written += values
        return len(values)


@pytest.fixture
def writer():
    sink = Sink()
    made: BatchWriter[str, int] = BatchWriter(
        "test-writer", sink, label="Test writer", unit="value(s)", interval=0.01
    )
    yield made, sink
    made.close()


def test_values_merge_per_key_and_are_written_by_the_thread(writer):
    batch, sink = writer
    merging: BatchWriter[str, int] = BatchWriter(
        "test-merge", sink, label="Test", unit="value(s)", merge=max, interval=60
    )
    for value in (3, 9, 5):
        merging.hold("key", value)
    assert merging.flush() == 1 and sink.written == [9]
    merging.close()

    batch.hold("a", 1)
    wait_until(lambda: sink.written == [9, 1], 5, "the thread's write")


def test_the_thread_survives_a_failing_write_and_counts_the_loss(writer, caplog):
    batch, sink = writer
    sink.fail_next = ConnectionError("database away")
    batch.hold("lost", 1)
    wait_until(lambda: batch.dropped == 1, 5, "the failed batch counted")
    assert "Test writer dropped 1 value(s), 1 in all" in caplog.text
    batch.hold("kept", 2)
    wait_until(lambda: sink.written == [2], 5, "the next batch written")


# The thread is ended on purpose here; pytest would report its exception.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_thread_that_died_is_started_again_by_the_next_write(writer, caplog):
    batch, sink = writer
    batch.hold("first", 1)
    wait_until(lambda: sink.written == [1], 5, "first write")
    # Anything that is not an Exception ends the thread (as a SystemExit raised in it).
    sink.fail_next = SystemExit("the thread ends")
    batch.hold("ends-it", 2)
    dead = batch._thread
    assert dead is not None
    dead.join(timeout=5)
    assert not dead.is_alive()
    batch.hold("after", 3)
    wait_until(lambda: 3 in sink.written, 5, "a write after the restart")
    assert "thread had stopped; starting it again" in caplog.text


def test_a_forked_child_starts_empty_with_no_thread():
    sink = Sink()
    parent: BatchWriter[str, int] = BatchWriter(
        "test-fork", sink, label="Test", unit="value(s)", interval=60
    )
    parent.hold("parent's", 1)
    # A lock held in the parent at fork time must not block the child.
    with parent._lock:
        pid = os.fork()
        if pid == 0:  # the child: exit 0 only if it starts clean and can write
            clean = parent._held == {} and parent._thread is None
            acquired = parent._lock.acquire(timeout=1)
            os._exit(0 if clean and acquired else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parent.flush() == 1 and sink.written == [1]  # the parent's, once
    parent.close()


@pytest.mark.django_db(transaction=True)
def test_tracking_writes_keep_no_debug_query_log():
    tracker = TaskTracking(flush_interval=60_000)
    try:
        ids = []
        with override_settings(DEBUG=True):
            connection = connections[DATABASE_LABEL]
            for _ in range(3):
                message = noop.message()
                ids.append(message.message_id)
                tracker._record(time.time(), "done", message)
                assert tracker.flush() == 1
            assert connection.queries_log == type(connection.queries_log)()
        # This process's own tracker may write other tests' enqueues meanwhile.
        assert Task.tasks.filter(id__in=ids).count() == 3
    finally:
        tracker.close()


@pytest.mark.django_db(transaction=True)
def test_a_batch_after_the_database_dropped_the_connection_is_written(postgresql):
    """The server ends the writer's connection (as a restart does): the next batch is
    written on a new one, not lost."""
    import psycopg

    tracker = TaskTracking(flush_interval=60_000)
    try:
        tracker._record(time.time(), "done", noop.message())
        assert tracker.flush() == 1
        connection = connections[DATABASE_LABEL]
        pid = connection.connection.info.backend_pid
        options = connection.get_connection_params()
        options.pop("cursor_factory", None)
        with psycopg.connect(**options, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        message = noop.message()
        tracker._record(time.time(), "done", message)
        assert tracker.flush() == 1, "the batch after the broken connection was lost"
        assert tracker.dropped == 0
        assert connection.connection.info.backend_pid != pid
        assert Task.tasks.filter(id=message.message_id).exists()
    finally:
        tracker.close()
