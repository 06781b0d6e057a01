/**
 * The read-only identity of pull request previews (`pr.yml`: `pulumi preview` of staging with the
 * policy pack). Anyone who can push a branch can change what a pull request's workflow runs, so
 * this account gets nothing that writes: it reads the stack's state, decrypts the stack's secrets
 * and reads what the program looks up in the cloud during a preview.
 *
 * What `pulumi preview` needs, checked in pulumi/pulumi (pkg/backend/diy/backend.go):
 * - on a `gs://` (DIY) backend a preview takes no lock and writes nothing: `Preview` goes straight
 *   to `apply` with `DryRun: true`, there is no snapshot manager for dry runs, and history and
 *   backups are only written `if !opts.DryRun`. Locking on preview was removed in v3.21.0 ("Allow
 *   preview on locked stack", pulumi/pulumi#8642); `Update`, `Refresh`, `Destroy` and `Import`
 *   still write `.pulumi/locks/…`. Reading state = `storage.objects.get` + `storage.objects.list`.
 *   (Login writes `.pulumi/meta.yaml` only when it is missing; the bootstrap's own first login
 *   creates it, docs/bootstrap.md.)
 * - secrets: the `gcpkms://` secrets manager decrypts the stack's data key (`encryptedkey` in
 *   `Pulumi.<stack>.yaml`) with KMS Decrypt and encrypts values locally with it; KMS Encrypt is
 *   only called to create a new data key (pkg/secrets/cloud/manager.go), i.e. at `stack init`.
 *   So `roles/cloudkms.cryptoKeyDecrypter` on that stack's key only.
 * - in the stack's project, the lookups (invokes) the program makes during a plain preview: a
 *   custom role with exactly {@link previewInvokePermissions} (computed from the deployer's
 *   permission table, bootstrap/permissionTable.ts), and the Kubernetes reads of
 *   {@link PREVIEWER_PREDEFINED_ROLES} (`roles/container.viewer`) for the provider's diff.
 *   `pr.yml` does not refresh. `pulumi preview --refresh` would need `previewerPermissions()` of
 *   bootstrap/deployerRoles.ts (every type's read, including `redis.instances.getAuthString`),
 *   which is not granted.
 *
 * No basic role: `roles/viewer` is flagged by the policy pack (`project-iam-forbids-basic-roles`;
 * CIS GCP 1.x and Checkov flag basic roles) and reads far more than a preview does.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { PREVIEWER_PREDEFINED_ROLES, previewInvokePermissions } from "./deployerRoles";
import { grantWorkloadIdentityUser } from "./githubFederation";

/** Why the custom previewer role exists; its permissions are {@link previewInvokePermissions}. */
export const PREVIEWER_ROLE_PURPOSE =
    "Exactly what the django-platform program looks up during `pulumi preview` (provider functions): bootstrap/permissionTable.ts, read permissions of the invoked types.";

/** Roles on single resources: the state bucket and the previewed stacks' KMS keys. */
export const PREVIEWER_RESOURCE_ROLES = {
    state: "roles/storage.objectViewer",
    secrets: "roles/cloudkms.cryptoKeyDecrypter",
} as const;

/** Arguments of {@link Previewer}. */
export interface PreviewerArgs {
    /** Home project of the service account. */
    readonly project: string;
    /** Service account id (the part of the email before `@`). */
    readonly accountId: string;
    /** Projects of the previewed stacks; the account gets its custom role and {@link PREVIEWER_PREDEFINED_ROLES} there. */
    readonly targetProjects: readonly string[];
    /** Prefix of the custom role id (`<prefix>Previewer`). @default "djangoPlatform" */
    readonly roleIdPrefix?: string;
    /** Name of the state bucket: object read only. */
    readonly stateBucket: pulumi.Input<string>;
    /** The previewed stacks' KMS keys (`cryptoKey.id`), by stack: decrypt only. */
    readonly secretsKeys: Readonly<Record<string, pulumi.Input<string>>>;
    /** The only principals allowed to impersonate the account (pull request runs), by binding key. */
    readonly impersonators: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * The service account pull request previews run as. Read-only: on each previewed stack's project
 * a custom role with {@link previewInvokePermissions} and {@link PREVIEWER_PREDEFINED_ROLES};
 * object read on the state bucket; decrypt with the previewed stacks' keys. Nothing else, and no
 * keys.
 */
export class Previewer extends pulumi.ComponentResource {
    /** The service account. */
    public readonly account: gcp.serviceaccount.Account;
    /** Its email, the `service_account` input of google-github-actions/auth in `pr.yml`. */
    public readonly email: pulumi.Output<string>;
    /** `serviceAccount:<email>`, for IAM grants. */
    public readonly member: pulumi.Output<string>;

    constructor(name: string, args: PreviewerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:iam:Previewer", name, {}, opts);

        this.account = new gcp.serviceaccount.Account(`${name}-account`, {
            project: args.project,
            accountId: args.accountId,
            displayName: "django-platform CI previewer (read-only)",
            description: "Impersonated by pull request runs through Workload Identity Federation for `pulumi preview`; read-only, has no keys.",
        }, { parent: this, dependsOn: opts?.dependsOn });
        this.email = this.account.email;
        this.member = pulumi.interpolate`serviceAccount:${this.account.email}`;

        grantWorkloadIdentityUser(name, this.account, args.impersonators, this);

        for (const project of new Set(args.targetProjects)) {
            const role = new gcp.projects.IAMCustomRole(`${name}-${project}-role`, {
                project,
                roleId: `${args.roleIdPrefix ?? "djangoPlatform"}Previewer`,
                title: "django-platform previewer",
                description: PREVIEWER_ROLE_PURPOSE,
                permissions: previewInvokePermissions(),
                stage: "GA",
            }, { parent: this, dependsOn: opts?.dependsOn });
            new gcp.projects.IAMMember(`${name}-${project}-role-binding`, { project, role: role.name, member: this.member }, { parent: this });
            for (const { role: predefined } of PREVIEWER_PREDEFINED_ROLES) {
                new gcp.projects.IAMMember(`${name}-${project}-${predefined.replace(/^roles\//, "").replace(/\./g, "-")}`, {
                    project,
                    role: predefined,
                    member: this.member,
                }, { parent: this, dependsOn: opts?.dependsOn });
            }
        }

        new gcp.storage.BucketIAMMember(`${name}-state-reader`, {
            bucket: args.stateBucket,
            role: PREVIEWER_RESOURCE_ROLES.state,
            member: this.member,
        }, { parent: this });

        for (const [stack, keyId] of Object.entries(args.secretsKeys)) {
            new gcp.kms.CryptoKeyIAMMember(`${name}-${stack}-decrypter`, {
                cryptoKeyId: keyId,
                role: PREVIEWER_RESOURCE_ROLES.secrets,
                member: this.member,
            }, { parent: this });
        }

        this.registerOutputs({ email: this.email });
    }
}
