"""Unit tests of django_platform_settings.apply() on plain settings dicts (no Django project needed).

Run from the repository root by tests/settings-package.test.ts, on each venv it tests (Django 5.2
LTS, Django 6): ``python -m unittest discover -s python/django-platform-settings/tests``. The
modules the settings name for PostgreSQL and Redis (``resilience``) come from the reference app,
as a project copies them next to its manage.py: app/ is put on sys.path.
"""
from __future__ import annotations

import os
import sys
import unittest
from pathlib import Path
from unittest import mock

from django.core.exceptions import ImproperlyConfigured

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "app"))

import django_platform_settings  # noqa: E402
from django_platform_settings import LOCAL_SECRET_KEY, TRACE_MIDDLEWARE, apply  # noqa: E402

#: What the platform renders for a web container (components/appEnv.ts), values made up.
PLATFORM_ENV = {
    "DJANGO_APP_DEBUG": "false",
    "DJANGO_APP_ALLOWED_HOSTS": "shop.example.com",
    "DJANGO_APP_CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "DJANGO_APP_DB_ENGINE": "postgresql",
    "DJANGO_APP_DB_NAME": "app",
    "DJANGO_APP_DB_USER": "app",
    "DJANGO_APP_DB_HOST": "127.0.0.1",
    "DJANGO_APP_DB_PORT": "5432",
    "DJANGO_APP_DB_SSLMODE": "disable",
    "DJANGO_APP_DB_CONN_MAX_AGE": "60",
    "DJANGO_APP_CACHE_BACKEND": "django_redis.cache.RedisCache",
    "DJANGO_APP_CACHE_LOCATION": "redis://cache-0:6379/0 redis://cache-1:6379/0",
    "DJANGO_APP_STATIC_URL": "https://static.example.com/static/",
    "DJANGO_APP_STATIC_BUCKET": "shop-static",
    "DJANGO_APP_LOG_LEVEL": "INFO",
    "DJANGO_APP_LOG_FORMAT": "json",
    "DJANGO_APP_GCP_PROJECT": "acme",
    "DJANGO_APP_ADMIN_ENABLED": "false",
    "DJANGO_APP_ADMIN_PATH": "",
    "DJANGO_APP_DEMO_ANONYMOUS_UPLOADS": "false",
    "DJANGO_APP_DEMO_ANONYMOUS_TASKS": "false",
    "DJANGO_APP_SECRET_KEY": "k" * 64,
    "DJANGO_APP_DB_PASSWORD": "pw",
    "DJANGO_APP_CACHE_PASSWORD": "cpw",
    "DJANGO_APP_MEDIA_BUCKET": "shop-media",
    "DJANGO_APP_MEDIA_SIGNER": "web@acme.iam.gserviceaccount.com",
    "POD_IP": "10.8.0.16",
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
]


def project(base_dir: str | Path, middleware_type: type = list, **extra: object) -> dict:
    """A settings module's globals before the call: what a project defines itself."""
    return {
        "BASE_DIR": base_dir,
        "INSTALLED_APPS": middleware_type(["django.contrib.staticfiles", "procrastinate.contrib.django", "shop"]),
        "MIDDLEWARE": middleware_type(MIDDLEWARE),
        **extra,
    }


class BaseDirAndContainerTypes(unittest.TestCase):
    """The two crashes of the copy-paste block: BASE_DIR a str, MIDDLEWARE a tuple."""

    def test_every_combination_locally_and_on_the_platform(self) -> None:
        here = Path(__file__).resolve().parent
        for base_dir in (str(here), here):
            for container in (list, tuple):
                for environ in ({}, PLATFORM_ENV):
                    with self.subTest(base_dir=type(base_dir).__name__, container=container.__name__, platform=bool(environ)):
                        settings = project(base_dir, container)
                        apply(settings, environ)
                        self.assertIsInstance(settings["MIDDLEWARE"], container)
                        self.assertEqual(list(settings["MIDDLEWARE"]), [TRACE_MIDDLEWARE, *MIDDLEWARE])
                        self.assertIsInstance(settings["INSTALLED_APPS"], container)
                        self.assertEqual(settings["BASE_DIR"], base_dir, "BASE_DIR is the project's, untouched")
                        if not environ:
                            self.assertEqual(settings["DATABASES"]["default"]["NAME"], str(here / "db.sqlite3"))
                            self.assertEqual(Path(settings["STATIC_ROOT"]), here / "staticfiles")
                            self.assertEqual(Path(settings["MEDIA_ROOT"]), here / "media")

    def test_a_second_call_changes_nothing(self) -> None:
        for container in (list, tuple):
            for environ in ({}, PLATFORM_ENV):
                settings = project("/srv/shop", container)
                apply(settings, environ)
                once = {name: repr(value) for name, value in settings.items()}
                apply(settings, environ)
                self.assertEqual({name: repr(value) for name, value in settings.items()}, once)

    def test_the_trace_middleware_moves_first_when_the_project_listed_it_elsewhere(self) -> None:
        settings = project("/srv/shop", tuple)
        settings["MIDDLEWARE"] = (*MIDDLEWARE, TRACE_MIDDLEWARE)
        apply(settings, {})
        self.assertEqual(settings["MIDDLEWARE"], (TRACE_MIDDLEWARE, *MIDDLEWARE))

    def test_without_base_dir_the_error_says_what_to_add(self) -> None:
        with self.assertRaisesRegex(ImproperlyConfigured, r"needs BASE_DIR .* got None"):
            apply({"MIDDLEWARE": []}, {})


class CopiedModules(unittest.TestCase):
    """resilience and cloud_logging are copied next to manage.py (docs/your-app.md, step 2)."""

    def test_a_missing_copy_is_named_at_start_up(self) -> None:
        real = django_platform_settings.importlib.util.find_spec
        for missing, environ, copy in (("cloud_logging", {}, "app/cloud_logging.py"), ("resilience", PLATFORM_ENV, "app/resilience/")):
            with self.subTest(missing=missing), mock.patch.object(
                django_platform_settings.importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a)
            ):
                with self.assertRaisesRegex(ImproperlyConfigured, f"{missing!r}, which is not importable: copy {copy} "):
                    apply(project("/srv/shop"), environ)

    def test_locally_resilience_is_not_needed(self) -> None:
        real = django_platform_settings.importlib.util.find_spec
        with mock.patch.object(django_platform_settings.importlib.util, "find_spec", lambda name, *a: None if name == "resilience" else real(name, *a)):
            apply(project("/srv/shop"), {})


class LocalDevelopment(unittest.TestCase):
    """No DJANGO_APP_* variable: runserver on a laptop."""

    def test_sqlite_locmem_local_files_plain_http_and_the_projects_own_choices(self) -> None:
        settings = project("/srv/shop", DEBUG=True, SECRET_KEY="mine", ALLOWED_HOSTS=["*"], STATIC_ROOT="static/")
        apply(settings, {})
        self.assertTrue(settings["LOCAL_DEVELOPMENT"])
        self.assertEqual(settings["DATABASES"]["default"]["ENGINE"], "django.db.backends.sqlite3")
        self.assertEqual(settings["CACHES"]["default"]["BACKEND"], "django.core.cache.backends.locmem.LocMemCache")
        self.assertEqual(settings["STORAGES"]["default"]["BACKEND"], "django.core.files.storage.FileSystemStorage")
        self.assertEqual(settings["STORAGES"]["staticfiles"]["BACKEND"], "django.contrib.staticfiles.storage.StaticFilesStorage")
        self.assertNotIn("SECURE_SSL_REDIRECT", settings)
        self.assertTrue(settings["DEBUG"])
        self.assertEqual(settings["SECRET_KEY"], "mine")
        self.assertEqual(settings["ALLOWED_HOSTS"], ["*", "localhost", "127.0.0.1", "[::1]"])
        self.assertEqual(settings["STATIC_ROOT"], "static/", "a project's own STATIC_ROOT stays")
        # Procrastinate's SQL needs PostgreSQL.
        self.assertNotIn("procrastinate.contrib.django", settings["INSTALLED_APPS"])

    def test_a_project_without_a_key_gets_the_development_one(self) -> None:
        settings = project("/srv/shop")
        apply(settings, {})
        self.assertEqual(settings["SECRET_KEY"], LOCAL_SECRET_KEY)
        self.assertFalse(settings["DEBUG"])


class PlatformMode(unittest.TestCase):
    def applied(self, **changes: str) -> dict:
        environ = {**PLATFORM_ENV, **changes}
        settings = project("/srv/shop", tuple, DEBUG=True, SECRET_KEY="sample", ALLOWED_HOSTS=["*"])
        apply(settings, {name: value for name, value in environ.items() if value})
        return settings

    def test_the_platform_decides_hosts_keys_and_debug(self) -> None:
        settings = self.applied()
        self.assertFalse(settings["LOCAL_DEVELOPMENT"])
        self.assertFalse(settings["DEBUG"], "a sample's DEBUG = True never reaches a pod")
        self.assertEqual(settings["SECRET_KEY"], "k" * 64)
        self.assertEqual(settings["ALLOWED_HOSTS"], ["shop.example.com", "10.8.0.16"], "no '*' from the sample")
        self.assertEqual(settings["CSRF_TRUSTED_ORIGINS"], ["https://shop.example.com"])

    def test_postgresql_through_the_resilience_backend_with_timeouts(self) -> None:
        database = self.applied()["DATABASES"]["default"]
        self.assertEqual(database["ENGINE"], "resilience")
        self.assertEqual((database["NAME"], database["USER"], database["PASSWORD"], database["HOST"], database["PORT"]), ("app", "app", "pw", "127.0.0.1", "5432"))
        self.assertEqual(database["OPTIONS"]["sslmode"], "disable")
        self.assertIn("connect_timeout", database["OPTIONS"])
        self.assertEqual((database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]), (60, True))
        self.assertIn("procrastinate.contrib.django", self.applied()["INSTALLED_APPS"], "kept with PostgreSQL")

    def test_redis_master_first_with_the_circuit_breakers(self) -> None:
        settings = self.applied()
        cache = settings["CACHES"]["default"]
        self.assertEqual(cache["BACKEND"], "django_redis.cache.RedisCache")
        self.assertEqual(cache["LOCATION"], ["redis://cache-0:6379/0", "redis://cache-1:6379/0"])
        self.assertEqual(cache["OPTIONS"]["PASSWORD"], "cpw")
        self.assertTrue(cache["OPTIONS"]["IGNORE_EXCEPTIONS"])
        self.assertTrue(settings["DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS"])

    def test_static_files_and_uploads_on_gcs(self) -> None:
        storages = self.applied()["STORAGES"]
        self.assertEqual(storages["staticfiles"]["BACKEND"], "django_platform_settings.gcs.GoogleCloudManifestStaticStorage")
        self.assertEqual(storages["staticfiles"]["OPTIONS"]["bucket_name"], "shop-static")
        self.assertEqual(storages["default"]["OPTIONS"]["sa_email"], "web@acme.iam.gserviceaccount.com")
        self.assertTrue(storages["default"]["OPTIONS"]["iam_sign_blob"])

    def test_https_behind_the_load_balancer(self) -> None:
        settings = self.applied()
        self.assertEqual(settings["SECURE_PROXY_SSL_HEADER"], ("HTTP_X_FORWARDED_PROTO", "https"))
        self.assertTrue(settings["SECURE_SSL_REDIRECT"] and settings["SESSION_COOKIE_SECURE"] and settings["CSRF_COOKIE_SECURE"])
        self.assertEqual(settings["SECURE_REDIRECT_EXEMPT"], [r"^healthz/$", r"^readyz/$"])
        self.assertGreaterEqual(settings["SECURE_HSTS_SECONDS"], 31536000)

    def test_json_logs_for_cloud_logging(self) -> None:
        settings = self.applied()
        self.assertEqual(settings["CLOUD_LOGGING_PROJECT"], "acme")
        formatter = settings["LOGGING"]["formatters"][settings["LOGGING"]["handlers"]["stdout"]["formatter"]]
        self.assertEqual(formatter["()"].__name__, "CloudLoggingFormatter")
        self.assertEqual(formatter["project"], "acme")

    def test_missing_key_or_signer_or_scheme_fails_naming_the_variable(self) -> None:
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_SECRET_KEY is not set"):
            self.applied(DJANGO_APP_SECRET_KEY="")
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_MEDIA_SIGNER"):
            self.applied(DJANGO_APP_MEDIA_SIGNER="")
        with self.assertRaisesRegex(ImproperlyConfigured, "need a scheme"):
            self.applied(DJANGO_APP_CSRF_TRUSTED_ORIGINS="shop.example.com")

    def test_what_anyone_may_reach_is_off_unless_switched_on(self) -> None:
        settings = self.applied()
        self.assertEqual((settings["ADMIN_ENABLED"], settings["DEMO_ANONYMOUS_UPLOADS"], settings["DEMO_ANONYMOUS_TASKS"]), (False, False, False))
        settings = self.applied(DJANGO_APP_ADMIN_ENABLED="true", DJANGO_APP_ADMIN_PATH="staff-7f3a/", DJANGO_APP_DEMO_ANONYMOUS_TASKS="true")
        self.assertEqual((settings["ADMIN_ENABLED"], settings["ADMIN_PATH"], settings["DEMO_ANONYMOUS_TASKS"]), (True, "staff-7f3a/", True))
        with self.assertRaisesRegex(ImproperlyConfigured, "app.admin.path"):
            self.applied(DJANGO_APP_ADMIN_ENABLED="true")

    def test_the_contract_it_read_is_published(self) -> None:
        contract = self.applied()["ENV_CONTRACT"]
        self.assertEqual(contract["secret"], ["DJANGO_APP_CACHE_PASSWORD", "DJANGO_APP_DB_PASSWORD", "DJANGO_APP_SECRET_KEY"])
        self.assertEqual(contract["downward"], ["POD_IP"])
        self.assertEqual(contract["container"], ["DJANGO_APP_DB_ROLE", "DJANGO_APP_DB_USER", "DJANGO_APP_MEDIA_BUCKET", "DJANGO_APP_MEDIA_SIGNER"])
        self.assertEqual(set(contract["plain"]) | {"DJANGO_APP_CACHE_CA_CERT"}, set(PLATFORM_ENV) - {"DJANGO_APP_SECRET_KEY", "DJANGO_APP_DB_PASSWORD", "DJANGO_APP_CACHE_PASSWORD", "DJANGO_APP_DB_USER", "DJANGO_APP_MEDIA_BUCKET", "DJANGO_APP_MEDIA_SIGNER", "POD_IP"} | {"DJANGO_APP_CACHE_CA_CERT"})

    def test_reads_os_environ_by_default(self) -> None:
        settings = project("/srv/shop")
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(PLATFORM_ENV)
            apply(settings)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.assertEqual(settings["ALLOWED_HOSTS"], ["shop.example.com", "10.8.0.16"])


class Packaging(unittest.TestCase):
    def test_the_version_is_the_one_pyproject_declares(self) -> None:
        pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
        self.assertIn(f'version = "{django_platform_settings.__version__}"', pyproject)


if __name__ == "__main__":
    unittest.main()
