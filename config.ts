/**
 * The one place where stack configuration is read and validated.
 *
 * Every key of `Pulumi.<stack>.yaml` is described by {@link configSchema} (zod). {@link loadConfig}
 * reads the raw values, validates them before any resource exists and returns one typed
 * {@link PlatformConfig}; bad input stops the program with a {@link ConfigError} that names each
 * key path, the bad value and the `pulumi config set` command that fixes it.
 */
import * as pulumi from "@pulumi/pulumi";
import { distance } from "fastest-levenshtein";
import { minimatch } from "minimatch";
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import { extrasCollisions, secretLookingExtra } from "./components/appEnv";
import { namesRegistry } from "./components/binaryAuthorization";
import { WebSizing, maxConnectionsForTier, requiredConnections } from "./components/connectionBudget";
import { SPOT_PREEMPTION_GRACE_SECONDS } from "./components/spot";
import { defaultWorkerGraceSeconds, webTermination } from "./components/termination";
import { autopilotRatioViolation, customTierProblem, editionAcceptsTier, overlappingRanges } from "./components/gcpLimits";
import { COMPONENT_NAME } from "./components/naming";
import { NON_PUBLIC_RANGES } from "./components/networkPolicies";
import { REDIS_IMAGE } from "./components/cache";
import { TIME_ZONES, cronScheduleProblem } from "./components/schedules";

/** The Pulumi project name: config keys without a namespace belong to it. */
export const PROJECT = "django-platform";

const hostname = z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "must be a lower-case DNS name such as app.example.com");
const cidr = z.string().refine((v) => /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/.test(v) && ipaddr.IPv4.isValidCIDR(v), "must be an IPv4 CIDR range such as 10.0.0.0/20");
const httpsOrigin = z.string().regex(/^https:\/\/[a-z0-9.-]+(:\d+)?$/, "must be an https origin without path, such as https://app.example.com");
const quantityCpu = z.string().regex(/^(\d+m|\d+(\.\d+)?)$/, "must be a Kubernetes CPU quantity such as 500m or 1");
const quantityMemory = z.string().regex(/^\d+(Mi|Gi)$/, "must be a Kubernetes memory quantity such as 512Mi or 1Gi");
/**
 * A Google Cloud region: `<area>-<direction><number>`, the number possibly two digits
 * (europe-west10 Berlin, europe-west12 Turin: https://cloud.google.com/about/locations).
 */
export const GCP_REGION = /^[a-z]+-[a-z]+\d+$/;
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an upper-case environment variable name");
/** A dotted Python module path such as `config.settings` (identifiers separated by dots). */
const pythonModule = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, "must be a dotted Python module path such as config.settings");

/**
 * A container image pinned by tag or digest. `:latest` and untagged images are refused because
 * they make `pulumi up` non-repeatable and the migrate/collectstatic Jobs are named after the image.
 */
const IMAGE_REFERENCE = /^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9-]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

export const pinnedImage = z.string().superRefine((image, ctx) => {
    if (!IMAGE_REFERENCE.test(image)) {
        ctx.addIssue({ code: "custom", message: "is not a container image reference (registry/repository:tag or @sha256:digest)" });
        return;
    }
    const digest = /@sha256:[a-f0-9]{64}$/.test(image);
    const lastSegment = image.split("/").pop() ?? "";
    const tag = lastSegment.includes(":") ? lastSegment.split(":").pop() : undefined;
    if (!digest && (tag === undefined || tag === "" || tag === "latest")) {
        ctx.addIssue({
            code: "custom",
            message: "must be pinned by a tag other than latest or by digest (repo/app:1.4.2 or repo/app@sha256:…)",
        });
    }
});

const ex = (examples: unknown[], description: string) => ({ description, examples });

/** An image reference ending in a sha256 digest. */
const DIGEST_PINNED = /@sha256:[a-f0-9]{64}$/;

/**
 * Stack names treated as production: the policy pack's default `productionStacks` (policy/lib/define.ts
 * DEFAULT_PRODUCTION_STACKS; the two packages are separate, tests/config.test.ts keeps them equal).
 */
export const PRODUCTION_STACK_PATTERNS: readonly string[] = ["prod*", "*-prod", "*-production"];

/** Whether a stack name matches one of {@link PRODUCTION_STACK_PATTERNS}, as the policy pack's `matchesAny` does. */
export function isProductionStack(stack: string): boolean {
    return PRODUCTION_STACK_PATTERNS.some((glob) => minimatch(stack, glob));
}

const databaseSchema = z
    .object({
        tier: z.string().regex(/^db-(f1-micro|g1-small|custom-\d+-\d+|perf-optimized-N-\d+)$/, "must be a Cloud SQL tier such as db-custom-1-3840").default("db-custom-1-3840").meta(ex(["db-custom-2-7680"], "Cloud SQL machine tier.")),
        version: z.enum(["POSTGRES_16", "POSTGRES_17", "POSTGRES_18"]).default("POSTGRES_18").meta(ex(["POSTGRES_18"], "PostgreSQL major version.")),
        edition: z.enum(["ENTERPRISE", "ENTERPRISE_PLUS"]).default("ENTERPRISE").meta(ex(["ENTERPRISE"], "Cloud SQL edition; ENTERPRISE allows the db-custom tiers.")),
        highAvailability: z.boolean().default(false).meta(ex([true], "Regional (HA) instance with a standby in another zone.")),
        diskSizeGb: z.number().int().min(10).max(65536).default(10).meta(ex([20], "Initial SSD size in GB; storage auto-increase stays on.")),
        backups: z
            .object({
                enabled: z.boolean().default(true).meta(ex([true], "Daily automated backups.")),
                pointInTimeRecovery: z.boolean().default(true).meta(ex([true], "Write-ahead-log retention for point-in-time recovery.")),
                retainedBackups: z.number().int().min(1).max(365).default(7).meta(ex([14], "How many daily backups to keep.")),
                startTime: z.string().regex(/^([01]\d|2[0-3]):00$/, "must be a full hour HH:00 (UTC)").default("02:00").meta(ex(["02:00"], "Backup window start, UTC.")),
            })
            .prefault({})
            .meta({ description: "Automated backups and PITR." }),
        maintenanceWindow: z
            .object({
                day: z.number().int().min(1).max(7).default(7).meta(ex([7], "Day of week, 1 = Monday.")),
                hour: z.number().int().min(0).max(23).default(3).meta(ex([3], "Hour of day, UTC.")),
            })
            .prefault({})
            .meta({ description: "When Cloud SQL may restart the instance for updates." }),
        deletionProtection: z.boolean().default(true).meta(ex([false], "Both deletion protections on the instance, plus Pulumi `protect` on the instance, the database and its user: a change that would replace or delete them is refused in preview (docs/transitions.md).")),
        connector: z.enum(["auth-proxy", "private-ip"]).default("auth-proxy").meta(ex(["private-ip"], "auth-proxy: Cloud SQL Auth Proxy sidecar with client certificates, and IAM database authentication: each pod logs in as its own service account's database user (the proxy sends its token, no password), the migrate Job owns the schema, the others read and write rows only. private-ip: direct TLS to the private IP, every pod logging in as database.user with its password (the app would have to fetch and refresh an IAM token itself; docs/architecture.md).")),
        maxConnections: z.number().int().min(25).max(262143).optional().meta(ex([200], "Overrides (and sets the flag for) max_connections; default: Cloud SQL's value for the tier.")),
        name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be a lower-case identifier").default("django").meta(ex(["django"], "Database name.")),
        user: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "must be a lower-case identifier").default("django").meta(ex(["django"], "The schema owner: the database user that owns the app's tables. With auth-proxy no pod logs in as it (the migrate Job acts as it, being its member); with private-ip every pod does, with its password.")),
    })
    .strict()
    .prefault({});

const cacheSchema = z
    .object({
        mode: z.enum(["in-cluster", "memorystore"]).default("in-cluster").meta(ex(["memorystore"], "in-cluster: Redis master + replica StatefulSets; memorystore: Memorystore for Redis Standard tier.")),
        replicas: z.number().int().min(0).max(10).default(1).meta(ex([2], "Read replicas (in-cluster 0-10, memorystore 1-5); change it any time.")),
        image: pinnedImage.default(REDIS_IMAGE).meta(ex([REDIS_IMAGE], "Official redis image of the in-cluster cache. Production stacks (names matching prod*, *-prod, *-production) need it pinned by digest (`redis:<tag>@sha256:<digest>`): a tag on Docker Hub can be moved to other bytes. The default is redis:7.4.11-alpine by digest (docker-library/repo-info).")),
        memorySizeGb: z.number().int().min(1).max(300).default(1).meta(ex([5], "Memorystore capacity in GB; at least 5 with memorystore, whose read replicas need nodes of 5 GB or more (https://cloud.google.com/memorystore/docs/redis/about-read-replicas).")),
        transitEncryption: z.boolean().default(true).meta(ex([true], "Memorystore only: in-transit encryption (TLS, SERVER_AUTHENTICATION). The app connects with rediss:// on the ports the instance reports (6378 for the primary endpoint) and trusts only the instance's server CA, delivered in DJANGO_APP_CACHE_CA_CERT. Set at creation only: changing it replaces the instance (empty cache, new IP and AUTH string).")),
        maxMemoryMb: z.number().int().min(32).max(65536).default(200).meta(ex([200], "In-cluster Redis maxmemory (LRU eviction); the pod's memory limit is sized above it.")),
        persistence: z
            .object({
                enabled: z.boolean().default(false).meta(ex([true], "Keep the master's data on a PersistentVolumeClaim (AOF).")),
                sizeGb: z.number().int().min(1).max(1000).default(1).meta(ex([5], "PVC size.")),
            })
            .prefault({})
            .meta({ description: "In-cluster master persistence." }),
    })
    .strict()
    .prefault({});

const staticsSchema = z
    .object({
        corsOrigins: z.array(httpsOrigin).optional().meta(ex([["https://app.example.com"]], "Origins allowed to fetch static files; default: https://<domain>.")),
        location: z.string().min(2).optional().meta(ex(["EU"], "Bucket location; default: gcp:region.")),
        cdn: z
            .object({
                enabled: z.boolean().default(false).meta(ex([true], "Serve statics through a Cloud CDN backend bucket and HTTPS load balancer.")),
                domain: hostname.optional().meta(ex(["static.example.com"], "Host name of the CDN; needs a DNS A record to the CDN IP.")),
            })
            .prefault({})
            .meta({ description: "Cloud CDN for static files." }),
        forceDestroy: z.boolean().default(false).meta(ex([true], "Let Pulumi delete the statics and access-log buckets together with their objects (pulumi destroy, a statics.location change). Unset, the buckets are protected and the preview refuses both (docs/transitions.md). Independent of database.deletionProtection; set it only for disposable stacks.")),
        access: z.enum(["public", "private"]).default("public").meta(ex(["public"], "public: allUsers may read objects by name (roles/storage.legacyObjectReader, storage.objects.get only; nobody can list the bucket). private: public access prevention enforced and no allUsers binding, for organisations enforcing constraints/storage.publicAccessPrevention or constraints/iam.allowedPolicyMemberDomains (domain-restricted sharing, on by default in organisations created since May 2024), which reject allUsers. private is refused by validation for now: browsers could not fetch the files, since storage.googleapis.com and the CDN backend bucket serve a private bucket only with signed URLs or Cloud CDN private bucket access, which this program does not set up. Path for such organisations: exempt this project from both constraints (an organisation policy override on the project) and keep public.")),
    })
    .strict()
    .prefault({});

const workloadSchema = z
    .object({
        minReplicas: z.number().int().min(1).max(100).default(2).meta(ex([2], "HPA minimum web pods.")),
        maxReplicas: z.number().int().min(1).max(500).default(5).meta(ex([10], "HPA maximum web pods.")),
        targetCpuUtilization: z.number().int().min(10).max(95).default(70).meta(ex([70], "HPA CPU target, percent of requests.")),
        requestsPerThreadTarget: z.number().min(0.1).max(4).optional().meta(ex([0.8], "Also scale the web pods on page requests per gunicorn thread (running or waiting for a thread, averaged over the pods): the saturation CPU does not show (threads waiting on slow clients or a slow dependency use no CPU). The pods serve it (app/web_worker.py, gauge web_requests_per_thread on the probe port); Google Cloud Managed Service for Prometheus collects it (a PodMonitoring; managed collection is on by default on Autopilot) and the HPA reads it from Cloud Monitoring through the Custom Metrics Stackdriver Adapter, which must be installed in the cluster first (docs/operations.md): without it the HPA cannot read the metric and, with one metric missing, never scales down. Unset: CPU only.")),
        cpu: quantityCpu.default("500m").meta(ex(["500m"], "CPU request (and Autopilot bill) per web pod.")),
        memory: quantityMemory.default("512Mi").meta(ex(["512Mi"], "Memory request and limit per web pod.")),
        gunicornWorkers: z.number().int().min(1).max(32).default(2).meta(ex([2], "gunicorn worker processes per pod.")),
        gunicornThreads: z.number().int().min(1).max(64).default(4).meta(ex([4], "gunicorn threads per worker.")),
        connMaxAge: z.number().int().min(0).max(3600).default(60).meta(ex([60], "Django CONN_MAX_AGE, seconds.")),
        logLevel: z.enum(["DEBUG", "INFO", "WARNING", "ERROR"]).default("INFO").meta(ex(["INFO"], "Django log level.")),
        wsgiModule: pythonModule.default("config.wsgi").meta(ex(["mysite.wsgi"], "Dotted path of your project's WSGI module; gunicorn serves <wsgiModule>:application.")),
        settingsModule: pythonModule.default("config.settings").meta(ex(["mysite.settings.production"], "Dotted path of your project's settings module (DJANGO_SETTINGS_MODULE in every Django container).")),
        spot: z.boolean().default(false).meta(ex([true], `Non-production only: run the app's pods (web, workers, CronJobs) as Spot Pods on Autopilot (nodeSelector cloud.google.com/gke-spot=true), billed at the lower Spot rates. GKE may preempt them at any time with ${SPOT_PREEMPTION_GRACE_SECONDS} s of grace (Google documents 15 s and 25 s; the platform plans for the shorter), and Spot Pods are outside the Autopilot SLA (https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods). Every Spot pod's termination fits in it: web pods keep their ${webTermination(true).preStopSeconds} s preStop and give requests in flight ${webTermination(true).gracefulTimeoutSeconds} s after SIGTERM (on rollouts too), so a request still running ${webTermination(true).preStopSeconds + webTermination(true).gracefulTimeoutSeconds} s after the pod is told to stop is cut; workers get ${SPOT_PREEMPTION_GRACE_SECONDS} s. Needs workload.minReplicas 2 or more: one evicted web pod would be an outage.`)),
    })
    .strict()
    .prefault({});

/** A command as an argument vector (no shell): `["python", "manage.py", "demo_worker"]`. */
const command = z.array(z.string().min(1)).min(1, "must name a command, e.g. [\"python\", \"manage.py\", \"…\"]");

/** Worker and schedule names: DNS labels of at most 20 characters (components/naming.ts). */
const componentName = z.string().regex(COMPONENT_NAME, "must be a lower-case DNS label of at most 20 characters (letters, digits, hyphens; starting with a letter)");

const mediaSchema = z
    .object({
        enabled: z.boolean().default(true).meta(ex([true], "Private media bucket for uploads (Django's default storage through django-storages, signed URLs signed through IAM as the pod's own service account; DJANGO_APP_MEDIA_BUCKET). Only the web and worker identities may read and write it.")),
        location: z.string().min(2).optional().meta(ex(["EU"], "Media bucket location; default: gcp:region.")),
        noncurrentVersionDays: z.number().int().min(1).max(3650).default(30).meta(ex([30], "Days an overwritten or deleted upload stays restorable (object versioning) before the lifecycle deletes it.")),
        forceDestroy: z.boolean().default(false).meta(ex([true], "Let Pulumi delete the media bucket with its uploads (pulumi destroy, media.enabled false, a media.location change). Unset, the bucket is protected and the preview refuses those (docs/transitions.md). Disposable stacks only.")),
    })
    .strict()
    .prefault({});

/** A relative URL prefix ending in a slash (Django's `path()` syntax), such as `staff-7f3a9c/`. */
const adminPath = z.string().regex(/^([A-Za-z0-9][A-Za-z0-9._~-]*\/)+$/, "must be a relative URL prefix ending in a slash, such as staff-7f3a9c/");

/**
 * What the reference app lets anyone on the internet reach (app/config/switches.py): off unless a
 * stack turns it on. A project of your own reads the same variables, or ignores them.
 */
const appSchema = z
    .object({
        admin: z
            .object({
                enabled: z.boolean().default(false).meta(ex([true], "Mount Django's admin (DJANGO_APP_ADMIN_ENABLED) at app.admin.path. Off: no admin URL exists (404), so its login page offers nothing to guess passwords against.")),
                path: adminPath.optional().meta(ex(["staff-7f3a9c21/"], "URL prefix of the admin (DJANGO_APP_ADMIN_PATH); required with app.admin.enabled. A prefix nobody can guess keeps the bots that try /admin/ on every site off the login page; choose one with `pulumi config set --path app.admin.path \"admin-$(openssl rand -hex 8)/\"`. It is not a secret (it is in the stack file): passwords and Cloud Armor's rate limit still guard the login.")),
            })
            .strict()
            .prefault({})
            .meta({ description: "Django's admin." }),
        demo: z
            .object({
                anonymousUploads: z.boolean().default(false).meta(ex([true], "Let anonymous visitors upload files to the media bucket and list recent uploads with signed links (/uploads/, DJANGO_APP_DEMO_ANONYMOUS_UPLOADS): anyone could host files under your domain's bucket. Off: 404 unless signed in.")),
                anonymousTasks: z.boolean().default(false).meta(ex([true], "Let anonymous visitors queue background tasks and read their results (POST /tasks/, GET /tasks/<id>/, DJANGO_APP_DEMO_ANONYMOUS_TASKS): anyone could fill the queue. Off: 404 unless signed in.")),
            })
            .strict()
            .prefault({})
            .meta({ description: "The reference app's demo pages." }),
    })
    .strict()
    .prefault({});

const accessLogsSchema = z
    .object({
        enabled: z.boolean().default(true).meta(ex([false], "Usage and storage logs of the statics and media buckets, written hourly/daily into a private -logs bucket by Google's group:cloud-storage-analytics@google.com, which gets roles/storage.objectCreator there (https://cloud.google.com/storage/docs/access-logs). Organisations enforcing constraints/iam.allowedPolicyMemberDomains (domain-restricted sharing, on by default in organisations created since May 2024) reject that grant, and preflight fails: set false there and rely on Cloud Audit Logs (Data Access logs for Cloud Storage, Google's recommended record of bucket access), or exempt the project from the constraint.")),
    })
    .strict()
    .prefault({});

const workerSchema = z
    .object({
        command: command.meta(ex([["python", "manage.py", "demo_worker"]], "Command of the worker (argument vector). It must finish its current task and exit on SIGTERM.")),
        minReplicas: z.number().int().min(1).max(100).default(1).meta(ex([1], "HPA minimum worker pods.")),
        maxReplicas: z.number().int().min(1).max(100).default(2).meta(ex([3], "HPA maximum worker pods.")),
        targetCpuUtilization: z.number().int().min(10).max(95).default(70).meta(ex([70], "HPA CPU target, percent of requests.")),
        cpu: quantityCpu.default("250m").meta(ex(["250m"], "CPU request per worker pod.")),
        memory: quantityMemory.default("512Mi").meta(ex(["512Mi"], "Memory request and limit per worker pod.")),
        dbConnections: z.number().int().min(0).max(256).default(1).meta(ex([1], "Database connections one worker pod holds: your worker's concurrency (threads or processes that use the ORM) plus its queue's own connections (4 for the reference demo_worker). Counted in the connection budget.")),
        terminationGracePeriodSeconds: z.number().int().min(10).max(3600).optional().meta(ex([300], `Seconds a worker gets after SIGTERM to finish its current task. Default 60, or ${SPOT_PREEMPTION_GRACE_SECONDS} with workload.spot, which refuses more: a preemption gives ${SPOT_PREEMPTION_GRACE_SECONDS} s whatever is set.`)),
    })
    .strict();

const scheduleSchema = z
    .object({
        schedule: z.string().superRefine((v, ctx) => {
            const problem = cronScheduleProblem(v);
            if (problem) {
                ctx.addIssue({ code: "custom", message: `${problem}; use 5-field cron syntax or @hourly/@daily/@weekly/@monthly/@yearly (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax)` });
            }
        }).meta(ex(["17 3 * * *"], "When to run, in cron syntax (minute hour day-of-month month day-of-week) or a macro such as @daily.")),
        command: command.meta(ex([["python", "manage.py", "clearsessions"]], "Command to run (argument vector).")),
        timeZone: z.string().refine((v) => TIME_ZONES.has(v), "must be an IANA time zone such as Etc/UTC or Europe/Berlin").default("Etc/UTC").meta(ex(["Europe/Berlin"], "IANA time zone the schedule is read in (CronJob timeZone, GA since Kubernetes 1.27).")),
        concurrencyPolicy: z.enum(["Forbid", "Replace"]).default("Forbid").meta(ex(["Forbid"], "Forbid: skip a run while the previous one still runs; Replace: stop it and start the new one. Allow is not offered: overlapping runs would have no bound in the connection budget.")),
        activeDeadlineSeconds: z.number().int().min(60).max(86400).default(3600).meta(ex([3600], "Longest a run may take before Kubernetes stops it.")),
    })
    .strict();

const networkingSchema = z
    .object({
        mode: z
            .literal("ingress", { error: "must be ingress: the loadbalancer mode was removed, because a plain-HTTP Service of type LoadBalancer cannot serve the app, which redirects every request to HTTPS; the ingress mode serves HTTPS with a managed certificate" })
            .default("ingress")
            .meta(ex(["ingress"], "ingress: GKE Ingress (Google external Application Load Balancer) with a managed certificate, HTTPS redirect and container-native load balancing. The only mode.")),
        sslPolicyProfile: z.enum(["MODERN", "RESTRICTED"]).default("MODERN").meta(ex(["RESTRICTED"], "SSL policy profile of the HTTPS load balancer (TLS 1.2+).")),
    })
    .strict()
    .prefault({});

const authorizedNetwork = z.object({ cidr, name: z.string().min(1) }).strict();

const clusterSchema = z
    .object({
        mode: z.enum(["autopilot", "existing"]).default("autopilot").meta(ex(["existing"], "autopilot: create a GKE Autopilot cluster; existing: use one by name and location.")),
        name: z.string().regex(/^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/, "must be a GKE cluster name").optional().meta(ex(["shared-gke"], "Existing cluster name (mode existing).")),
        location: z.string().min(2).optional().meta(ex(["europe-west1"], "Existing cluster location; default: gcp:region.")),
        releaseChannel: z.enum(["RAPID", "REGULAR", "STABLE"]).default("REGULAR").meta(ex(["STABLE"], "GKE release channel.")),
        masterAuthorizedNetworks: z.array(authorizedNetwork).default([]).meta(ex([[{ cidr: "100.64.10.0/24", name: "office" }]], "Networks allowed to reach the control plane's IP endpoint, for people (never 0.0.0.0/0, no documentation range). Empty (the default): the IP endpoint is off. Pulumi, CI and people use the DNS-based endpoint, checked by IAM, which ignores this list.")),
        masterCidr: cidr.default("172.16.0.0/28").meta(ex(["172.16.0.16/28"], "Control plane /28 for private nodes.")),
        deletionProtection: z.boolean().default(true).meta(ex([false], "GKE deletion protection, plus Pulumi `protect` on the cluster and its Secrets KMS key: a change that would replace or delete them is refused in preview (docs/transitions.md).")),
        namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS label").optional().meta(ex(["django-staging"], "Kubernetes namespace; default: django-<stack>.")),
        nodeServiceAccount: z
            .string()
            .regex(/^[a-z0-9][a-z0-9-]{4,62}@[a-z0-9.:-]+\.gserviceaccount\.com$/, "must be a service account email (<name>@<project>.iam.gserviceaccount.com)")
            .optional()
            .meta(ex(["gke-nodes@acme-shared.iam.gserviceaccount.com"], "Mode existing: the existing cluster's node service account; the IAM step (iam/) grants it roles/artifactregistry.reader on the image's repository. Unset: grant it yourself. Mode autopilot: the IAM step creates the nodes' own account and this is ignored.")),
        rbacSecurityGroup: z
            .string()
            .regex(/^gke-security-groups@[a-z0-9.-]+\.[a-z]{2,63}$/, "must be the Google Group gke-security-groups@<your domain>")
            .optional()
            .meta(ex(["gke-security-groups@example.com"], "Google Groups for RBAC (mode autopilot): the Workspace or Cloud Identity group whose member groups Kubernetes RBAC may name. Unset: RBAC names users and service accounts only.")),
    })
    .strict()
    .prefault({});

const networkSchema = z
    .object({
        mode: z.enum(["create", "existing"]).default("create").meta(ex(["existing"], "create: a dedicated VPC; existing: use a VPC and subnet by name.")),
        name: z.string().min(1).optional().meta(ex(["shared-vpc"], "Existing VPC name (mode existing).")),
        subnetName: z.string().min(1).optional().meta(ex(["gke-subnet"], "Existing subnet name (mode existing).")),
        podsRangeName: z.string().min(1).default("pods").meta(ex(["pods"], "Secondary range for pods.")),
        servicesRangeName: z.string().min(1).default("services").meta(ex(["services"], "Secondary range for services.")),
        subnetCidr: cidr.default("10.10.0.0/20").meta(ex(["10.10.0.0/20"], "Primary subnet range (mode create).")),
        podsCidr: cidr.default("10.20.0.0/16").meta(ex(["10.20.0.0/16"], "Pods secondary range (mode create).")),
        servicesCidr: cidr.default("10.30.0.0/20").meta(ex(["10.30.0.0/20"], "Services secondary range (mode create).")),
        privateServicesCidr: cidr.default("10.99.0.0/20").meta(ex(["10.99.0.0/20"], "Private services access range for Cloud SQL / Memorystore private IPs (mode create), /24 or larger; pinned so it never overlaps the other ranges.")),
        egressAllowList: z.array(cidr).max(100).default([]).meta(ex([["203.0.113.0/24"]], "Public IPv4 ranges the app's pods (web, workers, CronJobs, npm run manage) may reach on TCP 443, e.g. a payment or mail API's published ranges. Empty (the default): no internet host at all; Google's APIs are reached through Private Google Access (199.36.153.8/30, private.googleapis.com) whatever this says, and the migrate and collectstatic Jobs never get these. Private, shared and link-local ranges inside an entry stay closed. 0.0.0.0/0 opens the whole internet on 443, as earlier versions did. GKE's FQDN network policies would allow names instead of ranges, but need a cluster flag this program does not set (docs/architecture.md, \"Egress\").")),
        privateServicesRangeName: z.string().min(1).optional().meta(ex(["google-managed-services-shared-vpc"], "Mode existing: name of the VPC's allocated range used by its existing private services access connection (gcloud compute addresses list --global --filter=purpose=VPC_PEERING). Nothing is created on an existing VPC, which must also give private nodes a way to pull images: Cloud NAT, or cache.image mirrored into Artifact Registry.")),
    })
    .strict()
    .prefault({});

const securitySchema = z
    .object({
        binaryAuthorization: z.enum(["off", "dry-run", "enforce"]).default("off").meta(ex(["enforce"], "Binary Authorization (components/binaryAuthorization.ts): the cluster checks every new pod against the project's policy, which this stack writes: Google's system images and any tag or digest of the image paths the stack runs (image, the Cloud SQL Auth Proxy, cache.image), nothing else. dry-run: nothing is blocked, a pod that would be is logged (Cloud Audit Logs); enforce: it is refused. Every image needs its registry in its name (docker.io/library/redis:…, not redis:…). cluster.mode autopilot only. The policy is a singleton of gcp:project: one stack per project. Turn it on with dry-run in staging first (docs/operations.md, \"Binary Authorization\"). In production stacks the policy pack makes enforce mandatory once the policy exists (gke-cluster-enforces-binary-authorization-in-production).")),
    })
    .strict()
    .prefault({});

/** ISO 3166-1 alpha-2 region code, as Cloud Armor's `origin.region_code` reports it. */
const regionCode = z.string().regex(/^[A-Z]{2}$/, "must be an upper-case ISO 3166-1 alpha-2 region code such as RU");

const edgeSchema = z
    .object({
        armor: z
            .object({
                enabled: z.boolean().default(true).meta(ex([true], "Cloud Armor security policy on the web backend (WAF rules, per-IP rate limit, deny-lists), attached through the BackendConfig (docs/edge.md). Switching it off detaches the policy and leaves it in the project, still billed, until you delete it (docs/edge.md, \"Turning it off, and on again\").")),
                preview: z.boolean().default(false).meta(ex([true], "Preview mode for rollout: every rule only logs what it would do (Cloud Logging, jsonPayload.previewSecurityPolicy); nothing is blocked.")),
                wafSensitivity: z.number().int().min(1).max(4).default(1).meta(ex([2], "Sensitivity (OWASP CRS paranoia level) of the preconfigured WAF rules: 1 enables only the highest-confidence signatures (fewest false positives); higher levels need tuning (https://cloud.google.com/armor/docs/rule-tuning).")),
                rateLimitPerMinute: z.number().int().min(10).max(100000).default(600).meta(ex([600], "Requests per minute one client IP may send to the web backend; above it Cloud Armor answers 429.")),
                denyCountries: z.array(regionCode).max(50).default([]).meta(ex([["KP"]], "Region codes (origin.region_code) refused with 403, on the web backend and the CDN.")),
                denyCidrs: z.array(cidr).max(500).default([]).meta(ex([["198.51.100.0/24"]], "Source IPv4 ranges refused with 403, on the web backend and the CDN.")),
                adaptiveProtection: z.boolean().default(false).meta(ex([true], "Adaptive Protection (layer 7 DDoS defence). On the Standard tier it sends basic alerts only (confidence score and attack size); attack signatures and suggested rules need Cloud Armor Enterprise (https://cloud.google.com/armor/docs/adaptive-protection-overview).")),
            })
            .strict()
            .prefault({})
            .meta({ description: "Cloud Armor on the web backend (and an edge policy on the CDN when deny-lists are set)." }),
    })
    .strict()
    .prefault({});

const dnsSchema = z
    .object({
        managedZone: z.string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a Cloud DNS managed zone name such as example-com").optional().meta(ex(["example-com"], "Cloud DNS managed zone that holds domain (and statics.cdn.domain): A records to the reserved addresses are created there. Unset: the dnsRecords output lists the records to create by hand.")),
        project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a GCP project id").optional().meta(ex(["acme-dns"], "Project of the managed zone; default: gcp:project. The deployer needs there what the provider's record set calls (bootstrap/permissionTable.ts, gcp:dns/recordSet:RecordSet and gcp:dns/getRecordSets:getRecordSets): dns.resourceRecordSets.list, dns.changes.create and dns.changes.get, and dns.resourceRecordSets.create/update/delete (create also deletes an existing record set of the same name and type), e.g. roles/dns.admin on the zone's project; the CI preflight needs dns.managedZones.get and dns.resourceRecordSets.list there (roles/dns.reader). dns.googleapis.com must be enabled there (the bootstrap enables it only in the stack projects; npm run preflight checks it).")),
        ttl: z.number().int().min(30).max(86400).default(300).meta(ex([300], "TTL of the A records, seconds.")),
        replaceExisting: z.boolean().default(false).meta(ex([true], "Let the stack replace A records of domain (and statics.cdn.domain) that already exist in dns.managedZone and point elsewhere, e.g. the live site being moved here: the provider's create deletes an existing record set of the same name and type without showing it in the diff. Unset, pulumi up and preflight refuse such records. Set it only for a planned cutover (docs/dns-cutover.md). A CNAME or AAAA record at those names is refused either way.")),
    })
    .strict()
    .prefault({});

const ratio = (fallback: number, description: string) => z.number().gt(0).max(1).default(fallback).meta(ex([fallback], description));

const monitoringSchema = z
    .object({
        enabled: z.boolean().default(true).meta(ex([true], "HTTPS uptime check on /healthz/, alert policies and a dashboard (docs/monitoring.md).")),
        notificationEmails: z.array(z.email("must be an email address such as ops@example.com")).default([]).meta(ex([["ops@example.com"]], "Addresses that get the alerts (one email notification channel each).")),
        siteLive: z.boolean().default(true).meta(ex([false], "Whether the site already serves https://<domain>/healthz/. Set false before the first `pulumi up`: DNS and the managed certificate take up to an hour after it, and until then the uptime check fails. false keeps the uptime check and disables only its CRITICAL alert (every preview warns); set it back to true once `curl -fsS https://<domain>/healthz/` answers (docs/monitoring.md).")),
        thresholds: z
            .object({
                errorRatio5xx: ratio(0.05, "Share of load balancer responses that are 5xx, over 5 minutes, above which an alert fires."),
                latencyP95Ms: z.number().int().min(50).max(60000).default(1500).meta(ex([1500], "95th percentile of the load balancer's backend latency (ms) over 5 minutes above which an alert fires.")),
                sqlCpu: ratio(0.8, "Cloud SQL CPU utilisation (0-1) sustained 10 minutes above which an alert fires."),
                sqlDisk: ratio(0.85, "Cloud SQL disk utilisation (0-1) above which an alert fires."),
                sqlConnections: ratio(0.8, "Share of the usable max_connections (components/connectionBudget.ts) in use above which an alert fires."),
                redisMemory: ratio(0.85, "Redis memory use (Memorystore usage ratio, or the in-cluster container's share of its memory limit) above which an alert fires."),
                hpaAtMaxMinutes: z.number().int().min(5).max(1440).default(15).meta(ex([15], "Minutes the web HPA may stay at workload.maxReplicas before an alert fires.")),
            })
            .strict()
            .prefault({})
            .meta({ description: "Alert thresholds." }),
    })
    .strict()
    .prefault({});

/**
 * Expected monthly usage of the stack, read only by the cost estimate of `npm run synth`
 * (cli/lib/cost, docs/costs.md): the analogue of an Infracost usage file, kept with the stack it
 * describes. The program itself ignores it.
 */
export const usageSchema = z
    .object({
        appEgressGib: z.number().min(0).max(1e6).default(50).meta(ex([50], "Responses of the app to the internet through the load balancer, GiB a month.")),
        appRequestsMillions: z.number().min(0).max(1e5).default(5).meta(ex([5], "Requests to the app a month, millions (Cloud Armor, DNS).")),
        staticEgressGib: z.number().min(0).max(1e6).default(50).meta(ex([50], "Static files served a month, GiB (through the CDN when on, else from the bucket).")),
        staticRequestsMillions: z.number().min(0).max(1e5).default(5).meta(ex([5], "Static file requests a month, millions.")),
        cdnCacheFillGib: z.number().min(0).max(1e6).default(5).meta(ex([5], "CDN cache fill from the bucket a month, GiB.")),
        mediaBucketGib: z.number().min(0).max(1e6).default(10).meta(ex([10], "Uploads stored in the media bucket, all versions, GiB.")),
        natDataGib: z.number().min(0).max(1e6).default(10).meta(ex([10], "Data through Cloud NAT a month (image pulls from outside Google, outbound API calls), GiB.")),
        natLogGib: z.number().min(0).max(1e6).default(1).meta(ex([1], "Cloud NAT logs a month, GiB: every translation is logged (a new connection of a node to the internet, about a kilobyte each).")),
        deploysPerMonth: z.number().int().min(0).max(10000).default(20).meta(ex([20], "Deploys a month; each runs the migrate and collectstatic Jobs once.")),
        gkeFreeTierCredit: z.boolean().default(false).meta(ex([true], "Whether this stack's cluster takes the GKE free tier credit ($74.40 a month, up to the cluster fee), of which a billing account gets one (https://cloud.google.com/kubernetes-engine/pricing). A stack cannot see the others on its billing account: set it true in one stack only (this repository: production). Unset, the stack pays its cluster fee in full.")),
    })
    .strict()
    .prefault({});

/** Expected monthly usage of a stack (see {@link usageSchema}). */
export type Usage = z.infer<typeof usageSchema>;

/** The schema of every project config key (without the `django-platform:` namespace). */
export const configSchema = z
    .object({
        domain: hostname.meta(ex(["app.example.com"], "Public host name of the Django site.")),
        image: pinnedImage.meta(ex(["europe-docker.pkg.dev/acme/django/app:1.4.2"], "Django app image, pinned by tag or digest.")),
        database: databaseSchema.meta({ description: "Cloud SQL for PostgreSQL." }),
        cache: cacheSchema.meta({ description: "Redis cache." }),
        statics: staticsSchema.meta({ description: "Static files bucket and CDN." }),
        workload: workloadSchema.meta({ description: "Django web pods, autoscaling and gunicorn." }),
        networking: networkingSchema.meta({ description: "How traffic reaches the web pods." }),
        cluster: clusterSchema.meta({ description: "GKE cluster." }),
        network: networkSchema.meta({ description: "VPC network." }),
        edge: edgeSchema.meta({ description: "Cloud Armor at the load balancer." }),
        dns: dnsSchema.meta({ description: "Cloud DNS records for domain and the CDN domain." }),
        monitoring: monitoringSchema.meta({ description: "Uptime check, alerts and dashboard." }),
        security: securitySchema.meta({ description: "Admission of images (Binary Authorization)." }),
        appEnv: z.record(envName, z.string()).default({}).meta(ex([{ FEATURE_FLAGS: "beta" }], "Extra plain environment variables for the app.")),
        appSecrets: z.record(envName, z.string()).default({}).meta(ex([{ SENTRY_DSN: "https://…" }], "Extra secret environment variables (set with --secret).")),
        media: mediaSchema.meta({ description: "Private media bucket for uploads." }),
        app: appSchema.meta({ description: "What the reference app exposes to anonymous visitors: the admin, uploads, task queuing (all off by default)." }),
        accessLogs: accessLogsSchema.meta({ description: "Cloud Storage usage and storage logs of the statics and media buckets." }),
        workers: z.record(componentName, workerSchema).default({}).meta(ex([{ tasks: { command: ["python", "manage.py", "demo_worker"], minReplicas: 1, maxReplicas: 3 } }], "Background workers: one Deployment each, from the app image and env, with its own service account, HPA and PDB.")),
        schedules: z.record(componentName, scheduleSchema).default({}).meta(ex([{ clearsessions: { schedule: "17 3 * * *", command: ["python", "manage.py", "clearsessions"], timeZone: "Etc/UTC" } }], "Management commands on a schedule: one CronJob each, built like the migrate Job.")),
        usage: usageSchema.meta({ description: "Expected monthly traffic and storage, read only by the cost estimate of `npm run synth` (docs/costs.md); the program ignores it." }),
    })
    .strict();

/** Config keys outside the project namespace that the program reads. */
export const providerSchema = z.object({
    "gcp:project": z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a GCP project id").meta(ex(["acme-staging"], "Google Cloud project id.")),
    "gcp:region": z.string().regex(GCP_REGION, "must be a GCP region such as europe-west1").meta(ex(["europe-west1"], "Google Cloud region.")),
});

/** The validated, defaulted configuration of one stack. */
/** The parsed config with defaults that depend on other keys resolved (a worker's grace period on Spot). */
type ResolvedConfig = Omit<z.infer<typeof configSchema>, "workers"> & {
    readonly workers: Record<string, z.infer<typeof configSchema>["workers"][string] & { readonly terminationGracePeriodSeconds: number }>;
};

export type PlatformConfig = ResolvedConfig & {
    readonly project: string;
    readonly region: string;
    readonly stack: string;
    /** `appSecrets` as Pulumi secrets: they never appear in plain text in state or previews. */
    readonly appSecretOutputs: Record<string, pulumi.Output<string>>;
};

/** The raw config values of a stack: fully-qualified key → string, as the Pulumi CLI passes them. */
export type RawConfig = Record<string, string | undefined>;

/** Raised for any invalid or missing config; the message lists every problem with its fix. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

const SECRET_KEYS = new Set(["appSecrets"]);

function show(value: unknown): string {
    if (value === undefined) {
        return "nothing";
    }
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The first example a schema's metadata gives, if any. */
function ownExample(schema: z.ZodType): unknown {
    return (schema.meta() as { examples?: unknown[] } | undefined)?.examples?.[0];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * The example value at a key path: a field's own example, else the part of its parent's example
 * at that place (an array element, an entry of a record such as `workers.<name>`).
 */
function exampleFor(path: readonly (string | number)[]): unknown {
    let schema: z.ZodType | undefined = configSchema;
    let example: unknown;
    for (const key of path) {
        const container = unwrapToContainer(schema);
        if (container instanceof z.ZodArray && typeof key === "number") {
            schema = container.def.element as z.ZodType;
            example = Array.isArray(example) && example.length > 0 ? example[Math.min(key, example.length - 1)] : undefined;
        } else if (container instanceof z.ZodRecord && typeof key === "string") {
            schema = container.def.valueType as z.ZodType;
            example = isPlainObject(example) ? (example[key] ?? Object.values(example)[0]) : undefined;
        } else if (container instanceof z.ZodObject && typeof key === "string") {
            schema = container.shape[key] as z.ZodType | undefined;
            example = isPlainObject(example) ? example[key] : undefined;
        } else {
            return undefined;
        }
        if (!schema) {
            return undefined;
        }
        example = ownExample(schema) ?? example;
    }
    return example;
}

/** The schema at a key path (objects, records, arrays), or undefined when the path leaves it. */
function schemaAt(path: readonly (string | number)[]): z.ZodType | undefined {
    let schema: z.ZodType | undefined = configSchema;
    for (const key of path) {
        const container = unwrapToContainer(schema);
        schema = container instanceof z.ZodArray && typeof key === "number"
            ? (container.def.element as z.ZodType)
            : container instanceof z.ZodRecord
                ? (container.def.valueType as z.ZodType)
                : container instanceof z.ZodObject && typeof key === "string"
                    ? (container.shape[key] as z.ZodType | undefined)
                    : undefined;
    }
    return schema;
}

/** The object, record or array schema inside optional/default/prefault/pipe wrappers, if any. */
function unwrapToContainer(schema: z.ZodType | undefined): z.ZodObject | z.ZodRecord | z.ZodArray | undefined {
    let s: unknown = schema;
    for (let i = 0; i < 8 && s; i++) {
        if (s instanceof z.ZodObject || s instanceof z.ZodRecord || s instanceof z.ZodArray) {
            return s;
        }
        const def = (s as { def?: { innerType?: unknown; in?: unknown } }).def;
        s = def?.innerType ?? def?.in;
    }
    return undefined;
}

/**
 * Parses, at any depth, a string holding JSON where the schema expects an array or an object.
 *
 * `pulumi config set --path <key> '<JSON>'` stores the JSON as a string: the CLI turns a `--path`
 * value into a boolean for true/false, a number for an integer, and otherwise keeps the string
 * (`adjustObjectValue` in pulumi/pulumi sdk/go/common/resource/config/map.go; documented by
 * pulumi/pulumi#18285). So `workers.tasks.command '["python","manage.py","demo_worker"]'` reaches the
 * program as a string inside the `workers` object, and the fixes this module prints in that form
 * must be read back as the array they mean. A string that is not JSON of the expected shape is left
 * for validation to report.
 */
export function decodeJsonStrings(schema: z.ZodType | undefined, value: unknown): unknown {
    const container = unwrapToContainer(schema);
    if (!container) {
        return value;
    }
    let v = value;
    if (typeof v === "string" && /^\s*[[{]/.test(v)) {
        try {
            const parsed: unknown = JSON.parse(v);
            if (container instanceof z.ZodArray ? Array.isArray(parsed) : isPlainObject(parsed)) {
                v = parsed;
            }
        } catch {
            // not JSON: validation names the key and the expected shape
        }
    }
    if (container instanceof z.ZodArray && Array.isArray(v)) {
        return v.map((e) => decodeJsonStrings(container.def.element as z.ZodType, e));
    }
    if (container instanceof z.ZodObject && isPlainObject(v)) {
        return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, k in container.shape ? decodeJsonStrings(container.shape[k] as z.ZodType, e) : e]));
    }
    if (container instanceof z.ZodRecord && isPlainObject(v)) {
        return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, decodeJsonStrings(container.def.valueType as z.ZodType, e)]));
    }
    return v;
}

/** Formats a key path the way `pulumi config set --path` takes it: `a.b[0].c`. */
export function formatPath(path: readonly (string | number)[]): string {
    return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function shellQuote(value: string): string {
    return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

/**
 * A key path as a shell word: `a.b[0].c` is quoted, because zsh (macOS's default shell) expands
 * `[0]` as a glob and fails with "no matches found".
 */
export function cliPath(path: readonly (string | number)[]): string {
    return shellQuote(formatPath(path));
}

/** Whether `pulumi config set --path` would store this string as a boolean or a number. */
function cliWouldConvert(value: string): boolean {
    return value === "true" || value === "false" || (/^[+-]?\d+$/.test(value) && !(value.length > 1 && value[0] === "0"));
}

/**
 * `pulumi config set` of `value` at `path`, in a form the CLI stores as the value's type: `--path`
 * turns true/false into booleans, integers into numbers and keeps everything else a string
 * (`adjustObjectValue` in pulumi/pulumi sdk/go/common/resource/config/map.go, pulumi/pulumi#18285),
 * so a non-integer number needs `--type float` and a string the CLI would convert `--type string`;
 * arrays and objects go as JSON, which {@link decodeJsonStrings} reads back.
 */
function setCommand(path: readonly (string | number)[], value: unknown): string {
    const pathFlag = path.length > 1 ? " --path" : "";
    const type = typeof value === "number" && !Number.isInteger(value)
        ? " --type float"
        : typeof value === "string" && path.length > 1 && cliWouldConvert(value)
            ? " --type string"
            : "";
    const literal = typeof value === "string" ? value : JSON.stringify(value);
    return `pulumi config set${pathFlag}${type} ${cliPath(path)} ${shellQuote(literal)}`;
}

/**
 * The command that sets `path` to `example` (or removes it when there is none), in a form the CLI
 * stores as the schema expects ({@link setCommand}); a whole record (`workers`, `appEnv`, …) is
 * removed rather than filled with the example's entries, and a secret's value is never printed.
 */
function fixCommand(path: (string | number)[], example: unknown): string {
    const pathFlag = path.length > 1 ? " --path" : "";
    if (example === undefined || (path.length === 1 && unwrapToContainer(schemaAt(path)) instanceof z.ZodRecord)) {
        return `pulumi config rm${pathFlag} ${cliPath(path)}`;
    }
    if (SECRET_KEYS.has(String(path[0]))) {
        return `pulumi config set --secret${pathFlag} ${cliPath(path)} <value>`;
    }
    return setCommand(path, example);
}

/** The known key nearest to a misspelt one (`maxReplica` → `maxReplicas`), if one is near enough. */
function nearestKey(name: string, known: readonly string[]): string | undefined {
    let best: { key: string; d: number } | undefined;
    for (const key of known) {
        const d = distance(name.toLowerCase(), key.toLowerCase());
        if (best === undefined || d < best.d) {
            best = { key, d };
        }
    }
    return best && best.d <= 2 && best.d <= name.length / 3 ? best.key : undefined;
}

/**
 * The problem for an unknown key at `path` holding `value`: the nearest known key with the commands
 * that move the value there, else the keys that exist at that level.
 */
function unknownKeyProblem(path: readonly (string | number)[], value: unknown, stack: string | undefined, targetSet: (target: readonly (string | number)[]) => boolean): string {
    const parent = path.slice(0, -1);
    const name = String(path[path.length - 1]);
    const container = parent.length ? unwrapToContainer(schemaAt(parent)) : configSchema;
    const known = container instanceof z.ZodObject ? Object.keys(container.shape) : [];
    const near = nearestKey(name, known);
    const rm = `pulumi config rm${path.length > 1 ? " --path" : ""} ${cliPath(path)}`;
    if (near === undefined) {
        const has = parent.length ? `; ${formatPath(parent)} has ${known.join(", ")}` : "";
        return `${PROJECT}:${formatPath(path)}: unknown key${has} (got ${show(value)}). Fix: \`${rm}\`.`;
    }
    const target = [...parent, near];
    if (targetSet(target)) {
        return `${PROJECT}:${formatPath(path)}: unknown key; did you mean ${formatPath(target)}, which is set too? (got ${show(value)}). Fix: keep one: \`${rm}\`, after moving what you meant into ${formatPath(target)}.`;
    }
    const set = setCommand(target, value);
    const move = value === undefined || set.length > 200
        ? `rename it to ${formatPath(target)} in ${stack ? `Pulumi.${stack}.yaml` : "the stack file"}, or \`${rm}\` and set ${formatPath(target)} again`
        : `\`${rm}\`, then \`${set}\``;
    return `${PROJECT}:${formatPath(path)}: unknown key; did you mean ${formatPath(target)}? (got ${show(value)}). Fix: ${move}.`;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
    let v: unknown = root;
    for (const key of path) {
        if (v === null || typeof v !== "object") {
            return undefined;
        }
        v = (v as Record<string | number, unknown>)[key];
    }
    return v;
}

function issuesToProblems(issues: z.core.$ZodIssue[], input: unknown, namespace: string, stack?: string): string[] {
    return issues.flatMap((issue) => {
        const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
        if (issue.code === "unrecognized_keys") {
            return (issue as { keys: string[] }).keys.map((key) => unknownKeyProblem([...path, key], valueAt(input, [...path, key]), stack, (target) => valueAt(input, [...target]) !== undefined));
        }
        const value = valueAt(input, path);
        const secret = SECRET_KEYS.has(String(path[0]));
        if (issue.code === "invalid_key") {
            const reason = (issue as { issues?: { message: string }[] }).issues?.[0]?.message ?? issue.message;
            const name = String(path[path.length - 1]);
            const dnsLabel = ["workers", "schedules"].includes(String(path[0]));
            const renamed = dnsLabel ? name.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^[^a-z]+/, "").slice(0, 20).replace(/-+$/, "") : name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
            return `${namespace}${formatPath(path)}: ${reason} (got ${show(name)}). Fix: \`pulumi config rm --path ${cliPath(path)}\`, then set it as ${formatPath([...path.slice(0, -1), renamed])}${secret ? " with --secret" : ""}.`;
        }
        const example = exampleFor(path);
        const got = secret ? "a secret value" : show(value);
        if (issue.code === "invalid_type" && (issue as { expected?: string }).expected === "string" && (typeof value === "number" || typeof value === "boolean")) {
            // `pulumi config set --path` stores 10 and true as a number and a boolean; keep the
            // value and store it as a string instead.
            return `${namespace}${formatPath(path)}: must be a string, but the CLI stored ${show(value)} as a ${typeof value} (got ${got}). Fix: \`pulumi config set${secret ? " --secret" : ""} --path --type string ${cliPath(path)} ${secret ? "<value>" : shellQuote(String(value))}\`.`;
        }
        if (issue.code === "invalid_type" && (issue as { expected?: string }).expected === "number" && typeof value === "string" && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim())) {
            // `pulumi config set --path` stores only integers as numbers: 0.8 arrives as "0.8".
            return `${namespace}${formatPath(path)}: must be a number, but the CLI stored ${show(value)} as a string (\`--path\` stores only integers as numbers) (got ${got}). Fix: \`pulumi config set --path --type float ${cliPath(path)} ${shellQuote(value.trim())}\`.`;
        }
        const message = value === undefined && issue.code === "invalid_type" ? "is required" : issue.message.replace(/^Invalid input: /, "");
        return `${namespace}${formatPath(path)}: ${message} (got ${got}). Fix: \`${fixCommand(path, example)}\`.`;
    });
}

/**
 * Parses raw config strings: JSON for structured keys (how the CLI stores `--path` values),
 * plain strings otherwise.
 */
function parseRaw(key: string, raw: string | undefined, problems: string[]): unknown {
    if (raw === undefined) {
        return undefined;
    }
    const structured = !["domain", "image"].includes(key);
    if (!structured) {
        return raw;
    }
    try {
        return JSON.parse(raw);
    } catch {
        problems.push(`${PROJECT}:${key}: is not valid structured config (got ${show(raw)}). Fix: \`pulumi config rm ${key}\` (its defaults apply), then set its fields one by one with pulumi config set --path ${key}.<field> <value>.`);
        return undefined;
    }
}

/** Namespaces of other packages whose keys a stack may legitimately hold. */
const OTHER_NAMESPACES = new Set(["gcp", "google-native", "kubernetes", "random", "pulumi"]);

/**
 * A key the user meant for this project: its namespace is a near miss of the project name
 * (`django-platfrom:cache`), or names one of our keys under a namespace nobody reads.
 */
function misspeltNamespace(ns: string, name: string | undefined): boolean {
    if (name === undefined || ns === PROJECT || OTHER_NAMESPACES.has(ns)) {
        return false;
    }
    return distance(ns, PROJECT) <= 3 || name.split(".")[0] in configSchema.shape;
}

/** What the runner knows of how the stack file stores values. */
export interface SecretStorage {
    /** Whether the value at a key path such as `appSecrets.SENTRY_DSN` is stored encrypted (`secure:`). */
    encrypted(path: string): boolean;
}

/**
 * `appSecrets` entries stored in plain text: the stack file, which is committed, would hold the
 * secret. Each names its key and the `--secret` command; the value is never shown.
 */
export function plaintextSecretProblems(appSecrets: unknown, storage: SecretStorage): string[] {
    if (!isPlainObject(appSecrets)) {
        return [];
    }
    return Object.keys(appSecrets)
        .sort()
        .filter((name) => !storage.encrypted(`appSecrets.${name}`))
        .map((name) => `${PROJECT}:appSecrets.${name}: is stored in plain text, so the stack file you commit holds the secret (got a value that is not shown). Fix: \`pulumi config set --secret --path ${cliPath(["appSecrets", name])} <value>\` (the encrypted value replaces the plain one).`);
}

/**
 * `appEnv` entries that the policy pack would refuse in the env ConfigMap
 * (config-map-forbids-secret-values): a secret-looking name or a private key as value. Named here,
 * at the key, with the move to `appSecrets`; the value is never shown.
 */
function secretLookingEnvProblems(appEnv: Readonly<Record<string, string>>): string[] {
    return Object.entries(appEnv).flatMap(([name, value]) => {
        const why = secretLookingExtra(name, value);
        if (!why) {
            return [];
        }
        const because = why === "name" ? "its name matches the policy pack's secret-name pattern" : "its value is a private key";
        return [`${PROJECT}:appEnv.${name}: looks like a secret (${because}), but appEnv goes into the env ConfigMap in plain text, which the policy config-map-forbids-secret-values refuses (got a value that is not shown). Fix: \`pulumi config rm --path ${cliPath(["appEnv", name])}\`, then \`pulumi config set --secret --path ${cliPath(["appSecrets", name])} <value>\`.`];
    });
}

/**
 * Validates raw stack config and returns the typed, defaulted configuration. Pure: reads nothing
 * but its arguments, so tests call it directly. With `secrets` (how the stack file stores its
 * values), a plain-text `appSecrets` entry is a problem too.
 */
export function validateConfig(raw: RawConfig, stack: string, secrets?: SecretStorage): Omit<PlatformConfig, "appSecretOutputs"> {
    const problems: string[] = [];
    const input: Record<string, unknown> = {};
    for (const key of Object.keys(configSchema.shape)) {
        const value = parseRaw(key, raw[`${PROJECT}:${key}`], problems);
        if (value !== undefined) {
            input[key] = decodeJsonStrings(configSchema.shape[key as keyof typeof configSchema.shape], value);
        }
    }
    for (const key of Object.keys(raw)) {
        const [ns, name] = key.split(":");
        if (ns === PROJECT && !(name in configSchema.shape)) {
            let value: unknown = raw[key];
            try {
                value = JSON.parse(raw[key] ?? "");
            } catch {
                // a plain string
            }
            problems.push(unknownKeyProblem([name], typeof value === "object" && value !== null ? JSON.stringify(value) : raw[key], stack, ([target]) => raw[`${PROJECT}:${String(target)}`] !== undefined));
        } else if (misspeltNamespace(ns, name)) {
            problems.push(`${key}: "${ns}" is not this project's namespace, so the value would be ignored (got ${show(raw[key])}). Fix: \`pulumi config rm ${shellQuote(key)}\`, then set it as ${PROJECT}:${name}.`);
        }
    }
    const providers = providerSchema.safeParse({ "gcp:project": raw["gcp:project"], "gcp:region": raw["gcp:region"] });
    if (!providers.success) {
        for (const issue of providers.error.issues) {
            const key = String(issue.path[0]);
            const example = (providerSchema.shape[key as keyof typeof providerSchema.shape].meta() as { examples: string[] }).examples[0];
            const message = raw[key] === undefined ? "is required" : issue.message.replace(/^Invalid input: /, "");
            problems.push(`${key}: ${message} (got ${show(raw[key])}). Fix: \`pulumi config set ${key} ${example}\`.`);
        }
    }
    const parsed = configSchema.safeParse(input);
    if (!parsed.success) {
        problems.push(...issuesToProblems(parsed.error.issues, input, `${PROJECT}:`, stack));
    }
    if (secrets) {
        problems.push(...plaintextSecretProblems(input.appSecrets, secrets));
    }
    if (problems.length > 0 || !parsed.success || !providers.success) {
        throw new ConfigError(problems);
    }
    // A worker's grace period defaults to what a preemption gives on Spot (components/termination.ts).
    const workers = Object.fromEntries(Object.entries(parsed.data.workers).map(([name, w]) => [name, { ...w, terminationGracePeriodSeconds: w.terminationGracePeriodSeconds ?? defaultWorkerGraceSeconds(parsed.data.workload.spot) }]));
    const cfg = { ...parsed.data, workers, project: providers.data["gcp:project"], region: providers.data["gcp:region"], stack };
    const crossField = crossFieldProblems(cfg);
    if (crossField.length > 0) {
        throw new ConfigError(crossField);
    }
    return cfg;
}

/** Rules that span several keys. Pure; each message names the keys and the fix. */
export function crossFieldProblems(cfg: Omit<PlatformConfig, "appSecretOutputs">): string[] {
    const p: string[] = [];
    const k = (path: string) => `${PROJECT}:${path}`;
    const { workload, cache, statics, cluster, network, database } = cfg;
    if (workload.minReplicas > workload.maxReplicas) {
        p.push(`${k("workload.minReplicas")} (${workload.minReplicas}) must be less than or equal to ${k("workload.maxReplicas")} (${workload.maxReplicas}). Fix: \`pulumi config set --path workload.maxReplicas ${workload.minReplicas}\`.`);
    }
    // "Spot Pods … can be evicted by GKE whenever compute resources are required to run standard
    // Pods" (https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods).
    if (workload.spot && workload.minReplicas < 2) {
        p.push(`${k("workload.minReplicas")} is ${workload.minReplicas} with ${k("workload.spot")} true: GKE may evict a Spot Pod whenever it needs the capacity, and with one web pod the site is down until another is scheduled. Fix: \`pulumi config set --path workload.minReplicas 2\` (two Spot pods, spread over zones and nodes), or \`pulumi config set --path workload.spot false\`.`);
    }
    p.push(...workerProblems(cfg));
    // A Docker Hub tag can be moved to other bytes; a digest cannot ("Tags can be moved to point to
    // different images, but digests are fixed": https://kubernetes.io/docs/concepts/containers/images/).
    if (cache.mode === "in-cluster" && isProductionStack(cfg.stack) && !DIGEST_PINNED.test(cache.image)) {
        p.push(`${k("cache.image")} is pinned by tag only (got ${show(cache.image)}) in the production stack ${show(cfg.stack)}: whoever controls that tag on its registry decides what runs next to your data at the next Redis restart. Fix: \`pulumi config rm --path cache.image\` (the default: ${REDIS_IMAGE}), or pin your tag by its digest (\`docker buildx imagetools inspect ${cache.image}\` prints it): \`pulumi config set --path cache.image ${cache.image.split("@")[0]}@sha256:<digest>\`.`);
    }
    if (cfg.app.admin.enabled && cfg.app.admin.path === undefined) {
        p.push(`${k("app.admin.path")} is required when app.admin.enabled is true (got nothing): the admin needs a URL prefix, best one nobody can guess. Fix: \`pulumi config set --path app.admin.path "admin-$(openssl rand -hex 8)/"\`, or \`pulumi config set --path app.admin.enabled false\`.`);
    }
    if (cache.mode === "memorystore" && (cache.replicas < 1 || cache.replicas > 5)) {
        p.push(`${k("cache.replicas")} must be between 1 and 5 with cache.mode memorystore (got ${cache.replicas}). Fix: \`pulumi config set --path cache.replicas 1\`.`);
    }
    // The Memorystore instance always has read replicas, which need nodes of at least 5 GB
    // (https://cloud.google.com/memorystore/docs/redis/about-read-replicas); the API would reject it mid-deploy.
    if (cache.mode === "memorystore" && cache.memorySizeGb < 5) {
        p.push(`${k("cache.memorySizeGb")} must be at least 5 with cache.mode memorystore, whose read replicas need nodes of 5 GB or more (got ${cache.memorySizeGb}). Fix: \`pulumi config set --path cache.memorySizeGb 5\`.`);
    }
    if (statics.cdn.enabled && !statics.cdn.domain) {
        p.push(`${k("statics.cdn.domain")} is required when statics.cdn.enabled is true (got nothing). Fix: \`pulumi config set --path statics.cdn.domain static.${cfg.domain}\`.`);
    }
    if (statics.access === "private") {
        p.push(`${k("statics.access")} is "private", which is not supported yet: browsers fetch static files from the bucket${statics.cdn.enabled ? " through the Cloud CDN backend bucket" : " at storage.googleapis.com"}, which serves a private bucket only with signed URLs or Cloud CDN private bucket access, neither of which this program sets up. Fix: exempt this project from constraints/storage.publicAccessPrevention and constraints/iam.allowedPolicyMemberDomains (an organisation policy override on the project), then \`pulumi config set --path statics.access public\`.`);
    }
    if (cluster.mode === "existing" && !cluster.name) {
        p.push(`${k("cluster.name")} is required when cluster.mode is existing (got nothing). Fix: \`pulumi config set --path cluster.name <cluster-name>\`.`);
    }
    if (network.mode === "existing" && !network.privateServicesRangeName) {
        p.push(`${k("network.privateServicesRangeName")} is required when network.mode is existing (got nothing): the VPC's existing private services access range is reused, because a second servicenetworking connection on one VPC fails ("Cannot modify allocated ranges in CreateConnection"). Fix: \`pulumi config set --path network.privateServicesRangeName <range>\` (find it with \`gcloud compute addresses list --global --filter=purpose=VPC_PEERING\`).`);
    }
    if (network.mode === "existing" && (!network.name || !network.subnetName)) {
        p.push(`${k("network.name")} and ${k("network.subnetName")} are required when network.mode is existing (got ${show(network.name)} and ${show(network.subnetName)}). Fix: \`pulumi config set --path network.name <vpc>\` and \`pulumi config set --path network.subnetName <subnet>\`.`);
    }
    if (cfg.security.binaryAuthorization !== "off") {
        if (cluster.mode === "existing") {
            p.push(`${k("security.binaryAuthorization")} is "${cfg.security.binaryAuthorization}" with cluster.mode existing: the program does not change a cluster it did not create, and the project's policy would be written for a cluster that may not evaluate it. Fix: \`pulumi config set --path security.binaryAuthorization off\`, and set Binary Authorization on the cluster and its project yourself.`);
        }
        const images: [string, string][] = [["image", cfg.image], ...(cache.mode === "in-cluster" ? [["cache.image", cache.image] as [string, string]] : [])];
        for (const [path, image] of images.filter(([, image]) => !namesRegistry(image))) {
            p.push(`${k(path)} is ${image}, without its registry: Binary Authorization's allowlist names images as registry/path/to/image, so this one would be refused. Fix: \`pulumi config set --path ${path} docker.io/${image.includes("/") ? "" : "library/"}${image}\` (the same image, named in full).`);
        }
    }
    network.egressAllowList.forEach((range, i) => {
        const [address, bits] = ipaddr.IPv4.parseCIDR(range);
        const inside = NON_PUBLIC_RANGES.find((r) => {
            const [outer, outerBits] = ipaddr.IPv4.parseCIDR(r);
            return bits >= outerBits && address.match(outer, outerBits);
        });
        if (inside) {
            p.push(`${k("network.egressAllowList")}: ${range} lies inside the non-public range ${inside}, which the allow list never opens (it is for internet hosts; the database and the cache have their own rules). Fix: \`pulumi config rm --path ${cliPath(["network", "egressAllowList", i])}\`, or give the host's public range.`);
        }
    });
    cluster.masterAuthorizedNetworks.forEach((net, i) => {
        const entry = (field?: string) => cliPath(["cluster", "masterAuthorizedNetworks", i, ...(field ? [field] : [])]);
        if (net.cidr.endsWith("/0")) {
            p.push(`${k("cluster.masterAuthorizedNetworks")}: ${net.name} (${net.cidr}) opens the control plane to the internet. Fix: your office's range (\`pulumi config set --path ${entry("cidr")} <office CIDR>\`), or remove the entry (\`pulumi config rm --path ${entry()}\`): without authorized networks the IP endpoint is off and the DNS-based endpoint, checked by IAM, is the way in.`);
        } else if (isDocumentationRange(net.cidr)) {
            p.push(`${k("cluster.masterAuthorizedNetworks")}: ${net.name} (${net.cidr}) is a documentation range (RFC 5737), which no real network uses. Fix: your office's range (\`pulumi config set --path ${entry("cidr")} <office CIDR>\`), or remove the entry (\`pulumi config rm --path ${entry()}\`): without authorized networks the IP endpoint is off and the DNS-based endpoint, checked by IAM, is the way in.`);
        }
    });
    p.push(...edgeDnsMonitoringProblems(cfg));
    p.push(...gcpLimitProblems(cfg));
    p.push(...extrasCollisions(cfg.appEnv, cfg.appSecrets));
    p.push(...secretLookingEnvProblems(cfg.appEnv));
    const available = database.maxConnections ?? maxConnectionsForTier(database.tier);
    if (available === undefined) {
        p.push(`${k("database.maxConnections")} is required for tier ${database.tier}, whose default max_connections is not known here. Fix: \`pulumi config set --path database.maxConnections 200\`.`);
    } else {
        // Counts the pods of a rollout at maxReplicas: surge pods and old pods still draining
        // (components/connectionBudget.ts). The suggested maxReplicas is searched, so it fits.
        const sizing = connectionSizing(cfg);
        const budget = requiredConnections(sizing);
        if (!budget.fits(available)) {
            const { pods } = budget;
            const source = database.maxConnections === undefined ? database.tier : k("database.maxConnections");
            const fitting = budget.largestFittingMaxReplicas(available);
            const fitted = requiredConnections({ ...sizing, maxReplicas: fitting });
            // A Spot web tier keeps two replicas at least (the rule above): never suggest fewer.
            const replicasFix = fitting < (workload.spot ? 2 : 1)
                ? []
                : [`\`pulumi config set --path workload.maxReplicas ${fitting}\`${fitting < workload.minReplicas ? ` with \`pulumi config set --path workload.minReplicas ${fitting}\`` : ""} (${podsText(fitted.pods)} = ${fitted.pods.total} pods × ${budget.perPod} + ${budget.jobs}${extrasText(budget)} = ${fitted.total})`];
            const tier = budget.smallestFittingTier(available);
            const capacityFix = database.maxConnections === undefined && tier !== undefined
                ? `a bigger tier (\`pulumi config set --path database.tier ${tier}\`)`
                : `more connections (\`pulumi config set --path database.maxConnections ${budget.total + budget.reserved}\`)`;
            p.push(
                `connection budget exceeded: a rollout at ${k("workload.maxReplicas")} (${workload.maxReplicas}) runs ${pods.total} pods that hold connections (${pods.replicas} + ${pods.surge} surge at maxSurge ${budget.maxSurge} + ${pods.rolloutDraining} still draining + ${pods.disruptionDraining} stopped by one more disruption: an autoscaler step, a second rollout or a lost node) × gunicornWorkers (${workload.gunicornWorkers}) × gunicornThreads (${workload.gunicornThreads}) + ${budget.jobs} Job connections${budget.workers > 0 ? ` + ${budget.workers} worker connections (workers.*: rollouts at maxReplicas × dbConnections)` : ""}${budget.schedules > 0 ? ` + ${budget.schedules} CronJob connections (schedules.*)` : ""} = ${budget.total}, but ${source} allows ${available} max_connections (${budget.usable(available)} after ${budget.reserved} reserved for superusers). ` +
                    `Fix: ${[...replicasFix, "fewer gunicornWorkers/gunicornThreads", ...(budget.workers > 0 ? ["fewer workers.*.maxReplicas or dbConnections"] : []), capacityFix].join(", or ")}.`,
            );
        }
    }
    return p;
}

/**
 * The IPv4 ranges RFC 5737 reserves for documentation (https://www.rfc-editor.org/rfc/rfc5737):
 * an authorized network inside one is a placeholder nobody replaced.
 */
const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"].map((c) => ipaddr.IPv4.parseCIDR(c));

/** Whether `cidr` lies entirely inside a documentation range. */
function isDocumentationRange(cidr: string): boolean {
    const [address, bits] = ipaddr.IPv4.parseCIDR(cidr);
    return DOCUMENTATION_RANGES.some(([base, baseBits]) => bits >= baseBits && address.match(base, baseBits));
}

/** Rules of the edge, dns and monitoring keys (components/edge.ts, dns.ts, monitoring.ts). */
function edgeDnsMonitoringProblems(cfg: Omit<PlatformConfig, "appSecretOutputs">): string[] {
    const p: string[] = [];
    const k = (path: string) => `${PROJECT}:${path}`;
    const { armor } = cfg.edge;
    if (!armor.enabled && (armor.denyCountries.length > 0 || armor.denyCidrs.length > 0)) {
        p.push(`${k("edge.armor.denyCountries")}/${k("edge.armor.denyCidrs")} are set (got ${show([...armor.denyCountries, ...armor.denyCidrs])}) but ${k("edge.armor.enabled")} is false, so nothing would enforce them. Fix: \`pulumi config set --path edge.armor.enabled true\`, or remove the lists with \`pulumi config rm --path edge.armor.denyCidrs\`.`);
    }
    if (cfg.dns.project !== undefined && cfg.dns.managedZone === undefined) {
        p.push(`${k("dns.project")} is set (got ${show(cfg.dns.project)}) but ${k("dns.managedZone")} is not, so no record would be created. Fix: \`pulumi config set --path dns.managedZone <zone-name>\`, or \`pulumi config rm --path dns.project\`.`);
    }
    if (cfg.dns.replaceExisting && cfg.dns.managedZone === undefined) {
        p.push(`${k("dns.replaceExisting")} is true but ${k("dns.managedZone")} is not set, so the stack creates no record that could replace another. Fix: \`pulumi config set --path dns.managedZone <zone-name>\` (docs/dns-cutover.md), or \`pulumi config rm --path dns.replaceExisting\`.`);
    }
    return p;
}

/** What the connection budget counts: the web tier, the workers and the CronJobs of a config. */
export function connectionSizing(cfg: Omit<PlatformConfig, "appSecretOutputs">): WebSizing {
    return {
        ...cfg.workload,
        workers: Object.values(cfg.workers).map((w) => ({ maxReplicas: w.maxReplicas, dbConnections: w.dbConnections, terminationGracePeriodSeconds: w.terminationGracePeriodSeconds })),
        schedules: Object.values(cfg.schedules).map((s) => ({ concurrencyPolicy: s.concurrencyPolicy })),
    };
}

/** `R + S + D + E` of a budget message: replicas, surge, draining from the rollout, draining from one more disruption. */
function podsText(pods: { replicas: number; surge: number; rolloutDraining: number; disruptionDraining: number }): string {
    return `${pods.replicas} + ${pods.surge} surge + ${pods.rolloutDraining} + ${pods.disruptionDraining} draining`;
}

/** ` + W + S` for the worker and CronJob connections of a budget message, when there are any. */
function extrasText(budget: { workers: number; schedules: number }): string {
    return `${budget.workers > 0 ? ` + ${budget.workers}` : ""}${budget.schedules > 0 ? ` + ${budget.schedules}` : ""}`;
}

/** Worker rules spanning keys: HPA bounds and Autopilot's CPU/memory ratio, per worker. */
function workerProblems(cfg: Omit<PlatformConfig, "appSecretOutputs">): string[] {
    const p: string[] = [];
    for (const [name, w] of Object.entries(cfg.workers)) {
        const path = (field: string) => `${PROJECT}:workers.${name}.${field}`;
        if (w.minReplicas > w.maxReplicas) {
            p.push(`${path("minReplicas")} (${w.minReplicas}) must be less than or equal to ${path("maxReplicas")} (${w.maxReplicas}). Fix: \`pulumi config set --path workers.${name}.maxReplicas ${w.minReplicas}\`.`);
        }
        const ratio = autopilotRatioViolation(w.cpu, w.memory);
        if (ratio) {
            p.push(`${path("memory")} (${w.memory}) does not fit ${path("cpu")} (${w.cpu}): GKE Autopilot needs 1 to 6.5 GiB of memory per vCPU and would change the requests. Fix: \`pulumi config set --path workers.${name}.memory ${ratio.minMi}Mi\` (any value from ${ratio.minMi}Mi to ${ratio.maxMi}Mi), or change workers.${name}.cpu.`);
        }
        // A preempted Spot node gives its pods SPOT_PREEMPTION_GRACE_SECONDS whatever they ask for
        // (components/spot.ts): a longer grace period would hold only on rollouts, a promise the
        // worker could not rely on.
        if (cfg.workload.spot && w.terminationGracePeriodSeconds > SPOT_PREEMPTION_GRACE_SECONDS) {
            p.push(`${path("terminationGracePeriodSeconds")} is ${w.terminationGracePeriodSeconds} with ${PROJECT}:workload.spot true: a preempted Spot node gives its pods ${SPOT_PREEMPTION_GRACE_SECONDS} s whatever they ask for (Google's Spot VM pages; docs/gcp-facts.md), so the worker would get ${w.terminationGracePeriodSeconds} s on a rollout and ${SPOT_PREEMPTION_GRACE_SECONDS} s when its node is preempted. Fix: \`pulumi config set --path workers.${name}.terminationGracePeriodSeconds ${SPOT_PREEMPTION_GRACE_SECONDS}\` (a task still running ${SPOT_PREEMPTION_GRACE_SECONDS} s after SIGTERM is then stopped and must be safe to run again), or \`pulumi config set --path workload.spot false\` for tasks that need longer.`);
        }
    }
    return p;
}

/** Values GCP would reject or silently change (see components/gcpLimits.ts for the sources). */
function gcpLimitProblems(cfg: Omit<PlatformConfig, "appSecretOutputs">): string[] {
    const p: string[] = [];
    const k = (path: string) => `${PROJECT}:${path}`;
    const { database, workload, cluster, network } = cfg;
    if (!editionAcceptsTier(database.edition, database.tier)) {
        const fix = database.edition === "ENTERPRISE_PLUS"
            ? "`pulumi config set --path database.tier db-perf-optimized-N-2`, or `pulumi config set --path database.edition ENTERPRISE`"
            : "`pulumi config set --path database.edition ENTERPRISE_PLUS`, or a custom tier such as `pulumi config set --path database.tier db-custom-2-7680`";
        p.push(`${k("database.tier")} ${database.tier} is not available in the Cloud SQL edition ${database.edition} (got ${show(database.tier)} with database.edition ${show(database.edition)}); ENTERPRISE takes db-custom-* and shared-core tiers, ENTERPRISE_PLUS only db-perf-optimized-N-*. Fix: ${fix}.`);
    }
    const tierShape = customTierProblem(database.tier);
    if (tierShape) {
        p.push(`${k("database.tier")}: Cloud SQL rejects the custom tier ${database.tier} (${tierShape}). Fix: \`pulumi config set --path database.tier db-custom-2-7680\`.`);
    }
    const ratio = autopilotRatioViolation(workload.cpu, workload.memory);
    if (ratio) {
        p.push(`${k("workload.memory")} (${workload.memory}) does not fit ${k("workload.cpu")} (${workload.cpu}): GKE Autopilot needs 1 to 6.5 GiB of memory per vCPU and would change the requests. Fix: \`pulumi config set --path workload.memory ${ratio.minMi}Mi\` (any value from ${ratio.minMi}Mi to ${ratio.maxMi}Mi), or change workload.cpu.`);
    }
    if (network.mode === "create") {
        const ranges = {
            "network.subnetCidr": network.subnetCidr,
            "network.podsCidr": network.podsCidr,
            "network.servicesCidr": network.servicesCidr,
            "network.privateServicesCidr": network.privateServicesCidr,
            ...(cluster.mode === "autopilot" ? { "cluster.masterCidr": cluster.masterCidr } : {}),
        };
        for (const [a, b] of overlappingRanges(ranges)) {
            p.push(`${k(a)} (${ranges[a as keyof typeof ranges]}) overlaps ${k(b)} (${ranges[b as keyof typeof ranges]}): GCP needs distinct ranges in one VPC. Fix: \`pulumi config set --path ${b} <a free range>\`.`);
        }
        const prefix = Number(network.privateServicesCidr.split("/")[1]);
        if (prefix > 24) {
            p.push(`${k("network.privateServicesCidr")} (${network.privateServicesCidr}) is smaller than /24, the smallest range private services access allocates (https://cloud.google.com/vpc/docs/configure-private-services-access#allocating-range). Fix: \`pulumi config set --path network.privateServicesCidr 10.99.0.0/20\`.`);
        }
    }
    if (cluster.mode === "existing" && network.mode === "create") {
        p.push(`${k("cluster.mode")} existing needs ${k("network.mode")} existing (got network.mode ${show(network.mode)}): Cloud SQL's private IP would live in a new VPC that the existing cluster cannot reach. Fix: \`pulumi config set --path network.mode existing\` with \`network.name\` and \`network.subnetName\` of the cluster's VPC.`);
    }
    return p;
}

/**
 * How the stack file stores `appSecrets`, as the Pulumi runtime tells it. The CLI marks a whole
 * top-level key secret when any value inside it is encrypted (`PULUMI_CONFIG_SECRET_KEYS`, read by
 * the SDK's `isConfigSecret`, internal to @pulumi/pulumi but the one reader of that list), so a
 * deploy can tell only "no entry is encrypted"; a runner that read the stack file itself (synth,
 * cli/lib/stackConfig.ts) also marks each encrypted value's path (`django-platform:appSecrets.X`),
 * and then every other entry is known to be plain text.
 */
function runtimeSecretStorage(all: Record<string, string>, project: string): SecretStorage {
    const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
    if (typeof isConfigSecret !== "function") {
        throw new Error("@pulumi/pulumi no longer has runtime.isConfigSecret: config.ts cannot tell plain appSecrets from encrypted ones");
    }
    // A key read under the consumer project's namespace is marked secret under that namespace.
    const isSecret = (key: string): boolean => isConfigSecret(key) || (project !== PROJECT && key.startsWith(`${PROJECT}:`) && isConfigSecret(`${project}:${key.slice(PROJECT.length + 1)}`));
    const top = `${PROJECT}:appSecrets`;
    const names = Object.keys(((): Record<string, unknown> => {
        try {
            const value: unknown = JSON.parse(all[top] ?? "{}");
            return isPlainObject(value) ? value : {};
        } catch {
            return {};
        }
    })());
    const perValue = names.some((name) => isSecret(`${top}.${name}`));
    return { encrypted: (path) => (perValue ? isSecret(`${PROJECT}:${path}`) : isSecret(top)) };
}

/**
 * The stack's config with the platform's keys under `django-platform:`. A consumer project (any
 * `name:` in its Pulumi.yaml, e.g. `shop`) keeps them in its own namespace, where
 * `pulumi config set --path workload.spot false` writes them (`shop:workload`): those read as
 * `django-platform:workload`. A key set in both namespaces keeps its project name, so validation
 * reports it as set in the wrong namespace instead of one silently winning.
 */
export function platformNamespace(config: Record<string, string>, project: string): Record<string, string> {
    if (project === PROJECT) {
        return { ...config };
    }
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        const mapped = key.startsWith(`${project}:`) ? `${PROJECT}:${key.slice(project.length + 1)}` : key;
        out[mapped !== key && mapped in config ? key : mapped] = value;
    }
    return out;
}

/** Reads the current stack's config through the Pulumi runtime and validates it. */
export function loadConfig(): PlatformConfig {
    const project = pulumi.getProject();
    const all = platformNamespace(pulumi.runtime.allConfig(), project);
    const raw: RawConfig = {};
    for (const key of Object.keys(configSchema.shape)) {
        raw[`${PROJECT}:${key}`] = all[`${PROJECT}:${key}`];
    }
    for (const key of Object.keys(providerSchema.shape)) {
        raw[key] = all[key];
    }
    // Unknown keys of this project, and our keys under a misspelt namespace, are errors too
    // (typos must not be silently ignored).
    for (const key of Object.keys(all)) {
        if (!(key in raw)) {
            raw[key] = all[key];
        }
    }
    const cfg = validateConfig(raw, pulumi.getStack(), runtimeSecretStorage(all, project));
    const appSecretOutputs: Record<string, pulumi.Output<string>> = {};
    for (const [name, value] of Object.entries(cfg.appSecrets)) {
        appSecretOutputs[name] = pulumi.secret(value);
    }
    return { ...cfg, appSecrets: {}, appSecretOutputs };
}
