"""Django settings: the one bridge from the typed config (``config``) to Django.

Nothing here is a value of its own: every setting comes from ``load_config()``, which reads
``DJANGO_ENV``, the environment, ``.env`` and ``CONFIG_FILE`` and has validated them all.
"""

from pathlib import Path
from typing import Any

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured

from .config import ConfigError, load_config
from .tasks.middleware import build_stack

BASE_DIR = Path(__file__).resolve().parent.parent

try:
    CONFIG = load_config()
except ConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from None


def database_settings(url: str) -> dict[str, Any]:
    """Django's DATABASES entry for the URL (dj-database-url), with our SQLite options."""
    if not url.startswith("sqlite"):
        # Query parameters (?sslmode=require) become OPTIONS.
        return dict(
            dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        )
    database = dj_database_url.parse(url)
    path = Path(database["NAME"] or "db.sqlite3")
    path = path if path.is_absolute() else BASE_DIR / path
    return {
        **database,
        "NAME": path,
        # A file, not memory, so a worker started by the tests shares the test database.
        "TEST": {"NAME": path.with_name(f"test_{path.name}")},
        # Worker threads and processes write at once (AdminMiddleware on every
        # message): WAL, writers that wait, and transactions that take the write
        # lock up front instead of failing with "database is locked".
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DEBUG = CONFIG.debug
SECRET_KEY = CONFIG.secret_key.get_secret_value()
ALLOWED_HOSTS = CONFIG.allowed_hosts
ADMINS = [(CONFIG.author_name or CONFIG.author_email, CONFIG.author_email)]
DEFAULT_FROM_EMAIL = f"noreply@{CONFIG.domain_name}"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_dramatiq",
    # Django's task framework: built in from Django 6.0, the django-tasks backport on 5.2.
    "django.tasks" if django.VERSION >= (6, 0) else "django_tasks",
    "{{ cookiecutter.project_slug }}.tasks",
]

MIDDLEWARE = [
    "{{ cookiecutter.project_slug }}.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "{{ cookiecutter.project_slug }}.urls"
WSGI_APPLICATION = "{{ cookiecutter.project_slug }}.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {"default": database_settings(CONFIG.database_url)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CONFIG.cache_default.url,
        "KEY_PREFIX": CONFIG.cache_default.key_prefix,
        "TIMEOUT": CONFIG.cache_default.timeout,
    }
}

# Dramatiq, from the models as plain data; only the middleware are built here (by the
# runtime's build_stack), since django_dramatiq wants instances for those with arguments.
_dramatiq = CONFIG.tasks.to_django_config(CONFIG.cache_default)
DRAMATIQ_BROKER = {
    **_dramatiq["DRAMATIQ_BROKER"],
    "MIDDLEWARE": build_stack(_dramatiq["DRAMATIQ_BROKER"]["MIDDLEWARE"]),
}
DRAMATIQ_RATE_LIMITER_BACKEND = _dramatiq["DRAMATIQ_RATE_LIMITER_BACKEND"]
DRAMATIQ_TASKS_DATABASE = _dramatiq["DRAMATIQ_TASKS_DATABASE"]
# Django's @task API, run by the same workers (tasks/task_backend.py).
TASKS = _dramatiq["TASKS"]
# With use_results off, a backend that keeps nothing (tasks/results_off.py).
DRAMATIQ_RESULT_BACKEND = _dramatiq["DRAMATIQ_RESULT_BACKEND"]
# Workers import every installed app's ``tasks`` module, and our app's ``actors``.
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks", "actors"]
{%- if cookiecutter.use_scheduler %}
# dramatiq-crontab's lock renewal; `manage.py scheduler` reads the schedules from CONFIG.
DRAMATIQ_CRONTAB = CONFIG.tasks.crontab_settings()
{%- endif %}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# gunicorn serves no files: WhiteNoise serves the collected, hashed static files.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if CONFIG.environment == "production"
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    # Django's task framework logs two INFO lines per task (started, finished), as many as
    # a busy worker runs tasks; failures still come at ERROR, with the traceback.
    "loggers": {
        "django_tasks": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},
{%- if cookiecutter.use_scheduler %}
        # APScheduler logs every run of every job at INFO (the lock renewal every 2 s);
        # the scheduler command logs each send itself.
        "apscheduler": {"level": "WARNING"},
{%- endif %}
    },
}

if CONFIG.environment == "production":
    # Production's, not DEBUG's: the test environment runs with DEBUG off too, and its
    # client must not be redirected to HTTPS. TLS ends at the proxy in front of
    # gunicorn; it sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS if host != "*"]
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
