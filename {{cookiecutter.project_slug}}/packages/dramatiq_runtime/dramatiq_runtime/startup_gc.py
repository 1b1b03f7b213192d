"""The garbage collector, paused while Django sets up: importing this module pauses it.

A setup makes about 95,000 objects that live as long as the process, and the collector
scans them again and again while they arrive: 30 ms of a 300 ms ``django.setup()`` here.
Python's ``gc`` docs give the way out for a process that forks: disable early, freeze
once the long-lived objects are made. The settings import this module first; the runtime
app's ``ready()`` calls ``resume``, which freezes what setup made (``gc.freeze``: it is
never scanned again, and a forked worker shares its pages) and turns the collector back
on. A process that imports the settings and never sets Django up keeps it paused: such
a process is a short script. One whose collector was off already is left alone.
"""

import gc

_paused = gc.isenabled()
gc.disable()


def resume() -> None:
    """Freeze what setup made and turn the collector on (once; later calls do nothing)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
