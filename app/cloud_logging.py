"""Logs for Cloud Logging: one JSON object per line on stdout, grouped by request.

Copy this file next to ``manage.py`` together with ``gunicorn.conf.py`` (docs/your-app.md); it
needs only the standard library and python-json-logger, and no Django import at module level, so
gunicorn's master process can load it before Django.

The GKE logging agent reads each line a container prints; a line that is a JSON object becomes
the entry's ``jsonPayload``, and these special fields are lifted into the LogEntry
(https://cloud.google.com/logging/docs/structured-logging,
https://cloud.google.com/logging/docs/agent/logging/configuration#special-fields):

* ``severity``: DEBUG, INFO, WARNING, ERROR, CRITICAL (Python's level names are LogSeverity names);
* ``message``: the text shown in the log list;
* ``httpRequest``: requestMethod, requestUrl, status, responseSize, userAgent, remoteIp,
  referer, protocol, latency (a duration such as ``"0.123s"``);
* ``logging.googleapis.com/trace``: ``projects/<project>/traces/<trace id>``, which groups every
  entry of one request under the load balancer's request entry;
* ``logging.googleapis.com/spanId`` (16 hex digits) and ``logging.googleapis.com/trace_sampled``.

The Google load balancer sends ``X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS``; its SPAN_ID
is decimal while LogEntry.spanId is the 16-character hex encoding of the same 8 bytes
(https://cloud.google.com/trace/docs/trace-context,
https://github.com/googleapis/python-logging/issues/942), so it is converted here.

The trace field needs the project id: ``DJANGO_APP_GCP_PROJECT``. Without it the entries still
carry ``traceId`` (plain field, searchable) but are not grouped.
"""
from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

try:  # python-json-logger 3.1 and later (the image pins 4.x)
    from pythonjsonlogger.json import JsonFormatter
except ImportError:  # python-json-logger 2.x, for a project of your own that pins it (docs/your-app.md)
    from pythonjsonlogger.jsonlogger import JsonFormatter

TRACE_FIELD = "logging.googleapis.com/trace"
SPAN_FIELD = "logging.googleapis.com/spanId"
SAMPLED_FIELD = "logging.googleapis.com/trace_sampled"
TRACE_HEADER = "X-Cloud-Trace-Context"

_TRACE_CONTEXT = re.compile(r"^\s*([0-9a-fA-F]{1,32})(?:/(\d{1,20}))?(?:;o=(\d+))?\s*$")

#: Trace fields of the request the current thread is serving (set by :class:`TraceMiddleware`).
_request_trace: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("cloud_logging_trace", default=None)


def trace_fields(header: str | None, project: str | None) -> dict[str, Any]:
    """Cloud Logging's trace fields for an ``X-Cloud-Trace-Context`` value (empty when absent or malformed)."""
    match = _TRACE_CONTEXT.match(header or "")
    if not match:
        return {}
    trace_id, span, options = match.groups()
    trace_id = trace_id.lower()
    fields: dict[str, Any] = {TRACE_FIELD: f"projects/{project}/traces/{trace_id}"} if project else {"traceId": trace_id}
    if span is not None and 0 < int(span) < 2**64:
        fields[SPAN_FIELD] = f"{int(span):016x}"
    if options is not None:
        fields[SAMPLED_FIELD] = (int(options) & 1) == 1
    return fields


def _latency(microseconds: Any) -> str | None:
    try:
        return f"{int(microseconds) / 1_000_000:.6f}s"
    except (TypeError, ValueError):
        return None


def _request_url(atoms: Mapping[str, Any]) -> str:
    path = atoms.get("U") or "/"
    query = atoms.get("q")
    url = f"{path}?{query}" if query else path
    host = atoms.get("{host}i")
    if host:
        scheme = (atoms.get("{x-forwarded-proto}i") or "http").split(",")[0].strip()
        url = f"{scheme}://{host}{url}"
    return url


def access_fields(atoms: Mapping[str, Any], project: str | None) -> dict[str, Any]:
    """``httpRequest`` and trace fields from the atoms of a gunicorn access-log record.

    gunicorn logs each response with ``access_log.info(access_log_format, atoms)``: ``m`` method,
    ``U`` path, ``q`` query, ``s`` status, ``B`` bytes sent, ``a`` user agent, ``f`` referer,
    ``h`` peer address, ``H`` protocol, ``D`` duration in microseconds, ``{name}i`` request headers
    (gunicorn/glogging.py ``Logger.atoms`` in 20.1 and 23.0). ``remoteIp`` is the TCP peer (the load
    balancer's proxy or the kubelet); the client chain is kept in ``forwardedFor`` as received.
    """
    request: dict[str, Any] = {
        "requestMethod": atoms.get("m"),
        "requestUrl": _request_url(atoms),
        "protocol": atoms.get("H"),
        "userAgent": atoms.get("a"),
        "remoteIp": atoms.get("h"),
        "referer": atoms.get("f"),
        "latency": _latency(atoms.get("D")),
    }
    try:
        request["status"] = int(str(atoms.get("s")).split()[0])
    except (TypeError, ValueError, IndexError):
        pass
    if isinstance(atoms.get("B"), int):
        request["responseSize"] = str(atoms["B"])  # int64 fields are strings in the LogEntry JSON
    fields: dict[str, Any] = {"httpRequest": {k: v for k, v in request.items() if v not in (None, "-", "")}}
    forwarded = atoms.get("{x-forwarded-for}i")
    if forwarded:
        fields["forwardedFor"] = forwarded
    fields.update(trace_fields(atoms.get("{x-cloud-trace-context}i"), project))
    return fields


class CloudLoggingFormatter(JsonFormatter):
    """JSON lines with Cloud Logging's special fields; gunicorn access records get ``httpRequest``."""

    def __init__(self, *args: Any, project: str | None = None, **kwargs: Any) -> None:
        super().__init__("%(message)s", *args, **kwargs)
        self.project = project or None

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["severity"] = record.levelname if record.levelname in _SEVERITIES else "DEFAULT"
        log_data["time"] = datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat().replace("+00:00", "Z")
        log_data["logger"] = record.name
        if "exc_info" in log_data:
            # Error Reporting and the log list read the stack trace from the message.
            log_data["message"] = f"{log_data.get('message', '')}\n{log_data.pop('exc_info')}"
        if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
            log_data.update(access_fields(record.args, self.project))
            return
        # Django logs 4xx/5xx responses (django.request) after the middleware chain has returned,
        # with the request as an extra attribute: take the trace from that request's header then.
        request = log_data.pop("request", None) if "request" in log_data else None
        fields = _request_trace.get()
        if fields is None and request is not None and hasattr(request, "META"):
            fields = trace_fields(request.META.get("HTTP_X_CLOUD_TRACE_CONTEXT"), self.project)
        log_data.update(fields or {})


_SEVERITIES = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


class TraceMiddleware:
    """Django middleware: app log records written while serving a request carry its trace fields.

    Put it first in ``MIDDLEWARE``. The project id comes from the ``CLOUD_LOGGING_PROJECT``
    setting (the reference app sets it from DJANGO_APP_GCP_PROJECT).
    """

    def __init__(self, get_response: Any) -> None:
        from django.conf import settings

        self.get_response = get_response
        self.project = getattr(settings, "CLOUD_LOGGING_PROJECT", None)

    def __call__(self, request: Any) -> Any:
        token = _request_trace.set(trace_fields(request.headers.get(TRACE_HEADER), self.project))
        try:
            return self.get_response(request)
        finally:
            _request_trace.reset(token)


def _formatter(project: str | None) -> dict[str, Any]:
    return {"()": CloudLoggingFormatter, "project": project}


def django_logging(level: str, project: str | None) -> dict[str, Any]:
    """Django's ``LOGGING`` for JSON lines on stdout (root logger at ``level``)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"cloud": _formatter(project)},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "cloud", "stream": "ext://sys.stdout"}},
        "root": {"handlers": ["stdout"], "level": level},
    }


def gunicorn_logconfig(environ: Mapping[str, str]) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: JSON lines on stdout when ``DJANGO_APP_LOG_FORMAT`` is ``json``.

    gunicorn applies it after its ``--access-logfile``/``--error-logfile`` handlers and
    ``dictConfig`` replaces the handlers of the loggers it names, so the platform's command line
    stays as it is. Empty (gunicorn's own text logs) otherwise.
    """
    log_format = environ.get("DJANGO_APP_LOG_FORMAT", "").strip() or "text"
    if log_format != "json":
        return {}
    config = django_logging(environ.get("DJANGO_APP_LOG_LEVEL", "").strip() or "INFO", environ.get("DJANGO_APP_GCP_PROJECT", "").strip())
    config["loggers"] = {
        name: {"handlers": ["stdout"], "level": "INFO", "propagate": False} for name in ("gunicorn.error", "gunicorn.access")
    }
    return config
