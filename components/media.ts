import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { accessLogging, bucketDeletion } from "./accessLogs";

/**
 * The role an identity gets on the media bucket: Storage Object User, which reads, lists, creates,
 * overwrites and deletes objects (and multipart uploads) but cannot change object ACLs or IAM
 * policies, unlike `roles/storage.objectAdmin`
 * (https://cloud.google.com/storage/docs/access-control/iam-roles). Granted on the bucket only.
 */
export const MEDIA_OBJECT_ROLE = "roles/storage.objectUser";

/** Arguments of {@link Media}. */
export interface MediaArgs {
    /** GCP project id. */
    readonly project: string;
    /** Bucket location (region or multi-region). */
    readonly location: string;
    /**
     * Days a noncurrent (overwritten or deleted) object version is kept before the lifecycle
     * deletes it; uploads deleted by mistake can be restored for this long.
     * @default 30
     */
    readonly noncurrentVersionDays?: number;
    /**
     * Let Pulumi delete the bucket with its uploads (`pulumi destroy`, `media.enabled` false, a
     * `location` change). Without it the bucket is protected and the preview refuses those
     * ({@link bucketDeletion}). Disposable stacks only. @default false
     */
    readonly forceDestroy?: boolean;
    /** Usage and storage logs to a `-logs` bucket (components/accessLogs.ts; config `accessLogs.enabled`). @default true */
    readonly accessLogs?: boolean;
}

/**
 * Private bucket for user uploads (Django's default storage): no public access (public access
 * prevention enforced), uniform bucket-level access, object versioning with a lifecycle rule for
 * noncurrent versions, access logs in a separate bucket. Only the identities given {@link grantObjectUser} may read or write it;
 * browsers get time-limited signed URLs, which each pod account signs as itself through IAM
 * `signBlob` (the URL signer role the IAM step binds on it, iam/stackIam.ts).
 */
export class Media extends pulumi.ComponentResource {
    /** The media bucket. */
    public readonly bucket: gcp.storage.Bucket;
    /** Bucket name (django-storages' `GS_BUCKET_NAME`, `DJANGO_APP_MEDIA_BUCKET`). */
    public readonly bucketName: pulumi.Output<string>;
    private readonly baseName: string;

    constructor(name: string, args: MediaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:media:Media", name, {}, opts);
        this.baseName = name;
        const days = args.noncurrentVersionDays ?? 30;
        if (!Number.isInteger(days) || days < 1) {
            throw new Error(`Media ${name}: noncurrentVersionDays must be a positive integer (got ${days}) (media.noncurrentVersionDays).`);
        }
        const forceDestroy = args.forceDestroy ?? false;
        // Usage and access logs of the media bucket, kept apart from the uploads they are about.
        const logging = accessLogging(name, { project: args.project, location: args.location, forceDestroy, enabled: args.accessLogs }, this);
        this.bucket = new gcp.storage.Bucket(`${name}-bucket`, {
            project: args.project,
            location: args.location,
            uniformBucketLevelAccess: true,
            publicAccessPrevention: "enforced",
            versioning: { enabled: true },
            forceDestroy,
            logging,
            // A version becomes noncurrent when an upload is overwritten or deleted; keep it for
            // `days`, then delete it (the live objects are never touched by the lifecycle).
            lifecycleRules: [{ action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: days, withState: "ARCHIVED" } }],
        }, { parent: this, ...bucketDeletion(forceDestroy) });
        this.bucketName = this.bucket.name;
        this.registerOutputs({ bucketName: this.bucketName });
    }

    /**
     * Lets `member` read, write and delete objects of the media bucket (and nothing else).
     * `grantee` names the grant: `<media>-<grantee>-object-user`.
     */
    public grantObjectUser(grantee: string, member: pulumi.Input<string>): gcp.storage.BucketIAMMember {
        return new gcp.storage.BucketIAMMember(`${this.baseName}-${grantee}-object-user`, {
            bucket: this.bucket.name,
            role: MEDIA_OBJECT_ROLE,
            member,
        }, { parent: this });
    }
}
