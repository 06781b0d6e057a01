/**
 * The reliability runs of tools/reliability.ts: the reference app (`app/`) under the gunicorn
 * command of {@link gunicornCommand}, with the environment the staging stack renders, against
 * real PostgreSQL and Redis on loopback. Every process is started through tools/lib/local/processes.ts
 * (own process group, killed on stop and on exit); every run is bounded in time and requests.
 *
 * - {@link keepAliveRun}: idle keep-alive connections reused after 4.5–7 s, rendered `--keep-alive`
 *   against the old 5 s.
 * - {@link budgetRun}: `max_connections` of the staging tier, as many gunicorn instances as a rollout
 *   at the largest maxReplicas config.ts accepts runs (surge and draining pods included), every
 *   thread busy, plus the Jobs' connections.
 * - {@link hungRedisRun}: Redis stopped with SIGSTOP under load, probes at the kubelet's cadence.
 */
import { isDeepStrictEqual } from "node:util";
import { readFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { requiredConnections, podsHoldingConnections, maxConnectionsForTier, RESERVED_CONNECTIONS } from "../../components/connectionBudget";
import {
    LIVENESS_PATH,
    LIVENESS_PROBE_TIMING,
    READINESS_PATH,
    READINESS_PROBE_TIMING,
    WEB_PORT,
    gunicornCommand,
    type ProbeTiming,
} from "../../components/podTemplates";
import { ConfigError, validateConfig, type PlatformConfig } from "../../config";
import { APP_DIR, REPO_DIR, imageBaseEnv, venvPython } from "./appPython";
import { startAppServer } from "./local/http";
import { LocalPostgres } from "./local/postgres";
import { GroupProcess, freePort, randomPassword, run, tempDir, waitFor } from "./local/processes";
import { LocalRedis } from "./local/redis";
import { argv, byComponent, container, containerEnv, renderObjects, type EnvSource } from "./renderedWorkloads";
import { loadStackConfig } from "./stackConfig";
import { KeepAliveConnection, ReuseError, closedLoopLoad, mergeLoad, probeOnce, sleep, type LoadResult, type Outcome } from "./reliabilityHttp";

/** Stands in for status.podIP: probes and load balancer health checks use it as Host. */
export const POD_IP = "10.8.0.15";
/** The Host header of kubelet probes: the pod IP and the container port. */
export const PROBE_HOST = `${POD_IP}:${WEB_PORT}`;
/** The liveness probe the platform rendered before (for contrast). */
export const OLD_LIVENESS_TIMING: ProbeTiming = { periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 };
/** The `--keep-alive` the platform rendered before (for contrast). */
export const OLD_KEEPALIVE_SECONDS = 5;

type Config = Omit<PlatformConfig, "appSecretOutputs">;

/** Staging's validated config and rendered web container. */
export interface StagingInputs {
    readonly raw: Record<string, string>;
    readonly cfg: Config;
    /** `gunicornCommand(workers, threads)` of staging; equal to the rendered container command. */
    readonly command: readonly string[];
    readonly webEnv: ReadonlyMap<string, EnvSource>;
}

/** Reads Pulumi.staging.yaml, validates it, and renders the staging manifests (offline synth). */
export async function stagingInputs(): Promise<StagingInputs> {
    const stack = loadStackConfig({ stack: "staging", projectDir: REPO_DIR });
    const raw = stack.config;
    const cfg = validateConfig(raw, "staging");
    const command = gunicornCommand(cfg.workload.gunicornWorkers, cfg.workload.gunicornThreads);
    const docs = await renderObjects({ project: stack.project, stack: stack.stack, config: stack.config, secretKeys: stack.secretKeys });
    const web = container(byComponent(docs, "Deployment", "web"), "web");
    if (!isDeepStrictEqual(argv(web), command)) {
        throw new Error(`the rendered web command ${JSON.stringify(argv(web))} is not gunicornCommand(): ${JSON.stringify(command)}`);
    }
    return { raw, cfg, command, webEnv: containerEnv(docs, web) };
}

/**
 * A gunicorn command to run here (the venv's gunicorn, first on {@link imageBaseEnv}'s PATH as in the
 * image), bound to 127.0.0.1:`port`, with `flags` replaced (e.g. `{ "--keep-alive": "5" }`).
 * The rendered command binds a second address, the probe port (components/podTemplates.ts
 * `PROBE_PORT`): it moves to 127.0.0.1:`probePort`, or is dropped when none is given (the probe
 * paths then answer on `port`, behind the page requests). Everything else as given.
 */
export function localGunicorn(command: readonly string[], port: number, flags: Record<string, string> = {}, probePort?: number): string[] {
    const local = [...command];
    for (const [flag, value] of Object.entries({ ...flags, "--bind": `127.0.0.1:${port}` })) {
        const at = local.indexOf(flag);
        if (at === -1) throw new Error(`${flag} is not in ${JSON.stringify(command)}`);
        local[at + 1] = value;
    }
    const second = local.indexOf("--bind", local.indexOf("--bind") + 2);
    if (second !== -1) {
        if (probePort === undefined) local.splice(second, 2);
        else local[second + 1] = `127.0.0.1:${probePort}`;
    }
    return local;
}

/** The value of `flag` in an argument vector. */
export function flagValue(args: readonly string[], flag: string): string {
    const value = args[args.indexOf(flag) + 1];
    if (!args.includes(flag) || value === undefined) throw new Error(`${flag} not found in ${JSON.stringify(args)}`);
    return value;
}

/**
 * The largest workload.maxReplicas config.ts accepts for staging's database tier, workers and
 * threads (asked of validateConfig itself, one value after the other).
 */
export function largestAcceptedMaxReplicas(raw: Record<string, string>): number {
    const workload = JSON.parse(raw["django-platform:workload"] ?? "{}") as Record<string, unknown>;
    const budgetRefuses = (maxReplicas: number) => {
        const minReplicas = Math.min(Number(workload.minReplicas ?? 1), maxReplicas);
        try {
            validateConfig({ ...raw, "django-platform:workload": JSON.stringify({ ...workload, minReplicas, maxReplicas }) }, "staging");
            return false;
        } catch (error) {
            if (!(error instanceof ConfigError)) throw error;
            return error.problems.some((p) => p.startsWith("connection budget exceeded"));
        }
    };
    let largest = 0;
    while (largest < 1000 && !budgetRefuses(largest + 1)) largest += 1;
    return largest;
}

/** Minimal platform-mode environment for probe paths only (sqlite, no cache): for the keep-alive run. */
export function probeOnlyEnv(dir: string): Record<string, string> {
    return { DJANGO_APP_SECRET_KEY: randomPassword(48), DJANGO_APP_DB_NAME: join(dir, "db.sqlite3"), POD_IP };
}

/**
 * The rendered web environment with loopback hosts and fresh secrets: `local` replaces variables,
 * secret placeholders get random values, the pod IP is {@link POD_IP}; DJANGO_APP_STATIC_BUCKET is
 * dropped: the runs here need no bucket (`npm run local` runs the full environment against a GCS
 * emulator).
 */
export function renderedAppEnv(webEnv: ReadonlyMap<string, EnvSource>, local: Record<string, string>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, source] of webEnv) {
        if (source.kind === "fieldRef") {
            if (source.from !== "status.podIP") throw new Error(`${name}: only status.podIP is emulated`);
            env[name] = POD_IP;
        } else {
            env[name] = local[name] ?? (source.value.startsWith("[secret") ? randomPassword() : source.value);
        }
    }
    delete env.DJANGO_APP_STATIC_BUCKET;
    return env;
}

// --- (a) keep-alive -----------------------------------------------------------------------------

/** Result of one `--keep-alive` variant. */
export interface KeepAliveVariant {
    readonly label: string;
    readonly keepAliveSeconds: number;
    /** Requests sent on connections after they were idle. */
    readonly reuses: number;
    readonly ok: number;
    /** Failed reuses by kind (ECONNRESET, EPIPE, closed-by-server, …). */
    readonly failures: Record<string, number>;
    readonly minIdleMs: number;
    readonly maxIdleMs: number;
}

/** Options of {@link keepAliveRun}. */
export interface KeepAliveOptions {
    readonly connections: number;
    readonly rounds: number;
    readonly minIdleMs: number;
    readonly maxIdleMs: number;
}

/**
 * Starts the app twice — the given command and the same with `--keep-alive 5` — opens
 * `connections` keep-alive connections to each, and `rounds` times lets each go idle for a random
 * time in [minIdleMs, maxIdleMs] and reuses it, like the load balancer reusing backend connections.
 */
export async function keepAliveRun(command: readonly string[], options: KeepAliveOptions): Promise<KeepAliveVariant[]> {
    const dir = tempDir("reliability-keepalive-");
    const variants: Array<[string, Record<string, string>]> = [
        [`--keep-alive ${flagValue(command, "--keep-alive")} (rendered)`, {}],
        [`--keep-alive ${OLD_KEEPALIVE_SECONDS} (before)`, { "--keep-alive": String(OLD_KEEPALIVE_SECONDS) }],
    ];
    const servers: GroupProcess[] = [];
    try {
        const started = await Promise.all(
            variants.map(async ([label, flags]) => {
                const port = await freePort();
                const argv = localGunicorn(command, port, flags);
                const server = await startAppServer(`gunicorn ${label}`, argv, { env: probeOnlyEnv(dir), port, host: PROBE_HOST, readyPath: LIVENESS_PATH });
                servers.push(server);
                return { label, port, keepAliveSeconds: Number(flagValue(argv, "--keep-alive")) };
            }),
        );
        return await Promise.all(started.map((variant) => reuseAfterIdle(variant, options)));
    } finally {
        await Promise.all(servers.map((s) => s.stop()));
        rmSync(dir, { recursive: true, force: true });
    }
}

async function reuseAfterIdle(variant: { label: string; port: number; keepAliveSeconds: number }, options: KeepAliveOptions): Promise<KeepAliveVariant> {
    const failures: Record<string, number> = {};
    let reuses = 0;
    let ok = 0;
    let minIdleMs = Infinity;
    let maxIdleMs = 0;
    const headers = { Host: PROBE_HOST };
    const one = async () => {
        let conn = await KeepAliveConnection.open(variant.port);
        try {
            const first = await conn.get(LIVENESS_PATH, headers);
            if (first.status !== 200) throw new Error(`${variant.label}: first request answered ${first.status}`);
            for (let round = 0; round < options.rounds; round += 1) {
                const idle = options.minIdleMs + Math.random() * (options.maxIdleMs - options.minIdleMs);
                minIdleMs = Math.min(minIdleMs, idle);
                maxIdleMs = Math.max(maxIdleMs, idle);
                await sleep(idle);
                reuses += 1;
                try {
                    const response = await conn.get(LIVENESS_PATH, headers);
                    if (response.status === 200) ok += 1;
                    else failures[`HTTP ${response.status}`] = (failures[`HTTP ${response.status}`] ?? 0) + 1;
                } catch (error) {
                    const kind = error instanceof ReuseError ? error.kind : "other";
                    failures[kind] = (failures[kind] ?? 0) + 1;
                    // A load balancer opens a new connection after a failure; so does this client.
                    conn.close();
                    conn = await KeepAliveConnection.open(variant.port);
                    const again = await conn.get(LIVENESS_PATH, headers);
                    if (again.status !== 200) throw new Error(`${variant.label}: request on a new connection answered ${again.status}`);
                }
            }
        } finally {
            conn.close();
        }
    };
    await Promise.all(Array.from({ length: options.connections }, one));
    return { label: variant.label, keepAliveSeconds: variant.keepAliveSeconds, reuses, ok, failures, minIdleMs, maxIdleMs };
}

// --- shared backends for (b) and (c) --------------------------------------------------------------

/** PostgreSQL (staging tier's max_connections, logging to a file) and Redis with the rendered env. */
export class Backends {
    private constructor(
        readonly pg: LocalPostgres,
        readonly redis: LocalRedis,
        private readonly redisDir: string,
        /** The app's environment: rendered, with loopback hosts. */
        readonly appEnv: Record<string, string>,
        readonly maxConnections: number,
        readonly dbName: string,
        readonly dbUser: string,
        readonly dbPassword: string,
    ) {}

    /** Starts both, creates the database, runs the migrate Job's command. */
    static async start(inputs: StagingInputs): Promise<Backends> {
        const maxConnections = inputs.cfg.database.maxConnections ?? maxConnectionsForTier(inputs.cfg.database.tier);
        if (maxConnections === undefined) throw new Error(`no max_connections known for ${inputs.cfg.database.tier}`);
        const redisPassword = randomPassword();
        const redisPort = await freePort();
        const redisDir = tempDir("reliability-redis-");
        const redis = new LocalRedis("redis", ["--port", String(redisPort), "--bind", "127.0.0.1", "--requirepass", redisPassword, "--save", "", "--appendonly", "no", "--dir", redisDir], redisPort, redisPassword);
        let pg: LocalPostgres | undefined;
        try {
            [pg] = await Promise.all([LocalPostgres.create(), redis.start()]);
            // Cloud SQL's max_connections for the tier, and a log file to count refusals in.
            await pg.sql(
                `ALTER SYSTEM SET max_connections = ${maxConnections}; ALTER SYSTEM SET superuser_reserved_connections = ${RESERVED_CONNECTIONS};` +
                    ` ALTER SYSTEM SET logging_collector = on; ALTER SYSTEM SET log_directory = 'log'; ALTER SYSTEM SET log_filename = 'postgresql.log';`,
            );
            await pg.stop();
            await pg.start();
            const actual = Number(await pg.sql("SHOW max_connections"));
            if (actual !== maxConnections) throw new Error(`PostgreSQL runs with max_connections ${actual}, expected ${maxConnections}`);
            const rendered = (name: string) => inputs.webEnv.get(name)?.value ?? "";
            const dbName = rendered("DJANGO_APP_DB_NAME");
            const dbUser = rendered("DJANGO_APP_DB_USER");
            const dbPassword = randomPassword();
            await pg.createDatabase(dbName, dbUser, dbPassword);
            const cacheLocations = rendered("DJANGO_APP_CACHE_LOCATION")
                .split(/\s+/)
                .filter(Boolean)
                .map((location) => {
                    const url = new URL(location);
                    url.hostname = "127.0.0.1";
                    url.port = String(redisPort);
                    return url.toString();
                });
            const appEnv = renderedAppEnv(inputs.webEnv, {
                DJANGO_APP_DB_HOST: pg.host,
                DJANGO_APP_DB_PORT: String(pg.port),
                DJANGO_APP_DB_PASSWORD: dbPassword,
                DJANGO_APP_CACHE_LOCATION: cacheLocations.join(" "),
                DJANGO_APP_CACHE_PASSWORD: redisPassword,
                DJANGO_APP_SECRET_KEY: randomPassword(48),
            });
            await run(venvPython(), ["manage.py", "migrate", "--no-input"], { cwd: APP_DIR, env: { ...imageBaseEnv(), ...appEnv } });
            return new Backends(pg, redis, redisDir, appEnv, maxConnections, dbName, dbUser, dbPassword);
        } catch (error) {
            await redis.stop();
            await pg?.destroy();
            rmSync(redisDir, { recursive: true, force: true });
            throw error;
        }
    }

    /** PostgreSQL's log so far. */
    log(): string {
        const file = join(this.pg.dataDir, "log", "postgresql.log");
        return existsSync(file) ? readFileSync(file, "utf8") : "";
    }

    /** Stops both and removes their files. */
    async stop(): Promise<void> {
        await this.redis.stop();
        await this.pg.destroy();
        rmSync(this.redisDir, { recursive: true, force: true });
    }
}

/** Starts `count` gunicorn instances of `command` with `env`; stops them all if one fails. */
async function startInstances(command: readonly string[], env: Record<string, string>, count: number): Promise<Array<{ port: number; server: GroupProcess }>> {
    const started: Array<{ port: number; server: GroupProcess }> = [];
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    const results = await Promise.allSettled(
        ports.map(async (port, i) => {
            const server = await startAppServer(`gunicorn #${i + 1}`, localGunicorn(command, port), { env, port, host: PROBE_HOST, readyPath: LIVENESS_PATH });
            started.push({ port, server });
        }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
        await Promise.all(started.map(({ server }) => server.stop()));
        throw failed.reason;
    }
    return started;
}

// --- (b) connection budget -------------------------------------------------------------------------

/** Result of {@link budgetRun}. */
export interface BudgetResult {
    readonly tier: string;
    readonly maxConnections: number;
    readonly usable: number;
    /** Largest maxReplicas config.ts accepts for the tier. */
    readonly maxReplicas: number;
    readonly pods: ReturnType<typeof podsHoldingConnections>;
    readonly workers: number;
    readonly threads: number;
    /** Connections the budget counts (pods × workers × threads + Jobs). */
    readonly budgeted: number;
    /** Most connections of the app's user at once, and of all clients (incl. the superuser sampler). */
    readonly peakApp: number;
    readonly peakAll: number;
    readonly load: LoadResult;
    /** Milliseconds between instances joining the load. */
    readonly rampMs: number;
    /** Milliseconds of full load after the last instance joined. */
    readonly holdMs: number;
    readonly http5xx: number;
    readonly pgTooManyClients: number;
    readonly pgReservedSlots: number;
    /** Other FATAL/ERROR lines of PostgreSQL's log, by message. */
    readonly pgOtherErrors: Record<string, number>;
    /** Exceptions the app logged (from the instances' output), by message. */
    readonly appErrors: Record<string, number>;
    readonly seconds: number;
}

/** Options of {@link budgetRun}. */
export interface BudgetOptions {
    /**
     * Instances join the load this far apart. With 0 every thread of every instance logs in to
     * PostgreSQL (SCRAM) in the same instant; on a 2-core host that storm can exceed the app's
     * 3 s connect_timeout, which measures the host's CPU, not the connection budget.
     */
    readonly rampMs: number;
    /** Full load after the last instance joined. */
    readonly holdMs: number;
    readonly maxRequestsPerInstance: number;
}

/**
 * Runs as many instances as pods hold connections during a rollout at the largest maxReplicas
 * config.ts accepts, loads every thread of each (2 × workers × threads concurrent requests per
 * instance), and holds the Jobs' connections with the app's user meanwhile.
 */
export async function budgetRun(inputs: StagingInputs, backends: Backends, options: BudgetOptions): Promise<BudgetResult> {
    const began = performance.now();
    const { gunicornWorkers: workers, gunicornThreads: threads } = inputs.cfg.workload;
    const maxReplicas = largestAcceptedMaxReplicas(inputs.raw);
    const budget = requiredConnections({ maxReplicas, gunicornWorkers: workers, gunicornThreads: threads });
    const pods = budget.pods;
    const logBefore = backends.log().length;

    // The migrate and collectstatic Jobs: their connections, held by the app's user for the whole run.
    const jobs = new GroupProcess("jobs' connections", venvPython(), [
        "-c",
        "import os, sys, time, psycopg\n" +
            `conns = [psycopg.connect(host=${JSON.stringify(backends.pg.host)}, port=${backends.pg.port}, dbname=os.environ['DB'], user=os.environ['USER_'], password=os.environ['PASSWORD'], sslmode='disable') for _ in range(${budget.jobs})]\n` +
            "print('held', flush=True)\ntime.sleep(300)\n",
    ], { env: { ...imageBaseEnv(), DB: backends.dbName, USER_: backends.dbUser, PASSWORD: backends.dbPassword } });
    let instances: Array<{ port: number; server: GroupProcess }> = [];
    let peakApp = 0;
    let peakAll = 0;
    let sampling = true;
    const sampler = (async () => {
        while (sampling) {
            const row = await backends.pg
                .sql(`SELECT count(*) FILTER (WHERE usename = '${backends.dbUser}'), count(*) FILTER (WHERE backend_type = 'client backend') FROM pg_stat_activity`)
                .catch(() => "");
            const [app, all] = row.split("|").map(Number);
            if (Number.isFinite(app) && Number.isFinite(all)) {
                peakApp = Math.max(peakApp, app as number);
                peakAll = Math.max(peakAll, all as number);
            }
            await sleep(250);
        }
    })();
    try {
        await waitFor("the Jobs' connections", async () => jobs.log.includes("held"), { process: jobs, timeoutMs: 10_000 });
        instances = await startInstances(inputs.command, backends.appEnv, pods.total);
        const host = (backends.appEnv.DJANGO_APP_ALLOWED_HOSTS ?? "").split(/\s+/)[0] ?? "";
        const stop = sleep(options.rampMs * (instances.length - 1) + options.holdMs);
        const loads = await Promise.all(
            instances.map(async ({ port }, i) => {
                await sleep(i * options.rampMs);
                return closedLoopLoad({ port, path: "/", headers: { Host: host, "X-Forwarded-Proto": "https" }, concurrency: 2 * workers * threads, until: stop, maxRequests: options.maxRequestsPerInstance });
            }),
        );
        await sleep(500); // one more sample with every connection still open
        const load = loads.reduce(mergeLoad);
        const log = backends.log().slice(logBefore);
        const count = (pattern: RegExp) => (log.match(pattern) ?? []).length;
        const tally = (lines: Iterable<string>) => {
            const out: Record<string, number> = {};
            for (const line of lines) out[line] = (out[line] ?? 0) + 1;
            return out;
        };
        const pgOtherErrors = tally(
            [...log.matchAll(/(?:FATAL|ERROR|PANIC):\s+(.*)/g)]
                .map((m) => (m[1] ?? "").trim())
                .filter((m) => !/too many clients|remaining connection slots are reserved|reserved for (roles|non-replication superuser)/.test(m)),
        );
        const appErrors = tally(instances.flatMap(({ server }) => [...server.log.matchAll(/^(?:[\w.]+\.)?\w*(?:Error|Exception): .*$/gm)].map((m) => m[0].slice(0, 160))));
        return {
            tier: inputs.cfg.database.tier,
            maxConnections: backends.maxConnections,
            usable: budget.usable(backends.maxConnections),
            maxReplicas,
            pods,
            workers,
            threads,
            budgeted: budget.total,
            peakApp,
            peakAll,
            load,
            rampMs: options.rampMs,
            holdMs: options.holdMs,
            http5xx: Object.entries(load.statuses).filter(([status]) => Number(status) >= 500).reduce((n, [, c]) => n + c, 0),
            pgTooManyClients: count(/too many clients/g),
            pgReservedSlots: count(/remaining connection slots are reserved|reserved for (roles|non-replication superuser)/g),
            pgOtherErrors,
            appErrors,
            seconds: (performance.now() - began) / 1000,
        };
    } finally {
        sampling = false;
        await sampler;
        await Promise.all(instances.map(({ server }) => server.stop()));
        await jobs.stop();
    }
}

// --- (c) hung Redis ---------------------------------------------------------------------------------

/** Probes of one kind during {@link hungRedisRun}. */
export interface ProbeSeries {
    readonly label: string;
    readonly timing: ProbeTiming;
    readonly outcomes: readonly (Outcome & { at: number })[];
    readonly failed: number;
    readonly maxConsecutiveFailures: number;
    /** True when the kubelet would have acted (restart for liveness, unready for readiness). */
    readonly tripped: boolean;
}

/** Result of {@link hungRedisRun}. */
export interface HungRedisResult {
    readonly hangSeconds: number;
    readonly concurrency: number;
    readonly liveness: ProbeSeries;
    readonly oldLiveness: ProbeSeries;
    readonly readiness: ProbeSeries;
    /** Slowest `/healthz/` answer while Redis was stopped (1 s sampler, no timeout below 20 s). */
    readonly maxHealthzMs: number;
    readonly load: LoadResult;
    readonly seconds: number;
}

/** Options of {@link hungRedisRun}. */
export interface HungRedisOptions {
    readonly warmMs: number;
    readonly hangMs: number;
    readonly recoverMs: number;
}

const isProbeSuccess = (o: Outcome) => o.status !== undefined && o.status >= 200 && o.status < 400;

/** Probes `path` at the kubelet's cadence until `until` resolves. */
async function kubeletProber(label: string, port: number, path: string, timing: ProbeTiming, t0: number, until: Promise<unknown>): Promise<ProbeSeries> {
    let stopped = false;
    void until.then(() => (stopped = true));
    const outcomes: Array<Outcome & { at: number }> = [];
    while (!stopped) {
        const start = performance.now();
        const outcome = await probeOnce(port, path, { Host: PROBE_HOST, "User-Agent": "kube-probe/reliability" }, timing.timeoutSeconds * 1000);
        outcomes.push({ ...outcome, at: (start - t0) / 1000 });
        await Promise.race([sleep(Math.max(0, timing.periodSeconds * 1000 - (performance.now() - start))), until]);
    }
    let run = 0;
    let maxRun = 0;
    for (const o of outcomes) {
        run = isProbeSuccess(o) ? 0 : run + 1;
        maxRun = Math.max(maxRun, run);
    }
    return { label, timing, outcomes, failed: outcomes.filter((o) => !isProbeSuccess(o)).length, maxConsecutiveFailures: maxRun, tripped: maxRun >= timing.failureThreshold };
}

/** The process id of a running redis-server, from INFO. */
async function redisPid(redis: LocalRedis): Promise<number> {
    const pid = Number(/process_id:(\d+)/.exec(await redis.cli(["INFO", "server"]))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error("redis INFO has no process_id");
    return pid;
}

/**
 * One instance under closed-loop load (2 × workers × threads concurrent pages); Redis is stopped
 * with SIGSTOP (a hung node: connections are accepted, nothing answers) for `hangMs`, then
 * resumed. Probers at the kubelet's cadence: liveness as rendered, liveness as before, readiness.
 */
export async function hungRedisRun(inputs: StagingInputs, backends: Backends, options: HungRedisOptions): Promise<HungRedisResult> {
    const began = performance.now();
    const { gunicornWorkers: workers, gunicornThreads: threads } = inputs.cfg.workload;
    const [instance] = await startInstances(inputs.command, backends.appEnv, 1);
    if (!instance) throw new Error("no instance started");
    const pid = await redisPid(backends.redis);
    let stoppedRedis = false;
    try {
        const host = (backends.appEnv.DJANGO_APP_ALLOWED_HOSTS ?? "").split(/\s+/)[0] ?? "";
        const total = options.warmMs + options.hangMs + options.recoverMs;
        const end = sleep(total);
        const t0 = performance.now();
        const concurrency = 2 * workers * threads;
        const loadRun = closedLoopLoad({ port: instance.port, path: "/", headers: { Host: host, "X-Forwarded-Proto": "https" }, concurrency, until: end, maxRequests: 100_000 });
        const probers = Promise.all([
            kubeletProber("liveness (rendered)", instance.port, LIVENESS_PATH, LIVENESS_PROBE_TIMING, t0, end),
            kubeletProber("liveness (before)", instance.port, LIVENESS_PATH, OLD_LIVENESS_TIMING, t0, end),
            kubeletProber("readiness (rendered)", instance.port, READINESS_PATH, READINESS_PROBE_TIMING, t0, end),
        ]);
        let maxHealthzMs = 0;
        const sampler = (async () => {
            let stop = false;
            void end.then(() => (stop = true));
            while (!stop) {
                const start = performance.now();
                const o = await probeOnce(instance.port, LIVENESS_PATH, { Host: PROBE_HOST }, 20_000);
                const at = start - t0;
                if (at >= options.warmMs && at < options.warmMs + options.hangMs) maxHealthzMs = Math.max(maxHealthzMs, o.ms);
                await sleep(Math.max(0, 1000 - (performance.now() - start)));
            }
        })();
        await sleep(options.warmMs);
        process.kill(pid, "SIGSTOP");
        stoppedRedis = true;
        await sleep(options.hangMs);
        process.kill(pid, "SIGCONT");
        stoppedRedis = false;
        const [load, [liveness, oldLiveness, readiness]] = await Promise.all([loadRun, probers, sampler]);
        return { hangSeconds: options.hangMs / 1000, concurrency, liveness, oldLiveness, readiness, maxHealthzMs, load, seconds: (performance.now() - began) / 1000 };
    } finally {
        if (stoppedRedis) process.kill(pid, "SIGCONT");
        await instance.server.stop();
    }
}
