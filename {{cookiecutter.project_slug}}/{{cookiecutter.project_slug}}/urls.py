"""URL routes. /healthz/ is answered by health.HealthCheckMiddleware."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
]
tasks = settings.CONFIG.tasks
if tasks.dramatiq.admin_enabled and tasks.enabled:  # the page reads the broker's Redis
    from .tasks import admin_queues

    queues = (admin_queues.urlpatterns, "queues")
    urlpatterns.insert(0, path("admin/queues/", include(queues)))
