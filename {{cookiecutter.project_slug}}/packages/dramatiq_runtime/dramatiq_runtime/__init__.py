"""The runtime a Django project's Dramatiq tasks run on: typed config, middleware,
tracking, Django's task backend, admin pages, commands, healthcheck and scheduler.

Installed as a Django app (``"dramatiq_runtime"``); it reads the project's settings
(``CONFIG``, a loaded ``dramatiq_runtime.config.DjangoConfig``) and names no project.
Importing this package imports neither Django nor Dramatiq. Its version is its
distribution's: ``importlib.metadata.version("dramatiq-runtime")``.
"""
