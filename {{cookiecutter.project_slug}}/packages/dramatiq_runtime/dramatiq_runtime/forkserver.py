"""Imported by multiprocessing's fork server before it forks a worker process (Python
3.14's default start method; ``worker_start``): Django set up once, there, for all of them."""

import gc

import django

django.setup()

from dramatiq_runtime.worker_start import close_inherited  # noqa: E402 (after setup)

close_inherited()
gc.collect()
gc.freeze()
