"""The admin's Queues page, included by a project under ``admin/queues/``.

Routes exist only while task tracking is on and tasks are enabled (the page reads the
broker's Redis); otherwise the include is empty.
"""

from django.conf import settings
from django.urls import URLPattern

app_name = "queues"
urlpatterns: list[URLPattern] = []
_tasks = settings.CONFIG.tasks
if _tasks.dramatiq.admin_enabled and _tasks.enabled:
    from . import admin_queues

    urlpatterns = admin_queues.urlpatterns
