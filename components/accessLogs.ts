/**
 * The access-log bucket a data bucket writes its usage and storage logs to (statics, media):
 * private, versioned, logs kept 90 days, writable by Cloud Storage's log writer only
 * (https://cloud.google.com/storage/docs/access-logs).
 *
 * Cloud Storage writes these logs as the Google group {@link STORAGE_LOG_WRITER}, which must be
 * granted `roles/storage.objectCreator` on the log bucket. That group belongs to Google's own
 * customer, so an organisation enforcing domain-restricted sharing
 * (`constraints/iam.allowedPolicyMemberDomains`, enforced by default in organisations created since
 * May 2024: https://cloud.google.com/resource-manager/docs/organization-policy/restricting-domains)
 * rejects the grant and the `pulumi up` fails. `accessLogs.enabled: false` leaves both the log
 * bucket and the grant out; Cloud Audit Logs (Data Access logs for Cloud Storage) are Google's
 * recommended record of bucket access in any case ("In most cases, Cloud Audit Logs is the
 * recommended method", https://cloud.google.com/storage/docs/access-logs#should-you-use).
 * Preflight's `org-policies` check fails when the constraint restricts members and the grant is
 * rendered.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** The Google group Cloud Storage writes usage and storage logs as (https://cloud.google.com/storage/docs/access-logs). */
export const STORAGE_LOG_WRITER = "group:cloud-storage-analytics@google.com";

/** Where and how to create the log bucket. */
export interface AccessLogBucketArgs {
    readonly project: string;
    readonly location: string;
    /** Let Pulumi delete it with its objects; without it the bucket is protected (see {@link bucketDeletion}). */
    readonly forceDestroy: boolean;
    /**
     * Write usage and storage logs at all (config `accessLogs.enabled`). Off: no log bucket, no
     * grant to {@link STORAGE_LOG_WRITER}, and the data bucket logs nothing. @default true
     */
    readonly enabled?: boolean;
}

/**
 * The options that make a bucket's `forceDestroy` mean the same on every path that deletes it —
 * `pulumi destroy`, a switch turned off (`media.enabled`), a location change (a bucket's `location`
 * is ForceNew, so the bucket is replaced):
 * - `forceDestroy` true: Pulumi may delete the bucket; the provider deletes its objects first.
 * - `forceDestroy` false: the bucket is protected, so the preview refuses the delete or the
 *   replacement ("it will be an error to do a Pulumi deployment which tries to delete a protected
 *   resource for any reason", https://www.pulumi.com/docs/iac/concepts/options/protect/). Without
 *   protection the `up` would apply everything else and then fail at the end on a bucket that holds
 *   objects ("Error trying to delete bucket … without `force_destroy` set to true",
 *   terraform-provider-google storage/resource_storage_bucket.go), and fail again on every retry.
 * Setting `forceDestroy` true and running `up` once drops the protection (docs/transitions.md).
 */
export function bucketDeletion(forceDestroy: boolean): { protect: boolean } {
    return { protect: !forceDestroy };
}

/** Days an access log is kept. */
export const ACCESS_LOG_DAYS = 90;

/**
 * Creates `${name}-logs` and the grant Cloud Storage needs to write into it, as children of
 * `parent`, and returns the data bucket's `logging` block naming it; with `enabled: false`,
 * creates nothing and returns undefined (the data bucket then has no `logging`).
 */
export function accessLogging(name: string, args: AccessLogBucketArgs, parent: pulumi.Resource): gcp.types.input.storage.BucketLogging | undefined {
    if (args.enabled === false) {
        return undefined;
    }
    const logs = new gcp.storage.Bucket(`${name}-logs`, {
        project: args.project,
        location: args.location,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        forceDestroy: args.forceDestroy,
        lifecycleRules: [{ action: { type: "Delete" }, condition: { age: ACCESS_LOG_DAYS } }],
    }, { parent, ...bucketDeletion(args.forceDestroy) });
    // Cloud Storage writes usage and access logs as this Google group.
    new gcp.storage.BucketIAMMember(`${name}-logs-writer`, {
        bucket: logs.name,
        role: "roles/storage.objectCreator",
        member: STORAGE_LOG_WRITER,
    }, { parent });
    return { logBucket: logs.name };
}
