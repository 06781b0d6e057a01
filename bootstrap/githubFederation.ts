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

/** The workflow that deploys (image and stack jobs); only its jobs on {@link DEPLOY_REF} get deploy subjects. */
export const DEPLOY_WORKFLOW = ".github/workflows/deploy.yml";

/** The workflow of pull requests; only its jobs get preview subjects. */
export const PREVIEW_WORKFLOW = ".github/workflows/pr.yml";

/**
 * Where a workflow job runs, as far as Google Cloud is concerned. Only these contexts are ever
 * bound to a service account; every other job maps to `repo:<id>:other:<event>` or
 * `repo:<id>:pull_request`, which nothing is bound to.
 */
export type CiContext =
    /** A job without environment of {@link DEPLOY_WORKFLOW} in a `push` run on {@link DEPLOY_REF}: the image job. */
    | { readonly kind: "push" }
    /** A job with `environment: <name>` of {@link DEPLOY_WORKFLOW} in a `push` run on {@link DEPLOY_REF}: a stack's deploy. */
    | { readonly kind: "environment"; readonly name: string }
    /**
     * A job with `environment: <name>` of {@link PREVIEW_WORKFLOW} in a `pull_request` run: it
     * starts only once a reviewer of that environment approved it.
     */
    | { readonly kind: "pull_request_environment"; readonly name: string };

/** The `google.subject` the provider maps for jobs of the repository with numeric id `repositoryId` in `context`. Pure. */
export function subjectOf(repositoryId: string, context: CiContext): string {
    switch (context.kind) {
        case "push":
            return `repo:${repositoryId}:push:${DEPLOY_REF}`;
        case "environment":
            return `repo:${repositoryId}:environment:${context.name}`;
        case "pull_request_environment":
            return `repo:${repositoryId}:pull_request:environment:${context.name}`;
    }
}

/**
 * The CEL expression of `google.subject`, rebuilt from claims every GitHub token carries
 * (`repository_id`, `repository`, `event_name`, `ref`, `job_workflow_ref`) plus `environment` behind
 * `has()`, which GitHub adds only when the job references an environment (docs.github.com, "OpenID
 * Connect reference"):
 * - `push` on {@link DEPLOY_REF} from {@link DEPLOY_WORKFLOW} (`job_workflow_ref` is
 *   `<owner>/<repo>/.github/workflows/deploy.yml@refs/heads/main`): `push:refs/heads/main`, or
 *   `environment:<name>` for a job in an environment. Nothing else can get these: not
 *   `pull_request_target`, `workflow_run`, `issue_comment`, `schedule`, `workflow_dispatch` or
 *   `merge_group` runs on main even when their job names an environment (they map to
 *   `other:<event>`), and not another workflow file on main.
 * - `pull_request` from {@link PREVIEW_WORKFLOW} in an environment: `pull_request:environment:<name>`
 *   (GitHub starts such a job only after the environment's reviewers approved it); every other
 *   pull request job: `pull_request`.
 * The repository enters by its numeric id, which GitHub never reuses; the workflow check compares
 * `job_workflow_ref` with the token's own `repository` name, so a rename keeps working and no
 * other repository qualifies (the provider's condition already pins the ids).
 *
 * Why not GitHub's `sub` claim: repositories created or renamed from 2026-07-15 get immutable
 * subject claims, `repo:<owner>@<id>/<repo>@<id>:…` (github.blog changelog 2026-04-23), an owner can
 * customise the template, and `sub` says nothing about the event or the workflow file.
 */
export function subjectMapping(): string {
    const workflow = (file: string, ref: string) => `assertion.job_workflow_ref == assertion.repository + '/${file}@' + ${ref}`;
    return (
        "'repo:' + assertion.repository_id + ':' + (" +
        "assertion.event_name == 'pull_request' ? (" +
        `has(assertion.environment) && ${workflow(PREVIEW_WORKFLOW, "assertion.ref")} ? 'pull_request:environment:' + assertion.environment : 'pull_request'` +
        ") : (" +
        `assertion.event_name == 'push' && assertion.ref == '${DEPLOY_REF}' && ${workflow(DEPLOY_WORKFLOW, `'${DEPLOY_REF}'`)} ? (` +
        "has(assertion.environment) ? 'environment:' + assertion.environment : 'push:' + assertion.ref" +
        ") : 'other:' + assertion.event_name))"
    );
}

/**
 * The provider's attribute mapping. `google.subject` ({@link subjectMapping}) is what the service
 * accounts are bound to. The custom attributes read only short claims every GitHub token carries
 * (ids and event name): a claim the token lacks, or a mapped value over {@link MAX_SUBJECT_BYTES},
 * fails the exchange. That is why `ref` is not mapped as is (a long branch name would exceed it).
 */
export function attributeMapping(): Record<string, string> {
    return {
        "google.subject": subjectMapping(),
        "attribute.repository_id": "assertion.repository_id",
        "attribute.repository_owner_id": "assertion.repository_owner_id",
        "attribute.event_name": "assertion.event_name",
    };
}

/**
 * The attribute condition: tokens of one repository and owner, by numeric id ("use the numeric
 * `*_id` fields instead, which GitHub guarantees to be unique and never re-used",
 * google-github-actions/auth docs/SECURITY_CONSIDERATIONS.md). Pure, for tests.
 */
export function repositoryCondition(ownerId: string, repositoryId: string): string {
    return `assertion.repository_owner_id == '${ownerId}' && assertion.repository_id == '${repositoryId}'`;
}

/**
 * Every context a service account is bound to: the image job, each stack's deploy environment, and
 * each previewed stack's approved preview environment, by a key that names the binding.
 */
export function ciContexts(stacks: readonly string[], previewStacks: readonly string[]): Record<string, CiContext> {
    return {
        "push-main": { kind: "push" },
        ...Object.fromEntries(stacks.map((name) => [`environment-${name}`, { kind: "environment", name } as CiContext])),
        ...Object.fromEntries(previewStacks.map((stack) => [`preview-${stack}`, { kind: "pull_request_environment", name: `preview-${stack}` } as CiContext])),
    };
}

/** Arguments of {@link GithubFederation}. */
export interface GithubFederationArgs {
    /** GCP project id. */
    readonly project: string;
    /** The one repository (`owner/name`), for the pool's description only: trust is by id. */
    readonly repository: string;
    /** The repository's numeric id. */
    readonly repositoryId: string;
    /** The owner's numeric id. */
    readonly ownerId: string;
    /** Workload identity pool id. Deleted pools block their id for 30 days. */
    readonly poolId: string;
    /** Provider id inside the pool. @default "github" */
    readonly providerId?: string;
}

/**
 * Workload Identity Federation for GitHub Actions: workflows trade their OIDC token for short-lived
 * Google credentials, so no service account key exists anywhere. The provider rejects tokens from
 * any other repository or owner (attribute condition, by numeric id) and maps each job to a subject
 * naming its {@link CiContext}; {@link principal} turns a context into the IAM member to bind on a
 * service account, so every trust level gets its own account.
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
    private readonly repositoryId: string;

    constructor(name: string, args: GithubFederationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:github:GithubFederation", name, {}, opts);
        this.repositoryId = args.repositoryId;

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
            attributeCondition: repositoryCondition(args.ownerId, args.repositoryId),
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
        return pulumi.interpolate`principal://iam.googleapis.com/${this.pool.name}/subject/${subjectOf(this.repositoryId, context)}`;
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
