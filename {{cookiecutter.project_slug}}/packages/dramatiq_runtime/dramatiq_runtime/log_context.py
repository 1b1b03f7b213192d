"""What a log line says about the task it was logged in: its message id and trace id."""

import logging

from dramatiq.middleware import CurrentMessage

from . import tracing


class TaskContext(logging.Filter):
    """Sets ``record.task``: `` [message <id> trace <id>]`` inside a task, else empty.

    Dramatiq's own lines about a message (a failure, a retry) are logged while the
    message is current, so they carry it too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        parts = []
        message = CurrentMessage.get_current_message()
        if message is not None:
            parts.append(f"message {message.message_id}")
        if (trace_id := tracing.current_trace_id()) is not None:
            parts.append(f"trace {trace_id}")
        record.task = f" [{' '.join(parts)}]" if parts else ""
        return True
