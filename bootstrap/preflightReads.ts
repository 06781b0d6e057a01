/**
 * Every request `npm run preflight` sends to Google, and the permission each needs, as data: the
 * checks name these permissions when Google refuses them, the bootstrap grants them to the CI
 * deployer (the identity `deploy.yml` runs preflight as), and tests/preflight-reads.test.ts sends
 * each check through a fake Google that enforces the permission of every endpoint, with exactly
 * these grants and with each one taken away.
 *
 * Method → permission: Google's REST reference pages ("IAM Permissions"), as crawled into
 * iann0036/iam-dataset `gcp/map.json` at commit 2073fa52ac00 (the snapshot bootstrap/permissionTable.ts
 * cites), and the predefined roles of the same snapshot (`gcp/roles/*.json`).
 *
 * Pure data and functions: no Pulumi, so the bootstrap, preflight and the tests can all load it.
 */

/** Where a permission must be granted for the request to pass. */
export type ReadScope =
    /** The stack's project: the bootstrap's custom preflight role there ({@link PREFLIGHT_ROLE_PERMISSIONS}). */
    | "stack project"
    /** The project of `dns.managedZone` (`dns.project`, default the stack's project). */
    | "dns project"
    /** The state bucket (`--backend` / `PULUMI_BACKEND_URL`). */
    | "state bucket"
    /** The stack's `gcpkms://` secrets key. */
    | "secrets key"
    /** The Artifact Registry repository of `django-platform:image`. */
    | "image repository"
    /** The service account of `--principal` (not used by CI). */
    | "principal"
    /** Nothing: the method needs no permission (it answers for the caller). */
    | "none";

/** One kind of request preflight sends. */
export interface PreflightRead {
    /** The check that sends it (`credentials`: token lookup and `--principal`, before any check). */
    readonly check: "apis" | "permissions" | "accounts" | "org-policies" | "quotas" | "dns" | "kms" | "state" | "image" | "credentials";
    /** The REST method, as Google's discovery documents name it. */
    readonly method: string;
    /** HTTP verb, host and path pattern of the request (path without query). */
    readonly http: "GET" | "POST";
    readonly host: string;
    readonly path: RegExp;
    /** The permission Google checks; null when the method needs none. */
    readonly permission: string | null;
    readonly scope: ReadScope;
    /** Who grants it to the CI deployer (bootstrap component or role). */
    readonly grantedBy: string;
    readonly source: string;
}

const DATASET = "iann0036/iam-dataset@2073fa52ac00 gcp/map.json";

/** The requests, grouped by check. */
export const PREFLIGHT_READS: readonly PreflightRead[] = [
    {
        check: "apis",
        method: "serviceusage.services.batchGet",
        http: "GET",
        host: "serviceusage.googleapis.com",
        path: /^\/v1\/projects\/[^/]+\/services:batchGet$/,
        permission: "serviceusage.services.get",
        scope: "stack project",
        grantedBy: "the preflight role (bootstrap/stackProject.ts)",
        source: `https://cloud.google.com/service-usage/docs/reference/rest/v1/services/batchGet ; ${DATASET}: serviceusage.services.batchGet → serviceusage.services.get (in roles/serviceusage.serviceUsageViewer)`,
    },
    {
        check: "permissions",
        method: "cloudresourcemanager.projects.testIamPermissions",
        http: "POST",
        host: "cloudresourcemanager.googleapis.com",
        path: /^\/v1\/projects\/[^/:]+:testIamPermissions$/,
        permission: null,
        scope: "none",
        grantedBy: "nobody: it answers for the caller",
        source: `https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions ; ${DATASET}: no permission`,
    },
    {
        check: "org-policies",
        method: "orgpolicy.projects.policies.getEffectivePolicy",
        http: "GET",
        host: "orgpolicy.googleapis.com",
        path: /^\/v2\/projects\/[^/]+\/policies\/[^/:]+:getEffectivePolicy$/,
        permission: "orgpolicy.policy.get",
        scope: "stack project",
        grantedBy: "the preflight role (bootstrap/stackProject.ts)",
        source:
            "https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/projects.policies/getEffectivePolicy ; " +
            `iann0036/iam-dataset@2073fa52ac00 gcp/roles/orgpolicy.policyViewer.json holds orgpolicy.policy.get (the crawl's map.json names "orgpolicy.policies.get", which no predefined role holds, so custom roles cannot either)`,
    },
    {
        check: "quotas",
        method: "compute.regions.get",
        http: "GET",
        host: "compute.googleapis.com",
        path: /^\/compute\/v1\/projects\/[^/]+\/regions\/[^/]+$/,
        permission: "compute.regions.get",
        scope: "stack project",
        grantedBy: "the preflight role (bootstrap/stackProject.ts)",
        source: `https://cloud.google.com/compute/docs/reference/rest/v1/regions/get ; ${DATASET}`,
    },
    {
        check: "quotas",
        method: "compute.projects.get",
        http: "GET",
        host: "compute.googleapis.com",
        path: /^\/compute\/v1\/projects\/[^/]+$/,
        permission: "compute.projects.get",
        scope: "stack project",
        grantedBy: "the preflight role (bootstrap/stackProject.ts)",
        source: `https://cloud.google.com/compute/docs/reference/rest/v1/projects/get ; ${DATASET}`,
    },
    {
        check: "dns",
        method: "dns.managedZones.get",
        http: "GET",
        host: "dns.googleapis.com",
        path: /^\/dns\/v1\/projects\/[^/]+\/managedZones\/[^/]+$/,
        permission: "dns.managedZones.get",
        scope: "dns project",
        grantedBy: "the preflight role (bootstrap/stackProject.ts) when the zone is in the stack's project; with dns.project, roles/dns.reader there",
        source: `https://cloud.google.com/dns/docs/reference/rest/v1/managedZones/get ; ${DATASET}`,
    },
    {
        check: "dns",
        method: "dns.resourceRecordSets.list",
        http: "GET",
        host: "dns.googleapis.com",
        path: /^\/dns\/v1\/projects\/[^/]+\/managedZones\/[^/]+\/rrsets$/,
        permission: "dns.resourceRecordSets.list",
        scope: "dns project",
        grantedBy: "the preflight role (bootstrap/stackProject.ts) when the zone is in the stack's project; with dns.project, roles/dns.reader there",
        source: `https://cloud.google.com/dns/docs/reference/rest/v1/resourceRecordSets/list ; ${DATASET}`,
    },
    {
        check: "dns",
        method: "compute.globalAddresses.list",
        http: "GET",
        host: "compute.googleapis.com",
        path: /^\/compute\/v1\/projects\/[^/]+\/global\/addresses$/,
        permission: "compute.globalAddresses.list",
        scope: "stack project",
        grantedBy: "the preflight role (bootstrap/stackProject.ts)",
        source: `https://cloud.google.com/compute/docs/reference/rest/v1/globalAddresses/list ; ${DATASET}`,
    },
    {
        check: "kms",
        method: "cloudkms.projects.locations.keyRings.cryptoKeys.encrypt",
        http: "POST",
        host: "cloudkms.googleapis.com",
        path: /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/:]+:encrypt$/,
        permission: "cloudkms.cryptoKeyVersions.useToEncrypt",
        scope: "secrets key",
        grantedBy: "roles/cloudkms.cryptoKeyEncrypterDecrypter on the stack's own key (bootstrap/secretsKeys.ts grantStack)",
        source: `https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys/encrypt ; ${DATASET}`,
    },
    {
        check: "kms",
        method: "cloudkms.projects.locations.keyRings.cryptoKeys.testIamPermissions",
        http: "POST",
        host: "cloudkms.googleapis.com",
        path: /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/:]+:testIamPermissions$/,
        permission: null,
        scope: "none",
        grantedBy: "nobody: it answers for the caller",
        source: `https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys/testIamPermissions ; ${DATASET}: no permission`,
    },
    {
        check: "accounts",
        method: "iam.projects.serviceAccounts.get",
        http: "GET",
        host: "iam.googleapis.com",
        path: /^\/v1\/projects\/[^/]+\/serviceAccounts\/[^/:]+$/,
        permission: "iam.serviceAccounts.get",
        scope: "stack project",
        grantedBy: "the stack deploy role and the preflight role (bootstrap/stackProject.ts)",
        source: `https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/get ; ${DATASET}: iam.projects.serviceAccounts.get → iam.serviceAccounts.get`,
    },
    {
        check: "accounts",
        method: "iam.projects.serviceAccounts.testIamPermissions",
        http: "POST",
        host: "iam.googleapis.com",
        path: /^\/v1\/projects\/[^/]+\/serviceAccounts\/[^/:]+:testIamPermissions$/,
        permission: null,
        scope: "none",
        grantedBy: "nobody: it answers for the caller",
        source: "https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/testIamPermissions (\"Tests whether the caller has the specified permissions on a ServiceAccount\"; not in the dataset's crawl)",
    },
    {
        check: "state",
        method: "storage.buckets.get",
        http: "GET",
        host: "storage.googleapis.com",
        path: /^\/storage\/v1\/b\/[^/]+$/,
        permission: "storage.buckets.get",
        scope: "state bucket",
        grantedBy: "roles/storage.legacyBucketReader on the state bucket (bootstrap/stateBackend.ts grantBucketRead)",
        source:
            "https://cloud.google.com/storage/docs/json_api/v1/buckets/get (default projection noAcl: storage.buckets.get; storage.buckets.getIamPolicy only for projection=full, which preflight does not ask) ; " +
            `${DATASET}; iann0036/iam-dataset@2073fa52ac00 gcp/roles/storage.legacyBucketReader.json`,
    },
    {
        check: "state",
        method: "storage.objects.get",
        http: "GET",
        host: "storage.googleapis.com",
        path: /^\/storage\/v1\/b\/[^/]+\/o\/[^/]+$/,
        permission: "storage.objects.get",
        scope: "state bucket",
        grantedBy: "roles/storage.objectUser on the stack's own state objects, by a condition on their names (bootstrap/stateBackend.ts grantState)",
        source: `https://cloud.google.com/storage/docs/json_api/v1/objects/get ; ${DATASET}: storage.objects.get`,
    },
    {
        check: "state",
        method: "storage.buckets.testIamPermissions",
        http: "GET",
        host: "storage.googleapis.com",
        path: /^\/storage\/v1\/b\/[^/]+\/iam\/testPermissions$/,
        permission: null,
        scope: "none",
        grantedBy: "nobody: it answers for the caller",
        source: `https://cloud.google.com/storage/docs/json_api/v1/buckets/testIamPermissions ; ${DATASET}: no permission`,
    },
    {
        check: "image",
        method: "artifactregistry.projects.locations.repositories.packages.tags.get",
        http: "GET",
        host: "artifactregistry.googleapis.com",
        path: /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/]+\/packages\/[^/]+\/tags\/[^/]+$/,
        permission: "artifactregistry.tags.get",
        scope: "image repository",
        grantedBy: "roles/artifactregistry.reader on the repository (bootstrap/imageRegistry.ts grantPull)",
        source: `https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.packages.tags/get ; ${DATASET}`,
    },
    {
        check: "image",
        method: "artifactregistry.projects.locations.repositories.packages.versions.get",
        http: "GET",
        host: "artifactregistry.googleapis.com",
        path: /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/]+\/packages\/[^/]+\/versions\/[^/]+$/,
        permission: "artifactregistry.versions.get",
        scope: "image repository",
        grantedBy: "roles/artifactregistry.reader on the repository (bootstrap/imageRegistry.ts grantPull)",
        source: `https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.packages.versions/get ; ${DATASET}`,
    },
    {
        check: "image",
        method: "artifactregistry.projects.locations.repositories.get",
        http: "GET",
        host: "artifactregistry.googleapis.com",
        path: /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/]+$/,
        permission: "artifactregistry.repositories.get",
        scope: "image repository",
        grantedBy: "roles/artifactregistry.reader on the repository (bootstrap/imageRegistry.ts grantPull)",
        source: `https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories/get ; ${DATASET}`,
    },
    {
        check: "credentials",
        method: "oauth2.tokeninfo",
        http: "GET",
        host: "oauth2.googleapis.com",
        path: /^\/tokeninfo$/,
        permission: null,
        scope: "none",
        grantedBy: "nobody: any valid token may ask who it belongs to",
        source: "https://cloud.google.com/docs/authentication/token-types (Access tokens)",
    },
    {
        check: "credentials",
        method: "iamcredentials.projects.serviceAccounts.generateAccessToken",
        http: "POST",
        host: "iamcredentials.googleapis.com",
        path: /^\/v1\/projects\/-\/serviceAccounts\/[^/:]+:generateAccessToken$/,
        permission: "iam.serviceAccounts.getAccessToken",
        scope: "principal",
        grantedBy: "roles/iam.serviceAccountTokenCreator on the --principal account (a person's, by hand; CI never passes --principal)",
        source: `https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken ; ${DATASET}`,
    },
];

/** The row of a REST method. @throws when preflight has no such row (a check and this table disagree). */
export function preflightRead(method: string): PreflightRead {
    const row = PREFLIGHT_READS.find((r) => r.method === method);
    if (!row) {
        throw new Error(`bootstrap/preflightReads.ts has no row for ${method}`);
    }
    return row;
}

/** The permission a REST method needs (see {@link preflightRead}). */
export function permissionOf(method: string): string {
    const p = preflightRead(method).permission;
    if (p === null) {
        throw new Error(`${method} needs no permission`);
    }
    return p;
}

/** The row a request matches, if any. */
export function readFor(http: string, host: string, path: string): PreflightRead | undefined {
    return PREFLIGHT_READS.find((r) => r.http === http && r.host === host && r.path.test(path));
}

/**
 * The custom role the bootstrap binds to the deployer in each stack project so the CI preflight
 * can read what its checks ask: the permissions of the requests scoped to the stack's project (and
 * to the DNS zone's project, which is the stack's unless `dns.project` says otherwise). Sorted,
 * de-duplicated; read-only by construction (every row is a get or list).
 */
export const PREFLIGHT_ROLE_PERMISSIONS: readonly string[] = [
    ...new Set(PREFLIGHT_READS.filter((r) => (r.scope === "stack project" || r.scope === "dns project") && r.permission !== null).map((r) => r.permission as string)),
].sort();

/** Google APIs the preflight's requests need enabled (in the project they read, or the caller's quota project). */
export const PREFLIGHT_SERVICES: readonly string[] = [...new Set(PREFLIGHT_READS.map((r) => r.host).filter((h) => h.endsWith(".googleapis.com") && h !== "oauth2.googleapis.com"))].sort();
