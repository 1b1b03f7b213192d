"""The runtime's Dramatiq middleware, and the one place that builds the broker's stack.

The config models describe the stack as plain data (``config.middleware.Component``: an
import path and keyword arguments); ``build_stack`` makes the instances that settings.py
hands to django_dramatiq as ``DRAMATIQ_BROKER["MIDDLEWARE"]``. No Django here: settings
load this while Django itself is being set up.
"""

from collections.abc import Iterable
from importlib import import_module
from typing import Any

from dramatiq.middleware import Middleware

from ..config.middleware import Component


def build(component: Component) -> Any:
    """An instance of ``component``; options that are components are built first."""
    module, name = component.path.rsplit(".", 1)
    options = {
        key: build(value) if isinstance(value, Component) else value
        for key, value in component.options.items()
    }
    return getattr(import_module(module), name)(**options)


def build_stack(components: Iterable[Component]) -> list[Middleware]:
    return [build(component) for component in components]
