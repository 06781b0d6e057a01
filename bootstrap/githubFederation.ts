import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** GitHub Actions' OIDC token issuer. */
export const GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com";

/** The branch whose pushes and environment jobs may deploy (`deploy.yml` runs on pushes to it). */
export const DEPLOY_REF = "refs/heads/main";

/**
 * Longest `google.subject` Google accepts ("Cannot exceed 127 bytes": attributeMapping in the IAM
 * API reference; google-github-actions/auth docs/TROUBLESHOOTING.md "Subject exceeds the 127 byte
 * limit"). A longer mapped subject fails the token exchange.
 */
export const MAX_SUBJECT_BYTES = 127;

/**
 * Where a workflow job runs, as far as Google Cloud is concerned. Only these contexts are ever
 * bound to a service account; every other job maps to `repo:<repository>:other:<event>`.
 */
export type CiContext =
    /** A job of a `pull_request` run (any branch, with or without `environment:`). */
    | { readonly kind: "pull_request" }
    /** A job with `environment: <name>` in a run on {@link DEPLOY_REF} that is not a pull request. */
    | { readonly kind: "environment"; readonly name: string }
    /** A job without environment in a `push` run on {@link DEPLOY_REF}. */
    | { readonly kind: "push" };

/** The `google.subject` the provider maps for jobs of `repository` in `context`. Pure. */
export function subjectOf(repository: string, context: CiContext): string {
    switch (context.kind) {
        case "pull_request":
            return `repo:${repository}:pull_request`;
        case "environment":
            return `repo:${repository}:environment:${context.name}`;
        case "push":
            return `repo:${repository}:push:${DEPLOY_REF}`;
    }
}

/**
 * The CEL expression of `google.subject`: GitHub's classic subject layout, rebuilt from claims
 * every token carries (`repository`, `event_name`, `ref`) plus `environment` behind `has()`, which
 * is present only when the job references an environment (docs.github.com, "OpenID Connect
 * reference": the subject includes the environment "when the job references an environment").
 *
 * Why not `assertion.sub` itself:
 * - GitHub switches repositories created or renamed from 2026-07-15 (and any that opt in) to
 *   immutable subject claims, `repo:<owner>@<id>/<repo>@<id>:…` (github.blog changelog
 *   2026-04-23, "Immutable subject claims for GitHub Actions OIDC tokens"), and an owner can
 *   customise the `sub` template; a binding on the name-based `sub` would silently stop matching.
 * - In GitHub's `sub`, an `environment:` job of a `pull_request` run reads `…:environment:<name>`,
 *   exactly like the deploy jobs, and a `workflow_dispatch` on any branch can name an environment
 *   too; only the environment's deployment-branch rule would stand between a branch and the
 *   deployer. Here a pull request is always `pull_request`, and only runs on {@link DEPLOY_REF}
 *   can be `environment:` or `push:`.
 *
 * The repository is part of every subject, so a principal stays scoped to it even if the
 * provider's condition is ever widened to a whole organisation.
 */
export function subjectMapping(): string {
    return (
        "'repo:' + assertion.repository + ':' + (" +
        "assertion.event_name == 'pull_request' ? 'pull_request' : (" +
        `assertion.ref != '${DEPLOY_REF}' ? 'other:' + assertion.event_name : (` +
        "has(assertion.environment) ? 'environment:' + assertion.environment : (" +
        "assertion.event_name == 'push' ? 'push:' + assertion.ref : 'other:' + assertion.event_name))))"
    );
}

/**
 * The provider's attribute mapping. `google.subject` ({@link subjectMapping}) is what the service
 * accounts are bound to. The custom attributes read only short claims every GitHub token carries
 * (repository, repository_owner, event_name): a claim the token lacks, or a mapped value over
 * {@link MAX_SUBJECT_BYTES}, fails the exchange. That is why `ref` is not mapped as is (a long
 * branch name would exceed it); the subject only carries it for pushes to {@link DEPLOY_REF}.
 */
export function attributeMapping(): Record<string, string> {
    return {
        "google.subject": subjectMapping(),
        "attribute.repository": "assertion.repository",
        "attribute.repository_owner": "assertion.repository_owner",
        "attribute.event_name": "assertion.event_name",
    };
}

/** The attribute condition that admits tokens from `repository` only. Pure, for tests. */
export function repositoryCondition(repository: string): string {
    return `assertion.repository == '${repository}'`;
}

/** Contexts the deployer is bound to: pushes to main (image build) and each stack's environment. */
export function deployerContexts(environments: readonly string[]): Record<string, CiContext> {
    return {
        "push-main": { kind: "push" },
        ...Object.fromEntries(environments.map((name) => [`environment-${name}`, { kind: "environment", name } as CiContext])),
    };
}

/** Contexts the previewer is bound to: pull request runs. */
export function previewerContexts(): Record<string, CiContext> {
    return { "pull-request": { kind: "pull_request" } };
}

/** Arguments of {@link GithubFederation}. */
export interface GithubFederationArgs {
    /** GCP project id. */
    readonly project: string;
    /** The one repository (`owner/name`, exact case) whose workflows may exchange tokens. */
    readonly repository: string;
    /** Workload identity pool id. Deleted pools block their id for 30 days. */
    readonly poolId: string;
    /** Provider id inside the pool. @default "github" */
    readonly providerId?: string;
}

/**
 * Workload Identity Federation for GitHub Actions: workflows trade their OIDC token for short-lived
 * Google credentials, so no service account key exists anywhere. The provider rejects tokens from
 * any other repository (attribute condition) and maps each job to a subject naming its
 * {@link CiContext}; {@link principal} turns a context into the IAM member to bind on a service
 * account, so pull requests and deploys get different accounts.
 */
export class GithubFederation extends pulumi.ComponentResource {
    /** The pool. */
    public readonly pool: gcp.iam.WorkloadIdentityPool;
    /** The OIDC provider. */
    public readonly provider: gcp.iam.WorkloadIdentityPoolProvider;
    /**
     * Full provider resource name (`projects/<number>/locations/global/workloadIdentityPools/…/providers/…`),
     * the `workload_identity_provider` input of google-github-actions/auth.
     */
    public readonly providerName: pulumi.Output<string>;
    private readonly repository: string;

    constructor(name: string, args: GithubFederationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:github:GithubFederation", name, {}, opts);
        this.repository = args.repository;

        this.pool = new gcp.iam.WorkloadIdentityPool(`${name}-pool`, {
            project: args.project,
            workloadIdentityPoolId: args.poolId,
            displayName: "GitHub Actions",
            description: `CI/CD of ${args.repository}`,
        }, { parent: this, dependsOn: opts?.dependsOn });

        this.provider = new gcp.iam.WorkloadIdentityPoolProvider(`${name}-provider`, {
            project: args.project,
            workloadIdentityPoolId: this.pool.workloadIdentityPoolId,
            workloadIdentityPoolProviderId: args.providerId ?? "github",
            displayName: "GitHub Actions OIDC",
            attributeMapping: attributeMapping(),
            attributeCondition: repositoryCondition(args.repository),
            oidc: { issuerUri: GITHUB_OIDC_ISSUER },
        }, { parent: this });

        this.providerName = this.provider.name;
        this.registerOutputs({ providerName: this.providerName });
    }

    /**
     * The IAM member for the repository's jobs in `context`:
     * `principal://iam.googleapis.com/<pool name>/subject/<subject>` (the `google.subject` form of
     * principal identifiers in the IAM docs). One subject, never a pool-wide principal set.
     */
    public principal(context: CiContext): pulumi.Output<string> {
        return pulumi.interpolate`principal://iam.googleapis.com/${this.pool.name}/subject/${subjectOf(this.repository, context)}`;
    }
}

/**
 * Binds `roles/iam.workloadIdentityUser` on `account` (never on the project) to each of
 * `principals`, one binding per principal named `<name>-federated-user-<key>`.
 */
export function grantWorkloadIdentityUser(
    name: string,
    account: gcp.serviceaccount.Account,
    principals: Readonly<Record<string, pulumi.Input<string>>>,
    parent: pulumi.Resource,
): gcp.serviceaccount.IAMMember[] {
    return Object.entries(principals).map(([key, member]) =>
        new gcp.serviceaccount.IAMMember(`${name}-federated-user-${key}`, {
            serviceAccountId: account.name,
            role: "roles/iam.workloadIdentityUser",
            member,
        }, { parent }),
    );
}
