from django.contrib import admin
from django.urls import include, path

from .tasks.views import send_traced

urlpatterns = [
    path("admin/queues/", include("dramatiq_runtime.urls")),
    path("admin/", admin.site.urls),
    path("traced/", send_traced),
]
