"""Dramatiq's master in the process that has already set Django up.

``dramatiq`` as a command starts Python, then each worker process imports and sets up
Django on its own. Here ``manage.py worker`` has done that once, so a worker process
starts with it done and shares those pages with its siblings:

- fork (the default before Python 3.14): the processes are forked from this one, after its
  connections are closed and what it holds is frozen out of the garbage collector's reach
  (``gc.freeze``), so collections do not touch, and copy, the shared pages;
- forkserver (3.14's default): the fork server imports ``dramatiq_runtime.forkserver``
  first, which sets Django up there, and the processes are forked from it;
- spawn (``--use-spawn``): nothing is shared; each process sets Django up itself.

Nothing the worker processes use is opened before they start: the middleware start their
threads and connections in ``after_worker_boot``.
"""

import gc
import importlib
import multiprocessing
import os
import sys

import dramatiq
from django.db import connections
from dramatiq import cli

FORKSERVER_PRELOAD = "dramatiq_runtime.forkserver"
PRELOAD_MODULES = "DRAMATIQ_RUNTIME_PRELOAD"  # what the fork server imports after setup


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


def run(arguments: list[str], *, spawn: bool) -> int:
    """Dramatiq's ``main`` on ``arguments`` (its command line); its exit code."""
    args = cli.make_argument_parser().parse_args(arguments)
    method = "spawn" if spawn else multiprocessing.get_start_method()
    modules = [args.broker, *args.modules]  # the actors too: no process imports them
    if method == "forkserver":
        os.environ[PRELOAD_MODULES] = ",".join(modules)
        multiprocessing.set_forkserver_preload([FORKSERVER_PRELOAD])
    elif method == "fork":
        for module in modules:
            importlib.import_module(module)
    close_inherited()
    if method == "fork":
        freeze()
    # Dramatiq's reload runs sys.argv again: make it a command line that runs (python
    # manage.py ..., not manage.py, which execvp would look for on PATH).
    sys.argv = [sys.executable, os.path.abspath(sys.argv[0]), *sys.argv[1:]]
    return cli.main(args)
