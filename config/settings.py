"""Settings for the LINE OA console: everything comes from the environment.

Embedded defaults (DJANGO_DEBUG=1, nothing else set) give a self-contained app under ``var/``:
SQLite in WAL mode, a Celery broker on the file system, local media storage, and secrets generated
once into ``var/``. Setting ``DATABASE_URL`` and ``REDIS_URL`` (or ``CELERY_BROKER_URL``) switches to
PostgreSQL and Redis with no code change. With DEBUG off, secrets have no default: the process
refuses to start with a one-line reason. ``.env.example`` lists every variable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import environ
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (made from .env.example by `make run`/`make test`) fills what the real environment lacks.
environ.Env.read_env(BASE_DIR / ".env")

VAR_DIR = Path(env("VAR_DIR", default=str(BASE_DIR / "var")))
DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _refuse(reason: str) -> None:
    """Stop the process with one readable line instead of a traceback."""
    sys.stderr.write(f"error: {reason}\n")
    raise SystemExit(2)


def _dev_secret(filename: str, make) -> str:
    """A secret generated once under var/ for development; never used with DEBUG off."""
    path = VAR_DIR / filename
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def _secret(name: str, filename: str, make) -> str:
    value = env(name, default="")
    if value:
        return value
    if not DEBUG:
        _refuse(f"{name} must be set when DJANGO_DEBUG is off (see .env.example)")
    return _dev_secret(filename, make)


SECRET_KEY = _secret(
    "DJANGO_SECRET_KEY", "secret_key", lambda: Fernet.generate_key().decode() + Fernet.generate_key().decode()
)
# Fernet keys, comma separated: the first encrypts, all decrypt (so keys can be rotated).
FIELD_ENCRYPTION_KEYS = [
    k.strip()
    for k in _secret("FIELD_ENCRYPTION_KEY", "field_encryption.key", lambda: Fernet.generate_key().decode()).split(",")
    if k.strip()
]

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The public base URL used to build webhook URLs shown to admins (LINE needs an HTTPS one in production).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "accounts",
    "messaging",
    "messaging.campaigns",
    "richmenus",
    "linking",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.StaffContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.staff_context",
            ],
        },
    },
]

# Database: PostgreSQL from DATABASE_URL, else SQLite in WAL mode under var/ (readers never block the writer).
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Our queries are short OLTP ones; PostgreSQL's JIT misfires on them after a bad row estimate.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
        # A pool of connections per process (psycopg_pool), which requests borrow and give back: for the web
        # process on gevent (config/gunicorn.conf.py sets it), where a connection per greenlet would open
        # one for every request. Django requires CONN_MAX_AGE 0 with it.
        if pool_size := env.int("DB_POOL_MAX_SIZE", default=0):
            DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": pool_size, "timeout": 10}
            DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file, not :memory:, so a real Celery worker process in the tests sees the same rows.
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
# A separate process (a Celery worker started by the tests) can be pointed at another database name.
if env("DATABASE_NAME", default=""):
    DATABASES["default"]["NAME"] = env("DATABASE_NAME")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation: English is the source language; zh-Hant and ja ship with the app.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hant", "繁體中文"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # storage and logs; pages show the current channel's time zone

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it even before collectstatic
WHITENOISE_USE_FINDERS = DEBUG  # development serves straight from the apps' static folders
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Celery: Redis when configured, else a file-system broker under var/ that needs no server.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # Remote-control messages (pings, shutdowns) too, or they land in the working directory.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    # A task whose worker died is redelivered once its visibility timeout passes (tasks are idempotent).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "renew-channel-tokens": {"task": "accounts.tasks.renew_channel_tokens", "schedule": 60.0},
    # Messaging: re-queue webhook events a lost task or killed worker left behind; refresh old profiles.
    "messaging-sweep-webhook-events": {"task": "messaging.tasks.sweep_webhook_events", "schedule": 30.0},
    "messaging-refresh-profiles": {"task": "messaging.tasks.refresh_profiles", "schedule": 3600.0},
    # Campaigns: every job below is safe to run twice (rows are claimed with conditional UPDATEs).
    "campaigns-start-due": {"task": "messaging.campaigns.tasks.start_due_campaigns", "schedule": 10.0},
    "campaigns-sweep": {"task": "messaging.campaigns.tasks.sweep_deliveries", "schedule": 30.0},
    "campaigns-narrowcast-progress": {"task": "messaging.campaigns.tasks.poll_narrowcasts", "schedule": 60.0},
    "campaigns-statistics": {"task": "messaging.campaigns.tasks.pull_statistics", "schedule": 900.0},
}

# Campaign delivery (messaging/campaigns/conf.py explains each knob).
CAMPAIGN_LEASE_SECONDS = env.float("CAMPAIGN_LEASE_SECONDS", default=15.0)
CAMPAIGN_SENDERS = env.int("CAMPAIGN_SENDERS", default=6)
CAMPAIGN_PUSH_THREADS = env.int("CAMPAIGN_PUSH_THREADS", default=8)
CAMPAIGN_RATE_SAFETY = env.float("CAMPAIGN_RATE_SAFETY", default=0.97)
# Public HTTPS base LINE fetches uploaded campaign media from (defaults to PUBLIC_BASE_URL).
CAMPAIGN_MEDIA_BASE_URL = env("CAMPAIGN_MEDIA_BASE_URL", default="")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "config.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LINE OA Console API",
    "DESCRIPTION": "Channels, friends, conversations, campaigns and notifications for LINE Official Accounts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc come from the drf-spectacular-sidecar package: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# LINE endpoints: a channel may override these (the demo channel points at linesim).
LINE_API_BASE = env("LINE_API_BASE", default="https://api.line.me")
LINE_DATA_API_BASE = env("LINE_DATA_API_BASE", default="https://api-data.line.me")
LINE_HTTP_TIMEOUT = (env.float("LINE_CONNECT_TIMEOUT", default=3.05), env.float("LINE_READ_TIMEOUT", default=15.0))

# Production hardening (all on when DEBUG is off; `manage.py check --deploy` is clean with them).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "accounts.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
