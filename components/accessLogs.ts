/**
 * The access-log bucket a data bucket writes its usage and access logs to (statics, media): private,
 * versioned, logs kept 90 days, writable by Cloud Storage's log writer only
 * (https://cloud.google.com/storage/docs/access-logs).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** Where and how to create the log bucket. */
export interface AccessLogBucketArgs {
    readonly project: string;
    readonly location: string;
    /** Let `pulumi destroy` delete it with its objects. */
    readonly forceDestroy: boolean;
}

/** Days an access log is kept. */
export const ACCESS_LOG_DAYS = 90;

/**
 * Creates `${name}-logs` and the grant Cloud Storage needs to write into it, as children of
 * `parent`; the data bucket names it in `logging.logBucket`.
 */
export function accessLogBucket(name: string, args: AccessLogBucketArgs, parent: pulumi.Resource): gcp.storage.Bucket {
    const logs = new gcp.storage.Bucket(`${name}-logs`, {
        project: args.project,
        location: args.location,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        forceDestroy: args.forceDestroy,
        lifecycleRules: [{ action: { type: "Delete" }, condition: { age: ACCESS_LOG_DAYS } }],
    }, { parent });
    // Cloud Storage writes usage and access logs as this Google group.
    new gcp.storage.BucketIAMMember(`${name}-logs-writer`, {
        bucket: logs.name,
        role: "roles/storage.objectCreator",
        member: "group:cloud-storage-analytics@google.com",
    }, { parent });
    return logs;
}
