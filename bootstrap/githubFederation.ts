import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** GitHub Actions' OIDC token issuer. */
export const GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com";

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

/** The attribute condition that admits tokens from `repository` only. Pure, for tests. */
export function repositoryCondition(repository: string): string {
    return `assertion.repository == '${repository}'`;
}

/**
 * Workload Identity Federation for GitHub Actions: workflows trade their OIDC token for short-lived
 * Google credentials, so no service account key exists anywhere. The provider rejects tokens from
 * any other repository (attribute condition), and {@link principalSet} names exactly the
 * repository's workflows, for binding on a service account.
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
    /** IAM member for every workflow run of the repository, and nothing else. */
    public readonly principalSet: pulumi.Output<string>;

    constructor(name: string, args: GithubFederationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:github:GithubFederation", name, {}, opts);

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
            // Only claims every GitHub token carries: mapping a missing claim fails the exchange.
            attributeMapping: {
                "google.subject": "assertion.sub",
                "attribute.repository": "assertion.repository",
                "attribute.repository_owner": "assertion.repository_owner",
                "attribute.ref": "assertion.ref",
            },
            attributeCondition: repositoryCondition(args.repository),
            oidc: { issuerUri: GITHUB_OIDC_ISSUER },
        }, { parent: this });

        this.providerName = this.provider.name;
        this.principalSet = pulumi.interpolate`principalSet://iam.googleapis.com/${this.pool.name}/attribute.repository/${args.repository}`;
        this.registerOutputs({ providerName: this.providerName, principalSet: this.principalSet });
    }
}
