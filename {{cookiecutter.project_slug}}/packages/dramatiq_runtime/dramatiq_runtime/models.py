"""Permissions of the Queues page, on a model with no table.

Django's admin grants what staff may do through permissions on models; requeueing and
purging dead letters acts on Redis, not on a table, so the permission hangs on a model that
exists only to carry it. Declared here (not made by a data migration) so Django re-creates it
after every ``migrate`` and test-database flush, as it does a model's own permissions.
"""

from django.db import models

MANAGE_DEAD_LETTERS = "dramatiq_runtime.manage_dead_letters"


class DeadLetter(models.Model):
    class Meta:
        managed = False  # no table: nothing reads or writes rows of it
        default_permissions = ()  # no add/change/delete/view: only the one below
        permissions = [("manage_dead_letters", "Can requeue and purge dead letters")]
        verbose_name = "dead letter"

    def __str__(self) -> str:
        return "dead letters"
