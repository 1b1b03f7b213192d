"""The task admin, with everything a task carried shown as text.

django_dramatiq's own ``TaskAdmin`` wraps the message's JSON and the traceback in
``mark_safe("<pre>%s</pre>" % ...)``; ``json.dumps`` leaves ``<`` alone, so a task argument
like ``<script>...`` (from a form field, an e-mail address, a webhook) ran as script in a
staff member's admin session. This one has the same columns, filters, search and read-only
fields, and builds its HTML with ``format_html``, which escapes every value it is given.
It replaces theirs when ``admin_enabled`` is on; with it off, the task admin is not shown.
"""

import json
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html
from django_dramatiq.models import Task


def preformatted(text: str):
    """``text`` as an escaped, preformatted block."""
    return format_html('<pre class="task-data">{}</pre>', text)


class TaskAdmin(admin.ModelAdmin):
    exclude = ("message_data",)
    readonly_fields = (
        "message_details",
        "traceback",
        "status",
        "queue_name",
        "actor_name",
    )
    list_display = (
        "__str__",
        "status",
        "eta",
        "created_at",
        "updated_at",
        "queue_name",
        "actor_name",
    )
    list_filter = ("status", "created_at", "queue_name", "actor_name")
    search_fields = ("actor_name",)

    @admin.display(description="ETA")
    def eta(self, task: Task) -> datetime:
        message = task.message
        millis = message.options.get("eta", message.message_timestamp)
        tz = UTC if settings.USE_TZ else None
        return datetime.fromtimestamp(millis / 1000, tz=tz)

    @admin.display(description="message details")
    def message_details(self, task: Task):
        # default=repr: with a non-JSON encoder (pickle) arguments may be any object.
        return preformatted(json.dumps(task.message._asdict(), indent=4, default=repr))

    @admin.display(description="traceback")
    def traceback(self, task: Task):
        text = task.message.options.get("traceback")
        return preformatted(text) if text else None

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


if admin.site.is_registered(Task):
    admin.site.unregister(Task)  # django_dramatiq's, registered when its app loaded
if settings.CONFIG.tasks.dramatiq.admin_enabled:
    admin.site.register(Task, TaskAdmin)
    if settings.CONFIG.tasks.enabled:  # the admin's home links the Queues page
        admin.site.index_template = "admin/tasks/index.html"
