"""The gunicorn worker class of the platform's web pods (``--worker-class web_worker.WebWorker``).

Copy it next to ``manage.py`` with ``gunicorn.conf.py`` (docs/your-app.md). It is gunicorn's
``gthread`` worker (gunicorn/workers/gthread.py, 23.0) with three changes, each for a failure a
lab measured on the stock worker, and a stop that keeps gunicorn's promise; components/podTemplates.ts
derives the numbers below and tests/resilience.test.ts and tests/spot.test.ts run each case.

1. **Probes have threads of their own.** The platform binds two addresses: pages on the first,
   probes on the second. Requests on the probe address go to a pool of ``PROBE_THREADS`` threads
   that page traffic never fills, so the kubelet's and the load balancer's checks are answered
   while every page thread waits (a hung dependency, slow clients). Only ``PROBE_PATHS`` go to the
   app there, and ``METRICS_PATH`` is answered by the worker itself; anything else is a 404.
2. **Requests are read before they take a thread.** gthread hands a connection to a thread as soon
   as its first bytes arrive, and the thread then blocks reading the rest: three clients sending
   slowly held a 3-thread pod for as long as they liked. Here the worker's event loop reads a
   request's head, and its body up to ``BUFFERED_REQUEST_BYTES``, without blocking; only a complete
   request (or one whose body is larger, after that much of it) is handed to a thread, whose socket
   then times out at the request's deadline. A request must arrive within
   ``REQUEST_DEADLINE_SECONDS`` (the load balancer's backend timeout: past it, the load balancer
   has answered the client already); a connection still sending is answered 408 and closed.
3. **No work for requests the load balancer gave up on**, and a saturation signal. A page request
   that waited ``REQUEST_DEADLINE_SECONDS`` for a thread is dropped unanswered. ``METRICS_PATH``
   serves ``BUSY_METRIC`` (Prometheus text format): page requests in this worker, running or
   waiting for a thread, per page thread; the platform's HPA can scale on it, since threads that
   wait on I/O or on slow clients use no CPU.

4. **Requests in flight at SIGTERM get the graceful timeout, wherever they are.** gthread's stop
   waits ``--graceful-timeout`` for the requests running in threads but drops at once the ones the
   event loop is still reading (a slow upload whose body is arriving): on a Spot pod, whose timeout
   is 3 s, every such upload was cut at SIGTERM. Here the worker stops accepting, closes its idle
   keep-alive connections (the load balancer stopped sending during preStop), keeps reading the
   requests that are arriving and hands them to threads, and returns as soon as no request is left,
   or when the graceful timeout (counted from the signal) is over; what is left then is cut.

After the app is loaded, ``resilience.enable_web_deadlines()`` turns the database deadlines on in
this process (serving processes only; migrations and other commands never get them).
"""
from __future__ import annotations

import io
import selectors
import threading
import time
from concurrent import futures
from functools import partial
from http.client import HTTPException, parse_headers
from typing import Any, Callable, Iterable

from gunicorn.workers.gthread import ThreadWorker

#: Threads that answer the probe address, in each worker process.
PROBE_THREADS = 2
#: The load balancer's backend service timeout: how long a request may take to arrive, and wait.
REQUEST_DEADLINE_SECONDS = 30
#: A request whose head and body fit in this many bytes is read whole before it takes a thread.
BUFFERED_REQUEST_BYTES = 64 * 1024
#: Bytes read from a socket per event.
READ_CHUNK_BYTES = 16 * 1024
#: The app's paths on the probe address.
PROBE_PATHS = frozenset({"/healthz/", "/readyz/"})
#: The worker's own metrics, on the probe address.
METRICS_PATH = "/metrics"
#: The saturation gauge.
BUSY_METRIC = "web_requests_per_thread"

_TIMEOUT_ANSWER = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


def request_complete(data: bytes | bytearray) -> bool:
    """Whether ``data`` holds a request that can go to a thread: its head and whole body, or as much
    as the worker buffers (a larger, chunked or ``Expect: 100-continue`` body is read by the thread)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) >= BUFFERED_REQUEST_BYTES
    line_end = data.find(b"\r\n")
    try:
        headers = parse_headers(io.BytesIO(bytes(data[line_end + 2 : end + 4])))
    except HTTPException:
        return True  # malformed: gunicorn's parser answers it
    if headers.get("Expect", "").lower() == "100-continue" or "chunked" in headers.get("Transfer-Encoding", "").lower():
        return True
    try:
        length = int(headers.get("Content-Length", "0"))
    except ValueError:
        return True
    return len(data) - (end + 4) >= min(length, BUFFERED_REQUEST_BYTES - (end + 4))


class WebWorker(ThreadWorker):
    """gthread with probe threads, requests read before they take a thread, and a busy gauge."""

    def init_process(self) -> None:
        self.probe_pool = futures.ThreadPoolExecutor(max_workers=PROBE_THREADS, thread_name_prefix="probe")
        self._probe_server = self.sockets[1].getsockname() if len(self.sockets) > 1 else None
        self._reading: dict[Any, float] = {}  # connections being read → when their request began
        self._busy_lock = threading.Lock()
        self._in_flight = 0
        self._local = threading.local()
        super().init_process()

    # --- the app -------------------------------------------------------------------------------

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = self._route(self.wsgi)
        import resilience  # next to manage.py, as gunicorn.conf.py (docs/your-app.md)

        resilience.enable_web_deadlines()

    def _route(self, app: WsgiApp) -> WsgiApp:
        def route(wsgi_env: dict, start_response: StartResponse) -> Iterable[bytes]:
            if not getattr(self._local, "probe", False):
                return app(wsgi_env, start_response)
            path = wsgi_env.get("PATH_INFO", "")
            if path == METRICS_PATH:
                body = self.metrics().encode()
                start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4"), ("Content-Length", str(len(body)))])
                return [body]
            if path in PROBE_PATHS:
                return app(wsgi_env, start_response)
            body = b"not a probe endpoint\n"
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]

        return route

    def metrics(self) -> str:
        """The Prometheus text exposition of :data:`BUSY_METRIC`."""
        with self._busy_lock:
            ratio = self._in_flight / max(1, self.cfg.threads)
        return (
            f"# HELP {BUSY_METRIC} Page requests in this worker, running or waiting for a thread, per page thread.\n"
            f"# TYPE {BUSY_METRIC} gauge\n"
            f"{BUSY_METRIC} {ratio:.3f}\n"
        )

    # --- reading requests in the event loop ------------------------------------------------

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        if self.cfg.is_ssl:
            super().on_client_socket_readable(conn, client)
            return
        if conn not in self._reading:
            if conn.initialized:  # a kept-alive connection: no longer idle
                with self._lock:
                    try:
                        self._keep.remove(conn)
                    except ValueError:
                        return  # closed by murder_keepalived meanwhile
            self._reading[conn] = time.monotonic()
            conn.preread = bytearray()
        try:
            data = conn.sock.recv(READ_CHUNK_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        conn.preread += data
        if request_complete(conn.preread):
            with self._lock:
                self.poller.unregister(conn.sock)
            conn.started = self._reading.pop(conn)
            self.enqueue_req(conn)

    def _drop(self, conn: Any, answer: bytes = b"") -> None:
        """Closes a connection that never handed a request to a thread."""
        self._reading.pop(conn, None)
        with self._lock:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        if answer:
            try:
                conn.sock.send(answer)
            except OSError:
                pass
        self.nr_conns -= 1
        conn.close()

    def murder_keepalived(self) -> None:
        super().murder_keepalived()
        now = time.monotonic()
        for conn, began in list(self._reading.items()):
            if now - began >= REQUEST_DEADLINE_SECONDS:
                self.log.warning("closing a connection whose request did not arrive in %d s: %s", REQUEST_DEADLINE_SECONDS, conn.client)
                self._drop(conn, _TIMEOUT_ANSWER)

    def enqueue_req(self, conn: Any) -> None:
        conn.init()
        preread = getattr(conn, "preread", None)
        if preread:
            conn.parser.unreader.unread(bytes(preread))
        conn.preread = None
        started = getattr(conn, "started", None) or time.monotonic()
        conn.started = None
        conn.handed_at = started
        # The rest of a large body, and the answer, must flow before the request's deadline.
        conn.sock.settimeout(max(1.0, REQUEST_DEADLINE_SECONDS - (time.monotonic() - started)))
        if self._probe_server is not None and conn.server == self._probe_server:
            fs = self.probe_pool.submit(self.handle, conn)
        else:
            with self._busy_lock:
                self._in_flight += 1
            fs = self.tpool.submit(self.handle, conn)
            fs.add_done_callback(self._page_done)
        self._wrap_future(fs, conn)

    def _page_done(self, _fs: futures.Future) -> None:
        with self._busy_lock:
            self._in_flight -= 1

    def handle(self, conn: Any) -> tuple[bool, Any]:
        probe = self._probe_server is not None and conn.server == self._probe_server
        self._local.probe = probe
        waited = time.monotonic() - conn.handed_at
        if not probe and waited >= REQUEST_DEADLINE_SECONDS:
            self.log.warning("dropping a request that waited %.0f s for a thread: the load balancer gave up on it", waited)
            return (False, conn)
        return super().handle(conn)

    # --- the graceful stop ---------------------------------------------------------------------

    def handle_exit(self, sig: int, frame: Any) -> None:
        # The graceful timeout counts from the signal; the event loop may notice it up to a second later.
        self._stopping_at = time.monotonic()
        super().handle_exit(sig, frame)

    def run(self) -> None:
        """gthread's ``run`` (gunicorn/workers/gthread.py, 23.0), whose stop is :meth:`_drain`.

        gthread's own stop closes the event loop and waits only for the requests already in threads,
        so a request whose body was still arriving at SIGTERM was dropped at once."""
        for sock in self.sockets:
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, partial(self.accept, sock.getsockname()))
        try:
            while self.alive:
                self.notify()
                if self.nr_conns < self.worker_connections:
                    for key, _ in self.poller.select(1.0):
                        key.data(key.fileobj)
                    result = futures.wait(self.futures, timeout=0, return_when=futures.FIRST_COMPLETED)
                else:
                    result = futures.wait(self.futures, timeout=1.0, return_when=futures.FIRST_COMPLETED)
                for fut in result.done:
                    self.futures.remove(fut)
                if not self.is_parent_alive():
                    break
                self.murder_keepalived()
            self._drain()
        finally:
            self.tpool.shutdown(False)
            self.probe_pool.shutdown(wait=False)
            for conn in list(self._reading):
                self._drop(conn)
            self.poller.close()
            for s in self.sockets:
                s.close()

    def _drain(self) -> None:
        """The stop: accept nothing more, close idle keep-alive connections, and give the requests in
        flight — running in a thread, or still arriving in the event loop — until the graceful
        timeout ends; return as soon as none is left (the arbiter then exits). What is left at the
        end is cut, as gunicorn's arbiter would cut it (it kills its workers then)."""
        deadline = getattr(self, "_stopping_at", time.monotonic()) + self.cfg.graceful_timeout
        for sock in self.sockets:
            with self._lock:
                try:
                    self.poller.unregister(sock)
                except (KeyError, ValueError, OSError):
                    pass
        # Bytes that already arrived on a kept-alive connection are a request: read it like the others.
        for key, _ in self.poller.select(0):
            if key.fileobj not in self.sockets:
                key.data(key.fileobj)
        with self._lock:
            idle = list(self._keep)
            self._keep.clear()
        for conn in idle:
            with self._lock:
                try:
                    self.poller.unregister(conn.sock)
                except (KeyError, ValueError, OSError):
                    pass
            self.nr_conns -= 1
            conn.close()
        while self._reading or self.futures:
            left = deadline - time.monotonic()
            if left <= 0:
                self.log.warning(
                    "graceful timeout: cutting %d request(s) still arriving and %d running",
                    len(self._reading), sum(not f.done() for f in self.futures),
                )
                return
            self.notify()
            if self._reading:
                for key, _ in self.poller.select(min(0.05, left)):
                    key.data(key.fileobj)
                result = futures.wait(self.futures, timeout=0, return_when=futures.FIRST_COMPLETED)
            else:
                result = futures.wait(self.futures, timeout=left, return_when=futures.FIRST_COMPLETED)
            for fut in result.done:
                self.futures.remove(fut)
