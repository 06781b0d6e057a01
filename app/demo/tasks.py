"""A minimal task queue for the demo: task ids in a Redis list, task rows in PostgreSQL.

``enqueue`` writes the row, then pushes its id on the list through django-redis' connection (the
cache's master, the first DJANGO_APP_CACHE_LOCATION); the ``demo_worker`` command pops ids and does
the work. The row is the source of truth: a task whose id was lost (a worker killed mid-task)
stays visible as ``queued``/``running`` and can be pushed again.
"""
from __future__ import annotations

import hashlib
import socket
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .models import Task

#: The Redis list holding queued task ids (oldest at the head).
QUEUE_KEY = "demo:tasks"


def redis():
    """The raw redis-py client of the default cache (its master), or a clear error without Redis."""
    if settings.CACHES["default"]["BACKEND"] != settings.DJANGO_REDIS:
        raise ImproperlyConfigured(
            "The demo task queue lives in Redis: set DJANGO_APP_CACHE_BACKEND to django-redis "
            "(the platform always does)."
        )
    from django_redis import get_redis_connection

    return get_redis_connection("default", write=True)


def enqueue(text: str, seconds: float = 0) -> Task:
    """Records a task and queues its id for a worker."""
    task = Task.objects.create(text=text, seconds=seconds)
    redis().rpush(QUEUE_KEY, task.pk)
    return task


def next_task_id() -> int | None:
    """Pops the oldest queued id, or None when the queue is empty."""
    value = redis().lpop(QUEUE_KEY)
    return None if value is None else int(value)


def run(task_id: int) -> Task | None:
    """Does one task: marks it running, works ``seconds``, stores the SHA-256 of its text."""
    task = Task.objects.filter(pk=task_id).first()
    if task is None or task.status == Task.DONE:
        return None
    task.status = Task.RUNNING
    task.save(update_fields=["status"])
    if task.seconds > 0:
        time.sleep(task.seconds)
    task.result = hashlib.sha256(task.text.encode("utf-8")).hexdigest()
    task.status = Task.DONE
    task.done_at = timezone.now()
    task.done_by = socket.gethostname()
    task.save(update_fields=["result", "status", "done_at", "done_by"])
    return task
