"""What a Django project needs to keep answering when its cache or its database hangs.

Copy this directory next to ``manage.py`` with ``web_worker.py`` (docs/your-app.md); the platform's
web pods run gunicorn with ``web_worker.WebWorker``, which turns the database deadlines on. Every
number below is derived, with its reasons, in components/podTemplates.ts; tests/resilience.test.ts
checks that the two agree and runs the app against a Redis and a PostgreSQL that stop answering.

The cache is an accelerator: pages must answer without it.

* :class:`~resilience.cache_values.SignedJSONSerializer` (``OPTIONS["SERIALIZER"]``) stores signed
  JSON instead of django-redis's default pickle, so a value planted in Redis cannot run code in
  the pods that read it; a value the app did not write is a logged cache miss.
* :class:`CircuitBreakerRedis` is the redis-py client django-redis builds
  (``OPTIONS["REDIS_CLIENT_CLASS"]``, see :func:`redis_cache_options`). Every command to one Redis
  server goes through that server's :class:`Breaker`: after ``BREAKER_FAILURES`` timeouts or
  connection errors in a row the server is skipped (an immediate ``ConnectionError``, which
  ``IGNORE_EXCEPTIONS`` turns into a cache miss) for ``BREAKER_COOLDOWN_SECONDS``; then one call
  tries it again (half-open) and its outcome closes or re-opens the circuit. A hung master thus
  costs a few threads ``SOCKET_TIMEOUT`` once, instead of every cache call of every page.

The database is a real dependency: a page needs it, and readiness reports it.

* ``ENGINE: "resilience"`` (:mod:`resilience.base`) is Django's PostgreSQL backend with the hooks
  below; ``connect_timeout`` (:func:`database_options`) bounds a connection attempt, and psycopg
  enforces it on the client side, so it holds when the server accepts TCP but never answers.
* In the web pods only (:func:`enable_web_deadlines`, called by the gunicorn worker, never by
  ``migrate`` or other management commands): every new connection gets a server-side
  ``statement_timeout``, and a watchdog thread cuts the socket of a statement that outlives it by
  ``WATCHDOG_GRACE_SECONDS`` — the case of a server (or a path to it) that is frozen and cannot
  enforce its own timeout. A database :class:`Breaker` opens on such failures and on a failed
  readiness check; while it is open, a page's first use of the database fails at once (no
  connection attempt, no health check) and statements in flight are cut.
* :func:`database_ready` is the readiness check: a page statement that just succeeded, or else
  ``SELECT 1`` on a short-lived connection of its own (never one of the page threads'), bounded by
  ``READINESS_DATABASE_DEADLINE_SECONDS`` so that the probe gets a 503 rather than a timeout, and
  cached for ``READINESS_CACHE_SECONDS`` so that the load balancer's many health checkers cost one
  check a second at most; a probe that finds
  a check under way takes the last result instead of waiting, so a readiness check never holds
  more than one of the probe threads.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from typing import Any, Callable

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

#: django-redis ``SOCKET_CONNECT_TIMEOUT`` and ``SOCKET_TIMEOUT``, seconds.
CACHE_CONNECT_TIMEOUT_SECONDS = 0.5
CACHE_SOCKET_TIMEOUT_SECONDS = 0.5
#: Failures in a row (timeouts, refused or dropped connections) that open a circuit.
BREAKER_FAILURES = 2
#: How long an open circuit skips its server before one call tries it again.
BREAKER_COOLDOWN_SECONDS = 5.0

#: libpq/psycopg ``connect_timeout`` (psycopg enforces at least 2 s).
DATABASE_CONNECT_TIMEOUT_SECONDS = 2
#: Server-side ``statement_timeout`` of the web pods' connections.
DATABASE_STATEMENT_TIMEOUT_SECONDS = 5
#: The watchdog cuts a statement this long after its ``statement_timeout`` (the server had its chance).
WATCHDOG_GRACE_SECONDS = 1
#: Longest the readiness check waits for the database (connect or ``SELECT 1``).
READINESS_DATABASE_DEADLINE_SECONDS = 2
#: How long a readiness result is reused.
READINESS_CACHE_SECONDS = 1.0
#: How often the watchdog looks at the connections.
WATCHDOG_TICK_SECONDS = 0.1


class Breaker:
    """A circuit breaker: closed → open after ``failures`` failures in a row → after ``cooldown``
    seconds one caller may try (half-open) → closed on success, open again on failure."""

    def __init__(self, name: str, failures: int = BREAKER_FAILURES, cooldown: float = BREAKER_COOLDOWN_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial = False
        # The thread that holds the half-open trial (it may touch the server several times: Django
        # connects, then opens a cursor), and when it took it: a trial that never reports back
        # (its thread ended without a statement) is handed to the next caller a cool-down later.
        self._trial_owner: int | None = None
        self._trial_at = 0.0
        self._last_success: float | None = None

    def succeeded_within(self, seconds: float) -> bool:
        """Whether a call succeeded in the last ``seconds``."""
        with self._lock:
            return self._last_success is not None and self._clock() - self._last_success < seconds

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (a trial call is allowed or under way)."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half-open" if self._trial or self._clock() - self._opened_at >= self.cooldown else "open"

    @property
    def last_call_failed(self) -> bool:
        with self._lock:
            return self._consecutive > 0

    def allow(self) -> bool:
        """Whether a call may go to the server now: a closed circuit, or the one half-open trial
        (to the thread that holds it, for each of its calls until its outcome is known)."""
        with self._lock:
            if self._opened_at is None:
                return True
            now = self._clock()
            me = threading.get_ident()
            if self._trial:
                if self._trial_owner == me:
                    return True
                if now - self._trial_at < self.cooldown:
                    return False
            elif now - self._opened_at < self.cooldown:
                return False
            self._trial, self._trial_owner, self._trial_at = True, me, now
            return True

    def success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                log.warning("circuit closed: %s answers again", self.name)
            self._consecutive = 0
            self._opened_at = None
            self._trial, self._trial_owner = False, None
            self._last_success = self._clock()

    def failure(self) -> None:
        with self._lock:
            self._consecutive += 1
            if self._trial or (self._opened_at is None and self._consecutive >= self.failures):
                if self._opened_at is None:
                    log.warning("circuit open: skipping %s for %.0f s after %d failures", self.name, self.cooldown, self._consecutive)
                self._opened_at = self._clock()
                self._trial, self._trial_owner = False, None

    def trip(self) -> None:
        """Opens the circuit at once (a failed readiness check is conclusive)."""
        with self._lock:
            if self._opened_at is None:
                log.warning("circuit open: skipping %s for %.0f s", self.name, self.cooldown)
            self._consecutive = max(self._consecutive, self.failures)
            self._opened_at = self._clock()
            self._trial, self._trial_owner = False, None


# --- Cache ------------------------------------------------------------------------------------

_redis_breakers: dict[str, Breaker] = {}
_redis_breakers_lock = threading.Lock()


def redis_breaker(pool: Any) -> Breaker:
    """The breaker of the Redis server a connection pool talks to (one per host:port and process)."""
    kwargs = getattr(pool, "connection_kwargs", {})
    key = f"redis {kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
    with _redis_breakers_lock:
        breaker = _redis_breakers.get(key)
        if breaker is None:
            breaker = _redis_breakers[key] = Breaker(key)
        return breaker


class CircuitBreakerRedis(Redis):
    """redis-py's client with a per-server circuit breaker around every command."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        breaker = redis_breaker(self.connection_pool)
        if not breaker.allow():
            raise RedisConnectionError(f"circuit open: {breaker.name} is skipped for now")
        try:
            result = super().execute_command(*args, **options)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            breaker.failure()
            raise
        except Exception:
            breaker.success()  # an error reply: the server answers
            raise
        breaker.success()
        return result


def redis_cache_options(password: str | None = None) -> dict[str, Any]:
    """django-redis ``OPTIONS`` for a cache that must never break a page: errors are cache misses,
    every call is bounded by the socket timeouts, a server that keeps failing is skipped, and values
    are signed JSON, never pickle (:mod:`resilience.cache_values`)."""
    options: dict[str, Any] = {
        "IGNORE_EXCEPTIONS": True,
        "SOCKET_CONNECT_TIMEOUT": CACHE_CONNECT_TIMEOUT_SECONDS,
        "SOCKET_TIMEOUT": CACHE_SOCKET_TIMEOUT_SECONDS,
        "REDIS_CLIENT_CLASS": f"{__name__}.CircuitBreakerRedis",
        # Never pickle: a value planted in Redis must not run code when read (cache_values.py).
        "SERIALIZER": f"{__name__}.cache_values.SignedJSONSerializer",
    }
    if password:
        options["PASSWORD"] = password
    return options


def cache_state() -> str:
    """``ok`` or ``unavailable`` for the cache's master (the default cache's first server), from its
    breaker: no I/O, so a hung cache never slows a probe. ``local`` for a cache that is not Redis."""
    from django.conf import settings
    from django.core.cache import caches

    if not settings.CACHES["default"]["BACKEND"].startswith("django_redis."):
        return "local"
    client = caches["default"].client.get_client(write=True)
    breaker = redis_breaker(client.connection_pool)
    return "unavailable" if breaker.state != "closed" or breaker.last_call_failed else "ok"


# --- Database ---------------------------------------------------------------------------------

#: Opens when the database times out or a readiness check fails; shared by the process's threads.
database_breaker = Breaker("the database", failures=BREAKER_FAILURES)
_ACTIVE = 1  # psycopg.pq.TransactionStatus.ACTIVE: a command is in progress


def database_options(sslmode: str) -> dict[str, Any]:
    """``DATABASES["default"]["OPTIONS"]`` for PostgreSQL: TLS mode and the connect timeout."""
    return {"sslmode": sslmode, "connect_timeout": DATABASE_CONNECT_TIMEOUT_SECONDS}


def _is_connection_failure(error: BaseException) -> bool:
    """A failure of the database or of the way to it, not of one statement: a statement cancelled
    by its ``statement_timeout`` (QueryCanceled) is that statement's problem and keeps the circuit
    closed, or one slow view would fail every page of the pod."""
    from django.db import InterfaceError, OperationalError
    from psycopg import errors

    if isinstance(error.__cause__, errors.QueryCanceled):
        return False
    return isinstance(error, (OperationalError, InterfaceError))


class _Watchdog:
    """Cuts the socket of a statement that runs past its deadline, or of every statement in flight
    while the database's circuit is open. libpq reports a command in progress as the connection's
    transaction status ACTIVE, which another thread may read; shutting the socket down wakes the
    waiting thread with "server closed the connection unexpectedly" (a psycopg OperationalError)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # id(wrapper) → [weakref to the Django connection wrapper, deadline seconds, active since, cut when open]
        self._watched: dict[int, list[Any]] = {}
        self._thread: threading.Thread | None = None

    def watch(self, wrapper: Any, deadline: float, cut_when_open: bool = True) -> None:
        """Watches a Django connection wrapper; ``cut_when_open`` False for the readiness check's
        own connection, which is the trial that closes the circuit again."""
        with self._lock:
            self._watched[id(wrapper)] = [weakref.ref(wrapper), deadline, None, cut_when_open]
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(WATCHDOG_TICK_SECONDS)
            now = time.monotonic()
            breaker_open = database_breaker.state == "open"
            with self._lock:
                entries = list(self._watched.items())
            for key, entry in entries:
                wrapper = entry[0]()
                if wrapper is None:
                    with self._lock:
                        self._watched.pop(key, None)
                    continue
                raw = wrapper.connection
                try:
                    active = raw is not None and not raw.closed and raw.pgconn.transaction_status == _ACTIVE
                except Exception:  # a connection closing under our feet
                    active = False
                if not active:
                    entry[2] = None
                    continue
                if entry[2] is None:
                    entry[2] = now
                if now - entry[2] >= entry[1]:
                    # Past its statement_timeout and grace: the server could not cancel it, so it
                    # (or the way to it) is frozen. No page should try it now.
                    self._cut(raw, f"no answer in {entry[1]:.0f} s")
                    database_breaker.trip()
                    entry[2] = None
                elif breaker_open and entry[3]:
                    self._cut(raw, "the database's circuit is open")
                    entry[2] = None

    @staticmethod
    def _cut(raw: Any, why: str) -> None:
        try:
            fd = raw.pgconn.socket
            with socket.socket(fileno=os.dup(fd)) as sock:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            return
        log.warning("database statement cut: %s", why)


_watchdog = _Watchdog()
_deadlines: dict[str, float] = {}


def _record_outcome(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """A Django execute wrapper: each statement's outcome feeds the database breaker."""
    try:
        result = execute(sql, params, many, context)
    except Exception as error:
        # An integrity error or a cancelled statement is an answer: the database is there.
        (database_breaker.failure if _is_connection_failure(error) else database_breaker.success)()
        raise
    database_breaker.success()
    return result


def deadlines_enabled() -> bool:
    """Whether this process serves pages with the database deadlines (:func:`enable_web_deadlines`)."""
    return bool(_deadlines)


def fail_fast(connection: Any) -> None:
    """Raises the driver's OperationalError when the circuit is open (no I/O); called by
    :mod:`resilience.base` before a page thread's connection does anything."""
    if _deadlines and not getattr(connection, "_platform_probe", False) and not database_breaker.allow():
        raise connection.Database.OperationalError("the database's circuit is open: failing fast")


def connection_ready(connection: Any) -> None:
    """Called by :mod:`resilience.base` on each new connection of a serving process: the server-side
    statement timeout, the breaker's bookkeeping and the watchdog."""
    if not _deadlines or getattr(connection, "_platform_probe", False):
        return
    statement_timeout = _deadlines["statement"]
    _watchdog.watch(connection, statement_timeout + WATCHDOG_GRACE_SECONDS)
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{int(statement_timeout * 1000)}ms"])
    if not raw.autocommit:
        raw.commit()  # as Django does after its own session settings (postgresql/base.py)
    if _record_outcome not in connection.execute_wrappers:
        connection.execute_wrappers.append(_record_outcome)


def enable_web_deadlines(statement_timeout: float = DATABASE_STATEMENT_TIMEOUT_SECONDS) -> None:
    """Turns on, in this process, the server-side statement timeout of every new connection, the
    watchdog and the database breaker. For serving processes only: a migration or a management
    command may legitimately run a statement for minutes."""
    _deadlines["statement"] = statement_timeout


# --- Readiness --------------------------------------------------------------------------------

_ready_lock = threading.Lock()
_ready: dict[str, Any] = {"at": None, "ok": False, "connection": None}


def _probe_connection() -> Any:
    from django.db import connections

    wrapper = _ready["connection"]
    if wrapper is None:
        wrapper = connections.create_connection("default")
        wrapper._platform_probe = True  # no statement_timeout SET, its own deadline below
        wrapper.inc_thread_sharing()  # used by whichever probe thread holds _ready_lock
        _ready["connection"] = wrapper
        if _deadlines:
            _watchdog.watch(wrapper, READINESS_DATABASE_DEADLINE_SECONDS, cut_when_open=False)
    return wrapper


def database_ready() -> bool:
    """Whether this process reaches the database, at most one check per ``READINESS_CACHE_SECONDS``.

    In a serving process, a page statement that succeeded within that time is the answer (no
    connection of its own: under load, readiness holds no database connection beyond the page
    threads'). Otherwise ``SELECT 1`` on a connection of its own, closed right after, so an idle
    worker holds it for a moment at most. A failure opens the database's breaker (and the watchdog
    then cuts the page statements waiting on it); a success closes it."""
    from django.db import DatabaseError

    if not _ready_lock.acquire(blocking=False):
        # A check is under way in another probe thread: its last result, rather than a second
        # probe thread waiting on the same database.
        return bool(_ready["ok"])
    try:
        now = time.monotonic()
        if _ready["at"] is not None and now - _ready["at"] < READINESS_CACHE_SECONDS:
            return bool(_ready["ok"])
        if _deadlines and database_breaker.succeeded_within(READINESS_CACHE_SECONDS):
            _ready.update(at=now, ok=True)
            return True
        wrapper = _probe_connection()
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            ok = True
        except DatabaseError as error:
            log.warning("readiness: database unavailable: %s", error)
            ok = False
        finally:
            try:
                wrapper.close()
            except DatabaseError:
                pass
        if _deadlines:
            (database_breaker.success if ok else database_breaker.trip)()
        _ready.update(at=time.monotonic(), ok=ok)
        return ok
    finally:
        _ready_lock.release()
