/**
 * Reliability re-run on loopback: the reference app under the gunicorn command the platform
 * renders (`gunicornCommand()`), with staging's rendered environment, against real PostgreSQL and
 * Redis. Bounded in time and requests; every process it starts is stopped (and killed on exit).
 *
 *   npm run reliability [-- --json] [-- --skip-redis-hang]
 *
 * (a) keep-alive: keep-alive connections go idle for 4.5–7 s and are reused, as the load balancer
 *     reuses backend connections (for up to 600 s); rendered `--keep-alive` and the old 5 s.
 * (b) connection budget: `max_connections` of staging's tier, as many gunicorn instances as pods
 *     hold connections in a rollout at the largest maxReplicas config.ts accepts (surge and
 *     draining pods included), every thread busy, plus the Jobs' connections.
 * (c) hung Redis (SIGSTOP) under load, probes at the kubelet's cadence: no liveness restart.
 *
 * Exit code 0 when every check shows 0 failures, 1 otherwise, 3 when the run itself failed.
 */
import { Command } from "commander";
import { LIVENESS_PROBE_TIMING, type ProbeTiming } from "../components/podTemplates";
import { killGroupsOnSignals } from "./lib/local/processes";
import {
    Backends,
    budgetRun,
    hungRedisRun,
    keepAliveRun,
    stagingInputs,
    type BudgetResult,
    type HungRedisResult,
    type KeepAliveVariant,
} from "./lib/reliabilityRun";

/** One row of the report. */
interface Row {
    readonly check: string;
    readonly setting: string;
    readonly measured: string;
    readonly failures: number;
    /** Contrast rows show what the old setting did; they do not decide the exit code. */
    readonly contrast?: boolean;
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const kinds = (counts: Record<string, number>) => Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
const probeSetting = (t: ProbeTiming) => `every ${t.periodSeconds} s, timeout ${t.timeoutSeconds} s, failureThreshold ${t.failureThreshold}`;

function keepAliveRows(variants: readonly KeepAliveVariant[]): Row[] {
    return variants.map((v, i) => ({
        check: "(a) keep-alive reuse",
        setting: v.label,
        measured: `${v.ok}/${v.reuses} reuses answered after ${(v.minIdleMs / 1000).toFixed(1)}–${(v.maxIdleMs / 1000).toFixed(1)} s idle; failed: ${kinds(v.failures)}`,
        failures: sum(v.failures),
        contrast: i > 0,
    }));
}

function budgetRows(b: BudgetResult): Row[] {
    const clientErrors = sum(b.load.errors);
    return [
        {
            check: "(b) connections in a rollout",
            setting: `${b.tier} (max_connections ${b.maxConnections}), maxReplicas ${b.maxReplicas} → ${b.pods.total} instances (${b.pods.replicas} + ${b.pods.surge} surge + ${b.pods.draining} draining) × ${b.workers} workers × ${b.threads} threads + 2 Job connections = ${b.budgeted}`,
            measured: `instances joined ${b.rampMs} ms apart, then ${b.holdMs / 1000} s of full load; peak ${b.peakApp} app connections (${b.peakAll} with the sampler) of ${b.usable} usable / ${b.maxConnections}; ${b.load.requests} requests, statuses ${kinds(b.load.statuses)}, client errors ${kinds(b.load.errors)}; PostgreSQL "too many clients" ${b.pgTooManyClients}, "reserved" ${b.pgReservedSlots}, other errors: ${kinds(b.pgOtherErrors)}; app exceptions: ${kinds(b.appErrors)}`,
            failures: b.http5xx + b.pgTooManyClients + b.pgReservedSlots + clientErrors + (b.peakAll > b.maxConnections ? 1 : 0),
        },
    ];
}

function hungRedisRows(h: HungRedisResult): Row[] {
    const series = (s: HungRedisResult["liveness"]) =>
        `${s.outcomes.length} probes, ${s.failed} failed, max ${s.maxConsecutiveFailures} in a row (threshold ${s.timing.failureThreshold})${s.tripped ? " → the kubelet would act" : ""}`;
    const nonOk = h.load.requests - (h.load.statuses[200] ?? 0);
    return [
        {
            check: `(c) Redis hung ${h.hangSeconds} s`,
            setting: `liveness as rendered: ${probeSetting(h.liveness.timing)}`,
            measured: `${series(h.liveness)}; slowest /healthz/ ${(h.maxHealthzMs / 1000).toFixed(2)} s; load ${h.concurrency} concurrent, ${h.load.requests} pages, ${nonOk} not 200`,
            failures: h.liveness.tripped ? 1 : 0,
        },
        { check: `(c) Redis hung ${h.hangSeconds} s`, setting: `liveness before: ${probeSetting(h.oldLiveness.timing)}`, measured: series(h.oldLiveness), failures: h.oldLiveness.failed, contrast: true },
        { check: `(c) Redis hung ${h.hangSeconds} s`, setting: `readiness: ${probeSetting(h.readiness.timing)}`, measured: series(h.readiness), failures: h.readiness.failed, contrast: true },
    ];
}

function printTable(rows: readonly Row[], phases: Record<string, number>, seconds: number): void {
    for (const row of rows) {
        const verdict = row.contrast ? "contrast" : row.failures === 0 ? "OK" : "FAIL";
        console.log(`${verdict.padEnd(8)} ${row.check}\n         setting:  ${row.setting}\n         measured: ${row.measured}\n         failures: ${row.failures}\n`);
    }
    const failing = rows.filter((r) => !r.contrast && r.failures > 0).length;
    const timing = Object.entries(phases).map(([phase, s]) => `${phase} ${s.toFixed(1)} s`).join(", ");
    console.log(`${failing === 0 ? "all checks: 0 failures" : `${failing} check(s) failed`} in ${seconds.toFixed(1)} s (${timing})`);
}

async function main(): Promise<number> {
    const program = new Command()
        .name("reliability")
        .description("Re-runs the keep-alive, connection-budget and hung-Redis checks on loopback.")
        .option("--json", "print the results as JSON")
        .option("--skip-redis-hang", "skip (c), the hung-Redis run (about 30 s)")
        .option("--ramp-ms <ms>", "(b): instances join the load this many ms apart; 0 = all at once, a login storm on small hosts", "800")
        .parse(process.argv);
    const options = program.opts<{ json?: boolean; skipRedisHang?: boolean; rampMs: string }>();
    const rampMs = Number(options.rampMs);
    if (!Number.isInteger(rampMs) || rampMs < 0 || rampMs > 5_000) throw new Error(`--ramp-ms must be a whole number from 0 to 5000 (got ${options.rampMs})`);
    const began = performance.now();
    const phases: Record<string, number> = {};
    let mark = began;
    const lap = (phase: string) => {
        phases[phase] = (performance.now() - mark) / 1000;
        mark = performance.now();
    };
    const inputs = await stagingInputs();
    lap("synth");
    // (a) only waits on idle sockets: it runs while PostgreSQL and Redis are set up.
    const [keepAlive, backends] = await Promise.allSettled([
        keepAliveRun(inputs.command, { connections: 24, rounds: 2, minIdleMs: 4_500, maxIdleMs: 7_000 }),
        Backends.start(inputs),
    ]);
    lap("(a) + database setup");
    if (backends.status === "rejected") throw backends.reason;
    let budget: BudgetResult;
    let hung: HungRedisResult | undefined;
    try {
        if (keepAlive.status === "rejected") throw keepAlive.reason;
        budget = await budgetRun(inputs, backends.value, { rampMs, holdMs: 10_000, maxRequestsPerInstance: 8_000 });
        lap("(b)");
        if (!options.skipRedisHang) {
            hung = await hungRedisRun(inputs, backends.value, { warmMs: 3_000, hangMs: 22_000, recoverMs: 3_000 });
            lap("(c)");
        }
    } finally {
        await backends.value.stop();
    }
    const rows = [...keepAliveRows(keepAlive.value), ...budgetRows(budget), ...(hung ? hungRedisRows(hung) : [])];
    const seconds = (performance.now() - began) / 1000;
    if (options.json) {
        const strip = (h: HungRedisResult) => ({ ...h, liveness: { ...h.liveness, outcomes: undefined }, oldLiveness: { ...h.oldLiveness, outcomes: undefined }, readiness: { ...h.readiness, outcomes: undefined } });
        console.log(JSON.stringify({ rows, keepAlive: keepAlive.value, budget, hungRedis: hung ? strip(hung) : null, livenessTiming: LIVENESS_PROBE_TIMING, phases, seconds }, null, 2));
    } else {
        printTable(rows, phases, seconds);
    }
    return rows.some((r) => !r.contrast && r.failures > 0) ? 1 : 0;
}

killGroupsOnSignals();
main().then(
    (code) => process.exit(code),
    (error: unknown) => {
        console.error(`reliability: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        process.exit(3);
    },
);
