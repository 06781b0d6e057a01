import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { labelsFor, LOGS_EPHEMERAL_STORAGE, restrictedContainerSecurity, restrictedPodSecurity, selectorFor } from "./kube";
import { dnsEgressRule } from "./networkPolicies";

type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** Arguments of {@link Cache}. */
export interface CacheArgs {
    /** `in-cluster` Redis StatefulSets or `memorystore`. @default "in-cluster" */
    readonly mode?: "in-cluster" | "memorystore";
    /** Read replicas; in-cluster it can change without touching the master. @default 1 */
    readonly replicas?: number;
    /** Stack name, for labels. */
    readonly stack: string;
    /** Namespace of the app (in-cluster). */
    readonly namespace: pulumi.Input<string>;
    /** Kubernetes provider (in-cluster). */
    readonly provider: k8s.Provider;
    /** Labels of the pods allowed to connect (the Django pods). */
    readonly clientSelector: Record<string, string>;
    /** Official redis image, pinned by digest in production stacks (config.ts). @default {@link REDIS_IMAGE} */
    readonly image?: string;
    /** Redis maxmemory in MB (LRU eviction). @default 200 */
    readonly maxMemoryMb?: number;
    /** Keep the master's data on a PVC with AOF. @default false */
    readonly persistence?: { readonly enabled: boolean; readonly sizeGb: number };
    /** GCP project, region, VPC and private services range (memorystore). */
    readonly project: string;
    readonly region: string;
    readonly networkId: pulumi.Input<string>;
    readonly privateServicesRangeName: pulumi.Input<string>;
    readonly privateServicesDependencies: pulumi.Resource[];
    /** Memorystore size in GB; read replicas need at least 5. @default 5 */
    readonly memorySizeGb?: number;
    /**
     * Memorystore in-transit encryption (`SERVER_AUTHENTICATION`): TLS only (on 6378 for the primary endpoint), server
     * certificate signed by the instance's own CA. Set at creation only; changing it replaces the
     * instance. @default true
     */
    readonly transitEncryption?: boolean;
}

/**
 * The official Redis image, pinned by digest: the multi-platform index of `redis:7.4.11-alpine` as
 * docker-library/repo-info records it (repos/redis/remote/7.4.11-alpine.md at commit
 * 1742085aa3304e996a45e00271d6b8308029b6e3). Docker Hub's tags move (the official images are
 * rebuilt when their base image changes); a digest names the bytes, and with a tag and a digest
 * "only digest will be used for pulling" (https://kubernetes.io/docs/concepts/containers/images/).
 * The tag stays for readers. Named with its registry (`docker.io/library/…`, what the short name
 * means), as Binary Authorization's allowlist needs (components/binaryAuthorization.ts). To move
 * on: the new tag's digest from repo-info or `docker buildx imagetools inspect redis:<tag>`.
 */
export const REDIS_IMAGE = "docker.io/library/redis:7.4.11-alpine@sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf";

/**
 * uid/gid Redis runs as: a high id (≥ 10000, no clash with a user of the node) rather than the
 * official image's `redis` user (999). The image runs as any uid: its entrypoint only switches
 * users when started as root, and redis-server needs nothing but a writable /data, which fsGroup
 * gives it (emptyDir or PVC; on an existing PVC the kubelet re-groups the files to the new fsGroup).
 */
export const REDIS_UID = 10999;
/**
 * Size of the disk-backed emptyDir holding /data when there is no PVC: a replica writes the
 * master's RDB there during a full sync (diskless load is off by default).
 */
const DATA_VOLUME_MI = 1024;
/** Redis port. */
export const REDIS_PORT = 6379;
/**
 * The egress rules to a Memorystore instance: each endpoint (primary, read endpoint) on the port
 * the instance reports for it, never a constant. With in-transit encryption the primary listens on
 * 6378 (field reports such as terraform-google-modules/terraform-google-memorystore#106 and
 * GoogleCloudPlatform/spring-cloud-gcp#2735; Google's page says only that clients "communicate
 * exclusively across a secure port connection",
 * https://cloud.google.com/memorystore/docs/redis/in-transit-encryption); the read endpoint's port
 * is not documented anywhere found, so it is read from the instance like the URLs.
 */
export function memorystoreEgressRules(endpoints: readonly { readonly host: string; readonly port: number }[]): EgressRule[] {
    return endpoints.map(({ host, port }) => ({ to: [{ ipBlock: { cidr: `${host}/32` } }], ports: [{ protocol: "TCP", port }] }));
}

/** The server CA certificates of a Memorystore instance as one PEM bundle (all of them: during a CA rotation two are valid). */
export function caBundle(certs: readonly { readonly cert: string }[]): string {
    return certs.map((c) => `${c.cert.trim()}\n`).join("");
}

/** The redis-server arguments of the master and of a replica; `$(REDIS_PASSWORD)` is expanded by Kubernetes. */
export function redisArgs(role: "master" | "replica", opts: { maxMemoryMb: number; persistence: boolean; masterHost?: string }): string[] {
    const args = [
        "redis-server",
        "--port", String(REDIS_PORT),
        "--requirepass", "$(REDIS_PASSWORD)",
        "--masterauth", "$(REDIS_PASSWORD)",
        "--dir", "/data",
        "--maxmemory", `${opts.maxMemoryMb}mb`,
        "--maxmemory-policy", "allkeys-lru",
        "--save", "",
        "--appendonly", role === "master" && opts.persistence ? "yes" : "no",
        "--protected-mode", "no",
    ];
    if (role === "replica") {
        args.push("--replica-read-only", "yes", "--replicaof", opts.masterHost ?? "", String(REDIS_PORT));
    }
    return args;
}

/**
 * The Redis cache: in-cluster master + replica StatefulSets (replicas follow the master with
 * `--replicaof`, auth from a generated password, NetworkPolicy limiting clients to the Django pods),
 * or Memorystore Standard tier with read replicas. Either way `locations` lists the master first.
 */
export class Cache extends pulumi.ComponentResource {
    /** `redis://host:port/0` URLs (`rediss://` with TLS), master first (django-redis writes to the first). */
    public readonly locations: pulumi.Output<string[]>;
    /** PEM bundle of the CA(s) that sign the server's certificate, when the cache speaks TLS; else undefined. */
    public readonly caCertificate: pulumi.Output<string> | undefined;
    /** The Redis password (secret). */
    public readonly password: pulumi.Output<string>;
    /**
     * The egress rules the cache clients (web pods, workers) need: in-cluster, the master and replica
     * pods on 6379; Memorystore, each endpoint on its own reported port ({@link memorystoreEgressRules}).
     */
    public readonly egressRules: pulumi.Output<EgressRule[]>;

    constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:cache:Cache", name, {}, opts);
        const replicas = args.replicas ?? 1;
        if ((args.mode ?? "in-cluster") === "memorystore") {
            if (replicas < 1 || replicas > 5) {
                throw new Error(`Cache ${name}: Memorystore supports 1 to 5 read replicas, got ${replicas} (cache.replicas).`);
            }
            const memorySizeGb = args.memorySizeGb ?? 5;
            if (memorySizeGb < 5) {
                // https://cloud.google.com/memorystore/docs/redis/about-read-replicas
                throw new Error(`Cache ${name}: Memorystore read replicas need nodes of at least 5 GB, got ${memorySizeGb} (cache.memorySizeGb).`);
            }
            const tls = args.transitEncryption ?? true;
            const instance = new gcp.redis.Instance(`${name}-memorystore`, {
                project: args.project,
                region: args.region,
                tier: "STANDARD_HA",
                memorySizeGb,
                redisVersion: "REDIS_7_2",
                replicaCount: replicas,
                readReplicasMode: "READ_REPLICAS_ENABLED",
                authEnabled: true,
                // Creation-only (the provider marks it ForceNew): https://cloud.google.com/memorystore/docs/redis/manage-in-transit-encryption
                transitEncryptionMode: tls ? "SERVER_AUTHENTICATION" : "DISABLED",
                connectMode: "PRIVATE_SERVICE_ACCESS",
                authorizedNetwork: args.networkId,
                reservedIpRange: args.privateServicesRangeName,
                redisConfigs: { "maxmemory-policy": "allkeys-lru" },
                labels: { "managed-by": "pulumi", app: "django-platform" },
            }, { parent: this, dependsOn: args.privateServicesDependencies });
            const scheme = tls ? "rediss" : "redis";
            this.locations = pulumi.all([instance.host, instance.port, instance.readEndpoint, instance.readEndpointPort])
                .apply(([host, port, readHost, readPort]) => [`${scheme}://${host}:${port}/0`, `${scheme}://${readHost}:${readPort}/0`]);
            // The server certificate is signed by the instance's own CA, listed in serverCaCerts[].cert (PEM):
            // https://cloud.google.com/memorystore/docs/redis/about-in-transit-encryption
            this.caCertificate = tls ? instance.serverCaCerts.apply((certs) => caBundle(certs ?? [])) : undefined;
            this.password = pulumi.secret(instance.authString);
            this.egressRules = pulumi.all([instance.host, instance.port, instance.readEndpoint, instance.readEndpointPort])
                .apply(([host, port, readHost, readPort]) => memorystoreEgressRules([{ host, port }, { host: readHost, port: readPort }]));
        } else {
            const inCluster = this.createInCluster(name, args, replicas);
            this.caCertificate = undefined;
            this.locations = inCluster.locations;
            this.password = inCluster.password;
            this.egressRules = pulumi.output([{
                to: [
                    { podSelector: { matchLabels: selectorFor("cache-master", args.stack) } },
                    { podSelector: { matchLabels: selectorFor("cache-replica", args.stack) } },
                ],
                ports: [{ protocol: "TCP", port: REDIS_PORT }],
            }]);
        }
        this.registerOutputs({ locations: this.locations, password: this.password, caCertificate: this.caCertificate });
    }

    private createInCluster(name: string, args: CacheArgs, replicas: number) {
        const k8sOpts = { parent: this, provider: args.provider };
        const image = args.image ?? REDIS_IMAGE;
        const maxMemoryMb = args.maxMemoryMb ?? 200;
        const persistence = args.persistence?.enabled ?? false;
        const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
        const secret = new k8s.core.v1.Secret(`${name}-auth`, {
            metadata: { namespace: args.namespace, labels: labelsFor("cache", args.stack) },
            type: "Opaque",
            stringData: { password: password.result },
        }, k8sOpts);

        // A dedicated service account with no token and no Google identity: Redis needs neither.
        const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-redis`, {
            metadata: { name: "redis", namespace: args.namespace, labels: labelsFor("cache", args.stack) },
            automountServiceAccountToken: false,
        }, k8sOpts);

        const masterService = `${name}-master`;
        const replicaService = `${name}-replicas`;
        const masterHost = pulumi.interpolate`${masterService}.${args.namespace}.svc.cluster.local`;
        const replicaHost = pulumi.interpolate`${replicaService}.${args.namespace}.svc.cluster.local`;

        const dataOnPvc = (role: "master" | "replica") => role === "master" && persistence;
        // The pod's ephemeral-storage limit also caps its emptyDirs: logs, plus /data when it is not on a PVC.
        const ephemeralStorage = (role: "master" | "replica") =>
            dataOnPvc(role) ? LOGS_EPHEMERAL_STORAGE : `${DATA_VOLUME_MI + parseInt(LOGS_EPHEMERAL_STORAGE, 10)}Mi`;
        const podSpec = (role: "master" | "replica", host?: string): k8s.types.input.core.v1.PodSpec => ({
            serviceAccountName: serviceAccount.metadata.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurity(REDIS_UID),
            terminationGracePeriodSeconds: 30,
            topologySpreadConstraints: [{
                maxSkew: 1,
                topologyKey: "topology.kubernetes.io/zone",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: { matchLabels: selectorFor(`cache-${role}`, args.stack) },
            }],
            containers: [{
                name: "redis",
                image,
                args: redisArgs(role, { maxMemoryMb, persistence, masterHost: host }),
                env: [
                    { name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "password" } } },
                    { name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: secret.metadata.name, key: "password" } } },
                ],
                ports: [{ name: "redis", containerPort: REDIS_PORT }],
                readinessProbe: { exec: { command: ["sh", "-c", "redis-cli -h 127.0.0.1 ping | grep -q PONG"] }, periodSeconds: 5, timeoutSeconds: 2 },
                livenessProbe: { tcpSocket: { port: "redis" }, initialDelaySeconds: 10, periodSeconds: 10 },
                resources: {
                    requests: { cpu: "100m", memory: `${maxMemoryMb + 64}Mi`, "ephemeral-storage": ephemeralStorage(role) },
                    limits: { memory: `${maxMemoryMb + 64}Mi`, "ephemeral-storage": ephemeralStorage(role) },
                },
                securityContext: restrictedContainerSecurity(REDIS_UID),
                volumeMounts: [{ name: "data", mountPath: "/data" }],
            }],
            volumes: dataOnPvc(role) ? [] : [{ name: "data", emptyDir: { sizeLimit: `${DATA_VOLUME_MI}Mi` } }],
        });

        const masterSelector = selectorFor("cache-master", args.stack);
        const master = new k8s.apps.v1.StatefulSet(`${name}-master`, {
            metadata: { namespace: args.namespace, labels: labelsFor("cache-master", args.stack) },
            spec: {
                serviceName: masterService,
                replicas: 1,
                selector: { matchLabels: masterSelector },
                template: { metadata: { labels: labelsFor("cache-master", args.stack) }, spec: podSpec("master") },
                volumeClaimTemplates: persistence ? [{
                    metadata: { name: "data" },
                    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${args.persistence?.sizeGb ?? 1}Gi` } } },
                }] : undefined,
            },
        }, {
            ...k8sOpts,
            // volumeClaimTemplates cannot change in place ("updates to statefulset spec for fields
            // other than 'replicas', 'ordinals', 'template', 'updateStrategy',
            // 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"), so
            // toggling cache.persistence or its size replaces the master: the old one goes first, so
            // the Service never routes writes to two masters. The cache starts empty; the old PVC is
            // kept (retention policy Retain) until someone deletes it (docs/operations.md).
            replaceOnChanges: ["spec.volumeClaimTemplates"],
            deleteBeforeReplace: true,
        });
        new k8s.core.v1.Service(`${name}-master`, {
            metadata: { name: masterService, namespace: args.namespace, labels: labelsFor("cache-master", args.stack) },
            spec: { type: "ClusterIP", selector: masterSelector, ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }] },
        }, k8sOpts);

        const replicaSelector = selectorFor("cache-replica", args.stack);
        const replicaSpec = masterHost.apply((host) => podSpec("replica", host));
        new k8s.apps.v1.StatefulSet(`${name}-replica`, {
            metadata: { namespace: args.namespace, labels: labelsFor("cache-replica", args.stack) },
            spec: {
                serviceName: replicaService,
                replicas,
                selector: { matchLabels: replicaSelector },
                template: { metadata: { labels: labelsFor("cache-replica", args.stack) }, spec: replicaSpec },
            },
        }, { ...k8sOpts, dependsOn: [master] });
        new k8s.core.v1.Service(`${name}-replicas`, {
            metadata: { name: replicaService, namespace: args.namespace, labels: labelsFor("cache-replica", args.stack) },
            spec: { type: "ClusterIP", selector: replicaSelector, ports: [{ name: "redis", port: REDIS_PORT, targetPort: "redis" }] },
        }, k8sOpts);
        // AlwaysAllow: a pod that never became ready (crash loop) may be evicted, so it cannot block a node drain.
        new k8s.policy.v1.PodDisruptionBudget(`${name}-replicas`, {
            metadata: { namespace: args.namespace, labels: labelsFor("cache-replica", args.stack) },
            spec: { maxUnavailable: 1, unhealthyPodEvictionPolicy: "AlwaysAllow", selector: { matchLabels: replicaSelector } },
        }, k8sOpts);
        new k8s.policy.v1.PodDisruptionBudget(`${name}-master`, {
            metadata: { namespace: args.namespace, labels: labelsFor("cache-master", args.stack) },
            spec: { maxUnavailable: 1, unhealthyPodEvictionPolicy: "AlwaysAllow", selector: { matchLabels: masterSelector } },
        }, k8sOpts);

        const redisPort = [{ protocol: "TCP", port: REDIS_PORT }];
        // Who may talk to Redis: the Django pods, and replicas to the master.
        new k8s.networking.v1.NetworkPolicy(`${name}-ingress`, {
            metadata: { namespace: args.namespace, labels: labelsFor("cache", args.stack) },
            spec: {
                podSelector: { matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: ["cache-master", "cache-replica"] }] },
                policyTypes: ["Ingress"],
                ingress: [{
                    from: [{ podSelector: { matchLabels: args.clientSelector } }, { podSelector: { matchLabels: replicaSelector } }],
                    ports: redisPort,
                }],
            },
        }, k8sOpts);
        // Replicas reach the master (and DNS to find it); nothing else leaves the Redis pods.
        new k8s.networking.v1.NetworkPolicy(`${name}-replica-egress`, {
            metadata: { namespace: args.namespace, labels: labelsFor("cache", args.stack) },
            spec: {
                podSelector: { matchLabels: replicaSelector },
                policyTypes: ["Egress"],
                egress: [
                    { to: [{ podSelector: { matchLabels: masterSelector } }], ports: redisPort },
                    dnsEgressRule(),
                ],
            },
        }, k8sOpts);

        return {
            locations: pulumi.all([masterHost, replicaHost]).apply(([m, r]) => [`redis://${m}:${REDIS_PORT}/0`, ...(replicas > 0 ? [`redis://${r}:${REDIS_PORT}/0`] : [])]),
            password: pulumi.secret(password.result),
        };
    }
}
