"""TLS to the cache: trust exactly the cache's own CA.

A Memorystore instance with in-transit encryption serves TLS only and signs its server certificate
with a CA of its own, listed in the instance's ``serverCaCerts``; clients must trust that CA
(https://cloud.google.com/memorystore/docs/redis/about-in-transit-encryption). The platform
delivers the PEM bundle in DJANGO_APP_CACHE_CA_CERT and the app passes it to django-redis through
``CONNECTION_POOL_KWARGS``, which django-redis hands to redis-py's ``ConnectionPool.from_url``
(a ``connection_class`` given there wins over the one the ``rediss://`` scheme picks).

Why a connection class of our own rather than redis-py's ``SSLConnection`` with ``ssl_ca_data``:

* Clients reach Memorystore by IP, and its server certificate names the IP in the subject CN, not
  in a subjectAltName (https://github.com/envoyproxy/ratelimit/pull/409), which Python's hostname
  check requires. redis-py 6 checks host names by default
  (https://github.com/redis/redis-py/issues/3629), so hostname checking must be off.
* With hostname checking off, redis-py's ``SSLConnection`` would still accept any certificate
  chaining to a *system* CA, since it starts from ``ssl.create_default_context()``: anyone on the
  network with any publicly trusted certificate could pose as the cache.

So :class:`InstanceCASSLConnection` verifies the chain (CERT_REQUIRED, TLS 1.2 or later, the
minimum Memorystore supports) against the given CA bundle only. That CA is unique to the instance,
so a certificate it signed authenticates the instance even without a name check. Written for the
redis-py of the image (6.x, app/requirements.lock), whose ``SSLConnection`` keeps ``ssl_ca_data``
as ``self.ca_data``.
"""
from __future__ import annotations

import ssl

from django.core.exceptions import ImproperlyConfigured
from redis.connection import Connection, SSLConnection


class InstanceCASSLConnection(SSLConnection):
    """An ``SSLConnection`` that trusts only ``ssl_ca_data`` (no system CAs) and checks no host name."""

    def _connect(self):
        sock = Connection._connect(self)  # the plain TCP socket; the TLS layer is ours
        try:
            return tls_context(self.ca_data).wrap_socket(sock, server_hostname=self.host)
        except OSError:
            sock.close()
            raise


def tls_context(ca_pem: str) -> ssl.SSLContext:
    """Client context: certificate required, signed by ``ca_pem`` and nothing else; TLS 1.2+."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # loads no default CAs
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=ca_pem)
    return context


def tls_pool_kwargs(ca_pem: str) -> dict:
    """django-redis ``CONNECTION_POOL_KWARGS`` for ``rediss://`` locations signed by ``ca_pem``.

    The bundle is parsed here, at startup: a cache error at run time is swallowed
    (IGNORE_EXCEPTIONS), so a broken CA would otherwise only show as a cache that never hits.
    """
    if "-----BEGIN CERTIFICATE-----" not in ca_pem:
        raise ImproperlyConfigured("DJANGO_APP_CACHE_CA_CERT must hold PEM certificates (-----BEGIN CERTIFICATE-----).")
    try:
        tls_context(ca_pem)
    except (ssl.SSLError, ValueError) as error:
        raise ImproperlyConfigured(f"DJANGO_APP_CACHE_CA_CERT is not a valid PEM certificate bundle: {error}") from None
    return {
        "connection_class": InstanceCASSLConnection,
        "ssl_ca_data": ca_pem,
        "ssl_cert_reqs": "required",
        "ssl_check_hostname": False,
    }
