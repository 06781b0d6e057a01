import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/**
 * Where Pulumi's DIY backend keeps a stack's files in the bucket (project-scoped layout, the
 * `.pulumi/meta.yaml` version 1 a fresh bucket gets), from pulumi/pulumi `pkg/backend/diy`:
 * - `stacks/<project>/<stack>.json` (`.gz`/`.zst` when compressed), its copy `<…>.json.bak` before
 *   each write, and `<…>.json.<nanos>` with PULUMI_RETAIN_CHECKPOINTS (store.go StackBasePath,
 *   state.go saveCheckpoint/backupTarget);
 * - `history/<project>/<stack>/<stack>-<nanos>.history.json` and `.checkpoint.json` (state.go addToHistory);
 * - `backups/<project>/<stack>/<stack>.<nanos>.json` (state.go backupStack);
 * - `locks/organization/<project>/<stack>/<lock id>.json`: the stack's fully qualified name
 *   `organization/<project>/<stack>` with `/` kept (lock.go stackLockDir, fsutil.QnamePath).
 * The stack file is matched with its `.json` so a stack `staging` never covers `staging-eu`.
 */
export function stackStatePrefixes(project: string, stack: string): string[] {
    return [
        `.pulumi/stacks/${project}/${stack}.json`,
        `.pulumi/history/${project}/${stack}/`,
        `.pulumi/backups/${project}/${stack}/`,
        `.pulumi/locks/organization/${project}/${stack}/`,
    ];
}

/** Every stack of a Pulumi project (the IAM step's, for the people who run it). */
export function projectStatePrefixes(project: string): string[] {
    return [`.pulumi/stacks/${project}/`, `.pulumi/history/${project}/`, `.pulumi/backups/${project}/`, `.pulumi/locks/organization/${project}/`];
}

/** The layout marker every `pulumi login` reads (meta.go readPulumiMeta). */
export const STATE_META_OBJECT = ".pulumi/meta.yaml";

/**
 * A condition admitting objects of `bucket` under `prefixes` (and `exact` objects), by Cloud
 * Storage's resource name `projects/_/buckets/<bucket>/objects/<object>`
 * (https://cloud.google.com/iam/docs/conditions-resource-attributes). Listing is checked on the
 * bucket, not an object, so it needs a bucket-level grant of its own (`roles/storage.legacyBucketReader`).
 */
export function objectCondition(bucket: string, prefixes: readonly string[], exact: readonly string[] = []): string {
    const object = (o: string) => `projects/_/buckets/${bucket}/objects/${o}`;
    return [...prefixes.map((p) => `resource.name.startsWith('${object(p)}')`), ...exact.map((o) => `resource.name == '${object(o)}'`)].join(" || ");
}

/** What a grant on the state bucket may touch. */
export interface StateScope {
    /** A short name for the grant's resources and its condition's title. */
    readonly grantee: string;
    readonly member: pulumi.Input<string>;
    /** Object prefixes ({@link stackStatePrefixes}, {@link projectStatePrefixes}). */
    readonly prefixes: readonly string[];
    /** `readWrite`: roles/storage.objectUser under the prefixes; `read`: roles/storage.objectViewer. */
    readonly access: "readWrite" | "read";
}

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
     * Days a deleted object (also a deleted noncurrent version) stays restorable and cannot be
     * purged, whoever deleted it: Cloud Storage soft delete, 7 to 90 days. A CI identity that may
     * delete its own stack's history (`roles/storage.objectUser` includes `storage.objects.delete`)
     * cannot make it unrecoverable. @default 30
     */
    readonly softDeleteDays?: number;
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
    private readonly bucketName: string;

    constructor(name: string, args: StateBackendArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:state:StateBackend", name, {}, opts);
        this.baseName = name;
        this.bucketName = args.bucketName;
        const softDeleteDays = args.softDeleteDays ?? 30;
        if (!Number.isInteger(softDeleteDays) || softDeleteDays < 7 || softDeleteDays > 90) {
            throw new Error(`StateBackend ${name}: softDeleteDays (${softDeleteDays}) must be a whole number of days from 7 to 90 (Cloud Storage soft delete).`);
        }
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
            softDeletePolicy: { retentionDurationSeconds: (args.softDeleteDays ?? 30) * 86400 },
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
     * Lets `scope.member` read (and with `readWrite` write and delete) the state objects under
     * `scope.prefixes` only, and read the layout marker ({@link STATE_META_OBJECT}): two bindings
     * on the bucket, each with a condition on the object names. Listing needs {@link grantBucketRead}.
     */
    public grantState(scope: StateScope): gcp.storage.BucketIAMMember[] {
        const grant = (suffix: string, role: string, expression: string, title: string) =>
            new gcp.storage.BucketIAMMember(`${this.baseName}-${scope.grantee}-${suffix}`, {
                bucket: this.bucket.name,
                role,
                member: scope.member,
                condition: { title, description: `Written by the bootstrap (bootstrap/stateBackend.ts): ${title}.`, expression },
            }, { parent: this });
        return [
            grant(
                scope.access === "readWrite" ? "objects" : "objects-read",
                scope.access === "readWrite" ? "roles/storage.objectUser" : "roles/storage.objectViewer",
                objectCondition(this.bucketName, scope.prefixes),
                `${scope.grantee} state only`,
            ),
            grant("meta", "roles/storage.objectViewer", objectCondition(this.bucketName, [], [STATE_META_OBJECT]), "state layout marker"),
        ];
    }
}
