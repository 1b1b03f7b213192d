"""Give prefetched messages back when a worker stops, instead of leaving them leased."""

import logging

from dramatiq import Message
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)


class RequeuePrefetched(Middleware):
    """Requeue the Redis consumer's prefetch cache as the consumer stops.

    Dramatiq's Redis consumer fetches messages ahead into a local cache; each is already
    in the worker's ack set in Redis. A graceful stop requeues what sits in the work queue
    but not that cache: those messages then wait for the heartbeat timeout (60 s in
    production) until a maintenance pass brings them back.

    Parameters:
      None: it acts on whatever the stopping consumer holds.
    """

    def before_consumer_thread_shutdown(self, broker, thread) -> None:
        consumer = getattr(thread, "consumer", None)
        cache = getattr(consumer, "message_cache", None)
        if consumer is None or not cache:
            return
        consumer.message_cache = []
        messages = [Message.decode(data) for data in cache if data is not None]
        if messages:
            consumer.requeue(messages)
            logger.info(
                "Gave back %d prefetched message(s) from queue %r.",
                len(messages),
                getattr(consumer, "queue_name", "?"),
            )
