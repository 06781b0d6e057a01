/**
 * A throw-away PostgreSQL cluster on loopback (the tests, the reliability runs, and the local
 * runner's stand-in for Cloud SQL).
 *
 * PostgreSQL refuses to run as root; when this runs as root (CI does) its processes are spawned
 * with the `postgres` user's uid/gid — the same as `runuser -u postgres`, but without a wrapper
 * process that would intercept our shutdown signals.
 */
import { execFileSync, type SpawnOptions } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GroupProcess, freePort, run, waitFor, type RunOptions, type RunResult } from "./processes";

/** Settings that make the server write its log to `<data>/log/postgresql.log` ({@link LocalPostgres.logFile}). */
export const LOG_TO_FILE: Readonly<Record<string, string>> = { logging_collector: "on", log_directory: "log", log_filename: "postgresql.log" };

/** Where Debian installs PostgreSQL's server binaries, one directory per major version. */
export const PG_ROOT = "/usr/lib/postgresql";

/** Debian's server binaries of the newest installed PostgreSQL (15 on Debian 12, 17 on 13), or undefined. */
export function findPostgresBin(): string | undefined {
    const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => /^\d+$/.test(v) && existsSync(join(PG_ROOT, v, "bin", "postgres"))).map(Number) : [];
    return versions.length === 0 ? undefined : join(PG_ROOT, String(Math.max(...versions)), "bin");
}

/** {@link findPostgresBin}, or an error naming the package to install. */
export function postgresBin(): string {
    const bin = findPostgresBin();
    if (!bin) throw new Error(`no PostgreSQL server under ${PG_ROOT}: install the postgresql package (bash maint/install-deps.sh)`);
    return bin;
}

interface Identity {
    readonly uid: number;
    readonly gid: number;
}

/** uid/gid to run PostgreSQL as: `postgres` when we are root, else ourselves. */
function postgresIdentity(): Identity | undefined {
    if (process.getuid?.() !== 0) return undefined;
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
    return { uid: id("-u"), gid: id("-g") };
}

/** Options for {@link LocalPostgres.create}. */
export interface PostgresOptions {
    /** Serve TLS with a throw-away self-signed certificate (for `sslmode=require`). @default false */
    readonly ssl?: boolean;
    /** Directory to create the cluster's temp dir in (traversable by the `postgres` user when running as root). @default the OS temp dir */
    readonly parent?: string;
    /** Extra server settings (`-c name=value`), e.g. `{ max_connections: "25" }`. */
    readonly settings?: Readonly<Record<string, string>>;
}

/**
 * A throw-away PostgreSQL cluster in a temp dir, listening on 127.0.0.1 only. Local (unix
 * socket) connections are trusted so the test can administer it; TCP connections need a
 * scram-sha-256 password, like Cloud SQL.
 */
export class LocalPostgres {
    /** Always loopback. */
    readonly host = "127.0.0.1";
    private server: GroupProcess | undefined;

    private constructor(
        /** Temp dir holding data, socket and certificate; removed by {@link destroy}. */
        readonly root: string,
        /** TCP port on 127.0.0.1. */
        readonly port: number,
        private readonly identity: Identity | undefined,
        private readonly ssl: boolean,
        private readonly settings: Readonly<Record<string, string>>,
    ) {}

    /** Creates the cluster with initdb and starts it. */
    static async create(options: PostgresOptions = {}): Promise<LocalPostgres> {
        const identity = postgresIdentity();
        const root = mkdtempSync(join(options.parent ?? tmpdir(), "pg-"));
        const pg = new LocalPostgres(root, await freePort(), identity, options.ssl ?? false, options.settings ?? {});
        try {
            mkdirSync(pg.socketDir);
            if (identity) chownTree([root, pg.socketDir], identity);
            await pg.runAsOwner(join(postgresBin(), "initdb"), [
                "-D", pg.dataDir, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
                "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
            ]);
            if (pg.ssl) await pg.makeCertificate();
            await pg.start();
            return pg;
        } catch (error) {
            await pg.destroy();
            throw error;
        }
    }

    /** Data directory (`PGDATA`). */
    get dataDir(): string {
        return join(this.root, "data");
    }

    /** Directory of the unix socket, for admin connections. */
    get socketDir(): string {
        return join(this.root, "socket");
    }

    /** True while the server process runs. */
    get running(): boolean {
        return this.server?.running ?? false;
    }

    /** Starts the server (again) and waits until it accepts connections. */
    async start(): Promise<void> {
        if (this.running) return;
        const args = [
            "-D", this.dataDir, "-p", String(this.port), "-c", `listen_addresses=${this.host}`,
            "-c", `unix_socket_directories=${this.socketDir}`,
            // A test cluster: durability is not the point, speed is.
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ];
        if (this.ssl) args.push("-c", "ssl=on", "-c", "ssl_cert_file=server.crt", "-c", "ssl_key_file=server.key");
        for (const [name, value] of Object.entries(this.settings)) args.push("-c", `${name}=${value}`);
        const server = new GroupProcess("postgres", join(postgresBin(), "postgres"), args, this.spawnOptions());
        this.server = server;
        await waitFor(
            `PostgreSQL on ${this.host}:${this.port}`,
            async () => {
                const ready = await run(join(postgresBin(), "pg_isready"), ["-q", "-h", this.host, "-p", String(this.port)], { check: false });
                return ready.code === 0;
            },
            { process: server },
        );
    }

    /**
     * Freezes the server and all its backends (SIGSTOP to the process group): TCP connects still
     * complete into the listen backlog, nothing answers — a hung instance. {@link resume} thaws it.
     */
    pause(): void {
        this.server?.signalGroup("SIGSTOP");
    }

    /** Thaws a {@link pause}d server (SIGCONT). */
    resume(): void {
        this.server?.signalGroup("SIGCONT");
    }

    /** The server's log file when started with `logging_collector=on` (see {@link LOG_TO_FILE}); "" otherwise. */
    logFile(): string {
        const file = join(this.dataDir, "log", "postgresql.log");
        return existsSync(file) ? readFileSync(file, "utf8") : "";
    }

    /** Fast shutdown (SIGINT): disconnects clients, like a database outage would. */
    async stop(): Promise<void> {
        await this.server?.stop("SIGINT");
    }

    /** Stops the server and removes its temp dir. */
    async destroy(): Promise<void> {
        await this.stop();
        rmSync(this.root, { recursive: true, force: true });
    }

    /**
     * Runs a PostgreSQL client tool (psql, pg_dump, createdb, …) as the cluster owner over the unix
     * socket. `args` must not contain connection options; they are added here.
     */
    client(tool: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
        return this.runAsOwner(join(postgresBin(), tool), ["-h", this.socketDir, "-p", String(this.port), ...args], options);
    }

    /** Runs SQL through `psql -X -v ON_ERROR_STOP=1` as superuser and returns unaligned output. */
    async sql(sql: string, database = "postgres"): Promise<string> {
        const result = await this.client("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database], { input: sql });
        return result.stdout.trim();
    }

    /** Creates a login role with a password and a database it owns. */
    async createDatabase(database: string, user: string, password: string): Promise<void> {
        await this.sql(`CREATE ROLE ${quoteIdent(user)} LOGIN PASSWORD ${quoteLiteral(password)};`);
        await this.sql(`CREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(user)};`);
    }

    /**
     * Runs `sql` every `seconds` as superuser (psql's `\watch`) and hands each result row (fields
     * split on `|`) to `onRow`, until the returned process is stopped. Stalls while the server is
     * paused, as any client would.
     */
    monitor(sql: string, seconds: number, onRow: (fields: string[]) => void, database = "postgres"): GroupProcess {
        let partial = "";
        return new GroupProcess(
            "postgres monitor",
            "/bin/sh",
            ["-c", `printf '%s\n' "$1" | exec "$0" -X -q -A -t -h "$2" -p "$3" -d "$4"`, join(postgresBin(), "psql"), `${sql.replace(/;\s*$/, "")} \\watch ${seconds}`, this.socketDir, String(this.port), database],
            {
                ...this.spawnOptions(),
                onOutput: (text) => {
                    const lines = (partial + text).split("\n");
                    partial = lines.pop() ?? "";
                    for (const line of lines) if (line.trim()) onRow(line.trim().split("|"));
                },
            },
        );
    }

    private runAsOwner(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
        return run(command, args, { ...this.spawnOptions(), ...options });
    }

    private spawnOptions(): Omit<SpawnOptions, "stdio" | "detached"> {
        return {
            cwd: this.root,
            env: { PATH: "/usr/bin:/bin", HOME: this.root, LANG: "C.UTF-8" },
            ...(this.identity ? { uid: this.identity.uid, gid: this.identity.gid } : {}),
        };
    }

    private async makeCertificate(): Promise<void> {
        const crt = join(this.dataDir, "server.crt");
        const key = join(this.dataDir, "server.key");
        await run("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", key, "-out", crt,
        ]);
        chmodSync(key, 0o600);
        if (this.identity) chownTree([crt, key], this.identity);
    }
}

function chownTree(paths: readonly string[], identity: Identity): void {
    for (const path of paths) chownSync(path, identity.uid, identity.gid);
}

/** Quotes a PostgreSQL identifier. */
export function quoteIdent(name: string): string {
    return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a PostgreSQL string literal. */
export function quoteLiteral(value: string): string {
    return `'${value.replaceAll("'", "''")}'`;
}

