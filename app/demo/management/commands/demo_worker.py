"""``python manage.py demo_worker``: the reference app's background worker.

Pops task ids that web requests queued in Redis (demo/tasks.py) and does them. ``--once`` does
what is queued and exits (for a test or a one-off Job). Without it, it waits for work until
SIGTERM or SIGINT: Kubernetes sends SIGTERM when it stops the pod, then SIGKILL after the pod's
``terminationGracePeriodSeconds``
(https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination). The worker
finishes the task in hand, takes no new one and exits 0, so a rollout or a scale-down never
cuts a task in half as long as one task takes less than the grace period.
"""
from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from demo import tasks

log = logging.getLogger("demo.worker")

#: Seconds between looks at an empty queue.
IDLE_WAIT_SECONDS = 1.0


class Command(BaseCommand):
    help = "Runs queued demo tasks; exits 0 after the current task on SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Do what is queued, then exit.")

    def handle(self, *args, once: bool = False, **options):
        stop = threading.Event()

        def request_stop(signum, frame):
            log.info("worker: %s received, finishing the current task", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        log.info("worker: started", extra={"once": once})
        done = 0
        while not stop.is_set():
            # A long-running process outside the request cycle: drop connections that are too old
            # or broken (CONN_MAX_AGE / CONN_HEALTH_CHECKS), as Django does around each request.
            close_old_connections()
            task_id = tasks.next_task_id()
            if task_id is None:
                if once:
                    break
                stop.wait(IDLE_WAIT_SECONDS)
                continue
            task = tasks.run(task_id)
            if task is not None:
                done += 1
                log.info("worker: task %s done", task.pk, extra={"task": task.pk})
        log.info("worker: exiting after %d task(s)", done, extra={"tasks_done": done})
