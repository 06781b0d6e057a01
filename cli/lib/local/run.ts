/**
 * One local run of a rendered stack, in the order `pulumi up` brings it up: the stack's own backing
 * services (its database in the shared PostgreSQL, its Redis, its buckets, the metadata stand-in of
 * each ServiceAccount), then every Job to completion (migrate, collectstatic: side by side, as the
 * cluster runs them; a failed Job stops the run before any Deployment, as it fails `pulumi up`),
 * then every Deployment's pod until it is ready (its probes as rendered), then the site on
 * localhost; {@link LocalRun.runCronJobs} runs each CronJob's job template once; {@link LocalRun.stop}
 * terminates every pod as the kubelet does.
 *
 * One pod per Deployment (the HPA's minReplicas may be more), one run at a time per
 * {@link LocalServices} (they share the database server). {@link LocalRun.newPod} makes more pods
 * of a workload (a Deployment's replicas, a CronJob's runs), each on its own port, stopped with the
 * run; with `startDeployments: false` the run stops after the Jobs and leaves the Deployments'
 * pods to the caller (the reliability lab runs replicas and rollouts itself).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DjangoContainer, K8sDoc } from "../renderedWorkloads";
import { djangoContainers, resolveEnv } from "../renderedWorkloads";
import { startCache, type CacheTopology } from "./cache";
import { SiteFront } from "./front";
import { proxiesIamLogin } from "./iamLogin";
import { projectOfAccount, type MetadataEndpoint } from "./identity";
import { LocalPod, type LocalPodOptions, type PodPlan, type TerminationRecord } from "./pod";
import { planStack, replicaPlan, type StackPlan } from "./plan";
import { quoteIdent, quoteLiteral } from "./postgres";
import { randomPassword } from "./processes";
import { prepareApp } from "./sandbox";
import { ServiceError, type LocalServices } from "./services";
import type { StackIam } from "./stackIam";

/** Options of {@link LocalRun.start}. */
export interface LocalRunOptions {
    readonly docs: readonly K8sDoc[];
    /** The stack's IAM (undefined when only manifests are known). */
    readonly iam?: StackIam;
    readonly services: LocalServices;
    /** The Django project the image holds (its directory is the image's /app). */
    readonly appDir: string;
    /** The venv's interpreter (compiles the copy's bytecode as the image build does). */
    readonly python: string;
    /** Port of the site on 127.0.0.1 (0: any free one); undefined: no site. */
    readonly sitePort?: number;
    /** Restart dead containers of Deployments (restartPolicy Always) instead of only reporting them. @default false */
    readonly restart?: boolean;
    /** Skip preStop hooks when stopping (lighter test runs). @default false */
    readonly fastStop?: boolean;
    /** Start one pod per Deployment after the Jobs and wait until it is ready. @default true */
    readonly startDeployments?: boolean;
    /** Progress lines. */
    readonly onProgress?: (line: string) => void;
    /** Output of every process, by source. */
    readonly onOutput?: (source: string, text: string) => void;
}

/** A workload that failed, for the --check report. */
export interface Failure {
    readonly workload: string;
    readonly container: string;
    readonly command: string;
    readonly reason: string;
    readonly lastLines: readonly string[];
}

/** A line of the status table. */
export interface WorkloadRow {
    readonly workload: string;
    readonly container: string;
    readonly state: string;
    readonly detail: string;
}

const run_ = { n: 0 };

/** A running stack. */
export class LocalRun {
    readonly failures: Failure[] = [];
    readonly cronRun: LocalPod[] = [];
    /** Pods made by {@link newPod}. */
    readonly extraPods: LocalPod[] = [];
    front: SiteFront | undefined;
    private podCount = 0;
    private stopped = false;

    private constructor(
        readonly options: LocalRunOptions,
        readonly plan: StackPlan,
        readonly cache: CacheTopology | undefined,
        readonly metadata: readonly MetadataEndpoint[],
        readonly database: LocalDatabase | undefined,
        readonly buckets: ReadonlyMap<string, boolean>,
        readonly jobs: LocalPod[],
        readonly deployments: LocalPod[],
        readonly appCopy: string,
    ) {}

    /**
     * Starts the stack's services, runs the Jobs, starts the Deployments and waits for them, and
     * serves the site. Failures of workloads are collected in {@link failures}; failures of the
     * services throw (after stopping what started).
     */
    static async start(options: LocalRunOptions): Promise<LocalRun> {
        const { services, docs } = options;
        const progress = options.onProgress ?? (() => undefined);
        services.iam = options.iam;
        const root = join(services.root, `run-${++run_.n}`);
        mkdirSync(root, { recursive: true, mode: 0o755 });
        const containers = djangoContainers(docs, { manageJob: false });
        // The rendered environment of one app container tells what the stack's services are.
        const probe = containers.find((c) => c.workload.component === "web") ?? containers[0];
        if (!probe) throw new Error("no container runs the app image");
        const rendered = resolveEnv(probe, { secret: () => "", field: () => "" });
        const cachePassword = randomPassword();
        const dbPassword = randomPassword();

        progress("starting the stack's database, Redis, buckets and metadata servers");
        const started = await Promise.allSettled([
            resetDatabase(services, containers, dbPassword),
            rendered.DJANGO_APP_CACHE_LOCATION
                ? startCache({
                      docs,
                      locations: rendered.DJANGO_APP_CACHE_LOCATION,
                      password: probe.env.get("DJANGO_APP_CACHE_PASSWORD") ? cachePassword : "",
                      dir: join(root, "redis"),
                      tlsCa: () => services.memorystoreServerCa(),
                      onOutput: options.onOutput,
                  }).catch((error: Error) => {
                      throw new ServiceError("Redis", "Is Debian's redis-server package installed (bash maint/install-deps.sh)? Its output is above with --logs.", error.message);
                  })
                : Promise.resolve(undefined),
            ensureBuckets(services, containers.map((c) => resolveEnv(c, { secret: () => "", field: () => "" })), options.iam),
            startMetadata(services, docs, containers.map((c) => ({ namespace: c.workload.namespace ?? "default", name: c.pod.serviceAccountName ?? "default" })), options.iam, rendered.DJANGO_APP_GCP_PROJECT),
            services.appCopy(options.appDir, (dest) => prepareApp(options.appDir, dest, options.python, services.isolation)),
        ] as const);
        const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
        if (failed) {
            // Stop what did start (a Redis left running would outlive the run).
            if (started[1].status === "fulfilled") await started[1].value?.stop();
            throw failed.reason;
        }
        const [database, cache, buckets, metadata, appCopy] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
            Awaited<ReturnType<typeof resetDatabase>>,
            Awaited<ReturnType<typeof startCache>> | undefined,
            Map<string, boolean>,
            MetadataEndpoint[],
            string,
        ];
        const hostOf = new Map(metadata.map((m) => [`${m.ksa.namespace}/${m.ksa.name}`, m.host]));
        let plan: StackPlan;
        try {
            plan = await planStack({
                docs,
                appDir: appCopy,
                root,
                local: {
                    database: { host: services.postgres.host, port: services.postgres.port, password: dbPassword, loginPassword: (user) => database?.logins.get(user) },
                    cacheLocations: cache?.locations ?? "",
                    cachePassword,
                    cacheCaPem: cache?.caPem,
                    metadataHost: (ns, ksa) => hostOf.get(`${ns}/${ksa}`) ?? "127.0.0.1:9",
                    storageEmulatorHost: services.gcs.url,
                    httpsProxy: services.egress.url,
                    caBundle: services.googleCa.certFile,
                    tmpdirFallback: services.isolation.kind === "none",
                },
            });
        } catch (error) {
            await cache?.stop();
            throw error;
        }
        const pod = (p: PodPlan) =>
            new LocalPod(p, services.isolation, {
                restart: options.restart,
                onOutput: options.onOutput ? (text) => options.onOutput?.(`${p.workloadLabel}`, text) : undefined,
                onEvent: (message) => progress(`${p.workloadLabel}: ${message}`),
            });
        const jobs = plan.jobs.map(pod);
        const deployments = plan.deployments.map(pod);
        const run = new LocalRun(options, plan, cache, metadata, database, buckets, jobs, deployments, appCopy);

        progress(`running the Jobs: ${jobs.map((j) => j.plan.workloadLabel).join(", ")}`);
        for (const job of jobs) job.start();
        await Promise.all(jobs.map((j) => j.finished()));
        for (const job of jobs) if (job.failure !== undefined) run.failed(job, job.failure);
        if (run.failures.length > 0) {
            progress("a Job failed: the Deployments are not started (pulumi up stops there too)");
            return run;
        }

        if (options.startDeployments === false) return run;
        progress(`starting the Deployments: ${deployments.map((d) => d.plan.workloadLabel).join(", ")}`);
        for (const d of deployments) d.start();
        await Promise.all(
            deployments.map(async (d) => {
                const ready = await d.waitReady(readyWithinMs(d.plan));
                if (!ready) run.failed(d, d.failure ?? `not ready within ${(readyWithinMs(d.plan) / 1000).toFixed(0)} s (its startup and readiness probes' failureThreshold × periodSeconds)`);
            }),
        );
        if (options.sitePort !== undefined) {
            try {
                run.front = await SiteFront.start({
                    port: options.sitePort,
                    host: siteHost(docs, rendered),
                    backends: () => run.siteBackends(),
                    statics: staticsHere(rendered, services.gcs.url),
                });
            } catch (error) {
                await run.stop();
                throw error;
            }
        }
        return run;
    }

    /**
     * A new pod of a planned workload (a Deployment's next replica on its own port, or a CronJob's
     * next run), not started; it restarts dead containers as the kubelet does when `restart` is on,
     * and is stopped with the run.
     */
    async newPod(plan: PodPlan, options: Omit<LocalPodOptions, "onOutput"> = {}): Promise<LocalPod> {
        const replica = await replicaPlan(plan, ++this.podCount);
        const pod = new LocalPod(replica, this.options.services.isolation, {
            ...options,
            onOutput: this.options.onOutput ? (text) => this.options.onOutput?.(replica.workloadLabel, text) : undefined,
        });
        this.extraPods.push(pod);
        return pod;
    }

    /** Runs each CronJob's job template once, one after the other, to completion. */
    async runCronJobs(): Promise<void> {
        for (const plan of this.plan.cronJobs) {
            if (this.stopped) return;
            this.options.onProgress?.(`running CronJob ${plan.workload.name} once`);
            const pod = new LocalPod(plan, this.options.services.isolation, {
                onOutput: this.options.onOutput ? (text) => this.options.onOutput?.(plan.workloadLabel, text) : undefined,
            });
            this.cronRun.push(pod);
            pod.start();
            await pod.finished();
            if (pod.failure !== undefined) this.failed(pod, pod.failure);
        }
    }

    /**
     * Waits until every ready pod's liveness probe has passed once — or, while it fails, until
     * the kubelet would have killed the container (initialDelaySeconds + failureThreshold ×
     * periodSeconds + timeoutSeconds): a pod whose liveness probe fails is not a pod that works.
     */
    async livenessSeen(): Promise<void> {
        await Promise.all(
            this.deployments.map(async (d) => {
                const liveness = () => d.probeRecords.find((r) => r.kind === "liveness");
                const probe = d.plan.probes.liveness;
                if (!probe || !d.ready) return;
                const end = performance.now() + ((probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3) + (probe.timeoutSeconds ?? 1) + 2) * 1000;
                const passed = () => {
                    const r = liveness();
                    return r !== undefined && r.ok > 0 && r.consecutiveFailures === 0;
                };
                while (!passed() && d.failure === undefined && performance.now() < end) await new Promise((r) => setTimeout(r, 100));
            }),
        );
        for (const d of this.deployments) {
            if (d.failure !== undefined && !this.failures.some((f) => f.workload === d.plan.workloadLabel)) this.failed(d, d.failure);
        }
    }

    /** The pods behind the site's Ingress. */
    siteBackends(): LocalPod[] {
        const services = ingressServices(this.options.docs);
        return this.deployments.filter((d) => services.some((s) => selects(s, this.options.docs, d.plan.workload.name)));
    }

    /** The termination sequence for every pod (side by side), then the stack's Redis. */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        await Promise.all([...this.deployments, ...this.jobs, ...this.cronRun, ...this.extraPods].map((p) => p.terminate(this.options.fastStop)));
        await this.front?.close();
        await this.cache?.stop();
    }

    /** Kills every process of the run at once (a second Ctrl-C). */
    async kill(): Promise<void> {
        this.stopped = true;
        await Promise.all([...this.deployments, ...this.jobs, ...this.cronRun, ...this.extraPods].map((p) => p.kill()));
        await this.front?.close();
        await this.cache?.stop();
    }

    /** How each pod ended when {@link stop} terminated it. */
    terminations(): Array<{ workload: string; record: TerminationRecord }> {
        return this.deployments.flatMap((d) => (d.termination ? [{ workload: d.plan.workloadLabel, record: d.termination }] : []));
    }

    private failed(pod: LocalPod, reason: string): void {
        this.failures.push({ workload: pod.plan.workloadLabel, container: pod.plan.containerName, command: pod.plan.renderedArgv.join(" "), reason, lastLines: pod.lastLines(15) });
    }
}

/** How long a pod may take to become ready: its startup window plus its readiness window. */
export function readyWithinMs(plan: PodPlan): number {
    const window = (p: PodPlan["probes"]["startup"]) => (p ? ((p.initialDelaySeconds ?? 0) + (p.periodSeconds ?? 10) * (p.failureThreshold ?? 3) + (p.timeoutSeconds ?? 1)) * 1000 : 0);
    return window(plan.probes.startup) + window(plan.probes.readiness) + 5_000;
}

/** The owner of the local database when no container names the schema owner (no migrate Job among the objects). */
export const LOCAL_SCHEMA_OWNER = "local-schema-owner";

/** The stack's database here: its name, the schema owner, and the local stand-ins of its IAM database users. */
export interface LocalDatabase {
    readonly name: string;
    /** The schema owner (`database.user`): owns the database, as the API-created user does in Cloud SQL. */
    readonly owner: string;
    /** `password` (every pod logs in as the owner) or `iam` (each identity as its own IAM database user). */
    readonly authentication: "iam" | "password";
    /** Local passwords of the IAM database users' stand-ins, by user. */
    readonly logins: ReadonlyMap<string, string>;
}

/**
 * The stack's database and roles, as Cloud SQL has them: the schema owner, which owns the database;
 * with a password (DJANGO_APP_DB_PASSWORD rendered) it is every pod's login, with the local password.
 * With IAM database authentication (the Auth Proxy's `--auto-iam-authn`), the owner cannot log in
 * (no pod has its password), and each identity whose pod runs the proxy gets a login role of its
 * own name with a local password (libpq sends it from PGPASSWORD, as the proxy sends the pod's
 * token), with no privileges but what the migrate Job grants; the one acting as the owner
 * (DJANGO_APP_DB_ROLE) is made its member, as Cloud SQL's `databaseRoles` makes it.
 */
async function resetDatabase(services: LocalServices, containers: readonly DjangoContainer[], password: string): Promise<LocalDatabase | undefined> {
    const envs = containers.map((c) => ({ c, env: resolveEnv(c, { secret: () => "", field: () => "" }) }));
    const first = envs[0]?.env;
    if (first?.DJANGO_APP_DB_ENGINE !== "postgresql") return undefined;
    const name = first.DJANGO_APP_DB_NAME ?? "";
    const iam = envs.some(({ c }) => proxiesIamLogin(c));
    // With IAM logins only the migrate Job names the owner (the role it acts as); objects without it
    // get a local owner of their own. With a password every pod logs in as the owner.
    const named = envs.find(({ env }) => env.DJANGO_APP_DB_ROLE)?.env.DJANGO_APP_DB_ROLE;
    const owner = named ?? (iam ? LOCAL_SCHEMA_OWNER : (envs.find(({ env }) => env.DJANGO_APP_DB_USER)?.env.DJANGO_APP_DB_USER ?? ""));
    const logins = new Map<string, string>();
    const members = new Set<string>();
    if (iam) {
        for (const { c, env } of envs) {
            const user = env.DJANGO_APP_DB_USER;
            if (!user || !proxiesIamLogin(c)) continue;
            if (!logins.has(user)) logins.set(user, randomPassword());
            if (env.DJANGO_APP_DB_ROLE === owner) members.add(user);
        }
    }
    const pg = services.postgres;
    await pg.sql(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE);`);
    for (const role of [...logins.keys(), owner]) await pg.sql(`DROP ROLE IF EXISTS ${quoteIdent(role)};`);
    if (iam) {
        await pg.sql(`CREATE ROLE ${quoteIdent(owner)} NOLOGIN;`);
        await pg.sql(`CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(owner)};`);
        for (const [user, pw] of logins) await pg.sql(`CREATE ROLE ${quoteIdent(user)} LOGIN PASSWORD ${quoteLiteral(pw)};`);
        for (const user of members) await pg.sql(`GRANT ${quoteIdent(owner)} TO ${quoteIdent(user)};`);
    } else {
        await pg.createDatabase(name, owner, password);
    }
    return { name, owner, authentication: iam ? "iam" : "password", logins };
}

async function ensureBuckets(services: LocalServices, envs: ReadonlyArray<Record<string, string>>, iam: StackIam | undefined): Promise<Map<string, boolean>> {
    const buckets = new Map<string, boolean>();
    for (const env of envs) {
        if (env.DJANGO_APP_STATIC_BUCKET) buckets.set(env.DJANGO_APP_STATIC_BUCKET, iam ? iam.publicBuckets.has(env.DJANGO_APP_STATIC_BUCKET) : true);
        if (env.DJANGO_APP_MEDIA_BUCKET) buckets.set(env.DJANGO_APP_MEDIA_BUCKET, iam ? iam.publicBuckets.has(env.DJANGO_APP_MEDIA_BUCKET) : false);
    }
    for (const [name, publicRead] of buckets) await services.gcs.ensureBucket(name, publicRead);
    return buckets;
}

async function startMetadata(
    services: LocalServices,
    docs: readonly K8sDoc[],
    accounts: ReadonlyArray<{ namespace: string; name: string }>,
    iam: StackIam | undefined,
    gcpProject: string | undefined,
): Promise<MetadataEndpoint[]> {
    const unique = [...new Map(accounts.map((a) => [`${a.namespace}/${a.name}`, a])).values()];
    return Promise.all(
        unique.map((a) => {
            const doc = docs.find((d) => d.kind === "ServiceAccount" && d.metadata.name === a.name && (d.metadata.namespace ?? "default") === a.namespace) as
                | (K8sDoc & { metadata: { annotations?: Record<string, string> } })
                | undefined;
            const gsa = doc?.metadata.annotations?.["iam.gke.io/gcp-service-account"];
            const project = gcpProject || (gsa ? projectOfAccount(gsa) : "local-project");
            return services.identities.metadataServer({ namespace: a.namespace, name: a.name, gsa }, iam, project);
        }),
    );
}

/** The site's host name: the ManagedCertificate's first domain, else the first ALLOWED_HOSTS entry. */
function siteHost(docs: readonly K8sDoc[], env: Record<string, string>): string {
    const cert = docs.find((d) => d.kind === "ManagedCertificate") as unknown as { spec?: { domains?: string[] } } | undefined;
    return cert?.spec?.domains?.[0] ?? (env.DJANGO_APP_ALLOWED_HOSTS ?? "localhost").split(/\s+/)[0] ?? "localhost";
}

/** Where the rendered static URL's files are in the emulator. */
function staticsHere(env: Record<string, string>, gcsUrl: string): { rendered: string; local: string } | undefined {
    const rendered = env.DJANGO_APP_STATIC_URL;
    const bucket = env.DJANGO_APP_STATIC_BUCKET;
    if (!rendered || !bucket || !/^https:\/\//.test(rendered)) return undefined;
    const url = new URL(rendered);
    const local = url.host === "storage.googleapis.com" ? `${gcsUrl}${url.pathname}` : `${gcsUrl}/${bucket}${url.pathname}`;
    return { rendered, local };
}

/** The Services an Ingress sends traffic to. */
function ingressServices(docs: readonly K8sDoc[]): string[] {
    type Backend = { service?: { name?: string } };
    const names: string[] = [];
    for (const ingress of docs.filter((d) => d.kind === "Ingress")) {
        const spec = ingress.spec as unknown as { defaultBackend?: Backend; rules?: Array<{ http?: { paths?: Array<{ backend?: Backend }> } }> };
        if (spec.defaultBackend?.service?.name) names.push(spec.defaultBackend.service.name);
        for (const rule of spec.rules ?? []) for (const path of rule.http?.paths ?? []) if (path.backend?.service?.name) names.push(path.backend.service.name);
    }
    return names;
}

/** Whether Service `service` selects the pods of Deployment `deployment`. */
function selects(service: string, docs: readonly K8sDoc[], deployment: string): boolean {
    const svc = docs.find((d) => d.kind === "Service" && d.metadata.name === service);
    const dep = docs.find((d) => d.kind === "Deployment" && d.metadata.name === deployment);
    const selector = (svc?.spec?.selector ?? {}) as Record<string, string>;
    const labels = dep?.spec?.template?.metadata?.labels ?? {};
    return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}
