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
 *   (SECURE_REDIRECT_EXEMPT, set by python/django-platform-settings), so the check sees the site through the load
 *   balancer as a browser does.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { AlertThresholds, alertSpecs, connectionsThreshold, dashboardJson, hpaAtMaxQuery, jobFailureFilter } from "../components/alerts";
import { maxConnectionsForTier, RESERVED_CONNECTIONS } from "../components/connectionBudget";
import { MAX_NEG_DESCRIPTIVE_LABEL, negBackendNamePattern, trimFieldsEvenly } from "../components/ingressNames";
import { databaseIdOf, UPTIME_PATH } from "../components/monitoring";
import { ConfigError, validateConfig } from "../config";
import { ROOT, Rendered, renderStack, T } from "./helpers/platform";
import { negName } from "./lib/ingressNamer";
import { filterMatches, parseFilter, SeriesLabels } from "./lib/monitoringFilter";

const ALERT = "gcp:monitoring/alertPolicy:AlertPolicy";
const UPTIME = "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig";
const CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel";
const DASHBOARD = "gcp:monitoring/dashboard:Dashboard";

const THRESHOLDS: AlertThresholds = { errorRatio5xx: 0.05, latencyP95Ms: 1500, sqlCpu: 0.8, sqlDisk: 0.85, sqlConnections: 0.8, redisMemory: 0.85, hpaAtMaxMinutes: 15 };
const WEB_BACKEND = negBackendNamePattern("django-production", "django-workload-web-1a2b3c4d", 80);
const VALUES = { thresholds: THRESHOLDS, host: "www.example.com", databaseId: "p:db", usableConnections: 97, cacheMode: "in-cluster" as const, namespace: "django-production", webBackendPattern: WEB_BACKEND, webHpaName: "django-workload-web-5e6f7a8b" };
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
        assert.equal(e5xx.denominatorFilter, `resource.type="https_lb_rule" AND resource.label.backend_target_name=monitoring.regex.full_match("${WEB_BACKEND}") AND metric.type="loadbalancing.googleapis.com/https/request_count"`);
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
        assert.equal(hpa.conditionPrometheusQueryLanguage.query, hpaAtMaxQuery("django-production", "django-workload-web-5e6f7a8b"));
        assert.match(hpaAtMaxQuery("ns", "web"), /kube_horizontalpodautoscaler_status_current_replicas\{namespace="ns", horizontalpodautoscaler="web"\}\) >= max by \(namespace, horizontalpodautoscaler\) \(kube_horizontalpodautoscaler_spec_max_replicas/);
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
        // The settings helper app/config/settings.py applies (python/django-platform-settings).
        const helper = readFileSync(path.join(ROOT, "python/django-platform-settings/django_platform_settings/__init__.py"), "utf8");
        assert.match(helper, /PROBE_PATHS_REDIRECT_EXEMPT = \[r"\^healthz\/\$"/);
        assert.match(helper, /SECURE_REDIRECT_EXEMPT=list\(PROBE_PATHS_REDIRECT_EXEMPT\)/);
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

// The names GKE gives an Ingress's NEG backends (kubernetes/ingress-gce acbcf5d, pkg/utils/namer),
// held to ingress-gce's own test cases: pkg/utils/namer/utils_test.go TestTrimFieldsEvenly and
// pkg/utils/namer/namer_test.go TestNamerNEG (cluster uid "0123456789abcdef").
describe("GKE's NEG backend names (ingress-gce's namer)", () => {
    const long = "01234567890123456789012345678901234567890123456789";
    it("trimFieldsEvenly gives ingress-gce's results", () => {
        const cases: [number, string[], string[]][] = [
            [100, [long], [long]],
            [100, [long, long], [long, long]],
            [50, [long, long], [long.slice(0, 25), long.slice(0, 25)]],
            [10, [long, long, long], [long.slice(0, 4), long.slice(0, 3), long.slice(0, 3)]],
            [3, [long, long, long], [long.slice(0, 1), long.slice(0, 1), long.slice(0, 1)]],
            [1, [long, long.slice(0, 1)], [long.slice(0, 1), ""]],
            [5, [long, long.slice(0, 1)], [long.slice(0, 5), ""]],
        ];
        for (const [max, fields, expected] of cases) {
            assert.deepEqual(trimFieldsEvenly(max, ...fields), expected, `${max} ${fields.join(",")}`);
        }
        assert.equal(MAX_NEG_DESCRIPTIVE_LABEL, 38);
    });

    it("negName gives ingress-gce's NEG names, and the pattern matches the one with a real port", () => {
        const cases: [string, string, number, string][] = [
            ["namespace", "name", 80, "k8s1-01234567-namespace-name-80-5104b449"],
            [long.slice(0, 10), long.slice(0, 10), 1234567890, "k8s1-01234567-0123456789-0123456789-1234567890-ed141b14"],
            [long, "0", 0, "k8s1-01234567-0123456789012345678901234567890123456-0--72142e04"],
            [long, long, 0, "k8s1-01234567-0123456789012345678-0123456789012345678--9129e3d2"],
            [long, long.slice(0, 40), 2147483647, "k8s1-01234567-0123456789012345678-0123456789012345-214-ed1f2a2f"],
        ];
        for (const [ns, name, port, expected] of cases) {
            assert.equal(negName("0123456789abcdef", ns, name, port), expected);
        }
        assert.match("k8s1-01234567-namespace-name-80-5104b449", new RegExp(`^${negBackendNamePattern("namespace", "name", 80)}$`));
    });

    it("the pattern is exact where the name is known: namespace, Service, port (long names cut as GKE cuts them)", () => {
        const pattern = new RegExp(`^${negBackendNamePattern("django-production", "django-workload-web-1a2b3c4d", 80)}$`);
        for (const uid of ["0123456789abcdef", "fedcba9876543210", "a1b2c3d4"]) {
            assert.match(negName(uid, "django-production", "django-workload-web-1a2b3c4d", 80), pattern);
            assert.doesNotMatch(negName(uid, "django-staging", "django-workload-web-1a2b3c4d", 80), pattern, "another namespace");
            assert.doesNotMatch(negName(uid, "django-production", "django-workload-web-9f9f9f9f", 80), pattern, "another Service");
            assert.doesNotMatch(negName(uid, "django-production", "django-workload-web-1a2b3c4d", 8080), pattern, "another port");
        }
        assert.throws(() => negBackendNamePattern("Django", "web", 80), /namespace "Django" is not a DNS label/);
    });
});

describe("the filter evaluator (tests/lib/monitoringFilter.ts)", () => {
    const series: SeriesLabels = { resourceType: "https_lb_rule", metricType: "m", resourceLabels: { backend_target_name: "k8s1-abc-ns-svc-80-0123abcd" }, metricLabels: { response_code_class: "500" } };
    it("reads AND, =, !=, quoted and bare values, full_match and starts_with", () => {
        assert.ok(filterMatches('resource.type="https_lb_rule" AND metric.type="m" AND metric.label.response_code_class=500', series));
        assert.ok(!filterMatches('resource.type="https_lb_rule" AND metric.label.response_code_class=400', series));
        assert.ok(filterMatches('resource.labels.backend_target_name=monitoring.regex.full_match("k8s1-[a-z0-9]{0,8}-ns-svc-80-[0-9a-f]{8}")', series));
        assert.ok(!filterMatches('resource.label.backend_target_name=monitoring.regex.full_match("k8s1-[a-z0-9]{0,8}-ns-svc")', series), "full_match is anchored at both ends");
        assert.ok(filterMatches('resource.label.backend_target_name=starts_with("k8s1-abc-")', series));
        assert.ok(filterMatches('resource.label.url_map_name!="x"', series), "an absent label differs from any value");
    });
    it("refuses what it does not model", () => {
        assert.throws(() => parseFilter('metric.type="a" OR metric.type="b"'), /expected AND/);
        assert.throws(() => parseFilter('resource.label.x=has_substring("a")'), /function has_substring is not modelled/);
        assert.throws(() => parseFilter('resource.label.x=monitoring.regex.full_match("(?=a)")'), /does not model/);
    });
});

// The load balancer signals read only this site's web backend: never the CDN's backend bucket
// (production), another site's Ingress in the same project, or a request no backend served.
describe("load balancer alerts and charts are scoped to this site's web backend", () => {
    const LB = "loadbalancing.googleapis.com/https/";
    const r: Record<string, Rendered> = {};
    before(async () => {
        r.staging = await renderStack("staging");
        r.production = await renderStack("production");
    });

    /** Every time series filter on a load balancer metric, rendered: alert conditions and dashboard charts. */
    function lbFilters(rendered: Rendered): { where: string; filter: string }[] {
        const out: { where: string; filter: string }[] = [];
        for (const a of rendered.all(ALERT)) {
            for (const c of (a.inputs as any).conditions) {
                for (const key of ["filter", "denominatorFilter"]) {
                    const f = c.conditionThreshold?.[key];
                    if (typeof f === "string" && f.includes(LB)) out.push({ where: `${a.name} ${key}`, filter: f });
                }
            }
        }
        for (const tile of JSON.parse(rendered.inputs(DASHBOARD).dashboardJson).mosaicLayout.tiles) {
            for (const d of tile.widget.xyChart?.dataSets ?? []) {
                const f = d.timeSeriesQuery?.timeSeriesFilter?.filter;
                if (typeof f === "string" && f.includes(LB)) out.push({ where: `dashboard ${tile.widget.title}`, filter: f });
            }
        }
        return out;
    }

    const series = (metric: string, backend: string | undefined, extra: Record<string, string> = {}): SeriesLabels => ({
        resourceType: "https_lb_rule",
        metricType: metric,
        resourceLabels: { project_id: "p", url_map_name: "any", forwarding_rule_name: "any", ...(backend !== undefined ? { backend_target_name: backend } : {}) },
        metricLabels: { response_code_class: "500", cache_result: "HIT", ...extra },
    });

    for (const stack of ["staging", "production"]) {
        it(`${stack}: every load balancer filter reads this site's backend and no other`, () => {
            const rendered = r[stack];
            const namespace = rendered.inputs("kubernetes:core/v1:Namespace").metadata.name as string;
            const service = rendered.one(T.service, "django-workload-web");
            const serviceName = (service.outputs as any).metadata.name as string;
            const port = (service.inputs as any).spec.ports[0].port as number;
            const webFilters = lbFilters(rendered).filter((f) => !f.where.includes("CDN"));
            assert.ok(webFilters.length >= 5, `5xx (2 filters), latency, 2 charts: ${webFilters.map((f) => f.where).join(", ")}`);
            for (const { where, filter } of webFilters) {
                const metric = parseFilter(filter).length > 0 && /metric\.type="([^"]+)"/.exec(filter)![1];
                assert.ok(metric);
                for (const uid of ["0123456789abcdef", "5e1f0a9b3c7d2e4f"]) {
                    assert.ok(filterMatches(filter, series(metric, negName(uid, namespace, serviceName, port))), `${where} must read the web backend`);
                }
                const others: [string, string | undefined][] = [
                    ["the CDN's backend bucket", "django-statics-cdn-backend-1234567"],
                    ["another site's Ingress backend", negName("0123456789abcdef", "shop", "shop-web", 80)],
                    ["another Service of the namespace", negName("0123456789abcdef", namespace, "django-admin-web", 80)],
                    ["the same Service in another namespace", negName("0123456789abcdef", "django-other", serviceName, port)],
                    ["a request no backend served (redirect)", undefined],
                ];
                for (const [what, backend] of others) {
                    assert.ok(!filterMatches(filter, series(metric, backend)), `${where} reads ${what}`);
                }
            }
        });
    }

    it("production: the CDN has a chart of its own, on its backend bucket only", () => {
        const bucket = r.production.one("gcp:compute/backendBucket:BackendBucket");
        const name = bucket.outputs.name as string;
        const cdn = lbFilters(r.production).filter((f) => f.where.includes("CDN"));
        assert.equal(cdn.length, 1);
        const namespace = r.production.inputs("kubernetes:core/v1:Namespace").metadata.name as string;
        assert.ok(filterMatches(cdn[0].filter, series(`${LB}request_count`, name)), cdn[0].filter);
        assert.ok(!filterMatches(cdn[0].filter, series(`${LB}request_count`, negName("0123456789abcdef", namespace, "django-workload-web-x", 80))));
        assert.equal(lbFilters(r.staging).filter((f) => f.where.includes("CDN")).length, 0, "no CDN in staging");
    });
});

/**
 * The label matchers of every vector selector in a PromQL expression (`metric{k="v", k2="v2"}`),
 * evaluated against one series' labels: `=` only (what the platform writes; anything else fails).
 * Semantics: https://prometheus.io/docs/prometheus/latest/querying/basics/#time-series-selectors
 */
function promSelectorsMatch(query: string, labels: Record<string, string>): boolean[] {
    return [...query.matchAll(/\b(kube_[a-z_]+)\{([^}]*)\}/g)].map(([, , body]) => body.split(",").map((m) => m.trim()).every((m) => {
        const eq = /^([a-z_]+)="([^"]*)"$/.exec(m);
        assert.ok(eq, `matcher ${m} is not of the form label="value"`);
        return labels[eq[1]] === eq[2];
    }));
}

// "Web HPA at max" must not fire for a worker's HPA (production has the `tasks` worker, whose HPA
// lives in the same namespace): every selector of the query and of the chart names the web HPA.
describe("the HPA alert and chart read the web HPA only", () => {
    let production: Rendered;
    before(async () => {
        production = await renderStack("production");
    });

    it("production: the web HPA's series match every selector, the tasks worker's none", () => {
        const namespace = production.inputs("kubernetes:core/v1:Namespace").metadata.name as string;
        const hpas = production.all(T.hpa);
        const nameOf = (logical: string) => (hpas.find((h) => h.name === logical)!.outputs as any).metadata.name as string;
        const web = nameOf("django-workload-web");
        const worker = (hpas.find((h) => h.name.includes("worker-tasks"))!.outputs as any).metadata.name as string;
        const query = production.inputs(ALERT, "django-monitoring-alert-hpa-max").conditions[0].conditionPrometheusQueryLanguage.query as string;
        const chart = JSON.parse(production.inputs(DASHBOARD).dashboardJson).mosaicLayout.tiles
            .map((t: any) => t.widget).find((w: any) => /HPA/.test(w.title)).xyChart.dataSets[0].timeSeriesQuery.prometheusQuery as string;
        for (const [what, q] of [["alert", query], ["chart", chart]]) {
            const onWeb = promSelectorsMatch(q, { namespace, horizontalpodautoscaler: web });
            assert.ok(onWeb.length >= 2 && onWeb.every(Boolean), `${what}: ${q}`);
            assert.ok(promSelectorsMatch(q, { namespace, horizontalpodautoscaler: worker }).every((m) => !m), `${what} reads the worker's HPA ${worker}: ${q}`);
        }
    });
});

// The uptime check cannot pass before DNS points at the load balancer and the managed certificate
// is active, which takes up to an hour after the first `pulumi up`
// (https://cloud.google.com/load-balancing/docs/ssl-certificates/google-managed-certs#update-dns):
// its CRITICAL alert must not page during a first deploy. monitoring.siteLive false keeps the
// check (its data shows when the site comes up) and turns only that alert off.
describe("monitoring.siteLive: no 'site down' page while the site is still being set up", () => {
    it("false: the uptime check exists, its alert policy is disabled, every other policy stays on", async () => {
        const r = await renderStack("staging", { "django-platform:monitoring": { siteLive: false } });
        assert.equal(r.all(UPTIME).length, 1);
        const enabled = Object.fromEntries(r.all(ALERT).map((a) => [a.name.replace("django-monitoring-alert-", ""), (a.inputs as any).enabled]));
        assert.equal(enabled.uptime, false);
        assert.deepEqual(Object.entries(enabled).filter(([k, v]) => k !== "uptime" && v !== true), []);
    });

    it("the default is true (a live site is watched), and it must be a boolean", async () => {
        const r = await renderStack("production");
        assert.equal(r.inputs(ALERT, "django-monitoring-alert-uptime").enabled, true);
        assert.equal(validateConfig({ "gcp:project": "acme-staging", "gcp:region": "europe-west1", "django-platform:domain": "app.example.com", "django-platform:image": "repo/app:1.0" }, "staging").monitoring.siteLive, true);
        assert.throws(() => validateConfig({
            "gcp:project": "acme-staging", "gcp:region": "europe-west1", "django-platform:domain": "app.example.com", "django-platform:image": "repo/app:1.0",
            "django-platform:monitoring": JSON.stringify({ siteLive: "no" }),
        }, "staging"), (err: Error) => err instanceof ConfigError && /^django-platform:monitoring\.siteLive: .*\(got "no"\)\. Fix: `pulumi config set --path monitoring\.siteLive false`\./.test(err.problems[0]));
    });
});
