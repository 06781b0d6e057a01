import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { accessLogging, bucketDeletion } from "./accessLogs";

/** Arguments of {@link Statics}. */
export interface StaticsArgs {
    /** GCP project id. */
    readonly project: string;
    /** Bucket location (region or multi-region). */
    readonly location: string;
    /** Origins allowed by CORS to fetch static files (https only, no `*`). */
    readonly corsOrigins: readonly string[];
    /** Serve the bucket through Cloud CDN behind a global HTTPS load balancer. @default false */
    readonly cdnEnabled?: boolean;
    /** Host name of the CDN (required with `cdnEnabled`). */
    readonly cdnDomain?: string;
    /** SSL policy profile of the CDN's HTTPS proxy. @default "MODERN" */
    readonly sslPolicyProfile?: "MODERN" | "RESTRICTED";
    /**
     * Let Pulumi delete the buckets together with their objects (`pulumi destroy`, a change of
     * `location`, which replaces a bucket). Without it the buckets are protected, so the preview
     * refuses any delete or replacement of them ({@link bucketDeletion}). Set it only for
     * disposable stacks; it is independent of the database's deletion protection.
     * @default false
     */
    readonly forceDestroy?: boolean;
    /** Usage and storage logs to a `-logs` bucket (components/accessLogs.ts; config `accessLogs.enabled`). @default true */
    readonly accessLogs?: boolean;
    /**
     * Who may read the objects directly.
     *
     * - `"public"`: `allUsers` gets {@link PUBLIC_READ_ROLE} (`storage.objects.get` only), so browsers
     *   fetch files from `url` but nobody can list the bucket.
     * - `"private"`: public access prevention is `"enforced"` and there is no `allUsers` binding — for
     *   organisations that enforce `constraints/storage.publicAccessPrevention` or
     *   `constraints/iam.allowedPolicyMemberDomains` (domain-restricted sharing), both of which reject
     *   an `allUsers` binding. Only identities granted here (collectstatic, the web pods) can read
     *   the objects; `url` is then *not* readable by browsers: `storage.googleapis.com` serves a
     *   private object only to authenticated callers, and this component's Cloud CDN backend bucket
     *   does not read a private bucket either. Cloud CDN documents two ways to, neither automated
     *   here: signed URLs / signed cookies, where the Cloud CDN fill service account
     *   (`service-PROJECT_NUMBER@cloud-cdn-fill.iam.gserviceaccount.com`) is granted
     *   `roles/storage.objectViewer` — it is only created once a signed URL key is added to the
     *   backend bucket, and the documented setup is for signed requests (Cloud CDN does not
     *   validate unsigned ones), so every `{% static %}` URL would have to be signed and expire;
     *   and "private bucket access", which grants a Google-managed service
     *   agent read access to the bucket after the backend bucket exists (an identity that
     *   domain-restricted sharing may itself refuse). Stack config therefore rejects
     *   `statics.access: private` (`crossFieldProblems` in `config.ts`); the component supports it
     *   so the bucket can be built and tested, and so a private CDN origin can be added later.
     *
     * @default "public"
     * @see https://cloud.google.com/storage/docs/public-access-prevention
     * @see https://cloud.google.com/storage/docs/org-policy-constraints
     * @see https://cloud.google.com/organization-policy/restrict-domains
     * @see https://cloud.google.com/resource-manager/docs/secure-by-default-organizations
     * @see https://cloud.google.com/cdn/docs/using-signed-urls
     * @see https://cloud.google.com/cdn/docs/configure-private-bucket-access
     */
    readonly access?: StaticsAccess;
    /**
     * Self link of a Cloud Armor edge security policy (`CLOUD_ARMOR_EDGE`, components/edge.ts) for
     * the CDN backend bucket; edge policies are the only Cloud Armor policies a backend bucket takes,
     * and they filter before the cache. Unset: none.
     * @default undefined
     * @see https://cloud.google.com/armor/docs/security-policy-overview
     */
    readonly edgeSecurityPolicy?: pulumi.Input<string>;
}

/** Whether the statics bucket's objects are readable by anyone (`public`) or only by granted identities (`private`). */
export type StaticsAccess = "public" | "private";

/**
 * The role `allUsers` gets on a public statics bucket: Storage Legacy Object Reader, which holds only
 * `storage.objects.get` — read an object whose name you know. `roles/storage.objectViewer` would also
 * grant `storage.objects.list`, letting anyone enumerate the bucket, including noncurrent
 * (versioned) objects that a release overwrote or deleted.
 * @see https://cloud.google.com/storage/docs/access-control/iam-roles
 * @see https://cloud.google.com/java/docs/reference/google-cloud-storage/latest/com.google.cloud.storage.StorageRoles
 */
export const PUBLIC_READ_ROLE = "roles/storage.legacyObjectReader";

/** The role {@link Statics.grantObjectViewer} grants: read and list objects (for a named service account, never the public). */
export const OBJECT_VIEWER_ROLE = "roles/storage.objectViewer";

/**
 * Static files on GCS: one bucket whose objects anyone may read by name (but nobody may list), with
 * CORS for the site's origins, versioning and access logs; optionally Cloud CDN in front of it.
 * `url` is what Django must use as `STATIC_URL` — always https, never `gs://`.
 *
 * With `access: "private"` the bucket enforces public access prevention and has no public member
 * (see {@link StaticsArgs.access}).
 */
export class Statics extends pulumi.ComponentResource {
    /** The static files bucket. */
    public readonly bucket: gcp.storage.Bucket;
    /** Bucket name (for django-storages' `GS_BUCKET_NAME`). */
    public readonly bucketName: pulumi.Output<string>;
    /**
     * Https base URL of the static files, ending in `/`: the CDN domain, else
     * `https://storage.googleapis.com/<bucket>/`. Browsers can read it only when `access` is `"public"`.
     */
    public readonly url: pulumi.Output<string>;
    /** The CDN's IP address, when the CDN is enabled (point the CDN domain's A record here). */
    public readonly cdnIpAddress?: pulumi.Output<string>;
    /**
     * Name of the CDN's backend bucket, when the CDN is enabled: the `backend_target_name` of its
     * requests in the load balancer metrics (its own dashboard chart, components/alerts.ts).
     */
    public readonly cdnBackendName?: pulumi.Output<string>;
    /** Who may read the objects directly (see {@link StaticsArgs.access}). */
    public readonly access: StaticsAccess;
    /** The `allUsers` read grant; absent when `access` is `"private"`. */
    public readonly publicRead?: gcp.storage.BucketIAMMember;
    private readonly baseName: string;

    constructor(name: string, args: StaticsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:statics:Statics", name, {}, opts);
        this.baseName = name;
        if (args.cdnEnabled && !args.cdnDomain) {
            throw new Error(`Statics ${name}: cdnDomain is required when cdnEnabled is true (statics.cdn.domain).`);
        }
        const forceDestroy = args.forceDestroy ?? false;
        this.access = args.access ?? "public";
        const isPublic = this.access === "public";

        const logging = accessLogging(name, { project: args.project, location: args.location, forceDestroy, enabled: args.accessLogs }, this);

        this.bucket = new gcp.storage.Bucket(`${name}-bucket`, {
            project: args.project,
            location: args.location,
            uniformBucketLevelAccess: true,
            // A public bucket must not enforce public access prevention ("inherited" lets an org or
            // project constraint still forbid it); a private one enforces it on the bucket itself.
            publicAccessPrevention: isPublic ? "inherited" : "enforced",
            versioning: { enabled: true },
            forceDestroy,
            logging,
            cors: [{
                origins: [...args.corsOrigins],
                methods: ["GET", "HEAD", "OPTIONS"],
                responseHeaders: ["Content-Type"],
                maxAgeSeconds: 3600,
            }],
            lifecycleRules: [{ action: { type: "Delete" }, condition: { numNewerVersions: 3, withState: "ARCHIVED" } }],
        }, { parent: this, ...bucketDeletion(forceDestroy) });
        this.bucketName = this.bucket.name;

        // Objects by name only: legacyObjectReader holds storage.objects.get and not
        // storage.objects.list, so allUsers can fetch a file but cannot list the bucket (objectViewer
        // would let anyone enumerate every object, including noncurrent versions).
        if (isPublic) {
            this.publicRead = new gcp.storage.BucketIAMMember(`${name}-public-read`, {
                bucket: this.bucket.name,
                role: PUBLIC_READ_ROLE,
                member: "allUsers",
            }, { parent: this });
        }

        if (args.cdnEnabled && args.cdnDomain) {
            const cdn = this.createCdn(name, args.project, args.cdnDomain, args.sslPolicyProfile ?? "MODERN", args.edgeSecurityPolicy);
            this.cdnIpAddress = cdn.ipAddress;
            this.cdnBackendName = cdn.backendName;
            this.url = pulumi.output(`https://${args.cdnDomain}/`);
        } else {
            this.url = pulumi.interpolate`https://storage.googleapis.com/${this.bucket.name}/`;
        }

        this.registerOutputs({ bucketName: this.bucketName, url: this.url, cdnIpAddress: this.cdnIpAddress });
    }

    /**
     * Lets `member` write objects (the collectstatic Job's service account). Nothing else gets
     * write access. `grantee` names the grant: `<statics>-<grantee>-object-admin`.
     */
    public grantObjectAdmin(grantee: string, member: pulumi.Input<string>): gcp.storage.BucketIAMMember {
        return new gcp.storage.BucketIAMMember(`${this.baseName}-${grantee}-object-admin`, {
            bucket: this.bucket.name,
            role: "roles/storage.objectAdmin",
            member,
        }, { parent: this });
    }

    /**
     * Lets `member` read (get and list) objects — the web pods' Google service account, which reads
     * `staticfiles.json` at run time (ManifestStaticFilesStorage), also when `access` is
     * `"private"`. `grantee` names the grant: `<statics>-<grantee>-object-viewer`.
     */
    public grantObjectViewer(grantee: string, member: pulumi.Input<string>): gcp.storage.BucketIAMMember {
        return new gcp.storage.BucketIAMMember(`${this.baseName}-${grantee}-object-viewer`, {
            bucket: this.bucket.name,
            role: OBJECT_VIEWER_ROLE,
            member,
        }, { parent: this });
    }

    /** Backend bucket with Cloud CDN behind a global HTTPS load balancer with HTTP→HTTPS redirect. */
    private createCdn(name: string, project: string, domain: string, profile: "MODERN" | "RESTRICTED", edgeSecurityPolicy?: pulumi.Input<string>): { ipAddress: pulumi.Output<string>; backendName: pulumi.Output<string> } {
        const backend = new gcp.compute.BackendBucket(`${name}-cdn-backend`, {
            project,
            bucketName: this.bucket.name,
            enableCdn: true,
            compressionMode: "AUTOMATIC",
            ...(edgeSecurityPolicy !== undefined ? { edgeSecurityPolicy } : {}),
            cdnPolicy: {
                cacheMode: "CACHE_ALL_STATIC",
                defaultTtl: 3600,
                maxTtl: 86400,
                clientTtl: 3600,
                negativeCaching: true,
                serveWhileStale: 86400,
            },
        }, { parent: this });
        const ip = new gcp.compute.GlobalAddress(`${name}-cdn-ip`, { project, addressType: "EXTERNAL" }, { parent: this });
        const certificate = new gcp.compute.ManagedSslCertificate(`${name}-cdn-cert`, {
            project,
            managed: { domains: [domain] },
        }, { parent: this });
        const sslPolicy = new gcp.compute.SSLPolicy(`${name}-cdn-ssl-policy`, {
            project,
            profile,
            minTlsVersion: "TLS_1_2",
        }, { parent: this });
        const urlMap = new gcp.compute.URLMap(`${name}-cdn-urlmap`, { project, defaultService: backend.selfLink }, { parent: this });
        const httpsProxy = new gcp.compute.TargetHttpsProxy(`${name}-cdn-https-proxy`, {
            project,
            urlMap: urlMap.selfLink,
            sslCertificates: [certificate.selfLink],
            sslPolicy: sslPolicy.selfLink,
        }, { parent: this });
        new gcp.compute.GlobalForwardingRule(`${name}-cdn-https`, {
            project,
            target: httpsProxy.selfLink,
            ipAddress: ip.address,
            portRange: "443",
            loadBalancingScheme: "EXTERNAL_MANAGED",
        }, { parent: this });
        const redirectMap = new gcp.compute.URLMap(`${name}-cdn-redirect`, {
            project,
            defaultUrlRedirect: { httpsRedirect: true, stripQuery: false, redirectResponseCode: "MOVED_PERMANENTLY_DEFAULT" },
        }, { parent: this });
        const httpProxy = new gcp.compute.TargetHttpProxy(`${name}-cdn-http-proxy`, { project, urlMap: redirectMap.selfLink }, { parent: this });
        new gcp.compute.GlobalForwardingRule(`${name}-cdn-http`, {
            project,
            target: httpProxy.selfLink,
            ipAddress: ip.address,
            portRange: "80",
            loadBalancingScheme: "EXTERNAL_MANAGED",
        }, { parent: this });
        return { ipAddress: ip.address, backendName: backend.name };
    }
}
