"""``ENGINE: "resilience"``: Django's PostgreSQL backend, failing fast in serving processes.

A subclass of ``django.db.backends.postgresql`` (the way Django's docs suggest to change a
backend's behaviour) with three hooks, all inert unless the process called
:func:`resilience.enable_web_deadlines` (the web pods' gunicorn worker does; ``migrate`` and other
management commands do not):

* before a thread touches its connection (a cursor, and with it the ``CONN_HEALTH_CHECKS`` query
  and any reconnection): fail at once while the database's circuit is open;
* a connection attempt counts for the circuit (a failure against it, a success closes it);
* on each new connection: the ``statement_timeout`` and the watchdog (:func:`resilience.connection_ready`).
"""
from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base

from . import connection_ready, database_breaker, deadlines_enabled, fail_fast


class DatabaseWrapper(base.DatabaseWrapper):
    def ensure_connection(self) -> None:
        if self.connection is None:
            fail_fast(self)  # transaction.atomic() and friends connect without a cursor
        super().ensure_connection()

    def _cursor(self, name: Any = None) -> Any:
        fail_fast(self)
        return super()._cursor(name)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        counted = deadlines_enabled() and not getattr(self, "_platform_probe", False)
        try:
            connection = super().get_new_connection(conn_params)
        except Exception:
            if counted:
                database_breaker.failure()
            raise
        if counted:
            database_breaker.success()  # the server answered: a half-open trial succeeded
        return connection

    def init_connection_state(self) -> None:
        super().init_connection_state()
        connection_ready(self)
