"""Testing your own actors the Django way: a view enqueues, an in-process worker runs it.

``TransactionTestCase`` (the worker's threads use their own database connections, so the
rows must be committed), Django's test client, and a ``dramatiq.Worker`` on the project's
own broker; ``broker.join`` waits until the queue is empty. Copy this for your actors.
"""

import uuid

import dramatiq
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.test import TransactionTestCase, override_settings
from django.urls import path
from django_dramatiq.models import Task
from dramatiq_runtime.middleware.tracking import flush_tracking
from dramatiq_runtime.testing import wait_until

from {{ cookiecutter.project_slug }}.tasks.actors import default_example


def enqueue(request: HttpRequest) -> JsonResponse:
    message = default_example.send({"token": request.POST["token"]})
    return JsonResponse({"message_id": message.message_id}, status=202)


urlpatterns = [path("enqueue/", enqueue)]


@override_settings(ROOT_URLCONF=__name__)
class EnqueueFromAViewTest(TransactionTestCase):
    def setUp(self):
        self.broker = dramatiq.get_broker()
        self.broker.flush("default")
        self.worker = dramatiq.Worker(self.broker, worker_threads=2, worker_timeout=100)
        self.worker.start()

    def tearDown(self):
        self.worker.stop()

    def test_a_view_enqueues_and_the_worker_runs_it(self):
        token = uuid.uuid4().hex
        response = self.client.post("/enqueue/", {"token": token})
        self.assertEqual(response.status_code, 202)  # no HTTPS redirect in tests

        self.broker.join("default", timeout=30_000)
        self.worker.join()

        run = cache.get("tasks:last_run:default")
        self.assertEqual(run["payload"], {"token": token})
        self.assertEqual(run["queue"], "default")
        if settings.CONFIG.tasks.dramatiq.admin_enabled:  # the task's row says done
            message_id = response.json()["message_id"]

            def status() -> str | None:
                # Rows are written in batches: write them now.
                flush_tracking(self.broker)
                task = Task.tasks.filter(id=message_id).first()
                return task.status if task else None

            # worker.join() can return while the worker thread is still between the
            # actor's return and its middleware (Dramatiq says its join "could still miss
            # stuff"): CI once read the row as 'enqueued' there.
            wait_until(
                lambda: status() == Task.STATUS_DONE, 10, "the row says done", status
            )
