import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AppEnvInputs, buildAppEnv } from "./appEnv";
import { ROLLOUT_MAX_SURGE, scaleDownPolicy, webPacing } from "./connectionBudget";
import { DatabaseConnection, loginOf } from "./database";
import { migrateCommand } from "./databaseRoles";
import { cloudSqlProxySidecar, labelsFor, selectorFor } from "./kube";
import { Media } from "./media";
import { StackIdentities, podIdentity, type PodIdentity } from "./identities";
import { CACHE_CLIENT_LABELS, NetworkPolicyInputs, buildNetworkPolicies } from "./networkPolicies";
import { ContainerDatabase, DjangoContainerContext, EnvSources, BUSY_METRIC, METRICS_PATH, PROBE_PORT, PROBE_PORT_NAME, WEB_PORT, djangoPodSpec, imageFingerprint, jobContainer, webContainer } from "./podTemplates";
import { Statics } from "./statics";
import { MAX_ROLLOUT_STEPS, webMinReadySeconds, webTermination } from "./termination";

type Container = k8s.types.input.core.v1.Container;


/** How long a migrate or collectstatic Job may run, from its start (Kubernetes `activeDeadlineSeconds`). */
export const JOB_DEADLINE_SECONDS = 900;
/** Pod retries of a Job before it fails. */
export const JOB_BACKOFF_LIMIT = 3;
/**
 * How long Pulumi waits for a Job. The Kubernetes provider gives up on a Job after 10 minutes by
 * default (`@pulumi/kubernetes` batch/v1 Job: "If the Job has not reached a Ready state after 10
 * minutes, it will time out"), less than the Job's own deadline. `activeDeadlineSeconds` counts from
 * the Job's start, node provisioning and image pull included ("applies to the duration of the job, no
 * matter how many Pods are created", kubernetes.io/docs/concepts/workloads/controllers/job), so the
 * Job has succeeded or failed by then: wait for the whole deadline plus a margin.
 */
export const JOB_TIMEOUTS: pulumi.CustomTimeouts = {
    create: `${Math.ceil(JOB_DEADLINE_SECONDS / 60) + 5}m`,
    update: `${Math.ceil(JOB_DEADLINE_SECONDS / 60) + 5}m`,
};

/**
 * How long Pulumi waits for the web Deployment's rollout. The Kubernetes provider gives up after 10
 * minutes by default (`@pulumi/kubernetes` apps/v1 Deployment: "If the Deployment has not reached
 * a Ready state after 10 minutes, it will time out and mark the resource update as Failed"); the
 * rollout's pacing (`minReadySeconds`, components/termination.ts) adds up to
 * {@link MAX_ROLLOUT_STEPS} × minReadySeconds to a rollout, so the wait is the default plus that.
 */
export function webRolloutTimeouts(spot: boolean): pulumi.CustomTimeouts {
    const minutes = `${10 + Math.ceil((MAX_ROLLOUT_STEPS * webMinReadySeconds(spot)) / 60)}m`;
    return { create: minutes, update: minutes };
}

/** How often Managed Service for Prometheus scrapes the busy gauge (PodMonitoring `interval`). */
export const BUSY_METRIC_SCRAPE_INTERVAL = "15s";

/**
 * The busy gauge as the HPA names it: Managed Service for Prometheus stores a scraped Prometheus
 * gauge `X` as the Cloud Monitoring metric `prometheus.googleapis.com/X/gauge`, and the Custom
 * Metrics Stackdriver Adapter serves it to the HPA as `prometheus.googleapis.com|X|gauge` (Google's
 * sample "Custom metrics prometheus exporter HPA",
 * https://cloud.google.com/kubernetes-engine/docs/samples/container-custom-metrics-prometheus-horizontal-pod-autoscaler).
 */
export const busyMetricHpaName = `prometheus.googleapis.com|${BUSY_METRIC}|gauge`;

type HpaMetric = k8s.types.input.autoscaling.v2.MetricSpec;

/**
 * The web HPA's metrics: CPU, and with `requestsPerThread` the busy gauge as a `Pods` metric (its
 * average over the pods against the target). The HPA takes the larger of the replica counts the
 * metrics ask for ("the HorizontalPodAutoscaler will calculate proposed replica counts for each
 * metric, and then choose the one with the highest replica count",
 * https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#scaling-on-multiple-metrics).
 */
export function webHpaMetrics(targetCpuUtilization: number, requestsPerThread?: number): HpaMetric[] {
    const cpu: HpaMetric = { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: targetCpuUtilization } } };
    if (requestsPerThread === undefined) return [cpu];
    return [cpu, { type: "Pods", pods: { metric: { name: busyMetricHpaName }, target: { type: "AverageValue", averageValue: String(requestsPerThread) } } }];
}

/** Arguments of {@link Workload}. */
export interface WorkloadArgs {
    /** GCP project id. */
    readonly project: string;
    /** Stack name, for labels and service account ids. */
    readonly stack: string;
    /** Kubernetes provider of the cluster. */
    readonly provider: k8s.Provider;
    /** Namespace of the app. */
    readonly namespace: pulumi.Input<string>;
    /** Workload Identity pool, `<project>.svc.id.goog`. */
    readonly workloadPool: string;
    /** Django image, pinned. */
    readonly image: string;
    /** What the environment contract is built from (appEnv.ts); the SECRET_KEY is generated here. */
    readonly envInputs: Omit<AppEnvInputs, "secretKey">;
    /** Database connection; with the auth-proxy connector the pods get the proxy sidecar. */
    readonly database: DatabaseConnection;
    /** The database's IAM users (components/database.ts): the pods that log in as them wait for them. @default [] */
    readonly databaseUsers?: pulumi.Resource[];
    /** Cidr of the database's private IP range, for egress rules. */
    readonly databaseCidr: pulumi.Input<string>;
    /** Egress rules to the cache (components/cache.ts `egressRules`). */
    readonly cache: NetworkPolicyInputs["cache"];
    /** Public IPv4 ranges the app's pods may reach on 443 (`network.egressAllowList`). @default [] */
    readonly egressAllowList?: readonly string[];
    /**
     * What makes `*.googleapis.com` resolve to Private Google Access's range in the VPC (the private
     * DNS zone and its records, components/network.ts): the Django pods' egress to Google's APIs
     * narrows to that range only once it exists. @default []
     */
    readonly privateGoogleAccess?: readonly pulumi.Resource[];
    /** The statics bucket; only the collectstatic Job may write to it. */
    readonly statics: Statics;
    /** HPA bounds and CPU target. @default 2, 5, 70 */
    readonly minReplicas?: number;
    readonly maxReplicas?: number;
    readonly targetCpuUtilization?: number;
    /**
     * A second HPA metric: page requests per gunicorn thread, averaged over the pods
     * ({@link busyMetricHpaName}), with a PodMonitoring that has Managed Service for Prometheus
     * collect it. @default undefined (CPU only)
     */
    readonly requestsPerThreadTarget?: number;
    /** Requests (and memory limit) per web pod. @default "500m", "512Mi" */
    readonly cpu?: string;
    readonly memory?: string;
    /** gunicorn workers and threads per pod. @default 2, 4 */
    readonly gunicornWorkers?: number;
    readonly gunicornThreads?: number;
    /** Extra annotations of the web Service (NEG, BackendConfig). @default {} */
    readonly serviceAnnotations?: Record<string, string>;
    /** Source ranges allowed to reach the web port (load balancer proxies and health checks). */
    readonly ingressSourceRanges: readonly string[];
    /** The stack's Google service accounts (components/identities.ts), created by the IAM step. */
    readonly identities: StackIdentities;
    /** The private media bucket; the web identity may read/write it and sign URLs as itself. @default none */
    readonly media?: Media;
    /** `DJANGO_SETTINGS_MODULE` of every Django container. @default "config.settings" */
    readonly settingsModule?: string;
    /** gunicorn serves `<wsgiModule>:application`. @default "config.wsgi" */
    readonly wsgiModule?: string;
    /** Run the web pods as Spot Pods (components/spot.ts); never the migrate/collectstatic Jobs. @default false */
    readonly spot?: boolean;
}

/** A Google service account of the stack, looked up by id (the IAM step creates it, components/identities.ts). */
export interface LookedUpAccount {
    readonly email: pulumi.Output<string>;
    /** `projects/<project>/serviceAccounts/<email>`. */
    readonly name: pulumi.Output<string>;
    /** `serviceAccount:<email>`. */
    readonly member: pulumi.Output<string>;
}

/** One Google + Kubernetes service account pair bound by Workload Identity, and the grants its pods wait for. */
export interface BoundIdentity {
    readonly gsa: LookedUpAccount;
    readonly ksaName: pulumi.Output<string>;
    /** The IAM grants this identity's pods use; pods depend on all of them. */
    readonly grants: pulumi.Resource[];
}

/** Where an identity lives: what {@link bindPodIdentity} needs besides the identity. */
export interface IdentityScope {
    readonly project: string;
    readonly stack: string;
    readonly provider: k8s.Provider;
    readonly namespace: pulumi.Input<string>;
    readonly workloadPool: string;
}

/**
 * Looks up a stack's Google service account by id. The main program never creates or deletes one:
 * the IAM step does (`iam/`), and the deployer only holds `iam.serviceAccounts.get` on the project.
 * A missing account fails the lookup, so `pulumi preview` and `up` stop before changing anything;
 * `npm run preflight` names the fix (run the IAM step).
 */
export function lookupServiceAccount(parent: pulumi.Resource, accountId: string, project: string): LookedUpAccount {
    const found = gcp.serviceaccount.getAccountOutput({ accountId, project }, { parent });
    return { email: found.email, name: found.name, member: pulumi.interpolate`serviceAccount:${found.email}` };
}

/**
 * The Kubernetes service account of `identity`, annotated with its Google service account, and the
 * Workload Identity binding between the two: on that account only, never project-wide. The binding
 * stays in this program because the pool `<project>.svc.id.goog` exists only once the project has a
 * cluster with Workload Identity (IAM refuses a binding to it before: "Identity Pool does not
 * exist"), and the cluster is this program's. `name` prefixes the Pulumi names.
 */
export function bindPodIdentity(parent: pulumi.Resource, name: string, identity: PodIdentity, scope: IdentityScope): BoundIdentity {
    const gsa = lookupServiceAccount(parent, identity.accountId, scope.project);
    const account = new k8s.core.v1.ServiceAccount(`${name}-ksa`, {
        metadata: {
            name: identity.ksa,
            namespace: scope.namespace,
            labels: labelsFor(identity.ksa, scope.stack),
            annotations: { "iam.gke.io/gcp-service-account": gsa.email },
        },
        automountServiceAccountToken: false,
    }, { parent, provider: scope.provider });
    const binding = new gcp.serviceaccount.IAMMember(`${name}-workload-identity`, {
        serviceAccountId: gsa.name,
        role: "roles/iam.workloadIdentityUser",
        member: pulumi.interpolate`serviceAccount:${scope.workloadPool}[${scope.namespace}/${identity.ksa}]`,
    }, { parent });
    return { gsa, ksaName: account.metadata.name, grants: [binding] };
}

/**
 * Everything a Django pod outside the Workload (a worker, a CronJob) is built from, so it runs the
 * same image, env contract, proxy sidecar and security context as the web pods.
 */
export interface DjangoPodContext extends IdentityScope {
    /** Image, env sources and settings module (the media signer and the database login are per identity). */
    readonly container: Omit<DjangoContainerContext, "media" | "database">;
    /** The database login of a pod identity (its own IAM database user, or the schema owner with a password). */
    readonly databaseLogin: (identity: PodIdentity) => ContainerDatabase;
    /** The database's IAM users: pods that connect wait for them. */
    readonly databaseUsers: readonly pulumi.Resource[];
    /** The Cloud SQL Auth Proxy sidecar when the database connector needs it, else empty. */
    readonly sidecars: Container[];
    /** The stack's Google service accounts (components/identities.ts). */
    readonly identities: StackIdentities;
    /** The web identity, which CronJobs and one-off Jobs run as. */
    readonly web: { readonly identity: PodIdentity; readonly ksaName: pulumi.Output<string>; readonly email: pulumi.Output<string>; readonly grants: readonly pulumi.Resource[] };
    /** The migrate Job: app pods of a new image start after it. */
    readonly migrate: pulumi.Resource;
    /** The media bucket, if any. */
    readonly media?: Media;
    /** Spot Pods for long-running and scheduled app pods. */
    readonly spot: boolean;
}

/**
 * The Django workload: service accounts with Workload Identity and least-privilege grants, the
 * env ConfigMap/Secret, the web Deployment (gunicorn, probes, Auth Proxy sidecar), Service, HPA,
 * PDB, the migrate and collectstatic Jobs named after the image, and the NetworkPolicies.
 */
export class Workload extends pulumi.ComponentResource {
    /** The web Deployment (scaled by the HPA). */
    public readonly deployment: k8s.apps.v1.Deployment;
    /** The web Service. */
    public readonly service: k8s.core.v1.Service;
    /** The web Service's name, for the Ingress backend. */
    public readonly serviceName: pulumi.Output<string>;
    /** Email of the app's Google service account. */
    public readonly serviceAccountEmail: pulumi.Output<string>;
    /** Port the Service exposes. */
    public readonly servicePort = 80;
    /** The web HPA's name (the `horizontalpodautoscaler` label of its kube state metrics). */
    public readonly hpaName: pulumi.Output<string>;
    /** What workers and CronJobs build their pods from (same image, env, sidecar, web identity). */
    public readonly podContext: DjangoPodContext;

    constructor(name: string, args: WorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:workload:Workload", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        const ns = args.namespace;
        const proxy = args.database.connector === "auth-proxy";
        const iam = args.database.authentication === "iam";
        const webSelector = selectorFor("web", args.stack);
        const databaseUsers = args.databaseUsers ?? [];
        // Each identity logs in as itself (IAM) or as the schema owner (password); the migrate
        // identity acts as the schema owner (components/databaseRoles.ts).
        const databaseLogin = (identity: PodIdentity): ContainerDatabase => ({
            user: loginOf(args.database, identity),
            ...(iam && identity.database === "schema" ? { role: args.database.schemaOwner } : {}),
        });

        // Web pods: the web account, which the IAM step (iam/) gave roles/cloudsql.client and
        // roles/cloudsql.instanceUser on the stack's instance when the Auth Proxy connects. Every
        // grant a pod uses is listed with its identity, so the pods can wait for them (IAM is
        // eventually consistent: a pod that starts first gets 403s and burns its retries).
        const webIdentity = podIdentity(args.identities, "web");
        const web = bindPodIdentity(this, `${name}-web`, webIdentity, args);
        web.grants.push(...databaseUsers);
        this.serviceAccountEmail = web.gsa.email;
        // Media uploads: read/write objects of the media bucket. Signing URLs as itself (signBlob
        // only) is bound by the IAM step (iam/stackIam.ts), like every grant on an account to itself.
        if (args.media) {
            web.grants.push(args.media.grantObjectUser("web", web.gsa.member));
        }
        // ManifestStaticFilesStorage reads staticfiles.json from the bucket at run time, as the pod's
        // own identity: never rely on the bucket being public.
        web.grants.push(args.statics.grantObjectViewer("web", web.gsa.member));
        // collectstatic: a separate account that may write objects to the static bucket, nothing else.
        const collectIdentity = podIdentity(args.identities, "collectstatic");
        const collect = bindPodIdentity(this, `${name}-collectstatic`, collectIdentity, args);
        collect.grants.push(args.statics.grantObjectAdmin("collectstatic", collect.gsa.member));
        // migrate: owns the schema (acts as the schema owner), grants the data identities theirs;
        // no media, no statics. It waits for every IAM database user it grants to.
        const migrateIdentity = podIdentity(args.identities, "migrate");
        const migrator = bindPodIdentity(this, `${name}-migrate`, migrateIdentity, args);
        migrator.grants.push(...databaseUsers);

        const secretKey = new random.RandomPassword(`${name}-secret-key`, { length: 64, special: true, overrideSpecial: "!#%&*()-_=+[]{}<>:?" }, { parent: this });
        const env = buildAppEnv({ ...args.envInputs, secretKey: secretKey.result });
        const configMap = new k8s.core.v1.ConfigMap(`${name}-env`, {
            metadata: { namespace: ns, labels: labelsFor("web", args.stack) },
            immutable: true,
            data: env.plain,
        }, k8sOpts);
        const secret = new k8s.core.v1.Secret(`${name}-env`, {
            metadata: { namespace: ns, labels: labelsFor("web", args.stack) },
            immutable: true,
            type: "Opaque",
            stringData: env.secret,
        }, k8sOpts);
        const sources: EnvSources = { configMapName: configMap.metadata.name, secretName: secret.metadata.name };
        const sidecars = proxy ? [cloudSqlProxySidecar(args.database.instanceConnectionName, { autoIamAuthn: iam })] : [];
        const settings = { settingsModule: args.settingsModule };
        // The web identity uses the media bucket and signs its URLs as itself. collectstatic has no
        // access to the bucket, so it gets neither variable (DJANGO_APP_MEDIA_BUCKET is not in the
        // shared ConfigMap: with the bucket but no signer the app would refuse to start).
        const webCtx = { ...settings, database: databaseLogin(webIdentity), media: args.media ? { bucket: args.media.bucketName, signer: web.gsa.email } : undefined };

        // Jobs are immutable: name them after the image so a new image runs them again.
        const fingerprint = imageFingerprint(args.image);
        // No ttlSecondsAfterFinished: a Job the cluster deleted by itself would vanish from the state
        // on the next `pulumi refresh`, and the following `up` would run it again with the same image.
        // A new image replaces the Job (new name, deleteBeforeReplace), so finished Jobs never pile up.
        // Not on Spot: a preempted migrate would fail the release (backoff) for no reason.
        const job = (role: string, command: string[], ksa: pulumi.Input<string>, withProxy: boolean, ctx: Omit<DjangoContainerContext, "image" | "sources">, after: pulumi.Resource[]) =>
            new k8s.batch.v1.Job(`${name}-${role}`, {
                metadata: { name: `${name}-${role}-${fingerprint}`, namespace: ns, labels: { ...labelsFor(role, args.stack), "django-platform/image": fingerprint } },
                spec: {
                    backoffLimit: JOB_BACKOFF_LIMIT,
                    activeDeadlineSeconds: JOB_DEADLINE_SECONDS,
                    template: {
                        metadata: { labels: labelsFor(role, args.stack) },
                        spec: djangoPodSpec({
                            restartPolicy: "Never",
                            serviceAccountName: ksa,
                            initContainers: withProxy ? sidecars : [],
                            containers: [jobContainer(role, args.image, command, sources, ctx)],
                        }),
                    },
                },
            }, { ...k8sOpts, deleteBeforeReplace: true, dependsOn: after, customTimeouts: JOB_TIMEOUTS });
        // Release order: migrate → collectstatic → rolling update of the Deployment, each after its grants.
        const migrate = job("migrate", migrateCommand(args.database.authentication, args.identities.pods), migrator.ksaName, proxy, { ...settings, database: databaseLogin(migrateIdentity) }, migrator.grants);
        const collectstatic = job("collectstatic", ["python", "manage.py", "collectstatic", "--no-input"], collect.ksaName, false, { ...settings, database: databaseLogin(collectIdentity) }, [migrate, ...collect.grants]);

        // The termination sequence and the rollout's pacing (components/termination.ts): on Spot the
        // whole sequence fits in a preemption's grace period; minReadySeconds makes each step of a
        // rollout wait until the pods the previous step deleted have exited, which the connection
        // budget counts on (components/connectionBudget.ts).
        const spot = args.spot ?? false;
        const termination = webTermination(spot);
        const maxReplicas = args.maxReplicas ?? 5;
        this.deployment = new k8s.apps.v1.Deployment(`${name}-web`, {
            metadata: { namespace: ns, labels: labelsFor("web", args.stack) },
            spec: {
                // No `replicas`: the HPA owns the count (setting it would fight the HPA on every up).
                selector: { matchLabels: webSelector },
                strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: ROLLOUT_MAX_SURGE } },
                minReadySeconds: webMinReadySeconds(spot),
                revisionHistoryLimit: 5,
                template: {
                    metadata: { labels: { ...labelsFor("web", args.stack), ...CACHE_CLIENT_LABELS } },
                    spec: {
                        ...djangoPodSpec({
                            serviceAccountName: web.ksaName,
                            terminationGracePeriodSeconds: termination.terminationGracePeriodSeconds,
                            initContainers: sidecars,
                            spot,
                            containers: [webContainer(args.image, sources, {
                                cpu: args.cpu ?? "500m",
                                memory: args.memory ?? "512Mi",
                                workers: args.gunicornWorkers ?? 2,
                                threads: args.gunicornThreads ?? 4,
                                wsgiModule: args.wsgiModule,
                                gracefulTimeoutSeconds: termination.gracefulTimeoutSeconds,
                                preStopSeconds: termination.preStopSeconds,
                            }, webCtx)],
                        }),
                        topologySpreadConstraints: [
                            { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: webSelector } },
                            { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: webSelector } },
                        ],
                    },
                },
            },
        }, { ...k8sOpts, dependsOn: [migrate, collectstatic, ...web.grants], customTimeouts: webRolloutTimeouts(spot) });

        this.service = new k8s.core.v1.Service(`${name}-web`, {
            metadata: { namespace: ns, labels: labelsFor("web", args.stack), annotations: args.serviceAnnotations ?? {} },
            spec: { type: "ClusterIP", selector: webSelector, ports: [{ name: "http", port: this.servicePort, targetPort: "http", protocol: "TCP" }] },
        }, k8sOpts);
        this.serviceName = this.service.metadata.name;

        const hpa = new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-web`, {
            metadata: { namespace: ns, labels: labelsFor("web", args.stack) },
            spec: {
                scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: this.deployment.metadata.name },
                minReplicas: args.minReplicas ?? 2,
                maxReplicas,
                metrics: webHpaMetrics(args.targetCpuUtilization ?? 70, args.requestsPerThreadTarget),
                // At most a rollout step's worth of pods per drain period: the connection budget
                // counts one such step besides the rollout (components/connectionBudget.ts).
                behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [scaleDownPolicy(maxReplicas, webPacing(spot))] } },
            },
        }, k8sOpts);

        this.hpaName = hpa.metadata.name;
        if (args.requestsPerThreadTarget !== undefined) {
            new k8s.apiextensions.CustomResource(`${name}-web-metrics`, {
                apiVersion: "monitoring.googleapis.com/v1",
                kind: "PodMonitoring",
                metadata: { namespace: ns, labels: labelsFor("web", args.stack) },
                spec: { selector: { matchLabels: webSelector }, endpoints: [{ port: PROBE_PORT_NAME, path: METRICS_PATH, interval: BUSY_METRIC_SCRAPE_INTERVAL }] },
            }, k8sOpts);
        }

        new k8s.policy.v1.PodDisruptionBudget(`${name}-web`, {
            metadata: { namespace: ns, labels: labelsFor("web", args.stack) },
            // AlwaysAllow: a pod that never became ready (crash loop) may be evicted, so it cannot block a node drain.
            spec: { maxUnavailable: 1, unhealthyPodEvictionPolicy: "AlwaysAllow", selector: { matchLabels: webSelector } },
        }, k8sOpts);

        const specs = buildNetworkPolicies({
            stack: args.stack,
            webPort: WEB_PORT,
            probePort: PROBE_PORT,
            metricsScrapers: args.requestsPerThreadTarget !== undefined,
            ingressSourceRanges: args.ingressSourceRanges,
            databasePort: proxy ? 3307 : 5432,
            databaseCidr: args.databaseCidr,
            cache: args.cache,
            egressAllowList: args.egressAllowList,
        });
        const policy = (role: string, dependsOn: readonly pulumi.Resource[]) =>
            new k8s.networking.v1.NetworkPolicy(`${name}-${role}`, { metadata: { namespace: ns, labels: labelsFor("network-policy", args.stack) }, spec: specs[role] }, { ...k8sOpts, dependsOn: [...dependsOn] });
        const others = Object.keys(specs).filter((role) => role !== "django-egress").map((role) => policy(role, []));
        // NetworkPolicies add up: the Django pods' common egress, which narrowed Google APIs to the
        // private range, changes last — after the other policies (the database's own, a stack that
        // had it in this one) and after the VPC resolves Google's names to that range.
        policy("django-egress", [...others, ...(args.privateGoogleAccess ?? [])]);

        this.podContext = {
            project: args.project,
            stack: args.stack,
            provider: args.provider,
            namespace: ns,
            workloadPool: args.workloadPool,
            container: { image: args.image, sources, ...settings },
            databaseLogin,
            databaseUsers,
            sidecars,
            identities: args.identities,
            web: { identity: webIdentity, ksaName: web.ksaName, email: web.gsa.email, grants: web.grants },
            migrate,
            media: args.media,
            spot,
        };

        this.registerOutputs({ serviceName: this.serviceName, serviceAccountEmail: this.serviceAccountEmail });
    }
}
