"""Background tasks: example actors (one per queue), the ping actor, worker commands."""
