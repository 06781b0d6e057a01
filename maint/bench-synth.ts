/**
 * Synth's speed against its floor: how long `npm run synth -- --stack production --out <dir>`
 * takes compared with bare `require()` of the four Pulumi SDKs the program uses, measured in the
 * same run on the same machine so that the machine's speed and load cancel out.
 *
 *   npm run bench:synth [-- --rounds 5] [-- --max-ratio 3] [-- --stack production] [-- --json]
 *
 * Each round starts two fresh node processes, alternately: the bare require, then the synth as
 * `npm run synth` runs it (package.json's `synth` script through `sh -c` with `node_modules/.bin`
 * on PATH, as npm does, without npm's own start-up, which is the same for every script). Medians
 * of the wall times are compared; the CPU time of each process tree (user + system, all threads,
 * read at exit through a `--require` in NODE_OPTIONS) is shown too: it moves less than wall time
 * when the machine is busy. The exit code is 1 when the wall-time ratio is above `--max-ratio`, 2
 * for a usage error, 3 when a run itself failed (synth exit code 2 or 3: timing a failure means
 * nothing).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { processIo, parseCli, runCli, type CliIo } from "../cli/lib/cliIo";

const ROOT = path.resolve(__dirname, "..");

/** The SDKs the program imports: the floor any synth pays before doing anything. */
export const SDKS = ["@pulumi/pulumi", "@pulumi/gcp", "@pulumi/kubernetes", "@pulumi/random"] as const;

/** One measured command. */
interface Run {
    readonly seconds: number;
    /** CPU seconds (user + system) of every node process of the run. */
    readonly cpuSeconds: number;
    readonly status: number | null;
    readonly stderr: string;
}

/** Preloaded into every node process of a run: appends its CPU time to BENCH_SYNTH_CPU at exit. */
const CPU_PRELOAD = `"use strict";
const file = process.env.BENCH_SYNTH_CPU;
if (file) {
    process.on("exit", () => {
        const u = process.resourceUsage();
        require("node:fs").appendFileSync(file, (u.userCPUTime + u.systemCPUTime) / 1e6 + "\\n");
    });
}
`;

function timed(dir: string, command: string, args: readonly string[]): Run {
    const cpuFile = path.join(dir, "cpu.txt");
    rmSync(cpuFile, { force: true });
    const env = {
        ...process.env,
        PATH: `${path.join(ROOT, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${JSON.stringify(path.join(dir, "cpu-preload.cjs"))}`.trim(),
        BENCH_SYNTH_CPU: cpuFile,
    };
    const start = process.hrtime.bigint();
    const child = spawnSync(command, args, { cwd: ROOT, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (child.error) {
        throw child.error;
    }
    const cpuSeconds = existsSync(cpuFile) ? readFileSync(cpuFile, "utf8").split("\n").filter(Boolean).reduce((a, b) => a + Number(b), 0) : 0;
    return { seconds, cpuSeconds, status: child.status, stderr: child.stderr };
}

/** package.json's `synth` script: what `npm run synth` runs. */
function synthScript(): string {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts?: Record<string, string> };
    const script = pkg.scripts?.synth;
    if (!script) {
        throw new Error("package.json has no synth script");
    }
    return script;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function positiveInt(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) {
        throw new InvalidArgumentError("expected a positive integer");
    }
    return n;
}

function positiveNumber(value: string): number {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) {
        throw new InvalidArgumentError("expected a positive number");
    }
    return n;
}

/** Parses the command line, runs the rounds and prints the figures; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
    const program = new Command()
        .name("bench:synth")
        .description("Time synth (production, --out) against bare require() of the Pulumi SDKs, in alternating fresh processes.")
        .option("--rounds <n>", "rounds (one bare require and one synth each)", positiveInt, 5)
        .option("--max-ratio <x>", "exit 1 when median synth / median bare require is above this", positiveNumber, 3)
        .option("--stack <name>", "stack to synthesise", "production")
        .option("--json", "print the figures as JSON");
    const parsed = parseCli(program, argv, io);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = program.opts<{ rounds: number; maxRatio: number; stack: string; json?: boolean }>();
    const script = synthScript();
    const bareScript = SDKS.map((m) => `require(${JSON.stringify(m)});`).join("");
    const dir = mkdtempSync(path.join(tmpdir(), "bench-synth-"));
    writeFileSync(path.join(dir, "cpu-preload.cjs"), CPU_PRELOAD);
    const bare: Run[] = [];
    const synth: Run[] = [];
    try {
        for (let round = 1; round <= opts.rounds; round++) {
            const b = timed(dir, process.execPath, ["-e", bareScript]);
            if (b.status !== 0) {
                io.stderr(`bench:synth: bare require failed (exit ${b.status}):\n${b.stderr}`);
                return 3;
            }
            // As npm runs a script: sh -c '<script> "$@"' with the arguments after `--`.
            const s = timed(dir, "sh", ["-c", `${script} "$@"`, "sh", "--stack", opts.stack, "--out", path.join(dir, `round-${round}`)]);
            if (s.status !== 0 && s.status !== 1) {
                io.stderr(`bench:synth: synth failed (exit ${s.status}):\n${s.stderr}`);
                return 3;
            }
            bare.push(b);
            synth.push(s);
            if (!opts.json) {
                io.stderr(`round ${round}/${opts.rounds}: bare require ${b.seconds.toFixed(2)} s (CPU ${b.cpuSeconds.toFixed(2)} s), synth ${s.seconds.toFixed(2)} s (CPU ${s.cpuSeconds.toFixed(2)} s)`);
            }
        }
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
    const med = (runs: readonly Run[], key: "seconds" | "cpuSeconds"): number => median(runs.map((r) => r[key]));
    const round3 = (x: number): number => Number(x.toFixed(3));
    const result = {
        stack: opts.stack,
        rounds: opts.rounds,
        synthCommand: `${script} --stack ${opts.stack} --out <dir>`,
        bareRequireSeconds: round3(med(bare, "seconds")),
        synthSeconds: round3(med(synth, "seconds")),
        ratio: Number((med(synth, "seconds") / med(bare, "seconds")).toFixed(2)),
        bareRequireCpuSeconds: round3(med(bare, "cpuSeconds")),
        synthCpuSeconds: round3(med(synth, "cpuSeconds")),
        cpuRatio: Number((med(synth, "cpuSeconds") / med(bare, "cpuSeconds")).toFixed(2)),
        maxRatio: opts.maxRatio,
    };
    const ok = result.ratio <= opts.maxRatio;
    if (opts.json) {
        io.stdout(JSON.stringify({ ...result, ok, bare: bare.map((r) => round3(r.seconds)), synth: synth.map((r) => round3(r.seconds)) }, null, 2));
    } else {
        io.stdout(`median of ${result.rounds} rounds: bare require of ${SDKS.join(", ")} ${result.bareRequireSeconds.toFixed(2)} s; `
            + `${result.synthCommand}: ${result.synthSeconds.toFixed(2)} s; ratio ${result.ratio.toFixed(2)} (limit ${opts.maxRatio})${ok ? "" : " — TOO SLOW"}\n`
            + `CPU time (user + system): bare require ${result.bareRequireCpuSeconds.toFixed(2)} s, synth ${result.synthCpuSeconds.toFixed(2)} s; ratio ${result.cpuRatio.toFixed(2)}`);
    }
    return ok ? 0 : 1;
}

if (require.main === module) {
    runCli("bench:synth", () => main(process.argv), 3);
}
