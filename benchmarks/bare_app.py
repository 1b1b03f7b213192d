"""Bare Dramatiq: the generated project's Dramatiq middleware, built from its config, no Django.

Run as ``dramatiq bare_app`` with BENCH_SLUG (the project package, importable), and the
same environment the project's worker gets; the broker, namespace and middleware values
come from the project's own config models, so both sides run the same stack.
"""

import importlib
import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

slug = os.environ["BENCH_SLUG"]
config = importlib.import_module(f"{slug}.config").load_config()
build_stack = importlib.import_module("dramatiq_runtime.middleware").build_stack
tasks = config.tasks
# Dramatiq's own middleware of the project's stack, with the same arguments, built by the
# project's own builder; minus what is Django's (admin, connections) or ours.
stack = build_stack(
    component for component in tasks.middleware_stack() if component.path.startswith("dramatiq.")
)
broker = RedisBroker(
    url=tasks.broker_url,
    namespace=tasks.namespace,
    heartbeat_timeout=tasks.dramatiq.heartbeat_timeout,
    maintenance_chance=tasks.dramatiq.maintenance_chance,
    middleware=stack,
)
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="default")
def noop() -> None:
    """The generated project's probes.noop, without the project."""
