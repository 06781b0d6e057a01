/**
 * Names of the CI identities and custom roles, as pure functions: the bootstrap creates them, the
 * IAM step (`iam/`) grants to them, the tests and docs name them. One place, so the three never
 * drift apart.
 */
import { boundedAccountId } from "../components/naming";

/** The trust levels CI runs at, one service account each (per stack where it says so). */
export type CiRole =
    /** `deploy.yml`'s image job: push to `main`, no environment. Pushes images, nothing else. */
    | { readonly kind: "image" }
    /** `deploy.yml`'s job in the GitHub environment named after the stack, on `main`. */
    | { readonly kind: "deploy"; readonly stack: string }
    /** `pr.yml`'s preview job, only after a reviewer approved it in the environment `preview-<stack>`. */
    | { readonly kind: "preview"; readonly stack: string };

/** The service account id of a CI role: `gh-image`, `gh-deploy-<stack>`, `gh-preview-<stack>` (hashed when too long). */
export function ciAccountId(role: CiRole): string {
    return role.kind === "image" ? "gh-image" : boundedAccountId(`gh-${role.kind}-${role.stack}`);
}

/** `<id>@<home>.iam.gserviceaccount.com`. */
export function ciAccountEmail(role: CiRole, home: string): string {
    return `${ciAccountId(role)}@${home}.iam.gserviceaccount.com`;
}

/** `serviceAccount:<email>` of a CI role. */
export function ciMember(role: CiRole, home: string): string {
    return `serviceAccount:${ciAccountEmail(role, home)}`;
}

/**
 * Ids of the custom roles the bootstrap creates in each stack project. New ids, not those of the
 * single-deployer layout (`djangoPlatformDeployer`, `djangoPlatformIamGranter`, …): a deleted
 * custom role id cannot be reused for weeks, and both layouts exist side by side while a stack
 * moves (docs/trust-migration.md).
 */
export const ROLE_IDS = {
    /** What `pulumi up` of the stack creates and changes, without any IAM administration. */
    deploy: "djangoPlatformStackDeploy",
    /** Read and set the IAM policy of the stack's own buckets and GKE Secrets key, bound with a condition on their names. */
    resourceIam: "djangoPlatformStackResourceIam",
    /** Read and set the IAM policy of the stack's pod service accounts, granted on each of them by the IAM step. */
    podBinder: "djangoPlatformPodIdentityBinder",
    /** What the CI preflight reads (bootstrap/preflightReads.ts). */
    preflight: "djangoPlatformStackPreflight",
    /** What a plain `pulumi preview` looks up. */
    preview: "djangoPlatformStackPreview",
    /** What the IAM step (`iam/`) creates and changes, for the members of `iamAdmins`. */
    iamAdmin: "djangoPlatformIamStep",
    /** The IAM step's project IAM changes, bound with a condition on the roles granted. */
    iamProjectGrants: "djangoPlatformIamStepProjectGrants",
    /**
     * Sign blobs as a service account and nothing else (`iam.serviceAccounts.signBlob`): the IAM
     * step binds it on each pod account that signs media URLs, to that account itself.
     */
    urlSigner: "djangoPlatformUrlSigner",
} as const;

/** `projects/<project>/roles/<id>`. */
export function customRoleName(project: string, roleId: string): string {
    return `projects/${project}/roles/${roleId}`;
}

/** The GitHub environment of a stack's deploy job (`deploy.yml`). */
export function deployEnvironment(stack: string): string {
    return stack;
}

/** The GitHub environment of a stack's reviewed pull request preview (`pr.yml`). */
export function previewEnvironment(stack: string): string {
    return `preview-${stack}`;
}
