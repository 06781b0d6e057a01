/**
 * Pure builders of the Cloud Monitoring alert policies and dashboard (no Pulumi resources), from
 * plain values: components/monitoring.ts resolves the outputs and creates the resources; the tests
 * read these functions directly. Every metric type is Google's, from the lists cited beside it.
 */

/** Alert thresholds (stack config `monitoring.thresholds.*`). */
export interface AlertThresholds {
    /** Share of 5xx among load balancer responses over 5 minutes. */
    readonly errorRatio5xx: number;
    /** 95th percentile of backend latency, ms, over 5 minutes. */
    readonly latencyP95Ms: number;
    /** Cloud SQL CPU utilisation, 0-1. */
    readonly sqlCpu: number;
    /** Cloud SQL disk utilisation, 0-1. */
    readonly sqlDisk: number;
    /** Share of the usable max_connections. */
    readonly sqlConnections: number;
    /** Redis memory use, 0-1. */
    readonly redisMemory: number;
    /** Minutes at maxReplicas. */
    readonly hpaAtMaxMinutes: number;
}

/** The values the alert policies are built from, all resolved. */
export interface AlertValues {
    readonly thresholds: AlertThresholds;
    /**
     * The site's host name: the uptime check's `uptime_url` resource carries it as `host`, known
     * before the check exists (its generated `check_id` is not).
     */
    readonly host: string;
    /** Cloud SQL `database_id` label: `<project>:<instance>`. */
    readonly databaseId: string;
    /** max_connections minus the superuser reserve (components/connectionBudget.ts). */
    readonly usableConnections: number;
    /** Where Redis runs. */
    readonly cacheMode: "in-cluster" | "memorystore";
    /** The app's Kubernetes namespace. */
    readonly namespace: string;
    /**
     * RE2 pattern fully matching the name of the web backend service GKE's Ingress creates
     * (components/ingressNames.ts `negBackendNamePattern`): the `backend_target_name` that scopes
     * the load balancer alerts to this site.
     */
    readonly webBackendPattern: string;
    /** The web HPA's name: the HPA alert and chart read it only (workers have HPAs of their own). */
    readonly webHpaName: string;
    /** Name of the CDN's backend bucket, when the CDN is on: a dashboard chart of its own. */
    readonly cdnBackendName?: string;
}

/** One alert policy, as `gcp.monitoring.AlertPolicy` takes it (the subset set here). */
export interface AlertSpec {
    /** Short role, for the resource name (`<monitoring>-alert-<key>`). */
    readonly key: string;
    readonly displayName: string;
    /** Markdown shown in the notification: what fired and where to look. */
    readonly documentation: string;
    readonly conditions: Record<string, unknown>[];
    readonly alertStrategy?: Record<string, unknown>;
}

const seconds = (n: number) => `${n}s`;

/** A threshold condition on one metric, aligned over 5 minutes. */
function threshold(displayName: string, filter: string, value: number, opts: { aligner?: string; reducer?: string; groupBy?: string[]; duration?: number; denominatorFilter?: string } = {}): Record<string, unknown> {
    const aggregation = {
        alignmentPeriod: "300s",
        perSeriesAligner: opts.aligner ?? "ALIGN_MEAN",
        crossSeriesReducer: opts.reducer ?? "REDUCE_MAX",
        ...withoutZeroValues({ groupByFields: opts.groupBy ?? [] }),
    };
    return {
        displayName,
        conditionThreshold: {
            filter,
            comparison: "COMPARISON_GT",
            thresholdValue: value,
            duration: seconds(opts.duration ?? 300),
            aggregations: [aggregation],
            trigger: { count: 1 },
            ...(opts.denominatorFilter !== undefined ? { denominatorFilter: opts.denominatorFilter, denominatorAggregations: [aggregation] } : {}),
        },
    };
}

/**
 * Load balancer metrics of the external Application Load Balancer (monitored resource
 * `https_lb_rule`): `https/request_count` with its `response_code_class` label (200, 300, 400, 500)
 * and `https/backend_latencies` (a distribution, ms).
 * @see https://cloud.google.com/monitoring/api/metrics_gcp_d_h#gcp-loadbalancing
 */
export const LB_METRICS = {
    requests: "loadbalancing.googleapis.com/https/request_count",
    backendLatencies: "loadbalancing.googleapis.com/https/backend_latencies",
} as const;

/**
 * A filter on one load balancer metric of this site's web backend only. The `https_lb_rule`
 * resource covers every external Application Load Balancer of the project (the CDN's included);
 * its `backend_target_name` label names the backend service (or bucket) the request went to
 * (https://cloud.google.com/monitoring/api/resources#tag_https_lb_rule). GKE names the web
 * backend service only when the Ingress is synced, so the filter matches the name's pattern
 * (`monitoring.regex.full_match`, RE2, whole value: https://cloud.google.com/monitoring/api/v3/filters),
 * known from the namespace, Service and port before anything exists: it works from the first
 * `pulumi up`, and matches the CDN's backend bucket and other sites' backends in no case.
 */
export function webBackendFilter(metric: string, webBackendPattern: string): string {
    return `resource.type="https_lb_rule" AND resource.label.backend_target_name=monitoring.regex.full_match("${webBackendPattern}") AND metric.type="${metric}"`;
}

/** A filter on one load balancer metric of the CDN's backend bucket. */
export function cdnBackendFilter(metric: string, cdnBackendName: string): string {
    return `resource.type="https_lb_rule" AND resource.label.backend_target_name="${cdnBackendName}" AND metric.type="${metric}"`;
}

/**
 * Cloud SQL metrics (monitored resource `cloudsql_database`, label `database_id` = `project:instance`).
 * @see https://cloud.google.com/monitoring/api/metrics_gcp_c#gcp-cloudsql
 */
export const SQL_METRICS = {
    cpu: "cloudsql.googleapis.com/database/cpu/utilization",
    disk: "cloudsql.googleapis.com/database/disk/utilization",
    backends: "cloudsql.googleapis.com/database/postgresql/num_backends",
} as const;

/**
 * Memorystore's used/max memory ratio (monitored resource `redis_instance`).
 * @see https://cloud.google.com/monitoring/api/metrics_gcp_p_z#gcp-redis
 */
export const REDIS_MEMORY_RATIO = "redis.googleapis.com/stats/memory/usage_ratio";

/**
 * GKE system metric: a container's memory use as a share of its limit (`k8s_container`).
 * @see https://cloud.google.com/monitoring/api/metrics_kubernetes
 */
export const CONTAINER_MEMORY_LIMIT_UTILIZATION = "kubernetes.io/container/memory/limit_utilization";

/**
 * Uptime checks write `check_passed` (bool) per checker location (`uptime_url`).
 * @see https://cloud.google.com/monitoring/api/metrics_gcp_i_o#gcp-monitoring
 */
export const UPTIME_CHECK_PASSED = "monitoring.googleapis.com/uptime_check/check_passed";

/** The kube state metrics selector of one HPA: its namespace and name (the `horizontalpodautoscaler` label). */
function hpaSelector(namespace: string, hpaName: string): string {
    return `{namespace="${namespace}", horizontalpodautoscaler="${hpaName}"}`;
}

/**
 * The HPA query, on the web HPA only (the workers' HPAs are in the same namespace): kube state
 * metrics (Managed Service for Prometheus), which GKE Autopilot collects by default from
 * 1.27.4-gke.900 ("the Kube state metrics package is enabled by default",
 * https://cloud.google.com/kubernetes-engine/docs/how-to/kube-state-metrics), labelled with the
 * HPA's `namespace` and `horizontalpodautoscaler` (its name).
 */
export function hpaAtMaxQuery(namespace: string, hpaName: string): string {
    const sel = hpaSelector(namespace, hpaName);
    return `max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas${sel}) >= max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas${sel})`;
}

/**
 * The Job failure log filter: a failed Job's reason is `BackoffLimitExceeded` or
 * `DeadlineExceeded` (k8s.io/api batch/v1 `JobReasonBackoffLimitExceeded`,
 * `JobReasonDeadlineExceeded`), which the Job controller also records as a Warning event; GKE
 * sends Kubernetes events to Cloud Logging ("For events, GKE uses a deployment in the kube-system
 * namespace which automatically collects events and sends them to Logging":
 * https://cloud.google.com/kubernetes-engine/docs/concepts/about-logs; the event exporter:
 * https://v1-9.docs.kubernetes.io/docs/tasks/debug-application-cluster/events-stackdriver/). Not
 * verified from Google's current docs: the log id `events` and the `jsonPayload.involvedObject`
 * field names, taken from the exported Event object; check on a live project (docs/monitoring.md).
 */
export function jobFailureFilter(namespace: string): string {
    return `log_id("events") AND jsonPayload.involvedObject.kind="Job" AND jsonPayload.involvedObject.namespace="${namespace}" AND jsonPayload.reason=("BackoffLimitExceeded" OR "DeadlineExceeded")`;
}

/** The connection count above which the connections alert fires (at least 1). */
export function connectionsThreshold(usableConnections: number, ratio: number): number {
    return Math.max(1, Math.floor(usableConnections * ratio));
}

/** Every alert policy, in a stable order. */
export function alertSpecs(v: AlertValues): AlertSpec[] {
    const t = v.thresholds;
    const lb = webBackendFilter(LB_METRICS.requests, v.webBackendPattern);
    const sql = (metric: string) => `resource.type="cloudsql_database" AND resource.label.database_id="${v.databaseId}" AND metric.type="${metric}"`;
    const redis = v.cacheMode === "memorystore"
        ? threshold("Memorystore memory usage ratio", `resource.type="redis_instance" AND metric.type="${REDIS_MEMORY_RATIO}"`, t.redisMemory)
        : threshold("Redis container memory / limit", `resource.type="k8s_container" AND resource.label.namespace_name="${v.namespace}" AND resource.label.container_name="redis" AND metric.type="${CONTAINER_MEMORY_LIMIT_UTILIZATION}"`, t.redisMemory);
    return [
        {
            key: "uptime",
            displayName: "Site down: /healthz/ uptime check failing",
            documentation: "The HTTPS uptime check on /healthz/ fails from more than one checker location. See docs/operations.md.",
            // Google's recommended uptime alert: count the failing checker locations per check.
            // https://cloud.google.com/monitoring/uptime-checks/uptime-alerting-policies
            conditions: [{
                displayName: "uptime check failing",
                conditionThreshold: {
                    filter: `resource.type="uptime_url" AND metric.type="${UPTIME_CHECK_PASSED}" AND resource.label.host="${v.host}"`,
                    comparison: "COMPARISON_GT",
                    thresholdValue: 1,
                    duration: "60s",
                    aggregations: [{ alignmentPeriod: "1200s", perSeriesAligner: "ALIGN_NEXT_OLDER", crossSeriesReducer: "REDUCE_COUNT_FALSE", groupByFields: ["resource.label.*"] }],
                    trigger: { count: 1 },
                },
            }],
        },
        {
            key: "5xx",
            displayName: `Load balancer 5xx above ${t.errorRatio5xx * 100}%`,
            documentation: "Share of 5xx responses at the load balancer over 5 minutes. Check the web pods' logs and Cloud SQL.",
            conditions: [threshold("5xx ratio", `${lb} AND metric.label.response_code_class=500`, t.errorRatio5xx, { aligner: "ALIGN_RATE", reducer: "REDUCE_SUM", denominatorFilter: lb })],
        },
        {
            key: "latency",
            displayName: `Backend latency p95 above ${t.latencyP95Ms} ms`,
            documentation: "95th percentile of the load balancer's backend latency over 5 minutes.",
            conditions: [threshold("p95 backend latency", webBackendFilter(LB_METRICS.backendLatencies, v.webBackendPattern), t.latencyP95Ms, { aligner: "ALIGN_DELTA", reducer: "REDUCE_PERCENTILE_95" })],
        },
        {
            key: "sql-cpu",
            displayName: `Cloud SQL CPU above ${t.sqlCpu * 100}%`,
            documentation: "Sustained CPU on the Cloud SQL instance: slow queries (Query Insights) or a tier too small.",
            conditions: [threshold("CPU utilization", sql(SQL_METRICS.cpu), t.sqlCpu, { duration: 600 })],
        },
        {
            key: "sql-disk",
            displayName: `Cloud SQL disk above ${t.sqlDisk * 100}%`,
            documentation: "Disk utilisation of the Cloud SQL instance (automatic storage increase adds space, but not without limit).",
            conditions: [threshold("disk utilization", sql(SQL_METRICS.disk), t.sqlDisk)],
        },
        {
            key: "sql-connections",
            displayName: `Cloud SQL connections above ${connectionsThreshold(v.usableConnections, t.sqlConnections)} of ${v.usableConnections}`,
            documentation: "PostgreSQL backends near the connection budget (components/connectionBudget.ts): new connections will soon be refused.",
            conditions: [threshold("connections", sql(SQL_METRICS.backends), connectionsThreshold(v.usableConnections, t.sqlConnections), { reducer: "REDUCE_SUM", groupBy: ["resource.label.database_id"] })],
        },
        {
            key: "redis-memory",
            displayName: `Redis memory above ${t.redisMemory * 100}%`,
            documentation: "Redis near its memory limit: evictions rise (in-cluster: the container may be OOM-killed above its limit).",
            conditions: [redis],
        },
        {
            key: "hpa-max",
            displayName: `Web HPA at maxReplicas for ${t.hpaAtMaxMinutes} minutes`,
            documentation: "The web Deployment cannot scale further: raise workload.maxReplicas (within the connection budget) or find the load.",
            conditions: [{
                displayName: "HPA at max",
                conditionPrometheusQueryLanguage: { query: hpaAtMaxQuery(v.namespace, v.webHpaName), duration: seconds(t.hpaAtMaxMinutes * 60), evaluationInterval: "60s" },
            }],
        },
        {
            key: "job-failed",
            displayName: "Kubernetes Job failed (migrate / collectstatic)",
            documentation: "A Job of the app's namespace failed (BackoffLimitExceeded or DeadlineExceeded). See docs/release.md.",
            conditions: [{ displayName: "Job failed event", conditionMatchedLog: { filter: jobFailureFilter(v.namespace) } }],
            // "Required for alert policies with a LogMatch condition" (AlertStrategy.notificationRateLimit,
            // https://cloud.google.com/python/docs/reference/monitoring/2.10.1/google.cloud.monitoring_v3.types.AlertPolicy.AlertStrategy).
            alertStrategy: { notificationRateLimit: { period: "300s" }, autoClose: "1800s" },
        },
    ];
}

/**
 * `fields` without the proto3 zero values (`[]`, `""`, `0`, `false`), which the Monitoring API leaves
 * out of what it returns. In a dashboard's JSON each one would be a diff on every preview: the
 * provider only ignores keys that are in the state and not in the config
 * (hashicorp/terraform-provider-google, google/services/monitoring/resource_monitoring_dashboard.go,
 * `removeComputedKeys`; issue 16173).
 */
function withoutZeroValues<T extends Record<string, unknown>>(fields: T): Partial<T> {
    const zero = (v: unknown) => v === "" || v === 0 || v === false || (Array.isArray(v) && v.length === 0);
    return Object.fromEntries(Object.entries(fields).filter(([, v]) => !zero(v))) as Partial<T>;
}

/** One dashboard chart: a line of `filter` aligned with `aligner`. */
function chart(title: string, filter: string, aligner: string, reducer = "REDUCE_SUM", groupBy: string[] = []): Record<string, unknown> {
    return {
        title,
        xyChart: {
            dataSets: [{
                plotType: "LINE",
                timeSeriesQuery: { timeSeriesFilter: { filter, aggregation: { alignmentPeriod: "60s", perSeriesAligner: aligner, crossSeriesReducer: reducer, ...withoutZeroValues({ groupByFields: groupBy }) } } },
            }],
        },
    };
}

/** The dashboard JSON (`gcp.monitoring.Dashboard.dashboardJson`): one chart per alerted signal. */
export function dashboardJson(v: Omit<AlertValues, "thresholds" | "usableConnections">, displayName: string): string {
    const sql = (metric: string) => `resource.type="cloudsql_database" AND resource.label.database_id="${v.databaseId}" AND metric.type="${metric}"`;
    const charts = [
        chart("Uptime check passed (by location)", `resource.type="uptime_url" AND metric.type="${UPTIME_CHECK_PASSED}" AND resource.label.host="${v.host}"`, "ALIGN_FRACTION_TRUE", "REDUCE_MEAN", ["metric.label.checker_location"]),
        chart("Requests by response class", webBackendFilter(LB_METRICS.requests, v.webBackendPattern), "ALIGN_RATE", "REDUCE_SUM", ["metric.label.response_code_class"]),
        chart("Backend latency p95 (ms)", webBackendFilter(LB_METRICS.backendLatencies, v.webBackendPattern), "ALIGN_DELTA", "REDUCE_PERCENTILE_95"),
        chart("Cloud SQL CPU", sql(SQL_METRICS.cpu), "ALIGN_MEAN", "REDUCE_MAX"),
        chart("Cloud SQL disk", sql(SQL_METRICS.disk), "ALIGN_MEAN", "REDUCE_MAX"),
        chart("Cloud SQL connections", sql(SQL_METRICS.backends), "ALIGN_MEAN", "REDUCE_SUM"),
        v.cacheMode === "memorystore"
            ? chart("Memorystore memory usage ratio", `resource.type="redis_instance" AND metric.type="${REDIS_MEMORY_RATIO}"`, "ALIGN_MEAN", "REDUCE_MAX")
            : chart("Redis memory / limit", `resource.type="k8s_container" AND resource.label.namespace_name="${v.namespace}" AND resource.label.container_name="redis" AND metric.type="${CONTAINER_MEMORY_LIMIT_UTILIZATION}"`, "ALIGN_MEAN", "REDUCE_MAX", ["resource.label.pod_name"]),
        { title: "Web HPA replicas (current vs max)", xyChart: { dataSets: [{ plotType: "LINE", timeSeriesQuery: { prometheusQuery: `kube_horizontalpodautoscaler_status_current_replicas${hpaSelector(v.namespace, v.webHpaName)} or kube_horizontalpodautoscaler_spec_max_replicas${hpaSelector(v.namespace, v.webHpaName)}` } }] } },
        // No resourceNames: the panel reads the dashboard's own project.
        { title: "Failed Jobs (events)", logsPanel: { filter: jobFailureFilter(v.namespace) } },
        // The static files' traffic, apart from the site's: cache hits and misses of the CDN
        // (request_count's `cache_result` label, https://cloud.google.com/monitoring/api/metrics_gcp_d_h).
        ...(v.cdnBackendName !== undefined
            ? [chart("Static files (CDN) by cache result", cdnBackendFilter(LB_METRICS.requests, v.cdnBackendName), "ALIGN_RATE", "REDUCE_SUM", ["metric.label.cache_result"])]
            : []),
    ];
    const width = 6;
    const height = 4;
    return JSON.stringify({
        displayName,
        mosaicLayout: {
            columns: 12,
            tiles: charts.map((widget, i) => ({ ...withoutZeroValues({ xPos: (i % 2) * width, yPos: Math.floor(i / 2) * height }), width, height, widget })),
        },
    });
}
