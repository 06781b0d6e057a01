"""The django-platform environment contract for any Django project's settings, in one call.

At the end of your settings module::

    import django_platform_settings

    django_platform_settings.apply(globals())

``apply`` reads the ``DJANGO_APP_*`` variables the platform renders (components/appEnv.ts of
django-platform: a ConfigMap, a Secret, ``POD_IP`` from the downward API, and the media bucket and
its signer in each container's own env) and sets from them ``SECRET_KEY``, ``DEBUG``,
``ALLOWED_HOSTS``, ``CSRF_TRUSTED_ORIGINS``, ``DATABASES["default"]``, ``CACHES["default"]``,
``STORAGES`` (static files and uploads on GCS), ``LOGGING``, the HTTPS settings behind Google's load
balancer, and it puts the trace middleware first in ``MIDDLEWARE``. It works whatever the types
the project used: ``BASE_DIR`` a ``str`` (``os.path`` style) or a ``pathlib.Path``; ``MIDDLEWARE``
and ``INSTALLED_APPS`` a list or a tuple (they keep their type); calling it twice changes nothing
more.

With no ``DJANGO_APP_*`` variable set (``python manage.py runserver`` on a laptop) it leaves
working local settings: sqlite3 next to ``BASE_DIR``, the local-memory cache, files on disk, plain
http, the project's own ``DEBUG``, ``SECRET_KEY`` and ``ALLOWED_HOSTS`` (plus localhost). As soon
as one is set the project runs in platform mode: the secret key is required and, unless
``DJANGO_APP_DEBUG`` asks for debug, HTTPS is enforced.

Two modules the settings name are copied next to ``manage.py`` from django-platform's reference
app (docs/your-app.md, step 2), since gunicorn and Django load them by those names in every
container: ``resilience`` (the PostgreSQL backend ``ENGINE: "resilience"`` that fails fast while the
database hangs, and the Redis circuit breakers) and ``cloud_logging`` (JSON log lines for Cloud
Logging, ``cloud_logging.TraceMiddleware``).
"""
from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .env import EnvReader
from .media_storage import media_storage
from .static_storage import storages

__all__ = ["apply", "DJANGO_REDIS", "TRACE_MIDDLEWARE", "POSTGRESQL_ONLY_APPS", "LOCAL_SECRET_KEY"]
__version__ = "0.1.0"

#: The cache backend the platform names when it provides Redis.
DJANGO_REDIS = "django_redis.cache.RedisCache"
#: First in MIDDLEWARE, so every log record of a request carries its Cloud Trace id.
TRACE_MIDDLEWARE = "cloud_logging.TraceMiddleware"
#: Apps whose SQL needs PostgreSQL: removed from INSTALLED_APPS while the database is sqlite3
#: (local development), so ``migrate`` and ``runserver`` work there. Procrastinate keeps its jobs in
#: PostgreSQL (procrastinate.contrib.django).
POSTGRESQL_ONLY_APPS = ("procrastinate.contrib.django",)
#: The key of local development when the project has none of its own.
LOCAL_SECRET_KEY = "django-insecure-local-development-only-never-use-this-key-in-production"
#: Probes and health checks speak plain http to the pod; they are never redirected to https.
PROBE_PATHS_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$"]


def apply(settings: MutableMapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    """Applies the ``DJANGO_APP_*`` contract to ``settings`` (a settings module's ``globals()``).

    ``environ`` defaults to ``os.environ``. Sets ``ENV_CONTRACT`` (the names read, by kind: the
    platform's contract test compares them with what it renders) and ``LOCAL_DEVELOPMENT``.
    Raises ``ImproperlyConfigured`` naming the variable and the fix when the environment does not
    hold together.
    """
    env = EnvReader(os.environ if environ is None else environ)
    # --- Every variable of the contract, read here and only here. -------------------------------
    debug = env.flag("DJANGO_APP_DEBUG", default=None)
    secret_key = env.secret("DJANGO_APP_SECRET_KEY")
    allowed_hosts = env.words("DJANGO_APP_ALLOWED_HOSTS")
    csrf_trusted_origins = env.words("DJANGO_APP_CSRF_TRUSTED_ORIGINS")
    db_engine = env.choice(
        "DJANGO_APP_DB_ENGINE",
        "sqlite3",
        ("sqlite3", "postgresql"),
        hint="'postgresql_psycopg2' was removed in Django 3.0; use 'postgresql'.",
    )
    db_name = env.text("DJANGO_APP_DB_NAME")
    # Per container: each pod identity logs in as its own database user (IAM database authentication:
    # the Cloud SQL Auth Proxy sends the pod's token, so there is no password), and the migrate Job
    # acts as the schema owner (SET ROLE). A password only with database.connector private-ip.
    db_user = env.container("DJANGO_APP_DB_USER")
    db_password = env.secret("DJANGO_APP_DB_PASSWORD")
    db_role = env.container("DJANGO_APP_DB_ROLE")
    db_host = env.text("DJANGO_APP_DB_HOST")
    db_port = env.text("DJANGO_APP_DB_PORT")
    db_sslmode = env.choice(
        "DJANGO_APP_DB_SSLMODE", "prefer", ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
    )
    db_conn_max_age = env.integer("DJANGO_APP_DB_CONN_MAX_AGE", default=0)
    cache_backend = env.text("DJANGO_APP_CACHE_BACKEND", "django.core.cache.backends.locmem.LocMemCache")
    cache_locations = env.words("DJANGO_APP_CACHE_LOCATION")
    cache_password = env.secret("DJANGO_APP_CACHE_PASSWORD")
    cache_ca_cert = env.text("DJANGO_APP_CACHE_CA_CERT")
    static_url = env.text("DJANGO_APP_STATIC_URL", "/static/")
    static_bucket = env.text("DJANGO_APP_STATIC_BUCKET")
    media_bucket = env.container("DJANGO_APP_MEDIA_BUCKET")
    media_signer = env.container("DJANGO_APP_MEDIA_SIGNER")
    log_level = env.choice("DJANGO_APP_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    log_format = env.choice("DJANGO_APP_LOG_FORMAT", "text", ("text", "json"))
    # What anyone on the internet may reach (config app.admin.*, app.demo.*): off unless turned on.
    admin_enabled = env.flag("DJANGO_APP_ADMIN_ENABLED", default=False)
    admin_path = env.text("DJANGO_APP_ADMIN_PATH")
    anonymous_uploads = env.flag("DJANGO_APP_DEMO_ANONYMOUS_UPLOADS", default=False)
    anonymous_tasks = env.flag("DJANGO_APP_DEMO_ANONYMOUS_TASKS", default=False)
    gcp_project = env.text("DJANGO_APP_GCP_PROJECT")
    pod_ip = env.downward("POD_IP")
    local = not env.any_set("DJANGO_APP_")
    settings["ENV_CONTRACT"] = env.contract()
    settings["LOCAL_DEVELOPMENT"] = local
    # The admin is mounted only with ADMIN_ENABLED, at ADMIN_PATH (the project's urls.py decides);
    # the demo's anonymous uploads and task queuing follow their switches. Plain local development,
    # which answers on loopback only, has them all.
    settings["ADMIN_ENABLED"] = bool(admin_enabled) or local
    settings["ADMIN_PATH"] = admin_path or ("admin/" if local else "")
    if settings["ADMIN_ENABLED"] and not settings["ADMIN_PATH"]:
        raise ImproperlyConfigured(
            "DJANGO_APP_ADMIN_ENABLED is true but DJANGO_APP_ADMIN_PATH is empty; the platform renders it "
            "from app.admin.path (pulumi config set --path app.admin.path \"admin-$(openssl rand -hex 8)/\")."
        )
    settings["DEMO_ANONYMOUS_UPLOADS"] = bool(anonymous_uploads) or local
    settings["DEMO_ANONYMOUS_TASKS"] = bool(anonymous_tasks) or local

    base_dir = _base_dir(settings)
    # The modules the settings below name, copied next to manage.py (docs/your-app.md, step 2): said
    # here, at start-up, rather than by a failed import on the first request.
    _require_copied("cloud_logging", "cloud_logging.py")
    if db_engine == "postgresql" or cache_backend == DJANGO_REDIS:
        _require_copied("resilience", "resilience/")

    # --- Core -----------------------------------------------------------------------------------
    if debug is None:
        # Locally the project's own choice stands; the platform always says false.
        debug = bool(settings.get("DEBUG", False)) if local else False
    settings["DEBUG"] = debug
    if secret_key:
        settings["SECRET_KEY"] = secret_key
    elif local or debug:
        settings["SECRET_KEY"] = settings.get("SECRET_KEY") or LOCAL_SECRET_KEY
    else:
        raise ImproperlyConfigured(
            "DJANGO_APP_SECRET_KEY is not set. The platform provides it from its Kubernetes Secret; "
            "for local development unset every DJANGO_APP_* variable or set DJANGO_APP_DEBUG=true."
        )

    if local:
        hosts = list(settings.get("ALLOWED_HOSTS", ()))
        hosts += [host for host in ("localhost", "127.0.0.1", "[::1]") if host not in hosts]
    else:
        # Only what the platform names: a project's own hosts ("*" in many samples) never reach the pods.
        hosts = list(allowed_hosts)
    if pod_ip and pod_ip not in hosts:
        # Kubelet probes and the load balancer's health checks use the pod IP as Host.
        hosts.append(pod_ip)
    settings["ALLOWED_HOSTS"] = hosts

    for origin in csrf_trusted_origins:
        if not origin.startswith(("https://", "http://")):
            raise ImproperlyConfigured(
                f"DJANGO_APP_CSRF_TRUSTED_ORIGINS entries need a scheme, e.g. https://{origin}; got {origin!r}."
            )
    if not local:
        settings["CSRF_TRUSTED_ORIGINS"] = csrf_trusted_origins

    settings["MIDDLEWARE"] = _with_first(settings.get("MIDDLEWARE", []), TRACE_MIDDLEWARE)

    # --- Database -------------------------------------------------------------------------------
    if db_engine == "postgresql":
        missing = [n for n, v in (("DJANGO_APP_DB_NAME", db_name), ("DJANGO_APP_DB_USER", db_user),
                                  ("DJANGO_APP_DB_HOST", db_host)) if not v]
        if missing:
            raise ImproperlyConfigured(f"DJANGO_APP_DB_ENGINE is 'postgresql', so set {', '.join(missing)} as well.")
        from resilience import database_options  # copied next to manage.py (docs/your-app.md)

        database: dict[str, Any] = {
            # Django's PostgreSQL backend, failing fast while the database hangs (resilience/base.py).
            "ENGINE": "resilience",
            "NAME": db_name,
            "USER": db_user,
            "PASSWORD": db_password or "",
            "HOST": db_host,
            "PORT": db_port,
            # A bounded connect and statement timeouts (the readiness probe answers 503 in time).
            "OPTIONS": database_options(db_sslmode),
        }
        if db_role:
            # Django runs SET ROLE on every new connection: what migrations create belongs to this role.
            database["OPTIONS"]["assume_role"] = db_role
    else:
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": db_name or str(base_dir / "db.sqlite3")}
        # Their SQL needs PostgreSQL: without it there is no task queue (the app answers 503).
        settings["INSTALLED_APPS"] = _without(settings.get("INSTALLED_APPS", []), POSTGRESQL_ONLY_APPS)
    # Persistent connections, checked before reuse so a database restart costs one reconnect, not errors.
    database.update({"CONN_MAX_AGE": db_conn_max_age, "CONN_HEALTH_CHECKS": True})
    settings["DATABASES"] = {**settings.get("DATABASES", {}), "default": database}

    # --- Cache ----------------------------------------------------------------------------------
    settings["CACHES"] = {
        **settings.get("CACHES", {}),
        "default": _cache(settings, cache_backend, cache_locations, cache_password, cache_ca_cert),
    }

    # --- Static files and uploads -------------------------------------------------------------------
    settings["STATIC_URL"] = static_url
    settings.setdefault("STATIC_ROOT", base_dir / "staticfiles")
    settings["STORAGES"] = {
        **settings.get("STORAGES", {}),
        **storages(static_url, static_bucket),
        "default": media_storage(media_bucket, media_signer),
    }
    # Uploads without a bucket (runserver, tests): files under MEDIA_ROOT, served by nobody in production.
    settings.setdefault("MEDIA_URL", "/media/")
    settings.setdefault("MEDIA_ROOT", base_dir / "media")

    # --- HTTPS behind the Google load balancer --------------------------------------------------
    if not debug and not local:
        settings.update(
            # The load balancer terminates TLS and says so in X-Forwarded-Proto.
            SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
            SECURE_SSL_REDIRECT=True,
            SECURE_REDIRECT_EXEMPT=list(PROBE_PATHS_REDIRECT_EXEMPT),
            SESSION_COOKIE_SECURE=True,
            CSRF_COOKIE_SECURE=True,
            SECURE_HSTS_SECONDS=31536000,
            SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
            # Preloading is a promise for the whole registrable domain; the domain owner opts in.
            SECURE_HSTS_PRELOAD=False,
        )

    # --- Logging: everything to stdout/stderr, collected by the cluster --------------------------
    #: Project id for Cloud Logging's trace field; without it entries carry a plain ``traceId``.
    settings["CLOUD_LOGGING_PROJECT"] = gcp_project or None
    if log_format == "json":
        # One JSON object per line on stdout with Cloud Logging's special fields (cloud_logging.py);
        # gunicorn's own logs use the same formatter through gunicorn.conf.py.
        from cloud_logging import django_logging  # copied next to manage.py (docs/your-app.md)

        settings["LOGGING"] = django_logging(log_level, gcp_project or None)
    else:
        settings["LOGGING"] = {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
            "root": {"handlers": ["console"], "level": log_level},
        }


def _base_dir(settings: Mapping[str, Any]) -> Path:
    """``BASE_DIR`` as a Path, whether the project wrote a str (``os.path`` style) or a Path."""
    base_dir = settings.get("BASE_DIR")
    if not isinstance(base_dir, (str, os.PathLike)) or not str(base_dir):
        raise ImproperlyConfigured(
            "django_platform_settings.apply() needs BASE_DIR (the project's directory, a str or a Path) "
            f"set before it is called; got {base_dir!r}. Add e.g. BASE_DIR = Path(__file__).resolve().parent.parent."
        )
    return Path(base_dir)


def _require_copied(module: str, source: str) -> None:
    """Raises ImproperlyConfigured naming the copy to make when ``module`` cannot be imported."""
    if importlib.util.find_spec(module) is None:
        raise ImproperlyConfigured(
            f"The settings name the module {module!r}, which is not importable: copy app/{source} of "
            "django-platform next to manage.py, unchanged (docs/your-app.md, step 2)."
        )


def _with_first(entries: Any, first: str) -> Any:
    """``entries`` (a list or a tuple, the type kept) with ``first`` at its start, once."""
    items = [entry for entry in entries if entry != first]
    return type(entries)([first, *items]) if isinstance(entries, tuple) else [first, *items]


def _without(entries: Any, names: tuple[str, ...]) -> Any:
    """``entries`` (a list or a tuple, the type kept) without ``names``."""
    items = [entry for entry in entries if entry not in names]
    return tuple(items) if isinstance(entries, tuple) else items


def _cache(
    settings: MutableMapping[str, Any], backend: str, locations: list[str], password: str | None, ca_cert: str
) -> dict[str, Any]:
    """``CACHES["default"]``: django-redis with the circuit breakers, or the backend named (locmem locally)."""
    if backend == DJANGO_REDIS:
        if not locations:
            raise ImproperlyConfigured(
                "DJANGO_APP_CACHE_BACKEND is django-redis but DJANGO_APP_CACHE_LOCATION is empty; "
                "give space-separated redis:// URLs, master first."
            )
        from resilience import redis_cache_options  # copied next to manage.py (docs/your-app.md)

        # A dead or hung cache must not break pages: errors are misses, calls are bounded, and a server
        # that keeps failing is skipped for a while (resilience, a circuit breaker per server).
        options = redis_cache_options(password)
        # TLS (Memorystore in-transit encryption): rediss:// everywhere, verified against the cache's own
        # CA from DJANGO_APP_CACHE_CA_CERT. No fallback to the system CAs: the platform's cache CA is
        # never among them, so without it every connection would fail, silently (IGNORE_EXCEPTIONS).
        schemes = sorted({location.partition("://")[0] for location in locations})
        if "rediss" in schemes:
            if schemes != ["rediss"]:
                raise ImproperlyConfigured(
                    "DJANGO_APP_CACHE_LOCATION mixes rediss:// and other schemes; the cache's TLS settings "
                    f"apply to every location, so use rediss:// for all of them. Got: {' '.join(locations)}"
                )
            if not ca_cert:
                raise ImproperlyConfigured(
                    "DJANGO_APP_CACHE_LOCATION uses rediss:// but DJANGO_APP_CACHE_CA_CERT is empty; set it to "
                    "the PEM certificate(s) of the CA that signs the cache's server certificate (the platform "
                    "renders it from the Memorystore instance's serverCaCerts)."
                )
            from .redis_tls import tls_pool_kwargs

            options["CONNECTION_POOL_KWARGS"] = tls_pool_kwargs(ca_cert)
        elif ca_cert:
            raise ImproperlyConfigured(
                "DJANGO_APP_CACHE_CA_CERT is set but DJANGO_APP_CACHE_LOCATION has no rediss:// URL; "
                "the CA is only used for TLS connections, so use rediss:// or unset it."
            )
        # django-redis logs the errors it swallows (IGNORE_EXCEPTIONS), so an outage shows in the logs.
        settings["DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS"] = True
        # django-redis splits a string LOCATION on commas only; a list keeps master first, replicas after.
        return {"BACKEND": backend, "LOCATION": locations, "OPTIONS": options}
    for name, value in (("DJANGO_APP_CACHE_PASSWORD", password), ("DJANGO_APP_CACHE_CA_CERT", ca_cert)):
        if value:
            raise ImproperlyConfigured(
                f"{name} is set but DJANGO_APP_CACHE_BACKEND is {backend!r}; it is only passed to {DJANGO_REDIS}."
            )
    location = locations[0] if len(locations) == 1 else locations
    return {"BACKEND": backend, "LOCATION": location or "django-platform-local"}
