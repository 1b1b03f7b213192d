"""Give prefetched messages back when a worker stops, instead of leaving them leased.

Dramatiq's Redis consumer fetches messages ahead into a local cache; each is already in the
worker's ack set in Redis. A graceful stop requeues what sits in the work queue, but not
that cache: those messages then wait for the heartbeat timeout (60 s in production) before
a maintenance pass brings them back. This middleware requeues them as the consumer stops.

No Django here: the config module builds this middleware while settings load.
"""

from dramatiq import Message
from dramatiq.middleware import Middleware


class RequeuePrefetched(Middleware):
    def before_consumer_thread_shutdown(self, broker, thread):
        consumer = getattr(thread, "consumer", None)
        cache = getattr(consumer, "message_cache", None)
        if not cache:
            return
        consumer.message_cache = []
        messages = [Message.decode(data) for data in cache if data is not None]
        if messages:
            consumer.requeue(messages)
