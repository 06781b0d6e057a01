/**
 * From rendered Kubernetes objects to what runs here: one {@link PodPlan} per Job, Deployment and
 * CronJob (its job template) whose pod runs the app image, with the container's environment as the
 * kubelet builds it (cli/lib/renderedWorkloads.ts) and only what exists in the cluster alone
 * replaced by its local stand-in:
 *
 * - values from Secrets: the local database and cache passwords, a fresh SECRET_KEY, random values
 *   for the user's own secrets (`appSecrets`);
 * - the Auth Proxy's IAM database login (`--auto-iam-authn`: it sends the pod's OAuth token as the
 *   password of the pod's own database user): PGPASSWORD, the local password of that user's
 *   stand-in role, which libpq sends when the app passes none;
 * - where the database and the cache are (DJANGO_APP_DB_HOST/PORT, DJANGO_APP_CACHE_LOCATION and
 *   its CA): the Cloud SQL Auth Proxy sidecar (a native sidecar: an init container with
 *   `restartPolicy: Always`) does not run — the app connects directly to the local PostgreSQL,
 *   which is what the rendered 127.0.0.1:5432 stood for;
 * - the downward API: `status.podIP` is 127.0.0.1 (every pod shares loopback here);
 * - the pod's environment that is no container setting: the image's own ENV (PATH with the venv
 *   first, …), HOME as the image's user has it, and where Google's services are (the metadata
 *   stand-in of the pod's ServiceAccount, the GCS emulator, the HTTPS egress stand-in and its CA).
 *
 * The container's command and arguments are kept, except the listen address of its port: every pod
 * has its own IP and port space in the cluster, here they share loopback, so `0.0.0.0:<port>`
 * becomes `127.0.0.1:<free port>`, and the probes follow.
 */
import { join } from "node:path";
import { imageBaseEnv } from "../appPython";
import { argv, djangoContainers, resolveEnv, type Container, type DjangoContainer, type EnvSource, type K8sDoc } from "../renderedWorkloads";
import { proxiesIamLogin } from "./iamLogin";
import type { PodPlan } from "./pod";
import { freePort, randomPassword } from "./processes";
import { emptyDirStandIn, type EmptyDirMount } from "./sandbox";

/** The app image's HOME: app/Dockerfile's user has `--home-dir /nonexistent`. */
export const IMAGE_HOME = "/nonexistent";
/** The image's WORKDIR (a container without `workingDir` starts there). */
export const IMAGE_WORKDIR = "/app";

/** A rendered container this runner cannot run here (named, with why). */
export class PlanError extends Error {}

/** Where the stand-ins listen, and the local values of what only the cluster has. */
export interface LocalValues {
    /**
     * The local database: where it listens, the schema owner's password (password authentication),
     * and the local password of an IAM database user's stand-in (the login the Auth Proxy makes with
     * the pod's token, `--auto-iam-authn`), if the user has one.
     */
    readonly database: { readonly host: string; readonly port: number; readonly password: string; readonly loginPassword?: (user: string) => string | undefined };
    /** DJANGO_APP_CACHE_LOCATION mapped onto the local Redis servers. */
    readonly cacheLocations: string;
    readonly cachePassword: string;
    /** The local stand-in for DJANGO_APP_CACHE_CA_CERT (a TLS cache only). */
    readonly cacheCaPem?: string;
    /** GCE_METADATA_HOST of each Kubernetes ServiceAccount (`namespace/name`). */
    readonly metadataHost: (namespace: string, serviceAccount: string) => string;
    readonly storageEmulatorHost: string;
    readonly httpsProxy: string;
    /** CA bundle the app's HTTPS clients trust (the egress stand-in's CA). */
    readonly caBundle: string;
    /** TMPDIR, when the filesystem is not isolated (see sandbox.ts). */
    readonly tmpdirFallback: boolean;
}

/** A container that does not run here, and why. */
export interface Skipped {
    readonly workload: string;
    readonly container: string;
    readonly why: string;
}

/** The pods of a stack, by kind, in manifest order. */
export interface StackPlan {
    readonly jobs: PodPlan[];
    readonly deployments: PodPlan[];
    readonly cronJobs: PodPlan[];
    readonly skipped: Skipped[];
    /** Every variable whose value differs from the rendered one (same for every container). */
    readonly replaced: Map<string, string>;
    /** Variables added to every app container: the pod's environment here. */
    readonly added: Record<string, string>;
}

const CLOUD_SQL_PROXY = /cloud-sql-proxy/;

/** One value per Secret key, like the cluster has one; the platform's own get the stand-ins' values. */
function secretValues(local: LocalValues): (name: string, source: EnvSource) => string {
    const values = new Map<string, string>();
    return (name, source) => {
        if (name === "DJANGO_APP_DB_PASSWORD") return local.database.password;
        if (name === "DJANGO_APP_CACHE_PASSWORD") return local.cachePassword;
        const key = `${source.from}/${source.key ?? name}`;
        if (!values.has(key)) values.set(key, randomPassword(name === "DJANGO_APP_SECRET_KEY" ? 48 : 24));
        return values.get(key) as string;
    };
}

/** Moves `0.0.0.0:<port>` (or `[::]:`, `:`) in the arguments to `127.0.0.1:<local>`. */
export function rebind(args: readonly string[], containerPort: number, local: number): { args: string[]; rewrites: string[] } {
    const rewrites: string[] = [];
    const pattern = new RegExp(`(^|=)(0\\.0\\.0\\.0|\\[::\\]|)?:${containerPort}$`);
    const out = args.map((arg) => {
        const m = pattern.exec(arg);
        if (!m) return arg;
        const next = arg.replace(pattern, `$1127.0.0.1:${local}`);
        rewrites.push(`${arg} → ${next} (the pod's own port ${containerPort}; pods share loopback here)`);
        return next;
    });
    return { args: out, rewrites };
}

/**
 * The ports the container listens on: each of its declared ports (then its probes' ports) that an
 * argument binds on 0.0.0.0, the serving one (the first declared) first; empty when it has no port
 * at all.
 */
function listenPorts(c: Container, args: readonly string[]): Array<{ name?: string; container: number }> {
    const probed = [c.startupProbe, c.readinessProbe, c.livenessProbe].map((p) => p?.httpGet?.port).filter((p): p is number => typeof p === "number");
    const candidates = [...(c.ports ?? []).map((p) => ({ name: p.name, container: p.containerPort })), ...probed.map((container) => ({ name: undefined, container }))];
    const bound = candidates.filter((p, i) => candidates.findIndex((q) => q.container === p.container) === i && rebind(args, p.container, 1).rewrites.length > 0);
    if (bound.length > 0) return bound;
    const probeRef = (c.startupProbe ?? c.readinessProbe ?? c.livenessProbe)?.httpGet?.port;
    if (probeRef === undefined) return [];
    const port = typeof probeRef === "number" ? probeRef : c.ports?.find((p) => p.name === probeRef)?.containerPort;
    throw new PlanError(`container ${c.name}: its probes use port ${String(port ?? probeRef)}, but no argument listens on 0.0.0.0:${String(port ?? probeRef)}; the local runner cannot move it to a free port`);
}

/** Options of {@link planStack}. */
export interface PlanOptions {
    readonly docs: readonly K8sDoc[];
    /** The copy of the project that stands for the image's /app. */
    readonly appDir: string;
    /** Directory of the run for the emptyDir stand-ins. */
    readonly root: string;
    readonly local: LocalValues;
}

/** Plans every pod of the stack that runs the app image. */
export async function planStack(options: PlanOptions): Promise<StackPlan> {
    const { docs, local } = options;
    const containers = djangoContainers(docs, { manageJob: false });
    const image = containers[0]?.container.image;
    const secret = secretValues(local);
    const plan: StackPlan = { jobs: [], deployments: [], cronJobs: [], skipped: [], replaced: new Map(), added: {} };
    const replacements: Record<string, string> = {
        DJANGO_APP_DB_HOST: local.database.host,
        DJANGO_APP_DB_PORT: String(local.database.port),
    };
    if (local.cacheLocations) replacements.DJANGO_APP_CACHE_LOCATION = local.cacheLocations;
    if (local.cacheCaPem) replacements.DJANGO_APP_CACHE_CA_CERT = local.cacheCaPem;

    // What is not an app container: said, not run.
    for (const doc of docs) {
        const template = doc.kind === "CronJob" ? doc.spec?.jobTemplate?.spec?.template : doc.spec?.template;
        if (!template || doc.kind === "StatefulSet") continue;
        for (const c of [...(template.spec.initContainers ?? []), ...template.spec.containers]) {
            if (c.image === image) continue;
            const why = CLOUD_SQL_PROXY.test(c.image ?? "")
                ? "Cloud SQL Auth Proxy: not run; the app connects directly to the local PostgreSQL (DJANGO_APP_DB_HOST/PORT)"
                : `image ${c.image}: only the app image runs here`;
            plan.skipped.push({ workload: `${doc.kind}/${doc.metadata.name}`, container: c.name, why });
        }
    }

    const seen = new Set<string>();
    for (const c of containers) {
        const workloadLabel = `${c.workload.kind}/${c.workload.name}`;
        if (seen.has(workloadLabel) || (c.init && c.container.restartPolicy !== "Always" && c.workload.kind !== "Job")) {
            plan.skipped.push({ workload: workloadLabel, container: c.container.name, why: "a second app container of the same pod: not run (one per pod here)" });
            continue;
        }
        seen.add(workloadLabel);
        const pod = await planPod(c, options, secret, replacements, plan);
        if (c.workload.kind === "Job") plan.jobs.push(pod);
        else if (c.workload.kind === "Deployment") plan.deployments.push(pod);
        else if (c.workload.kind === "CronJob") plan.cronJobs.push(pod);
        else plan.skipped.push({ workload: workloadLabel, container: c.container.name, why: `${c.workload.kind}: not run here` });
    }
    return plan;
}

async function planPod(
    c: DjangoContainer,
    options: PlanOptions,
    secret: (name: string, source: EnvSource) => string,
    replacements: Record<string, string>,
    plan: StackPlan,
): Promise<PodPlan> {
    const { local } = options;
    const podIp = "127.0.0.1";
    const rendered = resolveEnv(c, {
        secret,
        field: (fieldPath, name) => {
            if (fieldPath === "status.podIP" || fieldPath === "status.hostIP") return podIp;
            if (fieldPath === "metadata.name") return `${c.workload.name}-local`;
            if (fieldPath === "spec.nodeName") return "localhost";
            throw new PlanError(`${c.label}: no local stand-in for the downward-API field ${fieldPath} (env ${name})`);
        },
    });
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(rendered)) {
        const source = c.env.get(name);
        const replaced = replacements[name];
        if (replaced !== undefined && source?.kind !== "secret") {
            env[name] = replaced;
            plan.replaced.set(name, source?.value ?? "");
        } else {
            env[name] = value;
            if (source?.kind === "secret") plan.replaced.set(name, "[secret]");
            else if (source?.kind === "fieldRef") plan.replaced.set(name, `fieldRef ${source.from}`);
        }
    }
    const volumes = new Map((c.pod.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => [v.name, v.emptyDir as { medium?: string; sizeLimit?: string }]));
    const mounts: EmptyDirMount[] = (c.container.volumeMounts ?? [])
        .filter((m) => volumes.has(m.name))
        .map((m) => ({ path: m.mountPath, medium: volumes.get(m.name)?.medium, sizeLimit: volumes.get(m.name)?.sizeLimit, hostDir: emptyDirStandIn(options.root, `${c.workload.name}-${c.container.name}-${m.name}`) }));
    const ksa = c.pod.serviceAccountName ?? "default";
    const namespace = c.workload.namespace ?? "default";
    const added: Record<string, string> = {
        HOME: IMAGE_HOME,
        GCE_METADATA_HOST: local.metadataHost(namespace, ksa),
        GCE_METADATA_IP: local.metadataHost(namespace, ksa),
        STORAGE_EMULATOR_HOST: local.storageEmulatorHost,
        HTTPS_PROXY: local.httpsProxy,
        NO_PROXY: "127.0.0.1,localhost",
        REQUESTS_CA_BUNDLE: local.caBundle,
    };
    const tmp = mounts.find((m) => m.path === "/tmp");
    if (local.tmpdirFallback && tmp) added.TMPDIR = tmp.hostDir;
    const login = proxiesIamLogin(c) && env.DJANGO_APP_DB_USER ? local.database.loginPassword?.(env.DJANGO_APP_DB_USER) : undefined;
    if (login !== undefined) added.PGPASSWORD = login;
    Object.assign(plan.added, { ...added, GCE_METADATA_HOST: "127.0.0.1:<port of the pod's ServiceAccount>", GCE_METADATA_IP: "(the same)", ...(login !== undefined ? { PGPASSWORD: "<the local password of the pod's own database user>" } : {}) });
    const rendered_ = argv(c.container);
    const ports = listenPorts(c.container, rendered_);
    const localPorts: Record<number, number> = {};
    const moved = { args: rendered_, rewrites: [] as string[] };
    for (const p of ports) {
        localPorts[p.container] = await freePort();
        const next = rebind(moved.args, p.container, localPorts[p.container] as number);
        moved.args = next.args;
        moved.rewrites.push(...next.rewrites);
    }
    const port = ports[0];
    const local_ = port ? localPorts[port.container] : undefined;
    const workingDir = c.container.workingDir ?? IMAGE_WORKDIR;
    if (workingDir !== IMAGE_WORKDIR && !workingDir.startsWith(`${IMAGE_WORKDIR}/`)) {
        throw new PlanError(`${c.label}: workingDir ${workingDir} is outside the image's ${IMAGE_WORKDIR}; only the project's directory exists here`);
    }
    return {
        workloadLabel: `${c.workload.kind}/${c.workload.name}`,
        workload: c.workload,
        containerName: c.container.name,
        renderedArgv: rendered_,
        argv: moved.args,
        rewrites: moved.rewrites,
        env: { ...imageBaseEnv(), ...added, ...env },
        cwd: join(options.appDir, workingDir.slice(IMAGE_WORKDIR.length)),
        mounts,
        port: port && local_ !== undefined ? { ...port, local: local_ } : undefined,
        localPorts,
        namedPorts: Object.fromEntries((c.container.ports ?? []).filter((p) => p.name).map((p) => [p.name as string, p.containerPort])),
        probes: { startup: c.container.startupProbe, readiness: c.container.readinessProbe, liveness: c.container.livenessProbe },
        preStop: c.container.lifecycle?.preStop,
        terminationGracePeriodSeconds: c.pod.terminationGracePeriodSeconds ?? 30,
        activeDeadlineSeconds: jobDeadline(options.docs, c),
        restartPolicy: c.container.restartPolicy ?? c.pod.restartPolicy ?? "Always",
        podIp,
    };
}

/**
 * Another pod of the same workload (a Deployment's next replica): the same container, environment
 * and probes, its own local ports (every pod has its own IP in the cluster; here each listens on its
 * own loopback ports), every declared port the rendered command line binds rebound again.
 */
export async function replicaPlan(plan: PodPlan, replica: number): Promise<PodPlan> {
    const workloadLabel = `${plan.workloadLabel} pod ${replica}`;
    if (!plan.port) return { ...plan, workloadLabel };
    let args = [...plan.renderedArgv];
    const rewrites: string[] = [];
    const localPorts: Record<number, number> = {};
    for (const containerPort of new Set([plan.port.container, ...Object.values(plan.namedPorts)])) {
        const local = await freePort();
        const moved = rebind(args, containerPort, local);
        if (moved.rewrites.length === 0) continue;
        args = moved.args;
        rewrites.push(...moved.rewrites);
        localPorts[containerPort] = local;
    }
    const served = localPorts[plan.port.container] ?? (await freePort());
    return { ...plan, workloadLabel, argv: args, rewrites, port: { ...plan.port, local: served }, localPorts };
}

function jobDeadline(docs: readonly K8sDoc[], c: DjangoContainer): number | undefined {
    const doc = docs.find((d) => d.kind === c.workload.kind && d.metadata.name === c.workload.name) as unknown as { spec?: { activeDeadlineSeconds?: number; jobTemplate?: { spec?: { activeDeadlineSeconds?: number } } } } | undefined;
    return c.workload.kind === "Job" ? doc?.spec?.activeDeadlineSeconds : c.workload.kind === "CronJob" ? doc?.spec?.jobTemplate?.spec?.activeDeadlineSeconds : undefined;
}
