import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link StateBackend}. */
export interface StateBackendArgs {
    /** GCP project id. */
    readonly project: string;
    /** Bucket location (region or multi-region). */
    readonly location: string;
    /** Globally unique name of the state bucket. */
    readonly bucketName: string;
    /** Days a replaced state file version is kept before it may be deleted. @default 90 */
    readonly noncurrentVersionDays?: number;
    /** Replaced versions always kept, however old (the lifecycle rule needs both). @default 10 */
    readonly keepVersions?: number;
    /** Days access logs are kept. @default 365 */
    readonly accessLogDays?: number;
    /**
     * Write usage and storage logs of the state bucket (config `stateAccessLogs`). Off: no log
     * bucket and no grant to Google's `group:cloud-storage-analytics@google.com`, which
     * domain-restricted sharing rejects (components/accessLogs.ts). @default true
     */
    readonly accessLogs?: boolean;
}

/**
 * The GCS bucket behind `pulumi login gs://…`: private (uniform access, public access prevention
 * enforced), versioned so any earlier checkpoint can be restored, old versions pruned only after
 * {@link StateBackendArgs.noncurrentVersionDays} and never below
 * {@link StateBackendArgs.keepVersions}, access-logged to a second private bucket (unless
 * {@link StateBackendArgs.accessLogs} is false). `protect`ed: losing it loses every stack's state.
 */
export class StateBackend extends pulumi.ComponentResource {
    /** The state bucket. */
    public readonly bucket: gcp.storage.Bucket;
    /** The access-log bucket of the state bucket; absent with `accessLogs: false`. */
    public readonly logBucket?: gcp.storage.Bucket;
    /** `gs://<bucket>`: the Pulumi backend URL. */
    public readonly url: pulumi.Output<string>;
    private readonly baseName: string;

    constructor(name: string, args: StateBackendArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:state:StateBackend", name, {}, opts);
        this.baseName = name;
        const hardening = { uniformBucketLevelAccess: true, publicAccessPrevention: "enforced", versioning: { enabled: true } };

        if (args.accessLogs !== false) {
            this.logBucket = new gcp.storage.Bucket(`${name}-access-logs`, {
                project: args.project,
                location: args.location,
                ...hardening,
                lifecycleRules: [{ action: { type: "Delete" }, condition: { age: args.accessLogDays ?? 365 } }],
            }, { parent: this, dependsOn: opts?.dependsOn });

            // GCS writes usage logs as this Google group; with uniform access it needs a bucket grant.
            new gcp.storage.BucketIAMMember(`${name}-access-logs-writer`, {
                bucket: this.logBucket.name,
                role: "roles/storage.objectCreator",
                member: "group:cloud-storage-analytics@google.com",
            }, { parent: this });
        }

        this.bucket = new gcp.storage.Bucket(`${name}-bucket`, {
            project: args.project,
            location: args.location,
            name: args.bucketName,
            ...hardening,
            forceDestroy: false,
            logging: this.logBucket ? { logBucket: this.logBucket.name } : undefined,
            lifecycleRules: [{
                action: { type: "Delete" },
                condition: {
                    withState: "ARCHIVED",
                    daysSinceNoncurrentTime: args.noncurrentVersionDays ?? 90,
                    numNewerVersions: args.keepVersions ?? 10,
                },
            }],
        }, { parent: this, protect: true, dependsOn: opts?.dependsOn });
        this.url = pulumi.interpolate`gs://${this.bucket.name}`;

        this.registerOutputs({ url: this.url, logBucket: this.logBucket?.name });
    }

    /**
     * Lets `member` read the bucket's own settings (`storage.buckets.get`, through
     * `roles/storage.legacyBucketReader`), which preflight's `state` check reads to tell whether old
     * checkpoints are kept (versioning). `grantee` names the grant's resource (`<name>-<grantee>`).
     */
    public grantBucketRead(grantee: string, member: pulumi.Input<string>): gcp.storage.BucketIAMMember {
        return new gcp.storage.BucketIAMMember(`${this.baseName}-${grantee}`, {
            bucket: this.bucket.name,
            role: "roles/storage.legacyBucketReader",
            member,
        }, { parent: this });
    }

    /**
     * Lets `member` read and write state (objects only) in this bucket. `grantee` names the grant's
     * resource (`<name>-<grantee>`).
     */
    public grantStateAccess(grantee: string, member: pulumi.Input<string>): gcp.storage.BucketIAMMember {
        return new gcp.storage.BucketIAMMember(`${this.baseName}-${grantee}`, {
            bucket: this.bucket.name,
            role: "roles/storage.objectUser",
            member,
        }, { parent: this });
    }
}
