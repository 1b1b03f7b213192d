"""Tags on a task's Sentry events: the queue and actor that ran it.

Parameters: none. sentry-sdk's Dramatiq integration opens a scope per message (its
middleware is first) and names the message id; this adds what it leaves out, so an error
can be filtered by queue in Sentry.
"""

import sentry_sdk
from dramatiq.common import q_name
from dramatiq.middleware import Middleware


class SentryTags(Middleware):
    def before_process_message(self, broker, message) -> None:
        sentry_sdk.set_tag("dramatiq.queue", q_name(message.queue_name))
        sentry_sdk.set_tag("dramatiq.actor", message.actor_name)
        sentry_sdk.set_tag("dramatiq.message_id", message.message_id)
