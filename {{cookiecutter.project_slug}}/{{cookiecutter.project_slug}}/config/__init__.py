"""Typed configuration: pydantic models only, never Django.

Importing this package imports neither Django nor Dramatiq, so the template's post-gen hook
can validate answers with pydantic alone. ``settings.py`` is the one place that turns a loaded
config into Django settings.
"""

from .base import DjangoConfig
from .cache import CacheConfig
from .environments import ENVIRONMENTS, DevConfig, ProdConfig, TestConfig
from .errors import ConfigError
from .loading import env_names, load_config
from .tasks import TaskConfig
from .workers import DramatiqConfig

__all__ = [
    "ENVIRONMENTS",
    "CacheConfig",
    "ConfigError",
    "DevConfig",
    "DjangoConfig",
    "DramatiqConfig",
    "ProdConfig",
    "TaskConfig",
    "TestConfig",
    "env_names",
    "load_config",
]
