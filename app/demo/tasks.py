"""The demo's background tasks: a row in ``demo_task`` per task, its job in Procrastinate's queue.

The queue lives in PostgreSQL, beside the row (Procrastinate, https://procrastinate.readthedocs.io/):

- **Enqueue is transactional.** ``enqueue`` writes the row and defers its job in one transaction
  (Procrastinate's Django connector runs on Django's own connection): both are committed, or
  neither is. No row waits for a job that was never pushed, whatever fails.
- **Delivery is at least once.** A worker marks a job ``doing`` when it takes it and acknowledges
  it only after the work (``succeeded``, or ``todo`` again for a retry). A worker that dies with a
  job in hand stops sending heartbeats; ``demo_worker``'s stall sweep gives such jobs back to the
  queue (app/demo/management/commands/demo_worker.py).
- **The task is idempotent,** so a second delivery changes nothing: ``run_task`` does the work,
  then moves the row to ``done`` with a conditional UPDATE in its own transaction. Only one run
  can make that transition; a run that finds the row done already does nothing and logs nothing.
  The work here (a hash) has no side effect outside the row; a task that sends mail or calls an API
  records that it did so in the same transaction as its state change, or passes the row's id as
  the idempotency key of that API (docs/your-app.md, "Background tasks").

``demo_task.status`` is what an operator (and the reliability lab) watches: ``queued`` until a
worker starts the task, ``running`` while one works on it (and after its worker died, until the
task is delivered again), ``done`` once.
"""
from __future__ import annotations

import hashlib
import logging
import socket
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from .models import Task

log = logging.getLogger("demo.worker")

#: A task that raises (the database went away mid-task, say) is retried this many times in all,
#: waiting 2, 4, 8, … s in between; a worker that dies is covered by the stall sweep instead.
MAX_ATTEMPTS = 10


def tasks_enabled() -> bool:
    """The queue needs PostgreSQL: the settings helper leaves Procrastinate out without it."""
    return "procrastinate.contrib.django" in settings.INSTALLED_APPS


def enqueue(text: str, seconds: float = 0) -> Task:
    """Records a task and queues its job, in one transaction."""
    if not tasks_enabled():
        raise ImproperlyConfigured(
            "The demo's task queue lives in PostgreSQL (Procrastinate): set DJANGO_APP_DB_ENGINE=postgresql "
            "(the platform always does)."
        )
    with transaction.atomic():
        task = Task.objects.create(text=text, seconds=seconds)
        run_task.defer(task_id=task.pk)
    return task


@app.task(name="demo.run_task", retry=RetryStrategy(max_attempts=MAX_ATTEMPTS, exponential_wait=2))
def run_task(task_id: int) -> bool:
    """Does one task: works ``seconds``, stores the SHA-256 of its text. True if this run finished it."""
    return run(task_id)


def run(task_id: int) -> bool:
    """The work of ``run_task``, idempotent: only the run that moves the row to ``done`` returns True."""
    task = Task.objects.filter(pk=task_id).first()
    if task is None or task.status == Task.DONE:
        return False
    Task.objects.filter(pk=task_id).exclude(status=Task.DONE).update(status=Task.RUNNING)
    log.info("worker: task %s started", task_id, extra={"task": task_id})
    if task.seconds > 0:
        time.sleep(task.seconds)
    result = hashlib.sha256(task.text.encode("utf-8")).hexdigest()
    with transaction.atomic():
        finished = (
            Task.objects.filter(pk=task_id)
            .exclude(status=Task.DONE)
            .update(status=Task.DONE, result=result, done_at=timezone.now(), done_by=socket.gethostname())
        )
    if finished:
        log.info("worker: task %s done", task_id, extra={"task": task_id})
    return bool(finished)
