"""The test project's settings: everything from the loaded config, as a project's are."""

from pathlib import Path

from dramatiq_runtime.settings_bridge import (
    cache_settings,
    database_settings,
    load,
    logging_settings,
    observability,
    runtime_apps,
    task_settings,
)

from .config import ENVIRONMENTS

BASE_DIR = Path(__file__).resolve().parent.parent

CONFIG = load(ENVIRONMENTS)
observability(CONFIG)  # Sentry and OpenTelemetry when on: before the broker is built
CONFIG_ENVIRONMENTS = ENVIRONMENTS

DEBUG = CONFIG.debug
SECRET_KEY = CONFIG.secret_key.get_secret_value()
ALLOWED_HOSTS = CONFIG.allowed_hosts

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    *runtime_apps(),
    "testproject.tasks",
]

MIDDLEWARE = [
    "dramatiq_runtime.health.HealthCheckMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "testproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_settings(CONFIG.database_url, BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = cache_settings(CONFIG)
globals().update(task_settings(CONFIG))

USE_TZ = True
STATIC_URL = "static/"

LOGGING = logging_settings()
