/**
 * Processes on this machine for the local runner (cli/local.ts), the reliability runs and the
 * tests: commands run to completion, long-running processes each in its own process group, free
 * loopback ports.
 *
 * Every long-running process is started in a new process group and remembered until it exits, so
 * `stop()` (and, as a last resort, the exit hook below) kills the whole group — a gunicorn master
 * and its workers, a shell and what it started — even when the caller fails half-way. Nothing here
 * installs signal handlers: a command-line tool decides what Ctrl-C does
 * ({@link killAllGroups} kills what is left).
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const liveGroups = new Set<number>();

/** Kills (SIGKILL) every process group started here that has not exited yet. */
export function killAllGroups(): void {
    for (const pid of liveGroups) {
        try {
            process.kill(-pid, "SIGKILL");
        } catch {
            // already gone
        }
    }
    liveGroups.clear();
}
process.on("exit", killAllGroups);

/**
 * On the first SIGINT or SIGTERM: kill every process group still running and exit with 128 + the
 * signal's number. For tools and tests that need nothing more graceful.
 */
export function killGroupsOnSignals(): void {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
            killAllGroups();
            process.exit(128 + (signal === "SIGINT" ? 2 : 15));
        });
    }
}

/** Process group ids started here that have not exited yet. */
export function liveProcessGroups(): number[] {
    return [...liveGroups];
}

/** Output of a finished command. */
export interface RunResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions extends Omit<SpawnOptions, "stdio" | "detached"> {
    /** Text written to the command's stdin. @default nothing (stdin closed) */
    readonly input?: string;
    /** Reject unless the exit code is 0. @default true */
    readonly check?: boolean;
    /** Kill the command after this many milliseconds. @default 60000 */
    readonly timeoutMs?: number;
}

/**
 * Runs a command to completion and returns its output. Rejects with the command line, exit code
 * and stderr when it fails (unless `check: false`).
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const { input, check = true, timeoutMs = 60_000, ...spawnOptions } = options;
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { ...spawnOptions, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
        child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.on("error", (error) => {
            clearTimeout(timer);
            reject(new Error(`cannot start ${command}: ${error.message}`));
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            const result = { code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
            if (check && code !== 0) {
                reject(new Error(`${command} ${args.join(" ")} exited with ${code}\n${result.stderr}${result.stdout}`));
            } else {
                resolve(result);
            }
        });
        // A command may exit before reading its input (e.g. a client that cannot connect).
        child.stdin?.on("error", () => undefined);
        child.stdin?.end(input);
    });
}

/** Options of {@link GroupProcess}: spawn options, and where its output goes besides its log. */
export interface GroupProcessOptions extends Omit<SpawnOptions, "stdio" | "detached"> {
    /** Called with every chunk the process prints (stdout and stderr). */
    readonly onOutput?: (text: string) => void;
}

/**
 * util-linux's setpriv, when there: started through `setpriv --pdeathsig SIGKILL`, a process is
 * killed by the kernel when this one dies, even by SIGKILL, when no exit hook runs (prctl
 * PR_SET_PDEATHSIG survives execve of a program that is not set-user-ID).
 */
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));

/** A long-running process in its own process group. */
export class GroupProcess {
    private readonly output: string[] = [];
    private readonly exited: Promise<number | null>;
    private exitCode: number | null | undefined;
    private exitSignal: NodeJS.Signals | null = null;

    /** Starts `command args` in a new process group; its output is kept for error messages. */
    constructor(
        readonly label: string,
        command: string,
        args: readonly string[],
        options: GroupProcessOptions = {},
    ) {
        const { onOutput, ...spawnOptions } = options;
        const [program, argv] = SETPRIV && process.platform === "linux" ? [SETPRIV, ["--pdeathsig", "SIGKILL", "--", command, ...args]] : [command, [...args]];
        const child: ChildProcess = spawn(program, argv, { ...spawnOptions, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        if (child.pid === undefined) {
            // spawn reports ENOENT and friends asynchronously; the pid is missing already.
            child.on("error", () => undefined);
            throw new Error(`${label}: could not start ${command}`);
        }
        const pid = child.pid;
        liveGroups.add(pid);
        const keep = (chunk: Buffer) => {
            const text = chunk.toString("utf8");
            this.output.push(text);
            if (this.output.length > 400) this.output.splice(0, this.output.length - 400);
            onOutput?.(text);
        };
        child.stdout?.on("data", keep);
        child.stderr?.on("data", keep);
        this.exited = new Promise((resolve) => {
            child.on("error", (error) => {
                keep(Buffer.from(String(error)));
                liveGroups.delete(pid);
                this.exitCode = null;
                resolve(null);
            });
            // "close": the process has exited AND its output streams are read to the end.
            child.on("close", (code, signal) => {
                liveGroups.delete(pid);
                this.exitCode = code;
                this.exitSignal = signal;
                resolve(code);
            });
        });
        this.pid = pid;
    }

    /** Process id, which is also the process group id. */
    readonly pid: number;

    /** True until the process has exited. */
    get running(): boolean {
        return this.exitCode === undefined;
    }

    /** Resolves with the exit code once the process has exited (null when killed by a signal). */
    wait(): Promise<number | null> {
        return this.exited;
    }

    /** Sends `signal` to the process group leader only (as the kubelet signals a container's main process). */
    signal(signal: NodeJS.Signals): void {
        if (this.running) process.kill(this.pid, signal);
    }

    /**
     * Sends `signal` to every process of the group and to every descendant of its leader, also
     * those that started a session of their own (PostgreSQL's backends call setsid()):
     * SIGSTOP/SIGCONT freeze and thaw a server and all its processes, as a hung node would.
     */
    signalGroup(signal: NodeJS.Signals): void {
        if (!this.running) return;
        for (const target of [-this.pid, ...descendants(this.pid)]) {
            try {
                process.kill(target, signal);
            } catch {
                // gone in the meantime
            }
        }
    }

    /** The last lines the process printed (stdout and stderr). */
    get log(): string {
        return this.output.join("");
    }

    /** The signal that ended the process, if a signal did. */
    get signalled(): NodeJS.Signals | null {
        return this.exitSignal;
    }

    /** The last `count` non-empty lines of {@link log}. */
    lastLines(count: number): string[] {
        return this.log.split("\n").filter((line) => line.trim() !== "").slice(-count);
    }

    /**
     * Sends `signal` to the whole group, waits up to `graceMs` for the leader to exit, then kills
     * the group with SIGKILL.
     */
    async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
        if (!this.running) return;
        try {
            process.kill(-this.pid, signal);
            // A group frozen with SIGSTOP acts on the signal only once thawed.
            if (signal !== "SIGKILL") process.kill(-this.pid, "SIGCONT");
        } catch {
            return;
        }
        const timedOut = await Promise.race([
            this.exited.then(() => false),
            new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
        ]);
        if (timedOut) {
            try {
                process.kill(-this.pid, "SIGKILL");
            } catch {
                // gone in the meantime
            }
            await this.exited;
        }
    }
}

/** The process ids of `pid`'s descendants (Linux /proc; none elsewhere). */
export function descendants(pid: number): number[] {
    let entries: string[];
    try {
        entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
    } catch {
        return [];
    }
    const parent = new Map<number, number>();
    for (const e of entries) {
        try {
            // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
            const stat = readFileSync(`/proc/${e}/stat`, "utf8");
            parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
        } catch {
            // exited meanwhile
        }
    }
    const found: number[] = [];
    const queue = [pid];
    while (queue.length > 0) {
        const current = queue.shift() as number;
        for (const [child, ppid] of parent) {
            if (ppid === current) {
                found.push(child);
                queue.push(child);
            }
        }
    }
    return found;
}

/** Options for {@link waitFor}. */
export interface WaitOptions {
    /** Give up after this long. @default 20000 */
    readonly timeoutMs?: number;
    /** Pause between probes. @default 100 */
    readonly intervalMs?: number;
    /** The process being waited for; waiting stops at once when it has exited. */
    readonly process?: GroupProcess;
}

/**
 * Polls `probe` (errors count as "not yet") until it returns true. Throws a message naming
 * `what`, with the process's output, on timeout or when `options.process` exits.
 */
export async function waitFor(what: string, probe: () => Promise<boolean>, options: WaitOptions = {}): Promise<void> {
    const { timeoutMs = 20_000, intervalMs = 100, process: watched } = options;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await probe().catch(() => false)) return;
        if (watched && !watched.running) {
            throw new Error(`${watched.label} exited while waiting for ${what}:\n${watched.log}`);
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${watched ? `:\n${watched.log}` : ""}`);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            if (address === null || typeof address === "string") {
                server.close();
                reject(new Error("could not read the port of a probe socket"));
                return;
            }
            server.close(() => resolve(address.port));
        });
    });
}

/** A random password of URL- and shell-safe characters. */
export function randomPassword(bytes = 24): string {
    return randomBytes(bytes).toString("base64url");
}

/** Creates a temp dir (mode 0700) with the given prefix. */
export function tempDir(prefix: string): string {
    return mkdtempSync(join(tmpdir(), prefix));
}
