from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/queues/", include("dramatiq_runtime.urls")),
    path("admin/", admin.site.urls),
]
