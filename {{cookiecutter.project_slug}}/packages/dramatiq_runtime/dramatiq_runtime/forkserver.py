"""Imported by multiprocessing's fork server before it forks a worker process (Python
3.14's default start method; ``worker_start``): Django set up once, there, with the
broker and task modules the worker processes would import, for all of them."""

import gc
import importlib
import os

import django

django.setup()

from dramatiq_runtime.worker_start import PRELOAD_MODULES, close_inherited  # noqa: E402

for module in filter(None, os.environ.get(PRELOAD_MODULES, "").split(",")):
    importlib.import_module(module)
close_inherited()
gc.collect()
gc.freeze()
