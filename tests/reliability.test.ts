/**
 * Reliability properties of the web container (components/podTemplates.ts), fast enough for every
 * run; `npm run reliability` runs the fault lab under load.
 *
 * - Keep-alive, for real: the reference app under the rendered gunicorn command keeps idle
 *   keep-alive connections beyond the old 5 s; the same command with `--keep-alive 5` loses them.
 * - Probes: liveness waits out one readiness check (timeout ≥ 2 × its database deadline) and
 *   restarts only after its failure window, which is longer than readiness needs to take the pod
 *   out, the load balancer to stop sending and gunicorn to work off its queue.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import {
    APP_CACHE_CONNECT_TIMEOUT_SECONDS,
    APP_CACHE_SOCKET_TIMEOUT_SECONDS,
    CACHE_STALL_SECONDS,
    GRACEFUL_TIMEOUT_SECONDS,
    GUNICORN_KEEPALIVE_SECONDS,
    LIVENESS_MIN_FAILURE_WINDOW_SECONDS,
    LIVENESS_PATH,
    LIVENESS_PROBE_TIMING,
    LOAD_BALANCER_BACKEND_KEEPALIVE_SECONDS,
    PRE_STOP_SECONDS,
    READINESS_DATABASE_DEADLINE_SECONDS,
    READINESS_PROBE_TIMING,
    STARTUP_PROBE_TIMING,
    WEB_WORKER_CLASS,
    failureWindowSeconds,
    gunicornCommand,
    webContainer,
} from "../components/podTemplates";
import { KeepAliveConnection, ReuseError, sleep } from "../cli/lib/reliabilityHttp";
import { PROBE_HOST, flagValue, localGunicorn, probeOnlyEnv } from "../maint/lib/reliabilityRun";
import { loadStackConfig } from "../cli/lib/stackConfig";
import { APP_DIR, PYTHON, baseEnv, startAppServer } from "./lib/djangoApp";
import { freePort, run, tempDir, type GroupProcess } from "./lib/localServers";
import { REPO } from "./lib/rendered";

/** Staging's gunicorn command, as gunicornCommand() renders it for the stack's workers and threads. */
function stagingCommand(): string[] {
    const raw = loadStackConfig({ stack: "staging", projectDir: REPO }).config["django-platform:workload"];
    const workload = JSON.parse(raw ?? "{}") as { gunicornWorkers?: number; gunicornThreads?: number };
    return gunicornCommand(workload.gunicornWorkers ?? 2, workload.gunicornThreads ?? 4);
}

/** Longer than 5 s plus gthread's 1 s event-loop tick, after which `--keep-alive 5` has closed. */
const IDLE_MS = 6_500;

describe("keep-alive: idle connections are reused as the load balancer reuses them", () => {
    const dir = tempDir("reliability-test-");
    const servers: GroupProcess[] = [];
    const ports = { rendered: 0, old: 0 };

    before(async () => {
        const command = stagingCommand();
        await Promise.all(
            (["rendered", "old"] as const).map(async (variant) => {
                const port = await freePort();
                const argv = localGunicorn(command, port, variant === "old" ? { "--keep-alive": "5" } : {});
                servers.push(await startAppServer(`gunicorn (${variant})`, argv, { env: probeOnlyEnv(dir), port, host: PROBE_HOST, readyPath: LIVENESS_PATH }));
                ports[variant] = port;
            }),
        );
    });

    after(async () => {
        await Promise.all(servers.map((s) => s.stop()));
        rmSync(dir, { recursive: true, force: true });
    });

    /** Opens `count` connections, GETs once on each, idles IDLE_MS, GETs again: statuses or failure kinds. */
    async function idleAndReuse(port: number, count: number): Promise<string[]> {
        const connections = await Promise.all(Array.from({ length: count }, () => KeepAliveConnection.open(port)));
        try {
            for (const conn of connections) assert.equal((await conn.get(LIVENESS_PATH, { Host: PROBE_HOST })).status, 200);
            await sleep(IDLE_MS);
            return await Promise.all(
                connections.map((conn) =>
                    conn.get(LIVENESS_PATH, { Host: PROBE_HOST }).then(
                        (r) => String(r.status),
                        (e: unknown) => (e instanceof ReuseError ? e.kind : String(e)),
                    ),
                ),
            );
        } finally {
            for (const conn of connections) conn.close();
        }
    }

    it(`the rendered command (--keep-alive ${GUNICORN_KEEPALIVE_SECONDS}) answers on connections idle for ${IDLE_MS / 1000} s; --keep-alive 5 has closed them`, async () => {
        const [rendered, old] = await Promise.all([idleAndReuse(ports.rendered, 4), idleAndReuse(ports.old, 2)]);
        assert.deepEqual(rendered, ["200", "200", "200", "200"], "rendered --keep-alive: every reused connection answers");
        assert.ok(old.every((o) => o !== "200"), `--keep-alive 5 must have closed the idle connections (got ${old.join(", ")}): otherwise this test proves nothing`);
    });

    it("gunicorn keeps idle connections longer than the load balancer's fixed 600 s", () => {
        assert.equal(LOAD_BALANCER_BACKEND_KEEPALIVE_SECONDS, 600);
        assert.ok(GUNICORN_KEEPALIVE_SECONDS > LOAD_BALANCER_BACKEND_KEEPALIVE_SECONDS);
        assert.equal(flagValue(stagingCommand(), "--keep-alive"), String(GUNICORN_KEEPALIVE_SECONDS));
        assert.equal(flagValue(stagingCommand(), "--worker-class"), WEB_WORKER_CLASS, "idle keep-alive connections hold no thread with gthread and its subclass app/web_worker.py");
    });
});

describe("probes: a hung Redis slows pages down but does not restart pods", () => {
    const web = webContainer("repo/app:1.0", { configMapName: "env", secretName: "env" }, { cpu: "250m", memory: "512Mi", workers: 2, threads: 4 });

    it("the rendered probes use the timing constants, in whole seconds", () => {
        const timing = (p: typeof web.livenessProbe) => {
            const probe = p as { periodSeconds: number; timeoutSeconds: number; failureThreshold: number };
            return { periodSeconds: probe.periodSeconds, timeoutSeconds: probe.timeoutSeconds, failureThreshold: probe.failureThreshold };
        };
        assert.deepEqual(timing(web.startupProbe), STARTUP_PROBE_TIMING);
        assert.deepEqual(timing(web.livenessProbe), LIVENESS_PROBE_TIMING);
        assert.deepEqual(timing(web.readinessProbe), READINESS_PROBE_TIMING);
        for (const t of [STARTUP_PROBE_TIMING, LIVENESS_PROBE_TIMING, READINESS_PROBE_TIMING]) {
            for (const value of Object.values(t)) assert.ok(Number.isInteger(value) && value >= 1, `${JSON.stringify(t)}: Kubernetes wants whole seconds ≥ 1`);
            assert.ok(t.timeoutSeconds <= t.periodSeconds, `${JSON.stringify(t)}: a probe ends before the next one starts`);
        }
    });

    it("a page waits at most 3 s for a hung Redis while its circuit is closed; liveness waits for one readiness check, twice over", () => {
        assert.equal(CACHE_STALL_SECONDS, 3);
        assert.ok(LIVENESS_PROBE_TIMING.timeoutSeconds >= 2 * READINESS_DATABASE_DEADLINE_SECONDS);
    });

    it("liveness restarts only after a minute of failures, after readiness, the load balancer and the drain", () => {
        assert.equal(failureWindowSeconds(READINESS_PROBE_TIMING), 8);
        assert.equal(LIVENESS_MIN_FAILURE_WINDOW_SECONDS, failureWindowSeconds(READINESS_PROBE_TIMING) + PRE_STOP_SECONDS + GRACEFUL_TIMEOUT_SECONDS);
        assert.equal(failureWindowSeconds(LIVENESS_PROBE_TIMING), 64);
        assert.ok(failureWindowSeconds(LIVENESS_PROBE_TIMING) >= LIVENESS_MIN_FAILURE_WINDOW_SECONDS);
        assert.ok(failureWindowSeconds(LIVENESS_PROBE_TIMING) >= 60);
    });

    it("the cache timeouts are the app's (app/resilience.py through app/config/settings.py, django-redis OPTIONS)", async () => {
        const result = await run(PYTHON, ["-c", "import json, config.settings as s; print(json.dumps(s.CACHES['default']['OPTIONS']))"], {
            cwd: APP_DIR,
            env: {
                ...baseEnv(),
                DJANGO_APP_SECRET_KEY: "x".repeat(50),
                DJANGO_APP_CACHE_BACKEND: "django_redis.cache.RedisCache",
                DJANGO_APP_CACHE_LOCATION: "redis://127.0.0.1:6379/0 redis://127.0.0.1:6380/0",
            },
        });
        const options = JSON.parse(result.stdout) as { SOCKET_CONNECT_TIMEOUT: number; SOCKET_TIMEOUT: number };
        assert.equal(options.SOCKET_CONNECT_TIMEOUT, APP_CACHE_CONNECT_TIMEOUT_SECONDS);
        assert.equal(options.SOCKET_TIMEOUT, APP_CACHE_SOCKET_TIMEOUT_SECONDS);
    });
});
