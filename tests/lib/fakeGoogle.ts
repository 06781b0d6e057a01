/**
 * A fake of the Google REST APIs preflight calls, on 127.0.0.1 (a random free port), for
 * `DJANGO_PLATFORM_GOOGLE_API_BASE`: a request for `https://<host>/<path>` arrives as
 * `/<host>/<path>`. Each test describes a {@link FakeWorld}; the fake answers from it with the
 * response shapes of Google's REST references (cited per endpoint below), and records every request
 * so tests can assert what was (not) called.
 *
 * Errors use Google's error format (https://cloud.google.com/apis/design/errors):
 * `{"error": {"code", "message", "status", "details"}}`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A quota as Compute reports it. */
export interface FakeQuota {
    readonly metric: string;
    readonly limit: number;
    readonly usage: number;
}

/** One rule of an Org Policy v2 spec. */
export interface FakePolicyRule {
    readonly values?: { readonly allowedValues?: string[]; readonly deniedValues?: string[] };
    readonly allowAll?: boolean;
    readonly denyAll?: boolean;
    readonly enforce?: boolean;
    readonly condition?: { readonly expression: string };
}

/** What the fake Google knows. Identities are emails; a token maps to one. */
export interface FakeWorld {
    /** Valid access tokens → the email they belong to. Any other token is refused (401; tokeninfo 400). */
    tokens: Record<string, string>;
    /** Project id → its number (Service Usage and Org Policy answer with numbers). */
    projects: Record<string, string>;
    /** Project id → services that are disabled there (every other service is enabled). */
    disabledServices: Record<string, string[]>;
    /** Email → project permissions it lacks (testIamPermissions grants everything else on known projects). */
    missingPermissions: Record<string, string[]>;
    /** `<project>/<constraint>` → effective policy rules (unset: no rules). */
    orgPolicies: Record<string, FakePolicyRule[]>;
    /** `<project>/<region>` → regional quotas. */
    regionQuotas: Record<string, FakeQuota[]>;
    /** Project → project-wide quotas. */
    projectQuotas: Record<string, FakeQuota[]>;
    /** Crypto key name → emails allowed to encrypt / decrypt. */
    kmsKeys: Record<string, { encrypters: string[]; decrypters: string[] }>;
    /**
     * Bucket → versioning and the object permissions each email has. `objectPrefixes`: for an
     * email whose object permissions are granted under a condition on object names (the
     * bootstrap's per-stack grants), those prefixes: its object permissions apply to objects under
     * them only, and the bucket's testIamPermissions, which answers for the bucket, leaves them out
     * (`storage.objects.list`, checked on the bucket, stays).
     */
    buckets: Record<string, { versioning: boolean; permissions: Record<string, string[]>; objectPrefixes?: Record<string, string[]> }>;
    /** Artifact Registry repository names (`projects/…/locations/…/repositories/…`). */
    repositories: string[];
    /** Existing images: `<repository name>/packages/<image>` → tags and digests. */
    images: Record<string, { tags: string[]; digests: string[] }>;
    /** Service account email → emails that may impersonate it, and the token it hands out. */
    serviceAccounts: Record<string, { tokenCreators: string[]; token: string }>;
    /**
     * Service accounts of the stacks' projects (the IAM step's): email → its project and the
     * permissions each caller email holds on it (testIamPermissions answers from these). Unset: 404.
     */
    iamAccounts: Record<string, { project: string; holders: Record<string, string[]> }>;
    /**
     * Email → the permissions it holds, when the fake should enforce them: every read endpoint below
     * then answers 403 `IAM_PERMISSION_DENIED` (naming the permission in `ErrorInfo.metadata`, as
     * Google does) unless the caller holds the permission that endpoint's REST reference names.
     * Unset for an email: that email may read everything (the older scenarios).
     */
    grants: Record<string, string[]>;
    /** `<project>/<managed zone name>` → the zone's record sets (unset: no such zone, 404). */
    dnsZones: Record<string, FakeRecordSet[]>;
    /**
     * `<project>/<managed zone name>` → the zone's DNS name and visibility, as managedZones.get
     * answers them. Unset for a zone of {@link dnsZones}: its name with dots (`example-com` →
     * `example.com.`), public.
     */
    dnsZoneInfo: Record<string, { dnsName: string; visibility?: "public" | "private" }>;
    /** Project → addresses of its reserved global addresses. */
    globalAddresses: Record<string, string[]>;
    /** Permissions IAM does not know: testIamPermissions answers 400 for a request naming one. */
    unknownPermissions: string[];
}

/** A Cloud DNS ResourceRecordSet (https://cloud.google.com/dns/docs/reference/rest/v1/resourceRecordSets). */
export interface FakeRecordSet {
    readonly name: string;
    readonly type: string;
    readonly ttl: number;
    readonly rrdatas: string[];
}

/** One request the fake received. */
export interface FakeRequest {
    readonly method: string;
    readonly host: string;
    /** Path after the host, still URL-encoded, e.g. `/v1/projects/p:testIamPermissions`. */
    readonly path: string;
    readonly query: URLSearchParams;
    readonly body: unknown;
    /** Email of the bearer token, when valid. */
    readonly email?: string;
}

/** A running fake. */
export interface FakeGoogle {
    /** `http://127.0.0.1:<port>`: the value for DJANGO_PLATFORM_GOOGLE_API_BASE. */
    readonly base: string;
    readonly requests: FakeRequest[];
    close(): Promise<void>;
}

/** An empty world: no tokens, no projects. */
export function emptyWorld(): FakeWorld {
    return {
        tokens: {},
        projects: {},
        disabledServices: {},
        missingPermissions: {},
        orgPolicies: {},
        regionQuotas: {},
        projectQuotas: {},
        kmsKeys: {},
        buckets: {},
        repositories: [],
        images: {},
        serviceAccounts: {},
        iamAccounts: {},
        grants: {},
        dnsZones: {},
        dnsZoneInfo: {},
        globalAddresses: {},
        unknownPermissions: [],
    };
}

type Reply = { status: number; body: unknown };

const ok = (body: unknown): Reply => ({ status: 200, body });
function error(status: number, message: string, extra: Record<string, unknown> = {}): Reply {
    const statuses: Record<number, string> = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND" };
    return { status, body: { error: { code: status, message, status: statuses[status] ?? "UNKNOWN", ...extra } } };
}

/** The answer to one request, from the world. */
function answer(world: FakeWorld, req: FakeRequest, token: string | undefined): Reply {
    const { method, host, path, query } = req;

    // OAuth2 tokeninfo ("Access tokens" in https://cloud.google.com/docs/authentication/token-types):
    // 200 {"azp","aud","scope","exp","expires_in","email","email_verified"}, 400 {"error":"invalid_token"}.
    if (host === "oauth2.googleapis.com" && path === "/tokeninfo") {
        const email = world.tokens[query.get("access_token") ?? ""];
        return email
            ? ok({ azp: "32555940559.apps.googleusercontent.com", aud: "32555940559.apps.googleusercontent.com", scope: "https://www.googleapis.com/auth/cloud-platform openid https://www.googleapis.com/auth/userinfo.email", exp: "1893456000", expires_in: "3599", email, email_verified: "true" })
            : { status: 400, body: { error: "invalid_token", error_description: "Invalid Value" } };
    }
    const email = token ? world.tokens[token] : undefined;
    if (!email) {
        return error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.");
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    let m: RegExpExecArray | null;
    /**
     * The 403 Google answers when the caller lacks `permission` (enforced only for emails with
     * `grants`), or one for a service that is disabled in `project`; undefined when allowed.
     */
    const refuse = (permission: string, resource: string, project?: string): Reply | undefined => {
        if (project && (world.disabledServices[project] ?? []).includes(host)) {
            return error(403, `${host} has not been used in project ${project} before or it is disabled.`, {
                details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "SERVICE_DISABLED", domain: "googleapis.com", metadata: { service: host, consumer: `projects/${world.projects[project] ?? project}` } }],
            });
        }
        const held = world.grants[email];
        if (held === undefined || held.includes(permission)) {
            return undefined;
        }
        return error(403, `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`, {
            details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "IAM_PERMISSION_DENIED", domain: "iam.googleapis.com", metadata: { permission, resource } }],
        });
    };

    // IAM Credentials projects.serviceAccounts.generateAccessToken
    // (https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken):
    // POST …/v1/projects/-/serviceAccounts/<email>:generateAccessToken → {"accessToken", "expireTime"}.
    if (host === "iamcredentials.googleapis.com" && method === "POST" && (m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path))) {
        const sa = world.serviceAccounts[decodeURIComponent(m[1])];
        if (!sa) {
            return error(404, `Not found; Gaia id not found for email ${decodeURIComponent(m[1])}`);
        }
        if (!sa.tokenCreators.includes(email)) {
            return error(403, "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).", {
                details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "IAM_PERMISSION_DENIED", domain: "iam.googleapis.com", metadata: { permission: "iam.serviceAccounts.getAccessToken" } }],
            });
        }
        return ok({ accessToken: sa.token, expireTime: "2030-01-01T00:15:00Z" });
    }

    // IAM projects.serviceAccounts.get
    // (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/get): the
    // ServiceAccount {"name", "projectId", "uniqueId", "email", …}; 404 NOT_FOUND when it does not exist.
    // projects.serviceAccounts.testIamPermissions: {"permissions": [the subset the caller holds]}, no permission needed.
    if (host === "iam.googleapis.com" && (m = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+)(:testIamPermissions)?$/.exec(path))) {
        const accountEmail = decodeURIComponent(m[2]);
        const account = world.iamAccounts[accountEmail];
        if (m[3] && method === "POST") {
            if (!account) {
                return error(404, `Service account projects/${m[1]}/serviceAccounts/${accountEmail} not found.`);
            }
            const held = account.holders[email] ?? [];
            return ok({ permissions: ((body.permissions as string[] | undefined) ?? []).filter((p) => held.includes(p)) });
        }
        if (method === "GET" && !m[3]) {
            const refused = refuse("iam.serviceAccounts.get", `projects/${m[1]}/serviceAccounts/${accountEmail}`, m[1]);
            if (refused) {
                return refused;
            }
            return account && (account.project === m[1] || m[1] === "-")
                ? ok({ name: `projects/${account.project}/serviceAccounts/${accountEmail}`, projectId: account.project, uniqueId: "100000000000000000003", email: accountEmail })
                : error(404, `Service account projects/${m[1]}/serviceAccounts/${accountEmail} not found.`);
        }
    }

    // Service Usage services.batchGet (https://cloud.google.com/service-usage/docs/reference/rest/v1/services/batchGet):
    // GET /v1/projects/<p>/services:batchGet?names=… (at most 30) → {"services": [Service]}, Service
    // (https://cloud.google.com/service-usage/docs/reference/rest/v1/services#Service):
    // {"name": "projects/<number>/services/<api>", "parent": "projects/<number>", "config": {"name", "title"}, "state"}.
    if (host === "serviceusage.googleapis.com" && method === "GET" && (m = /^\/v1\/projects\/([^/]+)\/services:batchGet$/.exec(path))) {
        const project = m[1];
        const number = world.projects[project];
        if (!number) {
            return error(403, `Permission denied to get service [${project}]`);
        }
        const denied = refuse("serviceusage.services.get", `projects/${project}`);
        if (denied) {
            return denied;
        }
        const names = query.getAll("names");
        if (names.length > 30) {
            return error(400, "Too many services requested: at most 30 per batchGet.");
        }
        const disabled = new Set(world.disabledServices[project] ?? []);
        return ok({
            services: names.map((n) => {
                const api = n.split("/").pop() ?? "";
                return { name: `projects/${number}/services/${api}`, parent: `projects/${number}`, config: { name: api, title: api }, state: disabled.has(api) ? "DISABLED" : "ENABLED" };
            }),
        });
    }

    // Cloud Resource Manager projects.testIamPermissions
    // (https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions):
    // POST /v1/projects/<p>:testIamPermissions {"permissions": […]} → {"permissions": [granted subset]}.
    // It needs no permission. The fake refuses more than 100 permissions (a limit only a third-party
    // comment states; the reference states none), so a client that batches larger is noticed; and,
    // like Google, answers 400 for a request naming a permission IAM does not know
    // (googleapis/google-cloud-python#1776).
    if (host === "cloudresourcemanager.googleapis.com" && method === "POST" && (m = /^\/v1\/projects\/([^/:]+):testIamPermissions$/.exec(path))) {
        if (!world.projects[m[1]]) {
            return error(403, `The caller does not have permission`);
        }
        const wanted = (body.permissions as string[] | undefined) ?? [];
        if (wanted.length > 100) {
            return error(400, "The number of permissions in the request exceeds the limit of 100.");
        }
        const unknown = wanted.find((p) => world.unknownPermissions.includes(p));
        if (unknown) {
            return error(400, `Permission ${unknown} is not valid.`);
        }
        const missing = new Set(world.missingPermissions[email] ?? []);
        const granted = wanted.filter((p) => !missing.has(p));
        return ok(granted.length > 0 ? { permissions: granted } : {});
    }

    // Org Policy v2 projects.policies.getEffectivePolicy
    // (https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/projects.policies/getEffectivePolicy):
    // GET /v2/projects/<p>/policies/<constraint>:getEffectivePolicy → Policy
    // (https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/organizations.policies#Policy):
    // {"name": "projects/<number>/policies/<constraint>", "spec": {"etag", "updateTime", "rules": [PolicyRule]}}.
    if (host === "orgpolicy.googleapis.com" && method === "GET" && (m = /^\/v2\/projects\/([^/]+)\/policies\/([^/:]+):getEffectivePolicy$/.exec(path))) {
        const number = world.projects[m[1]];
        if (!number) {
            return error(403, "Permission 'orgpolicy.policy.get' denied");
        }
        const denied = refuse("orgpolicy.policy.get", `projects/${m[1]}/policies/${m[2]}`, m[1]);
        if (denied) {
            return denied;
        }
        const rules = world.orgPolicies[`${m[1]}/${m[2]}`] ?? [];
        return ok({ name: `projects/${number}/policies/${m[2]}`, spec: { etag: "CKfake", updateTime: "2026-01-01T00:00:00Z", rules } });
    }

    // Compute Engine regions.get (https://cloud.google.com/compute/docs/reference/rest/v1/regions/get) and
    // projects.get (https://cloud.google.com/compute/docs/reference/rest/v1/projects/get):
    // {"kind": "compute#region" | "compute#project", "name", …, "quotas": [{"metric", "limit", "usage"}]}.
    if (host === "compute.googleapis.com" && method === "GET" && (m = /^\/compute\/v1\/projects\/([^/]+)(?:\/regions\/([^/]+))?$/.exec(path))) {
        const [, project, region] = m;
        if (!world.projects[project]) {
            return error(403, `Required 'compute.projects.get' permission for 'projects/${project}'`);
        }
        const denied = region ? refuse("compute.regions.get", `projects/${project}/regions/${region}`, project) : refuse("compute.projects.get", `projects/${project}`, project);
        if (denied) {
            return denied;
        }
        if (region) {
            const quotas = world.regionQuotas[`${project}/${region}`];
            if (!quotas) {
                return error(404, `The resource 'projects/${project}/regions/${region}' was not found`);
            }
            return ok({ kind: "compute#region", id: "1100", name: region, status: "UP", quotas, selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/regions/${region}` });
        }
        return ok({ kind: "compute#project", id: world.projects[project], name: project, quotas: world.projectQuotas[project] ?? [], selfLink: `https://www.googleapis.com/compute/v1/projects/${project}`, defaultNetworkTier: "PREMIUM" });
    }

    // Cloud KMS cryptoKeys.encrypt
    // (https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys/encrypt):
    // POST /v1/<key>:encrypt {"plaintext": base64} → {"name": "<key>/cryptoKeyVersions/1", "ciphertext",
    // "ciphertextCrc32c", "verifiedPlaintextCrc32c", "protectionLevel"}; and cryptoKeys.testIamPermissions
    // (https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys/testIamPermissions).
    if (host === "cloudkms.googleapis.com" && method === "POST" && (m = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/:]+):(encrypt|testIamPermissions)$/.exec(path))) {
        const key = world.kmsKeys[m[1]];
        if (!key) {
            return error(404, `${m[1]} not found.`);
        }
        if (m[2] === "testIamPermissions") {
            const wanted = (body.permissions as string[] | undefined) ?? [];
            const granted = wanted.filter((p) => (p === "cloudkms.cryptoKeyVersions.useToDecrypt" && key.decrypters.includes(email)) || (p === "cloudkms.cryptoKeyVersions.useToEncrypt" && key.encrypters.includes(email)));
            return ok(granted.length > 0 ? { permissions: granted } : {});
        }
        if (!key.encrypters.includes(email)) {
            return error(403, `Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource '${m[1]}' (or it may not exist).`);
        }
        if (typeof body.plaintext !== "string") {
            return error(400, "Invalid value at 'plaintext'");
        }
        return ok({ name: `${m[1]}/cryptoKeyVersions/1`, ciphertext: Buffer.from(`sealed:${body.plaintext}`).toString("base64"), ciphertextCrc32c: "1234567890", verifiedPlaintextCrc32c: false, protectionLevel: "SOFTWARE" });
    }

    // Cloud Storage buckets.get (https://cloud.google.com/storage/docs/json_api/v1/buckets/get) →
    // {"kind": "storage#bucket", "name", "location", "versioning": {"enabled"}, …} and
    // buckets.testIamPermissions (https://cloud.google.com/storage/docs/json_api/v1/buckets/testIamPermissions):
    // GET /storage/v1/b/<bucket>/iam/testPermissions?permissions=… → {"kind": "storage#testIamPermissionsResponse", "permissions"}.
    if (host === "storage.googleapis.com" && method === "GET" && (m = /^\/storage\/v1\/b\/([^/]+)(\/iam\/testPermissions)?$/.exec(path))) {
        const bucket = world.buckets[m[1]];
        if (!bucket) {
            return error(404, "The specified bucket does not exist.");
        }
        if (m[2]) {
            const conditional = bucket.objectPrefixes?.[email] !== undefined;
            const granted = new Set((bucket.permissions[email] ?? []).filter((p) => !conditional || !p.startsWith("storage.objects.") || p === "storage.objects.list"));
            return ok({ kind: "storage#testIamPermissionsResponse", permissions: query.getAll("permissions").filter((p) => granted.has(p)) });
        }
        if (!(bucket.permissions[email] ?? []).includes("storage.buckets.get")) {
            return error(403, `${email} does not have storage.buckets.get access to the Google Cloud Storage bucket.`);
        }
        return ok({ kind: "storage#bucket", id: m[1], name: m[1], location: "EUROPE-WEST1", storageClass: "STANDARD", versioning: { enabled: bucket.versioning }, iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: "enforced" } });
    }

    // Cloud Storage objects.get (https://cloud.google.com/storage/docs/json_api/v1/objects/get): the
    // object's metadata; 404 when it does not exist and the caller may read it, 403 when it may not.
    if (host === "storage.googleapis.com" && method === "GET" && (m = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(path))) {
        const bucket = world.buckets[m[1]];
        const object = decodeURIComponent(m[2]);
        const prefixes = bucket?.objectPrefixes?.[email];
        const allowed = bucket && (bucket.permissions[email] ?? []).includes("storage.objects.get") && (prefixes === undefined || prefixes.some((p) => object.startsWith(p)));
        if (!allowed) {
            return error(403, `${email} does not have storage.objects.get access to the Google Cloud Storage object.`);
        }
        return error(404, "No such object.");
    }

    // Artifact Registry repositories.get
    // (https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories/get) → Repository,
    // packages.tags.get (…/projects.locations.repositories.packages.tags/get) → {"name", "version"},
    // packages.versions.get (…/projects.locations.repositories.packages.versions/get) → {"name", "createTime", "updateTime"}.
    if (host === "artifactregistry.googleapis.com" && method === "GET" && (m = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/]+)(?:\/packages\/([^/]+)\/(tags|versions)\/([^/]+))?$/.exec(path))) {
        const [, repo, pkg, kind, id] = m;
        const denied = refuse(!pkg ? "artifactregistry.repositories.get" : kind === "tags" ? "artifactregistry.tags.get" : "artifactregistry.versions.get", repo);
        if (denied) {
            return denied;
        }
        if (!pkg) {
            return world.repositories.includes(repo) ? ok({ name: repo, format: "DOCKER", mode: "STANDARD_REPOSITORY", createTime: "2026-01-01T00:00:00Z" }) : error(404, `Requested entity was not found.`);
        }
        const image = world.images[`${repo}/packages/${decodeURIComponent(pkg)}`];
        const name = `${repo}/packages/${pkg}/${kind}/${id}`;
        if (kind === "tags") {
            const tag = decodeURIComponent(id);
            return image?.tags.includes(tag) ? ok({ name, version: `${repo}/packages/${pkg}/versions/${image.digests[0] ?? "sha256:0"}` }) : error(404, "Requested entity was not found.");
        }
        return image?.digests.includes(decodeURIComponent(id)) ? ok({ name, createTime: "2026-01-01T00:00:00Z", updateTime: "2026-01-01T00:00:00Z" }) : error(404, "Requested entity was not found.");
    }

    // Cloud DNS managedZones.get (https://cloud.google.com/dns/docs/reference/rest/v1/managedZones/get):
    // GET /dns/v1/projects/<p>/managedZones/<zone> → {"kind": "dns#managedZone", "name", "dnsName", "visibility", …};
    // 404 for a zone that does not exist.
    if (host === "dns.googleapis.com" && method === "GET" && (m = /^\/dns\/v1\/projects\/([^/]+)\/managedZones\/([^/]+)$/.exec(path))) {
        const denied = refuse("dns.managedZones.get", `projects/${m[1]}/managedZones/${m[2]}`, m[1]);
        if (denied) {
            return denied;
        }
        const key = `${m[1]}/${m[2]}`;
        if (!world.dnsZones[key]) {
            return error(404, `The 'parameters.managedZone' resource named '${m[2]}' does not exist.`);
        }
        const info = world.dnsZoneInfo[key] ?? { dnsName: `${m[2].replace(/-/g, ".")}.` };
        return ok({ kind: "dns#managedZone", name: m[2], dnsName: info.dnsName, visibility: info.visibility ?? "public", nameServers: ["ns-cloud-a1.googledomains.com."] });
    }

    // Cloud DNS resourceRecordSets.list (https://cloud.google.com/dns/docs/reference/rest/v1/resourceRecordSets/list):
    // GET /dns/v1/projects/<p>/managedZones/<zone>/rrsets?name=<fqdn>&type=… →
    // {"kind": "dns#resourceRecordSetsListResponse", "rrsets": [{"kind": "dns#resourceRecordSet", "name", "type", "ttl", "rrdatas"}]};
    // 404 for a zone that does not exist.
    if (host === "dns.googleapis.com" && method === "GET" && (m = /^\/dns\/v1\/projects\/([^/]+)\/managedZones\/([^/]+)\/rrsets$/.exec(path))) {
        const denied = refuse("dns.resourceRecordSets.list", `projects/${m[1]}/managedZones/${m[2]}`, m[1]);
        if (denied) {
            return denied;
        }
        const zone = world.dnsZones[`${m[1]}/${m[2]}`];
        if (!zone) {
            return error(404, `The 'parameters.managedZone' resource named '${m[2]}' does not exist.`);
        }
        const name = query.get("name");
        const type = query.get("type");
        const rrsets = zone.filter((r) => (!name || r.name === name) && (!type || r.type === type)).map((r) => ({ kind: "dns#resourceRecordSet", ...r }));
        return ok({ kind: "dns#resourceRecordSetsListResponse", rrsets });
    }

    // Compute Engine globalAddresses.list (https://cloud.google.com/compute/docs/reference/rest/v1/globalAddresses/list):
    // GET /compute/v1/projects/<p>/global/addresses → {"kind": "compute#addressList", "items": [Address]}.
    if (host === "compute.googleapis.com" && method === "GET" && (m = /^\/compute\/v1\/projects\/([^/]+)\/global\/addresses$/.exec(path))) {
        const denied = refuse("compute.globalAddresses.list", `projects/${m[1]}`, m[1]);
        if (denied) {
            return denied;
        }
        const items = (world.globalAddresses[m[1]] ?? []).map((address, i) => ({ kind: "compute#address", name: `address-${i}`, address, addressType: "EXTERNAL", status: "IN_USE" }));
        return ok({ kind: "compute#addressList", id: `projects/${m[1]}/global/addresses`, items });
    }

    return error(404, `fake Google: no such endpoint ${method} https://${host}${path}`);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
        chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    if (!text) {
        return undefined;
    }
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** Starts the fake on 127.0.0.1 with a random free port. `world` may be changed between runs. */
export async function startFakeGoogle(world: FakeWorld): Promise<FakeGoogle> {
    const requests: FakeRequest[] = [];
    const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
        void (async () => {
            const url = new URL(req.url ?? "/", "http://fake");
            const [, host, ...rest] = url.pathname.split("/");
            const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
            const record: FakeRequest = { method: req.method ?? "GET", host, path: `/${rest.join("/")}`, query: url.searchParams, body: await readBody(req), email: token ? world.tokens[token] : undefined };
            requests.push(record);
            const reply = answer(world, record, token);
            res.writeHead(reply.status, { "content-type": "application/json; charset=UTF-8" });
            res.end(JSON.stringify(reply.body));
        })();
    });
    // Keep idle connections open until close(), as Google's front ends do for minutes, instead of
    // Node's default 5 s: a client busy for longer (a render under load) may otherwise send its next
    // request on a socket the fake has just closed (UND_ERR_SOCKET), which no real Google does.
    server.keepAliveTimeout = 0;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        base: `http://127.0.0.1:${port}`,
        requests,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}
