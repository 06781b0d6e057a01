/**
 * Runs single preflight checks (cli/preflight.ts `CHECKS`) against the loopback fake of Google
 * (tests/lib/fakeGoogle.ts), with a stack rendered once: the same check code the CLI runs, without
 * a render per run, so a test can ask many questions of many worlds.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { deployerPermissions, podBinderPermissions } from "../../bootstrap/deployerRoles";
import { stackStatePrefixes } from "../../bootstrap/stateBackend";
import { stackIdentities } from "../../components/identities";
import { PREFLIGHT_ROLE_PERMISSIONS } from "../../bootstrap/preflightReads";
import { validateConfig } from "../../config";
import { GoogleClient } from "../../cli/lib/preflight/google";
import { renderModel, type StackModel, type ValidatedConfig } from "../../cli/lib/preflight/model";
import type { CheckContext, CheckId, CheckResult } from "../../cli/lib/preflight/types";
import { CHECKS, PROJECT_DIR } from "../../cli/preflight";
import { loadStackConfig, type StackConfig } from "../../cli/lib/stackConfig";
import { emptyWorld, startFakeGoogle, type FakeRequest, type FakeWorld } from "./fakeGoogle";

/** A stack file, validated and rendered under mocks once. */
export interface LoadedStack {
    readonly stack: StackConfig;
    readonly config: ValidatedConfig;
    readonly model: StackModel;
}

/** Loads and renders `Pulumi.<name>.yaml`; `overrides` replace fully qualified config values first. */
export async function loadStack(name: string, overrides: Record<string, string> = {}): Promise<LoadedStack> {
    const loaded = loadStackConfig({ stack: name, projectDir: PROJECT_DIR });
    const stack = { ...loaded, config: { ...loaded.config, ...overrides } };
    const config = validateConfig(stack.config, stack.stack);
    const model = await renderModel(stack, path.join(PROJECT_DIR, "index.ts"));
    return { stack, config, model };
}

/** One check's result and the requests it sent. */
export interface CheckRun {
    readonly result: CheckResult;
    readonly requests: FakeRequest[];
}

/**
 * Runs `ids` one after the other against a fresh fake of `world`, as the owner of `token`
 * (`member` is what tokeninfo would have named), and returns each check's result and requests.
 */
export async function runChecks(
    loaded: LoadedStack,
    world: FakeWorld,
    token: string,
    member: string,
    ids: readonly CheckId[],
    options: { backendUrl?: string; config?: Partial<ValidatedConfig> } = {},
): Promise<Record<string, CheckRun>> {
    const fake = await startFakeGoogle(world);
    try {
        const ctx: CheckContext = {
            client: new GoogleClient(token, { base: fake.base }),
            stack: loaded.stack,
            config: { ...loaded.config, ...options.config },
            model: async () => loaded.model,
            identity: { member, source: "test" },
            backendUrl: options.backendUrl,
        };
        const out: Record<string, CheckRun> = {};
        for (const id of ids) {
            const before = fake.requests.length;
            const result = await CHECKS[id](ctx);
            out[id] = { result, requests: fake.requests.slice(before) };
        }
        return out;
    } finally {
        await fake.close();
    }
}

// ---------------------------------------------------------------------------------------------
// A stack's CI deployer, as the bootstrap grants it (tests/preflight-reads.test.ts,
// tests/workflows.test.ts). Each stack's deployer holds the same roles in its own project and on
// its own key; the fake checks one deployer holding them in both, one stack at a time.

export const CI_DEPLOYER = "gh-deploy-staging@acme-django-ci.iam.gserviceaccount.com";
export const CI_DEPLOYER_MEMBER = `serviceAccount:${CI_DEPLOYER}`;
export const CI_STATE_BUCKET = "acme-django-ci-pulumi-state";
export const CI_REPO = "projects/acme-django-ci/locations/europe-west1/repositories/django";
const DIGEST = `sha256:${"a".repeat(64)}`;
export const CI_DIGEST_IMAGE = `europe-west1-docker.pkg.dev/acme-django-ci/django/app@${DIGEST}`;

/** The permissions of a predefined role, as Google defines it (tests/fixtures/iam-roles). */
export function rolePermissions(role: string): string[] {
    const file = path.join(__dirname, "..", "fixtures", "iam-roles", `${role.replace(/^roles\//, "")}.json`);
    const doc = JSON.parse(readFileSync(file, "utf8")) as { name: string; includedPermissions: string[] };
    assert.equal(doc.name, role);
    return doc.includedPermissions;
}

/** What the bootstrap gives a stack's deployer, per resource (bootstrap/index.ts, stackProject.ts). */
export function ciGrants(): { project: string[]; stateBucket: string[]; repository: string[]; key: string[] } {
    return {
        // bootstrap/stackProject.ts: the stack deploy role and the preflight role in the stack's project.
        project: [...new Set([...deployerPermissions(), ...PREFLIGHT_ROLE_PERMISSIONS])],
        // bootstrap/stateBackend.ts grantState (objects under the stack's prefixes) + grantBucketRead.
        stateBucket: [...new Set([...rolePermissions("roles/storage.objectUser"), ...rolePermissions("roles/storage.legacyBucketReader")])],
        // bootstrap/imageRegistry.ts grantPull (preflight's image check).
        repository: rolePermissions("roles/artifactregistry.reader"),
        // bootstrap/secretsKeys.ts grantStack.
        key: rolePermissions("roles/cloudkms.cryptoKeyEncrypterDecrypter"),
    };
}

/**
 * The accounts the IAM step creates for the shipped stacks (components/identities.ts), with what it
 * grants on them to `holders`: the pod-binder permissions on each pod account, actAs on the nodes'.
 */
export function iamStepAccounts(holders: readonly string[]): FakeWorld["iamAccounts"] {
    const out: FakeWorld["iamAccounts"] = {};
    for (const stack of ["staging", "production"]) {
        const loaded = loadStackConfig({ stack, projectDir: PROJECT_DIR });
        const ids = stackIdentities(validateConfig(loaded.config, stack));
        for (const pod of ids.pods) {
            out[pod.email] = { project: ids.project, holders: Object.fromEntries(holders.map((h) => [h, podBinderPermissions()])) };
        }
        if (ids.nodes) {
            out[ids.nodes.email] = { project: ids.project, holders: Object.fromEntries(holders.map((h) => [h, ["iam.serviceAccounts.actAs"]])) };
        }
    }
    return out;
}

/** The stacks' projects with everything in place, the deployer holding exactly `project` (minus `without`). */
export function ciWorld(without?: string): FakeWorld {
    const grants = ciGrants();
    const world = emptyWorld();
    world.tokens = { "deployer-token": CI_DEPLOYER };
    world.projects = { "acme-django-staging": "123456789012", "acme-django-prod": "210987654321" };
    for (const project of Object.keys(world.projects)) {
        world.regionQuotas[`${project}/europe-west1`] = ["CPUS", "STATIC_ADDRESSES", "IN_USE_ADDRESSES"].map((metric) => ({ metric, limit: 100, usage: 1 }));
        world.projectQuotas[project] = ["CPUS_ALL_REGIONS", "NETWORKS", "SUBNETWORKS", "ROUTERS", "GLOBAL_INTERNAL_ADDRESSES", "STATIC_ADDRESSES", "SSL_POLICIES", "BACKEND_BUCKETS", "URL_MAPS", "TARGET_HTTPS_PROXIES", "TARGET_HTTP_PROXIES", "SSL_CERTIFICATES", "FORWARDING_RULES", "GLOBAL_EXTERNAL_MANAGED_FORWARDING_RULES"].map((metric) => ({ metric, limit: 100, usage: 1 }));
        world.orgPolicies[`${project}/gcp.resourceLocations`] = [{ values: { allowedValues: ["in:europe-west1-locations"] } }];
    }
    // A later deploy of production: its records exist and point at its own addresses.
    world.dnsZones["acme-django-prod/example-com"] = [
        { name: "www.example.com.", type: "A", ttl: 300, rrdatas: ["203.0.113.10"] },
        { name: "static.example.com.", type: "A", ttl: 300, rrdatas: ["203.0.113.20"] },
    ];
    world.globalAddresses["acme-django-prod"] = ["203.0.113.10", "203.0.113.20"];
    const decrypt = grants.key.includes("cloudkms.cryptoKeyVersions.useToDecrypt") ? [CI_DEPLOYER] : [];
    const encrypt = grants.key.includes("cloudkms.cryptoKeyVersions.useToEncrypt") ? [CI_DEPLOYER] : [];
    world.kmsKeys["projects/acme-django-staging/locations/europe-west1/keyRings/pulumi/cryptoKeys/staging"] = { encrypters: encrypt, decrypters: decrypt };
    world.kmsKeys["projects/acme-django-prod/locations/europe-west1/keyRings/pulumi/cryptoKeys/production"] = { encrypters: encrypt, decrypters: decrypt };
    // The deployer's object rights are conditioned on its stack's objects (bootstrap/stateBackend.ts
    // grantState); the fake's one deployer stands for both stacks' (one check at a time).
    world.buckets[CI_STATE_BUCKET] = {
        versioning: true,
        permissions: { [CI_DEPLOYER]: grants.stateBucket },
        objectPrefixes: { [CI_DEPLOYER]: ["staging", "production"].flatMap((stack) => stackStatePrefixes("django-platform", stack)) },
    };
    world.repositories = [CI_REPO];
    world.images[`${CI_REPO}/packages/app`] = { tags: ["0.1.0"], digests: [DIGEST] };
    world.iamAccounts = iamStepAccounts([CI_DEPLOYER]);
    // The fake enforces project- and repository-level permissions through one list.
    world.grants[CI_DEPLOYER] = [...grants.project, ...grants.repository].filter((p) => p !== without);
    return world;
}

