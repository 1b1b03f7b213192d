"""Your fixtures. The runtime's plugin writes queued task rows before the test database
is dropped (``dramatiq_runtime.pytest_plugin``)."""

pytest_plugins = ["dramatiq_runtime.pytest_plugin"]
