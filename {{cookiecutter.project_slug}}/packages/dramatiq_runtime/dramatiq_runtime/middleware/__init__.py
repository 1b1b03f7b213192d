"""The runtime's Dramatiq middleware, and the one place that builds the broker's stack.

The config models describe the stack as plain data (``config.middleware.Component``: an
import path and keyword arguments); ``build_stack`` makes the instances django_dramatiq's
broker is built with (``broker_app``), when Django populates its apps. No Django here.
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


def build_stack(components: Iterable[Component | Any]) -> list[Middleware]:
    """Each component built; an instance or an import path (django_dramatiq builds a
    path itself) as it is."""
    return [
        build(component) if isinstance(component, Component) else component
        for component in components
    ]
