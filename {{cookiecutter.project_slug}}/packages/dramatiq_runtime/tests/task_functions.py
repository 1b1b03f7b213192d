"""``@task`` functions the Django task API tests enqueue (module level, as the API asks)."""

from dramatiq_runtime.task_api import TaskContext, task


class Refused(Exception):
    """Raised on purpose by ``refuse``."""


@task()
def add(a: int, b: int) -> int:
    return a + b


@task()
def refuse(reason: str) -> None:
    raise Refused(reason)


@task(takes_context=True)
def attempt_and_id(context: TaskContext) -> list:
    return [context.attempt, context.task_result.id]


@task()
async def add_async(a: int, b: int) -> int:
    return a + b


@task()
def add_later(a: int, b: int) -> str:
    """Enqueue ``add`` from inside a task; the new result's id."""
    return add.enqueue(a, b).id


@task()
def noop() -> None:
    """Nothing: what the @task path costs beside an actor's."""
