/**
 * The stacks of the reliability lab (maint/reliability.ts): a shipped stack rendered as synth
 * renders it (with config overrides where a check needs them, e.g. the largest maxReplicas the
 * config accepts), run with `npm run local`'s machinery (cli/lib/local/): its own PostgreSQL with
 * the Cloud SQL tier's `max_connections`, its Redis servers with their rendered arguments, the GCS
 * emulator, the migrate and collectstatic Jobs run to completion — and then no pods: each check
 * starts the pods it needs from the rendered pod templates ({@link LabStack.webPods}), puts them
 * behind the load balancer model (reliabilityBalancer.ts) and observes them (reliabilityObserve.ts).
 *
 * Also the few helpers the keep-alive test (tests/reliability.test.ts) runs gunicorn with.
 */
import { ConfigError, validateConfig } from "../../config";
import { maxConnectionsForTier, RESERVED_CONNECTIONS } from "../../components/connectionBudget";
import { WEB_PORT } from "../../components/podTemplates";
import { APP_DIR, REPO_DIR } from "../../cli/lib/appPython";
import { applyOverrides, OPEN_DEMO, type Overrides } from "./configOverrides";
import { httpGet } from "../../cli/lib/local/http";
import type { LocalPod, PodPlan } from "../../cli/lib/local/pod";
import { LOG_TO_FILE } from "../../cli/lib/local/postgres";
import { randomPassword } from "../../cli/lib/local/processes";
import { renderStack } from "../../cli/lib/local/render";
import { LocalRun } from "../../cli/lib/local/run";
import { LocalServices } from "../../cli/lib/local/services";
import type { K8sDoc } from "../../cli/lib/renderedWorkloads";
import { backendServiceOf, LoadBalancer, type BackendService, type RequestSpec } from "./reliabilityBalancer";
import { sleep } from "./reliabilityLoad";
import { PodObserver } from "./reliabilityObserve";
import type { RollingUpdate } from "./reliabilityRollout";
import { loadStackConfig } from "../../cli/lib/stackConfig";

// --- for tests/reliability.test.ts (gunicorn's keep-alive, run for real) -----------------------------

/** Stands in for status.podIP: probes and load balancer health checks use it as Host. */
export const POD_IP = "10.8.0.15";
/** The Host header of kubelet probes: the pod IP and the container port. */
export const PROBE_HOST = `${POD_IP}:${WEB_PORT}`;

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

/** Minimal platform-mode environment for probe paths only (sqlite, no cache). */
export function probeOnlyEnv(dir: string): Record<string, string> {
    return { DJANGO_APP_SECRET_KEY: randomPassword(48), DJANGO_APP_DB_NAME: `${dir}/db.sqlite3`, POD_IP };
}

// --- the lab's stacks -----------------------------------------------------------------------------------

/** The lab could not run a check (not a verdict on the platform): exit code 3. */
export class LabError extends Error {}

/** Connections the lab itself holds in PostgreSQL (its pg_stat_activity monitor). */
export const LAB_CONNECTIONS = 1;

/** The largest `workload.maxReplicas` the stack's config validation accepts, all else as configured. */
export function largestAcceptedMaxReplicas(stack: string, overrides: Overrides = {}): number {
    const raw = applyOverrides(loadStackConfig({ stack, projectDir: REPO_DIR }).config, overrides);
    const accepts = (maxReplicas: number) => {
        try {
            validateConfig(applyOverrides(raw, { "django-platform:workload": { maxReplicas } }), stack);
            return true;
        } catch (error) {
            if (error instanceof ConfigError || (error as Error)?.name === "ConfigError") return false;
            throw error;
        }
    };
    let largest = 0;
    for (let r = 1; r <= 500; r += 1) {
        if (accepts(r)) largest = r;
        else if (largest > 0) break;
    }
    if (largest === 0) throw new LabError(`${stack}: no workload.maxReplicas from 1 to 500 is accepted`);
    return largest;
}

/** The web Deployment's settings the checks use, from the rendered objects. */
export interface WebDeployment {
    readonly name: string;
    readonly strategy: RollingUpdate;
    readonly minReadySeconds: number;
    readonly terminationGracePeriodSeconds: number;
    readonly minReplicas: number;
    readonly maxReplicas: number;
    /** The pods are Spot Pods (`cloud.google.com/gke-spot` node selector). */
    readonly spot: boolean;
}

type DeploymentSpec = {
    replicas?: number;
    minReadySeconds?: number;
    strategy?: { rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
    template?: { spec?: { terminationGracePeriodSeconds?: number; nodeSelector?: Record<string, string> } };
};

/** A Deployment's rollout settings and its HPA's bounds (Kubernetes defaults where unset: 25 %/25 %, 0 s, 30 s). */
export function deploymentOf(docs: readonly K8sDoc[], name: string): WebDeployment {
    const doc = docs.find((d) => d.kind === "Deployment" && d.metadata.name === name);
    if (!doc) throw new LabError(`no Deployment ${name} in the rendered objects`);
    const spec = doc.spec as unknown as DeploymentSpec;
    const hpa = docs.find((d) => d.kind === "HorizontalPodAutoscaler" && (d.spec as unknown as { scaleTargetRef?: { name?: string } }).scaleTargetRef?.name === name);
    const hpaSpec = hpa?.spec as unknown as { minReplicas?: number; maxReplicas?: number } | undefined;
    const replicas = spec.replicas ?? 1;
    return {
        name,
        strategy: { maxSurge: spec.strategy?.rollingUpdate?.maxSurge ?? "25%", maxUnavailable: spec.strategy?.rollingUpdate?.maxUnavailable ?? "25%" },
        minReadySeconds: spec.minReadySeconds ?? 0,
        terminationGracePeriodSeconds: spec.template?.spec?.terminationGracePeriodSeconds ?? 30,
        minReplicas: hpaSpec?.minReplicas ?? replicas,
        maxReplicas: hpaSpec?.maxReplicas ?? replicas,
        spot: spec.template?.spec?.nodeSelector?.["cloud.google.com/gke-spot"] === "true",
    };
}

/** Options of {@link LabStack.start}. */
export interface LabStackOptions {
    readonly stack: "staging" | "production";
    readonly overrides?: Overrides;
    readonly fakeGcsServer: string;
    readonly python: string;
    readonly onProgress?: (line: string) => void;
    readonly onOutput?: (source: string, text: string) => void;
}

let renderQueue: Promise<unknown> = Promise.resolve();

/** A rendered stack running on this machine, without pods (see the module comment). */
export class LabStack {
    private constructor(
        readonly name: string,
        readonly docs: readonly K8sDoc[],
        readonly services: LocalServices,
        readonly run: LocalRun,
        readonly tier: string,
        readonly maxConnections: number,
        readonly backend: BackendService,
    ) {}

    /** Renders the stack, starts its services and runs its Jobs. */
    static async start(options: LabStackOptions): Promise<LabStack> {
        const loaded = loadStackConfig({ stack: options.stack, projectDir: REPO_DIR });
        // The lab uploads and queues tasks through the site as anonymous visitors: both switches on, explicitly.
        const config = applyOverrides(applyOverrides(loaded.config, OPEN_DEMO), options.overrides ?? {});
        const cfg = validateConfig(config, options.stack);
        const tier = cfg.database.tier;
        const maxConnections = maxConnectionsForTier(tier);
        if (maxConnections === undefined) throw new LabError(`${options.stack}: no max_connections known for the tier ${tier}`);
        // One render at a time: the program runs under Pulumi's mocks, whose runtime state is global.
        const render = renderQueue.catch(() => undefined).then(() => renderStack({ stack: options.stack, config }));
        renderQueue = render;
        const rendered = await render;
        const backend = backendServiceOf(rendered.docs);
        const services = await LocalServices.start({
            fakeGcsServer: options.fakeGcsServer,
            avoid: ["/tmp"],
            // Cloud SQL's default max_connections of the tier, plus one for the lab's own monitor
            // (a superuser connection, which takes a slot like any other): the app gets exactly the
            // tier's max_connections − superuser_reserved_connections.
            postgresSettings: { max_connections: String(maxConnections + LAB_CONNECTIONS), superuser_reserved_connections: String(RESERVED_CONNECTIONS), ...LOG_TO_FILE },
        });
        try {
            const run = await LocalRun.start({
                services,
                docs: rendered.docs,
                iam: rendered.iam,
                appDir: APP_DIR,
                python: options.python,
                restart: true,
                startDeployments: false,
                onProgress: options.onProgress,
                onOutput: options.onOutput,
            });
            if (run.failures.length > 0) {
                await run.kill();
                throw new LabError(`${options.stack}: ${run.failures.map((f) => `${f.workload}: ${f.reason}\n  ${f.lastLines.join("\n  ")}`).join("\n")}`);
            }
            return new LabStack(options.stack, rendered.docs, services, run, tier, maxConnections, backend);
        } catch (error) {
            await services.close();
            throw error;
        }
    }

    /** The plan of the Deployment whose pods have `component` (web, worker). */
    plan(component: string): PodPlan {
        const plan = this.run.plan.deployments.find((d) => d.workload.component === component);
        if (!plan) throw new LabError(`${this.name}: no ${component} Deployment`);
        return plan;
    }

    /** The web Deployment's settings. */
    get web(): WebDeployment {
        return deploymentOf(this.docs, this.plan("web").workload.name);
    }

    /** The site's host name (the first of the app's ALLOWED_HOSTS, as the Ingress serves it). */
    get host(): string {
        return (this.plan("web").env.DJANGO_APP_ALLOWED_HOSTS ?? "").split(/\s+/)[0] ?? "";
    }

    /**
     * The stack's database and the roles the app's pods log in as: the schema owner with a
     * password, or each identity's IAM database user (their local stand-ins).
     */
    get database(): { name: string; users: readonly string[] } {
        const db = this.run.database;
        if (!db) throw new LabError(`${this.name}: no PostgreSQL database`);
        return { name: db.name, users: db.authentication === "iam" ? [...db.logins.keys()] : [db.owner] };
    }

    /** SQL as superuser in the stack's database. */
    sql(query: string): Promise<string> {
        return this.services.postgres.sql(query, this.database.name);
    }

    /** The Redis servers of the run (masters first). */
    get redisServers() {
        return this.run.cache?.servers ?? [];
    }

    /**
     * Starts `count` web pods behind `lb` (observed by `observer`) and waits until the load balancer
     * sends them traffic; throws {@link LabError} when they do not get there in `timeoutMs`.
     */
    async webPods(count: number, lb: LoadBalancer, observer: PodObserver, timeoutMs = 90_000): Promise<LocalPod[]> {
        const pods: LocalPod[] = [];
        for (let i = 0; i < count; i += 1) {
            const pod = await this.run.newPod(this.plan("web"), { restart: true });
            pods.push(pod);
            lb.add(pod);
            observer.add(pod);
            pod.start();
        }
        const end = performance.now() + timeoutMs;
        while (performance.now() < end) {
            if (pods.every((p) => lb.serving().includes(p))) return pods;
            await sleep(200);
        }
        const why = pods.map((p) => `${p.plan.workloadLabel}: ready ${p.ready}, ${p.failure ?? "no failure"}; ${p.lastLines(5).join(" | ")}`).join("\n");
        throw new LabError(`${this.name}: ${count} web pods did not get traffic within ${timeoutMs / 1000} s:\n${why}`);
    }

    /** A CSRF cookie and token from the site (for form posts as a browser sends them). */
    async csrf(pod: LocalPod): Promise<{ headers: Record<string, string> }> {
        const port = pod.plan.port?.local ?? 0;
        const answer = await httpGet(port, "/uploads/", { host: this.host, "x-forwarded-proto": "https" });
        const cookie = [answer.headers["set-cookie"] ?? []].flat().map((c) => /^csrftoken=([^;]+)/.exec(c)?.[1]).find(Boolean);
        if (!cookie) throw new LabError(`${this.name}: GET /uploads/ set no csrftoken cookie (HTTP ${answer.status})`);
        return { headers: { Cookie: `csrftoken=${cookie}`, "X-CSRFToken": cookie, Origin: `https://${this.host}`, Referer: `https://${this.host}/uploads/` } };
    }

    /** Stops every pod and service of the stack. */
    async close(): Promise<void> {
        await this.run.kill().catch(() => undefined);
        await this.services.close();
    }
}

/** A form post of a file of `bytes` bytes to /uploads/, its body spread over `seconds` (a slow upload). */
export function uploadRequest(csrf: { headers: Record<string, string> }, bytes: number, seconds: number): RequestSpec {
    const boundary = `----lab${randomPassword(8)}`;
    const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="lab.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
        Buffer.alloc(bytes, 97),
        Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return {
        method: "POST",
        path: "/uploads/",
        headers: { ...csrf.headers, "Content-Type": `multipart/form-data; boundary=${boundary}` },
        body,
        bodyChunks: Math.max(1, Math.round(seconds * 2)),
        bodyDurationMs: seconds * 1000,
    };
}

/** A form post to /tasks/ (one task of `seconds` of work). */
export function taskRequest(csrf: { headers: Record<string, string> }, text: string, seconds: number): RequestSpec {
    return {
        method: "POST",
        path: "/tasks/",
        headers: { ...csrf.headers, "Content-Type": "application/x-www-form-urlencoded" },
        body: Buffer.from(new URLSearchParams({ text, seconds: String(seconds) }).toString()),
    };
}

/** A page that uses the database and the cache. */
export const PAGE: RequestSpec = { method: "GET", path: "/" };
