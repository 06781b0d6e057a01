/**
 * Uptime check, alerts and dashboard (components/monitoring.ts, components/alerts.ts, config
 * `monitoring.*`).
 *
 * Facts relied on (sources in components/alerts.ts and docs/gcp-facts.md):
 * - Uptime checks write `monitoring.googleapis.com/uptime_check/check_passed` on the `uptime_url`
 *   resource, whose `host` label is the checked host; Google's uptime alert counts failing checker
 *   locations (ALIGN_NEXT_OLDER, REDUCE_COUNT_FALSE)
 *   (https://cloud.google.com/monitoring/uptime-checks/uptime-alerting-policies).
 * - The load balancer's `https/request_count` has `response_code_class` (500 for 5xx) and
 *   `https/backend_latencies` is a distribution in ms (https://cloud.google.com/monitoring/api/metrics_gcp_d_h).
 * - Cloud SQL metrics are on `cloudsql_database` with `database_id` = `project:instance`
 *   (https://cloud.google.com/monitoring/api/metrics_gcp_c).
 * - GKE Autopilot collects kube state metrics (HPA) by default from 1.27.4-gke.900
 *   (https://cloud.google.com/kubernetes-engine/docs/how-to/kube-state-metrics).
 * - Log-based alert policies need `alertStrategy.notificationRateLimit` ("Required for alert policies
 *   with a LogMatch condition", Cloud Monitoring API AlertStrategy reference).
 * - The app answers `/healthz/` without the database and exempts it from the HTTPS redirect
 *   (app/config/settings.py SECURE_REDIRECT_EXEMPT), so the check sees the site through the load
 *   balancer as a browser does.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { AlertThresholds, alertSpecs, connectionsThreshold, dashboardJson, hpaAtMaxQuery, jobFailureFilter } from "../components/alerts";
import { maxConnectionsForTier, RESERVED_CONNECTIONS } from "../components/connectionBudget";
import { databaseIdOf, UPTIME_PATH } from "../components/monitoring";
import { ConfigError, validateConfig } from "../config";
import { ROOT, Rendered, renderStack } from "./helpers/platform";

const ALERT = "gcp:monitoring/alertPolicy:AlertPolicy";
const UPTIME = "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig";
const CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel";
const DASHBOARD = "gcp:monitoring/dashboard:Dashboard";

const THRESHOLDS: AlertThresholds = { errorRatio5xx: 0.05, latencyP95Ms: 1500, sqlCpu: 0.8, sqlDisk: 0.85, sqlConnections: 0.8, redisMemory: 0.85, hpaAtMaxMinutes: 15 };
const VALUES = { thresholds: THRESHOLDS, host: "www.example.com", databaseId: "p:db", usableConnections: 97, cacheMode: "in-cluster" as const, namespace: "django-production" };
const KEYS = ["uptime", "5xx", "latency", "sql-cpu", "sql-disk", "sql-connections", "redis-memory", "hpa-max", "job-failed"];

/**
 * Paths of the values a protobuf JSON encoder leaves out (proto3 zero values: [], {}, "", 0, false),
 * which the Monitoring API therefore never returns.
 */
function zeroValuedPaths(value: unknown, path = ""): string[] {
    if (Array.isArray(value)) {
        return value.length === 0 ? [path] : value.flatMap((v, i) => zeroValuedPaths(v, `${path}[${i}]`));
    }
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value);
        return entries.length === 0 ? [path] : entries.flatMap(([k, v]) => zeroValuedPaths(v, path ? `${path}.${k}` : k));
    }
    return value === "" || value === 0 || value === false ? [path] : [];
}

/** The first condition's threshold-condition body of an alert (rendered or built). */
const threshold = (conditions: any[]): any => conditions[0].conditionThreshold;

describe("alert specs (pure)", () => {
    it("one policy per signal of the issue", () => {
        assert.deepEqual(alertSpecs(VALUES).map((s) => s.key), KEYS);
    });

    it("uptime: Google's failing-location count on this host", () => {
        const t = threshold(alertSpecs(VALUES)[0].conditions);
        assert.equal(t.filter, 'resource.type="uptime_url" AND metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND resource.label.host="www.example.com"');
        assert.deepEqual(t.aggregations[0], { alignmentPeriod: "1200s", perSeriesAligner: "ALIGN_NEXT_OLDER", crossSeriesReducer: "REDUCE_COUNT_FALSE", groupByFields: ["resource.label.*"] });
        assert.equal(t.thresholdValue, 1);
    });

    it("5xx is a ratio (response_code_class 500 over all requests); p95 uses the backend latency distribution", () => {
        const [, e5xx, latency] = alertSpecs(VALUES).map((s) => threshold(s.conditions));
        assert.match(e5xx.filter, /metric\.label\.response_code_class=500$/);
        assert.equal(e5xx.denominatorFilter, 'resource.type="https_lb_rule" AND metric.type="loadbalancing.googleapis.com/https/request_count"');
        assert.equal(e5xx.thresholdValue, 0.05);
        assert.match(latency.filter, /loadbalancing\.googleapis\.com\/https\/backend_latencies/);
        assert.equal(latency.aggregations[0].crossSeriesReducer, "REDUCE_PERCENTILE_95");
        assert.equal(latency.thresholdValue, 1500);
    });

    it("connections: the share of the usable budget, summed over the instance's databases", () => {
        assert.equal(connectionsThreshold(97, 0.8), 77);
        assert.equal(connectionsThreshold(2, 0.1), 1);
        const t = threshold(alertSpecs(VALUES).find((s) => s.key === "sql-connections")!.conditions);
        assert.equal(t.thresholdValue, 77);
        assert.match(t.filter, /resource\.label\.database_id="p:db" AND metric\.type="cloudsql\.googleapis\.com\/database\/postgresql\/num_backends"/);
        assert.equal(databaseIdOf("acme:europe-west1:django-db-1"), "acme:django-db-1");
    });

    it("redis: Memorystore's usage ratio, or the in-cluster container's memory / limit", () => {
        const redis = (mode: "in-cluster" | "memorystore") => threshold(alertSpecs({ ...VALUES, cacheMode: mode }).find((s) => s.key === "redis-memory")!.conditions).filter;
        assert.match(redis("memorystore"), /redis\.googleapis\.com\/stats\/memory\/usage_ratio/);
        assert.match(redis("in-cluster"), /kubernetes\.io\/container\/memory\/limit_utilization/);
        assert.match(redis("in-cluster"), /container_name="redis"/);
    });

    it("HPA at max for hpaAtMaxMinutes (PromQL on kube state metrics); Job failures from the Job controller's events", () => {
        const hpa = alertSpecs({ ...VALUES, thresholds: { ...THRESHOLDS, hpaAtMaxMinutes: 20 } }).find((s) => s.key === "hpa-max")!.conditions[0] as any;
        assert.equal(hpa.conditionPrometheusQueryLanguage.duration, "1200s");
        assert.equal(hpa.conditionPrometheusQueryLanguage.query, hpaAtMaxQuery("django-production"));
        assert.match(hpaAtMaxQuery("ns"), /kube_horizontalpodautoscaler_status_current_replicas\{namespace="ns"\}\) >= max by \(namespace, horizontalpodautoscaler\) \(kube_horizontalpodautoscaler_spec_max_replicas/);
        const job = alertSpecs(VALUES).find((s) => s.key === "job-failed")!;
        assert.equal((job.conditions[0] as any).conditionMatchedLog.filter, jobFailureFilter("django-production"));
        assert.deepEqual(job.alertStrategy, { notificationRateLimit: { period: "300s" }, autoClose: "1800s" });
    });

    it("the dashboard has one tile per signal, laid out on a 12-column grid", () => {
        const d = JSON.parse(dashboardJson(VALUES, "x"));
        assert.equal(d.mosaicLayout.tiles.length, 9);
        // xPos and yPos 0 are left out (the API's default), so read them as 0.
        const cells = d.mosaicLayout.tiles.map((t: any) => ({ x: t.xPos ?? 0, y: t.yPos ?? 0, w: t.width, h: t.height }));
        assert.ok(cells.every((c: any) => c.x + c.w <= 12));
        const overlap = (a: any, b: any) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        assert.ok(cells.every((a: any, i: number) => cells.slice(i + 1).every((b: any) => !overlap(a, b))), "no two tiles overlap");
    });

    it("the uptime path is the app's /healthz/, which is exempt from the HTTPS redirect", () => {
        assert.equal(UPTIME_PATH, "/healthz/");
        assert.match(readFileSync(path.join(ROOT, "app/config/settings.py"), "utf8"), /SECURE_REDIRECT_EXEMPT = \[r"\^healthz\/\$"/);
    });
});

describe("monitoring config", () => {
    it("validates emails with zod, naming the key", () => {
        assert.throws(() => validateConfig({
            "gcp:project": "acme-staging", "gcp:region": "europe-west1", "django-platform:domain": "app.example.com", "django-platform:image": "repo/app:1.0",
            "django-platform:monitoring": JSON.stringify({ notificationEmails: ["ops@"] }),
        }, "staging"), (err: Error) => err instanceof ConfigError && /^django-platform:monitoring\.notificationEmails\[0\]: must be an email address such as ops@example\.com \(got "ops@"\)/.test(err.problems[0]));
    });
});

// monitoring.enabled false is checked in tests/edge.test.ts, on its staging render.
describe("monitoring in the rendered stacks", () => {
    const r: Record<string, Rendered> = {};
    before(async () => {
        r.staging = await renderStack("staging");
        r.production = await renderStack("production", { "django-platform:monitoring": { thresholds: { errorRatio5xx: 0.02, latencyP95Ms: 800, sqlConnections: 0.5, hpaAtMaxMinutes: 30 } } });
    });

    it("both stacks: an HTTPS uptime check on https://<domain>/healthz/ with the certificate validated", () => {
        for (const [stack, domain] of [["staging", "staging.example.com"], ["production", "www.example.com"]]) {
            const u = r[stack].inputs(UPTIME);
            assert.deepEqual([u.httpCheck.path, u.httpCheck.port, u.httpCheck.useSsl, u.httpCheck.validateSsl], ["/healthz/", 443, true, true]);
            assert.deepEqual(u.monitoredResource.labels.host, domain);
            assert.deepEqual(r[stack].all(ALERT).map((a) => a.name.replace("django-monitoring-alert-", "")).sort(), [...KEYS].sort());
            assert.equal(r[stack].all(DASHBOARD).length, 1);
        }
    });

    it("one email channel per address, named by every alert policy", () => {
        assert.deepEqual(r.production.all(CHANNEL).map((c) => (c.inputs as any).labels.email_address), ["ops@example.com", "oncall@example.com"]);
        for (const a of r.production.all(ALERT)) {
            assert.equal((a.inputs as any).notificationChannels.length, 2, a.name);
        }
    });

    // The API leaves empty lists and zero values out of the dashboard it returns, and the provider's
    // diff suppressor (removeComputedKeys, then reflect.DeepEqual) only drops keys the config does
    // not set, so each such key in the config is a diff on every preview
    // (hashicorp/terraform-provider-google google/services/monitoring/resource_monitoring_dashboard.go;
    // issue 16173 "google_monitoring_dashboard: resource still has perma diffs").
    it("the dashboard JSON holds no empty list, empty object, empty string, 0 or false (perpetual diff)", async () => {
        const memorystore = await renderStack("production", { "django-platform:cache": { mode: "memorystore", memorySizeGb: 5 } });
        for (const [stack, rendered] of [["staging", r.staging], ["production", r.production], ["production memorystore", memorystore]] as const) {
            const json = JSON.parse(rendered.inputs(DASHBOARD).dashboardJson);
            assert.deepEqual(zeroValuedPaths(json), [], stack);
            assert.ok(json.mosaicLayout.tiles.length >= 9, stack);
        }
        assert.deepEqual(zeroValuedPaths({ a: [], b: { c: 0, d: [{ e: "" }, { f: false }], g: {} }, h: 1 }), ["a", "b.c", "b.d[0].e", "b.d[1].f", "b.g"], "the walker finds each kind");
    });

    it("thresholds in config reach the alert policies", () => {
        const cond = (key: string) => r.production.inputs(ALERT, `django-monitoring-alert-${key}`).conditions[0];
        assert.equal(cond("5xx").conditionThreshold.thresholdValue, 0.02);
        assert.equal(cond("latency").conditionThreshold.thresholdValue, 800);
        assert.equal(cond("hpa-max").conditionPrometheusQueryLanguage.duration, "1800s");
        // db-custom-2-7680 (7.5 GiB): Cloud SQL's default max_connections (components/connectionBudget.ts)
        // minus the superuser reserve, 50 % of it.
        const usable = maxConnectionsForTier("db-custom-2-7680")! - RESERVED_CONNECTIONS;
        assert.equal(usable, 397);
        assert.equal(cond("sql-connections").conditionThreshold.thresholdValue, Math.floor(usable * 0.5));
        assert.equal(cond("sql-cpu").conditionThreshold.thresholdValue, 0.8, "defaults stay where not overridden");
        const namespace = r.production.inputs("kubernetes:core/v1:Namespace").metadata.name;
        assert.match(cond("job-failed").conditionMatchedLog.filter, new RegExp(`involvedObject\\.namespace="${namespace}"`));
    });
});
