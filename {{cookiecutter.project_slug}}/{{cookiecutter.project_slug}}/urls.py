"""URL routes. /healthz/ is answered by dramatiq_runtime.health.HealthCheckMiddleware."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # The admin's Queues page (when task tracking is on), then the admin itself.
    path("admin/queues/", include("dramatiq_runtime.urls")),
    path("admin/", admin.site.urls),
]
