/**
 * How long `npm run local -- --stack staging --check` takes, start to exit: the stack rendered,
 * PostgreSQL, Redis, the GCS emulator and the Google API stand-ins started, the migrate and
 * collectstatic Jobs, the web pod ready through its probes, the CronJob, the termination sequence
 * (preStop sleep included), everything stopped.
 *
 *   npm run bench:local [-- --rounds 5] [-- --stack production] [-- --max-seconds 60] [-- --json]
 *
 * Runs the command `--rounds` times one after the other, each a fresh process as the package
 * script starts it (`node --require tsx/cjs cli/local.ts`, without npm's own start-up), and
 * prints the minimum, median and maximum wall time with the machine's load average before and
 * after (a busy machine makes every figure larger: quote the median with its load). Exit code 1
 * when the median is above `--max-seconds`, 2 for a usage error, 3 when a run failed (timing a
 * failure means nothing).
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import * as path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { parseCli, processIo, runCli, type CliIo } from "../cli/lib/cliIo";

const ROOT = path.resolve(__dirname, "..");

function positive(value: string): number {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("a positive number");
    return n;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Runs the benchmark; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
    const program = new Command()
        .name("bench:local")
        .description("Time `npm run local -- --stack <stack> --check` (medians of fresh processes).")
        .option("--rounds <n>", "runs to time", (v) => Math.round(positive(v)), 5)
        .option("--stack <name>", "stack to run", "staging")
        .option("--max-seconds <s>", "exit 1 when the median is above this", positive, 60)
        .option("--json", "print the figures as JSON");
    const parsed = parseCli(program, argv, io);
    if (parsed !== undefined) return parsed;
    const opts = program.opts<{ rounds: number; stack: string; maxSeconds: number; json?: boolean }>();
    const loadBefore = loadavg();
    const seconds: number[] = [];
    for (let round = 1; round <= opts.rounds; round += 1) {
        const start = process.hrtime.bigint();
        const child = spawnSync(process.execPath, ["--require", "tsx/cjs", "cli/local.ts", "--stack", opts.stack, "--check", "--port", "0"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
        const wall = Number(process.hrtime.bigint() - start) / 1e9;
        if (child.status !== 0) {
            io.stderr(`bench:local: round ${round} failed (exit ${child.status}):\n${child.stderr}\n${child.stdout}`);
            return 3;
        }
        seconds.push(wall);
        if (!opts.json) io.stdout(`round ${round}: ${wall.toFixed(1)} s`);
    }
    const loadAfter = loadavg();
    const result = {
        command: `npm run local -- --stack ${opts.stack} --check`,
        rounds: opts.rounds,
        seconds: { min: Math.min(...seconds), median: median(seconds), max: Math.max(...seconds) },
        loadAverage: { before: loadBefore, after: loadAfter },
        maxSeconds: opts.maxSeconds,
    };
    const fmt = (n: number) => n.toFixed(1);
    io.stdout(
        opts.json
            ? JSON.stringify(result, null, 2)
            : `${result.command}: median ${fmt(result.seconds.median)} s (min ${fmt(result.seconds.min)}, max ${fmt(result.seconds.max)}) over ${opts.rounds} runs; load average ${loadBefore.map(fmt).join(" ")} before, ${loadAfter.map(fmt).join(" ")} after; limit ${opts.maxSeconds} s`,
    );
    return result.seconds.median > opts.maxSeconds ? 1 : 0;
}

if (require.main === module) runCli("bench:local", () => main(process.argv), 3);
