"""Settings of the reference Django app.

The project's own settings are below; the platform's ``DJANGO_APP_*`` environment contract (see
components/appEnv.ts and docs/architecture.md) is applied by one call at the end, to
``django_platform_settings`` (python/django-platform-settings in this repository, docs/your-app.md):
databases, caches, static files and uploads, logging, hosts, HTTPS. It publishes the names it read
as ``ENV_CONTRACT``; the platform's contract test compares them with the rendered ConfigMap and
Secret, so nothing else here reads the environment.

With none of the variables set, ``python manage.py runserver`` works on its own: sqlite3,
LocMemCache, local static files, a development-only secret key, plain http. As soon as one is
set the app runs in platform mode: the secret key is required and, unless DEBUG is asked for,
HTTPS is enforced behind the load balancer.
"""
from pathlib import Path

import django_platform_settings

BASE_DIR = Path(__file__).resolve().parent.parent

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The demo's task queue (demo/tasks.py): jobs in this PostgreSQL database (tables procrastinate_*,
    # created by `migrate`), so enqueueing is part of the request's transaction and the queue is as
    # durable as the data. Its SQL needs PostgreSQL: without it (local sqlite3 development) the
    # package leaves it out, there is no queue and POST /tasks/ answers 503.
    "procrastinate.contrib.django",
    "demo",
]

MIDDLEWARE = [
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

# --- The platform's environment contract: databases, caches, storages, logging, hosts, HTTPS. ---
django_platform_settings.apply(globals())

# --- What anyone on the internet may reach ----------------------------------------------------
# The admin's login page, anonymous uploads (files served back through signed links) and anonymous
# task queuing are off unless the platform turns them on (app.* config, docs/configuration.md);
# plain local development, which answers on loopback only, has them all. Off, their routes are 404.
# The helper sets ADMIN_ENABLED, ADMIN_PATH, DEMO_ANONYMOUS_UPLOADS and DEMO_ANONYMOUS_TASKS; the
# admin's prefix must not shadow this app's own routes.
if ADMIN_ENABLED:  # noqa: F821 (set by apply())
    from .switches import check_admin_path

    check_admin_path(ADMIN_PATH)  # noqa: F821
