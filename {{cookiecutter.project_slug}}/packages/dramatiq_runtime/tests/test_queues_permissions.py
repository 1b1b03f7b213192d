"""Who may see the Queues page and act on dead letters: Django's permissions, audited.

Dead letters are often the only copy of work that failed, so purging them is destructive.
Each role below opens the page and tries a purge on a broker of its own (real Redis, a
namespace per test, no worker), and the dead letters left are counted.
"""

import logging
import time
import uuid

import pytest
from django.conf import settings
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from dramatiq.brokers.redis import RedisBroker
from dramatiq_runtime import admin_queues
from dramatiq_runtime.models import DeadLetter
from dramatiq_runtime.probes import echo
from dramatiq_runtime.queues import BrokerView

from .helpers import delete_keys

CONFIG = settings.CONFIG
PAGE = "/admin/queues/"
PURGE = "/admin/queues/default/purge/"
REQUEUE = "/admin/queues/default/requeue/"
HOSTILE = "<script>alert('x')</script>"
DEAD = 3

# role: (permissions, page status, purge status, dead letters left after the purge)
ROLES = {
    "anonymous": (None, 302, 302, DEAD),  # 302: the admin's login page
    "staff": ([], 403, 403, DEAD),
    "viewer": (["django_dramatiq.view_task"], 200, 403, DEAD),
    "manager": (
        ["django_dramatiq.view_task", "dramatiq_runtime.manage_dead_letters"],
        200,
        302,  # back to the page, with a message
        0,
    ),
    "superuser": ("superuser", 200, 302, 0),
    # The manage permission alone opens nothing: acting needs seeing.
    "manage only": (["dramatiq_runtime.manage_dead_letters"], 403, 403, DEAD),
}


@pytest.fixture
def broker(monkeypatch):
    """A broker on a namespace of its own holding DEAD dead letters in ``default``.

    The page reads this broker instead of the project's, so a session worker never
    takes these messages and the counts stay put.
    """
    namespace = f"{CONFIG.tasks.namespace}-perm-{uuid.uuid4().hex[:8]}"
    broker = RedisBroker(url=CONFIG.tasks.broker_url, namespace=namespace)
    broker.declare_queue("default")
    broker.enqueue(echo.message(HOSTILE, note=HOSTILE))
    for index in range(DEAD - 1):
        broker.enqueue(echo.message(index))
    consumer = broker.consume("default", prefetch=DEAD, timeout=1000)
    for _ in range(DEAD):
        message = next(consumer)
        assert message is not None
        consumer.nack(message)  # dead-lettered, as after the last retry
    consumer.close()
    monkeypatch.setattr(admin_queues, "BrokerView", lambda: BrokerView(broker))
    assert BrokerView(broker).dead_count("default") == DEAD
    yield broker
    delete_keys(broker.client, f"{namespace}:*")
    broker.close()


def login(django_user_model, role: str, **client_options) -> Client:
    client = Client(**client_options)
    permissions = ROLES[role][0]
    if permissions is None:
        return client
    name = f"{role.replace(' ', '-')}-{uuid.uuid4().hex[:6]}"
    if permissions == "superuser":
        user = django_user_model.objects.create_superuser(name, password="x")
    else:
        user = django_user_model.objects.create_user(name, is_staff=True)
        for permission in permissions:
            app_label, codename = permission.split(".")
            user.user_permissions.add(
                Permission.objects.get(
                    content_type__app_label=app_label, codename=codename
                )
            )
    client.force_login(user)
    return client


def dead_left(broker) -> int:
    return BrokerView(broker).dead_count("default")


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_sees_and_purges_what_its_permissions_allow(
    role, broker, django_user_model, caplog
):
    _, page_status, purge_status, left = ROLES[role]
    client = login(django_user_model, role)

    page = client.get(PAGE)
    assert page.status_code == page_status
    if role == "anonymous":
        assert page["Location"].startswith("/admin/login/?next=/admin/queues/")
    # A GET never changes anything, whoever asks.
    assert client.get(PURGE).status_code in (200, 302, 403)
    assert client.get(REQUEUE).status_code in (200, 302, 403)
    assert dead_left(broker) == DEAD

    with caplog.at_level(logging.WARNING, logger=admin_queues.__name__):
        assert client.post(PURGE).status_code == purge_status
    assert dead_left(broker) == left
    bodies = broker.client.exists(f"{broker.namespace}:default.XQ.msgs")
    assert bodies == (left > 0)  # a purge deletes the letters' bodies too
    entries = list(LogEntry.objects.filter(object_id="default"))
    if left == 0:
        (entry,) = entries
        assert entry.action_flag == DELETION
        assert entry.content_type == ContentType.objects.get_for_model(DeadLetter)
        username = str(entry.user)
        assert username.startswith(role)
        assert entry.change_message.startswith(f"Purged {DEAD} dead letter(s)")
        assert entry.get_change_message().count(", ") == DEAD - 1  # every id listed
        assert f"by {username}" in caplog.text
    else:
        assert entries == []
        assert "Purged" not in caplog.text


@pytest.mark.django_db
def test_admin_index_links_the_page_only_for_those_who_may_see_it(
    broker, django_user_model
):
    staff = login(django_user_model, "staff").get("/admin/").content.decode()
    viewer = login(django_user_model, "viewer").get("/admin/").content.decode()
    assert 'id="queues-link"' not in staff
    assert 'id="queues-link"' in viewer
    # The actions are offered only to those who may take them.
    viewer_page = login(django_user_model, "viewer").get(PAGE).content.decode()
    manager_page = login(django_user_model, "manager").get(PAGE).content.decode()
    assert PURGE not in viewer_page and REQUEUE not in viewer_page
    assert PURGE in manager_page and REQUEUE in manager_page


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_requeue(broker, django_user_model):
    for role in ("staff", "viewer"):
        client = login(django_user_model, role)
        assert client.get(REQUEUE).status_code == 403
        assert client.post(REQUEUE).status_code == 403
    assert dead_left(broker) == DEAD
    assert not LogEntry.objects.exists()


@pytest.mark.django_db
def test_a_requeue_is_recorded_with_its_ids(broker, django_user_model):
    client = login(django_user_model, "manager")
    ids = {m.message_id for m in BrokerView(broker).dead_letters("default")}
    assert client.post(REQUEUE).status_code == 302
    (state,) = BrokerView(broker).queues(["default"], workers=[])
    assert (state.ready, state.dead) == (DEAD, 0)
    (entry,) = LogEntry.objects.all()
    assert entry.action_flag == CHANGE
    assert entry.object_repr == "dead letters of default"
    assert entry.change_message.startswith(f"Requeued {DEAD} dead letter(s)")
    assert all(message_id in entry.change_message for message_id in ids)


@pytest.mark.django_db
def test_a_purge_of_more_letters_than_are_listed_says_how_many_more(
    broker, django_user_model, monkeypatch
):
    monkeypatch.setattr(admin_queues, "LISTED", 2)
    assert login(django_user_model, "manager").post(PURGE).status_code == 302
    (entry,) = LogEntry.objects.all()
    assert entry.change_message.startswith(f"Purged {DEAD} dead letter(s)")
    assert entry.change_message.endswith(f"and {DEAD - 2} more")
    assert entry.change_message.count(", ") == 1  # two ids listed


@pytest.mark.django_db
def test_an_unreadable_letter_is_shown_without_it_and_purged_by_its_redis_id(
    broker, django_user_model
):
    xq = f"{broker.namespace}:default.XQ"
    broker.client.zadd(xq, {"bad-id": time.time() * 1000})
    broker.client.hset(f"{xq}.msgs", "bad-id", b"\x80not json")
    manager = login(django_user_model, "manager")
    assert manager.get(PURGE).status_code == 200
    assert manager.post(PURGE).status_code == 302
    assert dead_left(broker) == 0
    (entry,) = LogEntry.objects.all()
    assert entry.change_message.startswith(f"Purged {DEAD + 1} dead letter(s)")
    assert "bad-id" in entry.change_message


@pytest.mark.django_db
def test_the_confirmation_page_shows_the_letters_escaped(broker, django_user_model):
    page = login(django_user_model, "manager").get(PURGE).content.decode()
    assert "echo(" in page and "Yes, purge them" in page
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert dead_left(broker) == DEAD


@pytest.mark.django_db
def test_a_purge_without_the_csrf_token_is_refused(broker, django_user_model):
    client = login(django_user_model, "superuser", enforce_csrf_checks=True)
    assert client.post(PURGE).status_code == 403
    assert dead_left(broker) == DEAD
    assert not LogEntry.objects.exists()
