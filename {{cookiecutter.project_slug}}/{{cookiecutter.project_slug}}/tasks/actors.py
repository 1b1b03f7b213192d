"""Example actors, one per configured queue. Replace them with your own.

Which queue for which work:
- a short, user-facing task that must not wait behind bulk work (a password-reset mail, a
  payment webhook): the first, highest-priority queue, served by its own workers in
  production (compose.prod.yaml) so nothing slow can delay it;
- everything else: ``default``, where an actor goes unless given a ``queue_name``;
- slow, bulk or batch work (reports, exports, clean-ups): the last queue; it may wait.

Dramatiq itself has no queue priorities: a worker consumes its queues in turn. Priority
comes from giving a queue workers of its own (``manage.py worker -Q critical``).
Each stores its result; with results off (``use_results``) nothing is kept and reading
one raises ``ResultsOff`` (``dramatiq_runtime.results_off``).

Inside a database transaction, send with ``send_on_commit`` (``actor`` from
``dramatiq_runtime.on_commit``): a plain ``send`` can reach a worker before the rows it is
about are committed.
"""

import os

from django.core.cache import cache
from dramatiq_runtime.on_commit import actor

LAST_RUN_TTL = 3600  # seconds the cache keeps each example's last run


def record_run(queue: str, payload: dict) -> dict:
    """What every example does: note the run in the cache and answer with it."""
    run = {"queue": queue, "payload": payload, "pid": os.getpid()}
    cache.set(f"tasks:last_run:{queue}", run, LAST_RUN_TTL)
    return run
{% for name in cookiecutter.task_queues | items %}

@actor(queue_name="{{ name }}", store_results=True)
def {{ name | example_actor }}(payload: dict) -> dict:
{%- if name == "critical" %}
    """Time-sensitive, user-facing work on 'critical', e.g. sending a notification."""
{%- elif name == "default" %}
    """Ordinary work on 'default', the queue actors use unless told otherwise."""
{%- elif name == "background" %}
    """Slow or bulk work on 'background', e.g. building a report; it may wait."""
{%- else %}
    """Example work on the '{{ name }}' queue."""
{%- endif %}
    return record_run("{{ name }}", payload)
{% endfor -%}
