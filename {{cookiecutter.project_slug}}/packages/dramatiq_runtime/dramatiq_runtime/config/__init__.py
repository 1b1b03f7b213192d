"""Typed configuration: pydantic models only, never Django.

Importing this package imports neither Django nor Dramatiq, so a template's hook can
validate answers with pydantic alone. A project's ``settings.py`` turns a loaded config
into Django settings.
"""

from .base import DEVELOPMENT_SECRET_KEY, DjangoConfig, deep_merge
from .cache import CacheConfig
from .errors import ConfigError
from .loading import Environments, env_names
from .production import ProductionConfig
from .tasks import TaskConfig
from .workers import DramatiqConfig

__all__ = [
    "DEVELOPMENT_SECRET_KEY",
    "CacheConfig",
    "ConfigError",
    "DjangoConfig",
    "DramatiqConfig",
    "Environments",
    "ProductionConfig",
    "TaskConfig",
    "deep_merge",
    "env_names",
]
