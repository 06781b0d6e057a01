import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** APIs of the home project: state bucket, KMS, registry, and the CI identity's token exchange. */
export const HOME_APIS: readonly string[] = [
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
    "cloudkms.googleapis.com",
    "storage.googleapis.com",
    "artifactregistry.googleapis.com",
];

/** APIs each stack's project needs for the main program's resources and its KMS key. */
export const STACK_APIS: readonly string[] = [
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "cloudkms.googleapis.com",
    "storage.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "sqladmin.googleapis.com",
    "servicenetworking.googleapis.com",
    "redis.googleapis.com",
    // Uptime check, alert policies, notification channels and dashboard (components/monitoring.ts).
    "monitoring.googleapis.com",
    // Record sets when dns.managedZone is in this project (components/dns.ts).
    "dns.googleapis.com",
];

/** Arguments of {@link RequiredApis}. */
export interface RequiredApisArgs {
    /** The APIs to enable, by project id. */
    readonly apisByProject: Readonly<Record<string, readonly string[]>>;
}

/**
 * Enables the APIs, so the deployer never needs `serviceusage.services.enable`. They stay enabled
 * on `pulumi destroy` (`disableOnDestroy: false`): turning an API off would break whatever else in
 * the project uses it.
 */
export class RequiredApis extends pulumi.ComponentResource {
    /** One resource per project and API; other components `dependsOn` these. */
    public readonly services: gcp.projects.Service[];

    constructor(name: string, args: RequiredApisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:project:RequiredApis", name, {}, opts);
        this.services = Object.entries(args.apisByProject).flatMap(([project, apis]) =>
            [...new Set(apis)].map((api) =>
                new gcp.projects.Service(`${name}-${project}-${api.split(".")[0]}`, {
                    project,
                    service: api,
                    disableOnDestroy: false,
                    disableDependentServices: false,
                }, { parent: this }),
            ),
        );
        this.registerOutputs({});
    }
}
