"""Cache values read back from Redis cannot run code (resilience/cache_values.py).

django-redis's default serializer is pickle: whoever can write a key in Redis gets code executed by
every pod that reads it. These tests feed the serializer the platform's options (redis_cache_options)
exactly as django-redis builds it, then hand it what an attacker could plant.
"""
import logging
import os
import pickle
import tempfile
from datetime import datetime, timezone
from unittest import TestCase

import django
from django.conf import settings

if not settings.configured:
    settings.configure(SECRET_KEY="unit-test-key-" + "s" * 40, SECRET_KEY_FALLBACKS=[], USE_TZ=True)
    django.setup()

from django.test.utils import override_settings  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402
from django_redis.exceptions import ConnectionInterrupted  # noqa: E402

from resilience import redis_cache_options  # noqa: E402


class _Planted:
    """A pickle whose loading creates ``path``: what an attacker with write access to Redis stores."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def serializer():
    """The serializer django-redis builds from the platform's cache OPTIONS (DefaultClient.__init__)."""
    options = redis_cache_options("password")
    path = options.get("SERIALIZER", "django_redis.serializers.pickle.PickleSerializer")
    return import_string(path)(options=options)


class CacheValuesTest(TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="cache-values-")
        self.target = os.path.join(self.dir, "pwned")

    def tearDown(self) -> None:
        if os.path.isdir(self.target):
            os.rmdir(self.target)
        os.rmdir(self.dir)

    def test_a_planted_pickle_runs_nothing_and_reads_as_a_miss(self) -> None:
        payload = pickle.dumps(_Planted(self.target))
        with self.assertLogs("resilience", logging.WARNING) as logs, self.assertRaises(ConnectionInterrupted):
            serializer().loads(payload)
        self.assertFalse(os.path.exists(self.target), "the pickle ran")
        self.assertIn("cache value rejected", logs.output[0])

    def test_values_round_trip_as_json(self) -> None:
        s = serializer()
        value = {"total": 3, "since": None, "names": ["a", "b"], "html": "<p>fragment</p>", "ok": True}
        self.assertEqual(s.loads(s.dumps(value)), value)
        # Datetimes are stored as ISO 8601 strings (DjangoJSONEncoder) and come back as strings.
        when = datetime(2026, 12, 8, 1, 2, 3, tzinfo=timezone.utc)
        self.assertEqual(s.loads(s.dumps({"at": when})), {"at": "2026-12-08T01:02:03Z"})

    def test_a_value_not_signed_with_the_apps_key_is_rejected(self) -> None:
        s = serializer()
        signed = s.dumps("<p>fragment</p>")
        # Unsigned JSON, a changed value with the old signature, a value signed with another key.
        forged = [b'"<script>alert(1)</script>"', signed.replace(b"fragment", b"frogment")]
        with override_settings(SECRET_KEY="another-key-" + "x" * 40):
            forged.append(serializer().dumps("<p>fragment</p>"))
        for value in forged:
            with self.subTest(value=value), self.assertLogs("resilience", logging.WARNING), self.assertRaises(ConnectionInterrupted):
                s.loads(value)

    def test_values_signed_with_a_fallback_key_still_read_during_a_key_rotation(self) -> None:
        old = serializer().dumps({"n": 1})
        with override_settings(SECRET_KEY="rotated-key-" + "r" * 40, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
            self.assertEqual(serializer().loads(old), {"n": 1})

    def test_a_value_json_cannot_hold_is_refused_when_written(self) -> None:
        with self.assertRaisesRegex(TypeError, "JSON"):
            serializer().dumps(object())
