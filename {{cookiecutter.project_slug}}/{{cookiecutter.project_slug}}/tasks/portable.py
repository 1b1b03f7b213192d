"""Django's own task API (``@task``, DEP 14) on the same workers: an example to copy.

``count_words.enqueue("a b c")`` returns a ``TaskResult`` at once; a worker runs the
function; ``count_words.get_result(result.id)`` (or ``result.refresh()``) reads its status,
times, return value or error. Import ``task`` from ``dramatiq_runtime.task_api``: it is Django's on 6.0+
and the django-tasks backport's on 5.2.
"""

from dramatiq_runtime.task_api import task


@task(queue_name="default")
def count_words(text: str) -> int:
    """Ordinary work with Django's portable API: any backend could run it."""
    return len(text.split())
