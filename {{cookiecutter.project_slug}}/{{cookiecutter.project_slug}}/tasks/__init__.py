"""Background tasks: one example actor per queue (see ``actors.py``)."""
