"""The admin's Queues page: counts per queue, the workers alive, dead-letter actions.

Who may do what is Django's permissions, as for any admin page: the page needs
``django_dramatiq.view_task`` (the task rows' own view permission), requeueing or purging
dead letters needs ``dramatiq_runtime.manage_dead_letters``; superusers have both. Dead letters
are often the only copy of work that failed, so each action is written to the admin log
(who, which queue, how many, which ids) and logged at WARNING.
"""

import logging
from typing import cast

import redis
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from .models import MANAGE_DEAD_LETTERS, DeadLetter
from .queues import REQUEUE_LIMIT, BrokerView

VIEW_QUEUES = "django_dramatiq.view_task"
VERBS = {"requeue": "Requeue", "purge": "Purge"}
DONE = {"requeue": "Requeued", "purge": "Purged"}
LISTED = 100  # message ids written to the admin log per action
SHOWN = 20  # dead letters shown on the confirmation page

logger = logging.getLogger(__name__)


def require(request: HttpRequest, permission: str) -> None:
    """403 unless the user has ``permission`` (admin_view has already asked for staff)."""
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"{permission} is needed")


@require_http_methods(["GET", "HEAD"])
def queues_page(request: HttpRequest) -> HttpResponse:
    require(request, VIEW_QUEUES)
    view = BrokerView()
    context = {**admin.site.each_context(request), "title": "Queues"}
    try:
        clients = view.clients()
        workers = view.workers(clients)
        queues = view.queues(settings.CONFIG.tasks.dramatiq.queues, workers)
    except redis.RedisError as exc:  # failing over, or down: say so, come back later
        logger.warning("Queues page: the broker is unavailable: %r", exc)
        context["unavailable"] = type(exc).__name__
        return render(request, "admin/tasks/queues.html", context, status=503)
    context |= {
        "queues": queues,
        "workers": workers,
        "senders": len(clients) - len(workers),
        "heartbeat_timeout": view.heartbeat_timeout / 1000,
        "can_manage": request.user.has_perm(MANAGE_DEAD_LETTERS),
    }
    return render(request, "admin/tasks/queues.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def dead_letter_action(request: HttpRequest, queue: str, action: str) -> HttpResponse:
    """GET: what would happen, and a confirmation form; POST: do it and record it."""
    require(request, VIEW_QUEUES)
    require(request, MANAGE_DEAD_LETTERS)
    if queue not in settings.CONFIG.tasks.dramatiq.queues or action not in VERBS:
        raise Http404(f"no {action!r} action for a queue {queue!r}")
    view = BrokerView()
    if request.method == "POST":
        ids: list[str] = []
        purged, finished = 0, False
        try:
            if action == "purge":
                purged, ids = view.purge_dead(queue, listed=LISTED)
            else:
                view.requeue_dead(queue, moved=ids)
            finished = True
        finally:  # a requeue that fails half-way is recorded with what it moved
            count = purged if action == "purge" else len(ids)
            if finished or count:
                record(request, queue, action, count, ids)
        messages.success(request, f"{DONE[action]} {count} dead letter(s) of {queue}.")
        return redirect("queues:index")
    dead = view.dead_count(queue)
    context = {
        **admin.site.each_context(request),
        "title": f"{VERBS[action]} dead letters of {queue}",
        "queue": queue,
        "action": action,
        "verb": VERBS[action],
        "dead": dead,
        "acted_on": dead if action == "purge" else min(dead, REQUEUE_LIMIT),
        "letters": [
            {"id": m.message_id, "call": call(m.actor_name, m.args, m.kwargs)}
            for m in view.dead_letters(queue, limit=SHOWN)
        ],
    }
    return render(request, "admin/tasks/queues_confirm.html", context)


def call(actor: str, args: tuple, kwargs: dict, width: int = 200) -> str:
    """``actor(args, key=value)`` as plain text (the template escapes it), cut to ``width``."""
    parts = [repr(arg) for arg in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    text = f"{actor}({', '.join(parts)})"
    return text if len(text) <= width else text[: width - 1] + "…"


def record(
    request: HttpRequest, queue: str, action: str, count: int, ids: list[str]
) -> None:
    """One admin-log entry and one WARNING line for a requeue or purge."""
    listed = ", ".join(ids[:LISTED])
    more = f" and {count - len(ids[:LISTED])} more" if count > len(ids[:LISTED]) else ""
    text = f"{DONE[action]} {count} dead letter(s) of queue {queue}"
    text += f": {listed}{more}" if ids else ""
    LogEntry.objects.create(
        user_id=cast(int, request.user.pk),  # admin_view let only staff in
        content_type=ContentType.objects.get_for_model(DeadLetter),
        object_id=queue,
        object_repr=f"dead letters of {queue}"[:200],
        action_flag=CHANGE if action == "requeue" else DELETION,
        change_message=text,
    )
    logger.warning("%s, by %s (user id %s)", text, request.user, request.user.pk)


# admin_view sends anyone who is not active staff to the admin's login page and adds
# the admin's CSRF protection; the views then ask for their permissions.
urlpatterns = [
    path("", admin.site.admin_view(queues_page), name="index"),
    path(
        "<str:queue>/<str:action>/",
        admin.site.admin_view(dead_letter_action),
        name="action",
    ),
]
