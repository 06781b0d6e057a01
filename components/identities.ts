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

/** One Google service account of a stack's pods, bound to one Kubernetes service account. */
export interface PodIdentity {
    /** What runs as it: `web` (web pods, migrate Job, CronJobs, `npm run manage`), `collectstatic`, `worker-<name>`. */
    readonly role: string;
    /** The account id (`dj-<stack>-<role>`, naming.ts). */
    readonly accountId: string;
    /** `<accountId>@<project>.iam.gserviceaccount.com`. */
    readonly email: string;
    /** The Kubernetes service account in the stack's namespace that runs as it. */
    readonly ksa: string;
    /** Gets `roles/cloudsql.client` on the project (the Auth Proxy sidecar connects as it). */
    readonly cloudSqlClient: boolean;
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

/** The accounts of one stack, in a stable order (web, collectstatic, workers by name, nodes). Pure. */
export function stackIdentities(cfg: IdentityConfig): StackIdentities {
    const proxy = cfg.database.connector === "auth-proxy";
    const media = cfg.media.enabled;
    const pod = (role: string, accountRole: string, ksa: string, app: boolean): PodIdentity => {
        const accountId = serviceAccountId(cfg.stack, accountRole);
        return { role, accountId, email: serviceAccountEmail(accountId, cfg.project), ksa, cloudSqlClient: app && proxy, media: app && media };
    };
    const pods = [
        pod("web", "web", "web", true),
        // collectstatic writes the static bucket and nothing else: no database, no media.
        pod("collectstatic", "static", "collectstatic", false),
        ...Object.keys(cfg.workers).sort().map((name) => pod(`worker-${name}`, `w-${name}`, `worker-${name}`, true)),
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
