/**
 * Cloud Storage: uniform access, public access prevention, public read (by object name, never
 * listing) only on the allow-listed static-assets bucket; versioning, access logs and a read-only
 * CORS policy.
 */
import * as gcp from "@pulumi/gcp";
import type { PolicyResource } from "@pulumi/policy";
import { configOf, matchesAny, requireValue, stackPolicy, stringList, tokenPolicy, typedPolicy, typeTokenOf } from "./lib/define";
import { membersOf, PUBLIC_MEMBERS, roleOf } from "./lib/iam";
import { isUnknown, isUnset, knownItems, knownString, read, show } from "./lib/values";

const BUCKET = typeTokenOf(gcp.storage.Bucket);
const BUCKET_IAM_TYPES = [typeTokenOf(gcp.storage.BucketIAMMember), typeTokenOf(gcp.storage.BucketIAMBinding)];

/** Pulumi resource-name globs of the buckets that may be public (the static assets). */
const DEFAULT_PUBLIC_BUCKETS = ["*-statics-bucket"];
const publicBucketsSchema = stringList(
    DEFAULT_PUBLIC_BUCKETS,
    "Pulumi resource-name globs of the buckets that may be public (static assets only).",
);

export const storageBucketEnforcesUniformAccess = typedPolicy({
    name: "storage-bucket-enforces-uniform-access",
    description: "Buckets must use uniform bucket-level access (IAM only, no per-object ACLs).",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_29"],
    remediationSteps: "Set uniformBucketLevelAccess: true.",
}, gcp.storage.Bucket, (bucket, _args, report) => {
    requireValue(report, "uniformBucketLevelAccess", read(() => bucket.uniformBucketLevelAccess), true);
});

export const storageBucketEnforcesPublicAccessPrevention = typedPolicy({
    name: "storage-bucket-enforces-public-access-prevention",
    description: "Buckets must enforce public access prevention, except the allow-listed static-assets bucket.",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_114"],
    remediationSteps: "Set publicAccessPrevention: \"enforced\"; only a bucket whose Pulumi name matches publicBuckets may stay \"inherited\".",
    configSchema: { properties: { publicBuckets: publicBucketsSchema } },
}, gcp.storage.Bucket, (bucket, args, report) => {
    const { publicBuckets } = configOf(args, { publicBuckets: DEFAULT_PUBLIC_BUCKETS });
    if (matchesAny(args.name, publicBuckets)) {
        return;
    }
    const prevention = read(() => bucket.publicAccessPrevention);
    if (!isUnknown(prevention) && prevention !== "enforced") {
        report(`publicAccessPrevention is ${show(prevention)} on ${args.name}, which is not an allow-listed public bucket; set it to "enforced".`);
    }
});

/** The Bucket resource an IAM member/binding applies to: by bucket name, else its only Bucket dependency. */
function bucketOf(iam: PolicyResource, resources: readonly PolicyResource[]): PolicyResource | undefined {
    const bucket = knownString(read(() => iam.props.bucket))?.replace(/^b\//, "");
    const byName = bucket === undefined ? undefined
        : resources.find((r) => r.type === BUCKET && read(() => r.props.name) === bucket);
    if (byName !== undefined) {
        return byName;
    }
    const dependencies = iam.dependencies.filter((d) => d.type === BUCKET);
    return dependencies.length === 1 ? dependencies[0] : undefined;
}

/**
 * The role the public may get on the statics bucket: Storage Legacy Object Reader holds only
 * `storage.objects.get` (read an object by name), unlike `roles/storage.objectViewer`, which adds
 * `storage.objects.list`.
 * @see https://cloud.google.com/storage/docs/access-control/iam-roles
 */
const DEFAULT_PUBLIC_ROLES = ["roles/storage.legacyObjectReader"];

export const storageBucketAllowsPublicReadOnlyOnStatics = stackPolicy({
    name: "storage-bucket-allows-public-read-only-on-statics",
    description: "allUsers/allAuthenticatedUsers may only get roles/storage.legacyObjectReader (read objects by name, no listing), and only on an allow-listed static-assets bucket.",
    severity: "critical",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_28"],
    remediationSteps: "Remove the public IAM member; serve public files from the statics bucket (Pulumi name matching publicBuckets) with roles/storage.legacyObjectReader only.",
    configSchema: {
        properties: {
            publicBuckets: publicBucketsSchema,
            allowedPublicRoles: stringList(DEFAULT_PUBLIC_ROLES, "Roles the public may get on an allow-listed bucket."),
        },
    },
}, [BUCKET, ...BUCKET_IAM_TYPES], (args, report) => {
    const { publicBuckets, allowedPublicRoles } = configOf(args, {
        publicBuckets: DEFAULT_PUBLIC_BUCKETS, allowedPublicRoles: DEFAULT_PUBLIC_ROLES,
    });
    for (const iam of args.resources.filter((r) => BUCKET_IAM_TYPES.includes(r.type))) {
        const publicMembers = membersOf(iam.props).members.filter((m) => PUBLIC_MEMBERS.includes(m));
        if (publicMembers.length === 0) {
            continue;
        }
        const who = publicMembers.join(", ");
        const role = roleOf(iam.props);
        if (role !== undefined && !allowedPublicRoles.includes(role)) {
            report(`${iam.name} grants ${role} to ${who}; the public may only get ${allowedPublicRoles.join(", ")}.`, iam.urn);
        }
        const bucket = bucketOf(iam, args.resources);
        const bucketName = knownString(read(() => iam.props.bucket));
        if (bucket !== undefined && !matchesAny(bucket.name, publicBuckets)) {
            report(`${iam.name} makes bucket ${bucket.name} public to ${who}, but only buckets matching ${publicBuckets.join(", ")} may be public.`, iam.urn);
        } else if (bucket === undefined && bucketName !== undefined) {
            report(`${iam.name} makes bucket ${JSON.stringify(bucketName)} public to ${who}; it is not an allow-listed bucket of this stack.`, iam.urn);
        }
    }
});

/**
 * Predefined roles that include `storage.objects.list` (per Google's role reference). Granted to the
 * public, any of them lets anyone enumerate the bucket — every object name, including noncurrent
 * versions kept by versioning — instead of only fetching names they already know.
 * @see https://cloud.google.com/storage/docs/access-control/iam-roles
 * @see https://cloud.google.com/java/docs/reference/google-cloud-storage/latest/com.google.cloud.storage.StorageRoles
 */
const DEFAULT_LISTING_ROLES = [
    "roles/storage.objectViewer",
    "roles/storage.objectUser",
    "roles/storage.objectAdmin",
    "roles/storage.admin",
    "roles/storage.folderAdmin",
    "roles/storage.legacyBucketReader",
    "roles/storage.legacyBucketWriter",
    "roles/storage.legacyBucketOwner",
];

export const storageBucketForbidsPublicListing = tokenPolicy({
    name: "storage-bucket-forbids-public-listing",
    description: "No bucket may grant allUsers/allAuthenticatedUsers a role that includes storage.objects.list (such as roles/storage.objectViewer): the public may read objects by name, never enumerate them.",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_28"],
    remediationSteps: "Grant the public roles/storage.legacyObjectReader (storage.objects.get only) instead, or remove the public member.",
    configSchema: {
        properties: {
            listingRoles: stringList(DEFAULT_LISTING_ROLES, "Roles that include storage.objects.list (add custom roles that do)."),
        },
    },
}, BUCKET_IAM_TYPES, (props, args, report) => {
    const { listingRoles } = configOf(args, { listingRoles: DEFAULT_LISTING_ROLES });
    const role = roleOf(props);
    const publicMembers = membersOf(props).members.filter((m) => PUBLIC_MEMBERS.includes(m));
    if (role !== undefined && publicMembers.length > 0 && listingRoles.includes(role)) {
        report(`${args.name} grants ${role} to ${publicMembers.join(", ")}; it includes storage.objects.list, so anyone can list every object in the bucket (noncurrent versions too). Grant roles/storage.legacyObjectReader instead.`);
    }
});

export const storageBucketEnablesVersioning = typedPolicy({
    name: "storage-bucket-enables-versioning",
    description: "Buckets should keep object versions so an overwrite or delete can be undone.",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_78"],
    remediationSteps: "Set versioning.enabled: true (and a lifecycle rule for old versions).",
}, gcp.storage.Bucket, (bucket, _args, report) => {
    requireValue(report, "versioning.enabled", read(() => bucket.versioning?.enabled), true);
});

/** Log buckets do not log into themselves. */
const DEFAULT_LOG_BUCKETS = ["*-logs", "*-logs-bucket"];

export const storageBucketEnablesAccessLogging = typedPolicy({
    name: "storage-bucket-enables-access-logging",
    description: "Buckets should write usage/access logs to a log bucket.",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_62"],
    remediationSteps: "Set logging.logBucket to a dedicated log bucket (whose Pulumi name matches exemptBuckets, e.g. *-logs).",
    configSchema: {
        properties: { exemptBuckets: stringList(DEFAULT_LOG_BUCKETS, "Pulumi resource-name globs of buckets that need no access log (the log buckets).") },
    },
}, gcp.storage.Bucket, (bucket, args, report) => {
    const { exemptBuckets } = configOf(args, { exemptBuckets: DEFAULT_LOG_BUCKETS });
    if (!matchesAny(args.name, exemptBuckets) && isUnset(read(() => bucket.logging?.logBucket))) {
        report("logging.logBucket is unset; access to the bucket is not logged.");
    }
});

/**
 * A bucket that writes its usage logs into itself mixes the logs with the data they are about:
 * whoever may delete or overwrite its objects may erase the record of their own access, and the
 * data's lifecycle rules apply to the logs (Checkov CKV_GCP_63). Compared by bucket name: an
 * auto-named bucket cannot name itself as its log bucket.
 */
export const storageBucketForbidsLoggingToItself = typedPolicy({
    name: "storage-bucket-forbids-logging-to-itself",
    description: "A bucket must not write its access logs into itself: whoever may delete its objects could then erase the record of their own access.",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_63"],
    remediationSteps: "Set logging.logBucket to a dedicated log bucket (e.g. the statics component's *-logs bucket).",
}, gcp.storage.Bucket, (bucket, _args, report) => {
    const name = knownString(read(() => bucket.name));
    const logBucket = knownString(read(() => bucket.logging?.logBucket))?.replace(/^gs:\/\//, "");
    if (name !== undefined && logBucket === name) {
        report(`logging.logBucket is the bucket itself (${JSON.stringify(name)}); send the logs to a separate log bucket.`);
    }
});

const DEFAULT_CORS_METHODS = ["GET", "HEAD", "OPTIONS"];

export const storageBucketRestrictsCors = typedPolicy({
    name: "storage-bucket-restricts-cors",
    description: "Bucket CORS must name its origins (no `*`) and allow only read methods (GET, HEAD, OPTIONS).",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "List the site's origins in statics.corsOrigins and keep methods to GET/HEAD/OPTIONS.",
    configSchema: {
        properties: { allowedMethods: stringList(DEFAULT_CORS_METHODS, "HTTP methods a CORS rule may allow.") },
    },
}, gcp.storage.Bucket, (bucket, args, report) => {
    const { allowedMethods } = configOf(args, { allowedMethods: DEFAULT_CORS_METHODS });
    knownItems(read(() => bucket.cors)).forEach((rule, index) => {
        if (knownItems(read(() => rule.origins)).includes("*")) {
            report(`cors[${index}].origins contains "*"; list the site's origins.`);
        }
        for (const method of knownItems(read(() => rule.methods)).filter((m) => !allowedMethods.includes(m.toUpperCase()))) {
            report(`cors[${index}].methods allows ${method}; only ${allowedMethods.join(", ")} are allowed.`);
        }
    });
});
