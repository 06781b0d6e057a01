"""cloud_logging.py: Cloud Logging's JSON fields, the trace header, gunicorn's access records.

Sources: special JSON fields https://cloud.google.com/logging/docs/structured-logging and
https://cloud.google.com/logging/docs/agent/logging/configuration#special-fields; the header
``X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS`` https://cloud.google.com/trace/docs/trace-context
(decimal span id: https://github.com/googleapis/python-logging/issues/942); LogEntry.spanId is 16 hex
digits https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry.

Run from app/: ``python3 -m unittest discover -s tests -t .``
"""
import io
import json
import logging
import unittest
from datetime import timedelta

import cloud_logging
from cloud_logging import CloudLoggingFormatter, access_fields, gunicorn_logconfig, trace_fields

TRACE = "105445aa7843bc8bf206b12000100000"


def emit(formatter: logging.Formatter, name: str, level: int, msg: str, args=(), exc_info=None) -> dict:
    record = logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)
    return json.loads(formatter.format(record))


class TraceHeaderTest(unittest.TestCase):
    def test_trace_span_and_sampling(self):
        # The header's span id is decimal; LogEntry.spanId is its 16-digit hex form.
        self.assertEqual(trace_fields(f"{TRACE}/1;o=1", "acme"), {
            "logging.googleapis.com/trace": f"projects/acme/traces/{TRACE}",
            "logging.googleapis.com/spanId": "0000000000000001",
            "logging.googleapis.com/trace_sampled": True,
        })
        self.assertEqual(trace_fields(f"{TRACE}/18446744073709551615;o=0", "acme")["logging.googleapis.com/spanId"], "ffffffffffffffff")
        self.assertIs(trace_fields(f"{TRACE}/2;o=0", "acme")["logging.googleapis.com/trace_sampled"], False)

    def test_trace_id_alone(self):
        self.assertEqual(trace_fields(TRACE, "acme"), {"logging.googleapis.com/trace": f"projects/acme/traces/{TRACE}"})

    def test_without_project_a_plain_trace_id(self):
        self.assertEqual(trace_fields(f"{TRACE}/7;o=1", None)["traceId"], TRACE)
        self.assertNotIn("logging.googleapis.com/trace", trace_fields(f"{TRACE}/7;o=1", ""))

    def test_absent_or_malformed_header(self):
        for header in (None, "", "not a trace", f"{TRACE}/abc", f"{TRACE}/1;o=x"):
            self.assertEqual(trace_fields(header, "acme"), {}, header)

    def test_zero_span_is_dropped(self):
        self.assertNotIn("logging.googleapis.com/spanId", trace_fields(f"{TRACE}/0;o=1", "acme"))


class FormatterTest(unittest.TestCase):
    def setUp(self):
        self.formatter = CloudLoggingFormatter(project="acme")

    def test_app_record(self):
        entry = emit(self.formatter, "demo.views", logging.WARNING, "disk %s", ("full",))
        self.assertEqual((entry["severity"], entry["message"], entry["logger"]), ("WARNING", "disk full", "demo.views"))
        self.assertRegex(entry["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")
        self.assertNotIn("logging.googleapis.com/trace", entry)

    def test_every_python_level_is_a_log_severity(self):
        for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            self.assertEqual(emit(self.formatter, "x", getattr(logging, level), "m")["severity"], level)
        self.assertEqual(emit(self.formatter, "x", 25, "m")["severity"], "DEFAULT")

    def test_stack_trace_goes_into_the_message(self):
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            entry = emit(self.formatter, "django.request", logging.ERROR, "Internal Server Error", exc_info=sys.exc_info())
        self.assertTrue(entry["message"].startswith("Internal Server Error\nTraceback (most recent call last):"))
        self.assertIn("ValueError: boom", entry["message"])
        self.assertNotIn("exc_info", entry)

    def test_records_inside_a_request_carry_its_trace(self):
        token = cloud_logging._request_trace.set(trace_fields(f"{TRACE}/5;o=1", "acme"))
        try:
            entry = emit(self.formatter, "demo.views", logging.INFO, "inside")
        finally:
            cloud_logging._request_trace.reset(token)
        self.assertEqual(entry["logging.googleapis.com/trace"], f"projects/acme/traces/{TRACE}")
        self.assertEqual(entry["logging.googleapis.com/spanId"], "0000000000000005")

    def test_django_request_records_take_the_trace_from_their_request(self):
        class Request:  # what django.utils.log.log_response passes as extra={"request": ...}
            META = {"HTTP_X_CLOUD_TRACE_CONTEXT": f"{TRACE}/3;o=1"}

        record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/x/",), None)
        record.request = Request()
        record.status_code = 404
        entry = json.loads(self.formatter.format(record))
        self.assertEqual(entry["logging.googleapis.com/trace"], f"projects/acme/traces/{TRACE}")
        self.assertEqual(entry["status_code"], 404)
        self.assertNotIn("request", entry)

    def test_gunicorn_access_record(self):
        atoms = {
            "h": "35.191.0.1", "m": "GET", "U": "/uploads/", "q": "page=2", "H": "HTTP/1.1", "s": "200",
            "B": 512, "a": "curl/8", "f": "-", "D": 123456, "{host}i": "app.example.com",
            "{x-forwarded-proto}i": "https", "{x-forwarded-for}i": "203.0.113.9, 34.1.2.3",
            "{x-cloud-trace-context}i": f"{TRACE}/10;o=1",
        }
        entry = emit(self.formatter, "gunicorn.access", logging.INFO, "%(m)s %(U)s %(s)s", atoms)
        self.assertEqual(entry["message"], "GET /uploads/ 200")
        self.assertEqual(entry["httpRequest"], {
            "requestMethod": "GET",
            "requestUrl": "https://app.example.com/uploads/?page=2",
            "protocol": "HTTP/1.1",
            "userAgent": "curl/8",
            "remoteIp": "35.191.0.1",
            "latency": "0.123456s",
            "status": 200,
            "responseSize": "512",
        })
        self.assertEqual(entry["forwardedFor"], "203.0.113.9, 34.1.2.3")
        self.assertEqual(entry["logging.googleapis.com/trace"], f"projects/acme/traces/{TRACE}")
        self.assertEqual(entry["logging.googleapis.com/spanId"], "000000000000000a")

    def test_access_without_host_logs_the_path(self):
        self.assertEqual(access_fields({"m": "GET", "U": "/healthz/", "s": "200"}, None)["httpRequest"]["requestUrl"], "/healthz/")


class GunicornConfigTest(unittest.TestCase):
    def test_text_unless_json(self):
        self.assertEqual(gunicorn_logconfig({}), {})
        self.assertEqual(gunicorn_logconfig({"DJANGO_APP_LOG_FORMAT": "text"}), {})

    def test_json_replaces_gunicorn_handlers(self):
        config = gunicorn_logconfig({"DJANGO_APP_LOG_FORMAT": "json", "DJANGO_APP_GCP_PROJECT": "acme", "DJANGO_APP_LOG_LEVEL": "WARNING"})
        self.assertEqual(config["formatters"]["cloud"]["project"], "acme")
        self.assertEqual(config["root"]["level"], "WARNING")
        for name in ("gunicorn.error", "gunicorn.access"):
            self.assertEqual(config["loggers"][name], {"handlers": ["stdout"], "level": "INFO", "propagate": False})

    def test_dictconfig_accepts_it(self):
        import logging.config

        stream = io.StringIO()
        config = gunicorn_logconfig({"DJANGO_APP_LOG_FORMAT": "json", "DJANGO_APP_GCP_PROJECT": "acme"})
        config["handlers"]["stdout"]["stream"] = stream
        logger = logging.getLogger("gunicorn.error")
        saved = (logger.handlers[:], logger.propagate, logger.level)
        try:
            logging.config.dictConfig(config)
            logger.info("Booting worker with pid: %s", 42)
        finally:
            logger.handlers[:], logger.propagate = saved[0], saved[1]
            logger.setLevel(saved[2])
            logging.getLogger().handlers.clear()
        self.assertEqual(json.loads(stream.getvalue())["message"], "Booting worker with pid: 42")


class LatencyTest(unittest.TestCase):
    def test_microseconds_to_duration(self):
        self.assertEqual(cloud_logging._latency(int(timedelta(seconds=1, microseconds=5).total_seconds() * 1_000_000)), "1.000005s")
        self.assertIsNone(cloud_logging._latency(None))


if __name__ == "__main__":
    unittest.main()
