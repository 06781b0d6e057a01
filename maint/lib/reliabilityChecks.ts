/**
 * The checks of the reliability lab (maint/reliability.ts), one per numbered point of issue 24.
 * Each is black-box: it runs the rendered pods (cli/lib/local/), sends open-loop load through the
 * load balancer model (reliabilityBalancer.ts), injects its fault, and judges only what a user or an
 * operator sees — HTTP answers, pods that are ready or restarted, PostgreSQL's refusals in its log,
 * the rows of `demo_task` — never how the app does it. Each row prints its figures and the limits it
 * is judged against.
 *
 * 1. cache-hang   the Redis master frozen (SIGSTOP) 30 s and 120 s — longer than the liveness window
 * 2. rollout      a rolling update at the largest maxReplicas the config accepts, in waves, with long
 *                 requests in flight, the CronJob and the Jobs' connections
 * 3. spot         a Spot preemption with a 25 s and a 15 s grace period, requests in flight on the pod
 * 4. tasks        busy workers SIGKILLed, Redis and PostgreSQL restarted under task load
 * 5. slow-clients 200 slow uploads at one pod (what the load balancer lets through)
 * 6. db-hang      PostgreSQL frozen (SIGSTOP) 60 s
 */
import { createConnection, type Socket } from "node:net";
import { cpus, loadavg } from "node:os";
import { JOB_CONNECTIONS, RESERVED_CONNECTIONS } from "../../components/connectionBudget";
import { venvPython } from "../../cli/lib/appPython";
import type { LocalPod } from "../../cli/lib/local/pod";
import { GroupProcess, waitFor } from "../../cli/lib/local/processes";
import { LoadBalancer, NEG_PROPAGATION_SECONDS } from "./reliabilityBalancer";
import { describeCounts, longestOutage, openLoop, outcomeCounts, percentile, sleep, type RequestRecord } from "./reliabilityLoad";
import { ConnectionOwners, PodObserver, connectionPeaks, restartsBetween, secondsWithoutReadyPod, unreadyAtOnce, type ConnectionHolder } from "./reliabilityObserve";
import { Rollout } from "./reliabilityRollout";
import { LAB_CONNECTIONS, LabError, LabStack, PAGE, deploymentOf, largestAcceptedMaxReplicas, taskRequest, uploadRequest, type LabStackOptions } from "./reliabilityRun";

/** A figure judged against a limit. */
export interface Limit {
    readonly what: string;
    readonly value: number;
    readonly op: "≤" | "<";
    readonly limit: number;
    readonly unit?: string;
}

/** Whether a figure is within its limit. */
export const within = (l: Limit): boolean => (l.op === "≤" ? l.value <= l.limit : l.value < l.limit);

/** One row of the lab's report. */
export interface Row {
    readonly check: string;
    readonly title: string;
    /** What was emulated, and the assumptions that matter for this row. */
    readonly setup: readonly string[];
    readonly figures: readonly string[];
    readonly limits: readonly Limit[];
}

/** A row passes when every limit holds. */
export const rowPasses = (row: Row): boolean => row.limits.every(within);

/** What every check gets. */
export interface CheckContext {
    readonly stack: (options: Pick<LabStackOptions, "stack" | "overrides">) => Promise<LabStack>;
    /** Seconds for NEG attach/detach (the load balancer model). */
    readonly negDelaySeconds: number;
    readonly progress: (line: string) => void;
}

/** A check of the lab. */
export interface Check {
    readonly name: string;
    /** The numbered point of issue 24 it checks. */
    readonly point: number;
    readonly summary: string;
    /** Its variants, one row each (e.g. the hang's seconds, the stack). */
    readonly variants: readonly string[];
    /** Runs one variant. */
    readonly run: (ctx: CheckContext, variant: string) => Promise<Row>;
}

// --- shared pieces ---------------------------------------------------------------------------------------

/** A deterministic pseudo-random sequence in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const s1 = (ms: number) => (ms / 1000).toFixed(1);
const count = (records: readonly RequestRecord[], from: number, to: number) => records.filter((r) => r.sentAt >= from && r.sentAt < to);
const okCount = (records: readonly RequestRecord[]) => records.filter((r) => r.outcome === "ok").length;

/** "load average 3.2 / 2.9 / 2.5 (1/5/15 min, 2 cores)" */
export function loadAverage(): string {
    return `load average ${loadavg().map((l) => l.toFixed(1)).join(" / ")} (1/5/15 min, ${cpus().length} cores)`;
}

/** A web scenario: pods behind the load balancer, observed, torn down at the end. */
interface Web {
    readonly stack: LabStack;
    readonly lb: LoadBalancer;
    readonly observer: PodObserver;
    readonly pods: LocalPod[];
    readonly t0: number;
    now(): number;
}

async function withWeb<T>(ctx: CheckContext, stack: LabStack, podCount: number, body: (web: Web) => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const lb = new LoadBalancer({ service: stack.backend, host: stack.host, t0, propagationSeconds: ctx.negDelaySeconds });
    const observer = new PodObserver(t0);
    try {
        ctx.progress(`${stack.name}: starting ${podCount} web pod(s)`);
        const pods = await stack.webPods(podCount, lb, observer);
        return await body({ stack, lb, observer, pods, t0, now: () => performance.now() - t0 });
    } finally {
        lb.stop();
        observer.stop();
        await Promise.all(stack.run.extraPods.map((p) => p.kill()));
    }
}

/** Fails the lab (exit 3) when the load before the fault already had an outage: the verdict would mean nothing. */
function cleanBaseline(records: readonly RequestRecord[], from: number, to: number, what: string): string {
    const base = count(records, from, to);
    const outage = longestOutage(base, from, to);
    if (outage.seconds > 0) throw new LabError(`${what}: the site already failed before the fault (${describeCounts(outcomeCounts(base))}); this machine is too busy for a verdict`);
    return `before the fault: ${okCount(base)}/${base.length} ok`;
}

function latency(records: readonly RequestRecord[]): string {
    const ok = records.filter((r) => r.outcome === "ok").map((r) => r.endedAt - r.sentAt);
    return ok.length ? `p50 ${percentile(ok, 50).toFixed(0)} ms, p99 ${percentile(ok, 99).toFixed(0)} ms` : "no successful answer";
}

function lbSetup(stack: LabStack, negDelaySeconds: number): string {
    const b = stack.backend;
    const hc = b.healthCheck;
    return `load balancer model: backend timeout ${b.timeoutSec} s; health check ${hc.requestPath}${hc.port !== undefined ? ` on port ${hc.port}` : ""} every ${hc.checkIntervalSec} s, timeout ${hc.timeoutSec} s, healthy after ${hc.healthyThreshold}, unhealthy after ${hc.unhealthyThreshold} (BackendConfig); NEG attach/detach ${negDelaySeconds} s after a readiness change (assumed); 503 without a healthy endpoint; no retries`;
}

/**
 * Long requests kept in flight on every pod the load balancer serves: `perPod` slow uploads of
 * `seconds` each, started `seconds / perPod` apart on each pod (so one of them has most of its time
 * left whenever the pod is deleted), a new one as soon as one ends, until `stop()`. Resolves once
 * the last has ended.
 */
async function keepLongRequests(lb: LoadBalancer, csrf: { headers: Record<string, string> }, perPod: number, seconds: number, stop: () => boolean): Promise<void> {
    const state = new Map<LocalPod, { inFlight: number; lastStart: number }>();
    const pending: Array<Promise<unknown>> = [];
    while (!stop()) {
        const now = performance.now();
        for (const pod of lb.serving()) {
            const s = state.get(pod) ?? { inFlight: 0, lastStart: Number.NEGATIVE_INFINITY };
            state.set(pod, s);
            if (s.inFlight < perPod && now - s.lastStart >= (seconds * 1000) / perPod) {
                s.inFlight += 1;
                s.lastStart = now;
                pending.push(lb.sendTo(pod, "long upload", uploadRequest(csrf, 16_384, seconds)).finally(() => (s.inFlight -= 1)));
            }
        }
        await sleep(250);
    }
    await Promise.all(pending);
}

// --- 1. hung cache ----------------------------------------------------------------------------------------

/**
 * Pages per second per web pod in the hang checks: far above what a pod serves while every page
 * waits on a hung dependency (a few per second), so a backlog builds as it does under real traffic.
 * The cache check uses the rate of issue 24's measurements (60 pages/s on 3 pods); the database
 * check half of it, so that the checks of a lane can share two cores.
 */
const CACHE_PAGES_PER_POD = 20;
const DB_PAGES_PER_POD = 10;

async function cacheHang(ctx: CheckContext, hangSeconds: number): Promise<Row> {
    const stack = await ctx.stack({ stack: "staging" });
    const podCount = stack.web.maxReplicas;
    const master = stack.redisServers.find((s) => !s.redis.args.includes("--replicaof"));
    if (!master) throw new LabError("staging: no Redis master to freeze");
    const warm = 10_000;
    const recover = 30_000;
    return withWeb(ctx, stack, podCount, async (web) => {
        const rate = CACHE_PAGES_PER_POD * podCount;
        const start = web.now();
        const load = openLoop({ ratePerSecond: rate, durationMs: warm + hangSeconds * 1000 + recover, t0: web.t0 + start, send: () => web.lb.send("page", PAGE) });
        await sleep(warm);
        const from = web.now();
        ctx.progress(`cache-hang: SIGSTOP ${master.redis.label} for ${hangSeconds} s`);
        master.redis.pause();
        try {
            await sleep(hangSeconds * 1000);
        } finally {
            master.redis.resume();
        }
        const healed = web.now();
        await load;
        const end = web.now();
        const records = web.lb.records;
        const baseline = cleanBaseline(records, start, from, "cache-hang");
        const during = count(records, from, end);
        const outage = longestOutage(records, from, end);
        const unready = unreadyAtOnce(web.observer.samples, from, end);
        const restarts = restartsBetween(web.observer.samples, from, end);
        return {
            check: "cache-hang",
            title: `Redis master frozen (SIGSTOP) ${hangSeconds} s`,
            setup: [
                `staging as rendered, ${podCount} web pods (HPA maxReplicas), ${rate} pages/s open loop (GET /: database and cache), each with the ${stack.backend.timeoutSec} s backend timeout`,
                `${master.redis.label} (${master.standsFor}) frozen ${s1(warm)} s after the load started, thawed ${hangSeconds} s later; the replicas untouched; ${recover / 1000} s observed after`,
                lbSetup(stack, ctx.negDelaySeconds),
            ],
            figures: [
                baseline,
                `from the freeze to ${recover / 1000} s after the thaw: ${okCount(during)}/${during.length} ok (${describeCounts(outcomeCounts(during))}); pages ${latency(count(records, from, healed))} while frozen`,
                `longest outage ${outage.seconds} s${outage.from !== undefined ? ` (from ${(outage.from - from / 1000).toFixed(0)} s after the freeze)` : ""}; no ready pod for ${secondsWithoutReadyPod(web.observer.samples, from, end).toFixed(1)} s; at most ${unready} of ${podCount} pods unready at once; ${restarts} container restarts (liveness)`,
            ],
            limits: [
                { what: "longest outage", value: outage.seconds, op: "≤", limit: 0, unit: "s" },
                { what: "liveness restarts", value: restarts, op: "≤", limit: 0 },
                { what: "pods unready at once", value: unready, op: "<", limit: podCount },
            ],
        };
    });
}

// --- 6. hung database ---------------------------------------------------------------------------------------

async function dbHang(ctx: CheckContext): Promise<Row> {
    const hangSeconds = 60;
    const stack = await ctx.stack({ stack: "staging" });
    const podCount = stack.web.maxReplicas;
    const warm = 10_000;
    const recover = 30_000;
    const readiness = stack.plan("web").probes.readiness;
    const readinessPeriod = readiness?.periodSeconds ?? 10;
    const hc = stack.backend.healthCheck;
    // Back in the load balancer after the database returns: the next readiness probe, the endpoint's
    // attachment, the health check's healthy threshold, plus 3 s for the pods to reconnect.
    const recoveryLimit = readinessPeriod + ctx.negDelaySeconds + hc.checkIntervalSec * hc.healthyThreshold + 3;
    return withWeb(ctx, stack, podCount, async (web) => {
        const rate = DB_PAGES_PER_POD * podCount;
        const start = web.now();
        const load = openLoop({ ratePerSecond: rate, durationMs: warm + hangSeconds * 1000 + recover, t0: web.t0 + start, send: () => web.lb.send("page", PAGE) });
        await sleep(warm);
        const from = web.now();
        ctx.progress(`db-hang: SIGSTOP PostgreSQL for ${hangSeconds} s`);
        stack.services.postgres.pause();
        try {
            await sleep(hangSeconds * 1000);
        } finally {
            stack.services.postgres.resume();
        }
        const healed = web.now();
        await load;
        const end = web.now();
        const records = web.lb.records;
        const baseline = cleanBaseline(records, start, from, "db-hang");
        const during = count(records, from, healed);
        const held = during.filter((r) => r.outcome !== "lb-no-backend").map((r) => r.endedAt - r.sentAt);
        const timeouts = during.filter((r) => r.outcome === "lb-timeout").length;
        const after = count(records, healed, end);
        const firstOk = after.find((r) => r.outcome === "ok");
        const recovered = recoveredAt(after, healed);
        const restarts = restartsBetween(web.observer.samples, from, end);
        return {
            check: "db-hang",
            title: `PostgreSQL frozen (SIGSTOP) ${hangSeconds} s`,
            setup: [
                `staging as rendered, ${podCount} web pods, ${rate} pages/s open loop, each with the ${stack.backend.timeoutSec} s backend timeout`,
                `the PostgreSQL server and every backend frozen ${s1(warm)} s after the load started (TCP connects still complete into the backlog), thawed ${hangSeconds} s later; ${recover / 1000} s observed after`,
                lbSetup(stack, ctx.negDelaySeconds),
            ],
            figures: [
                baseline,
                `while frozen: ${okCount(during)}/${during.length} ok (${describeCounts(outcomeCounts(during))}); requests that reached a pod were held up to ${s1(Math.max(0, ...held))} s (p99 ${s1(percentile(held, 99))} s), ${timeouts} until the load balancer's ${stack.backend.timeoutSec} s timeout`,
                `after the thaw: first page ${firstOk ? `${s1(firstOk.sentAt - healed)} s` : "never"}, back to ≥ 90 % ok from ${recovered === undefined ? "never" : `${recovered.toFixed(0)} s`}; ${restarts} container restarts; no ready pod for ${secondsWithoutReadyPod(web.observer.samples, from, end).toFixed(1)} s`,
            ],
            limits: [
                { what: `requests held for the ${stack.backend.timeoutSec} s load balancer timeout`, value: timeouts, op: "≤", limit: 0 },
                { what: `recovery after the thaw (readiness period ${readinessPeriod} + NEG ${ctx.negDelaySeconds} + health check ${hc.checkIntervalSec}×${hc.healthyThreshold} + 3)`, value: recovered ?? Number.POSITIVE_INFINITY, op: "≤", limit: recoveryLimit, unit: "s" },
                { what: "container restarts", value: restarts, op: "≤", limit: 0 },
            ],
        };
    });
}

/** Seconds after `healedMs` from which every 1-second bucket has ≥ 90 % successes (undefined: never). */
export function recoveredAt(records: readonly RequestRecord[], healedMs: number): number | undefined {
    const buckets = new Map<number, { sent: number; ok: number }>();
    for (const r of records) {
        if (r.sentAt < healedMs) continue;
        const b = Math.floor((r.sentAt - healedMs) / 1000);
        const bucket = buckets.get(b) ?? { sent: 0, ok: 0 };
        bucket.sent += 1;
        if (r.outcome === "ok") bucket.ok += 1;
        buckets.set(b, bucket);
    }
    const seconds = [...buckets.keys()].sort((a, b) => a - b);
    let from: number | undefined;
    for (const b of seconds) {
        const bucket = buckets.get(b) as { sent: number; ok: number };
        if (bucket.ok >= 0.9 * bucket.sent) from ??= b;
        else from = undefined;
    }
    return from;
}

// --- 3. Spot preemption ---------------------------------------------------------------------------------------

/**
 * The grace periods a Spot pod may get, both checked: 25 s on Google's Autopilot Spot Pods page
 * (https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods), 15 s for non-system
 * Pods on its Spot VM and preemptible VM pages for GKE after 1.22.8-gke.200
 * (https://cloud.google.com/kubernetes-engine/docs/concepts/spot-vms,
 * https://cloud.google.com/kubernetes-engine/docs/how-to/preemptible-vms).
 */
export const SPOT_GRACE_SECONDS: readonly number[] = [25, 15];

/**
 * Requests that should end this close to the end of the drain window (ms) are reported but not
 * judged: the app's own handling after the body arrived, and the machine's load, blur the edge.
 */
export const SPOT_EDGE_MS = 1_000;

/** What the check measured, for {@link judgeSpot}. Times are ms after the run's start. */
export interface SpotObservation {
    /** When the node's preemption notice deleted the pod. */
    readonly noticeAt: number;
    /** The rendered pod's preStop sleep, gunicorn's `--graceful-timeout` and `terminationGracePeriodSeconds`. */
    readonly preStopSeconds: number;
    readonly gracefulTimeoutSeconds: number;
    readonly terminationGracePeriodSeconds: number;
    /** The grace period a preemption gives (Google's figure under test). */
    readonly capSeconds: number;
    /** How the pod ended, seconds after the notice; undefined when it was not running at the notice. */
    readonly termination?: { readonly seconds: number; readonly killed: boolean; readonly exitCode: number | null; readonly signal: NodeJS.Signals | null };
    /** When the pod's endpoint stopped getting new requests (left the NEG), undefined if it never did. */
    readonly endpointLeftAt?: number;
    /** The requests the load balancer sent to the preempted pod that ended after the notice, each with how long it needs (its body's streaming time; 0 for a page). */
    readonly requests: ReadonlyArray<{ readonly record: RequestRecord; readonly needsMs: number }>;
}

/**
 * The spot check's verdict on what the design promises (components/termination.ts,
 * docs/operations.md "When a Spot node goes"): the preempted pod's termination sequence fits the
 * grace period (it exits, it is not SIGKILLed); no request that would have ended within the drain
 * window (notice + preStop + graceful timeout, never past the grace period) is cut; no request
 * reaches the pod after its endpoint left the NEG. Requests that need longer than the window are
 * cut by design and only reported.
 */
export function judgeSpot(o: SpotObservation): { figures: string[]; limits: Limit[]; drainSeconds: number; graceSeconds: number } {
    const graceSeconds = Math.min(o.terminationGracePeriodSeconds, o.capSeconds);
    const drainSeconds = Math.min(o.preStopSeconds + o.gracefulTimeoutSeconds, graceSeconds);
    const drainEnd = o.noticeAt + drainSeconds * 1000;
    const classes = { fits: [] as RequestRecord[], edge: [] as RequestRecord[], beyond: [] as RequestRecord[] };
    for (const { record, needsMs } of o.requests) {
        const end = record.sentAt + needsMs;
        (end <= drainEnd - SPOT_EDGE_MS ? classes.fits : end <= drainEnd ? classes.edge : classes.beyond).push(record);
    }
    const cut = (rs: readonly RequestRecord[]) => rs.filter((r) => r.outcome !== "ok");
    const afterLeft = o.endpointLeftAt === undefined ? [] : o.requests.filter((r) => r.record.sentAt > (o.endpointLeftAt as number));
    const t = o.termination;
    const exit = t ? (t.killed ? `SIGKILLed at ${t.seconds.toFixed(1)} s` : `exited ${t.exitCode ?? t.signal} at ${t.seconds.toFixed(1)} s`) : "not running at the notice";
    const describe = (rs: readonly RequestRecord[]) => `${rs.length}, cut ${cut(rs).length}${cut(rs).length ? ` (${describeCounts(outcomeCounts(cut(rs)))})` : ""}`;
    return {
        graceSeconds,
        drainSeconds,
        figures: [
            `preempted pod: ${exit} after the notice, grace ${graceSeconds} s = min(terminationGracePeriodSeconds ${o.terminationGracePeriodSeconds}, ${o.capSeconds}); drain window ${drainSeconds} s = min(preStop ${o.preStopSeconds} + --graceful-timeout ${o.gracefulTimeoutSeconds}, grace)`,
            `endpoint left the NEG ${o.endpointLeftAt === undefined ? "never" : `at ${s1(o.endpointLeftAt - o.noticeAt)} s`}; requests sent to the pod after that: ${afterLeft.length}`,
            `requests on the preempted pod that ended after the notice: ${o.requests.length}; ending within the drain window: ${describe(classes.fits)}; within ${SPOT_EDGE_MS / 1000} s of its end (not judged): ${describe(classes.edge)}; needing longer: ${describe(classes.beyond)}${cut(classes.beyond).length ? " — cut beyond the drain window (expected: long requests belong on regular capacity, docs/operations.md)" : ""}`,
        ],
        limits: [
            { what: "preempted pod SIGKILLed (its termination sequence did not fit the grace period)", value: t && !t.killed ? 0 : 1, op: "≤", limit: 0 },
            { what: "requests cut that would have ended within the drain window", value: cut(classes.fits).length, op: "≤", limit: 0 },
            { what: "requests sent to the preempted pod after its endpoint left the NEG", value: afterLeft.length, op: "≤", limit: 0 },
        ],
    };
}

/** The value after `flag` in a command line, or undefined. */
function flagValue(argv: readonly string[], flag: string): string | undefined {
    const i = argv.indexOf(flag);
    if (i >= 0) return argv[i + 1];
    return argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

/** Polls the load balancer until `pod` no longer gets new requests; resolves with when (ms after the run's start). */
async function endpointLeft(web: Web, pod: LocalPod, timeoutMs: number): Promise<number | undefined> {
    const until = performance.now() + timeoutMs;
    while (performance.now() < until) {
        if (!web.lb.serving().includes(pod)) return web.now();
        await sleep(20);
    }
    return undefined;
}

async function spot(ctx: CheckContext, capSeconds: number): Promise<Row> {
    const stack = await ctx.stack({ stack: "staging" });
    const dep = stack.web;
    if (!dep.spot) throw new LabError("staging's web pods are not Spot Pods: the Spot check has nothing to preempt");
    const podCount = dep.minReplicas;
    const grace = Math.min(dep.terminationGracePeriodSeconds, capSeconds);
    const warm = 10_000;
    const after = 28_000;
    return withWeb(ctx, stack, podCount, async (web) => {
        const victim = web.pods[0] as LocalPod;
        // The termination sequence as rendered: the pod's preStop sleep and gunicorn's graceful timeout.
        const preStopSeconds = victim.plan.preStop?.sleep?.seconds ?? 0;
        const graceful = Number(flagValue(victim.plan.renderedArgv, "--graceful-timeout") ?? 30); // gunicorn's default
        const drain = Math.min(preStopSeconds + graceful, grace);
        const csrf = await stack.csrf(victim);
        const random = seededRandom(capSeconds);
        const pageRate = 10 * podCount;
        const longRate = podCount / 11;
        const needs = new Map<RequestRecord, number>();
        const upload = (kind: string, seconds: number, to?: LocalPod) => {
            const spec = uploadRequest(csrf, 16_384, seconds);
            return (to ? web.lb.sendTo(to, kind, spec) : web.lb.send(kind, spec)).then((r) => (needs.set(r, seconds * 1000), r));
        };
        const start = web.now();
        const total = warm + after;
        const pages = openLoop({ ratePerSecond: pageRate, durationMs: total, t0: web.t0 + start, send: () => web.lb.send("page", PAGE) });
        const longs = openLoop({ ratePerSecond: longRate, durationMs: total - 20_000, t0: web.t0 + start, send: () => upload("upload", 2 + 18 * random()) });
        await sleep(warm - 1_000);
        // 1 s before the notice: one that ends during preStop, one still arriving at SIGTERM that
        // ends 1 s before the drain window does, one that needs longer (19 s).
        const designed = [upload("designed", 8, victim), upload("designed", drain - 1, victim), upload("designed", 19, victim)];
        await sleep(1_000);
        const notice = web.now();
        ctx.progress(`spot: preemption notice for ${victim.plan.workloadLabel}, grace ${grace} s`);
        const termination = victim.terminate({ graceSeconds: grace });
        const left = endpointLeft(web, victim, after);
        await sleep(1_500);
        // While the load balancer still sends to the pod: another that needs longer.
        designed.push(upload("designed", 19, victim));
        const [record, leftAt] = await Promise.all([termination, left, pages, longs, ...designed]);
        const end = web.now();
        const records = web.lb.records;
        const onVictim = records.filter((r) => r.pod === victim.plan.workloadLabel && r.endedAt >= notice);
        const all = count(records, start, end);
        const designedRecords = records.filter((r) => r.kind === "designed");
        const verdict = judgeSpot({
            noticeAt: notice,
            preStopSeconds,
            gracefulTimeoutSeconds: graceful,
            terminationGracePeriodSeconds: dep.terminationGracePeriodSeconds,
            capSeconds,
            termination: record && { seconds: record.seconds, killed: record.killed, exitCode: record.exitCode, signal: record.signal },
            endpointLeftAt: leftAt,
            requests: onVictim.map((r) => ({ record: r, needsMs: needs.get(r) ?? 0 })),
        });
        return {
            check: "spot",
            title: `Spot preemption with ${capSeconds} s of grace`,
            setup: [
                `staging as rendered (Spot Pods), ${podCount} web pods (HPA minReplicas); ${pageRate} pages/s and ${longRate.toFixed(2)} uploads/s of 2–20 s (a client's slow upload: the load balancer streams the body) open loop, plus uploads sent to the preempted pod: 8 s, ${drain - 1} s and 19 s 1 s before the notice, 19 s 1.5 s after it`,
                `the notice deletes one pod: its endpoint leaves the NEG ${ctx.negDelaySeconds} s later; preStop ${preStopSeconds} s, SIGTERM, gunicorn's --graceful-timeout ${graceful} s, SIGKILL at min(terminationGracePeriodSeconds ${dep.terminationGracePeriodSeconds}, ${capSeconds}) = ${grace} s; its replacement needs a new Spot node (not emulated: the other pod serves meanwhile)`,
                capSeconds === 15
                    ? "15 s: Google's Spot VM and preemptible VM pages give non-system Pods 15 s of the 30 s shutdown on current GKE versions (https://cloud.google.com/kubernetes-engine/docs/concepts/spot-vms, https://cloud.google.com/kubernetes-engine/docs/how-to/preemptible-vms)"
                    : "25 s: Google's Autopilot Spot Pods page: at most 25 s of grace (https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods)",
            ],
            figures: [
                ...verdict.figures,
                `the designed uploads (sent, needs → outcome, ended; s from the notice): ${designedRecords.map((r) => `${s1(r.sentAt - notice)}, ${s1(needs.get(r) ?? 0)} → ${r.outcome} at ${s1(r.endedAt - notice)}`).join("; ")}`,
                `all requests: ${okCount(all)}/${all.length} ok (${describeCounts(outcomeCounts(all))}); web minReplicas ${dep.minReplicas} (a Spot web tier with one replica has no pod left after a preemption)`,
            ],
            limits: verdict.limits,
        };
    });
}

// --- 2. rollout -------------------------------------------------------------------------------------------------

/**
 * Longest of the rollout's long requests: within the load balancer's 30 s, and within what a deleted
 * pod promises to finish (its preStop plus gunicorn's --graceful-timeout: 35 s on regular capacity,
 * 13 s on Spot, components/termination.ts), with 2 s to spare.
 */
const LONG_REQUEST_SECONDS = 24;

async function rollout(ctx: CheckContext, stackName: "staging" | "production"): Promise<Row> {
    const maxReplicas = largestAcceptedMaxReplicas(stackName);
    const stack = await ctx.stack({ stack: stackName, overrides: { "django-platform:workload": { maxReplicas } } });
    const t0 = performance.now();
    const lb = new LoadBalancer({ service: stack.backend, host: stack.host, t0, propagationSeconds: ctx.negDelaySeconds });
    const observer = new PodObserver(t0);
    const owners = new ConnectionOwners(stack.services.postgres.port, t0);
    const holder = (pod: LocalPod): ConnectionHolder => ({ label: pod.plan.workloadLabel, pid: () => pod.pid });
    const webPlan = stack.plan("web");
    const drainSeconds = (webPlan.preStop?.sleep?.seconds ?? 0) + Number(flagValue(webPlan.renderedArgv, "--graceful-timeout") ?? 30);
    const longSeconds = Math.min(LONG_REQUEST_SECONDS, drainSeconds - 2);
    // Load before the rollout starts: longer than a long request, so every old pod's threads have served one.
    const warmSeconds = longSeconds + 10;
    const dep = stack.web;
    const web = new Rollout({
        run: stack.run,
        plan: webPlan,
        replicas: maxReplicas,
        strategy: dep.strategy,
        minReadySeconds: dep.minReadySeconds,
        ready: (pod) => pod.ready && lb.negReady(pod),
        onPod: (pod) => {
            lb.add(pod);
            observer.add(pod);
            owners.add(holder(pod));
        },
        t0,
    });
    const workerPlan = stack.run.plan.deployments.find((d) => d.workload.component === "worker");
    const workerDep = workerPlan ? deploymentOf(stack.docs, workerPlan.workload.name) : undefined;
    const workers = workerPlan && workerDep
        ? new Rollout({ run: stack.run, plan: workerPlan, replicas: workerDep.maxReplicas, strategy: workerDep.strategy, minReadySeconds: workerDep.minReadySeconds, ready: (pod) => pod.ready, onPod: (pod) => owners.add(holder(pod)), t0 })
        : undefined;
    const cronPlan = stack.run.plan.cronJobs[0];
    const db = stack.database;
    // The Jobs' connections log in as the web pods do (their own user, or the owner's password).
    const login = { user: webPlan.env.DJANGO_APP_DB_USER ?? "", password: webPlan.env.PGPASSWORD ?? webPlan.env.DJANGO_APP_DB_PASSWORD ?? "" };
    const appUsers = db.users.map((u) => `'${u.replaceAll("'", "''")}'`).join(", ");
    let jobs: GroupProcess | undefined;
    let monitor: GroupProcess | undefined;
    const peak = { app: 0 };
    const logStart = stack.services.postgres.logFile().length;
    const cron = { runs: 0, failed: 0, reasons: new Set<string>() };
    try {
        ctx.progress(`rollout ${stackName}: ${maxReplicas} web pods${workers ? ` and ${workerDep?.maxReplicas} workers` : ""} before the rollout`);
        // Set-up, not judged: 24 production pods took 95 to 100 s on an idle 2-core machine and over 180 s
        // on a busy one; 10 s a pod, 3 minutes at least.
        const startMs = Math.max(180_000, maxReplicas * 10_000);
        const [webUp, workersUp] = await Promise.all([web.startOld(startMs), workers ? workers.startOld(startMs) : Promise.resolve(true)]);
        if (!webUp || !workersUp) throw new LabError(`rollout ${stackName}: the pods before the rollout did not all become available`);
        monitor = stack.services.postgres.monitor(
            `SELECT count(*) FROM pg_stat_activity WHERE usename IN (${appUsers})`,
            0.2,
            ([app]) => {
                peak.app = Math.max(peak.app, Number(app) || 0);
            },
        );
        // The migrate and collectstatic Jobs' connections, which the budget lets run alongside.
        jobs = new GroupProcess("the Jobs' connections", venvPython(), [
            "-c",
            `import psycopg, time\nconns = [psycopg.connect(host=${JSON.stringify(stack.services.postgres.host)}, port=${stack.services.postgres.port}, dbname=${JSON.stringify(db.name)}, user=${JSON.stringify(login.user)}, password=${JSON.stringify(login.password)}) for _ in range(${JOB_CONNECTIONS})]\nprint('held', flush=True)\ntime.sleep(3600)\n`,
        ]);
        await waitFor("the Jobs' connections", async () => jobs?.log.includes("held") ?? false, { process: jobs, timeoutMs: 20_000 });
        const jobsProcess = jobs;
        owners.add({ label: "Jobs", pid: () => (jobsProcess.running ? jobsProcess.pid : undefined) });
        const csrf = await stack.csrf(web.current[0] as LocalPod);
        // Every pod serves long requests on all but one of its threads, and pages.
        const perPod = Number(flag(webPlan.argv, "--workers")) * Number(flag(webPlan.argv, "--threads"));
        const longPerPod = Math.max(1, perPod - 1);
        const pageRate = Math.min(8 * maxReplicas, 60);
        const start = lb.records.length;
        let loading = true;
        const stop = () => !loading;
        const pages = openLoop({ ratePerSecond: pageRate, durationMs: Number.POSITIVE_INFINITY, stop, send: () => lb.send("page", PAGE) });
        const longs = keepLongRequests(lb, csrf, longPerPod, longSeconds, stop);
        let rolling = true;
        const cronLoop = (async () => {
            // concurrencyPolicy Forbid: a run every 3 s, skipped while the previous one runs.
            while (rolling && cronPlan) {
                const started = performance.now();
                const pod = await stack.run.newPod(cronPlan);
                owners.add(holder(pod));
                pod.start();
                await pod.finished();
                cron.runs += 1;
                if (pod.failure !== undefined || pod.exitCode !== 0) {
                    cron.failed += 1;
                    cron.reasons.add((pod.lastLines(1)[0] ?? pod.failure ?? "").slice(0, 160));
                }
                await sleep(Math.max(0, 3_000 - (performance.now() - started)));
            }
        })();
        // The site at its HPA maximum for a while: every old pod's threads have served requests
        // (and hold their connections) before the rollout starts.
        await sleep(warmSeconds * 1000);
        const began = performance.now();
        ctx.progress(`rollout ${stackName}: rolling ${maxReplicas} web pods (maxSurge ${dep.strategy.maxSurge}, maxUnavailable ${dep.strategy.maxUnavailable}, minReadySeconds ${dep.minReadySeconds})`);
        const [rolled, workersRolled] = await Promise.all([web.roll(600_000), workers ? workers.roll(600_000) : Promise.resolve(true)]);
        const rolledSeconds = (performance.now() - began) / 1000;
        await Promise.all([web.drained(), workers?.drained()]);
        const drainedSeconds = (performance.now() - began) / 1000;
        rolling = false;
        await sleep(5_000);
        loading = false;
        await Promise.all([pages, longs, cronLoop]);
        if (!rolled || !workersRolled) throw new LabError(`rollout ${stackName}: the rollout did not finish within 600 s`);
        const records = lb.records.slice(start);
        const log = stack.services.postgres.logFile().slice(logStart);
        const tooMany = (log.match(/too many clients already/g) ?? []).length;
        const reserved = (log.match(/remaining connection slots are reserved/g) ?? []).length;
        const http5xx = records.filter((r) => r.outcome === "http-5xx").length;
        owners.sample();
        const kind = (label: string) => (label === "Jobs" ? "Jobs" : label.startsWith(webPlan.workloadLabel) ? "web" : workerPlan && label.startsWith(workerPlan.workloadLabel) ? "worker" : "CronJob");
        const held = connectionPeaks(owners.samples, kind);
        const usable = stack.maxConnections - RESERVED_CONNECTIONS;
        const webPeak = web.peaks();
        const workerPeak = workers?.peaks();
        return {
            check: "rollout",
            title: `rolling update of ${stackName} at maxReplicas ${maxReplicas} on ${stack.tier}`,
            setup: [
                `${stackName} with workload.maxReplicas ${maxReplicas}, the largest its config validation accepts on ${stack.tier} (max_connections ${stack.maxConnections}, superuser_reserved_connections 3; PostgreSQL runs with ${stack.maxConnections + LAB_CONNECTIONS} for the lab's own monitor); the HPA at its maximum`,
                `the Deployment controller's rolling update (maxSurge ${dep.strategy.maxSurge}, maxUnavailable ${dep.strategy.maxUnavailable}, minReadySeconds ${dep.minReadySeconds}, terminating pods not counted; a pod is Ready once its kubelet readiness passes and its NEG endpoint is healthy), ${perPod} connections per web pod${workers ? `; the worker Deployment rolls at its maxReplicas ${workerDep?.maxReplicas} at the same time` : ""}`,
                `${pageRate} pages/s open loop, and long requests on ${longPerPod} of each serving pod's ${perPod} threads (${longSeconds} s uploads, started ${(longSeconds / longPerPod).toFixed(1)} s apart: a deleted pod always has one with most of its time left; they fit in its preStop and --graceful-timeout, ${drainSeconds} s), from ${warmSeconds} s before the rollout to 5 s after the last old pod exited; ${cronPlan ? `CronJob ${cronPlan.workload.name} every 3 s (concurrencyPolicy Forbid)` : "no CronJob"}; ${JOB_CONNECTIONS} connections held as the web pods' user (the migrate and collectstatic Jobs the budget lets run alongside)`,
                lbSetup(stack, ctx.negDelaySeconds),
            ],
            figures: [
                `rollout: new pods all available after ${rolledSeconds.toFixed(0)} s, old pods all exited after ${drainedSeconds.toFixed(0)} s; at most ${webPeak.alive} web pods running at once (${webPeak.terminating} terminating)${workerPeak ? `, ${workerPeak.alive} workers` : ""}`,
                `PostgreSQL: at most ${peak.app} connections of the app's users (pg_stat_activity every 0.2 s), ${usable} usable of max_connections ${stack.maxConnections}; refused "too many clients" ${tooMany}, "remaining connection slots are reserved" ${reserved}`,
                `holding connections at once (their sockets, every 1 s): ${describeCounts(held.holdersAtOnce)}; ${held.observed} connections at most; those holders, each with the most it was seen holding: ${held.worstCase}`,
                `requests: ${okCount(records)}/${records.length} ok (${describeCounts(outcomeCounts(records))}); CronJob runs ${cron.runs}, failed ${cron.failed}${cron.reasons.size ? ` (${[...cron.reasons].join("; ")})` : ""}`,
            ],
            limits: [
                { what: `connections of the pods that held connections at once, each at its own observed most (usable: max_connections ${stack.maxConnections} − ${RESERVED_CONNECTIONS})`, value: held.worstCase, op: "≤", limit: usable },
                { what: 'PostgreSQL refusals ("too many clients", "reserved")', value: tooMany + reserved, op: "≤", limit: 0 },
                { what: "HTTP 5xx", value: http5xx, op: "≤", limit: 0 },
                // A drained pod finishes its requests within --graceful-timeout (longer than the uploads).
                { what: "requests cut, reset or without a backend", value: records.length - okCount(records) - http5xx, op: "≤", limit: 0 },
                { what: "failed CronJob runs", value: cron.failed, op: "≤", limit: 0 },
            ],
        };
    } finally {
        lb.stop();
        observer.stop();
        owners.stop();
        await monitor?.stop("SIGKILL");
        await jobs?.stop("SIGKILL");
        await Promise.all(stack.run.extraPods.map((p) => p.kill()));
    }
}

/** A gunicorn flag's value in a command line ("1" when absent: gunicorn's default for --workers and --threads). */
function flag(args: readonly string[], name: string): string {
    const at = args.indexOf(name);
    return at === -1 ? "1" : (args[at + 1] ?? "1");
}

// --- 4. tasks ------------------------------------------------------------------------------------------------

async function tasks(ctx: CheckContext): Promise<Row> {
    const stack = await ctx.stack({ stack: "production" });
    const workerPlan = stack.run.plan.deployments.find((d) => d.workload.component === "worker");
    if (!workerPlan) throw new LabError("production renders no worker Deployment: the tasks check needs workers.tasks");
    const workerDep = deploymentOf(stack.docs, workerPlan.workload.name);
    const tag = `lab-${Date.now().toString(36)}`;
    return withWeb(ctx, stack, 1, async (web) => {
        const workers: LocalPod[] = [];
        for (let i = 0; i < workerDep.minReplicas; i += 1) {
            const pod = await stack.run.newPod(workerPlan, { restart: true });
            web.observer.add(pod);
            pod.start();
            workers.push(pod);
        }
        const csrf = await stack.csrf(web.pods[0] as LocalPod);
        const rate = 2;
        const duration = 40_000;
        const start = web.now();
        let sent = 0;
        const load = openLoop({ ratePerSecond: rate, durationMs: duration, t0: web.t0 + start, send: (i) => ((sent += 1), web.lb.send("task", taskRequest(csrf, `${tag}-${i}`, 1))) });
        const running = async () => Number(await stack.sql(`SELECT count(*) FROM demo_task WHERE status = 'running'`).catch(() => "-1"));
        const faults: string[] = [];
        await sleep(8_000);
        for (const [i, worker] of workers.entries()) {
            const busy = await running();
            ctx.progress(`tasks: SIGKILL of worker ${i + 1} (${busy} task(s) running)`);
            worker.killContainer("SIGKILL");
            faults.push(`SIGKILL of worker ${i + 1} at ${s1(web.now() - start)} s (${busy} task(s) running)`);
            await sleep(8_000);
        }
        ctx.progress("tasks: Redis restart");
        const redisAt = web.now() - start;
        for (const s of stack.redisServers) await s.redis.kill();
        await sleep(2_000);
        for (const s of stack.redisServers) await s.redis.start();
        faults.push(`every Redis server SIGKILLed at ${s1(redisAt)} s and started again 2 s later (same data directory)`);
        await sleep(6_000);
        ctx.progress("tasks: PostgreSQL restart");
        const pgAt = web.now() - start;
        await stack.services.postgres.stop();
        await sleep(2_000);
        await stack.services.postgres.start();
        faults.push(`PostgreSQL stopped (fast shutdown) at ${s1(pgAt)} s and started again 2 s later`);
        const lastFault = web.now();
        await load;
        // Lost = a task not done 90 s after the last fault ended (workers restarted by the kubelet meanwhile).
        const deadline = lastFault + 90_000;
        const states = async () => {
            const rows = await stack.sql(`SELECT status, count(*) FROM demo_task WHERE text LIKE '${tag}-%' GROUP BY status`).catch(() => "");
            return Object.fromEntries(rows.split("\n").filter(Boolean).map((l) => l.split("|")).map(([k, v]) => [k as string, Number(v)]));
        };
        let final: Record<string, number> = await states();
        while (web.now() < deadline && Object.entries(final).some(([k, v]) => k !== "done" && v > 0)) {
            await sleep(2_000);
            final = await states();
        }
        const drained = web.now();
        const records = web.lb.records.filter((r) => r.kind === "task");
        const accepted = records.filter((r) => r.outcome === "ok").length;
        const rows = Object.values(final).reduce((a, b) => a + b, 0);
        const notDone = rows - (final.done ?? 0);
        const acceptedWithoutRow = Math.max(0, accepted - rows);
        const restarts = workers.reduce((n, w) => n + w.restarts, 0);
        return {
            check: "tasks",
            title: "busy workers SIGKILLed, Redis and PostgreSQL restarted",
            setup: [
                `production as rendered: 1 web pod behind the load balancer, ${workers.length} ${workerPlan.workloadLabel} pods (workers.tasks minReplicas) with restartPolicy Always (the kubelet's 10 s back-off); ${rate} POST /tasks/ per s of 1 s tasks for ${duration / 1000} s`,
                `faults: ${faults.join("; ")} — whichever of them is the broker`,
                "a task is done when its demo_task row is 'done'; lost: a row not done 90 s after the last fault, or a 303 answer without a row",
            ],
            figures: [
                `POST /tasks/: ${sent} sent, ${accepted} answered 303 (${describeCounts(outcomeCounts(records))})`,
                `demo_task rows: ${rows} (${describeCounts(final)}) ${((drained - lastFault) / 1000).toFixed(0)} s after the last fault; ${acceptedWithoutRow} accepted tasks without a row; worker restarts ${restarts}`,
            ],
            limits: [{ what: "tasks lost or stuck", value: notDone + acceptedWithoutRow, op: "≤", limit: 0 }],
        };
    });
}

// --- 5. slow clients -----------------------------------------------------------------------------------------

/** Opens a connection that sends complete headers of a 64 KiB form post, then 16 bytes every 5 s. */
function slowBody(port: number, host: string, csrf: { headers: Record<string, string> }): { socket: Socket; closedEarly: () => boolean; stop: () => void } {
    let closed = false;
    let stopped = false;
    const socket = createConnection({ host: "127.0.0.1", port });
    const head = [
        "POST /tasks/ HTTP/1.1",
        `Host: ${host}`,
        "X-Forwarded-Proto: https",
        "X-Forwarded-For: 203.0.113.9, 35.191.0.1",
        ...Object.entries(csrf.headers).map(([k, v]) => `${k}: ${v}`),
        "Content-Type: application/x-www-form-urlencoded",
        "Content-Length: 65536",
        "",
        "",
    ].join("\r\n");
    socket.on("connect", () => socket.write(`${head}text=`));
    socket.on("error", () => (closed = true));
    socket.on("close", () => (closed = true));
    socket.on("data", () => undefined);
    const timer = setInterval(() => {
        if (!closed) socket.write("a".repeat(16));
    }, 5_000);
    return {
        socket,
        closedEarly: () => closed && !stopped,
        stop: () => {
            stopped = true;
            clearInterval(timer);
            socket.destroy();
        },
    };
}

async function slowClients(ctx: CheckContext): Promise<Row> {
    const stack = await ctx.stack({ stack: "staging" });
    const connections = 200;
    const attack = 80_000;
    const warm = 10_000;
    const recover = 20_000;
    return withWeb(ctx, stack, 1, async (web) => {
        const pod = web.pods[0] as LocalPod;
        const csrf = await stack.csrf(pod);
        const rate = 5;
        const start = web.now();
        const load = openLoop({ ratePerSecond: rate, durationMs: warm + attack + recover, t0: web.t0 + start, send: () => web.lb.send("page", PAGE) });
        await sleep(warm);
        const from = web.now();
        ctx.progress(`slow-clients: ${connections} slow uploads at ${pod.plan.workloadLabel}`);
        const slow = Array.from({ length: connections }, () => slowBody(pod.plan.port?.local ?? 0, stack.host, csrf));
        await sleep(attack);
        const closedByPod = slow.filter((s) => s.closedEarly()).length;
        for (const s of slow) s.stop();
        const until = web.now();
        await load;
        const end = web.now();
        const records = web.lb.records;
        const baseline = cleanBaseline(records, start, from, "slow-clients");
        const during = count(records, from, until);
        const outage = longestOutage(records, from, end);
        const restarts = restartsBetween(web.observer.samples, from, end);
        return {
            check: "slow-clients",
            title: `${connections} slow uploads at one pod for ${attack / 1000} s`,
            setup: [
                `staging as rendered, 1 web pod; ${rate} pages/s through the load balancer model`,
                `what reaches the pod: the load balancer routes on the request line and headers (its URL map), so a request reaches the pod only with complete headers — slow headers (slowloris) stay at the load balancer and are not sent here; Google documents no request-body buffering, so a slow body is streamed to the pod at the client's pace: ${connections} connections send complete headers of POST /tasks/ (Content-Length 65536, a valid CSRF cookie and token), then 16 bytes every 5 s`,
                lbSetup(stack, ctx.negDelaySeconds),
            ],
            figures: [
                baseline,
                `during the attack: pages ${okCount(during)}/${during.length} ok (${describeCounts(outcomeCounts(during))}), ${latency(during)}; slow connections closed by the pod before the end: ${closedByPod}`,
                `longest outage ${outage.seconds} s; no ready pod for ${secondsWithoutReadyPod(web.observer.samples, from, end).toFixed(1)} s; ${restarts} container restarts`,
            ],
            limits: [
                { what: "longest outage", value: outage.seconds, op: "≤", limit: 0, unit: "s" },
                { what: "container restarts", value: restarts, op: "≤", limit: 0 },
            ],
        };
    });
}

// --- the list ------------------------------------------------------------------------------------------------

/** Every check, in the order of issue 24's points. */
export const CHECKS: readonly Check[] = [
    {
        name: "cache-hang",
        point: 1,
        summary: "Redis master frozen 30 s and 120 s under open-loop load: outage, pods unready at once, liveness restarts",
        variants: ["30", "120"],
        run: (ctx, seconds) => cacheHang(ctx, Number(seconds)),
    },
    {
        name: "rollout",
        point: 2,
        summary: "rolling update at the largest accepted maxReplicas (staging on db-f1-micro, production's tier) with long requests in flight: PostgreSQL refusals, HTTP 500, failed CronJob runs",
        variants: ["staging", "production"],
        run: (ctx, stack) => rollout(ctx, stack as "staging" | "production"),
    },
    {
        name: "spot",
        point: 3,
        summary: "Spot preemption with 25 s and 15 s of grace, requests in flight: the pod SIGKILLed, requests cut within the drain window, requests after the NEG detach",
        variants: SPOT_GRACE_SECONDS.map(String),
        run: (ctx, cap) => spot(ctx, Number(cap)),
    },
    { name: "tasks", point: 4, summary: "busy workers SIGKILLed, Redis and PostgreSQL restarted: tasks lost or stuck", variants: ["restarts"], run: (ctx) => tasks(ctx) },
    { name: "slow-clients", point: 5, summary: "200 slow uploads at one pod: outage, restarts", variants: ["200"], run: (ctx) => slowClients(ctx) },
    { name: "db-hang", point: 6, summary: "PostgreSQL frozen 60 s: requests held, recovery without restarts", variants: ["60"], run: (ctx) => dbHang(ctx) },
];

/**
 * How a full run is scheduled on a small machine: phases one after the other; in a phase, lanes
 * side by side (each on stacks of its own, so one lane's frozen PostgreSQL or Redis is not
 * another's), the variants of a lane one after the other. The light checks share the first phase
 * (they mostly wait on a hung dependency; their load is a few dozen pages per second); each
 * rollout runs alone (dozens of pods start and stop). `--serial` runs everything one at a time.
 */
export const SCHEDULE: ReadonlyArray<ReadonlyArray<readonly string[]>> = [
    [["cache-hang:120"], ["cache-hang:30", "db-hang:60"], ["slow-clients:200", "spot:25", "spot:15"], ["tasks:restarts"]],
    [["rollout:staging"]],
    [["rollout:production"]],
];

export { NEG_PROPAGATION_SECONDS };
