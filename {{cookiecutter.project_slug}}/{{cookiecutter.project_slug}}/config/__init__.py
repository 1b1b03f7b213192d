"""This project's configuration: its environments, and how to load one.

Importing this package imports neither Django nor Dramatiq. ``settings.py`` turns the
loaded config into Django settings; the models come from ``dramatiq_runtime.config``.
"""

from pathlib import Path

from dramatiq_runtime.config import ConfigError, Environments

from .environments import DevConfig, ProdConfig, TestConfig

ENVIRONMENTS = Environments(
    DevConfig,
    ProdConfig,
    TestConfig,
    # The .env file beside manage.py: docker compose reads it too.
    env_file=Path(__file__).resolve().parents[2] / ".env",
)
load_config = ENVIRONMENTS.load

__all__ = [
    "ENVIRONMENTS",
    "ConfigError",
    "DevConfig",
    "ProdConfig",
    "TestConfig",
    "load_config",
]
