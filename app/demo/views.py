"""Probe endpoints, the demo page, uploads and background tasks."""
import logging
import socket

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import tasks
from .models import Task, Upload, Visit

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


#: Uploads listed on the uploads page.
RECENT_UPLOADS = 10
#: Largest file the demo accepts.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@never_cache
@require_http_methods(["GET", "POST"])
def uploads(request: HttpRequest) -> HttpResponse:
    """Lists recent uploads with links from the default storage (signed URLs on the private bucket)
    and stores a posted ``file`` there."""
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a file."
        elif upload.size > MAX_UPLOAD_BYTES:
            error = f"Files up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB, please."
        else:
            saved = Upload.objects.create(file=upload, size=upload.size)
            log.info("upload stored", extra={"upload": saved.pk, "object": saved.file.name, "bytes": saved.size})
            return redirect("uploads")
    recent = list(Upload.objects.all()[:RECENT_UPLOADS])
    return render(request, "demo/uploads.html", {"uploads": recent, "error": error}, status=400 if error else 200)


@require_POST
def enqueue_task(request: HttpRequest) -> HttpResponse:
    """Queues a task for the worker; answers 303 to the task's status."""
    text = request.POST.get("text", "")
    try:
        seconds = min(max(float(request.POST.get("seconds", "0") or 0), 0.0), 30.0)
    except ValueError:
        seconds = 0.0
    if not tasks.tasks_enabled():
        return HttpResponse("The task queue needs PostgreSQL (DJANGO_APP_DB_ENGINE=postgresql).\n", status=503, content_type="text/plain")
    task = tasks.enqueue(text, seconds)
    log.info("task queued", extra={"task": task.pk})
    response = HttpResponse(status=303)  # See Other: GET the task's status next
    response["Location"] = reverse("task", args=[task.pk])
    return response


@never_cache
@require_GET
def task_status(request: HttpRequest, task_id: int) -> JsonResponse:
    """A task's state as JSON."""
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        raise Http404("no such task")
    return JsonResponse({"id": task.pk, "status": task.status, "result": task.result, "done_by": task.done_by})
