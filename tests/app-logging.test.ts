/**
 * Logs for Cloud Logging, shown with real gunicorn (the image's pin, from .venv) running the
 * reference app as the platform renders it: `gunicornCommand` (only the bind address, without the probe port, and the worker count changed)
 * from the app's directory, so gunicorn reads app/gunicorn.conf.py as in the image, with
 * DJANGO_APP_LOG_FORMAT=json as the platform sets it.
 *
 * Every line gunicorn prints, on stdout or stderr, from boot to shutdown, must be one JSON object
 * with `severity` and `message`; access entries carry `httpRequest`; the access entry and the
 * app's own entries of a request carry the same `logging.googleapis.com/trace` built from the
 * request's X-Cloud-Trace-Context, so Cloud Logging groups them
 * (https://cloud.google.com/logging/docs/structured-logging,
 * https://cloud.google.com/logging/docs/agent/logging/configuration#special-fields).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { gunicornCommand } from "../components/podTemplates";
import { APP_DIR, djangoVersion, httpGet, startAppServer } from "./lib/djangoApp";
import { freePort, randomPassword, type GroupProcess } from "./lib/localServers";

const PROJECT = "acme-logging-test";
const HOST = "app.example.com";
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SEVERITIES = new Set(["DEFAULT", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]);

interface Entry {
  readonly severity: string;
  readonly message: string;
  readonly logger?: string;
  readonly httpRequest?: { requestMethod: string; requestUrl: string; status: number; userAgent?: string; remoteIp?: string; latency?: string };
  readonly [field: string]: unknown;
}

let entries: Entry[] = [];
let lines: string[] = [];
let version = "";

before(async () => {
  version = await djangoVersion();
  const port = await freePort();
  // The page bind moves to a free port; the probe bind (the second) is dropped: one port is enough here.
  const rendered = gunicornCommand(1, 2);
  const probeBind = rendered.lastIndexOf("--bind");
  const command = rendered.filter((_, i) => i !== probeBind && i !== probeBind + 1).map((arg, i, all) => (all[i - 1] === "--bind" ? `127.0.0.1:${port}` : arg));
  let server: GroupProcess | undefined;
  try {
    server = await startAppServer("gunicorn", command, {
      env: {
        DJANGO_APP_LOG_FORMAT: "json",
        DJANGO_APP_GCP_PROJECT: PROJECT,
        DJANGO_APP_SECRET_KEY: randomPassword(48),
        DJANGO_APP_ALLOWED_HOSTS: HOST,
      },
      cwd: APP_DIR,
      port,
      host: HOST,
      readyPath: "/healthz/",
    });
    const https = { host: HOST, "x-forwarded-proto": "https", "user-agent": "logging-test/1" };
    await httpGet(port, "/healthz/", { ...https, "x-cloud-trace-context": `${TRACE}/1;o=1` });
    await httpGet(port, "/no-such-page/", { ...https, "x-cloud-trace-context": `${TRACE}/255;o=1` });
    await httpGet(port, "/healthz/?probe=1", { host: HOST });
  } finally {
    await server?.stop();
  }
  lines = (server?.log ?? "").split("\n").filter((line) => line.trim() !== "");
  entries = lines.map((line) => {
    try {
      return JSON.parse(line) as Entry;
    } catch {
      return { severity: "NOT JSON", message: line };
    }
  });
});

test("every line gunicorn and the app print is one JSON object with severity and message", (t) => {
  t.diagnostic(`Django ${version} (the image's locked pins, .venv)`);
  assert.ok(lines.length >= 6, `expected boot, access, app and shutdown lines, got:\n${lines.join("\n")}`);
  for (const entry of entries) {
    assert.ok(SEVERITIES.has(entry.severity), `not a Cloud Logging entry: ${entry.message}`);
    assert.equal(typeof entry.message, "string");
  }
});

test("gunicorn's own messages, boot to shutdown, are JSON entries", () => {
  const messages = entries.filter((e) => e.logger === "gunicorn.error").map((e) => e.message);
  assert.ok(messages.some((m) => m.startsWith("Booting worker with pid")), messages.join("\n"));
  assert.ok(messages.some((m) => m.startsWith("Listening at: http://127.0.0.1:")), messages.join("\n"));
  assert.ok(messages.some((m) => /Shutting down/.test(m)), messages.join("\n"));
});

test("access entries carry httpRequest; the trace header groups them with the app's entries", () => {
  const access = entries.filter((e) => e.logger === "gunicorn.access");
  assert.equal(access.length, 4, "the startup probe's GET and three test requests");
  const missing = access.find((e) => e.httpRequest?.status === 404);
  assert.ok(missing?.httpRequest, "the 404 was logged with httpRequest");
  assert.equal(missing.httpRequest.requestMethod, "GET");
  assert.equal(missing.httpRequest.requestUrl, `https://${HOST}/no-such-page/`);
  assert.equal(missing.httpRequest.userAgent, "logging-test/1");
  assert.equal(missing.httpRequest.remoteIp, "127.0.0.1");
  assert.match(missing.httpRequest.latency ?? "", /^\d+\.\d{6}s$/);
  assert.equal(missing.severity, "INFO");
  assert.equal(missing["logging.googleapis.com/trace"], `projects/${PROJECT}/traces/${TRACE}`);
  assert.equal(missing["logging.googleapis.com/spanId"], "00000000000000ff", "the header's decimal span id as 16 hex digits");
  assert.equal(missing["logging.googleapis.com/trace_sampled"], true);
  // Django's own warning about the 404, written while serving the same request, has the same trace.
  const warning = entries.find((e) => e.logger === "django.request");
  assert.ok(warning, "Django logs the 404");
  assert.equal(warning.severity, "WARNING");
  assert.equal(warning.message, "Not Found: /no-such-page/");
  assert.equal(warning["logging.googleapis.com/trace"], missing["logging.googleapis.com/trace"]);
  const untraced = access.find((e) => e.httpRequest?.requestUrl === "/healthz/?probe=1" || e.httpRequest?.requestUrl === `http://${HOST}/healthz/?probe=1`);
  assert.ok(untraced, "the request without a trace header is logged");
  assert.equal(untraced["logging.googleapis.com/trace"], undefined);
});

after(() => undefined);
