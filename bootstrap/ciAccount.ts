import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { grantWorkloadIdentityUser } from "./githubFederation";

/** Arguments of {@link CiAccount}. */
export interface CiAccountArgs {
    /** The CI home project (the account lives there; it gets no role on it). */
    readonly project: string;
    /** Service account id (bootstrap/ciNames.ts `ciAccountId`). */
    readonly accountId: string;
    /** What it is for, shown in the console. */
    readonly displayName: string;
    /** The one federated subject that may impersonate it ({@link GithubFederation.principal}), by a key naming the binding. */
    readonly impersonator: { readonly key: string; readonly principal: pulumi.Input<string> };
}

/**
 * A CI service account bound to exactly one GitHub context: `roles/iam.workloadIdentityUser` on the
 * account for one federated subject, never a principal set, a repository or the pool. It has no
 * keys and no role of its own here; whoever creates it grants it what its trust level needs, on
 * single resources or in one stack's project.
 */
export class CiAccount extends pulumi.ComponentResource {
    /** The service account. */
    public readonly account: gcp.serviceaccount.Account;
    /** Its email, the `service_account` input of google-github-actions/auth. */
    public readonly email: pulumi.Output<string>;
    /** `serviceAccount:<email>`, for IAM grants. */
    public readonly member: pulumi.Output<string>;

    constructor(name: string, args: CiAccountArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:iam:CiAccount", name, {}, opts);
        this.account = new gcp.serviceaccount.Account(`${name}-account`, {
            project: args.project,
            accountId: args.accountId,
            displayName: args.displayName,
            description: "Impersonated by one GitHub Actions context through Workload Identity Federation (bootstrap/githubFederation.ts); has no keys.",
        }, { parent: this, dependsOn: opts?.dependsOn });
        this.email = this.account.email;
        this.member = pulumi.interpolate`serviceAccount:${this.account.email}`;
        grantWorkloadIdentityUser(name, this.account, { [args.impersonator.key]: args.impersonator.principal }, this);
        this.registerOutputs({ email: this.email });
    }
}
