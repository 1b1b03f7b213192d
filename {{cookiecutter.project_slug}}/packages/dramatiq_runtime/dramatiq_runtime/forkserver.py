"""Imported by multiprocessing's fork server before it forks a worker process (Python
3.14's default start method, used when the master runs threads: ``worker_start``):
Django set up once, there, with the broker and task modules the worker processes would
import, for all of them."""

import importlib
import os

import django

django.setup()

from dramatiq_runtime.worker_start import (  # noqa: E402
    PRELOAD_MODULES,
    close_inherited,
    freeze,
)

for module in filter(None, os.environ.get(PRELOAD_MODULES, "").split(",")):
    importlib.import_module(module)
close_inherited()
freeze()
