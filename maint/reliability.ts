/**
 * The reliability lab: each numbered point of issue 24 as a check that can fail. The stacks are
 * rendered as synth renders them and run with `npm run local`'s machinery (cli/lib/local/: every
 * pod with exactly its rendered command, environment, probes and termination), behind a model of
 * the GKE Ingress's load balancer, under open-loop load; rollouts run in waves as the Deployment
 * controller runs them; dependencies hang longer than the liveness window. Bounded in time; every
 * process it starts is stopped.
 *
 *   npm run reliability                         # every check
 *   npm run reliability -- --only cache-hang    # one check (or several: --only spot,db-hang)
 *   npm run reliability -- --only rollout:staging   # one variant of a check
 *   npm run reliability -- --list               # the checks
 *
 * Each row prints what was emulated, its figures and the limits it is judged against.
 * Exit code: 0 every row within its limits, 1 a row outside a limit, 3 the lab itself broke (a
 * check could not run; the others still run), 2 bad arguments.
 */
import "../cli/lib/dependencySourceMaps";
import { Command, InvalidArgumentError } from "commander";
import { findBinaries } from "../cli/lib/local/binaries";
import { killGroupsOnSignals } from "../cli/lib/local/processes";
import { NEG_PROPAGATION_SECONDS } from "./lib/reliabilityBalancer";
import { CHECKS, SCHEDULE, loadAverage, rowPasses, within, type CheckContext, type Limit, type Row } from "./lib/reliabilityChecks";
import { LabStack, type LabStackOptions } from "./lib/reliabilityRun";

/** Commander's exit (help, or bad arguments: 2). */
class UsageError extends Error {
    constructor(
        readonly exitCode: number,
        message: string,
    ) {
        super(message);
    }
}

function formatLimit(l: Limit): string {
    const unit = l.unit ? ` ${l.unit}` : "";
    const value = Number.isFinite(l.value) ? `${Number.isInteger(l.value) ? l.value : l.value.toFixed(1)}${unit}` : "never";
    return `${l.what}: ${value} (limit ${l.op} ${l.limit}${unit}) ${within(l) ? "ok" : "FAIL"}`;
}

function printRow(row: Row, point: number): void {
    console.log(`${rowPasses(row) ? "PASS" : "FAIL"}  ${point} ${row.check}: ${row.title}`);
    for (const s of row.setup) console.log(`      setup:   ${s}`);
    for (const f of row.figures) console.log(`      figures: ${f}`);
    for (const l of row.limits) console.log(`      limit:   ${formatLimit(l)}`);
    console.log("");
}

async function main(): Promise<number> {
        const program = new Command()
        .name("reliability")
        .description("Runs the reliability lab's checks (one per point of issue 24) against the rendered stacks on this machine.")
        .option("--only <checks>", `comma-separated checks, or check:variant, to run (${CHECKS.map((c) => `${c.name}[:${c.variants.join("|")}]`).join(", ")})`, (value) => {
            const picked = value.split(",").map((v) => v.trim()).filter(Boolean);
            const known = (p: string) => {
                const [name, variant] = p.split(":");
                const check = CHECKS.find((c) => c.name === name);
                return check !== undefined && (variant === undefined || check.variants.includes(variant));
            };
            const unknown = picked.filter((p) => !known(p));
            if (unknown.length > 0) throw new InvalidArgumentError(`unknown check(s) ${unknown.join(", ")}; the checks are ${CHECKS.map((c) => `${c.name}[:${c.variants.join("|")}]`).join(", ")}`);
            return picked;
        })
        .option("--neg-delay <seconds>", "seconds from a readiness change to the NEG endpoint's attach/detach in the load balancer model", (value) => {
            const n = Number(value);
            if (!Number.isFinite(n) || n < 0 || n > 60) throw new InvalidArgumentError("a number of seconds from 0 to 60");
            return n;
        }, NEG_PROPAGATION_SECONDS)
        .option("--list", "list the checks and exit")
        .option("--json", "print the rows as JSON as well")
        .option("--serial", "one check at a time (quieter figures; about twice as long)")
        .exitOverride((error) => {
            throw new UsageError(error.exitCode === 0 ? 0 : 2, error.message);
        })
        .parse(process.argv);
    const options = program.opts<{ only?: string[]; negDelay: number; list?: boolean; json?: boolean; serial?: boolean }>();
    if (options.list) {
        for (const c of CHECKS) console.log(`${c.point} ${c.name.padEnd(13)} ${c.summary} (variants: ${c.variants.join(", ")})`);
        return 0;
    }
    const found = findBinaries();
    if (!found.binaries) {
        for (const p of found.problems) console.error(`reliability: ${p}`);
        return 3;
    }
    const binaries = found.binaries;
    const began = performance.now();
    const clock = () => `[lab ${((performance.now() - began) / 1000).toFixed(0)}s]`;
    const wanted = (item: string) => {
        const [name] = item.split(":");
        return !options.only || options.only.some((p) => p === name || p === item);
    };
    const phases = (options.serial ? [[SCHEDULE.flat(2)]] : SCHEDULE).map((lanes) => lanes.map((lane) => lane.filter(wanted)).filter((lane) => lane.length > 0)).filter((lanes) => lanes.length > 0);
    console.log(`reliability lab, ${new Date().toISOString()}, ${loadAverage()}${options.serial ? ", one check at a time" : ""}\n`);
    const rows: Array<{ point: number; row: Row }> = [];
    const broke: string[] = [];
    for (const lanes of phases) {
        await Promise.all(
            lanes.map(async (lane, laneIndex) => {
                const tag = lanes.length > 1 ? ` lane ${laneIndex + 1}` : "";
                const progress = (line: string) => console.error(`${clock()}${tag} ${line}`);
                const stacks = new Map<string, Promise<LabStack>>();
                const ctx: CheckContext = {
                    negDelaySeconds: options.negDelay,
                    progress,
                    stack: (o: Pick<LabStackOptions, "stack" | "overrides">) => {
                        const key = JSON.stringify(o);
                        let stack = stacks.get(key);
                        if (!stack) {
                            progress(`preparing ${o.stack}${o.overrides ? ` with ${JSON.stringify(o.overrides)}` : ""}: services, migrate and collectstatic`);
                            stack = LabStack.start({ ...o, fakeGcsServer: binaries.fakeGcsServer, python: binaries.python });
                            stacks.set(key, stack);
                        }
                        return stack;
                    },
                };
                try {
                    for (const item of lane) {
                        const [name, variant] = item.split(":") as [string, string];
                        const check = CHECKS.find((c) => c.name === name);
                        if (!check) throw new Error(`the schedule names an unknown check: ${item}`);
                        const started = performance.now();
                        progress(`${check.point} ${check.name} (${variant}): ${check.summary}`);
                        try {
                            const row = await check.run(ctx, variant);
                            rows.push({ point: check.point, row });
                            printRow(row, check.point);
                        } catch (error) {
                            const message = error instanceof Error ? error.message : String(error);
                            broke.push(`${check.name} ${variant}: ${message}`);
                            console.log(`BROKE ${check.point} ${check.name} (${variant}): the lab could not run this check: ${message}\n`);
                        }
                        progress(`${check.name} (${variant}) took ${((performance.now() - started) / 1000).toFixed(0)} s; ${loadAverage()}`);
                    }
                } finally {
                    await Promise.all([...stacks.values()].map(async (stack) => (await stack.catch(() => undefined))?.close()));
                }
            }),
        );
    }
    const failed = rows.filter((r) => !rowPasses(r.row));
    if (options.json) console.log(JSON.stringify({ rows, broke }, null, 2));
    console.log(
        `${rows.length} rows: ${rows.length - failed.length} within their limits, ${failed.length} outside${failed.length ? ` (${failed.map((r) => `${r.row.check}: ${r.row.title}`).join("; ")})` : ""}; ` +
            `${broke.length ? `lab broke in ${broke.length} check(s)` : "the lab ran every check"}; ${((performance.now() - began) / 1000).toFixed(0)} s; ${loadAverage()}`,
    );
    return broke.length > 0 ? 3 : failed.length > 0 ? 1 : 0;
}

killGroupsOnSignals();
main().then(
    (code) => process.exit(code),
    (error: unknown) => {
        if (error instanceof UsageError) process.exit(error.exitCode);
        console.error(`reliability: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        process.exit(3);
    },
);
