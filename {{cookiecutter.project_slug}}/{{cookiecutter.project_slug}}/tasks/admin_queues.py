"""The admin's Queues page: counts per queue, the workers alive, dead-letter actions."""

from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from .queues import BrokerView

VERBS = {"requeue": "Requeue", "purge": "Purge"}
DONE = {"requeue": "Requeued", "purge": "Purged"}


def queues_page(request: HttpRequest) -> HttpResponse:
    view = BrokerView()
    clients = view.clients()
    workers = view.workers(clients)
    context = {
        **admin.site.each_context(request),
        "title": "Queues",
        "queues": view.queues(settings.CONFIG.tasks.dramatiq.queues, workers),
        "workers": workers,
        "senders": len(clients) - len(workers),
        "heartbeat_timeout": view.heartbeat_timeout / 1000,
    }
    return render(request, "admin/tasks/queues.html", context)


def dead_letter_action(request: HttpRequest, queue: str, action: str) -> HttpResponse:
    """GET: what would happen, and a confirmation form; POST: do it."""
    if queue not in settings.CONFIG.tasks.dramatiq.queues or action not in VERBS:
        raise Http404(f"no {action!r} action for a queue {queue!r}")
    view = BrokerView()
    if request.method == "POST":
        if action == "requeue":
            count = view.requeue_dead(queue)
        else:
            count = view.purge_dead(queue)
        messages.success(request, f"{DONE[action]} {count} dead letter(s) of {queue}.")
        return redirect("queues:index")
    context = {
        **admin.site.each_context(request),
        "title": f"{VERBS[action]} dead letters of {queue}",
        "queue": queue,
        "action": action,
        "verb": VERBS[action],
        "dead": view.dead_count(queue),
        "letters": view.dead_letters(queue, limit=20),
    }
    return render(request, "admin/tasks/queues_confirm.html", context)


# Staff only: admin_view sends anyone else to the admin's login page.
urlpatterns = [
    path("", admin.site.admin_view(queues_page), name="index"),
    path(
        "<str:queue>/<str:action>/",
        admin.site.admin_view(dead_letter_action),
        name="action",
    ),
]
