/**
 * The Google service accounts one stack runs as, and what each is granted at project level, as a
 * pure function of the stack's validated config: the one list both programs read. The IAM step
 * (`iam/`, run rarely, by a person) creates the accounts and their project grants from it; the
 * main program (`index.ts`, what CI deploys) only looks them up by these ids
 * (`gcp.serviceaccount.getAccountOutput`) and binds its Kubernetes service accounts to them.
 * Preflight checks that they exist before a deploy (cli/lib/preflight/accounts.ts).
 */
import { serviceAccountId } from "./naming";

/** What a stack's identities are built from: the relevant part of `PlatformConfig`. */
export interface IdentityConfig {
    readonly project: string;
    readonly stack: string;
    readonly database: { readonly connector: "auth-proxy" | "private-ip" };
    readonly media: { readonly enabled: boolean };
    readonly cluster: { readonly mode: "autopilot" | "existing"; readonly namespace?: string };
    readonly workers: Readonly<Record<string, unknown>>;
}

/**
 * What an identity may do in the app's database:
 * - `schema`: the migrate Job. It owns the schema: it logs in as itself and acts as the schema
 *   owner role (`database.user`, a member of which it is), so every table it creates belongs to
 *   that role; it grants the `data` identities their privileges.
 * - `data`: web pods, CronJobs, `npm run manage`, workers: reads and writes rows (SELECT, INSERT,
 *   UPDATE, DELETE) of the app's tables; no CREATE, ALTER or DROP.
 * - `none`: collectstatic, which never connects.
 */
export type DatabaseAccess = "schema" | "data" | "none";

/** One Google service account of a stack's pods, bound to one Kubernetes service account. */
export interface PodIdentity {
    /** What runs as it: `web` (web pods, CronJobs, `npm run manage`), `migrate` (the migrate Job), `collectstatic`, `worker-<name>`. */
    readonly role: string;
    /** The account id (`dj-<stack>-<role>`, naming.ts). */
    readonly accountId: string;
    /** `<accountId>@<project>.iam.gserviceaccount.com`. */
    readonly email: string;
    /** The Kubernetes service account in the stack's namespace that runs as it. */
    readonly ksa: string;
    /** Gets `roles/cloudsql.client`, conditioned on the stack's instance (the Auth Proxy sidecar connects as it). */
    readonly cloudSqlClient: boolean;
    /**
     * Logs in to the database as its own IAM database user (Cloud SQL IAM database authentication,
     * through the Auth Proxy's `--auto-iam-authn`): gets `roles/cloudsql.instanceUser` conditioned on
     * the stack's instance, and a `CLOUD_IAM_SERVICE_ACCOUNT` user named {@link databaseUserOf}.
     */
    readonly iamDatabaseUser: boolean;
    /** What it may do in the app's database. */
    readonly database: DatabaseAccess;
    /** Uses the media bucket and signs its URLs as itself. */
    readonly media: boolean;
}

/** The node service account of a created Autopilot cluster. */
export interface NodeIdentity {
    readonly accountId: string;
    readonly email: string;
}

/** Every account a stack needs. */
export interface StackIdentities {
    readonly project: string;
    readonly stack: string;
    /** The app namespace (`cluster.namespace`, default `django-<stack>`). */
    readonly namespace: string;
    readonly pods: readonly PodIdentity[];
    /** Absent in `cluster.mode: existing` (that cluster has its own node service account). */
    readonly nodes?: NodeIdentity;
}

/**
 * The name of a service account's IAM database user on Cloud SQL for PostgreSQL: its email without
 * `.gserviceaccount.com` ("For a service account, use the service account's email without the
 * .gserviceaccount.com domain suffix", https://cloud.google.com/sql/docs/postgres/add-manage-iam-users).
 */
export function databaseUserOf(email: string): string {
    return email.replace(/\.gserviceaccount\.com$/, "");
}

/** The name of the platform's one DjangoPlatform (index.ts): every child's name starts with it. */
export const PLATFORM_NAME = "django";

/**
 * The prefix of the Cloud SQL instance's name: `<platform>-database-instance-` and the random
 * suffix Pulumi's auto-naming adds. The IAM step runs before the instance exists, so its grants
 * on the instance are conditioned on this prefix in the stack's project.
 */
export function databaseInstancePrefix(project: string): string {
    return `projects/${project}/instances/${PLATFORM_NAME}-database-instance-`;
}

/**
 * The IAM condition (CEL) that limits a project grant of a Cloud SQL role to the stack's instance:
 * Cloud SQL Admin honours `resource.type` and `resource.name` in conditions (instances are
 * `sqladmin.googleapis.com/Instance`, named `projects/<p>/instances/<i>`,
 * https://cloud.google.com/iam/docs/conditions-resource-attributes).
 */
export function databaseInstanceCondition(project: string): string {
    return `resource.type == 'sqladmin.googleapis.com/Instance' && resource.name.startsWith('${databaseInstancePrefix(project)}')`;
}

/** `<id>@<project>.iam.gserviceaccount.com`. */
export function serviceAccountEmail(accountId: string, project: string): string {
    return `${accountId}@${project}.iam.gserviceaccount.com`;
}

/**
 * The node service account id of a stack's Autopilot cluster. Kept as the program has always
 * named it (`gke-nodes-<stack>`, cut to 30 characters): an account id cannot change without
 * replacing the account.
 */
export function nodeServiceAccountId(stack: string): string {
    return `gke-nodes-${stack}`.slice(0, 30);
}

/** The app namespace of a stack. */
export function appNamespace(cfg: Pick<IdentityConfig, "stack" | "cluster">): string {
    return cfg.cluster.namespace ?? `django-${cfg.stack}`;
}

/**
 * How the pods log in to the database: `iam` behind the Auth Proxy (`--auto-iam-authn`: the proxy
 * sends the pod's OAuth token as the password), `password` with `database.connector: private-ip`,
 * where the app would have to fetch and refresh that token itself: the reference app and the env
 * contract keep the password user there (docs/architecture.md, "Database roles").
 */
export function databaseAuthentication(cfg: Pick<IdentityConfig, "database">): "iam" | "password" {
    return cfg.database.connector === "auth-proxy" ? "iam" : "password";
}

/** The accounts of one stack, in a stable order (web, migrate, collectstatic, workers by name, nodes). Pure. */
export function stackIdentities(cfg: IdentityConfig): StackIdentities {
    const proxy = cfg.database.connector === "auth-proxy";
    const iam = databaseAuthentication(cfg) === "iam";
    const pod = (role: string, accountRole: string, ksa: string, database: DatabaseAccess, media: boolean): PodIdentity => {
        const accountId = serviceAccountId(cfg.stack, accountRole);
        const db = database !== "none";
        return { role, accountId, email: serviceAccountEmail(accountId, cfg.project), ksa, cloudSqlClient: db && proxy, iamDatabaseUser: db && iam, database, media: media && cfg.media.enabled };
    };
    const pods = [
        pod("web", "web", "web", "data", true),
        // The migrate Job owns the schema and touches nothing else: no media, no statics.
        pod("migrate", "migrate", "migrate", "schema", false),
        // collectstatic writes the static bucket and nothing else: no database, no media.
        pod("collectstatic", "static", "collectstatic", "none", false),
        ...Object.keys(cfg.workers).sort().map((name) => pod(`worker-${name}`, `w-${name}`, `worker-${name}`, "data", true)),
    ];
    const nodes = cfg.cluster.mode === "autopilot" ? { accountId: nodeServiceAccountId(cfg.stack), email: serviceAccountEmail(nodeServiceAccountId(cfg.stack), cfg.project) } : undefined;
    return { project: cfg.project, stack: cfg.stack, namespace: appNamespace(cfg), pods, nodes };
}

/** The pod identity of `role`; throws when the stack has none (a programming error). */
export function podIdentity(ids: StackIdentities, role: string): PodIdentity {
    const found = ids.pods.find((p) => p.role === role);
    if (!found) {
        throw new Error(`stack ${ids.stack} has no pod identity ${role} (have: ${ids.pods.map((p) => p.role).join(", ")})`);
    }
    return found;
}
