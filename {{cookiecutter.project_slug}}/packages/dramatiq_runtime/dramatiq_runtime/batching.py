"""One batch writer per process: what tracking rows and ``@task`` results have in common.

Both hold their writes in memory, merged per key, and send them from a thread of their
own, so neither a sender nor a worker waits on a database or Redis. The parts that are easy
to get wrong live here once:

- a forked child starts empty, with no thread (``os.register_at_fork``): it must not
  write its parent's batch again, nor wait on a lock its parent held;
- the thread survives any exception of a write (the batch is dropped, counted and warned
  about, never retried in a loop), and a thread that died anyway is started again by the
  next write;
- a stopping worker (``close``) and an exiting process (``atexit``) write what is left.
"""

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchWriter(Generic[K, V]):
    """Hold values by key, merged, and write them in batches from one thread.

    Parameters:
      name(str): The thread's name.
      label(str): Who drops, in a warning ("Task tracking").
      unit(str): What is dropped, in a warning ("state change(s)").
      write(callable): Writes a list of values; returns how many it wrote. Runs in the
        writer's thread (or in the caller of ``flush``); an exception drops that batch.
      merge(callable): ``merge(held, new)``: the value to hold when ``key`` already has one.
      batch_size(int): Values per ``write`` call; this many waiting wake the thread.
      interval(float): Seconds a value waits at most before it is written.
      limit(int): Keys held at most; a new key beyond it is dropped.
      on_drop(callable): ``on_drop(count)`` after values are dropped (e.g. a metric).
      chores(callable): Run by the thread after each periodic flush (e.g. pruning).
      thread_done(callable): Run by the thread as it ends (e.g. closing its connection).
    """

    def __init__(
        self,
        name: str,
        write: Callable[[list[V]], int],
        *,
        label: str,
        unit: str,
        merge: Callable[[V, V], V] = lambda held, new: new,
        batch_size: int = 500,
        interval: float = 0.25,
        limit: int = 50_000,
        on_drop: Callable[[int], object] | None = None,
        chores: Callable[[], object] | None = None,
        thread_done: Callable[[], object] | None = None,
    ) -> None:
        self.name = name
        self.label = label
        self.unit = unit
        self.chores = chores
        self.thread_done = thread_done
        self.write = write
        self.merge = merge
        self.batch_size = batch_size
        self.interval = interval
        self.limit = limit
        self.on_drop = on_drop
        self.dropped = 0
        self._unreported = 0
        self._warned_at = -1.0
        self._reset()
        # Weak: a writer that is gone needs neither.
        child = weakref.WeakMethod(self._reset)
        os.register_at_fork(after_in_child=lambda: (reset := child()) and reset())
        closer = weakref.WeakMethod(self.close_at_exit)
        atexit.register(lambda: (close := closer()) and close())

    def _reset(self) -> None:
        """Empty, with fresh locks and no thread: a forked child's state."""
        self._lock = threading.Lock()  # guards the held values
        self._flushing = threading.Lock()  # one write at a time
        self._held: dict[K, V] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, key: K, value: V) -> bool:
        """Hold ``value`` for ``key`` (merged with what is held); False if dropped."""
        with self._lock:
            held = self._held.get(key)
            if held is None:
                if len(self._held) >= self.limit:
                    self._drop(1, "the buffer is full")
                    return False
                self._held[key] = value
            else:
                self._held[key] = self.merge(held, value)
            full = len(self._held) >= self.batch_size
        self.start()
        if full:
            self._wake.set()
        return True

    def start(self) -> None:
        """Start the thread unless it runs (again, if it died)."""
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            if self._thread is not None:
                logger.error("The %s thread had stopped; starting it again.", self.name)
            self._thread = threading.Thread(
                target=self._run, name=self.name, daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        stopping = self._stopping
        try:
            while not stopping.is_set():
                self._wake.wait(self.interval)
                self._wake.clear()
                try:
                    self.flush()
                    if self.chores is not None:
                        self.chores()
                except Exception:  # flush drops what fails; this is anything else
                    logger.exception("The %s thread went on after an error.", self.name)
        finally:
            if self.thread_done is not None:
                self.thread_done()

    def flush(self) -> int:
        """Write what is held now; how many values were written.

        A caller (a test, a stopping worker) returns only once what the thread was
        writing is written too.
        """
        with self._flushing:
            with self._lock:
                values, self._held = list(self._held.values()), {}
            written = 0
            for start in range(0, len(values), self.batch_size):
                chunk = values[start : start + self.batch_size]
                try:
                    written += self.write(chunk)
                except Exception as exc:
                    self._drop(len(chunk), f"the write failed ({exc!r})")
            return written

    def close(self) -> None:
        """Stop the thread and write what is left; a later ``hold`` starts a new one."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        self.flush()
        self._stopping = threading.Event()
        self._thread = None

    def close_at_exit(self) -> None:
        if self._held or self._thread is not None:
            self.close()

    def _drop(self, count: int, why: str) -> None:
        """Count what is lost; warn at most once a second (a full buffer drops a lot)."""
        self.dropped += count
        self._unreported += count
        if self.on_drop is not None:
            self.on_drop(count)
        if time.monotonic() - self._warned_at >= 1:
            self._warned_at = time.monotonic()
            logger.warning(
                "%s dropped %d %s, %d in all: %s.",
                self.label,
                self._unreported,
                self.unit,
                self.dropped,
                why,
            )
            self._unreported = 0
