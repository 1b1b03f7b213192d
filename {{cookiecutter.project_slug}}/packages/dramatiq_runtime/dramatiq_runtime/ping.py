"""Proof that a worker consumes each queue: one ping message per queue, answered via the cache.

The cache (not the results backend) carries the answer, so this works with results off.
"""

import os
import socket
import time
import uuid

import dramatiq
from django.core.cache import cache

ANSWER_TTL = 300  # seconds an answer stays in the cache


def answer_key(token: str, queue: str) -> str:
    return f"tasks_ping:{token}:{queue}"


@dramatiq.actor(queue_name="default", max_retries=0, time_limit=10_000)
def ping(token: str, queue: str) -> None:
    """Answer a ping; the message is routed to ``queue`` whatever this actor's default."""
    answer = {"pid": os.getpid(), "host": socket.gethostname(), "at": time.time()}
    cache.set(answer_key(token, queue), answer, ANSWER_TTL)


def send_pings(queues: list[str]) -> tuple[str, float]:
    """Enqueue one ping on each queue; returns the token and the time they were sent."""
    token = uuid.uuid4().hex
    sent_at = time.time()
    for queue in queues:
        ping.broker.enqueue(ping.message(token, queue).copy(queue_name=queue))
    return token, sent_at


def wait_for_answers(token: str, queues: list[str], timeout: float) -> dict[str, dict]:
    """The answers that arrived within ``timeout`` seconds, by queue."""
    keys = {answer_key(token, queue): queue for queue in queues}
    answers: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while len(answers) < len(queues) and time.monotonic() < deadline:
        found = cache.get_many(
            [key for key, queue in keys.items() if queue not in answers]
        )
        answers.update({keys[key]: value for key, value in found.items()})
        if len(answers) < len(queues):
            time.sleep(0.05)
    cache.delete_many(list(keys))
    return answers
