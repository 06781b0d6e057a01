"""Probe endpoints, the demo page, uploads and background tasks.

Uploads and tasks answer 404 to anonymous visitors unless the stack turns them on
(``DEMO_ANONYMOUS_UPLOADS``, ``DEMO_ANONYMOUS_TASKS``; config/switches.py): off in production by default.
"""
import logging
import socket

import resilience
from config.switches import allowed, anonymous_switch
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
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
    never gets healthy pods restarted; on the probe address (web_worker.py) it has threads of its
    own, so busy page threads never make it fail."""
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 503 when this pod cannot reach the database (resilience.database_ready: page
    traffic's evidence or a short-lived connection of its own, a deadline below the probe's timeout,
    cached for a second). The cache is reported
    from its circuit breaker, without I/O, and never decides: pages answer without it, and a cache
    outage must not take every pod out of the load balancer."""
    database = "ok" if resilience.database_ready() else "unavailable"
    body = {"database": database, "cache": resilience.cache_state()}
    return JsonResponse(body, status=200 if database == "ok" else 503)


def _stats() -> dict:
    """Visit count and first visit, from the cache when it has them. The cache holds JSON
    (resilience/cache_values.py), so the time travels as an ISO 8601 string."""
    stats = cache.get(STATS_KEY)
    if stats is None:
        first = Visit.objects.order_by("created_at").first()
        stats = {"total": Visit.objects.count(), "since": first.created_at.isoformat() if first else None}
        cache.set(STATS_KEY, stats, STATS_TTL)
    return {**stats, "since": parse_datetime(stats["since"]) if stats.get("since") else None}


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Records a visit in the database, remembers it in the cache and shows a summary."""
    visit = Visit.objects.create(served_by=socket.gethostname())
    cache.set(LAST_VISIT_KEY, visit.pk, timeout=None)
    switches = {"uploads_enabled": allowed(request, "DEMO_ANONYMOUS_UPLOADS"), "tasks_enabled": allowed(request, "DEMO_ANONYMOUS_TASKS")}
    return render(request, "demo/index.html", {"visit": visit, "stats": _stats(), **switches})



#: Uploads listed on the uploads page.
RECENT_UPLOADS = 10
#: Largest file the demo accepts.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@anonymous_switch("DEMO_ANONYMOUS_UPLOADS")
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


@anonymous_switch("DEMO_ANONYMOUS_TASKS")
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


@anonymous_switch("DEMO_ANONYMOUS_TASKS")
@never_cache
@require_GET
def task_status(request: HttpRequest, task_id: int) -> JsonResponse:
    """A task's state as JSON."""
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        raise Http404("no such task")
    return JsonResponse({"id": task.pk, "status": task.status, "result": task.result, "done_by": task.done_by})
