import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ROLLOUT_MAX_SURGE, scaleDownPolicy, workerPacing } from "./connectionBudget";
import { labelsFor, selectorFor } from "./kube";
import { podIdentity } from "./identities";
import { CACHE_CLIENT_LABELS } from "./networkPolicies";
import { djangoPodSpec, jobContainer } from "./podTemplates";
import { WORKER_GRACE_SECONDS, defaultWorkerGraceSeconds } from "./termination";
import { DjangoPodContext, bindPodIdentity } from "./workload";

/** Label naming the worker a pod belongs to (the component label is `worker` for all of them). */
export const WORKER_LABEL = "django-platform/worker";

/**
 * Default seconds a worker gets between SIGTERM and SIGKILL on regular capacity (components/termination.ts):
 * long enough for a typical task to finish (the reference worker finishes its current task and
 * exits 0 on SIGTERM; its tasks last 30 s at most, app/demo/views.py). Raise it with
 * `workers.<name>.terminationGracePeriodSeconds` for longer tasks. On Spot Pods a preemption gives
 * at most 15 s whatever is set (components/spot.ts): the default is 15 there and validation refuses
 * more. A task cut by the SIGKILL or a preemption must be safe to run again: the reference worker
 * re-queues it after {@link WORKER_STALLED_SECONDS} and its tasks are idempotent
 * (docs/your-app.md, "Background tasks").
 */
export { WORKER_GRACE_SECONDS };

/**
 * Database connections one pod of the reference app's worker (`python manage.py demo_worker`,
 * app/demo/management/commands/demo_worker.py) holds at most, the value production's
 * `workers.tasks.dbConnections` gives the connection budget (components/connectionBudget.ts
 * `workerConnections`): 1 for the task in hand (Django's connection in the job's thread, one task at
 * a time) + 2 for Procrastinate's connection pool (`POOL_MAX_SIZE`: fetching jobs, heartbeats,
 * acknowledgements, the stall sweep) + 1 for its `LISTEN` connection (new jobs are announced by
 * `NOTIFY`). `tests/local-tasks.test.ts` measures it on running worker pods (pg_stat_activity).
 */
export const REFERENCE_WORKER_DB_CONNECTIONS = 4;

/**
 * Seconds without a heartbeat after which the reference worker's stall sweep re-queues the tasks
 * a worker had in hand (`STALLED_SECONDS` in app/demo/management/commands/demo_worker.py; its
 * heartbeat runs every 5 s). A worker SIGKILLed mid-task has its task re-queued 15–20 s later by any
 * other worker pod, or by its own replacement: docs/operations.md, "When a worker dies".
 */
export const WORKER_STALLED_SECONDS = 15;

/** Arguments of {@link Worker}. */
export interface WorkerArgs {
    /** The worker's name (`workers.<name>`), a DNS label of at most 20 characters. */
    readonly workerName: string;
    /** The command, e.g. `["python", "manage.py", "demo_worker"]`. */
    readonly command: readonly string[];
    /** HPA bounds. */
    readonly minReplicas: number;
    readonly maxReplicas: number;
    /** HPA CPU target, percent of requests. @default 70 */
    readonly targetCpuUtilization?: number;
    /** Requests (and memory limit) per pod. */
    readonly cpu: string;
    readonly memory: string;
    /** Seconds between SIGTERM and SIGKILL. @default {@link WORKER_GRACE_SECONDS}, 15 on Spot Pods */
    readonly terminationGracePeriodSeconds?: number;
    /** The Workload's pod context: image, env, sidecar, namespace, migrate Job, media. */
    readonly pods: DjangoPodContext;
}

/** The worker's pod selector: the stack's worker pods with this worker's name. */
export function workerSelector(stack: string, workerName: string): Record<string, string> {
    return { ...selectorFor("worker", stack), [WORKER_LABEL]: workerName };
}

/**
 * One background worker: a Deployment running `command` from the web pods' image and env, with
 * its own Google + Kubernetes service account (Workload Identity) holding only what it uses —
 * `roles/cloudsql.client` with the Auth Proxy, the media bucket's objects and (bound by the IAM
 * step) signing as itself when media is on — an HPA, a PDB and a long grace period. No Service and no probes: nothing
 * connects to a worker, and whether it is healthy is defined by its own task loop (a crash
 * restarts the container anyway); an HTTP probe would need a server the worker does not run.
 */
export class Worker extends pulumi.ComponentResource {
    /** The worker Deployment (scaled by its HPA). */
    public readonly deployment: k8s.apps.v1.Deployment;
    /** Email of the worker's own Google service account. */
    public readonly serviceAccountEmail: pulumi.Output<string>;

    constructor(name: string, args: WorkerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:workers:Worker", name, {}, opts);
        const p = args.pods;
        if (args.minReplicas > args.maxReplicas) {
            throw new Error(`Worker ${args.workerName}: minReplicas (${args.minReplicas}) must be less than or equal to maxReplicas (${args.maxReplicas}) (workers.${args.workerName}).`);
        }
        const k8sOpts = { parent: this, provider: p.provider };
        // Its own account (dj-<stack>-w-<name>), created by the IAM step with roles/cloudsql.client
        // when the Auth Proxy connects (components/identities.ts).
        const own = podIdentity(p.identities, `worker-${args.workerName}`);
        const identity = bindPodIdentity(this, name, own, p);
        identity.grants.push(...p.databaseUsers);
        // Signing media URLs as itself (signBlob only) is bound by the IAM step (iam/stackIam.ts).
        if (p.media) {
            identity.grants.push(p.media.grantObjectUser(`worker-${args.workerName}`, identity.gsa.member));
        }
        this.serviceAccountEmail = identity.gsa.email;

        const grace = args.terminationGracePeriodSeconds ?? defaultWorkerGraceSeconds(p.spot);
        const selector = workerSelector(p.stack, args.workerName);
        const labels = { ...labelsFor("worker", p.stack), [WORKER_LABEL]: args.workerName };
        this.deployment = new k8s.apps.v1.Deployment(`${name}-pods`, {
            metadata: { namespace: p.namespace, labels },
            spec: {
                // No `replicas`: the HPA owns the count.
                selector: { matchLabels: selector },
                // Same strategy as the web pods, so the connection budget counts their rollout alike.
                strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: ROLLOUT_MAX_SURGE } },
                revisionHistoryLimit: 5,
                template: {
                    metadata: { labels: { ...labels, ...CACHE_CLIENT_LABELS } },
                    spec: djangoPodSpec({
                        serviceAccountName: identity.ksaName,
                        terminationGracePeriodSeconds: grace,
                        initContainers: p.sidecars,
                        spot: p.spot,
                        containers: [jobContainer("worker", p.container.image, [...args.command], p.container.sources,
                            { settingsModule: p.container.settingsModule, database: p.databaseLogin(own), media: p.media ? { bucket: p.media.bucketName, signer: identity.gsa.email } : undefined },
                            { cpu: args.cpu, memory: args.memory })],
                    }),
                },
            },
        }, { ...k8sOpts, dependsOn: [p.migrate, ...identity.grants] });

        new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-pods`, {
            metadata: { namespace: p.namespace, labels },
            spec: {
                scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: this.deployment.metadata.name },
                minReplicas: args.minReplicas,
                maxReplicas: args.maxReplicas,
                metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: args.targetCpuUtilization ?? 70 } } }],
                // At most a rollout step's worth of pods per drain period, as the connection budget
                // counts (components/connectionBudget.ts).
                behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [scaleDownPolicy(args.maxReplicas, workerPacing(grace))] } },
            },
        }, k8sOpts);

        new k8s.policy.v1.PodDisruptionBudget(`${name}-pods`, {
            metadata: { namespace: p.namespace, labels },
            spec: { maxUnavailable: 1, unhealthyPodEvictionPolicy: "AlwaysAllow", selector: { matchLabels: selector } },
        }, k8sOpts);

        this.registerOutputs({ serviceAccountEmail: this.serviceAccountEmail });
    }
}
