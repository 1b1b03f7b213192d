"""The task admin shows what a task carried, escaped: task data never becomes markup.

Whoever can put text of theirs into a task (a form field, an e-mail address, a webhook
payload) controls its arguments and often its exception message, and the admin pages that
show them run in a staff member's session. Each hostile text below goes through a real
worker in the arguments, the keyword arguments and an exception (so the traceback).
"""

import pytest
from django.conf import settings
from django.contrib.admin import AdminSite
from django.utils.html import escape
from django_dramatiq.models import Task
from dramatiq_runtime.admin import TaskAdmin
from dramatiq_runtime.probes import echo
from dramatiq_runtime.testing import wait_until

CONFIG = settings.CONFIG
TASKS_URL = "/admin/django_dramatiq/task/"

# The bad-input catalogue's HTML side: (name, text a user sends, the markup it must not
# become). The markup is what a browser would run; its escaped form must be on the page.
HOSTILE = [
    ("script", "<script>alert('x')</script>", "<script>alert('x')</script>"),
    ("img", '"><img src=x onerror=alert(1)>', "<img src=x onerror=alert(1)>"),
    ("svg", "</pre><svg onload=alert(1)>", "<svg onload=alert(1)>"),
    ("entity", "&lt;b&gt;not bold&lt;/b&gt;", "<b>not bold</b>"),
]
PLACES = ["args", "kwargs", "traceback"]


def send_hostile(place: str, text: str):
    if place == "args":
        return echo.send(text, {"nested": [text]})
    if place == "kwargs":
        return echo.send(note=text, tags={"label": text})
    return echo.send(raise_text=text)


def assert_shown_escaped(html: str, text: str, markup: str) -> None:
    assert markup not in html, f"raw markup reached the page: {markup}"
    # The text is still there for a person to read, exactly as it was sent.
    assert escape(text) in html, html[-3000:]


def test_task_admin_renders_task_data_as_text():
    """Unit check of our admin's two HTML fields, whatever admin_enabled says."""
    admin = TaskAdmin(Task, AdminSite())
    for _name, text, markup in HOSTILE:
        message = echo.message(text, note=text)
        message.options["traceback"] = f"Traceback ...\nProbeFailure: {text}\n"
        task = Task(id=message.message_id, message_data=message.encode())
        for html in (admin.message_details(task), admin.traceback(task)):
            assert html.startswith("<pre") and html.endswith("</pre>")
            assert_shown_escaped(html, text, markup)


def wait_for_final_state(message_id: str, timeout: float = 30) -> Task:
    def final() -> Task | None:
        task = Task.tasks.filter(id=message_id).first()
        finished = task and task.status in (Task.STATUS_DONE, Task.STATUS_FAILED)
        return task if finished else None

    return wait_until(final, timeout, f"task {message_id} done or failed")


@pytest.mark.django_db
def test_task_admin_follows_admin_enabled(admin_client):
    response = admin_client.get(TASKS_URL)
    expected = 200 if CONFIG.tasks.dramatiq.admin_enabled else 404
    assert response.status_code == expected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize(
    ("text", "markup"),
    [case[1:] for case in HOSTILE],
    ids=[case[0] for case in HOSTILE],
)
def test_hostile_task_data_is_escaped_in_the_admin(
    worker, admin_client, place, text, markup
):
    message = send_hostile(place, text)
    task = wait_for_final_state(message.message_id)
    failed = place == "traceback"
    assert task.status == (Task.STATUS_FAILED if failed else Task.STATUS_DONE)

    page = admin_client.get(f"{TASKS_URL}{task.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert_shown_escaped(html, text, markup)
    # The traceback is shown when there is one.
    assert ("ProbeFailure" in html) == failed

    listing = admin_client.get(TASKS_URL, {"actor_name": "echo"})
    assert listing.status_code == 200
    html = listing.content.decode()
    assert str(task.id) in html
    # The list shows the call, its arguments included.
    assert_shown_escaped(html, text, markup)
