"""pytest fixtures for a project's tests: ``pytest_plugins = ["dramatiq_runtime.pytest_plugin"]``.

Task tracking writes rows from a thread of the sending process, on a database connection
of its own. Left open, that connection keeps pytest-django from dropping the test
database at the end ("being accessed by other users"), and rows still queued are lost.
"""

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker) -> Iterator[None]:
    """pytest-django's, and before the test database goes: queued rows written, the
    tracking connection closed. Only for runs that use the database at all."""
    yield
    from .middleware.tracking import flush_tracking

    with django_db_blocker.unblock():
        flush_tracking(close=True)
