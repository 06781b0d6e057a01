/**
 * The transition table: for every key of the configuration reference (docs/configuration.md), what
 * changing it after the first deploy does, as one or more rows. Each row names a representative
 * change on a shipped stack; tests/transitions.test.ts renders the stack before and after, plans
 * the transition the way the engine does (plan.ts) and checks it against the rules (check.ts) and
 * the row's acknowledgements. `npm run docs:transitions` writes the table, with the planned steps,
 * into docs/transitions.md.
 *
 * A row's `what` says what Google, GKE and the providers do, with sources; `accept` names each
 * data-bearing resource the transition replaces or deletes and why that is acceptable or which
 * procedure of docs/transitions.md to follow; `refused` lists what the engine refuses (protect).
 */
import { REDIS_IMAGE } from "../../../components/cache";

/** Config overrides, as tests/helpers/platform.ts `renderStack` takes them. */
export type Overrides = Record<string, unknown>;

/** One representative change of one key. */
export interface TransitionRow {
    /** The key as docs/configuration.md lists it (`database.tier`, `workers.<name>.cpu`, `gcp:region`). */
    readonly key: string;
    /** Keys of the same kind changed together in this row (one render for all of them). */
    readonly alsoKeys?: readonly string[];
    /** Short label of the change, e.g. `on → off`. */
    readonly change: string;
    readonly stack: "staging" | "production";
    /** Overrides of both renders (a mode the key needs). */
    readonly base?: Overrides;
    /** Overrides of the after render only; `null`: the key has nothing to change to. */
    readonly after: Overrides | null;
    /** The after config is refused by validation with a message matching this. */
    readonly refusedByValidation?: RegExp;
    /** What Google, GKE and the providers do, with sources (Markdown). */
    readonly what: string;
    /** Logical resource name → why its replacement or delete is acceptable, or the procedure. */
    readonly accept?: Readonly<Record<string, string>>;
    /** Logical names whose replacement or delete the engine refuses (protect): the preview fails. */
    readonly refused?: readonly string[];
    /** Why a person with more rights than CI's deployer must run it (it destroys KMS key material). */
    readonly byHuman?: string;
}

const P = "django-platform";

/** Overrides that set one config path (`database.tier`, `gcp:region`, `workers.tasks.cpu`) to `value` (undefined removes it). */
export function set(path: string, value: unknown, more: Overrides = {}): Overrides {
    if (path.includes(":")) {
        return { ...more, [path]: value };
    }
    const [top, ...rest] = path.split(".");
    const nested = rest.reduceRight<unknown>((v, k) => ({ [k]: v }), value);
    return merge(more, { [`${P}:${top}`]: nested });
}

function merge(a: Overrides, b: Overrides): Overrides {
    const out: Overrides = { ...a };
    for (const [k, v] of Object.entries(b)) {
        const cur = out[k];
        out[k] = cur && v && typeof cur === "object" && typeof v === "object" && !Array.isArray(cur) && !Array.isArray(v) ? merge(cur as Overrides, v as Overrides) : v;
    }
    return out;
}

// Sources used by several rows.
const SQL_UPDATE = "Cloud SQL updates the setting in place ([instance settings](https://cloud.google.com/sql/docs/postgres/instance-settings): modifiable after creation); the update \"might cause your instance to restart\" ([instances.update](https://cloud.google.com/sql/docs/postgres/admin-api/rest/v1beta4/instances/update)), so release at a quiet hour";
const ENV = "The app's env ConfigMap/Secret are immutable and auto-named, so a changed value makes new ones (pulumi-kubernetes replaces immutable ConfigMaps and Secrets); the web and worker Deployments roll to them and the migrate and collectstatic Jobs run again (a Job's `spec.template` is immutable: replaced under the same name, deleted first)";
const ROLL = "Kubernetes rolls the pods (Deployment `spec.template` change: [rolling update](https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment), `maxUnavailable: 0`)";
const NOTHING = "No resource changes: only the offline cost estimate of `npm run synth` reads it (docs/costs.md).";
const GKE_ALERTS = "Cloud Monitoring updates the alert policy in place (terraform-provider-google: no ForceNew field in its conditions)";
const PROTECTED_DATA = "Refused in preview: the engine will not replace or delete a protected resource ([protect](https://www.pulumi.com/docs/iac/concepts/options/protect/)), and `database.deletionProtection`, `cluster.deletionProtection` and the buckets' `forceDestroy: false` protect them";
const MOVE = "Procedure: [a new stack](#moving-a-stack-to-another-region-or-project)";
const DISPOSABLE = "staging is disposable: `database.deletionProtection`, `cluster.deletionProtection` false and `statics.forceDestroy`, `media.forceDestroy` true allow it";
const OPTED_OUT = "staging opted out of its protection";
const KEEP_PVC = "the master's claim is kept (StatefulSet PVC retention: Retain); [procedure](operations.md#change-in-cluster-redis-persistence)";

const EXISTING_NETWORK = { [`${P}:network`]: { mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "google-managed-services-shared" } };
const EXISTING = { ...EXISTING_NETWORK, [`${P}:cluster`]: { mode: "existing", name: "shared-gke", location: "europe-west1-b", nodeServiceAccount: "gke-nodes@acme-shared.iam.gserviceaccount.com" } };
const MEMORYSTORE = { [`${P}:cache`]: { mode: "memorystore", memorySizeGb: 5, persistence: { enabled: false } } };
const ARMOR_ON = set("edge.armor.enabled", true);
/** Binary Authorization needs every image named with its registry (config.ts). */
const SHORT_CACHE_IMAGE = set("cache.image", REDIS_IMAGE.replace(/^docker\.io\/library\//, ""));

/** Every row, in the order of docs/configuration.md. */
export const TRANSITIONS: readonly TransitionRow[] = [
    {
        key: "gcp:project", change: "another project", stack: "production", after: set("gcp:project", "acme-django-prod2"),
        what: `Every Google resource has \`project\` ForceNew, so everything would be created anew in the other project and the old one deleted. ${PROTECTED_DATA}. ${MOVE}.`,
        refused: ["django-cluster-gke", "django-cluster-secrets-key", "django-database-db", "django-database-instance", "django-database-user", "django-media-bucket", "django-media-logs", "django-statics-bucket", "django-statics-logs"],
    },
    {
        key: "gcp:region", change: "another region", stack: "production", after: set("gcp:region", "europe-west4"),
        what: `Cloud SQL's region, the cluster's location, the buckets' location (their default), the key ring, subnet, router and NAT are ForceNew. ${PROTECTED_DATA}. ${MOVE}.`,
        refused: ["django-cluster-gke", "django-cluster-secrets-key", "django-database-db", "django-database-instance", "django-database-user", "django-media-bucket", "django-media-logs", "django-statics-bucket", "django-statics-logs"],
    },
    {
        key: "gcp:region", change: "another region (staging)", stack: "staging", after: set("gcp:region", "europe-west4"),
        what: `The same replacements, not protected: ${DISPOSABLE}. The database and uploads are lost; the site's address stays. ${MOVE} keeps them.`,
        byHuman: "replacing the cluster's Secrets key destroys its versions, which CI's deployer may not do (bootstrap/permissionTable.ts): run it yourself, as for `pulumi destroy` (operations.md)",
        accept: {
            "django-database-instance": OPTED_OUT, "django-database-db": OPTED_OUT, "django-database-user": OPTED_OUT,
            "django-statics-bucket": OPTED_OUT, "django-statics-logs": OPTED_OUT, "django-media-bucket": OPTED_OUT, "django-media-logs": OPTED_OUT,
            "django-cluster-gke": OPTED_OUT, "django-cluster-secrets-key": OPTED_OUT, "django-cluster-keyring": "Google never deletes a key ring; Pulumi forgets it",
        },
    },
    {
        key: "domain", change: "another host name", stack: "production", after: set("domain", "www.example.org", set("statics.corsOrigins", ["https://www.example.org"])),
        what: `GKE's ManagedCertificate is updated and provisions a certificate for the new name once it resolves ([managed certificates](https://cloud.google.com/kubernetes-engine/docs/how-to/managed-certs)); the DNS record's \`name\` is ForceNew, so the old name's record is deleted and the new one created; the uptime check's monitored resource is ForceNew (replaced). ${ENV}.`,
        accept: { "django-dns-site": "the record for the old name goes with it: the old host name stops resolving to the site (keep a redirect elsewhere if it must live on)" },
    },
    {
        key: "image", change: "a new image", stack: "production", after: set("image", "europe-west1-docker.pkg.dev/acme-django-staging/django/app:0.2.0"),
        what: `The migrate and collectstatic Jobs are named after the image, so a new image creates new Jobs (and deletes the old ones); then ${ROLL.charAt(0).toLowerCase()}${ROLL.slice(1)}. docs/release.md.`,
    },
    {
        key: "database.tier", change: "a bigger machine", stack: "production", after: set("database.tier", "db-custom-4-15360"),
        what: `${SQL_UPDATE}; with high availability the standby takes over meanwhile.`,
    },
    {
        key: "database.version", change: "POSTGRES_17 → POSTGRES_18", stack: "production", base: set("database.version", "POSTGRES_17"), after: set("database.version", "POSTGRES_18"),
        what: "`database_version` is not ForceNew: the provider patches the instance and Cloud SQL upgrades the major version in place ([upgrade in place](https://cloud.google.com/sql/docs/postgres/upgrade-major-db-version-inplace)), with downtime; read that page's backup and extension notes first. There is no way back to the older version.",
    },
    {
        key: "database.edition", change: "ENTERPRISE → ENTERPRISE_PLUS", stack: "production", after: set("database.edition", "ENTERPRISE_PLUS", set("database.tier", "db-perf-optimized-N-2", set("database.maxConnections", 400))),
        what: `${SQL_UPDATE}. The tier must belong to the edition (validation checks it).`,
    },
    {
        key: "database.highAvailability", change: "on → off", stack: "production", after: set("database.highAvailability", false),
        what: `${SQL_UPDATE}.`,
    },
    {
        key: "database.diskSizeGb", change: "50 → 100", stack: "production", after: set("database.diskSizeGb", 100),
        what: "Nothing: the size is the initial one and `ignoreChanges` keeps Pulumi off it, because Cloud SQL grows the disk by itself (storage auto-increase) and never shrinks it. Grow it by hand with `gcloud sql instances patch <instance> --storage-size <GB>`.",
    },
    {
        key: "database.backups.enabled", change: "on → off", stack: "production", after: set("database.backups.enabled", false),
        what: `${SQL_UPDATE}. Point-in-time recovery goes with it (it needs backups); existing backups follow their retention.`,
    },
    {
        key: "database.backups.pointInTimeRecovery", change: "on → off", stack: "production", after: set("database.backups.pointInTimeRecovery", false),
        what: `${SQL_UPDATE}.`,
    },
    {
        key: "database.backups.retainedBackups", change: "30 → 14", stack: "production", after: set("database.backups.retainedBackups", 14),
        what: `${SQL_UPDATE}; Cloud SQL deletes backups beyond the new count.`,
    },
    {
        key: "database.backups.startTime", change: "02:00 → 04:00", stack: "production", after: set("database.backups.startTime", "04:00"),
        what: `${SQL_UPDATE}.`,
    },
    {
        key: "database.maintenanceWindow.day", change: "7 → 6", stack: "production", after: set("database.maintenanceWindow.day", 6),
        what: `${SQL_UPDATE}.`,
    },
    {
        key: "database.maintenanceWindow.hour", change: "3 → 4", stack: "production", after: set("database.maintenanceWindow.hour", 4),
        what: `${SQL_UPDATE}.`,
    },
    {
        key: "database.deletionProtection", change: "on → off", stack: "production", after: set("database.deletionProtection", false),
        what: "Both Cloud SQL deletion protections are updated in place and Pulumi drops `protect` from the instance, the database and the user in the same `up` (a later change may then replace or delete them).",
    },
    {
        key: "database.connector", change: "auth-proxy → private-ip", stack: "production", after: set("database.connector", "private-ip"),
        what: `The instance's \`sslMode\` and flags (\`cloudsql.iam_authentication\` off) are updated in place; the pods lose the Auth Proxy sidecar and connect to the private IP with TLS, all as \`database.user\` with its password, which the env Secret gains: ${ENV}. The IAM database users are abandoned (\`deletionPolicy: ABANDON\`: they keep their grants and cannot log in without the flag); run the IAM step afterwards to drop the identities' \`roles/cloudsql.client\` and \`instanceUser\` grants.`,
    },
    {
        key: "database.connector", change: "private-ip → auth-proxy", stack: "production", base: set("database.connector", "private-ip"), after: set("database.connector", "auth-proxy"),
        what: `Run the IAM step first (the identities' \`roles/cloudsql.client\` and \`instanceUser\` grants). The instance's \`sslMode\` becomes TRUSTED_CLIENT_CERTIFICATE_REQUIRED and \`cloudsql.iam_authentication\` on (update), the IAM database users are created, the migrate Job runs as its own identity and grants the others (docs/architecture.md, "Database roles"), then the pods roll with the proxy sidecar and their own logins. Pods of the old release connect without a client certificate, so Cloud SQL refuses them from the instance's update until the rollout replaced them: expect errors for the length of a rollout, and switch at a quiet hour.`,
    },
    {
        key: "database.maxConnections", change: "tier default → 400", stack: "production", after: set("database.maxConnections", 400),
        what: `The \`max_connections\` flag is updated in place. ${SQL_UPDATE} ([flags](https://cloud.google.com/sql/docs/postgres/flags): max_connections needs a restart).`,
    },
    {
        key: "database.name", change: "django → app", stack: "production", after: set("database.name", "app"),
        what: `The database's \`name\` is ForceNew: a new, empty database and the old one dropped. ${PROTECTED_DATA}. [Procedure](#renaming-the-database-or-its-user).`,
        refused: ["django-database-db"],
    },
    {
        key: "database.user", change: "django → app", stack: "production", after: set("database.user", "app"),
        what: `The user's \`name\` is ForceNew: a new login that owns none of the tables the old one created (the old login is abandoned, \`deletionPolicy: ABANDON\`). ${PROTECTED_DATA}. [Procedure](#renaming-the-database-or-its-user).`,
        refused: ["django-database-user"],
    },
    {
        key: "cache.mode", change: "in-cluster → memorystore", stack: "production", after: MEMORYSTORE,
        what: `Memorystore is created, ${ENV.charAt(0).toLowerCase()}${ENV.slice(1)}; the in-cluster Redis is deleted last. The cache starts empty (it holds no sessions: Django's default session engine is the database).`,
        accept: { "django-cache-master": `the in-cluster cache is no longer used; ${KEEP_PVC}` },
    },
    {
        key: "cache.mode", change: "memorystore → in-cluster", stack: "production", base: MEMORYSTORE, after: set("cache.mode", "in-cluster"),
        what: `The in-cluster Redis is created, ${ENV.charAt(0).toLowerCase()}${ENV.slice(1)}; the Memorystore instance is deleted last. The cache starts empty.`,
        accept: { "django-cache-memorystore": "a cache, no longer used once the pods have rolled (deletes run last)" },
    },
    {
        key: "cache.replicas", change: "2 → 3", stack: "production", after: set("cache.replicas", 3),
        what: "The replica StatefulSet's `replicas` is updated in place; the master is untouched (operations.md, \"Scale Redis replicas\").",
    },
    {
        key: "cache.replicas", change: "2 → 3 (memorystore)", stack: "production", base: MEMORYSTORE, after: set("cache.replicas", 3),
        what: "`replica_count` is not ForceNew: Memorystore adds the read replica in place ([read replicas](https://cloud.google.com/memorystore/docs/redis/about-read-replicas)).",
    },
    {
        key: "cache.image", change: "another Redis image, pinned by digest", stack: "production", after: set("cache.image", "redis:7.4.10-alpine@sha256:e7723ff73d963f5cc6d9c4643ea3d989527a402a319239054e9472a7fb9219a2"),
        what: "The StatefulSets' pod templates change: Kubernetes restarts the Redis pods one by one ([StatefulSet rolling update](https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#rolling-updates)); the master reloads its append-only file from its volume.",
    },
    {
        key: "cache.memorySizeGb", change: "5 → 10", stack: "production", base: MEMORYSTORE, after: set("cache.memorySizeGb", 10),
        what: "`memory_size_gb` is not ForceNew: Memorystore scales in place ([scaling](https://cloud.google.com/memorystore/docs/redis/scale-instance)). In-cluster mode ignores the key.",
    },
    {
        key: "cache.transitEncryption", change: "on → off", stack: "production", base: MEMORYSTORE, after: set("cache.transitEncryption", false),
        what: `\`transit_encryption_mode\` is ForceNew: a new instance (new IP and AUTH string) is created, ${ENV.charAt(0).toLowerCase()}${ENV.slice(1)}, and the old instance is deleted last.`,
        accept: { "django-cache-memorystore": "a cache: the new instance starts empty, and the pods use it before the old one is deleted" },
    },
    {
        key: "cache.maxMemoryMb", change: "200 → 400", stack: "production", after: set("cache.maxMemoryMb", 400),
        what: "The Redis arguments and memory limit change: Kubernetes restarts the Redis pods one by one (StatefulSet rolling update).",
    },
    {
        key: "cache.persistence.enabled", change: "on → off", stack: "production", after: set("cache.persistence.enabled", false),
        what: "`volumeClaimTemplates` is immutable (pulumi-kubernetes forceNew, and the program's `replaceOnChanges`): the master is replaced, deleted first.",
        accept: { "django-cache-master": KEEP_PVC },
    },
    {
        key: "cache.persistence.sizeGb", change: "5 → 10", stack: "production", after: set("cache.persistence.sizeGb", 10),
        what: "`volumeClaimTemplates` is immutable: the master is replaced, deleted first, with an empty volume.",
        accept: { "django-cache-master": KEEP_PVC },
    },
    {
        key: "statics.corsOrigins", change: "another origin", stack: "production", after: set("statics.corsOrigins", ["https://www.example.com", "https://example.com"]),
        what: "The bucket's `cors` is updated in place.",
    },
    {
        key: "statics.location", change: "region → EU", stack: "production", after: set("statics.location", "EU"),
        what: `A bucket's \`location\` is ForceNew. ${PROTECTED_DATA}. [Procedure](#moving-or-removing-a-bucket).`,
        refused: ["django-statics-bucket", "django-statics-logs"],
    },
    {
        key: "statics.cdn.enabled", change: "off → on", stack: "staging", after: set("statics.cdn.enabled", true, set("statics.cdn.domain", "static.staging.example.com")),
        what: `The CDN's address, certificate, backend bucket and load balancer are created; \`STATIC_URL\` becomes the CDN: ${ENV}. Point the CDN domain at \`cdnIpAddress\` (or let \`dns.managedZone\` do it).`,
    },
    {
        key: "statics.cdn.enabled", change: "on → off", stack: "production", after: set("statics.cdn.enabled", false),
        what: `\`STATIC_URL\` goes back to the bucket (${ENV.charAt(0).toLowerCase()}${ENV.slice(1)}), then the CDN's load balancer, certificate, address and its DNS record are deleted.`,
        accept: {
            "django-statics-cdn-ip": "the CDN's address is released: nothing of the stack points at it once the pods have rolled (deletes run last)",
            "django-dns-cdn": "the CDN domain's record goes with the CDN",
        },
    },
    {
        key: "statics.cdn.domain", change: "another CDN host name", stack: "production", after: set("statics.cdn.domain", "cdn.example.com"),
        what: `The managed certificate's domains are ForceNew: a new certificate is created and the HTTPS proxy switches to it (update) before the old one is deleted; HTTPS on the new name works once it is provisioned ([Google-managed certificates](https://cloud.google.com/load-balancing/docs/ssl-certificates/google-managed-certs)). The DNS record's name is ForceNew. ${ENV}.`,
        accept: { "django-dns-cdn": "the old CDN name's record goes; the new name gets its own" },
    },
    {
        key: "statics.forceDestroy", change: "off → on", stack: "production", after: set("statics.forceDestroy", true),
        what: "`force_destroy` is updated in place, and Pulumi drops `protect` from the statics and access-log buckets: from the next `up` on they may be deleted with their objects.",
    },
    {
        key: "statics.access", change: "public → private", stack: "production", after: set("statics.access", "private"), refusedByValidation: /statics\.access/,
        what: "Refused by validation: browsers could not fetch the files (docs/configuration.md).",
    },
    ...(["minReplicas", "maxReplicas", "targetCpuUtilization"] as const).map((k): TransitionRow => ({
        key: `workload.${k}`, change: "another bound", stack: "production", after: set(`workload.${k}`, k === "minReplicas" ? 4 : k === "maxReplicas" ? 10 : 60),
        what: "The HorizontalPodAutoscaler is updated in place; it scales the pods to the new bounds.",
    })),
    {
        key: "workload.requestsPerThreadTarget", change: "unset → 0.8", stack: "production", after: set("workload.requestsPerThreadTarget", 0.8),
        what: "The HorizontalPodAutoscaler gets a second metric and the web pods' NetworkPolicy a rule for Managed Service for Prometheus' collectors (both updated in place); a PodMonitoring is created. Install the Custom Metrics Stackdriver Adapter first ([operations.md](operations.md#saturation-the-autoscaler-can-see)): without it the HPA never scales down.",
    },
    ...(["cpu", "memory", "gunicornWorkers", "gunicornThreads", "wsgiModule"] as const).map((k): TransitionRow => ({
        key: `workload.${k}`, change: "another value", stack: "production",
        after: set(`workload.${k}`, { cpu: "1", memory: "2Gi", gunicornWorkers: 1, gunicornThreads: 2, wsgiModule: "mysite.wsgi" }[k]),
        what: `${ROLL}.`,
    })),
    ...(["connMaxAge", "logLevel", "settingsModule"] as const).map((k): TransitionRow => ({
        key: `workload.${k}`, change: "another value", stack: "production",
        after: set(`workload.${k}`, { connMaxAge: 0, logLevel: "WARNING", settingsModule: "mysite.settings" }[k]),
        what: `${k === "settingsModule" ? "Every Django container's DJANGO_SETTINGS_MODULE changes: the Jobs (immutable template) are replaced and run again, the Deployments roll" : ENV}.`,
    })),
    {
        key: "workload.spot", change: "on → off", stack: "staging", after: set("workload.spot", false),
        what: `The pods' node selector and termination sequence change (a longer grace period and gunicorn graceful timeout, a longer \`minReadySeconds\`: components/termination.ts): ${ROLL.charAt(0).toLowerCase()}${ROLL.slice(1)} onto regular Autopilot capacity; the HPA's scale-down policy is updated in place; the CronJob's template is updated for its next run.`,
    },
    {
        key: "workload.spot", change: "off → on", stack: "staging", base: set("workload.spot", false), after: set("workload.spot", true),
        what: `The pods' node selector and termination sequence change (everything fits in a preemption's 15 s: components/termination.ts): ${ROLL.charAt(0).toLowerCase()}${ROLL.slice(1)} onto Spot capacity ([Spot Pods](https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods)); the HPA's scale-down policy is updated in place.`,
    },
    {
        key: "networking.mode", change: "(one value)", stack: "production", after: null,
        what: "Only `ingress` exists.",
    },
    {
        key: "networking.sslPolicyProfile", change: "RESTRICTED → MODERN", stack: "production", after: set("networking.sslPolicyProfile", "MODERN"),
        what: "The SSL policies' `profile` is updated in place (not ForceNew); the load balancers use them at once.",
    },
    {
        key: "cluster.mode", change: "autopilot → existing", stack: "production", after: EXISTING,
        what: `The created VPC and cluster would be deleted and everything Kubernetes created again in the other cluster. ${PROTECTED_DATA}. [Procedure](#moving-a-stack-to-another-region-or-project): a new stack.`,
        refused: ["django-cluster-gke", "django-cluster-secrets-key"],
    },
    {
        key: "cluster.name", change: "another existing cluster", stack: "staging", base: EXISTING, after: set("cluster.name", "other-gke"),
        what: "The Kubernetes provider's kubeconfig names another cluster, so `DiffConfig` replaces the provider and the engine replaces every Kubernetes object: all are created in the new cluster and deleted from the old one. A move between clusters: plan it like a new deploy. DNS stays: the new Ingress takes the same reserved address, once the old cluster's Ingress has been deleted and released it.",
    },
    {
        key: "cluster.location", change: "another location", stack: "staging", base: EXISTING, after: set("cluster.location", "europe-west1"),
        what: "Another cluster, as `cluster.name`: every Kubernetes object is created in it and deleted from the old one.",
    },
    {
        key: "cluster.releaseChannel", change: "STABLE → REGULAR", stack: "production", after: set("cluster.releaseChannel", "REGULAR"),
        what: "`release_channel` is updated in place; GKE upgrades the cluster on the new channel's schedule ([release channels](https://cloud.google.com/kubernetes-engine/docs/concepts/release-channels)).",
    },
    {
        key: "cluster.masterAuthorizedNetworks", change: "another network", stack: "production", after: set("cluster.masterAuthorizedNetworks", [{ cidr: "81.2.69.0/24", name: "vpn" }]),
        what: "`master_authorized_networks_config` is updated in place. Pulumi and CI use the DNS endpoint, which ignores the list.",
    },
    {
        key: "cluster.masterCidr", change: "another /28", stack: "production", after: set("cluster.masterCidr", "172.16.0.16/28"),
        what: `\`master_ipv4_cidr_block\` is ForceNew: a new cluster. ${PROTECTED_DATA}.`,
        refused: ["django-cluster-gke"],
    },
    {
        key: "cluster.masterCidr", change: "another /28 (staging)", stack: "staging", after: set("cluster.masterCidr", "172.16.0.16/28"),
        what: `A new cluster (\`cluster.deletionProtection\` false: ${DISPOSABLE}); the Kubernetes provider follows it, so every Kubernetes object is created in the new cluster before the old cluster is deleted.`,
        accept: { "django-cluster-gke": OPTED_OUT },
    },
    {
        key: "cluster.deletionProtection", change: "on → off", stack: "production", after: set("cluster.deletionProtection", false),
        what: "GKE's `deletion_protection` is updated in place and Pulumi drops `protect` from the cluster and its secrets key.",
    },
    {
        key: "cluster.namespace", change: "another namespace", stack: "production", after: set("cluster.namespace", "django-web"),
        what: "A namespaced object's namespace is part of its identity (pulumi-kubernetes replaces on `.metadata.namespace`): every object is created in the new namespace, then the old ones and the old namespace are deleted; the Workload Identity bindings name the new namespace (replaced).",
        accept: { "django-cache-master": KEEP_PVC.replace("the master's claim is kept", "the old namespace is deleted with its claims") },
    },
    {
        key: "cluster.nodeServiceAccount", change: "another account", stack: "staging", base: EXISTING, after: set("cluster.nodeServiceAccount", "gke-nodes-2@acme-shared.iam.gserviceaccount.com"),
        what: "The repository grant's `member` is ForceNew: the new account's grant is created, then the old account's deleted.",
    },
    {
        key: "cluster.rbacSecurityGroup", change: "unset → a group", stack: "production", after: set("cluster.rbacSecurityGroup", "gke-security-groups@example.com"),
        what: "`authenticator_groups_config` is updated in place ([Google Groups for RBAC](https://cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac)).",
    },
    {
        key: "network.mode", change: "create → existing", stack: "production", after: EXISTING_NETWORK,
        what: `The cluster's \`network\`/\`subnetwork\` are ForceNew and the created VPC would be deleted. ${PROTECTED_DATA}. A new stack.`,
        refused: ["django-cluster-gke"],
    },
    ...(["name", "subnetName", "privateServicesRangeName"] as const).map((k): TransitionRow => ({
        key: `network.${k}`, change: "another existing one", stack: "staging", base: EXISTING, after: set(`network.${k}`, `other-${k.toLowerCase()}`),
        what: k === "privateServicesRangeName"
            ? "The range name only feeds Memorystore's `reserved_ip_range` (unused with in-cluster Redis) and the NetworkPolicy's database range."
            : "With an existing cluster, only Cloud SQL's private network changes (updated in place, `private_network` is not ForceNew); the instance moves networks, which Cloud SQL may refuse while it has connections ([private IP](https://cloud.google.com/sql/docs/postgres/configure-private-ip)). Plan it as a move.",
    })),
    ...(["podsRangeName", "servicesRangeName"] as const).map((k): TransitionRow => ({
        key: `network.${k}`, change: "another name", stack: "production", after: set(`network.${k}`, `${k === "podsRangeName" ? "pods" : "services"}-2`),
        what: `The cluster's secondary range names are ForceNew: a new cluster. ${PROTECTED_DATA}.`,
        refused: ["django-cluster-gke"],
    })),
    {
        key: "network.subnetCidr", change: "a larger range", stack: "production", after: set("network.subnetCidr", "10.10.0.0/19"),
        what: "`ip_cidr_range` is updated in place; Google only expands a subnet's primary range ([expand](https://cloud.google.com/vpc/docs/create-modify-vpc-networks#expand-subnet)), a smaller one fails the update.",
    },
    ...(["podsCidr", "servicesCidr"] as const).map((k): TransitionRow => ({
        key: `network.${k}`, change: "another range", stack: "production", after: set(`network.${k}`, k === "podsCidr" ? "10.40.0.0/16" : "10.50.0.0/20"),
        what: "The provider updates the subnet's secondary range in place (`secondary_ip_range` is not ForceNew), but GKE keeps the Pod and Service ranges it was created with; not verified here whether Google refuses the change while the cluster uses them. First deploy only.",
    })),
    {
        key: "network.privateServicesCidr", change: "another range", stack: "production", after: set("network.privateServicesCidr", "10.98.0.0/20"),
        what: "The allocated range's `address` is ForceNew: a new range is reserved and the peering's ranges updated, but Cloud SQL keeps its private IP in the old range (Google does not move it), which the peering would then no longer cover. First deploy only.",
    },
    {
        key: "network.egressAllowList", change: "none → a range", stack: "production", after: set("network.egressAllowList", ["203.0.113.0/24"]),
        what: "A NetworkPolicy `django-internet-egress` is created for the web pods, workers, CronJobs and `npm run manage` (TCP 443 to the ranges); NetworkPolicies add up and take effect when the dataplane applies them, no pod restarts ([network policies](https://kubernetes.io/docs/concepts/services-networking/network-policies/)).",
    },
    {
        key: "network.egressAllowList", change: "a range → none", stack: "production", base: set("network.egressAllowList", ["203.0.113.0/24"]), after: set("network.egressAllowList", []),
        what: "The `django-internet-egress` NetworkPolicy is deleted: from then on new connections to those hosts are refused (connections already open stay, the dataplane tracks them). Check that nothing of the app still needs them (Cloud NAT's logs show each translation).",
    },
    {
        key: "security.binaryAuthorization", change: "off → dry-run", stack: "staging", after: set("security.binaryAuthorization", "dry-run"),
        what: "The project's Binary Authorization policy is written (the provider PUTs `projects/<project>/policy`: Google's system images and the stack's images, the rest denied in dry run) before the cluster's `binaryAuthorization.evaluationMode` becomes `PROJECT_SINGLETON_POLICY_ENFORCE`, an in-place update (`DesiredBinaryAuthorization`). Running pods are not checked again; new pods that would be refused are only logged in Cloud Audit Logs ([policy YAML reference](https://cloud.google.com/binary-authorization/docs/policy-yaml-reference), `DRYRUN_AUDIT_LOG_ONLY`). The API must be enabled (the bootstrap enables it in every stack project).",
    },
    {
        key: "security.binaryAuthorization", change: "dry-run → enforce", stack: "production", base: set("security.binaryAuthorization", "dry-run"), after: set("security.binaryAuthorization", "enforce"),
        what: "The policy's default rule is updated in place to `ENFORCED_BLOCK_AND_AUDIT_LOG`: from then on a pod whose image is not allowed is refused at creation (a ReplicaSet keeps retrying and reports it in its events). Do it after the dry run logged nothing for the stack's own pods (docs/operations.md, \"Binary Authorization\").",
    },
    {
        key: "security.binaryAuthorization", change: "enforce → off", stack: "production", base: set("security.binaryAuthorization", "enforce"), after: set("security.binaryAuthorization", "off"),
        what: "The cluster's evaluation mode is set to `DISABLED` (explicitly: a removed block would keep the computed mode, `BinaryAuthorizationDiffSuppress` in terraform-provider-google `resource_container_cluster.go`), then the policy resource is deleted, which puts Google's default policy back (allow every image; `DefaultBinaryAuthorizationPolicy`). In a production stack the policy pack's `gke-cluster-enforces-binary-authorization-in-production` no longer applies once the policy is gone: the change is visible only in this diff, so review it as a security change.",
    },
    {
        key: "security.binaryAuthorization", change: "off → enforce with cache.image redis:…", stack: "staging", after: set("security.binaryAuthorization", "enforce", SHORT_CACHE_IMAGE),
        refusedByValidation: /cache\.image is redis:7\.4\.\d+-alpine@sha256:[0-9a-f]{64}, without its registry/,
        what: "Refused: the allowlist names images as `registry/path/to/image`, so a Docker Hub short name would be denied. Name it in full first (`docker.io/library/redis:…`, the same image; the StatefulSet's pods are replaced as for any `cache.image` change).",
    },
    {
        key: "edge.armor.enabled", change: "off → on", stack: "staging", after: ARMOR_ON,
        what: "A new policy (auto-named, so never the name of a retained one) is created and the BackendConfig names it; GKE's Ingress controller attaches it (docs/edge.md).",
    },
    {
        key: "edge.armor.enabled", change: "on → off", stack: "staging", base: ARMOR_ON, after: set("edge.armor.enabled", false),
        what: "The BackendConfig names the empty policy, which makes GKE's Ingress controller detach it (ingress-gce `securitypolicy.go`); the policy is retained (`retainOnDelete`), never deleted while the controller may still hold it (docs/edge.md, \"Turning it off, and on again\").",
    },
    ...(["preview", "wafSensitivity", "rateLimitPerMinute", "adaptiveProtection"] as const).map((k): TransitionRow => ({
        key: `edge.armor.${k}`, change: "another value", stack: "production",
        after: set(`edge.armor.${k}`, { preview: true, wafSensitivity: 2, rateLimitPerMinute: 1200, adaptiveProtection: true }[k]),
        what: "The security policy's rules (or its adaptive protection) are updated in place: `rule` and `adaptive_protection_config` are not ForceNew.",
    })),
    {
        key: "edge.armor.denyCountries", change: "none → KP", stack: "production", after: set("edge.armor.denyCountries", ["KP"]),
        what: "The backend policy gains a rule (update); with the CDN an edge policy is created and the backend bucket's `edgeSecurityPolicy` set (update).",
    },
    {
        key: "edge.armor.denyCidrs", change: "a range → none", stack: "production", base: set("edge.armor.denyCidrs", ["198.51.100.0/24"]), after: set("edge.armor.denyCidrs", []),
        what: "The backend policy loses the rule (update); the backend bucket's update detaches the edge policy before the engine deletes it (terraform-provider-google `resource_compute_backend_bucket.go`, docs/edge.md).",
    },
    {
        key: "dns.managedZone", change: "unset → a zone", stack: "staging", after: set("dns.managedZone", "example-com"),
        what: "The A records are created in the zone. The provider's create replaces a record set of the same name and type that already exists there, without a diff in the preview (\"The terraform provider is authoritative\", terraform-provider-google `resource_dns_record_set.go`), so the program reads the zone first and refuses an A record that points elsewhere (unless `dns.replaceExisting`) and any CNAME or AAAA at those names: [cutover](dns-cutover.md).",
    },
    {
        key: "dns.managedZone", change: "a zone → unset", stack: "production", after: set("dns.managedZone", undefined),
        what: "The stack no longer manages the records, so Pulumi deletes them: the site stops resolving. [Procedure](#handing-dns-records-to-someone-else).",
        accept: { "django-dns-site": "[procedure](#handing-dns-records-to-someone-else): create them elsewhere first, then `pulumi state delete`", "django-dns-cdn": "as the site's record" },
    },
    {
        key: "dns.project", change: "another project", stack: "production", after: set("dns.project", "acme-dns"),
        what: "The records' `project` is ForceNew: created in the other project's zone, then deleted from the old one. The names resolve from whichever zone the domain is delegated to.",
        accept: { "django-dns-site": "the record moves to the zone the domain is delegated to", "django-dns-cdn": "as the site's record" },
    },
    {
        key: "dns.replaceExisting", change: "off → on", stack: "production", after: set("dns.replaceExisting", true),
        what: "No resource changes: it only decides whether `pulumi up` may replace an A record of the zone that points elsewhere (components/dns.ts reads the zone first; the provider's create would replace it without a diff). Set it for a planned [cutover](dns-cutover.md) and back to off after.",
    },
    {
        key: "dns.ttl", change: "300 → 60", stack: "production", after: set("dns.ttl", 60),
        what: "`ttl` is updated in place.",
    },
    {
        key: "monitoring.enabled", change: "on → off", stack: "production", after: set("monitoring.enabled", false),
        what: "The uptime check, alert policies, channels and dashboard are deleted (alert policies first: they reference the channels and the check).",
    },
    {
        key: "monitoring.siteLive", change: "on → off", stack: "production", after: set("monitoring.siteLive", false),
        what: "The \"site down\" alert policy's `enabled` is updated in place; the uptime check keeps running (docs/monitoring.md, first deploy).",
    },
    {
        key: "monitoring.notificationEmails", change: "one address fewer", stack: "production", after: set("monitoring.notificationEmails", ["ops@example.com"]),
        what: "The alert policies drop the channel (update), then the channel is deleted (deletes run last).",
    },
    {
        key: "monitoring.thresholds.errorRatio5xx", alsoKeys: ["latencyP95Ms", "sqlCpu", "sqlDisk", "sqlConnections", "redisMemory", "hpaAtMaxMinutes"].map((k) => `monitoring.thresholds.${k}`),
        change: "every threshold", stack: "production",
        after: set("monitoring.thresholds", { errorRatio5xx: 0.02, latencyP95Ms: 800, sqlCpu: 0.9, sqlDisk: 0.9, sqlConnections: 0.5, redisMemory: 0.9, hpaAtMaxMinutes: 30 }),
        what: `${GKE_ALERTS}: each threshold is one alert policy's condition.`,
    },
    {
        key: "accessLogs.enabled", change: "on → off", stack: "production", after: set("accessLogs.enabled", false),
        what: "The data buckets drop their `logging` block (update) and the log buckets and their writer grants leave the program. The log buckets hold the access logs and are protected like their data buckets (`forceDestroy` false), so the preview refuses. To keep the logs, leave the buckets in the project and out of the stack: `pulumi state delete '<urn of each -logs bucket>' --force` (they empty themselves after 90 days, their lifecycle rule), then `pulumi up`; on a disposable stack `statics.forceDestroy` and `media.forceDestroy` let Pulumi delete them.",
        refused: ["django-media-logs", "django-statics-logs"],
    },
    {
        key: "appEnv", change: "a variable added", stack: "production", after: set("appEnv", { FEATURE_FLAGS: "beta" }),
        what: `${ENV}.`,
    },
    {
        key: "appSecrets", change: "a secret added", stack: "production", after: set("appSecrets", { SENTRY_DSN: "https://sentry.example.com/1" }),
        what: `${ENV}.`,
    },
    {
        key: "app.admin.enabled", alsoKeys: ["app.admin.path"], change: "off → on, at a prefix of its own", stack: "production", after: set("app.admin", { enabled: true, path: "staff-7f3a9c21/" }),
        what: `${ENV}; the new pods mount the admin at the prefix (the old ones answer 404 there until they are replaced). Off again: the admin's URLs answer 404 once the rollout is done.`,
    },
    {
        key: "app.admin.enabled", change: "on without app.admin.path", stack: "production", after: set("app.admin.enabled", true), refusedByValidation: /app\.admin\.path is required/,
        what: "Refused by validation: the admin needs a prefix (`app.admin.path`), best one nobody can guess.",
    },
    {
        key: "app.demo.anonymousUploads", alsoKeys: ["app.demo.anonymousTasks"], change: "off → on", stack: "production", after: set("app.demo", { anonymousUploads: true, anonymousTasks: true }),
        what: `${ENV}; uploads and tasks stay in the media bucket and the database when the switches go off again (only their routes answer 404).`,
    },
    {
        key: "media.enabled", change: "on → off", stack: "production", after: set("media.enabled", false),
        what: `The media bucket and its log bucket would be deleted with the uploads. ${PROTECTED_DATA}. [Procedure](#moving-or-removing-a-bucket).`,
        refused: ["django-media-bucket", "django-media-logs"],
    },
    {
        key: "media.enabled", change: "on → off (staging)", stack: "staging", after: set("media.enabled", false),
        what: "Staging sets `media.forceDestroy`: the bucket is deleted with the uploads, after the pods stop using it and the grants are gone (deletes run last, dependents first).",
        accept: { "django-media-bucket": "`media.forceDestroy` true: the uploads are deleted with it, as that key says", "django-media-logs": "`media.forceDestroy` true" },
    },
    {
        key: "media.enabled", change: "off → on", stack: "production", base: set("media.enabled", false), after: set("media.enabled", true),
        what: `A new, empty, auto-named media bucket, its grants and signer bindings are created: ${ENV}.`,
    },
    {
        key: "media.location", change: "region → EU", stack: "production", after: set("media.location", "EU"),
        what: `A bucket's \`location\` is ForceNew. ${PROTECTED_DATA}. [Procedure](#moving-or-removing-a-bucket).`,
        refused: ["django-media-bucket", "django-media-logs"],
    },
    {
        key: "media.noncurrentVersionDays", change: "30 → 7", stack: "production", after: set("media.noncurrentVersionDays", 7),
        what: "The lifecycle rule is updated in place; Cloud Storage applies it to existing noncurrent versions asynchronously ([lifecycle](https://cloud.google.com/storage/docs/lifecycle)).",
    },
    {
        key: "media.forceDestroy", change: "off → on", stack: "production", after: set("media.forceDestroy", true),
        what: "`force_destroy` is updated in place, and Pulumi drops `protect` from the media buckets.",
    },
    {
        // db-f1-micro has no room for a worker's connections in a rollout (components/connectionBudget.ts): the next shared-core tier.
        key: "workers", change: "a worker added", stack: "staging", base: set("database.tier", "db-g1-small"), after: set("workers.mail", { command: ["python", "manage.py", "demo_worker"], minReplicas: 1, maxReplicas: 1 }),
        what: "Its service accounts, grants, Deployment, HPA and PDB are created; the pods wait for the grants.",
    },
    {
        key: "workers", change: "a worker renamed", stack: "production", after: set("workers.tasks", undefined, set("workers.jobs", { command: ["python", "manage.py", "demo_worker"], minReplicas: 2, maxReplicas: 3 })),
        what: "A rename is a removal and an addition: the new worker's accounts, grants and pods are created, then the old worker's are deleted (its pods stop after their grace period).",
    },
    {
        key: "workers", change: "a worker removed", stack: "production", after: set("workers.tasks", undefined),
        what: "Its Deployment, HPA, PDB, grants and service accounts are deleted, dependents first (the grants before the account they name). SIGTERM lets the pods finish their task (`terminationGracePeriodSeconds`).",
    },
    ...(["command", "minReplicas", "maxReplicas", "targetCpuUtilization", "cpu", "memory", "dbConnections", "terminationGracePeriodSeconds"] as const).map((k): TransitionRow => ({
        key: `workers.<name>.${k}`, change: "another value", stack: "production",
        after: set(`workers.tasks.${k}`, { command: ["python", "manage.py", "other_worker"], minReplicas: 3, maxReplicas: 4, targetCpuUtilization: 60, cpu: "500m", memory: "1Gi", dbConnections: 2, terminationGracePeriodSeconds: 300 }[k]),
        what: ["minReplicas", "maxReplicas", "targetCpuUtilization"].includes(k)
            ? "The worker's HPA is updated in place."
            : k === "dbConnections" ? "No resource changes: it only counts in the connection budget that validation checks." : `${ROLL} for the worker.`,
    })),
    {
        key: "schedules", change: "a schedule added", stack: "production", after: set("schedules.report", { schedule: "0 6 * * 1", command: ["python", "manage.py", "clearsessions"] }),
        what: "A CronJob is created; its first run is at the next matching time.",
    },
    {
        key: "schedules", change: "a schedule removed", stack: "production", after: set("schedules.clearsessions", undefined),
        what: "The CronJob is deleted; Kubernetes deletes its Jobs and their pods with it (garbage collection of owned objects), a run in progress is stopped.",
    },
    ...(["schedule", "command", "timeZone", "concurrencyPolicy", "activeDeadlineSeconds"] as const).map((k): TransitionRow => ({
        key: `schedules.<name>.${k}`, change: "another value", stack: "production",
        after: set(`schedules.clearsessions.${k}`, { schedule: "30 4 * * *", command: ["python", "manage.py", "clearsessions", "-v", "2"], timeZone: "Europe/Berlin", concurrencyPolicy: "Replace", activeDeadlineSeconds: 600 }[k]),
        what: "The CronJob is updated in place (no forceNew field for CronJobs in pulumi-kubernetes); the next run uses it, a running Job keeps its old template.",
    })),
    {
        key: "usage.appEgressGib", alsoKeys: ["appRequestsMillions", "staticEgressGib", "staticRequestsMillions", "cdnCacheFillGib", "mediaBucketGib", "natDataGib", "natLogGib", "deploysPerMonth"].map((k) => `usage.${k}`),
        change: "every estimate", stack: "production",
        after: set("usage", Object.fromEntries(["appEgressGib", "appRequestsMillions", "staticEgressGib", "staticRequestsMillions", "cdnCacheFillGib", "mediaBucketGib", "natDataGib", "natLogGib", "deploysPerMonth"].map((k) => [k, 99]))),
        what: NOTHING,
    },
    {
        key: "usage.gkeFreeTierCredit", change: "the credit moved to staging", stack: "production",
        after: set("usage.gkeFreeTierCredit", false),
        what: `${NOTHING} Move the credit with both stacks' files in one change (a billing account gets one, https://cloud.google.com/kubernetes-engine/pricing).`,
    },
];
