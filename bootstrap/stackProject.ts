import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ROLE_IDS } from "./ciNames";
import {
    DEPLOYER_PREDEFINED_ROLES,
    GRANTABLE_PROJECT_ROLES,
    PREFLIGHT_ROLE_PERMISSIONS,
    PREVIEWER_PREDEFINED_ROLES,
    deployerPermissions,
    grantCondition,
    iamStepPermissions,
    podBinderPermissions,
    previewInvokePermissions,
    resourceIamCondition,
    resourceIamPermissions,
    URL_SIGNER_PERMISSIONS,
} from "./deployerRoles";

/** Arguments of {@link StackProject}. */
export interface StackProjectArgs {
    /** The stack's project. No other stack and no CI home lives there (bootstrap/config.ts refuses it). */
    readonly project: string;
    /** The stack. */
    readonly stack: string;
    /** The stack's deployer (`serviceAccount:…`). */
    readonly deployer: pulumi.Input<string>;
    /** The stack's previewer, when pull requests may preview it. @default none */
    readonly previewer?: pulumi.Input<string>;
    /** People who may run the IAM step (`user:`/`group:` members). @default [] */
    readonly iamAdmins?: readonly string[];
}

/** The IAM step's permissions on a stack's project, split by where they are granted. */
export function iamStepProjectPermissions(): { unconditional: string[]; projectGrants: string[]; elsewhere: string[] } {
    const all = iamStepPermissions();
    const projectGrants = all.filter((p) => p.startsWith("resourcemanager.projects."));
    // The image repository lives in the CI home project: granted there, on the repository
    // (bootstrap/imageRegistry.ts grantIamManagement).
    const elsewhere = all.filter((p) => p.startsWith("artifactregistry."));
    return { unconditional: all.filter((p) => !projectGrants.includes(p) && !elsewhere.includes(p)), projectGrants, elsewhere };
}

/**
 * Everything one stack's CI identities and IAM step runners get in that stack's project: the
 * custom roles (ids in bootstrap/ciNames.ts `ROLE_IDS`) and their bindings.
 * - Pod accounts: the URL signer role (`signBlob` only), bound by the IAM step on each signing
 *   pod account to itself.
 * - Deployer: the stack deploy role (no IAM administration), `roles/container.developer`, the
 *   preflight reads, and the resource-IAM role bound with {@link resourceIamCondition}. The
 *   pod-binder role is created here and granted by the IAM step on each pod account only.
 * - Previewer (when previewed): what a plain `pulumi preview` looks up, and `roles/container.viewer`.
 * - IAM step runners (`iamAdmins`): service accounts and their IAM policies, and the project IAM
 *   policy under {@link grantCondition}: only the platform's roles.
 * Nothing here is granted on the CI home project.
 */
export class StackProject extends pulumi.ComponentResource {
    constructor(name: string, args: StackProjectArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:iam:StackProject", name, {}, opts);
        const project = args.project;
        const child = { parent: this, dependsOn: opts?.dependsOn };
        const role = (key: string, roleId: string, title: string, description: string, permissions: readonly string[]) =>
            new gcp.projects.IAMCustomRole(`${name}-${key}-role`, { project, roleId, title, description, permissions: [...permissions], stage: "GA" }, child);
        const bind = (key: string, roleName: pulumi.Input<string>, member: pulumi.Input<string>, condition?: { title: string; description: string; expression: string }) =>
            new gcp.projects.IAMMember(`${name}-${key}`, { project, role: roleName, member, condition }, { parent: this });
        const predefined = (who: string, r: string, member: pulumi.Input<string>) => bind(`${who}-${r.replace(/^roles\//, "").replace(/\./g, "-")}`, r, member);

        const deploy = role("deploy", ROLE_IDS.deploy, `django-platform deploy (${args.stack})`, "Exactly what `pulumi up` of the stack creates and changes, without IAM administration (bootstrap/deployerRoles.ts).", deployerPermissions());
        const resourceIam = role("resource-iam", ROLE_IDS.resourceIam, `django-platform resource IAM (${args.stack})`, "The IAM policy of the stack's own buckets and GKE Secrets key; bound with a condition on their names.", resourceIamPermissions());
        // Created here, with the other custom roles, not in the IAM step: creating custom roles
        // comes with updating them (iam.roles.update, project-wide: IAM conditions cannot narrow it),
        // which would let the IAM step's runners rewrite the deployer's role.
        role("url-signer", ROLE_IDS.urlSigner, `django-platform URL signer (${args.stack})`, "Sign blobs as a service account (signed media URLs), nothing else; the IAM step binds it on each signing pod account, to itself.", URL_SIGNER_PERMISSIONS);
        role("pod-binder", ROLE_IDS.podBinder, `django-platform pod identity binder (${args.stack})`, "A pod service account's IAM policy (Workload Identity); granted by the IAM step on the stack's pod accounts only.", podBinderPermissions());
        const preflight = role("preflight", ROLE_IDS.preflight, `django-platform preflight (${args.stack})`, "Read-only: what the CI preflight's checks ask Google (bootstrap/preflightReads.ts).", PREFLIGHT_ROLE_PERMISSIONS);

        bind("deployer-deploy", deploy.name, args.deployer);
        bind("deployer-preflight", preflight.name, args.deployer);
        bind("deployer-resource-iam", resourceIam.name, args.deployer, {
            title: "stack-buckets-and-secrets-key-only",
            description: "The stack's own buckets (django-…) and GKE Secrets key ring; not the stack's secrets key ring or any other resource.",
            expression: resourceIamCondition(),
        });
        for (const { role: r } of DEPLOYER_PREDEFINED_ROLES) {
            predefined("deployer", r, args.deployer);
        }

        if (args.previewer) {
            const preview = role("preview", ROLE_IDS.preview, `django-platform preview (${args.stack})`, "Exactly what the program looks up during `pulumi preview` (provider functions): bootstrap/permissionTable.ts.", previewInvokePermissions());
            bind("previewer-preview", preview.name, args.previewer);
            for (const { role: r } of PREVIEWER_PREDEFINED_ROLES) {
                predefined("previewer", r, args.previewer);
            }
        }

        const admins = args.iamAdmins ?? [];
        if (admins.length > 0) {
            const permissions = iamStepProjectPermissions();
            const iamStep = role("iam-step", ROLE_IDS.iamAdmin, `django-platform IAM step (${args.stack})`, "The stack's service accounts and their IAM policies (iam/); for people, never CI.", permissions.unconditional);
            const grants = role("iam-step-grants", ROLE_IDS.iamProjectGrants, `django-platform IAM step project grants (${args.stack})`, "Read and change the project IAM policy; bound only with a condition on the roles granted.", permissions.projectGrants);
            admins.forEach((admin, i) => {
                bind(`iam-admin-${i}-step`, iamStep.name, admin);
                bind(`iam-admin-${i}-grants`, grants.name, admin, {
                    title: "grant-platform-roles-only",
                    description: "May grant or revoke only the roles the platform gives its own service accounts.",
                    expression: grantCondition(GRANTABLE_PROJECT_ROLES),
                });
            });
        }
        this.registerOutputs({});
    }
}
