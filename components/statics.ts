import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

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
    /** Delete the buckets (and their objects) on `pulumi destroy`. @default false */
    readonly forceDestroy?: boolean;
}

/**
 * Static files on GCS: one bucket whose objects are publicly readable (and nothing else is), with
 * CORS for the site's origins, versioning and access logs; optionally Cloud CDN in front of it.
 * `url` is what Django must use as `STATIC_URL` — always https, never `gs://`.
 */
export class Statics extends pulumi.ComponentResource {
    /** The static files bucket. */
    public readonly bucket: gcp.storage.Bucket;
    /** Bucket name (for django-storages' `GS_BUCKET_NAME`). */
    public readonly bucketName: pulumi.Output<string>;
    /** Public https base URL of the static files, ending in `/`. */
    public readonly url: pulumi.Output<string>;
    /** The CDN's IP address, when the CDN is enabled (point the CDN domain's A record here). */
    public readonly cdnIpAddress?: pulumi.Output<string>;
    private readonly baseName: string;

    constructor(name: string, args: StaticsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:statics:Statics", name, {}, opts);
        this.baseName = name;
        if (args.cdnEnabled && !args.cdnDomain) {
            throw new Error(`Statics ${name}: cdnDomain is required when cdnEnabled is true (statics.cdn.domain).`);
        }
        const forceDestroy = args.forceDestroy ?? false;

        const logs = new gcp.storage.Bucket(`${name}-logs`, {
            project: args.project,
            location: args.location,
            uniformBucketLevelAccess: true,
            publicAccessPrevention: "enforced",
            versioning: { enabled: true },
            forceDestroy,
            lifecycleRules: [{ action: { type: "Delete" }, condition: { age: 90 } }],
        }, { parent: this });

        // Cloud Storage writes usage and access logs as this Google group.
        new gcp.storage.BucketIAMMember(`${name}-logs-writer`, {
            bucket: logs.name,
            role: "roles/storage.objectCreator",
            member: "group:cloud-storage-analytics@google.com",
        }, { parent: this });

        this.bucket = new gcp.storage.Bucket(`${name}-bucket`, {
            project: args.project,
            location: args.location,
            uniformBucketLevelAccess: true,
            // "inherited" (not "enforced") because this one bucket serves public objects.
            publicAccessPrevention: "inherited",
            versioning: { enabled: true },
            forceDestroy,
            logging: { logBucket: logs.name },
            cors: [{
                origins: [...args.corsOrigins],
                methods: ["GET", "HEAD", "OPTIONS"],
                responseHeaders: ["Content-Type"],
                maxAgeSeconds: 3600,
            }],
            lifecycleRules: [{ action: { type: "Delete" }, condition: { numNewerVersions: 3, withState: "ARCHIVED" } }],
        }, { parent: this });
        this.bucketName = this.bucket.name;

        // Objects only: allUsers can read files but cannot list the bucket.
        new gcp.storage.BucketIAMMember(`${name}-public-read`, {
            bucket: this.bucket.name,
            role: "roles/storage.objectViewer",
            member: "allUsers",
        }, { parent: this });

        if (args.cdnEnabled && args.cdnDomain) {
            this.cdnIpAddress = this.createCdn(name, args.project, args.cdnDomain, args.sslPolicyProfile ?? "MODERN");
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

    /** Backend bucket with Cloud CDN behind a global HTTPS load balancer with HTTP→HTTPS redirect. */
    private createCdn(name: string, project: string, domain: string, profile: "MODERN" | "RESTRICTED"): pulumi.Output<string> {
        const backend = new gcp.compute.BackendBucket(`${name}-cdn-backend`, {
            project,
            bucketName: this.bucket.name,
            enableCdn: true,
            compressionMode: "AUTOMATIC",
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
        return ip.address;
    }
}
