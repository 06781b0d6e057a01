import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { databaseInstanceCondition, type StackIdentities } from "../components/identities";
import type { RepositoryRef } from "../components/imageRef";

/** Arguments of {@link StackIam}. */
export interface StackIamArgs {
    /** The stack's accounts (components/identities.ts `stackIdentities` of its config). */
    readonly identities: StackIdentities;
    /** `serviceAccount:<email>` of the stack's CI deployer (bootstrap/ciNames.ts). */
    readonly deployer: string;
    /**
     * The custom role the bootstrap created in the stack's project for reading and setting a pod
     * account's IAM policy (`projects/<p>/roles/djangoPlatformPodIdentityBinder`).
     */
    readonly podBinderRole: string;
    /**
     * The custom role the bootstrap created in the stack's project with `iam.serviceAccounts.signBlob`
     * only (`projects/<p>/roles/djangoPlatformUrlSigner`): bound on each pod account that signs media
     * URLs, to that account itself.
     */
    readonly urlSignerRole: string;
    /** The Artifact Registry repositories of the stack's images (`image`, `cache.image`): the nodes pull from them. */
    readonly imageRepositories: readonly RepositoryRef[];
    /**
     * `cluster.mode: existing`: that cluster's node service account (`cluster.nodeServiceAccount`),
     * which gets the pulls instead. @default none (nothing is granted; a warning says so)
     */
    readonly existingNodeServiceAccount?: string;
    /**
     * Import the accounts and their project grants instead of creating them: they exist already,
     * created by a main stack of the single-deployer layout (docs/trust-migration.md). Set for the
     * first `pulumi up` of the IAM stack only. @default false
     */
    readonly adoptExisting?: boolean;
}

/** The roles of the IAM step's grants, with why. */
export const IAM_STEP_ROLES = {
    /** The Cloud SQL Auth Proxy sidecar connects as the pod's account (components/kube.ts). */
    cloudSqlClient: "roles/cloudsql.client",
    /** The pod's account logs in to the database as its IAM database user (`cloudsql.instances.login`). */
    cloudSqlInstanceUser: "roles/cloudsql.instanceUser",
    /** What a custom node service account needs (https://cloud.google.com/kubernetes-engine/docs/troubleshooting/service-accounts). */
    nodes: "roles/container.defaultNodeServiceAccount",
    /** The nodes pull the app image, on its repository only (CIS GKE 5.2.1). */
    pull: "roles/artifactregistry.reader",
    /** Creating or updating the cluster with the nodes' account needs `iam.serviceAccounts.actAs` on that account. */
    actAs: "roles/iam.serviceAccountUser",
} as const;

/**
 * A stack's identities and grants, created by a person (the IAM step), never by CI:
 * - one Google service account per pod identity (web, collectstatic, each worker) and one for the
 *   Autopilot nodes, with the display names the single-deployer layout gave them (so adopting them
 *   changes nothing);
 * - `roles/cloudsql.client` for the identities behind the Auth Proxy, and `roles/cloudsql.instanceUser`
 *   for those that log in as their IAM database user, both conditioned on the stack's instance;
 *   `roles/container.defaultNodeServiceAccount` for the nodes;
 * - the nodes' `roles/artifactregistry.reader` on each of the images' repositories only;
 * - the URL signer role (`signBlob` only) on each pod account that signs media URLs, to itself:
 *   not Token Creator, whose `getAccessToken` would let a stolen pod token renew itself forever;
 * - for the stack's deployer: `roles/iam.serviceAccountUser` on the nodes' account (the only
 *   account it may act as) and the pod-binder role on each pod account (the only accounts whose
 *   IAM policy it may set: the Workload Identity bindings need the cluster's pool, which exists
 *   only after the deployer created the cluster).
 */
export class StackIam extends pulumi.ComponentResource {
    /** The pod accounts by role (`web`, `collectstatic`, `worker-<name>`). */
    public readonly podAccounts: Readonly<Record<string, gcp.serviceaccount.Account>>;
    /** The nodes' account (mode autopilot). */
    public readonly nodeAccount?: gcp.serviceaccount.Account;
    /** Every account's email, by role (`nodes` for the nodes). */
    public readonly emails: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: StackIamArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-iam:iam:StackIam", name, {}, opts);
        const ids = args.identities;
        const project = ids.project;
        // Adopting imports what a main stack of the single-deployer layout created: every account but
        // the migrate one, which came with IAM database authentication, after that layout.
        const adopt = (id: string, existed = true): pulumi.CustomResourceOptions => ({ parent: this, ...(args.adoptExisting && existed ? { import: id } : {}) });
        const existedBefore = (role: string) => role !== "migrate";
        const accountOpts = (email: string, role: string) => adopt(`projects/${project}/serviceAccounts/${email}`, existedBefore(role));
        const projectGrant = (resource: string, role: string, member: string, existed = true) =>
            new gcp.projects.IAMMember(resource, { project, role, member }, adopt(`${project} ${role} ${member}`, existed));
        // Cloud SQL roles hold on the stack's instance only. Not while adopting the grants a main
        // stack of the single-deployer layout made: they are imported as they are (project-wide),
        // and the next run of the IAM step replaces them by conditioned ones (docs/trust-migration.md).
        const instanceOnly = {
            title: "stack-database-instance-only",
            description: "The stack's own Cloud SQL instance (django-database-instance-…), no other instance of the project.",
            expression: databaseInstanceCondition(project),
        };
        const sqlGrant = (resource: string, role: string, member: string) =>
            new gcp.projects.IAMMember(resource, { project, role, member, condition: instanceOnly }, { parent: this });

        const pods: Record<string, gcp.serviceaccount.Account> = {};
        for (const pod of ids.pods) {
            const account = new gcp.serviceaccount.Account(`${name}-${pod.role}`, {
                project,
                accountId: pod.accountId,
                displayName: `django-platform ${pod.ksa} (${ids.stack})`,
            }, accountOpts(pod.email, pod.role));
            pods[pod.role] = account;
            if (pod.cloudSqlClient) {
                if (args.adoptExisting && existedBefore(pod.role)) {
                    projectGrant(`${name}-${pod.role}-cloudsql-client`, IAM_STEP_ROLES.cloudSqlClient, `serviceAccount:${pod.email}`);
                } else {
                    sqlGrant(`${name}-${pod.role}-cloudsql-client`, IAM_STEP_ROLES.cloudSqlClient, `serviceAccount:${pod.email}`);
                }
            }
            if (pod.iamDatabaseUser) {
                sqlGrant(`${name}-${pod.role}-cloudsql-instance-user`, IAM_STEP_ROLES.cloudSqlInstanceUser, `serviceAccount:${pod.email}`);
            }
            if (pod.media) {
                new gcp.serviceaccount.IAMMember(`${name}-${pod.role}-url-signer`, {
                    serviceAccountId: account.name,
                    role: args.urlSignerRole,
                    member: `serviceAccount:${pod.email}`,
                }, { parent: this });
            }
            new gcp.serviceaccount.IAMMember(`${name}-${pod.role}-deployer-binder`, {
                serviceAccountId: account.name,
                role: args.podBinderRole,
                member: args.deployer,
            }, { parent: this });
        }
        this.podAccounts = pods;

        let pullMember: string | undefined;
        if (ids.nodes) {
            this.nodeAccount = new gcp.serviceaccount.Account(`${name}-nodes`, {
                project,
                accountId: ids.nodes.accountId,
                displayName: "GKE Autopilot nodes (django-platform)",
            }, accountOpts(ids.nodes.email, "nodes"));
            projectGrant(`${name}-nodes-role`, IAM_STEP_ROLES.nodes, `serviceAccount:${ids.nodes.email}`);
            new gcp.serviceaccount.IAMMember(`${name}-nodes-deployer-user`, {
                serviceAccountId: this.nodeAccount.name,
                role: IAM_STEP_ROLES.actAs,
                member: args.deployer,
            }, { parent: this });
            pullMember = `serviceAccount:${ids.nodes.email}`;
        } else if (args.existingNodeServiceAccount) {
            pullMember = `serviceAccount:${args.existingNodeServiceAccount}`;
        } else if (args.imageRepositories.length > 0) {
            pulumi.log.warn(
                `stack ${ids.stack}: cluster.mode is existing and cluster.nodeServiceAccount is not set, so nothing grants that cluster's node service account ` +
                    "roles/artifactregistry.reader on the images' repositories; grant it yourself or set cluster.nodeServiceAccount.",
                this,
            );
        }
        if (pullMember) {
            for (const repo of args.imageRepositories) {
                new gcp.artifactregistry.RepositoryIamMember(`${name}-nodes-pull-${`${repo.location}-${repo.project}-${repo.repository}`.replace(/[^a-zA-Z0-9-]+/g, "-")}`, {
                    project: repo.project,
                    location: repo.location,
                    repository: repo.repository,
                    role: IAM_STEP_ROLES.pull,
                    member: pullMember,
                }, { parent: this });
            }
        }

        this.emails = pulumi.all({
            ...Object.fromEntries(Object.entries(pods).map(([role, a]) => [role, a.email])),
            ...(this.nodeAccount ? { nodes: this.nodeAccount.email } : {}),
        });
        this.registerOutputs({ emails: this.emails });
    }
}
