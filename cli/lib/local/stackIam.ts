/**
 * The IAM facts of a rendered stack that the local stand-ins enforce: which Kubernetes
 * ServiceAccount may act as which Google service account (Workload Identity), which account may
 * sign blobs as which (signed URLs), and which buckets anyone may read.
 *
 * Read from the resources the main program and the IAM step registered (the same runs that render
 * the Kubernetes objects): `gcp:serviceaccount/iAMMember` bindings on the platform's service
 * accounts (the program's `roles/iam.workloadIdentityUser`, the IAM step's URL signer role), and
 * `gcp:storage/bucketIAMMember` bindings for `allUsers`. What a role allows is its permissions:
 * the bootstrap's custom roles by their ids (bootstrap/ciNames.ts, bootstrap/deployerRoles.ts),
 * rendered custom roles by their `permissions`, and the few predefined roles a stand-in checks.
 */
import { ROLE_IDS } from "../../../bootstrap/ciNames";
import { URL_SIGNER_PERMISSIONS } from "../../../bootstrap/deployerRoles";
import type { CapturedResource } from "../mockRuntime";

/** Role that lets a Kubernetes ServiceAccount impersonate a Google service account under Workload Identity. */
export const WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser";
/** The permission IAM Credentials `signBlob` checks on the account it signs as. */
export const SIGN_BLOB = "iam.serviceAccounts.signBlob";

/**
 * Predefined roles whose permissions a stand-in checks: Service Account Token Creator holds
 * signBlob among token-minting permissions (iann0036/iam-dataset gcp/roles/iam.serviceAccountTokenCreator.json).
 */
const PREDEFINED: Readonly<Record<string, readonly string[]>> = {
    "roles/iam.serviceAccountTokenCreator": [
        "iam.serviceAccounts.get", "iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.implicitDelegation",
        "iam.serviceAccounts.list", "iam.serviceAccounts.signBlob", "iam.serviceAccounts.signJwt", "resourcemanager.projects.get", "resourcemanager.projects.list",
    ],
    [WORKLOAD_IDENTITY_USER]: ["iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.list"],
};

/** The bootstrap's custom roles a stand-in checks, by id (`projects/<p>/roles/<id>`). */
const BOOTSTRAP_ROLES: Readonly<Record<string, readonly string[]>> = { [ROLE_IDS.urlSigner]: URL_SIGNER_PERMISSIONS };

/** One binding on a Google service account: `member` holds `role` on `account` (an email). */
export interface AccountBinding {
    readonly account: string;
    readonly role: string;
    readonly member: string;
}

/** What {@link stackIamOf} finds. */
export interface StackIam {
    /** Bindings on service accounts (the account resolved to its email). */
    readonly accountBindings: readonly AccountBinding[];
    /** Buckets readable by `allUsers`. */
    readonly publicBuckets: ReadonlySet<string>;
    /** Permissions of the custom roles the renders created (`projects/<p>/roles/<id>` → permissions). */
    readonly customRoles?: ReadonlyMap<string, readonly string[]>;
}

/** The permissions of `role`: a rendered custom role, a bootstrap custom role by its id, a known predefined role, or none. */
export function rolePermissions(iam: StackIam, role: string): readonly string[] {
    const rendered = iam.customRoles?.get(role);
    if (rendered) return rendered;
    const custom = /^projects\/[^/]+\/roles\/([^/]+)$/.exec(role)?.[1];
    return (custom ? BOOTSTRAP_ROLES[custom] : PREDEFINED[role]) ?? [];
}

/** Whether `member` holds `permission` on `account` through a binding on that account. */
export function allows(iam: StackIam, member: string, permission: string, account: string): boolean {
    return iam.accountBindings.some((b) => b.account === account && b.member === member && rolePermissions(iam, b.role).includes(permission));
}

/** The email of the service account a binding's `serviceAccountId` names (its id, `name` or email). */
function accountEmail(resources: readonly CapturedResource[], id: string): string | undefined {
    if (id.includes("@")) return id.split("/").at(-1);
    const account = resources.find(
        (r) => r.type === "gcp:serviceaccount/account:Account" && (r.id === id || r.outputs.name === id || r.outputs.id === id),
    );
    const email = account?.outputs.email;
    return typeof email === "string" ? email : undefined;
}

/** The IAM facts of a stack's registered resources. */
export function stackIamOf(resources: readonly CapturedResource[]): StackIam {
    const accountBindings: AccountBinding[] = [];
    const publicBuckets = new Set<string>();
    const customRoles = new Map<string, readonly string[]>();
    for (const r of resources) {
        if (r.type === "gcp:projects/iAMCustomRole:IAMCustomRole" && typeof r.outputs.name === "string") {
            customRoles.set(r.outputs.name, (r.inputs.permissions as string[] | undefined) ?? []);
            continue;
        }
        const { role, member } = r.inputs as { role?: string; member?: string };
        if (typeof role !== "string" || typeof member !== "string") continue;
        if (r.type === "gcp:serviceaccount/iAMMember:IAMMember") {
            const account = accountEmail(resources, String(r.inputs.serviceAccountId ?? ""));
            if (account) accountBindings.push({ account, role, member });
        } else if (r.type === "gcp:storage/bucketIAMMember:BucketIAMMember" && member === "allUsers") {
            publicBuckets.add(String(r.inputs.bucket));
        }
    }
    return { accountBindings, publicBuckets, customRoles };
}
