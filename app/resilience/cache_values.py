"""Cache values that cannot run code when read back: signed JSON.

django-redis stores values with pickle unless told otherwise
(``django_redis.serializers.pickle.PickleSerializer``), and unpickling runs whatever the bytes say:
anyone who can write one key in Redis — a compromised pod, a hole in a NetworkPolicy — gets code
executed in every web pod and worker that reads it next. :class:`SignedJSONSerializer`, the
``SERIALIZER`` of :func:`resilience.redis_cache_options`, closes that two ways:

* **JSON only.** ``json.loads`` builds dicts, lists, strings, numbers, booleans and None; it
  never creates an object of a chosen class or calls anything. This holds even for a value
  signed with the right key, so even an attacker who holds ``SECRET_KEY`` (every pod of the app
  has it) cannot turn the cache into code execution in the other pods. Django took the same
  step for sessions: its ``PickleSerializer`` was deprecated in 4.1 and removed in 5.0
  (https://docs.djangoproject.com/en/5.0/releases/5.0/, "Features removed in 5.0").
* **Signed.** Each value carries an HMAC-SHA256 (``django.core.signing.Signer``, salt
  :data:`SALT`) under a key derived from ``SECRET_KEY``, which Redis never sees. A value written
  by anything but the app is refused, so a planted template fragment (rendered as trusted HTML)
  or session never reaches a page. ``SECRET_KEY_FALLBACKS`` are honoured: values written before a
  key rotation still read.

A refused value — not UTF-8, not signed with the app's key, not JSON — is logged as a warning
(never its content) and read as a cache miss: :class:`RejectedValue` is a django-redis
``ConnectionInterrupted``, which ``IGNORE_EXCEPTIONS`` turns into the caller's default.

What it costs: values must be JSON (a TypeError names the type otherwise); datetimes, Decimals
and UUIDs are written as strings (``DjangoJSONEncoder``) and come back as strings; Django's
per-view and per-site caches (``cache_page``, ``UpdateCacheMiddleware``), which store
``HttpResponse`` objects, cannot use this cache. Integers are stored raw by django-redis, neither
serialized nor signed, so that ``incr``/``decr`` stay atomic (Redis INCRBY); a Redis writer can
change an integer, as it can delete any key, but no integer runs code.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django_redis.exceptions import ConnectionInterrupted

log = logging.getLogger("resilience")

#: Salt of the values' HMAC: a key of its own, derived from SECRET_KEY, used for nothing else.
SALT = "django-platform.resilience.cache-values"


class RejectedValue(ConnectionInterrupted):
    """A value read from the cache that the app did not write; django-redis reads it as a miss."""

    def __init__(self, reason: str) -> None:
        super().__init__(connection=None)
        self.reason = reason

    def __str__(self) -> str:
        return f"cache value rejected: {self.reason}"


class SignedJSONSerializer:
    """django-redis ``SERIALIZER``: JSON text with an HMAC under a key derived from ``SECRET_KEY``."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        # Read SECRET_KEY and SECRET_KEY_FALLBACKS now: django-redis builds one serializer per cache
        # client, after settings are loaded.
        self._signer = signing.Signer(salt=SALT)

    def dumps(self, value: Any) -> bytes:
        try:
            text = json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))
        except TypeError as error:
            raise TypeError(
                f"the cache stores JSON values only (resilience/cache_values.py), got {type(value).__name__}: {error}"
            ) from None
        return self._signer.sign(text).encode()

    def loads(self, value: bytes) -> Any:
        try:
            text = self._signer.unsign(value.decode("utf-8"))
            return json.loads(text)
        except UnicodeDecodeError:
            reason = "not UTF-8 text (a pickle?)"
        except signing.BadSignature:
            reason = "not signed with the app's key"
        except ValueError:
            reason = "signed but not JSON"
        log.warning("cache value rejected: %s; read as a miss", reason, extra={"bytes": len(value)})
        # A cause that carries no byte of the value: django-redis logs the exception with its chain.
        raise RejectedValue(reason) from signing.BadSignature(reason)
