/**
 * Which Google APIs (services such as `compute.googleapis.com`) must be enabled, and in which
 * project, for a stack of the main program — computed from its resource graph, the way the
 * deployer's permissions are (bootstrap/permissionTable.ts):
 *
 * - {@link API_TABLE}: one row per Pulumi type (and provider function) the program registers, with
 *   the Google service its provider calls go to and where the resource lives (the stack's project,
 *   the image registry's, the DNS zone's). A registered type without a row fails
 *   tests/required-apis.test.ts.
 * - {@link FEATURE_TABLE}: what the rendered objects make Google call at run time, which no provider
 *   call shows: Workload Identity → Security Token Service and IAM Service Account Credentials, media
 *   signed URLs → IAM Service Account Credentials (`signBlob`), the Cloud SQL Auth Proxy → Cloud SQL
 *   Admin, the cluster's logging and monitoring services, its Secrets encryption key → Cloud KMS,
 *   image pulls → Artifact Registry.
 * - {@link apisForGraph}: the services per project of one rendered stack (types + the inputs that
 *   name a project), as `npm run synth` reports them and `npm run preflight` checks them.
 * - {@link programApis}: the union over every mode (bootstrap/resourceTypes.json), by where the
 *   resources live: what the bootstrap enables, since it cannot render each stack itself.
 *
 * Each row names its source: the provider's service client (hashicorp/terraform-provider-google,
 * which pulumi-gcp bridges, read at e03b7622a26c: `google/services/<product>/product.go` BaseUrl, or
 * the client a resource file builds), Google's documentation, the proxy's README.
 *
 * Pure data and functions, no Pulumi: the bootstrap, synth, preflight and the tests all load it.
 */
import { MEDIA_SIGNER_VARIABLE } from "../components/appEnv";
import { artifactRegistryRepositories } from "../components/imageRef";
import type { ProgramTypes } from "./permissionTable";

/** Where the program puts a resource of a row, for the bootstrap's union over every mode. */
export type Lives =
    /** The stack's own project (`gcp:project`). */
    | "stack"
    /** The project of the app image's Artifact Registry repository (the bootstrap's home project). */
    | "registry"
    /** The project of the DNS zone (`dns.project`, default the stack's project). */
    | "zone";

/** The Google services one Pulumi type (resource or invoke token) calls. */
export interface ApiRow {
    /** Exact type or invoke token, or a prefix ending in `*`. */
    readonly type: string;
    readonly kind: "resource" | "invoke" | "pattern";
    /** The file(s) that register the type. */
    readonly usedBy: string;
    /** Services (API host names) the provider calls for it; empty for types no provider serves. */
    readonly services: readonly string[];
    readonly lives: Lives;
    /**
     * Where one rendered resource of the type lives, when not every resource of it lives where
     * {@link lives} says (a record set of the stack's own private zone, not the site's zone).
     */
    readonly livesOf?: (graph: Graph, r: GraphResource) => Lives;
    /**
     * The input that references the resource this one belongs to, when it names no `project` of its
     * own (a key's `keyRing`, a bucket grant's `bucket`): its project is that resource's project.
     */
    readonly projectFrom?: string;
    /** Where the service comes from. At least one. */
    readonly source: readonly string[];
    readonly notes?: string;
}

/** A resource of a rendered graph (cli/lib/mockRuntime.ts `CapturedResource` fits). */
export interface GraphResource {
    readonly type: string;
    readonly inputs: Record<string, unknown>;
    readonly id?: string;
    readonly outputs?: Record<string, unknown>;
}

/** A provider function call of a rendered graph. */
export interface GraphInvoke {
    readonly token: string;
    readonly inputs: Record<string, unknown>;
}

/** A rendered stack. */
export interface Graph {
    readonly resources: readonly GraphResource[];
    readonly invokes: readonly GraphInvoke[];
    /** The provider's project (`gcp:project`): where a resource that names none lives. */
    readonly defaultProject: string;
}

/** A service a run-time feature needs in one project. */
export interface FeatureUse {
    readonly project: string;
    readonly service: string;
}

/** Services a feature of the rendered objects makes Google call at run time. */
export interface FeatureRow {
    readonly id: string;
    /** What happens, in a sentence. */
    readonly what: string;
    /** Services it may need (the bootstrap's union enables all of them when a trigger type is registered). */
    readonly services: readonly string[];
    /** Types that carry the feature; the bootstrap counts it when the program registers any of them. */
    readonly triggers: readonly string[];
    /** Where its projects are for the bootstrap's union. */
    readonly lives: Lives;
    /** The (project, service) pairs it needs in a rendered graph; none when the graph does not use it. */
    readonly uses: (graph: Graph) => FeatureUse[];
    readonly source: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Sources, written once.

const TPG = "hashicorp/terraform-provider-google@e03b7622a26c";
/** The provider's client for a product: `google/services/<product>/product.go` BaseUrl. */
const client = (product: string, baseUrl: string): string => `${TPG} google/services/${product}/product.go: BaseUrl "${baseUrl}"`;
const COMPUTE = client("compute", "https://compute.googleapis.com/compute/v1/");
const IAM = client("iambeta", "https://iam.googleapis.com/v1/");
const KMS = client("kms", "https://cloudkms.googleapis.com/v1/");
const MONITORING = client("monitoring", "https://monitoring.googleapis.com/");
const RESOURCE_MANAGER = client("resourcemanager", "https://cloudresourcemanager.googleapis.com/v1/");
const STORAGE = client("storage", "https://storage.googleapis.com/storage/v1/");
const SQL = client("sql", "https://sqladmin.googleapis.com/sql/v1beta4/");
const ARTIFACT_REGISTRY = client("artifactregistry", "https://artifactregistry.googleapis.com/v1/");

/** A row with `lives: "stack"` unless told. */
function row(r: Omit<ApiRow, "lives"> & { lives?: Lives }): ApiRow {
    return { lives: "stack", ...r };
}

// ---------------------------------------------------------------------------------------------
// The table of types.

/** Every type the main program (and the bootstrap) can register or invoke, with its services. */
export const API_TABLE: readonly ApiRow[] = [
    // --- Compute Engine: network, load balancers, Cloud Armor --------------------------------
    ...[
        "gcp:compute/network:Network",
        "gcp:compute/subnetwork:Subnetwork",
        "gcp:compute/router:Router",
        "gcp:compute/routerNat:RouterNat",
        "gcp:compute/firewall:Firewall",
        "gcp:compute/globalAddress:GlobalAddress",
        "gcp:compute/address:Address",
        "gcp:compute/backendBucket:BackendBucket",
        "gcp:compute/globalForwardingRule:GlobalForwardingRule",
        "gcp:compute/managedSslCertificate:ManagedSslCertificate",
        "gcp:compute/sSLPolicy:SSLPolicy",
        "gcp:compute/securityPolicy:SecurityPolicy",
        "gcp:compute/targetHttpProxy:TargetHttpProxy",
        "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
        "gcp:compute/uRLMap:URLMap",
    ].map((type) => row({ type, kind: "resource", usedBy: "components/network.ts, networking.ts, statics.ts, edge.ts", services: ["compute.googleapis.com"], source: [COMPUTE] })),
    ...["gcp:compute/getNetwork:getNetwork", "gcp:compute/getSubnetwork:getSubnetwork", "gcp:compute/getGlobalAddress:getGlobalAddress"].map((type) =>
        row({ type, kind: "invoke", usedBy: "components/network.ts (network.mode existing)", services: ["compute.googleapis.com"], source: [COMPUTE] }),
    ),

    // --- GKE -----------------------------------------------------------------------------------
    row({
        type: "gcp:container/cluster:Cluster",
        kind: "resource",
        usedBy: "components/cluster.ts",
        services: ["container.googleapis.com"],
        source: [client("container", "https://container.googleapis.com/v1/")],
        notes: "What the cluster itself calls at run time (logging, monitoring, KMS) is in FEATURE_TABLE.",
    }),
    row({
        type: "gcp:binaryauthorization/policy:Policy",
        kind: "resource",
        usedBy: "components/cluster.ts, binaryAuthorization.ts (security.binaryAuthorization)",
        services: ["binaryauthorization.googleapis.com"],
        source: [client("binaryauthorization", "https://binaryauthorization.googleapis.com/v1/")],
    }),
    row({ type: "gcp:container/getCluster:getCluster", kind: "invoke", usedBy: "components/cluster.ts (cluster.mode existing)", services: ["container.googleapis.com"], source: [client("container", "https://container.googleapis.com/v1/")] }),
    row({
        type: "kubernetes:*",
        kind: "pattern",
        usedBy: "components/cluster.ts, workload.ts, cache.ts, networking.ts",
        services: ["container.googleapis.com"],
        source: [
            "https://cloud.google.com/kubernetes-engine/docs/concepts/network-isolation (the DNS-based control-plane endpoint checks every request with IAM, container.clusters.connect, before the API server)",
        ],
        notes: "Kubernetes objects go to the cluster's API server through its DNS endpoint; the cluster's project already needs the GKE API for the cluster.",
    }),

    // --- Cloud SQL, Memorystore, private services access ----------------------------------------
    ...["gcp:sql/databaseInstance:DatabaseInstance", "gcp:sql/database:Database", "gcp:sql/user:User"].map((type) =>
        row({ type, kind: "resource", usedBy: "components/database.ts", services: ["sqladmin.googleapis.com"], source: [SQL] }),
    ),
    row({ type: "gcp:redis/instance:Instance", kind: "resource", usedBy: "components/cache.ts (cache.mode memorystore)", services: ["redis.googleapis.com"], source: [client("redis", "https://redis.googleapis.com/v1/")] }),
    row({
        type: "gcp:servicenetworking/connection:Connection",
        kind: "resource",
        usedBy: "components/network.ts",
        services: ["servicenetworking.googleapis.com", "cloudresourcemanager.googleapis.com"],
        projectFrom: "network",
        source: [
            client("servicenetworking", "https://servicenetworking.googleapis.com/v1/"),
            `${TPG} google/services/servicenetworking/resource_service_networking_connection.go: Services.Connections.Create/List/Patch/DeleteConnection, and the network project's number through the Resource Manager client (Projects.Get)`,
        ],
    }),

    // --- Storage --------------------------------------------------------------------------------
    row({ type: "gcp:storage/bucket:Bucket", kind: "resource", usedBy: "components/statics.ts, media.ts, accessLogs.ts; bootstrap/stateBackend.ts", services: ["storage.googleapis.com"], source: [STORAGE] }),
    row({ type: "gcp:storage/bucketIAMMember:BucketIAMMember", kind: "resource", usedBy: "components/statics.ts, media.ts, accessLogs.ts; bootstrap/stateBackend.ts", services: ["storage.googleapis.com"], projectFrom: "bucket", source: [STORAGE] }),

    // --- KMS ------------------------------------------------------------------------------------
    row({ type: "gcp:kms/keyRing:KeyRing", kind: "resource", usedBy: "components/cluster.ts; bootstrap/secretsKeys.ts", services: ["cloudkms.googleapis.com"], source: [KMS] }),
    row({ type: "gcp:kms/cryptoKey:CryptoKey", kind: "resource", usedBy: "components/cluster.ts; bootstrap/secretsKeys.ts", services: ["cloudkms.googleapis.com"], projectFrom: "keyRing", source: [KMS] }),
    row({ type: "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", kind: "resource", usedBy: "components/cluster.ts; bootstrap/secretsKeys.ts", services: ["cloudkms.googleapis.com"], projectFrom: "cryptoKeyId", source: [KMS] }),

    // --- IAM ------------------------------------------------------------------------------------
    row({
        type: "gcp:serviceaccount/account:Account",
        kind: "resource",
        usedBy: "iam/stackIam.ts (the stacks' accounts); bootstrap/ciAccount.ts (CI's)",
        services: ["iam.googleapis.com"],
        source: [IAM, `${TPG} google/services/resourcemanager/resource_google_service_account.go: iambeta.NewClient(…).Projects.ServiceAccounts.Create/Get`],
    }),
    row({
        type: "gcp:serviceaccount/iAMMember:IAMMember",
        kind: "resource",
        usedBy: "components/workload.ts, media.ts; bootstrap/ciAccount.ts; iam/stackIam.ts",
        services: ["iam.googleapis.com"],
        projectFrom: "serviceAccountId",
        source: [IAM, `${TPG} google/services/resourcemanager/iam_service_account.go: Projects.ServiceAccounts.GetIamPolicy/SetIamPolicy of the IAM client`],
    }),
    row({
        type: "gcp:projects/iAMMember:IAMMember",
        kind: "resource",
        usedBy: "bootstrap/stackProject.ts; iam/stackIam.ts",
        services: ["cloudresourcemanager.googleapis.com"],
        source: [RESOURCE_MANAGER, `${TPG} google/services/resourcemanager/iam_project.go: Projects.GetIamPolicy/SetIamPolicy`],
    }),
    row({ type: "gcp:projects/iAMCustomRole:IAMCustomRole", kind: "resource", usedBy: "bootstrap/stackProject.ts, imageRegistry.ts", services: ["iam.googleapis.com"], source: [IAM, `${TPG} google/services/resourcemanager/resource_google_project_iam_custom_role.go: Projects.Roles of the IAM client`] }),
    row({ type: "gcp:iam/workloadIdentityPool:WorkloadIdentityPool", kind: "resource", usedBy: "bootstrap/githubFederation.ts", services: ["iam.googleapis.com"], source: [IAM] }),
    row({ type: "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", kind: "resource", usedBy: "bootstrap/githubFederation.ts", services: ["iam.googleapis.com"], source: [IAM] }),
    row({
        type: "gcp:serviceaccount/getAccount:getAccount",
        kind: "invoke",
        usedBy: "components/workload.ts, workers.ts, cluster.ts (the accounts the IAM step created)",
        services: ["iam.googleapis.com"],
        source: [IAM, `${TPG} google/services/resourcemanager/data_source_google_service_account.go: Projects.ServiceAccounts.Get of the IAM client`],
    }),
    row({
        type: "gcp:organizations/getProject:getProject",
        kind: "invoke",
        usedBy: "components/cluster.ts",
        services: ["cloudresourcemanager.googleapis.com"],
        source: [RESOURCE_MANAGER, `${TPG} google/services/resourcemanager/resource_google_project.go: Projects.Get, then cloudbilling GetBillingInfo, whose error is ignored when the Billing API is disabled`],
        notes: "The Cloud Billing API is not needed: the read skips billing when it is disabled.",
    }),
    row({
        type: "gcp:projects/service:Service",
        kind: "resource",
        usedBy: "bootstrap/requiredApis.ts",
        services: [],
        source: [client("serviceusage", "https://serviceusage.googleapis.com/v1/")],
        notes: "Service Usage is what enables the others: a project where it is off cannot enable anything, and the bootstrap's first call fails at once, on the credentials of the human who runs it.",
    }),

    // --- Artifact Registry ------------------------------------------------------------------------
    row({ type: "gcp:artifactregistry/repository:Repository", kind: "resource", lives: "registry", usedBy: "bootstrap/imageRegistry.ts", services: ["artifactregistry.googleapis.com"], source: [ARTIFACT_REGISTRY] }),
    row({
        type: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        kind: "resource",
        lives: "registry",
        usedBy: "components/cluster.ts (the nodes' pull grant); bootstrap/imageRegistry.ts",
        services: ["artifactregistry.googleapis.com"],
        source: [ARTIFACT_REGISTRY, `${TPG} google/services/artifactregistry/iam_artifact_registry_repository.go: getIamPolicy/setIamPolicy on projects/{project}/locations/{location}/repositories/{repository}`],
    }),

    // --- Cloud DNS ------------------------------------------------------------------------------
    row({
        type: "gcp:dns/managedZone:ManagedZone",
        kind: "resource",
        usedBy: "components/network.ts (the private zone googleapis.com, in the stack's project)",
        services: ["dns.googleapis.com"],
        source: [client("dns", "https://dns.googleapis.com/dns/v1/")],
    }),
    row({
        type: "gcp:dns/recordSet:RecordSet",
        kind: "resource",
        lives: "zone",
        // The googleapis.com records of Private Google Access are in the stack's own private zone.
        livesOf: (graph, r) => (graph.resources.some((z) => z.type === "gcp:dns/managedZone:ManagedZone" && (z.outputs?.name ?? z.inputs.name) === r.inputs.managedZone) ? "stack" : "zone"),
        usedBy: "components/dns.ts, components/network.ts (the records of the stack's private zone googleapis.com)",
        services: ["dns.googleapis.com"],
        source: [client("dns", "https://dns.googleapis.com/dns/v1/")],
        notes: "The site's records go to the zone's project (dns.project): the API must be enabled there, not only in the stack's project. The googleapis.com records are in the stack's own private zone.",
    }),
    row({
        type: "gcp:dns/getRecordSets:getRecordSets",
        kind: "invoke",
        lives: "zone",
        usedBy: "components/dns.ts (the check of existing records before the stack creates its own)",
        services: ["dns.googleapis.com"],
        source: [client("dns", "https://dns.googleapis.com/dns/v1/"), `${TPG} google/services/dns/data_source_dns_record_sets.go: ResourceRecordSets.List on the managed zone`],
        notes: "Reads the zone in its own project (dns.project), like the record sets it guards.",
    }),

    // --- Cloud Monitoring -------------------------------------------------------------------------
    ...[
        "gcp:monitoring/alertPolicy:AlertPolicy",
        "gcp:monitoring/dashboard:Dashboard",
        "gcp:monitoring/notificationChannel:NotificationChannel",
        "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
    ].map((type) => row({ type, kind: "resource", usedBy: "components/monitoring.ts, alerts.ts", services: ["monitoring.googleapis.com"], source: [MONITORING] })),

    // --- no Google API --------------------------------------------------------------------------
    row({ type: "random:*", kind: "pattern", usedBy: "components/database.ts, cache.ts", services: [], source: ["@pulumi/random: computed locally by the provider, no cloud API"] }),
    row({ type: "pulumi:providers:*", kind: "pattern", usedBy: "components/cluster.ts and the default providers", services: [], source: ["Provider resources only hold configuration; their calls are counted on the resources that use them"] }),
    row({ type: "pulumi:pulumi:Stack", kind: "pattern", usedBy: "index.ts", services: [], source: ["The stack root resource: no provider"] }),
    row({ type: "django-platform:*", kind: "pattern", usedBy: "components/*.ts", services: [], source: ["ComponentResources are grouping only: the engine calls no provider for them"] }),
    row({ type: "django-platform-iam:*", kind: "pattern", usedBy: "iam/*.ts", services: [], source: ["ComponentResources are grouping only: the engine calls no provider for them"] }),
    row({ type: "django-platform-bootstrap:*", kind: "pattern", usedBy: "bootstrap/*.ts", services: [], source: ["ComponentResources are grouping only: the engine calls no provider for them"] }),
];

// ---------------------------------------------------------------------------------------------
// Reading a rendered graph.

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** `projects/<p>/…` in a resource name. */
const PROJECT_PATH = /(?:^|\/)projects\/([a-z][a-z0-9-]{4,28}[a-z0-9])\//;
/** A service account email `<id>@<project>.iam.gserviceaccount.com`. */
const SA_EMAIL = /@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$/;
/** A Workload Identity member `serviceAccount:<project>.svc.id.goog[<namespace>/<ksa>]`. */
const WI_MEMBER = /^serviceAccount:([a-z][a-z0-9-]{4,28}[a-z0-9])\.svc\.id\.goog\[/;
/** A Cloud SQL instance connection name `<project>:<region>:<instance>`. */
const CONNECTION_NAME = /^([a-z][a-z0-9-]{4,28}[a-z0-9]):[a-z]+-[a-z]+\d+:[a-z][a-z0-9-]*$/;

/** The resource a reference value points to: its id or name (mocks), or none. */
function referenced(graph: Graph, value: unknown, seen: ReadonlySet<GraphResource>): GraphResource | undefined {
    const v = str(value);
    return v === undefined ? undefined : graph.resources.find((r) => !seen.has(r) && (r.id === v || r.outputs?.name === v || r.outputs?.id === v));
}

/** Where a rendered resource lives, by its row ({@link ApiRow.livesOf} when the row has one). */
export function livesOfResource(graph: Graph, r: GraphResource, table: readonly ApiRow[] = API_TABLE): Lives | undefined {
    const found = apiRowFor(r.type, table);
    return found ? (found.livesOf?.(graph, r) ?? found.lives) : undefined;
}

/** The row for a type or invoke token: the exact row, else the longest matching `prefix*` row. */
export function apiRowFor(type: string, table: readonly ApiRow[] = API_TABLE): ApiRow | undefined {
    const exact = table.find((r) => r.kind !== "pattern" && r.type === type);
    if (exact) {
        return exact;
    }
    return table
        .filter((r) => r.kind === "pattern" && (r.type.endsWith("*") ? type.startsWith(r.type.slice(0, -1)) : type === r.type))
        .sort((a, b) => b.type.length - a.type.length)[0];
}

/**
 * The project a resource lives in: its `project` input; else, for a row with `projectFrom`, the
 * project of the resource that input references (or the `projects/<p>/` in it); else the
 * provider's project.
 */
export function projectOfResource(graph: Graph, r: GraphResource, seen: ReadonlySet<GraphResource> = new Set()): string {
    const own = str(r.inputs.project);
    if (own) {
        return own;
    }
    const from = apiRowFor(r.type)?.projectFrom;
    if (from) {
        const target = referenced(graph, r.inputs[from], new Set([...seen, r]));
        if (target) {
            return projectOfResource(graph, target, new Set([...seen, r]));
        }
        const path = PROJECT_PATH.exec(str(r.inputs[from]) ?? "");
        if (path) {
            return path[1];
        }
    }
    return graph.defaultProject;
}

/** The project of a service account named by a reference, an email or a `projects/<p>/serviceAccounts/…` name. */
function serviceAccountProject(graph: Graph, value: unknown): string | undefined {
    const account = referenced(graph, value, new Set());
    if (account) {
        return projectOfResource(graph, account);
    }
    const v = str(value) ?? "";
    return SA_EMAIL.exec(v)?.[1] ?? PROJECT_PATH.exec(v)?.[1];
}

/** Pod templates of the rendered workloads (Deployment, StatefulSet, DaemonSet, Job, CronJob). */
function podSpecs(graph: Graph): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const r of graph.resources) {
        const spec = r.inputs.spec;
        if (!r.type.startsWith("kubernetes:") || !isObject(spec)) {
            continue;
        }
        const jobTemplate = isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec) ? spec.jobTemplate.spec : spec;
        const template = jobTemplate.template;
        if (isObject(template) && isObject(template.spec)) {
            out.push(template.spec);
        }
    }
    return out;
}

/** The containers and init containers of a pod spec. */
function containersOf(spec: Record<string, unknown>): Record<string, unknown>[] {
    return [...(Array.isArray(spec.initContainers) ? spec.initContainers : []), ...(Array.isArray(spec.containers) ? spec.containers : [])].filter(isObject);
}

/** The Google service account a pod runs as: its Kubernetes ServiceAccount's `iam.gke.io/gcp-service-account`. */
function podServiceAccountEmail(graph: Graph, spec: Record<string, unknown>): string | undefined {
    const name = str(spec.serviceAccountName);
    const ksa = graph.resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccount" && isObject(r.inputs.metadata) && r.inputs.metadata.name === name);
    const annotations = ksa && isObject(ksa.inputs.metadata) && isObject(ksa.inputs.metadata.annotations) ? ksa.inputs.metadata.annotations : {};
    return str(annotations["iam.gke.io/gcp-service-account"]);
}

/** Service-account IAM grants of one role. */
const saGrants = (graph: Graph, role: string): GraphResource[] => graph.resources.filter((r) => r.type === "gcp:serviceaccount/iAMMember:IAMMember" && r.inputs.role === role);

const uses = (projects: Iterable<string | undefined>, services: readonly string[]): FeatureUse[] =>
    [...new Set([...projects].filter((p): p is string => p !== undefined))].flatMap((project) => services.map((service) => ({ project, service })));

/** The Cloud SQL Auth Proxy image path (components/kube.ts CLOUD_SQL_PROXY_IMAGE). */
const PROXY_IMAGE = /\/cloud-sql-proxy:/;
const POD_TYPES = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"];

// ---------------------------------------------------------------------------------------------
// The table of run-time features.

const WORKLOAD_IDENTITY_SOURCES: readonly string[] = [
    'https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity, "Credential flow": "The GKE metadata server uses Security Token Service to exchange the JWT for a short-lived federated access token"; with a Kubernetes ServiceAccount linked to an IAM service account, impersonation "results in an access token for an IAM service account"',
    'https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes (the same exchange outside GKE): "Enable the IAM, Resource Manager, Service Account Credentials, and Security Token Service APIs"',
    'google/kctf#194 (a Google-run project): the GKE metadata server\'s token endpoint answered "Unable to generate access token; IAM returned 403 Forbidden: IAM Service Account Credentials API has not been used in project … before or it is disabled" until the API was enabled',
];

/** Services the rendered objects make Google call at run time. */
export const FEATURE_TABLE: readonly FeatureRow[] = [
    {
        id: "workload-identity",
        what:
            "Pods run as Google service accounts through Workload Identity: the GKE metadata server exchanges the pod's Kubernetes token at Security Token Service, then gets the linked service account's token from IAM Service Account Credentials (generateAccessToken). Both are needed in the workload identity pool's project (the cluster's) and the service account's.",
        services: ["sts.googleapis.com", "iamcredentials.googleapis.com"],
        triggers: ["gcp:serviceaccount/iAMMember:IAMMember"],
        lives: "stack",
        uses: (graph) =>
            saGrants(graph, "roles/iam.workloadIdentityUser")
                .filter((g) => WI_MEMBER.test(String(g.inputs.member)))
                .flatMap((g) => uses([WI_MEMBER.exec(String(g.inputs.member))?.[1], serviceAccountProject(graph, g.inputs.serviceAccountId)], ["sts.googleapis.com", "iamcredentials.googleapis.com"])),
        source: WORKLOAD_IDENTITY_SOURCES,
    },
    {
        id: "signed-urls",
        what:
            "Media signed URLs are signed by the pod's own service account (the container's DJANGO_APP_MEDIA_SIGNER) through IAM Service Account Credentials signBlob (no key file): the account's project needs the API. The IAM step binds the signing role; the program shows the signer in the containers' env.",
        services: ["iamcredentials.googleapis.com"],
        triggers: POD_TYPES,
        lives: "stack",
        uses: (graph) =>
            uses(
                podSpecs(graph).flatMap((spec) =>
                    containersOf(spec).flatMap((c) => (Array.isArray(c.env) ? c.env : []).filter(isObject).filter((e) => e.name === MEDIA_SIGNER_VARIABLE).map((e) => SA_EMAIL.exec(str(e.value) ?? "")?.[1])),
                ),
                ["iamcredentials.googleapis.com"],
            ),
        source: [
            'https://cloud.google.com/storage/docs/authentication/creating-signatures: "Before you begin: Enable the Service Account Credentials API"; signing with the IAM signBlob method needs "the iam.serviceAccounts.signBlob permission"',
        ],
    },
    {
        id: "cloud-sql-auth-proxy",
        what:
            "The Cloud SQL Auth Proxy sidecar asks the Cloud SQL Admin API for the instance's metadata and an ephemeral client certificate, as the pod's service account: the instance's project and the account's project need the API.",
        services: ["sqladmin.googleapis.com"],
        triggers: POD_TYPES,
        lives: "stack",
        uses: (graph) =>
            podSpecs(graph).flatMap((spec) => {
                const proxies = containersOf(spec).filter((c) => PROXY_IMAGE.test(String(c.image)));
                if (proxies.length === 0) {
                    return [];
                }
                const instances = proxies.flatMap((c) => (Array.isArray(c.args) ? c.args : [])).flatMap((a) => CONNECTION_NAME.exec(String(a))?.[1] ?? []);
                return uses([...instances, SA_EMAIL.exec(podServiceAccountEmail(graph, spec) ?? "")?.[1]], ["sqladmin.googleapis.com"]);
            }),
        source: [
            'GoogleCloudPlatform/cloud-sql-proxy@31c3b33e3f85 README.md: "the associated project must have the SQL Admin API enabled"; `HTTPS_PROXY` "specifies the proxy for all HTTP(S) traffic to the SQL Admin API"',
            'https://cloud.google.com/sql/docs/postgres/connect-run: "If the authorizing service account belongs to a different project than the one containing the Cloud SQL instance … In both projects, enable the Cloud SQL Admin API."',
        ],
    },
    {
        id: "gke-logging-monitoring",
        what: "The cluster writes its system and workload logs and metrics to the services its loggingService and monitoringService name, in the cluster's project.",
        services: ["logging.googleapis.com", "monitoring.googleapis.com"],
        triggers: ["gcp:container/cluster:Cluster"],
        lives: "stack",
        uses: (graph) =>
            graph.resources
                .filter((r) => r.type === "gcp:container/cluster:Cluster")
                .flatMap((r) =>
                    [r.inputs.loggingService, r.inputs.monitoringService]
                        .map((v) => /^([a-z]+\.googleapis\.com)(?:\/|$)/.exec(String(v))?.[1])
                        .flatMap((service) => (service ? [{ project: projectOfResource(graph, r), service }] : [])),
                ),
        source: [
            'https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.zones.clusters/logging: loggingService "logging.googleapis.com/kubernetes - The Cloud Logging service with a Kubernetes-native resource model"; monitoringService likewise names monitoring.googleapis.com/kubernetes (…/projects.zones.clusters/monitoring)',
        ],
    },
    {
        id: "gke-secrets-encryption",
        what: "Application-layer Secrets encryption: GKE's service agent encrypts and decrypts the Secrets' data keys with the cluster's Cloud KMS key, through the Cloud KMS API of the key's project.",
        services: ["cloudkms.googleapis.com"],
        triggers: ["gcp:container/cluster:Cluster"],
        lives: "stack",
        uses: (graph) =>
            graph.resources
                .filter((r) => r.type === "gcp:container/cluster:Cluster" && isObject(r.inputs.databaseEncryption) && r.inputs.databaseEncryption.state === "ENCRYPTED")
                .flatMap((r) => {
                    const keyName = (r.inputs.databaseEncryption as Record<string, unknown>).keyName;
                    const key = referenced(graph, keyName, new Set());
                    return uses([key ? projectOfResource(graph, key) : (PROJECT_PATH.exec(String(keyName))?.[1] ?? projectOfResource(graph, r))], ["cloudkms.googleapis.com"]);
                }),
        source: [
            'https://cloud.google.com/kubernetes-engine/docs/how-to/encrypting-secrets: "To use application-layer secrets encryption, you must first create a Cloud KMS key and give the GKE service account access to the key"',
        ],
    },
    {
        id: "image-pulls",
        what: "GKE nodes pull the app image from its Artifact Registry repository, as the nodes' service account, through the Artifact Registry API of the repository's project.",
        services: ["artifactregistry.googleapis.com"],
        triggers: POD_TYPES,
        lives: "registry",
        uses: (graph) =>
            uses(
                artifactRegistryRepositories(podSpecs(graph).flatMap((spec) => containersOf(spec).flatMap((c) => str(c.image) ?? []))).map((repo) => repo.project.split(":").pop()),
                ["artifactregistry.googleapis.com"],
            ),
        source: [
            'https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity: "GKE still uses the configured IAM service account for the node pool to pull container images from the image registry"',
            "https://cloud.google.com/artifact-registry/docs/integrate-gke (a cluster in another project than the repository: grant the nodes' service account Artifact Registry permissions on the repository)",
        ],
    },
    {
        id: "binary-authorization",
        what: "A cluster with binaryAuthorization.evaluationMode PROJECT_SINGLETON_POLICY_ENFORCE has every new pod checked against its project's Binary Authorization policy, through the Binary Authorization API of the cluster's project.",
        services: ["binaryauthorization.googleapis.com"],
        triggers: ["gcp:container/cluster:Cluster"],
        lives: "stack",
        uses: (graph) =>
            uses(
                graph.resources
                    .filter((r) => r.type === "gcp:container/cluster:Cluster" && isObject(r.inputs.binaryAuthorization) && r.inputs.binaryAuthorization.evaluationMode === "PROJECT_SINGLETON_POLICY_ENFORCE")
                    .map((r) => projectOfResource(graph, r)),
                ["binaryauthorization.googleapis.com"],
            ),
        source: [
            'https://cloud.google.com/binary-authorization/docs/setting-up: set up enforcement for GKE by enabling Binary Authorization (the API), creating or updating the cluster with it, and configuring the policy; the policy is projects/PROJECT_ID/policy (https://cloud.google.com/binary-authorization/docs/policy-yaml-reference, "name")',
        ],
    },
    {
        id: "vulnerability-scanning",
        what: "Artifact Analysis scans each new image pushed to the Artifact Registry repositories the stack runs images from (on push, once per digest: OS and Python packages among others; then continuous analysis keeps the findings current for 30 days) when the Container Scanning API is enabled in the repository's project; billed per scanned image. Its findings are occurrences of the Container Analysis API of that project, which is what the console and gcloud read.",
        services: ["containeranalysis.googleapis.com", "containerscanning.googleapis.com"],
        triggers: POD_TYPES,
        lives: "registry",
        uses: (graph) =>
            uses(
                artifactRegistryRepositories(podSpecs(graph).flatMap((spec) => containersOf(spec).flatMap((c) => str(c.image) ?? []))).map((repo) => repo.project.split(":").pop()),
                ["containeranalysis.googleapis.com", "containerscanning.googleapis.com"],
            ),
        source: [
            'https://cloud.google.com/artifact-analysis/docs/container-scanning-overview ("Feature support": OS packages and, in Artifact Registry, Python packages; "Continuous analysis"); https://cloud.google.com/artifact-analysis/docs/investigate-vulnerabilities: results are read with the ListOccurrences method of containeranalysis.googleapis.com, "the 30-day continuous analysis window", role roles/containeranalysis.occurrences.viewer on the project',
            'https://cloud.google.com/artifact-analysis/docs/automated-scanning-howto: "Enable the Artifact Registry and Container Scanning APIs"; https://cloud.google.com/artifact-analysis/docs/container-scanning-overview: "Artifact Analysis scans new images when they\'re uploaded to Artifact Registry … only once, based on the image\'s digest"',
            'https://cloud.google.com/artifact-analysis/pricing: "$0.26 per scanned container image"; "When you enable the Container Scanning API, billing begins immediately"; existing images are not scanned until pushed again',
        ],
    },
    {
        id: "ci-workload-identity-federation",
        what: "CI signs in through the bootstrap's workload identity pool: GitHub's token is exchanged at Security Token Service, then the deployer's token is minted by IAM Service Account Credentials, in the pool's project.",
        services: ["sts.googleapis.com", "iamcredentials.googleapis.com"],
        triggers: ["gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"],
        lives: "registry",
        uses: (graph) =>
            uses(
                graph.resources.filter((r) => r.type === "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider").map((r) => projectOfResource(graph, r)),
                ["sts.googleapis.com", "iamcredentials.googleapis.com"],
            ),
        source: ['https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes: "Enable the IAM, Resource Manager, Service Account Credentials, and Security Token Service APIs" (the same step for every external identity provider)'],
    },
];

// ---------------------------------------------------------------------------------------------
// Computing the sets.

/** The APIs of one rendered stack. */
export interface ApiSet {
    /** project → service → why (type tokens and feature ids), sorted. */
    readonly byProject: Record<string, Record<string, string[]>>;
    /** Types without a row: the table must be extended (the coverage test fails). */
    readonly missing: string[];
}

/** The sorted services of one project of a set. */
export function servicesOf(set: ApiSet, project: string): string[] {
    return Object.keys(set.byProject[project] ?? {}).sort();
}

/** The services per project one rendered stack needs: rows for its types, features for its objects. */
export function apisForGraph(graph: Graph, table: readonly ApiRow[] = API_TABLE, features: readonly FeatureRow[] = FEATURE_TABLE): ApiSet {
    const need = new Map<string, Map<string, Set<string>>>();
    const add = (project: string, service: string, why: string) => {
        const services = need.get(project) ?? new Map<string, Set<string>>();
        services.set(service, new Set([...(services.get(service) ?? []), why]));
        need.set(project, services);
    };
    const missing = new Set<string>();
    for (const r of graph.resources) {
        const found = apiRowFor(r.type, table);
        if (!found) {
            missing.add(r.type);
            continue;
        }
        for (const service of found.services) {
            add(projectOfResource(graph, r), service, r.type);
        }
    }
    for (const i of graph.invokes) {
        const found = apiRowFor(i.token, table);
        if (!found) {
            missing.add(i.token);
            continue;
        }
        for (const service of found.services) {
            add(str(i.inputs.project) ?? str(i.inputs.projectId) ?? graph.defaultProject, service, i.token);
        }
    }
    for (const feature of features) {
        for (const use of feature.uses(graph)) {
            add(use.project, use.service, feature.id);
        }
    }
    const byProject: Record<string, Record<string, string[]>> = {};
    for (const project of [...need.keys()].sort()) {
        const services = need.get(project) as Map<string, Set<string>>;
        byProject[project] = Object.fromEntries([...services.keys()].sort().map((s) => [s, [...(services.get(s) as Set<string>)].sort()]));
    }
    return { byProject, missing: [...missing].sort() };
}

/** The union over every mode, by where the resources live. */
export interface ProgramApis {
    readonly stack: string[];
    readonly registry: string[];
    readonly zone: string[];
    /** Types without a row. */
    readonly missing: string[];
}

/**
 * The services the program needs in every mode (its types: bootstrap/resourceTypes.json), by where
 * they are needed: rows by their `lives`, features whose trigger type the program registers.
 */
export function programApis(types: ProgramTypes, table: readonly ApiRow[] = API_TABLE, features: readonly FeatureRow[] = FEATURE_TABLE): ProgramApis {
    const out: Record<Lives, Set<string>> = { stack: new Set(), registry: new Set(), zone: new Set() };
    const all = [...new Set([...types.resources, ...types.invokes])];
    const missing: string[] = [];
    for (const type of all) {
        const found = apiRowFor(type, table);
        if (!found) {
            missing.push(type);
            continue;
        }
        found.services.forEach((s) => out[found.lives].add(s));
    }
    for (const feature of features.filter((f) => f.triggers.some((t) => all.includes(t)))) {
        feature.services.forEach((s) => out[feature.lives].add(s));
    }
    const sorted = (s: Set<string>) => [...s].sort();
    return { stack: sorted(out.stack), registry: sorted(out.registry), zone: sorted(out.zone), missing: missing.sort() };
}
