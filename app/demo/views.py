"""Probe endpoints and the demo page."""
import logging
import socket

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .models import Visit

log = logging.getLogger(__name__)

#: Cache key of the latest visit id (written on the master, read back from replicas).
LAST_VISIT_KEY = "demo:last-visit"
#: Cache key of the visit statistics, recomputed at most every STATS_TTL seconds.
STATS_KEY = "demo:stats"
STATS_TTL = 10


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process serves requests. Touches no dependency, so an outage elsewhere
    never gets healthy pods restarted."""
    return HttpResponse("ok\n", content_type="text/plain")


def _database_ok() -> bool:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except DatabaseError as error:
        log.warning("readiness: database unavailable: %s", error)
        # Drop the broken connection so the next request reconnects.
        connection.close()
        return False


def _cache_state() -> str:
    """'ok', 'unavailable' or 'local' (a per-process cache that cannot fail)."""
    if settings.CACHES["default"]["BACKEND"] != settings.DJANGO_REDIS:
        return "local"
    from django_redis import get_redis_connection

    try:
        get_redis_connection("default").ping()
        return "ok"
    except Exception as error:  # redis raises several unrelated types; any failure means unavailable
        log.warning("readiness: cache unavailable: %s", error)
        return "unavailable"


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 503 without the database. The cache is reported but does not decide:
    pages degrade without it, and a cache outage must not take every pod out of the load balancer."""
    database = "ok" if _database_ok() else "unavailable"
    body = {"database": database, "cache": _cache_state()}
    return JsonResponse(body, status=200 if database == "ok" else 503)


def _stats() -> dict:
    stats = cache.get(STATS_KEY)
    if stats is None:
        first = Visit.objects.order_by("created_at").first()
        stats = {"total": Visit.objects.count(), "since": first.created_at if first else None}
        cache.set(STATS_KEY, stats, STATS_TTL)
    return stats


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Records a visit in the database, remembers it in the cache and shows a summary."""
    visit = Visit.objects.create(served_by=socket.gethostname())
    cache.set(LAST_VISIT_KEY, visit.pk, timeout=None)
    return render(request, "demo/index.html", {"visit": visit, "stats": _stats()})
