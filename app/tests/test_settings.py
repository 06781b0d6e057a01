"""Settings built from the environment contract (no Django setup, no servers needed).

Run from app/: ``python3 -m unittest discover -s tests -t .``
"""
import importlib
import os
import sys
import unittest
from types import ModuleType
from unittest import mock

from django.core.exceptions import ImproperlyConfigured

# What the platform renders for a stack (components/appEnv.ts); tests change one value at a time.
PLATFORM_ENV = {
    "DJANGO_APP_DEBUG": "false",
    "DJANGO_APP_SECRET_KEY": "k" * 20 + "-platform-test-secret-key-of-fifty-chars",
    "DJANGO_APP_ALLOWED_HOSTS": "app.example.com www.example.com",
    "DJANGO_APP_CSRF_TRUSTED_ORIGINS": "https://app.example.com",
    "DJANGO_APP_DB_ENGINE": "postgresql",
    "DJANGO_APP_DB_NAME": "django",
    "DJANGO_APP_DB_USER": "django",
    "DJANGO_APP_DB_PASSWORD": "db-password",
    "DJANGO_APP_DB_HOST": "127.0.0.1",
    "DJANGO_APP_DB_PORT": "5432",
    "DJANGO_APP_DB_SSLMODE": "disable",
    "DJANGO_APP_DB_CONN_MAX_AGE": "60",
    "DJANGO_APP_CACHE_BACKEND": "django_redis.cache.RedisCache",
    "DJANGO_APP_CACHE_LOCATION": "redis://cache-master.app.svc.cluster.local:6379/0 "
    "redis://cache-replicas.app.svc.cluster.local:6379/0",
    "DJANGO_APP_CACHE_PASSWORD": "cache-password",
    "DJANGO_APP_STATIC_URL": "https://static.example.com/static/",
    "DJANGO_APP_STATIC_BUCKET": "",
    "DJANGO_APP_LOG_LEVEL": "INFO",
    "DJANGO_APP_LOG_FORMAT": "json",
    "DJANGO_APP_GCP_PROJECT": "acme-prod",
    "POD_IP": "10.8.0.15",
}


# A parseable self-signed CA certificate (its key is gone); stands in for a Memorystore server CA.
CACHE_CA = """-----BEGIN CERTIFICATE-----
MIIBnzCCAUWgAwIBAgIUMP9Acz0iMOWE90iggkzH9qIpT9cwCgYIKoZIzj0EAwIw
JTEjMCEGA1UEAwwaTW9jayBNZW1vcnlzdG9yZSBTZXJ2ZXIgQ0EwHhcNMjYxMTI3
MTYxNzA0WhcNMzYxMTI0MTYxNzA0WjAlMSMwIQYDVQQDDBpNb2NrIE1lbW9yeXN0
b3JlIFNlcnZlciBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOW+kJqV5xwO
wr4+zg1wBU71zAFrdLMM0aRfOd21pGujfWNKaXihX0kc8xPw0jw0PpVFuKTN4x/p
eKFNGbbD5L6jUzBRMB0GA1UdDgQWBBRKfeIR2HelMhgZSJwjLi/pYhbSvjAfBgNV
HSMEGDAWgBRKfeIR2HelMhgZSJwjLi/pYhbSvjAPBgNVHRMBAf8EBTADAQH/MAoG
CCqGSM49BAMCA0gAMEUCIQCAxuAiueW1nAdtsNCusSWzSXQUF4HmWDP38ruREGV7
sAIgfnq2NK2wNtB6RgCNixqVjPAq8QEIIor4lCJY1Clsz5s=
-----END CERTIFICATE-----
"""

# What the platform renders for Memorystore with in-transit encryption (see components/cache.ts).
MEMORYSTORE_TLS = {
    "DJANGO_APP_CACHE_LOCATION": "rediss://10.99.1.3:6378/0 rediss://10.99.1.4:6378/0",
    "DJANGO_APP_CACHE_CA_CERT": CACHE_CA,
}


def load(environ: dict) -> ModuleType:
    """Imports config.settings afresh with exactly ``environ`` as the process environment."""
    with mock.patch.dict(os.environ, environ, clear=True):
        sys.modules.pop("config.settings", None)
        return importlib.import_module("config.settings")


def platform(**changes: str) -> dict:
    return {**PLATFORM_ENV, **changes}


class LocalDevelopmentTest(unittest.TestCase):
    def test_defaults_need_no_services(self):
        s = load({})
        self.assertTrue(s.LOCAL_DEVELOPMENT)
        self.assertFalse(s.DEBUG)
        self.assertEqual(s.DATABASES["default"]["ENGINE"], "django.db.backends.sqlite3")
        self.assertTrue(str(s.DATABASES["default"]["NAME"]).endswith("db.sqlite3"))
        self.assertEqual(s.CACHES["default"]["BACKEND"], "django.core.cache.backends.locmem.LocMemCache")
        self.assertEqual(s.STORAGES["staticfiles"]["BACKEND"], "django.contrib.staticfiles.storage.StaticFilesStorage")
        self.assertEqual(s.STATIC_URL, "/static/")
        self.assertIn("localhost", s.ALLOWED_HOSTS)
        self.assertFalse(hasattr(s, "SECURE_SSL_REDIRECT"), "plain http must work for runserver")

    def test_contract_is_read_unconditionally(self):
        self.assertEqual(load({}).ENV_CONTRACT, load(PLATFORM_ENV).ENV_CONTRACT)

    def test_contract_groups_secrets_and_downward_api(self):
        contract = load({}).ENV_CONTRACT
        self.assertEqual(
            contract["secret"], ["DJANGO_APP_CACHE_PASSWORD", "DJANGO_APP_DB_PASSWORD", "DJANGO_APP_SECRET_KEY"]
        )
        self.assertEqual(contract["downward"], ["POD_IP"])
        # Per container: each identity's own database login (and the role the migrate Job acts as),
        # and, in the containers of the identities that may use the media bucket, both or neither.
        self.assertEqual(
            contract["container"],
            ["DJANGO_APP_DB_ROLE", "DJANGO_APP_DB_USER", "DJANGO_APP_MEDIA_BUCKET", "DJANGO_APP_MEDIA_SIGNER"],
        )
        self.assertTrue(all(name.startswith("DJANGO_APP_") for name in contract["plain"]))


class PlatformModeTest(unittest.TestCase):
    def test_postgres_from_contract(self):
        db = load(PLATFORM_ENV).DATABASES["default"]
        self.assertEqual(db["ENGINE"], "resilience")
        self.assertEqual((db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]),
                         ("django", "django", "db-password", "127.0.0.1", "5432"))
        self.assertEqual(db["OPTIONS"]["sslmode"], "disable")
        self.assertNotIn("assume_role", db["OPTIONS"])
        self.assertEqual(db["CONN_MAX_AGE"], 60)
        self.assertTrue(db["CONN_HEALTH_CHECKS"])

    def test_iam_login_without_password_and_the_migrate_role(self):
        # Behind the Auth Proxy with --auto-iam-authn: the pod's own user, no password (the proxy
        # sends the token); the migrate Job also acts as the schema owner (SET ROLE on connect).
        env = {k: v for k, v in PLATFORM_ENV.items() if k != "DJANGO_APP_DB_PASSWORD"}
        env["DJANGO_APP_DB_USER"] = "dj-staging-migrate@acme-django-staging.iam"
        env["DJANGO_APP_DB_ROLE"] = "django"
        db = load(env).DATABASES["default"]
        self.assertEqual((db["USER"], db["PASSWORD"]), ("dj-staging-migrate@acme-django-staging.iam", ""))
        self.assertEqual(db["OPTIONS"]["assume_role"], "django")

    def test_redis_locations_are_a_list_master_first(self):
        cache = load(PLATFORM_ENV).CACHES["default"]
        self.assertEqual(cache["LOCATION"], [
            "redis://cache-master.app.svc.cluster.local:6379/0",
            "redis://cache-replicas.app.svc.cluster.local:6379/0",
        ])
        self.assertEqual(cache["OPTIONS"]["PASSWORD"], "cache-password")
        self.assertIs(cache["OPTIONS"]["IGNORE_EXCEPTIONS"], True)

    def test_pod_ip_is_an_allowed_host(self):
        self.assertEqual(load(PLATFORM_ENV).ALLOWED_HOSTS, ["app.example.com", "www.example.com", "10.8.0.15"])

    def test_https_is_enforced_except_for_probes(self):
        s = load(PLATFORM_ENV)
        self.assertFalse(s.LOCAL_DEVELOPMENT)
        self.assertEqual(s.SECURE_PROXY_SSL_HEADER, ("HTTP_X_FORWARDED_PROTO", "https"))
        self.assertTrue(s.SECURE_SSL_REDIRECT)
        self.assertEqual(s.SECURE_REDIRECT_EXEMPT, [r"^healthz/$", r"^readyz/$"])
        self.assertTrue(s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE)
        self.assertGreaterEqual(s.SECURE_HSTS_SECONDS, 31536000)
        self.assertEqual(s.CSRF_TRUSTED_ORIGINS, ["https://app.example.com"])

    def test_debug_turns_https_enforcement_off(self):
        self.assertFalse(hasattr(load(platform(DJANGO_APP_DEBUG="true")), "SECURE_SSL_REDIRECT"))

    def test_local_static_files_without_bucket(self):
        s = load(PLATFORM_ENV)
        self.assertEqual(s.STATIC_URL, "https://static.example.com/static/")
        self.assertEqual(s.STORAGES["staticfiles"]["BACKEND"], "django.contrib.staticfiles.storage.StaticFilesStorage")


class StaticBucketTest(unittest.TestCase):
    def test_cdn_url_maps_path_to_object_prefix(self):
        staticfiles = load(platform(DJANGO_APP_STATIC_BUCKET="acme-static")).STORAGES["staticfiles"]
        self.assertEqual(staticfiles["BACKEND"], "django_platform_settings.gcs.GoogleCloudManifestStaticStorage")
        self.assertEqual(staticfiles["OPTIONS"], {
            "bucket_name": "acme-static",
            "location": "static",
            "custom_endpoint": "https://static.example.com",
            "querystring_auth": False,
            "default_acl": None,
            "file_overwrite": True,
            "object_parameters": {"cache_control": "public, max-age=31536000, immutable"},
        })

    def test_storage_googleapis_url_drops_the_bucket_segment(self):
        options = load(platform(
            DJANGO_APP_STATIC_BUCKET="acme-static",
            DJANGO_APP_STATIC_URL="https://storage.googleapis.com/acme-static/assets/",
        )).STORAGES["staticfiles"]["OPTIONS"]
        self.assertEqual((options["custom_endpoint"], options["location"]),
                         ("https://storage.googleapis.com/acme-static", "assets"))

    def test_storage_googleapis_url_of_another_bucket_is_rejected(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "points at bucket 'other' but DJANGO_APP_STATIC_BUCKET is 'acme'"):
            load(platform(DJANGO_APP_STATIC_BUCKET="acme",
                          DJANGO_APP_STATIC_URL="https://storage.googleapis.com/other/static/"))

    def test_bucket_needs_an_absolute_https_url(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "absolute https:// URL"):
            load(platform(DJANGO_APP_STATIC_BUCKET="acme", DJANGO_APP_STATIC_URL="/static/"))


class CacheTlsTest(unittest.TestCase):
    def test_rediss_verifies_against_the_given_ca_only(self):
        from django_platform_settings.redis_tls import InstanceCASSLConnection

        cache = load(platform(**MEMORYSTORE_TLS)).CACHES["default"]
        self.assertEqual(cache["LOCATION"], ["rediss://10.99.1.3:6378/0", "rediss://10.99.1.4:6378/0"])
        self.assertEqual(cache["OPTIONS"]["CONNECTION_POOL_KWARGS"], {
            "connection_class": InstanceCASSLConnection,
            "ssl_ca_data": CACHE_CA.strip(),
            "ssl_cert_reqs": "required",
            "ssl_check_hostname": False,
        })
        self.assertEqual(cache["OPTIONS"]["PASSWORD"], "cache-password")

    def test_tls_context_trusts_no_system_ca_and_needs_tls_12(self):
        import ssl

        from django_platform_settings.redis_tls import tls_context

        context = tls_context(CACHE_CA)
        self.assertEqual(context.verify_mode, ssl.CERT_REQUIRED)
        self.assertEqual(context.minimum_version, ssl.TLSVersion.TLSv1_2)
        self.assertEqual([c["subject"] for c in context.get_ca_certs()],
                         [((("commonName", "Mock Memorystore Server CA"),),)])

    def test_the_pool_of_a_rediss_location_uses_the_pinned_connection(self):
        from django_redis.pool import ConnectionFactory

        from django_platform_settings.redis_tls import InstanceCASSLConnection

        options = load(platform(**MEMORYSTORE_TLS)).CACHES["default"]["OPTIONS"]
        factory = ConnectionFactory(options)
        pool = factory.get_connection_pool(factory.make_connection_params("rediss://10.99.1.3:6378/0"))
        self.assertIs(pool.connection_class, InstanceCASSLConnection)
        connection = pool.make_connection()
        self.assertEqual((connection.host, connection.port, connection.ca_data), ("10.99.1.3", 6378, CACHE_CA.strip()))

    def test_plain_redis_has_no_tls_options(self):
        self.assertNotIn("CONNECTION_POOL_KWARGS", load(PLATFORM_ENV).CACHES["default"]["OPTIONS"])

    def test_rediss_without_ca_is_rejected(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "uses rediss:// but DJANGO_APP_CACHE_CA_CERT is empty"):
            load(platform(DJANGO_APP_CACHE_LOCATION=MEMORYSTORE_TLS["DJANGO_APP_CACHE_LOCATION"]))

    def test_ca_without_rediss_is_rejected(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_CACHE_CA_CERT is set but DJANGO_APP_CACHE_LOCATION has no rediss://"):
            load(platform(DJANGO_APP_CACHE_CA_CERT=CACHE_CA))

    def test_mixed_schemes_are_rejected(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "mixes rediss:// and other schemes"):
            load(platform(DJANGO_APP_CACHE_LOCATION="rediss://10.99.1.3:6378/0 redis://10.99.1.4:6379/0",
                          DJANGO_APP_CACHE_CA_CERT=CACHE_CA))

    def test_a_broken_ca_fails_at_startup(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_CACHE_CA_CERT must hold PEM certificates"):
            load(platform(**{**MEMORYSTORE_TLS, "DJANGO_APP_CACHE_CA_CERT": "MOCK"}))
        truncated = CACHE_CA.replace("sAIgfnq2NK2wNtB6RgCNixqVjPAq8QEIIor4lCJY1Clsz5s=\n", "")
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_CACHE_CA_CERT is not a valid PEM certificate bundle"):
            load(platform(**{**MEMORYSTORE_TLS, "DJANGO_APP_CACHE_CA_CERT": truncated}))

    def test_ca_without_django_redis_is_rejected(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_CACHE_CA_CERT is set but DJANGO_APP_CACHE_BACKEND"):
            load({"DJANGO_APP_DEBUG": "true", "DJANGO_APP_CACHE_CA_CERT": CACHE_CA})


class MediaStorageTest(unittest.TestCase):
    def test_local_files_without_a_bucket(self):
        self.assertEqual(load({}).STORAGES["default"], {"BACKEND": "django.core.files.storage.FileSystemStorage"})
        self.assertEqual(load(PLATFORM_ENV).STORAGES["default"]["BACKEND"], "django.core.files.storage.FileSystemStorage")

    def test_private_bucket_with_iam_signed_urls(self):
        from datetime import timedelta

        default = load(platform(DJANGO_APP_MEDIA_BUCKET="acme-media",
                                DJANGO_APP_MEDIA_SIGNER="web@acme.iam.gserviceaccount.com")).STORAGES["default"]
        self.assertEqual(default["BACKEND"], "storages.backends.gcloud.GoogleCloudStorage")
        self.assertEqual(default["OPTIONS"], {
            "bucket_name": "acme-media",
            "default_acl": None,
            "querystring_auth": True,
            "expiration": timedelta(hours=1),
            "iam_sign_blob": True,
            "sa_email": "web@acme.iam.gserviceaccount.com",
            "file_overwrite": False,
        })

    def test_static_files_keep_their_own_storage(self):
        s = load(platform(DJANGO_APP_MEDIA_BUCKET="acme-media", DJANGO_APP_STATIC_BUCKET="acme-static",
                          DJANGO_APP_MEDIA_SIGNER="web@acme.iam.gserviceaccount.com"))
        self.assertEqual(s.STORAGES["staticfiles"]["OPTIONS"]["bucket_name"], "acme-static")
        self.assertEqual(s.STORAGES["default"]["OPTIONS"]["bucket_name"], "acme-media")

    def test_bucket_without_signer_is_rejected(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_MEDIA_BUCKET is set .* DJANGO_APP_MEDIA_SIGNER is 'empty'"):
            load(platform(DJANGO_APP_MEDIA_BUCKET="acme-media"))
        with self.assertRaisesRegex(ImproperlyConfigured, "must be the email of the pod's Google service account"):
            load(platform(DJANGO_APP_MEDIA_BUCKET="acme-media", DJANGO_APP_MEDIA_SIGNER="web"))


class LoggingTest(unittest.TestCase):
    def test_text_logs_by_default(self):
        s = load({})
        self.assertEqual(s.LOGGING["formatters"]["plain"]["format"], "%(asctime)s %(levelname)s %(name)s %(message)s")
        self.assertIsNone(s.CLOUD_LOGGING_PROJECT)

    def test_json_logs_on_stdout_with_the_project(self):
        import cloud_logging

        s = load(PLATFORM_ENV)
        formatter = s.LOGGING["formatters"]["cloud"]
        self.assertIs(formatter["()"], cloud_logging.CloudLoggingFormatter)
        self.assertEqual(formatter["project"], "acme-prod")
        self.assertEqual(s.LOGGING["handlers"]["stdout"]["stream"], "ext://sys.stdout")
        self.assertEqual(s.LOGGING["root"], {"handlers": ["stdout"], "level": "INFO"})
        self.assertEqual(s.MIDDLEWARE[0], "cloud_logging.TraceMiddleware")

    def test_unknown_format_is_rejected(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_LOG_FORMAT must be one of text, json; got 'xml'"):
            load(platform(DJANGO_APP_LOG_FORMAT="xml"))


class ValidationTest(unittest.TestCase):
    def test_secret_key_is_required_in_platform_mode(self):
        env = platform()
        del env["DJANGO_APP_SECRET_KEY"]
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_SECRET_KEY is not set"):
            load(env)

    def test_debug_must_be_a_boolean(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_DEBUG must be 'true' or 'false', got 'maybe'"):
            load(platform(DJANGO_APP_DEBUG="maybe"))

    def test_removed_psycopg2_engine_name_is_explained(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "postgresql_psycopg2' was removed in Django 3.0"):
            load(platform(DJANGO_APP_DB_ENGINE="postgresql_psycopg2"))

    def test_gs_static_url_is_rejected(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "not a gs:// path"):
            load(platform(DJANGO_APP_STATIC_URL="gs://my-bucket/static/"))

    def test_conn_max_age_must_be_a_number(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_DB_CONN_MAX_AGE must be a whole number, got '1m'"):
            load(platform(DJANGO_APP_DB_CONN_MAX_AGE="1m"))

    def test_redis_without_locations_is_rejected(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_CACHE_LOCATION is empty"):
            load(platform(DJANGO_APP_CACHE_LOCATION=""))

    def test_csrf_origins_need_a_scheme(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "need a scheme, e.g. https://app.example.com"):
            load(platform(DJANGO_APP_CSRF_TRUSTED_ORIGINS="app.example.com"))


if __name__ == "__main__":
    unittest.main()
