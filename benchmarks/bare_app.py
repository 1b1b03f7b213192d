"""Bare Dramatiq: the generated project's Dramatiq middleware, built from its config, no Django.

Run as ``dramatiq bare_app`` with BENCH_SLUG (the project package, importable), and the
same environment the project's worker gets; the broker, namespace and middleware values
come from the project's own config models, so both sides run the same stack.
"""

import importlib
import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

config = importlib.import_module(f"{os.environ['BENCH_SLUG']}.config").load_config()
tasks = config.tasks
# The instances the project gives django_dramatiq, minus what is Django's or ours.
stack = [
    middleware
    for middleware in tasks._middleware()
    if not isinstance(middleware, str) and type(middleware).__module__.startswith("dramatiq")
]
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
