/**
 * redis-server on loopback, started from an argument vector (as rendered for Kubernetes, with
 * loopback host/port and a local `--dir`), restartable for fault tests.
 */
import { GroupProcess, run, waitFor } from "./processes";

/** Debian's redis-server and redis-cli. */
export const REDIS_SERVER = "/usr/bin/redis-server";
export const REDIS_CLI = "/usr/bin/redis-cli";

/**
 * A redis-server started from an argument vector (as rendered for Kubernetes, already with
 * loopback host/port and a temp `--dir`), restartable for fault tests.
 */
export class LocalRedis {
    private server: GroupProcess | undefined;

    /**
     * @param label name used in error messages, e.g. "redis master"
     * @param args arguments for redis-server (without the program name)
     * @param port the `--port` inside `args`
     * @param password the `--requirepass` inside `args`, used by {@link cli}
     * @param options `tlsCaFile`: the server speaks TLS only, signed by this CA (redis-cli gets
     *   `--tls --cacert`); `onOutput`: the server's output as it comes
     */
    constructor(
        readonly label: string,
        readonly args: readonly string[],
        readonly port: number,
        readonly password: string,
        private readonly options: { readonly tlsCaFile?: string; readonly onOutput?: (text: string) => void } = {},
    ) {}

    /** True while the server process runs. */
    get running(): boolean {
        return this.server?.running ?? false;
    }

    /** Output of the current server process. */
    get log(): string {
        return this.server?.log ?? "";
    }

    /** Starts the server and waits until it answers PING. */
    async start(): Promise<void> {
        if (this.running) return;
        const server = new GroupProcess(this.label, REDIS_SERVER, this.args, { env: { PATH: "/usr/bin:/bin" }, onOutput: this.options.onOutput });
        this.server = server;
        await waitFor(`${this.label} on 127.0.0.1:${this.port}`, async () => (await this.cli(["PING"])) === "PONG", {
            process: server,
        });
    }

    /** Stops the server (SIGTERM, then SIGKILL after a grace period). */
    async stop(): Promise<void> {
        await this.server?.stop("SIGTERM");
    }

    /** Freezes the server (SIGSTOP): connections are still accepted by the kernel, nothing answers. */
    pause(): void {
        this.server?.signalGroup("SIGSTOP");
    }

    /** Thaws a {@link pause}d server (SIGCONT). */
    resume(): void {
        this.server?.signalGroup("SIGCONT");
    }

    /** Kills the server at once (SIGKILL: what was not persisted is lost); {@link start} starts it again. */
    async kill(): Promise<void> {
        this.server?.signalGroup("SIGCONT");
        await this.server?.stop("SIGKILL", 2_000);
    }

    /** Runs one command through redis-cli (authenticated) and returns its raw output, trimmed. */
    async cli(command: readonly string[]): Promise<string> {
        const tls = this.options.tlsCaFile ? ["--tls", "--cacert", this.options.tlsCaFile] : [];
        const result = await run(REDIS_CLI, [...tls, "-h", "127.0.0.1", "-p", String(this.port), "--no-auth-warning", "--raw", ...command], {
            env: { PATH: "/usr/bin:/bin", ...(this.password ? { REDISCLI_AUTH: this.password } : {}) },
            timeoutMs: 5_000,
        });
        return result.stdout.trim();
    }
}

