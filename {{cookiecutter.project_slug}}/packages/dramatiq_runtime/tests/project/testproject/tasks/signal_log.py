"""Receivers for Django's task signals that write each one to Redis, in whichever process
sends it: the test that enqueues reads what the worker's receivers saw.

Connected in every process of the test project (``TasksConfig.ready``), as a project's
own receivers would be.
"""

import json
import os

import dramatiq
from django.conf import settings
from dramatiq_runtime.task_api import task_enqueued, task_finished, task_started


def signal_log_key() -> str:
    return f"{settings.CONFIG.tasks.namespace}:test-signal-log"


def _record(signal_name: str):
    def receiver(sender, task_result, **kwargs):
        entry = {
            "signal": signal_name,
            "id": task_result.id,
            "status": task_result.status.value,
            "pid": os.getpid(),
            "sender": f"{sender.__module__}.{sender.__qualname__}",
        }
        dramatiq.get_broker().client.rpush(signal_log_key(), json.dumps(entry))

    receiver.__name__ = f"record_{signal_name}"
    return receiver


# Module-level references: a signal holds its receivers weakly.
RECEIVERS = {
    signal: _record(name)
    for name, signal in (
        ("task_enqueued", task_enqueued),
        ("task_started", task_started),
        ("task_finished", task_finished),
    )
}


def connect() -> None:
    for signal, receiver in RECEIVERS.items():
        signal.connect(receiver, dispatch_uid=receiver.__name__)
