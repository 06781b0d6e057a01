import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { DEPLOYER_PREDEFINED_ROLES, GRANTABLE_PROJECT_ROLES, PREFLIGHT_ROLE_PERMISSIONS, PROJECT_IAM_PERMISSIONS, deployerPermissions, grantCondition } from "./deployerRoles";
import { grantWorkloadIdentityUser } from "./githubFederation";

/** Arguments of {@link Deployer}. */
export interface DeployerArgs {
    /** Home project of the service account. */
    readonly project: string;
    /** Projects the account deploys into (the stacks' projects); it gets its roles there. */
    readonly targetProjects: readonly string[];
    /** Service account id (the part of the email before `@`). */
    readonly accountId: string;
    /**
     * The only principals allowed to impersonate the account, by a short key that names the binding:
     * the federated subjects of pushes to main and of the stacks' GitHub environments
     * ({@link GithubFederation.principal}), never a whole repository or pool.
     */
    readonly impersonators: Readonly<Record<string, pulumi.Input<string>>>;
    /** Prefix of the custom role ids. @default "djangoPlatform" */
    readonly roleIdPrefix?: string;
}

/**
 * The service account CI deploys with. Its project-level rights are the custom role of
 * {@link deployerPermissions}, `roles/container.developer`, a second custom role to change the
 * project IAM policy whose binding only allows granting {@link GRANTABLE_PROJECT_ROLES}, and a
 * read-only third one with what the CI preflight's checks read ({@link PREFLIGHT_ROLE_PERMISSIONS}).
 * No basic and no predefined admin role. Rights on single resources (state bucket, KMS keys, image
 * repository) are granted by the components that own them, via {@link member}.
 */
export class Deployer extends pulumi.ComponentResource {
    /** The service account. */
    public readonly account: gcp.serviceaccount.Account;
    /** Its email, the `service_account` input of google-github-actions/auth. */
    public readonly email: pulumi.Output<string>;
    /** `serviceAccount:<email>`, for IAM grants. */
    public readonly member: pulumi.Output<string>;

    constructor(name: string, args: DeployerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:iam:Deployer", name, {}, opts);
        const prefix = args.roleIdPrefix ?? "djangoPlatform";

        this.account = new gcp.serviceaccount.Account(`${name}-account`, {
            project: args.project,
            accountId: args.accountId,
            displayName: "django-platform CI deployer",
            description: "Impersonated by GitHub Actions through Workload Identity Federation; has no keys.",
        }, { parent: this, dependsOn: opts?.dependsOn });
        this.email = this.account.email;
        this.member = pulumi.interpolate`serviceAccount:${this.account.email}`;

        // Only main-branch and environment jobs may act as this account (pull requests get the
        // read-only previewer): the bindings are on the account, never a project-wide
        // roles/iam.workloadIdentityUser.
        grantWorkloadIdentityUser(name, this.account, args.impersonators, this);

        for (const project of new Set(args.targetProjects)) {
            this.grantProjectRoles(`${name}-${project}`, project, prefix, opts?.dependsOn);
        }

        this.registerOutputs({ email: this.email });
    }

    /** The custom roles and bindings of one target project. */
    private grantProjectRoles(base: string, project: string, prefix: string, dependsOn: pulumi.ResourceOptions["dependsOn"]): void {
        const deployRole = new gcp.projects.IAMCustomRole(`${base}-role`, {
            project,
            roleId: `${prefix}Deployer`,
            title: "django-platform deployer",
            description: "Exactly what `pulumi up` of the django-platform stacks creates and changes (bootstrap/deployerRoles.ts).",
            permissions: deployerPermissions(),
            stage: "GA",
        }, { parent: this, dependsOn });
        new gcp.projects.IAMMember(`${base}-role-binding`, { project, role: deployRole.name, member: this.member }, { parent: this });

        const granterRole = new gcp.projects.IAMCustomRole(`${base}-iam-granter-role`, {
            project,
            roleId: `${prefix}IamGranter`,
            title: "django-platform IAM granter",
            description: "Read and change the project IAM policy; bound only with a condition on the roles granted.",
            permissions: [...PROJECT_IAM_PERMISSIONS],
            stage: "GA",
        }, { parent: this, dependsOn });
        new gcp.projects.IAMMember(`${base}-iam-granter-binding`, {
            project,
            role: granterRole.name,
            member: this.member,
            condition: {
                title: "grant-platform-roles-only",
                description: "May grant or revoke only the roles the platform gives its own service accounts.",
                expression: grantCondition(GRANTABLE_PROJECT_ROLES),
            },
        }, { parent: this });

        // What `npm run preflight` reads before each deploy (deploy.yml), so no check runs blind.
        const preflightRole = new gcp.projects.IAMCustomRole(`${base}-preflight-role`, {
            project,
            roleId: `${prefix}Preflight`,
            title: "django-platform preflight reader",
            description: "Read-only: what the CI preflight's checks ask Google (bootstrap/preflightReads.ts).",
            permissions: [...PREFLIGHT_ROLE_PERMISSIONS],
            stage: "GA",
        }, { parent: this, dependsOn });
        new gcp.projects.IAMMember(`${base}-preflight-binding`, { project, role: preflightRole.name, member: this.member }, { parent: this });

        for (const { role } of DEPLOYER_PREDEFINED_ROLES) {
            new gcp.projects.IAMMember(`${base}-${role.replace(/^roles\//, "").replace(/\./g, "-")}`, { project, role, member: this.member }, { parent: this });
        }
    }
}
