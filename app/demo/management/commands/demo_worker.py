"""``python manage.py demo_worker``: the reference app's background worker.

Runs the jobs web requests deferred (demo/tasks.py) with Procrastinate's worker
(https://procrastinate.readthedocs.io/en/stable/howto/basics/worker.html), one job at a time,
plus what makes delivery at-least-once when pods die:

- **Acknowledgement after the work.** A job is ``doing`` while it runs and becomes ``succeeded``
  (then deleted: the ``demo_task`` row is the record) only after the task returned; a task that
  raised is retried by its retry strategy.
- **Stall sweep.** Every worker sends a heartbeat every :data:`HEARTBEAT_SECONDS`. Every
  :data:`SWEEP_SECONDS` each worker looks for ``doing`` jobs of workers silent for
  :data:`STALLED_SECONDS` (SIGKILLed, OOM-killed, their node gone) and gives them back to the queue
  (``JobManager.get_stalled_jobs`` and ``retry_job``, the recipe of Procrastinate's "Retry stalled
  jobs", https://procrastinate.readthedocs.io/en/stable/howto/production/retry_stalled_jobs.html;
  its periodic-task form would wait behind the task in hand, so this runs beside the worker).
- **Heartbeats until the last task ends.** Procrastinate stops the heartbeat at the start of a
  graceful shutdown (``Worker._shutdown`` cancels its side tasks, then waits for the jobs); a task
  longer than the stall window would then be handed to a second worker while the first still
  finishes it. A worker middleware keeps the heartbeat going while any job runs.
- **A database outage costs no restart and no stuck job.** When a query of the worker fails with
  a connection error (a PostgreSQL restart, a failover), the worker stops taking jobs, finishes
  the one in hand and starts again under a new identity once the database answers. A job whose
  acknowledgement was lost stays ``doing`` under the old identity, which no longer sends
  heartbeats: the stall sweep gives it back, and the task's idempotence makes the second run a
  no-op. Without the new identity, a job whose acknowledgement failed would stay ``doing`` under
  a worker that still sends heartbeats, forever.

SIGTERM (Kubernetes stops the pod: rollout, scale-down, node drain, Spot preemption) or SIGINT:
take no new job, finish the one in hand, exit 0. Kubernetes sends SIGKILL after the pod's
``terminationGracePeriodSeconds``
(https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination); a task cut
there is re-queued by the stall sweep. A second SIGTERM/SIGINT asks the task in hand to abort.
``--once`` does what is queued and exits (for a test or a one-off Job).

Database connections (``REFERENCE_WORKER_DB_CONNECTIONS`` in components/workers.ts, production's
``workers.tasks.dbConnections``): 1 for the task in hand (opened for the task, closed after it) +
:data:`POOL_MAX_SIZE` + 1 ``LISTEN``.
Each is named ``demo_worker <pod> <pid>`` (``application_name`` in ``pg_stat_activity``).
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Any

import psycopg
import psycopg_pool
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from procrastinate import PsycopgConnector, exceptions
from procrastinate.contrib.django import app
from procrastinate.contrib.django.utils import connector_params

from demo import tasks

log = logging.getLogger("demo.worker")

#: Connections of Procrastinate's pool (jobs, heartbeats, acknowledgements, the sweep).
POOL_MAX_SIZE = 2
#: Seconds between heartbeats.
HEARTBEAT_SECONDS = 5.0
#: Seconds without a heartbeat after which a worker's jobs are re-queued (WORKER_STALLED_SECONDS in
#: components/workers.ts). Longer than a few missed heartbeats, so a worker that is merely slow to
#: reach the database is not taken for dead.
STALLED_SECONDS = 15.0
#: Seconds between two looks for stalled jobs.
SWEEP_SECONDS = 5.0
#: Longest wait between two attempts to reach the database after an error.
MAX_BACKOFF_SECONDS = 30.0

#: Errors that mean "the database cannot be reached", as opposed to a refusal of one query.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
    OSError,
)


def _connection_error(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, CONNECTION_ERRORS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class WatchedConnector(PsycopgConnector):
    """Procrastinate's psycopg connector that reports connection errors of any of its queries."""

    def __init__(self, *, on_connection_error: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self._on_connection_error = on_connection_error

    def _seen(self, error: BaseException) -> None:
        if _connection_error(error):
            self._on_connection_error(error)

    async def execute_query_async(self, query, **arguments):
        try:
            return await super().execute_query_async(query, **arguments)
        except Exception as error:
            self._seen(error)
            raise

    async def execute_query_one_async(self, query, **arguments):
        try:
            return await super().execute_query_one_async(query, **arguments)
        except Exception as error:
            self._seen(error)
            raise

    async def execute_query_all_async(self, query, **arguments):
        try:
            return await super().execute_query_all_async(query, **arguments)
        except Exception as error:
            self._seen(error)
            raise


async def keep_heartbeat(call_next, context, worker):
    """Worker middleware: heartbeats while the job runs, graceful shutdown included."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if worker.worker_id is None:
                continue
            try:
                await worker.app.job_manager.update_heartbeat(worker.worker_id)
            except exceptions.ConnectorException as error:
                log.warning("worker: heartbeat failed: %s", error)

    beating = asyncio.create_task(beat(), name="heartbeat while a job runs")
    try:
        return await call_next()
    finally:
        beating.cancel()


async def sweep_stalled() -> None:
    """Gives the jobs of workers silent for STALLED_SECONDS back to the queue, every SWEEP_SECONDS."""
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECONDS)
        except exceptions.ConnectorException as error:
            log.warning("worker: stall sweep failed: %s", error)
            continue
        for job in stalled:
            try:
                await app.job_manager.retry_job(job)
            except exceptions.ConnectorException as error:
                # Another worker's sweep was first, or the job just ended: nothing to do.
                log.info("worker: job %s not re-queued: %s", job.id, str(error).strip())
                continue
            log.warning(
                "worker: job %s (%s) re-queued: its worker (%s) stopped sending heartbeats %.0f s ago or more",
                job.id, job.call_string, f"id {job.worker_id}" if job.worker_id is not None else "gone", STALLED_SECONDS,
                extra={"job_id": job.id, "stalled_worker": job.worker_id, "attempts": job.attempts + 1},
            )


class Command(BaseCommand):
    help = "Runs queued demo tasks; exits 0 after the task in hand on SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Do what is queued, then exit.")

    def handle(self, *args, once: bool = False, **options):
        if not tasks.tasks_enabled():
            raise CommandError("The demo's task queue lives in PostgreSQL: set DJANGO_APP_DB_ENGINE=postgresql.")
        # Name every connection of this process in pg_stat_activity (Django's, in the task's thread,
        # and Procrastinate's pool and listener, built from the same parameters).
        name = f"demo_worker {socket.gethostname()} {os.getpid()}"[:63]
        database = connections.settings["default"]
        database.setdefault("OPTIONS", {})["application_name"] = name
        # Sync tasks run in threads of the event loop's executor, and Django keeps one connection
        # per thread: with persistent connections (CONN_MAX_AGE > 0) each thread the executor ever
        # used would keep one open. Closed after each task instead (Procrastinate's Django
        # middleware calls close_old_connections() around every task), so the task in hand holds
        # the only one; a task takes seconds, a connection milliseconds.
        database["CONN_MAX_AGE"] = 0
        asyncio.run(self.supervise(once))

    async def supervise(self, once: bool) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        running: dict[str, asyncio.Task[Any]] = {}

        def on_signal(signum: int) -> None:
            log.info("worker: %s received, finishing the task in hand", signal.Signals(signum).name)
            stopping.set()
            worker = running.get("worker")
            if worker is not None and not worker.done():
                worker.cancel()  # once: graceful stop; twice: abort the task in hand

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        log.info("worker: started", extra={"once": once})
        backoff = 1.0
        while not stopping.is_set():
            trouble = asyncio.Event()

            def on_connection_error(error: BaseException) -> None:
                if not trouble.is_set():
                    log.warning("worker: database connection error (%s); restarting the worker", str(error).strip())
                trouble.set()

            connector = WatchedConnector(
                on_connection_error=on_connection_error,
                kwargs=connector_params("default"),
                min_size=1,
                max_size=POOL_MAX_SIZE,
            )
            try:
                with app.replace_connector(connector):
                    async with app.open_async():
                        clean = await self.run_once(running, trouble, once)
            except (exceptions.ConnectorException, *CONNECTION_ERRORS) as error:
                if not _connection_error(error):
                    raise
                log.warning("worker: database unavailable (%s); next attempt in %.0f s", str(error).strip(), backoff)
                clean = False
            if once and clean:
                break
            if clean:
                backoff = 1.0
            try:
                await asyncio.wait_for(stopping.wait(), timeout=backoff)
            except asyncio.TimeoutError:
                pass
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        log.info("worker: stopped")

    async def run_once(self, running: dict[str, asyncio.Task[Any]], trouble: asyncio.Event, once: bool) -> bool:
        """One worker identity, until a stop signal, a connection error or (``--once``) an empty queue."""
        worker = asyncio.create_task(
            app.run_worker_async(
                concurrency=1,
                wait=not once,
                install_signal_handlers=False,
                listen_notify=True,
                delete_jobs="successful",
                update_heartbeat_interval=HEARTBEAT_SECONDS,
                stalled_worker_timeout=STALLED_SECONDS,
                worker_middleware=[keep_heartbeat],
            ),
            name="procrastinate worker",
        )
        running["worker"] = worker
        sweeper = asyncio.create_task(sweep_stalled(), name="stall sweep")
        watcher = asyncio.create_task(trouble.wait(), name="connection errors")
        try:
            await asyncio.wait({worker, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if trouble.is_set() and not worker.done():
                worker.cancel()  # finish the task in hand, then start again under a new identity
            try:
                await worker
            except asyncio.CancelledError:
                pass
        finally:
            running.pop("worker", None)
            sweeper.cancel()
            watcher.cancel()
        return not trouble.is_set()
