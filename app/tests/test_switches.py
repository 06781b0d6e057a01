"""The reference app's switches: the admin, anonymous uploads and anonymous tasks (settings only;
tests/local.test.ts runs the rendered stacks and checks each route answers 404 when off).

Off unless the platform turns them on (DJANGO_APP_ADMIN_ENABLED, DJANGO_APP_DEMO_ANONYMOUS_UPLOADS,
DJANGO_APP_DEMO_ANONYMOUS_TASKS, rendered from app.* config); on in plain local development.
"""
import importlib
import os
import sys
import unittest
from types import ModuleType
from unittest import mock

from django.core.exceptions import ImproperlyConfigured

# Platform mode with nothing but the values these tests need (sqlite, local cache).
PLATFORM = {"DJANGO_APP_SECRET_KEY": "s" * 50, "DJANGO_APP_ALLOWED_HOSTS": "app.example.com"}


def load(environ: dict) -> ModuleType:
    with mock.patch.dict(os.environ, environ, clear=True):
        sys.modules.pop("config.settings", None)
        return importlib.import_module("config.settings")


class SwitchesTest(unittest.TestCase):
    def test_everything_is_off_in_platform_mode_unless_turned_on(self):
        s = load(PLATFORM)
        self.assertEqual((s.ADMIN_ENABLED, s.DEMO_ANONYMOUS_UPLOADS, s.DEMO_ANONYMOUS_TASKS), (False, False, False))

    def test_each_switch_turns_its_feature_on(self):
        s = load({**PLATFORM, "DJANGO_APP_ADMIN_ENABLED": "true", "DJANGO_APP_ADMIN_PATH": "staff-7f3a/"})
        self.assertEqual((s.ADMIN_ENABLED, s.ADMIN_PATH, s.DEMO_ANONYMOUS_UPLOADS), (True, "staff-7f3a/", False))
        s = load({**PLATFORM, "DJANGO_APP_DEMO_ANONYMOUS_UPLOADS": "true", "DJANGO_APP_DEMO_ANONYMOUS_TASKS": "false"})
        self.assertEqual((s.ADMIN_ENABLED, s.DEMO_ANONYMOUS_UPLOADS, s.DEMO_ANONYMOUS_TASKS), (False, True, False))
        s = load({**PLATFORM, "DJANGO_APP_DEMO_ANONYMOUS_TASKS": "true"})
        self.assertEqual((s.DEMO_ANONYMOUS_UPLOADS, s.DEMO_ANONYMOUS_TASKS), (False, True))

    def test_plain_local_development_has_everything_at_admin(self):
        s = load({})
        self.assertEqual((s.ADMIN_ENABLED, s.ADMIN_PATH, s.DEMO_ANONYMOUS_UPLOADS, s.DEMO_ANONYMOUS_TASKS), (True, "admin/", True, True))

    def test_an_enabled_admin_needs_its_path(self):
        with self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_ADMIN_PATH"):
            load({**PLATFORM, "DJANGO_APP_ADMIN_ENABLED": "true"})

    def test_the_admin_path_is_a_relative_prefix_ending_in_a_slash(self):
        for bad in ("/admin/", "admin", "../x/", "a b/", "healthz/"):
            with self.subTest(path=bad), self.assertRaisesRegex(ImproperlyConfigured, "DJANGO_APP_ADMIN_PATH"):
                load({**PLATFORM, "DJANGO_APP_ADMIN_ENABLED": "true", "DJANGO_APP_ADMIN_PATH": bad})


class SessionsTest(unittest.TestCase):
    def test_sessions_stay_in_the_database_not_in_the_cache(self):
        # docs/architecture.md relies on it: a Redis writer cannot touch sessions. A cache-backed
        # SESSION_ENGINE would put them behind the signed-JSON serializer (resilience/cache_values.py).
        from django.conf import global_settings

        s = load(PLATFORM)
        self.assertEqual(getattr(s, "SESSION_ENGINE", global_settings.SESSION_ENGINE), "django.contrib.sessions.backends.db")
