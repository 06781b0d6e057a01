/**
 * Real PostgreSQL and Redis servers on loopback for tests.
 *
 * Every process is started in its own process group and remembered, so `stop()` (and, as a last
 * resort, the exit hook below) can kill the whole group even when a test fails half-way.
 * PostgreSQL refuses to run as root; when the tests run as root (CI does) its processes are
 * spawned with the `postgres` user's uid/gid — the same as `runuser -u postgres`, but without a
 * wrapper process that would intercept our shutdown signals.
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's server binaries of the newest installed PostgreSQL (15 on Debian 12, 17 on 13). */
export const PG_BIN = newestPostgresBin();

function newestPostgresBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).map(Number) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server under ${root}: install the postgresql package (tools/install-deps.sh)`);
  return join(root, String(Math.max(...versions)), "bin");
}
/** Debian's redis-server and redis-cli. */
export const REDIS_SERVER = "/usr/bin/redis-server";
export const REDIS_CLI = "/usr/bin/redis-cli";

const liveGroups = new Set<number>();

function killAllGroups(): void {
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
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAllGroups();
    process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  });
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

/** A long-running process in its own process group. */
export class GroupProcess {
  private readonly output: string[] = [];
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  /** Starts `command args` in a new process group; its output is kept for error messages. */
  constructor(
    readonly label: string,
    command: string,
    args: readonly string[],
    options: Omit<SpawnOptions, "stdio" | "detached"> = {},
  ) {
    const child: ChildProcess = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid === undefined) throw new Error(`${label}: could not start ${command}`);
    const pid = child.pid;
    liveGroups.add(pid);
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString("utf8"));
      if (this.output.length > 400) this.output.splice(0, this.output.length - 400);
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
      child.on("exit", (code) => {
        liveGroups.delete(pid);
        this.exitCode = code;
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

  /** The last lines the process printed (stdout and stderr). */
  get log(): string {
    return this.output.join("");
  }

  /**
   * Sends `signal` to the whole group, waits up to `graceMs` for the leader to exit, then kills
   * the group with SIGKILL.
   */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
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

/** Options for {@link startPostgres}. */
export interface PostgresOptions {
  /** Serve TLS with a throw-away self-signed certificate (for `sslmode=require`). @default false */
  readonly ssl?: boolean;
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
  ) {}

  /** Creates the cluster with initdb and starts it. */
  static async create(options: PostgresOptions = {}): Promise<LocalPostgres> {
    const identity = postgresIdentity();
    const root = mkdtempSync(join(tmpdir(), "pg-test-"));
    const pg = new LocalPostgres(root, await freePort(), identity, options.ssl ?? false);
    try {
      mkdirSync(pg.socketDir);
      if (identity) chownTree([root, pg.socketDir], identity);
      await pg.runAsOwner(join(PG_BIN, "initdb"), [
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
    const server = new GroupProcess("postgres", join(PG_BIN, "postgres"), args, this.spawnOptions());
    this.server = server;
    await waitFor(
      `PostgreSQL on ${this.host}:${this.port}`,
      async () => {
        const ready = await run(join(PG_BIN, "pg_isready"), ["-q", "-h", this.host, "-p", String(this.port)], { check: false });
        return ready.code === 0;
      },
      { process: server },
    );
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
    return this.runAsOwner(join(PG_BIN, tool), ["-h", this.socketDir, "-p", String(this.port), ...args], options);
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
   */
  constructor(
    readonly label: string,
    readonly args: readonly string[],
    readonly port: number,
    readonly password: string,
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
    const server = new GroupProcess(this.label, REDIS_SERVER, this.args, { env: { PATH: "/usr/bin:/bin" } });
    this.server = server;
    await waitFor(`${this.label} on 127.0.0.1:${this.port}`, async () => (await this.cli(["PING"])) === "PONG", {
      process: server,
    });
  }

  /** Stops the server (SIGTERM, then SIGKILL after a grace period). */
  async stop(): Promise<void> {
    await this.server?.stop("SIGTERM");
  }

  /** Runs one command through redis-cli (authenticated) and returns its raw output, trimmed. */
  async cli(command: readonly string[]): Promise<string> {
    const result = await run(REDIS_CLI, ["-h", "127.0.0.1", "-p", String(this.port), "--no-auth-warning", "--raw", ...command], {
      env: { PATH: "/usr/bin:/bin", REDISCLI_AUTH: this.password },
      timeoutMs: 5_000,
    });
    return result.stdout.trim();
  }
}

/** Creates a temp dir (mode 0700) with the given prefix. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
