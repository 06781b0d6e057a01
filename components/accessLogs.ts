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
    /** Let `pulumi destroy` delete it with its objects. */
    readonly forceDestroy: boolean;
    /**
     * Write usage and storage logs at all (config `accessLogs.enabled`). Off: no log bucket, no
     * grant to {@link STORAGE_LOG_WRITER}, and the data bucket logs nothing. @default true
     */
    readonly enabled?: boolean;
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
    }, { parent });
    new gcp.storage.BucketIAMMember(`${name}-logs-writer`, {
        bucket: logs.name,
        role: "roles/storage.objectCreator",
        member: STORAGE_LOG_WRITER,
    }, { parent });
    return { logBucket: logs.name };
}
