"""Settings of the reference Django app.

The app reads only the ``DJANGO_APP_*`` environment contract that the platform renders (see
components/appEnv.ts and docs/architecture.md), all in the first block below, through one :class:`~config.env.EnvReader`.
``ENV_CONTRACT`` lists what was read; the platform's contract test compares it with the rendered
ConfigMap and Secret, so keep every read in that block.

With none of the variables set, ``python manage.py runserver`` works on its own: sqlite3,
LocMemCache, local static files, a development-only secret key, plain http. As soon as one is
set the app runs in platform mode: the secret key is required and, unless DEBUG is asked for,
HTTPS is enforced behind the load balancer.
"""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from resilience import database_options, redis_cache_options

from .env import EnvReader
from .media_storage import media_storage
from .static_storage import storages

BASE_DIR = Path(__file__).resolve().parent.parent

# --- The environment contract: every variable the app reads, read here and only here. ---------
env = EnvReader(os.environ)
DEBUG = env.flag("DJANGO_APP_DEBUG", default=False)
_secret_key = env.secret("DJANGO_APP_SECRET_KEY")
_allowed_hosts = env.words("DJANGO_APP_ALLOWED_HOSTS")
_csrf_trusted_origins = env.words("DJANGO_APP_CSRF_TRUSTED_ORIGINS")
_db_engine = env.choice(
    "DJANGO_APP_DB_ENGINE",
    "sqlite3",
    ("sqlite3", "postgresql"),
    hint="'postgresql_psycopg2' was removed in Django 3.0; use 'postgresql'.",
)
_db_name = env.text("DJANGO_APP_DB_NAME")
_db_user = env.text("DJANGO_APP_DB_USER")
_db_password = env.secret("DJANGO_APP_DB_PASSWORD")
_db_host = env.text("DJANGO_APP_DB_HOST")
_db_port = env.text("DJANGO_APP_DB_PORT")
_db_sslmode = env.choice(
    "DJANGO_APP_DB_SSLMODE", "prefer", ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
)
_db_conn_max_age = env.integer("DJANGO_APP_DB_CONN_MAX_AGE", default=0)
_cache_backend = env.text("DJANGO_APP_CACHE_BACKEND", "django.core.cache.backends.locmem.LocMemCache")
_cache_locations = env.words("DJANGO_APP_CACHE_LOCATION")
_cache_password = env.secret("DJANGO_APP_CACHE_PASSWORD")
_cache_ca_cert = env.text("DJANGO_APP_CACHE_CA_CERT")
_static_url = env.text("DJANGO_APP_STATIC_URL", "/static/")
_static_bucket = env.text("DJANGO_APP_STATIC_BUCKET")
_media_bucket = env.container("DJANGO_APP_MEDIA_BUCKET")
_media_signer = env.container("DJANGO_APP_MEDIA_SIGNER")
_log_level = env.choice("DJANGO_APP_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
_log_format = env.choice("DJANGO_APP_LOG_FORMAT", "text", ("text", "json"))
_gcp_project = env.text("DJANGO_APP_GCP_PROJECT")
_pod_ip = env.downward("POD_IP")
_admin_enabled = env.flag("DJANGO_APP_ADMIN_ENABLED", default=False)
_admin_path = env.text("DJANGO_APP_ADMIN_PATH")
_anonymous_uploads = env.flag("DJANGO_APP_DEMO_ANONYMOUS_UPLOADS", default=False)
_anonymous_tasks = env.flag("DJANGO_APP_DEMO_ANONYMOUS_TASKS", default=False)

#: What this app reads, by kind — compared with the rendered manifests by the contract test.
ENV_CONTRACT = env.contract()
#: True when no DJANGO_APP_* variable is set: plain local development.
LOCAL_DEVELOPMENT = not env.any_set("DJANGO_APP_")
del env

# --- Core -----------------------------------------------------------------------------------
if _secret_key:
    SECRET_KEY = _secret_key
elif LOCAL_DEVELOPMENT or DEBUG:
    SECRET_KEY = "django-insecure-local-development-only-never-use-this-key-in-production"
else:
    raise ImproperlyConfigured(
        "DJANGO_APP_SECRET_KEY is not set. The platform provides it from its Kubernetes Secret; "
        "for local development unset every DJANGO_APP_* variable or set DJANGO_APP_DEBUG=true."
    )

ALLOWED_HOSTS = list(_allowed_hosts)
if _pod_ip:
    # Kubelet probes and the load balancer's health checks use the pod IP as Host.
    ALLOWED_HOSTS.append(_pod_ip)
if LOCAL_DEVELOPMENT:
    ALLOWED_HOSTS += ["localhost", "127.0.0.1", "[::1]"]

for _origin in _csrf_trusted_origins:
    if not _origin.startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            f"DJANGO_APP_CSRF_TRUSTED_ORIGINS entries need a scheme, e.g. https://{_origin}; got {_origin!r}."
        )
CSRF_TRUSTED_ORIGINS = _csrf_trusted_origins

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "demo",
]

MIDDLEWARE = [
    # First, so every log record of a request carries its Cloud Trace id (cloud_logging.py).
    "cloud_logging.TraceMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

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

# --- What anyone on the internet may reach ----------------------------------------------------
# The admin's login page, anonymous uploads (files served back through signed links) and anonymous
# task queuing are off unless the platform turns them on (app.* config, docs/configuration.md);
# plain local development, which answers on loopback only, has them all. Off, their routes are 404.
ADMIN_ENABLED = _admin_enabled or LOCAL_DEVELOPMENT
ADMIN_PATH = _admin_path or ("admin/" if LOCAL_DEVELOPMENT else "")
if ADMIN_ENABLED:
    from .switches import check_admin_path

    check_admin_path(ADMIN_PATH)
DEMO_ANONYMOUS_UPLOADS = _anonymous_uploads or LOCAL_DEVELOPMENT
DEMO_ANONYMOUS_TASKS = _anonymous_tasks or LOCAL_DEVELOPMENT

# --- Database -------------------------------------------------------------------------------
if _db_engine == "postgresql":
    _missing = [n for n, v in (("DJANGO_APP_DB_NAME", _db_name), ("DJANGO_APP_DB_USER", _db_user),
                              ("DJANGO_APP_DB_HOST", _db_host)) if not v]
    if _missing:
        raise ImproperlyConfigured(f"DJANGO_APP_DB_ENGINE is 'postgresql', so set {', '.join(_missing)} as well.")
    _database = {
        # Django's PostgreSQL backend, failing fast while the database hangs (resilience/base.py).
        "ENGINE": "resilience",
        "NAME": _db_name,
        "USER": _db_user,
        "PASSWORD": _db_password or "",
        "HOST": _db_host,
        "PORT": _db_port,
        # A bounded connect (resilience.py: the readiness probe answers 503 within its timeout).
        "OPTIONS": database_options(_db_sslmode),
    }
else:
    _database = {"ENGINE": "django.db.backends.sqlite3", "NAME": _db_name or str(BASE_DIR / "db.sqlite3")}
# Persistent connections, checked before reuse so a database restart costs one reconnect, not errors.
_database.update({"CONN_MAX_AGE": _db_conn_max_age, "CONN_HEALTH_CHECKS": True})
DATABASES = {"default": _database}

# --- Background tasks -----------------------------------------------------------------------
# The demo's task queue is Procrastinate (demo/tasks.py): its jobs live in this PostgreSQL database
# (tables procrastinate_*, created by `migrate`), so enqueueing is part of the request's transaction
# and the queue is as durable as the data. Its SQL needs PostgreSQL: without it (local sqlite3
# development) there is no queue and POST /tasks/ answers 503.
if _db_engine == "postgresql":
    INSTALLED_APPS.insert(INSTALLED_APPS.index("demo"), "procrastinate.contrib.django")

# --- Cache ----------------------------------------------------------------------------------
DJANGO_REDIS = "django_redis.cache.RedisCache"
if _cache_backend == DJANGO_REDIS:
    if not _cache_locations:
        raise ImproperlyConfigured(
            "DJANGO_APP_CACHE_BACKEND is django-redis but DJANGO_APP_CACHE_LOCATION is empty; "
            "give space-separated redis:// URLs, master first."
        )
    # A dead or hung cache must not break pages: errors are misses, calls are bounded, and a server
    # that keeps failing is skipped for a while (resilience.py, a circuit breaker per server).
    _cache_options = redis_cache_options(_cache_password)
    # TLS (Memorystore in-transit encryption): rediss:// everywhere, verified against the cache's own
    # CA from DJANGO_APP_CACHE_CA_CERT. No fallback to the system CAs: the platform's cache CA is
    # never among them, so without it every connection would fail, silently (IGNORE_EXCEPTIONS).
    _schemes = sorted({_location.partition("://")[0] for _location in _cache_locations})
    if "rediss" in _schemes:
        if _schemes != ["rediss"]:
            raise ImproperlyConfigured(
                "DJANGO_APP_CACHE_LOCATION mixes rediss:// and other schemes; the cache's TLS settings "
                f"apply to every location, so use rediss:// for all of them. Got: {' '.join(_cache_locations)}"
            )
        if not _cache_ca_cert:
            raise ImproperlyConfigured(
                "DJANGO_APP_CACHE_LOCATION uses rediss:// but DJANGO_APP_CACHE_CA_CERT is empty; set it to "
                "the PEM certificate(s) of the CA that signs the cache's server certificate (the platform "
                "renders it from the Memorystore instance's serverCaCerts)."
            )
        from .redis_tls import tls_pool_kwargs

        _cache_options["CONNECTION_POOL_KWARGS"] = tls_pool_kwargs(_cache_ca_cert)
    elif _cache_ca_cert:
        raise ImproperlyConfigured(
            "DJANGO_APP_CACHE_CA_CERT is set but DJANGO_APP_CACHE_LOCATION has no rediss:// URL; "
            "the CA is only used for TLS connections, so use rediss:// or unset it."
        )
    # django-redis splits a string LOCATION on commas only; a list keeps master first, replicas after.
    CACHES = {"default": {"BACKEND": _cache_backend, "LOCATION": _cache_locations, "OPTIONS": _cache_options}}
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    for _name, _value in (("DJANGO_APP_CACHE_PASSWORD", _cache_password), ("DJANGO_APP_CACHE_CA_CERT", _cache_ca_cert)):
        if _value:
            raise ImproperlyConfigured(
                f"{_name} is set but DJANGO_APP_CACHE_BACKEND is {_cache_backend!r}; "
                f"it is only passed to {DJANGO_REDIS}."
            )
    _location = _cache_locations[0] if len(_cache_locations) == 1 else _cache_locations
    CACHES = {"default": {"BACKEND": _cache_backend, "LOCATION": _location or "django-platform-local"}}

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = _static_url
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {**storages(_static_url, _static_bucket), "default": media_storage(_media_bucket, _media_signer)}
# Uploads without a bucket (runserver, tests): files under MEDIA_ROOT, served by nobody in production.
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"

# --- HTTPS behind the Google load balancer --------------------------------------------------
if not DEBUG and not LOCAL_DEVELOPMENT:
    # The load balancer terminates TLS and says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Probes and health checks speak plain http to the pod; they must not be redirected.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading is a promise for the whole registrable domain; the domain owner opts in.
    SECURE_HSTS_PRELOAD = False

# --- Logging: everything to stdout/stderr, collected by the cluster --------------------------
#: Project id for Cloud Logging's trace field; without it entries carry a plain ``traceId``.
CLOUD_LOGGING_PROJECT = _gcp_project or None
if _log_format == "json":
    # One JSON object per line on stdout with Cloud Logging's special fields (cloud_logging.py);
    # gunicorn's own logs use the same formatter through gunicorn.conf.py.
    from cloud_logging import django_logging

    LOGGING = django_logging(_log_level, CLOUD_LOGGING_PROJECT)
else:
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
        "root": {"handlers": ["console"], "level": _log_level},
    }
