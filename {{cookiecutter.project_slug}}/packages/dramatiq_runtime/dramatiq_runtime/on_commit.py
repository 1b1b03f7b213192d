"""Actors that send once the database transaction commits: ``send_on_commit``.

A message sent inside ``transaction.atomic()`` can reach a worker before the transaction
commits: the worker then misses the row the task is about (or reads its old version), and
after a rollback the task runs for something that never happened. Celery has
``delay_on_commit``; Dramatiq has nothing of the kind, so the ``actor`` decorator here makes
actors with ``send_on_commit`` and ``send_with_options_on_commit``, through Django's
``transaction.on_commit``: outside a transaction they send at once, after a rollback never.
They return nothing: the message does not exist until the commit.
"""

from collections.abc import Callable
from functools import partial
from typing import Any, ParamSpec, TypeVar, overload

import dramatiq
from django.db import transaction

P = ParamSpec("P")
R = TypeVar("R")


class Actor(dramatiq.Actor[P, R]):
    """Dramatiq's actor, with sends deferred to the commit of the current transaction."""

    def send_on_commit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """``send(*args, **kwargs)`` when the default database's transaction commits."""
        transaction.on_commit(partial(self.send, *args, **kwargs))

    def send_with_options_on_commit(
        self,
        *,
        args: tuple = (),
        kwargs: dict[str, Any] | None = None,
        delay: int | None = None,
        using: str | None = None,
        **options: Any,
    ) -> None:
        """``send_with_options(...)`` when ``using``'s transaction commits."""
        send = partial(
            self.send_with_options, args=args, kwargs=kwargs, delay=delay, **options
        )
        transaction.on_commit(send, using=using)


@overload
def actor(fn: Callable[P, R]) -> Actor[P, R]: ...


@overload
def actor(
    *,
    queue_name: str = "default",
    actor_name: str | None = None,
    priority: int = 0,
    **options: Any,
) -> Callable[[Callable[P, R]], Actor[P, R]]: ...


def actor(fn: Any = None, **options: Any) -> Any:
    """``dramatiq.actor``, making actors that also have ``send_on_commit``."""
    decorate = dramatiq.actor(actor_class=Actor, **options)
    return decorate if fn is None else decorate(fn)
