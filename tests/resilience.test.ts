/**
 * Issue 24, points 1, 5 and 6, on the staging stack run as rendered (`npm run local`'s runner: the
 * web pod with its rendered gunicorn command, environment and probes at the kubelet's cadence, the
 * rendered Redis master and replica, PostgreSQL, the load balancer stand-in):
 *
 * - a hung Redis master (SIGSTOP): pages keep answering fast once the app's circuit for it opens,
 *   and no probe fails (1);
 * - slow clients holding connections to the pod's page port (slow headers, slow bodies): pages and
 *   probes still answer at once, since requests are read before they take a thread (5);
 * - a frozen PostgreSQL (SIGSTOP of the server and its backends): every page request ends within
 *   the database deadlines instead of waiting for the server, readiness answers 503 (not a probe
 *   timeout), liveness never fails, and the pod serves again within seconds of the server's return,
 *   without a restart (6).
 *
 * The rendered command runs app/web_worker.py and app/resilience.py, whose numbers must be those
 * components/podTemplates.ts derives: checked first. The long lab scenarios (120 s hangs, open-loop
 * load on several pods) are `npm run reliability`'s.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
    APP_CACHE_CONNECT_TIMEOUT_SECONDS,
    APP_CACHE_SOCKET_TIMEOUT_SECONDS,
    BUFFERED_REQUEST_BYTES,
    BUSY_METRIC,
    CACHE_BREAKER_FAILURES,
    DATABASE_CONNECT_TIMEOUT_SECONDS,
    DATABASE_STATEMENT_TIMEOUT_SECONDS,
    DATABASE_WATCHDOG_GRACE_SECONDS,
    LOAD_BALANCER_BACKEND_TIMEOUT_SECONDS,
    METRICS_PATH,
    PROBE_PORT,
    PROBE_THREADS,
    READINESS_DATABASE_DEADLINE_SECONDS,
    READINESS_PROBE_TIMING,
    REQUEST_DEADLINE_SECONDS,
    WEB_PORT,
} from "../components/podTemplates";
import { BUSY_METRIC_SCRAPE_INTERVAL, busyMetricHpaName } from "../components/workload";
import { GMP_COLLECTOR_NAMESPACES } from "../components/networkPolicies";
import { validateObjects } from "../cli/lib/k8sValidate";
import type { K8sObject } from "../cli/lib/manifests";
import type { K8sDoc } from "../cli/lib/renderedWorkloads";
import { httpGet } from "../cli/lib/local/http";
import type { LocalPod } from "../cli/lib/local/pod";
import type { ProbeRecord } from "../cli/lib/local/probes";
import type { LocalRun } from "../cli/lib/local/run";
import type { LocalServices } from "../cli/lib/local/services";
import { APP_DIR, PYTHON, baseEnv, synthStagingWith } from "./lib/djangoApp";
import { OPEN_DEMO } from "../maint/lib/configOverrides";
import { describeFailures, render, startServices, startStack } from "./lib/localStack";
import { run } from "./lib/localServers";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One request of a load run. */
interface Shot {
    /** Milliseconds from the start of the run. */
    readonly at: number;
    readonly ms: number;
    readonly status?: number;
    readonly error?: string;
}

function shoot(port: number, path: string, headers: Record<string, string>, timeoutMs: number, t0: number): Promise<Shot> {
    const at = performance.now() - t0;
    return new Promise((resolve) => {
        const start = performance.now();
        const done = (r: { status?: number; error?: string }) => resolve({ at, ms: performance.now() - start, ...r });
        const req = request({ host: "127.0.0.1", port, path, headers, agent: false, timeout: timeoutMs }, (res) => {
            res.resume();
            res.on("end", () => done({ status: res.statusCode }));
            res.on("error", (e) => done({ error: e.message }));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) => done({ error: e.message }));
        req.end();
    });
}

/** Open-loop load: `perSecond` requests a second for `durationMs`, whatever the answers take. */
async function openLoop(port: number, headers: Record<string, string>, perSecond: number, durationMs: number, timeoutMs: number, path = "/"): Promise<Shot[]> {
    const t0 = performance.now();
    const shots: Array<Promise<Shot>> = [];
    for (let i = 0; performance.now() - t0 < durationMs; i++) {
        shots.push(shoot(port, path, headers, timeoutMs, t0));
        await sleep(Math.max(0, t0 + ((i + 1) * 1000) / perSecond - performance.now()));
    }
    return Promise.all(shots);
}

const summary = (shots: readonly Shot[]) => {
    const kinds = new Map<string, number>();
    for (const s of shots) kinds.set(String(s.status ?? s.error), (kinds.get(String(s.status ?? s.error)) ?? 0) + 1);
    return `${shots.length} requests: ${[...kinds].map(([k, n]) => `${n} × ${k}`).join(", ")}; slowest ${Math.round(Math.max(...shots.map((s) => s.ms)))} ms`;
};

/**
 * The PostgreSQL server's processes: the postmaster and its children (each backend calls setsid(),
 * so signalling the postmaster's group would stop the postmaster alone).
 */
function postgresProcesses(dataDir: string): number[] {
    const postmaster = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    const children = readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .filter((entry) => {
            try {
                // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
                const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
                return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster;
            } catch {
                return false;
            }
        })
        .map(Number);
    return [postmaster, ...children];
}

/** Failures of each probe kind so far. */
const failures = (pod: LocalPod) => Object.fromEntries(pod.probeRecords.map((r: ProbeRecord) => [r.kind, r.failed]));

/** The Python constants of the app's modules, as JSON. */
async function appConstants(module: string, names: readonly string[]): Promise<Record<string, number>> {
    const code = `import json, ${module} as m; print(json.dumps({n: getattr(m, n) for n in ${JSON.stringify(names)}}))`;
    const result = await run(PYTHON, ["-c", code], { cwd: APP_DIR, env: baseEnv() });
    return JSON.parse(result.stdout) as Record<string, number>;
}

test("app/resilience.py and app/web_worker.py use the numbers components/podTemplates.ts derives", async () => {
    assert.deepEqual(
        await appConstants("resilience", ["CACHE_CONNECT_TIMEOUT_SECONDS", "CACHE_SOCKET_TIMEOUT_SECONDS", "BREAKER_FAILURES", "DATABASE_CONNECT_TIMEOUT_SECONDS", "DATABASE_STATEMENT_TIMEOUT_SECONDS", "WATCHDOG_GRACE_SECONDS", "READINESS_DATABASE_DEADLINE_SECONDS"]),
        {
            CACHE_CONNECT_TIMEOUT_SECONDS: APP_CACHE_CONNECT_TIMEOUT_SECONDS,
            CACHE_SOCKET_TIMEOUT_SECONDS: APP_CACHE_SOCKET_TIMEOUT_SECONDS,
            BREAKER_FAILURES: CACHE_BREAKER_FAILURES,
            DATABASE_CONNECT_TIMEOUT_SECONDS,
            DATABASE_STATEMENT_TIMEOUT_SECONDS,
            WATCHDOG_GRACE_SECONDS: DATABASE_WATCHDOG_GRACE_SECONDS,
            READINESS_DATABASE_DEADLINE_SECONDS,
        },
    );
    const worker = await appConstants("web_worker", ["PROBE_THREADS", "REQUEST_DEADLINE_SECONDS", "BUFFERED_REQUEST_BYTES", "METRICS_PATH", "BUSY_METRIC"]);
    assert.deepEqual(worker, { PROBE_THREADS, REQUEST_DEADLINE_SECONDS, BUFFERED_REQUEST_BYTES, METRICS_PATH, BUSY_METRIC });
    // What the numbers must satisfy, whatever they are.
    assert.equal(REQUEST_DEADLINE_SECONDS, LOAD_BALANCER_BACKEND_TIMEOUT_SECONDS);
    assert.ok(READINESS_DATABASE_DEADLINE_SECONDS < READINESS_PROBE_TIMING.timeoutSeconds, "readiness answers 503 before the probe times out");
    assert.ok(DATABASE_CONNECT_TIMEOUT_SECONDS < READINESS_PROBE_TIMING.timeoutSeconds, "a connection attempt gives up before the probe does");
    assert.ok(DATABASE_STATEMENT_TIMEOUT_SECONDS + DATABASE_WATCHDOG_GRACE_SECONDS < LOAD_BALANCER_BACKEND_TIMEOUT_SECONDS, "the pod, not the load balancer, ends a request stuck on the database");
});

describe("staging's web pod under faults (npm run local's runner)", () => {
    let services: LocalServices;
    let stack: LocalRun;
    let pod: LocalPod;
    let host: string;
    /** A page request straight to the pod, as the load balancer sends it. */
    const pageHeaders = () => ({ Host: host, "X-Forwarded-Proto": "https" });
    const probePort = () => pod.plan.localPorts[PROBE_PORT] as number;

    before(async () => {
        services = await startServices();
        // Slow bodies are sent to POST /tasks/: the route exists only with the demo open.
        stack = await startStack(services, await render("staging", OPEN_DEMO));
        assert.deepEqual(stack.failures, [], describeFailures(stack));
        const web = stack.deployments.find((d) => d.plan.workload.component === "web");
        assert.ok(web?.ready, "the web pod is ready");
        pod = web;
        host = (pod.plan.env.DJANGO_APP_ALLOWED_HOSTS ?? "").split(/\s+/)[0] as string;
        assert.ok(probePort(), "the pod binds the probe port");
    });

    after(async () => {
        await stack?.kill();
        await services?.close();
    });

    test("the probe port answers the probes and the busy gauge, and nothing else", async () => {
        const probeHost = { host: `${pod.plan.podIp}:${probePort()}` };
        assert.equal((await httpGet(probePort(), "/healthz/", probeHost)).status, 200);
        assert.equal((await httpGet(probePort(), "/readyz/", probeHost)).status, 200);
        assert.match((await httpGet(probePort(), METRICS_PATH, probeHost)).body, new RegExp(`^${BUSY_METRIC} \\d+\\.\\d+$`, "m"));
        assert.equal((await httpGet(probePort(), "/", { ...probeHost, "x-forwarded-proto": "https" })).status, 404);
        assert.equal((await httpGet(probePort(), "/admin/login/", { ...probeHost, "x-forwarded-proto": "https" })).status, 404);
    });

    test("under page load, readiness holds no database connection beyond the page threads' (workers × threads)", async () => {
        const user = pod.plan.env.DJANGO_APP_DB_USER as string;
        const [workers, threads] = ["--workers", "--threads"].map((flag) => Number(pod.plan.renderedArgv[pod.plan.renderedArgv.indexOf(flag) + 1]));
        let peak = 0;
        const load = openLoop(stack.front?.port as number, {}, 15, 4_000, 10_000);
        const deadline = performance.now() + 4_000;
        while (performance.now() < deadline) {
            peak = Math.max(peak, Number(await services.postgres.sql(`SELECT count(*) FROM pg_stat_activity WHERE usename = '${user}'`)));
            await sleep(100);
        }
        const shots = await load;
        assert.ok(shots.every((s) => s.status === 200), summary(shots));
        assert.ok(peak >= 1 && peak <= (workers as number) * (threads as number), `peak ${peak} connections for ${workers} × ${threads}`);
    });

    test("slow clients (120 slow heads, 30 slow bodies) on the page port: pages and probes still answer at once", async (t) => {
        const before_ = failures(pod);
        const sockets: Socket[] = [];
        const open = (first: string) =>
            new Promise<void>((resolve, reject) => {
                const s = connect(pod.plan.port?.local as number, "127.0.0.1", () => {
                    s.write(first);
                    resolve();
                });
                s.on("error", () => undefined);
                s.once("error", reject);
                sockets.push(s);
            });
        try {
            for (let i = 0; i < 120; i++) await open(`GET / HTTP/1.1\r\nHost: ${host}\r\n`);
            for (let i = 0; i < 30; i++) await open(`POST /tasks/ HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\ntext=`);
            const trickle = setInterval(() => sockets.forEach((s, i) => s.write(i < 120 ? `X-Slow-${i}: 1\r\n` : "aaaa")), 1000);
            const shots = await openLoop(pod.plan.port?.local as number, pageHeaders(), 5, 8_000, 5_000).finally(() => clearInterval(trickle));
            t.diagnostic(summary(shots));
            assert.ok(shots.every((s) => s.status === 200 && s.ms < 2_000), summary(shots));
            assert.deepEqual(failures(pod), before_, "no probe failed");
        } finally {
            sockets.forEach((s) => s.destroy());
        }
    });

    // A page's cache calls wait their socket timeouts until the master's circuit opens, then none.
    const cacheBound = (CACHE_BREAKER_FAILURES * (APP_CACHE_CONNECT_TIMEOUT_SECONDS + APP_CACHE_SOCKET_TIMEOUT_SECONDS) + 1) * 1000;

    test(`a hung Redis master (SIGSTOP 8 s) under 15 pages/s: every page answers within ${cacheBound / 1000} s, no probe fails`, async (t) => {
        const master = stack.cache?.servers[0]?.redis;
        assert.ok(master);
        const pid = Number(/process_id:(\d+)/.exec(await master.cli(["INFO", "server"]))?.[1]);
        assert.ok(pid > 0, "Redis' pid");
        const before_ = failures(pod);
        const load = openLoop(stack.front?.port as number, {}, 15, 12_000, 10_000);
        await sleep(2_000);
        process.kill(pid, "SIGSTOP");
        try {
            await sleep(8_000);
        } finally {
            process.kill(pid, "SIGCONT");
        }
        const shots = await load;
        t.diagnostic(summary(shots));
        assert.ok(shots.every((s) => s.status === 200), summary(shots));
        assert.ok(shots.every((s) => s.ms < cacheBound), summary(shots));
        assert.deepEqual(failures(pod), before_, "no probe failed");
        assert.equal(pod.restarts, 0);
    });

    test("a frozen PostgreSQL (SIGSTOP 14 s): pages end within the deadlines, readiness answers 503, no restart, back within seconds", async (t) => {
        assert.ok(postgresProcesses(services.postgres.dataDir).length > 1, "the postmaster and its backends");
        const liveness = () => pod.probeRecords.find((r) => r.kind === "liveness")?.failed ?? 0;
        const livenessBefore = liveness();
        // Straight to the pod (the load balancer stand-in stops sending once readiness fails).
        const load = openLoop(pod.plan.port?.local as number, pageHeaders(), 5, 16_000, 20_000);
        await sleep(1_000);
        // The postmaster first, so that it forks no more backends; then every child, twice over
        // (a backend forked just before the postmaster stopped shows up a moment later).
        const stopped = new Set<number>();
        for (let round = 0; round < 3; round++) {
            for (const pid of postgresProcesses(services.postgres.dataDir)) {
                if (!stopped.has(pid)) process.kill(pid, "SIGSTOP");
                stopped.add(pid);
            }
            await sleep(100);
        }
        let thawedAt = 0;
        try {
            await sleep(14_000);
        } finally {
            for (const pid of stopped) process.kill(pid, "SIGCONT");
            thawedAt = performance.now();
        }
        const shots = await load;
        t.diagnostic(summary(shots));
        // The first requests wait until a readiness check (one probe period at most, then its
        // deadline) opens the circuit and the watchdog cuts them; later ones fail without I/O.
        // (4 s of margin for a busy test machine, where the app's threads wait for a core; the freeze
        // is longer than the bound, and before the change requests waited for the database.)
        const bound = Math.min(READINESS_PROBE_TIMING.periodSeconds + READINESS_DATABASE_DEADLINE_SECONDS, DATABASE_STATEMENT_TIMEOUT_SECONDS + DATABASE_WATCHDOG_GRACE_SECONDS) * 1000 + 4_000;
        assert.ok(shots.every((s) => s.status !== undefined && s.ms < bound), `${summary(shots)} (bound ${bound} ms)`);
        assert.ok(shots.some((s) => s.status === 500), `pages failed while the database was frozen: ${summary(shots)}`);
        const readiness = pod.probeRecords.find((r) => r.kind === "readiness");
        assert.equal(readiness?.lastFailure, "HTTP 503", "readiness answered 503 within its timeout, not a timeout");
        assert.equal(liveness(), livenessBefore, "liveness never failed");
        // Back: the pod is ready again and pages through the load balancer stand-in answer.
        let backMs = 0;
        for (;;) {
            const page = await shoot(stack.front?.port as number, "/", {}, 5_000, 0);
            if (page.status === 200) {
                backMs = performance.now() - thawedAt;
                break;
            }
            assert.ok(performance.now() - thawedAt < 20_000, `not back 20 s after the database: ${page.status ?? page.error}`);
            await sleep(200);
        }
        t.diagnostic(`pages through the load balancer stand-in answer again ${Math.round(backMs)} ms after the database; readiness: ${readiness?.failed} failed (${readiness?.lastFailure})`);
        assert.ok(backMs < (READINESS_PROBE_TIMING.periodSeconds + 3) * 1000, `back ${Math.round(backMs)} ms after the database`);
        assert.equal(pod.restarts, 0);
        assert.equal(pod.failure, undefined);
    });
});

describe("the autoscaler can see saturation CPU does not show (workload.requestsPerThreadTarget)", () => {
    let withTarget: K8sDoc[];
    let without: K8sDoc[];

    before(async () => {
        withTarget = await synthStagingWith({ "django-platform:workload": { requestsPerThreadTarget: 0.8 } });
        without = await synthStagingWith({});
    });

    const hpaOf = (docs: K8sDoc[]) => docs.find((d) => d.kind === "HorizontalPodAutoscaler" && d.metadata.labels?.["app.kubernetes.io/component"] === "web");

    test("the web HPA scales on CPU and on the pods' average of the busy gauge, and is valid against the official autoscaling/v2 schema", () => {
        const hpa = hpaOf(withTarget);
        assert.ok(hpa);
        const result = validateObjects([hpa as unknown as K8sObject]);
        assert.equal(result.validated, 1, "autoscaling/v2 HorizontalPodAutoscaler has a schema");
        assert.deepEqual(result.errors, []);
        const metrics = (hpa.spec as { metrics: Array<Record<string, unknown>> }).metrics;
        assert.deepEqual(metrics.map((m) => m.type), ["Resource", "Pods"]);
        assert.deepEqual(metrics[1], { type: "Pods", pods: { metric: { name: `prometheus.googleapis.com|${BUSY_METRIC}|gauge` }, target: { type: "AverageValue", averageValue: "0.8" } } });
        assert.equal(busyMetricHpaName, `prometheus.googleapis.com|${BUSY_METRIC}|gauge`);
    });

    test("Managed Service for Prometheus scrapes the probe port's metrics path of the web pods, and the NetworkPolicy admits its collectors there only", () => {
        const monitoring = withTarget.find((d) => d.kind === "PodMonitoring");
        assert.ok(monitoring);
        assert.equal(monitoring.apiVersion, "monitoring.googleapis.com/v1");
        const web = withTarget.find((d) => d.kind === "Deployment" && d.metadata.labels?.["app.kubernetes.io/component"] === "web");
        const podLabels = (web?.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
        const spec = monitoring.spec as { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string; interval: string }> };
        assert.ok(Object.entries(spec.selector.matchLabels).every(([k, v]) => podLabels[k] === v), "selects the web pods");
        assert.deepEqual(spec.endpoints, [{ port: "probes", path: METRICS_PATH, interval: BUSY_METRIC_SCRAPE_INTERVAL }]);
        const ingressOf = (docs: K8sDoc[]) =>
            (docs.find((d) => d.kind === "NetworkPolicy" && (d.spec as { podSelector?: { matchLabels?: Record<string, string> } }).podSelector?.matchLabels?.["app.kubernetes.io/component"] === "web")?.spec as {
                ingress: Array<{ from: Array<Record<string, unknown>>; ports: Array<{ port: number }> }>;
            }).ingress;
        const scrapers = ingressOf(withTarget).find((rule) => rule.from.some((peer) => "namespaceSelector" in peer));
        assert.ok(scrapers, "a rule for the collectors");
        assert.deepEqual(scrapers.ports.map((p) => p.port), [PROBE_PORT], "the probe port only, never the page port");
        assert.deepEqual(scrapers.from.map((peer) => (peer.namespaceSelector as { matchLabels: Record<string, string> }).matchLabels["kubernetes.io/metadata.name"]).sort(), [...GMP_COLLECTOR_NAMESPACES].sort());
        assert.ok(!ingressOf(without).some((rule) => rule.from.some((peer) => "namespaceSelector" in peer)), "no collector rule without the metric");
    });

    test("the load balancer's health check and the kubelet's probes use the probe port, the web pods' second bind; the Service sends pages to the page port only", () => {
        const backend = without.find((d) => d.kind === "BackendConfig")?.spec as { healthCheck: { port: number; requestPath: string }; timeoutSec: number };
        assert.deepEqual([backend.healthCheck.port, backend.healthCheck.requestPath], [PROBE_PORT, "/readyz/"]);
        assert.equal(backend.timeoutSec, LOAD_BALANCER_BACKEND_TIMEOUT_SECONDS);
        const web = without.find((d) => d.kind === "Deployment" && d.metadata.labels?.["app.kubernetes.io/component"] === "web");
        const container = (web?.spec as unknown as { template: { spec: { containers: Array<{ command: string[]; ports: Array<{ name: string; containerPort: number }>; livenessProbe: { httpGet: { port: string } }; readinessProbe: { httpGet: { port: string } }; startupProbe: { httpGet: { port: string } } }> } } }).template.spec.containers[0];
        assert.ok(container);
        const binds = container.command.flatMap((arg, i) => (container.command[i - 1] === "--bind" ? [arg] : []));
        assert.deepEqual(binds, [`0.0.0.0:${WEB_PORT}`, `0.0.0.0:${PROBE_PORT}`], "pages first, probes second (app/web_worker.py tells them apart by order)");
        const named = container.ports.find((p) => p.containerPort === PROBE_PORT)?.name;
        for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) assert.equal(probe.httpGet.port, named);
        const service = without.find((d) => d.kind === "Service" && d.metadata.labels?.["app.kubernetes.io/component"] === "web")?.spec as unknown as { ports: Array<{ targetPort: string }> };
        assert.deepEqual(service.ports.map((p) => p.targetPort), ["http"]);
        assert.equal(container.ports.find((p) => p.name === "http")?.containerPort, WEB_PORT);
    });

    test("unset (the shipped stacks): CPU only, no PodMonitoring; the HPA never waits for a metric no adapter serves", () => {
        const hpa = hpaOf(without);
        assert.deepEqual((hpa?.spec as { metrics: Array<{ type: string }> }).metrics.map((m) => m.type), ["Resource"]);
        assert.equal(without.find((d) => d.kind === "PodMonitoring"), undefined);
    });
});
