"""Dramatiq's master in the process that has already set Django up.

``dramatiq`` as a command starts Python, then each worker process imports and sets up
Django on its own. Here ``manage.py worker`` has done that once, so a worker process
starts with it done and shares those pages with its siblings:

- fork, whenever this process runs no thread but its main one (what ``start_method``
  picks on every Python, 3.14 included): the processes are forked from this one, after
  its connections are closed and what it holds is frozen out of the garbage collector's
  reach (``gc.freeze``), so collections do not touch, and copy, the shared pages;
- forkserver, where 3.14 defaults to it and this process runs other threads (an
  OpenTelemetry exporter's, say: a fork copies no thread but may copy a lock one holds):
  the fork server imports ``dramatiq_runtime.forkserver`` first, which sets Django up
  there, and the processes are forked from it. It costs a second setup and a second copy
  of it in memory (an idle 8-process worker on the engine, 3.14: 215 MiB, 144 forked);
- spawn (``--use-spawn``): nothing is shared; each process sets Django up itself.

Nothing the worker processes use is opened before they start: the middleware start their
threads and connections in ``after_worker_boot``.
"""

import gc
import importlib
import logging
import multiprocessing
import os
import sys
import threading

import dramatiq
from django.db import connections
from dramatiq import cli

FORKSERVER_PRELOAD = "dramatiq_runtime.forkserver"
PRELOAD_MODULES = "DRAMATIQ_RUNTIME_PRELOAD"  # what the fork server imports after setup
logger = logging.getLogger(__name__)


def close_inherited() -> None:
    """Close what a forked process must not share: database connections, the broker's."""
    connections.close_all()
    client = getattr(dramatiq.get_broker(), "client", None)
    if client is not None:
        client.connection_pool.disconnect()


def freeze() -> None:
    """Move what this process holds out of the collector's reach before it forks.

    No ``gc.collect()`` first: on a set-up project it takes 50-60 ms of every worker's
    start and frees about 125 objects; Python's docs advise against it before a fork
    (freed holes in the pages the children would share).
    """
    gc.freeze()


def start_method(spawn: bool, default: str, threads: int) -> str:
    """How the worker processes start: fork from this set-up process when nothing but
    its main thread runs, else the platform's ``default`` (forkserver on 3.14)."""
    if spawn:
        return "spawn"
    return "fork" if threads == 1 else default


def thread_count() -> int:
    """This process's threads, those not started by ``threading`` too (Linux's view)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def run(arguments: list[str], *, spawn: bool) -> int:
    """Dramatiq's ``main`` on ``arguments`` (its command line); its exit code."""
    args = cli.make_argument_parser().parse_args(arguments)
    modules = [args.broker, *args.modules]  # the actors too: no process imports them
    if not spawn:
        for module in modules:
            importlib.import_module(module)
    method = start_method(spawn, multiprocessing.get_start_method(), thread_count())
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    logger.info(
        "Worker processes start by %s%s.",
        method,
        f" (other threads here: {', '.join(others)})" if others else "",
    )
    if method == "fork":  # Dramatiq's processes, pipes and events, on this context
        multiprocessing.set_start_method("fork", force=True)
    elif method == "forkserver":
        os.environ[PRELOAD_MODULES] = ",".join(modules)
        multiprocessing.set_forkserver_preload([FORKSERVER_PRELOAD])
    close_inherited()
    if method == "fork":
        freeze()
    # Dramatiq's reload runs sys.argv again: make it a command line that runs (python
    # manage.py ..., not manage.py, which execvp would look for on PATH).
    sys.argv = [sys.executable, os.path.abspath(sys.argv[0]), *sys.argv[1:]]
    return cli.main(args)
