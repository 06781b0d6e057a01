/**
 * Open-loop load for the reliability lab (maint/reliability.ts) and what its outcomes mean.
 *
 * Open loop: requests arrive at a fixed rate whatever the answers, as users do — a slow or hung
 * site does not slow the arrivals down, so queues build the way they build in production. (A closed
 * loop of N clients, each waiting for its answer before the next request, sends less the slower
 * the site gets, and hides exactly the backlog that takes pods down.) Each request has its own
 * deadline: the load balancer's backend timeout (the BackendConfig's `timeoutSec`).
 *
 * - {@link arrivalTimes}: when request i of a fixed-rate loop is due.
 * - {@link openLoop}: fires each request at its time without waiting for earlier answers.
 * - {@link longestOutage}: the longest run of 1-second buckets in which requests were sent and none
 *   succeeded (requests are counted in the second they were sent).
 */

/** How one request ended, as the client saw it through the load balancer. */
export type OutcomeKind =
    | "ok"
    /** The app answered 5xx. */
    | "http-5xx"
    /** The app answered 4xx (a lab request the app refused). */
    | "http-4xx"
    /** No ready backend: the load balancer answered 503 itself. */
    | "lb-no-backend"
    /** The backend did not answer within the load balancer's backend timeout. */
    | "lb-timeout"
    /** The backend refused the connection (the load balancer answers 502). */
    | "backend-refused"
    /** The backend closed or reset the connection before answering (the load balancer answers 502). */
    | "backend-reset";

/** One request of a load run. */
export interface RequestRecord {
    /** What was sent (e.g. "page", "upload"). */
    readonly kind: string;
    /** Milliseconds after the run's start when it was sent. */
    readonly sentAt: number;
    /** Milliseconds after the run's start when it ended. */
    readonly endedAt: number;
    readonly outcome: OutcomeKind;
    /** HTTP status, when the app answered. */
    readonly status?: number;
    /** The pod it went to (its label), when the load balancer picked one. */
    readonly pod?: string;
}

/** The send times (ms from the start) of a fixed-rate open loop: request i at i / rate. */
export function arrivalTimes(ratePerSecond: number, durationMs: number): number[] {
    if (!(ratePerSecond > 0)) throw new Error(`rate must be positive (got ${ratePerSecond})`);
    const times: number[] = [];
    for (let i = 0; (i * 1000) / ratePerSecond < durationMs; i += 1) times.push((i * 1000) / ratePerSecond);
    return times;
}

/** Options of {@link openLoop}. */
export interface OpenLoopOptions<T> {
    readonly ratePerSecond: number;
    /** Sending ends after this long (or earlier, when `stop` says so). */
    readonly durationMs: number;
    /** Sends request `index`; its promise is not awaited before the next one is sent. */
    readonly send: (index: number) => Promise<T>;
    /** performance.now() of the run's start (arrival times are counted from it). @default now */
    readonly t0?: number;
    /** Checked before each arrival: true ends the sending. */
    readonly stop?: () => boolean;
}

/**
 * Sends requests at fixed times (request i at i / rate after t0, see {@link arrivalTimes}) whatever
 * the answers: a request is sent at its time even when every earlier one is still waiting. When the
 * event loop fell behind, the overdue ones go out at once. Resolves with every request's result
 * once all have ended.
 */
export async function openLoop<T>(options: OpenLoopOptions<T>): Promise<T[]> {
    const t0 = options.t0 ?? performance.now();
    const due = (i: number) => (i * 1000) / options.ratePerSecond;
    if (!(options.ratePerSecond > 0)) throw new Error(`rate must be positive (got ${options.ratePerSecond})`);
    const pending: Array<Promise<T>> = [];
    let next = 0;
    const more = () => due(next) < options.durationMs && !(options.stop?.() ?? false);
    while (more()) {
        const now = performance.now() - t0;
        while (more() && due(next) <= now) {
            pending.push(options.send(next));
            next += 1;
        }
        if (more()) await sleep(Math.max(0, due(next) - (performance.now() - t0)));
    }
    return Promise.all(pending);
}

/** The longest run of consecutive seconds in which requests were sent and none succeeded. */
export interface Outage {
    /** Length, seconds (0: every second with requests had a success). */
    readonly seconds: number;
    /** Start of that run, seconds after the run's start (undefined when there was none). */
    readonly from?: number;
}

/**
 * The longest outage among `records` sent in [fromMs, toMs): requests are put in 1-second buckets
 * by the time they were sent; a bucket with requests and no success is down; seconds without any
 * request neither end nor extend a run.
 */
export function longestOutage(records: readonly RequestRecord[], fromMs = 0, toMs = Number.POSITIVE_INFINITY): Outage {
    const buckets = new Map<number, { sent: number; ok: number }>();
    for (const r of records) {
        if (r.sentAt < fromMs || r.sentAt >= toMs) continue;
        const b = Math.floor(r.sentAt / 1000);
        const bucket = buckets.get(b) ?? { sent: 0, ok: 0 };
        bucket.sent += 1;
        if (r.outcome === "ok") bucket.ok += 1;
        buckets.set(b, bucket);
    }
    let best: Outage = { seconds: 0 };
    let runStart: number | undefined;
    let runLength = 0;
    for (const b of [...buckets.keys()].sort((x, y) => x - y)) {
        const bucket = buckets.get(b) as { sent: number; ok: number };
        if (bucket.ok === 0) {
            if (runStart === undefined) runStart = b;
            runLength += 1;
            if (runLength > best.seconds) best = { seconds: runLength, from: runStart };
        } else {
            runStart = undefined;
            runLength = 0;
        }
    }
    return best;
}

/** Counts of `records` by outcome (only the kinds that occurred). */
export function outcomeCounts(records: readonly RequestRecord[]): Partial<Record<OutcomeKind, number>> {
    const counts: Partial<Record<OutcomeKind, number>> = {};
    for (const r of records) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    return counts;
}

/** "ok 1200, lb-no-backend 30" */
export function describeCounts(counts: Partial<Record<string, number>>): string {
    const entries = Object.entries(counts).filter(([, n]) => (n ?? 0) > 0);
    return entries.length ? entries.map(([k, n]) => `${k} ${n}`).join(", ") : "none";
}

/** The p-th percentile (0–100) of `values` (nearest rank), or 0 for none. */
export function percentile(values: readonly number[], p: number): number {
    if (values.length === 0) return 0;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
