"""Django settings: the one bridge from the typed config (``config``) to Django.

Nothing here is a value of its own: every setting comes from ``load_config()``, which reads
``DJANGO_ENV``, the environment, ``.env`` and ``CONFIG_FILE`` and has validated them all.
The ``dramatiq_runtime`` app reads ``CONFIG``.
"""

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

CONFIG = load(ENVIRONMENTS)  # a bad value stops here, naming it
observability(CONFIG)  # Sentry and OpenTelemetry when on: before the broker is built
# Every environment class, for `manage.py taskconfig --readme`'s table.
CONFIG_ENVIRONMENTS = ENVIRONMENTS

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
    # django_dramatiq, Django's task framework (django.tasks on 6.0+, the backport on
    # 5.2) and dramatiq_runtime itself.
    *runtime_apps(),
    "{{ cookiecutter.project_slug }}.tasks",
]

MIDDLEWARE = [
    "dramatiq_runtime.health.HealthCheckMiddleware",
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

DATABASES = {"default": database_settings(CONFIG.database_url, BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = cache_settings(CONFIG)
# DRAMATIQ_BROKER (its middleware as data, built as the apps load), DRAMATIQ_RESULT_BACKEND,
# TASKS (Django's @task API on the same workers), DRAMATIQ_CRONTAB when the scheduler is on.
globals().update(task_settings(CONFIG))

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

# The console, INFO and up; the task framework's and APScheduler's chatter at WARNING.
LOGGING = logging_settings()

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
