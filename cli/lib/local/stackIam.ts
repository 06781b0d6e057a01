/**
 * The IAM facts of a rendered stack that the local stand-ins enforce: which Kubernetes
 * ServiceAccount may act as which Google service account (Workload Identity), which account may
 * sign blobs as which (signed URLs), and which buckets anyone may read.
 *
 * Read from the resources the program registered (the same run that renders the Kubernetes
 * objects): `gcp:serviceaccount/iAMMember` bindings of `roles/iam.workloadIdentityUser` and
 * `roles/iam.serviceAccountTokenCreator` on the platform's service accounts, and
 * `gcp:storage/bucketIAMMember` bindings for `allUsers`.
 */
import type { CapturedResource } from "../mockRuntime";

/** Role that lets a Kubernetes ServiceAccount impersonate a Google service account under Workload Identity. */
export const WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser";
/** Role holding `iam.serviceAccounts.signBlob`. */
export const TOKEN_CREATOR = "roles/iam.serviceAccountTokenCreator";

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
    for (const r of resources) {
        const { role, member } = r.inputs as { role?: string; member?: string };
        if (typeof role !== "string" || typeof member !== "string") continue;
        if (r.type === "gcp:serviceaccount/iAMMember:IAMMember") {
            const account = accountEmail(resources, String(r.inputs.serviceAccountId ?? ""));
            if (account) accountBindings.push({ account, role, member });
        } else if (r.type === "gcp:storage/bucketIAMMember:BucketIAMMember" && member === "allUsers") {
            publicBuckets.add(String(r.inputs.bucket));
        }
    }
    return { accountBindings, publicBuckets };
}

/** Whether `member` holds `role` on `account` (a role on an account applies to that account only). */
export function holds(iam: StackIam, member: string, role: string, account: string): boolean {
    return iam.accountBindings.some((b) => b.account === account && b.role === role && b.member === member);
}
