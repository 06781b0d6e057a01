/**
 * The bootstrap project (bootstrap/), run under Pulumi mocks with the projects of the main stack
 * files: KMS keys, state bucket, WIF restricted to one repository, a deployer without basic or
 * admin roles, the printed commands, and exact config error messages.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { BOOTSTRAP_PROJECT, bootstrapSchema, validateBootstrapConfig } from "../bootstrap/config";
import { DEPLOYER_PERMISSIONS, GRANTABLE_PROJECT_ROLES, deployerPermissions } from "../bootstrap/deployerRoles";
import { MAX_ROTATION_SECONDS } from "../bootstrap/secretsKeys";
import { CaptureResult, CapturedResource, findAll, findOne, runProgram } from "../tools/lib/mockRuntime";
import { formatViolations, runPolicies } from "../tools/lib/policyRunner";
import { buildStackExport } from "../tools/lib/stackExport";

const ROOT = join(__dirname, "..");
const PROGRAM = join(ROOT, "bootstrap", "index.ts");
const REPO = "acme/django-platform";
const BASIC_ROLES = ["roles/owner", "roles/editor", "roles/viewer"];

/** `gcp:project`, `gcp:region`, `image` and `secretsprovider` of a main stack file. */
function stackFile(stack: string): { project: string; region: string; image: string; secretsProvider: string } {
    const doc = parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { secretsprovider: string; config: Record<string, string> };
    const config = doc.config;
    return { project: config["gcp:project"], region: config["gcp:region"], image: config["django-platform:image"], secretsProvider: doc.secretsprovider };
}

const key = (k: string) => `${BOOTSTRAP_PROJECT}:${k}`;

function run(config: Record<string, string>): Promise<CaptureResult> {
    return runProgram({ project: BOOTSTRAP_PROJECT, stack: "bootstrap", config, program: PROGRAM });
}

describe("bootstrap under mocks, configured like the main stack files", () => {
    const staging = stackFile("staging");
    const production = stackFile("production");
    const config = {
        "gcp:project": staging.project,
        "gcp:region": staging.region,
        [key("githubRepository")]: REPO,
        [key("stackProjects")]: JSON.stringify({ production: production.project }),
    };
    let result: CaptureResult;
    let resources: CapturedResource[];

    before(async () => {
        result = await run(config);
        resources = result.resources;
    });

    test("the policy pack finds no mandatory violation", async () => {
        const doc = buildStackExport(result, { project: BOOTSTRAP_PROJECT, stack: "bootstrap", config, secretKeys: [] });
        const mandatory = (await runPolicies(doc)).filter((v) => v.enforcementLevel === "mandatory");
        assert.deepEqual(mandatory, [], formatViolations(mandatory));
    });

    test("prints the exact stack init command of each stack file's secrets provider", () => {
        const commands = result.stackOutputs.stackInitCommands as Record<string, string>;
        assert.deepEqual(commands, {
            staging: `pulumi stack init staging --secrets-provider ${staging.secretsProvider}`,
            production: `pulumi stack init production --secrets-provider ${production.secretsProvider}`,
        });
    });

    test("prints the login command, the WIF provider and the deployer for the workflows", () => {
        const bucket = `${staging.project}-pulumi-state`;
        assert.equal(result.stackOutputs.loginCommand, `pulumi login gs://${bucket}`);
        assert.equal(result.stackOutputs.deployerServiceAccount, `github-deployer@${staging.project}.iam.gserviceaccount.com`);
        const provider = findOne(resources, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
        assert.equal(result.stackOutputs.workloadIdentityProvider, provider.outputs.name);
        assert.deepEqual(result.stackOutputs.githubVariableCommands, [
            `gh variable set GCP_WORKLOAD_IDENTITY_PROVIDER --repo ${REPO} --body '${String(provider.outputs.name)}'`,
            `gh variable set GCP_SERVICE_ACCOUNT --repo ${REPO} --body 'github-deployer@${staging.project}.iam.gserviceaccount.com'`,
            `gh variable set PULUMI_BACKEND_URL --repo ${REPO} --body 'gs://${bucket}'`,
            `gh variable set IMAGE_REPOSITORY --repo ${REPO} --body '${staging.region}-docker.pkg.dev/${staging.project}/django/app'`,
        ]);
    });

    test("the image repository is the one the staging stack file's image comes from", () => {
        assert.ok(staging.image.startsWith(`${String(result.stackOutputs.imageRepository)}:`), `${staging.image} vs ${String(result.stackOutputs.imageRepository)}`);
    });

    test("one protected, rotating ENCRYPT_DECRYPT key per stack, in the stack's project", () => {
        const keys = findAll(resources, "gcp:kms/cryptoKey:CryptoKey").filter((k) => k.name.startsWith("secrets-"));
        assert.deepEqual(keys.map((k) => k.inputs.name).sort(), ["production", "staging"]);
        for (const k of keys) {
            assert.equal(k.protect, true, `${k.name} must be protected`);
            assert.equal(k.inputs.purpose, "ENCRYPT_DECRYPT");
            const seconds = Number(/^(\d+)s$/.exec(String(k.inputs.rotationPeriod))?.[1]);
            assert.ok(seconds > 0 && seconds <= MAX_ROTATION_SECONDS && MAX_ROTATION_SECONDS === 7776000, `${k.name} rotates every ${String(k.inputs.rotationPeriod)}`);
        }
        const rings = findAll(resources, "gcp:kms/keyRing:KeyRing");
        assert.deepEqual(rings.map((r) => r.inputs.project).sort(), [production.project, staging.project].sort());
        assert.ok(rings.every((r) => r.protect && r.inputs.name === "pulumi"));
    });

    test("the deployer may use the stack keys, on the keys only", () => {
        const grants = findAll(resources, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember");
        assert.equal(grants.length, 2);
        for (const g of grants) {
            assert.equal(g.inputs.role, "roles/cloudkms.cryptoKeyEncrypterDecrypter");
            assert.equal(g.inputs.member, `serviceAccount:github-deployer@${staging.project}.iam.gserviceaccount.com`);
        }
        const projectKmsRoles = findAll(resources, "gcp:projects/iAMMember:IAMMember").filter((m) => String(m.inputs.role).startsWith("roles/cloudkms"));
        assert.deepEqual(projectKmsRoles, []);
    });

    test("the state bucket is private, versioned, logged, pruned carefully and protected", () => {
        const buckets = findAll(resources, "gcp:storage/bucket:Bucket");
        assert.equal(buckets.length, 2);
        for (const b of buckets) {
            assert.equal(b.inputs.uniformBucketLevelAccess, true, b.name);
            assert.equal(b.inputs.publicAccessPrevention, "enforced", b.name);
            assert.deepEqual(b.inputs.versioning, { enabled: true }, b.name);
        }
        const state = findOne(resources, "gcp:storage/bucket:Bucket", "state-bucket");
        assert.equal(state.inputs.name, `${staging.project}-pulumi-state`);
        assert.equal(state.protect, true);
        assert.equal(state.inputs.forceDestroy, false);
        assert.equal((state.inputs.logging as { logBucket: string }).logBucket, findOne(resources, "gcp:storage/bucket:Bucket", "state-access-logs").outputs.name);
        const [rule] = state.inputs.lifecycleRules as { condition: Record<string, unknown> }[];
        assert.equal(rule.condition.withState, "ARCHIVED", "only replaced versions may be deleted");
        assert.ok(Number(rule.condition.numNewerVersions) >= 5, "recent versions are always kept");
        const stateGrant = findOne(resources, "gcp:storage/bucketIAMMember:BucketIAMMember", "state-deployer");
        assert.equal(stateGrant.inputs.role, "roles/storage.objectUser");
        const members = findAll(resources, "gcp:storage/bucketIAMMember:BucketIAMMember").map((m) => String(m.inputs.member));
        assert.ok(!members.some((m) => m.startsWith("allUsers") || m.startsWith("allAuthenticatedUsers")));
    });

    test("Workload Identity Federation admits exactly one repository", () => {
        const provider = findOne(resources, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
        assert.equal(provider.inputs.attributeCondition, `assertion.repository == '${REPO}'`);
        assert.deepEqual(provider.inputs.oidc, { issuerUri: "https://token.actions.githubusercontent.com" });
        const impersonation = findAll(resources, "gcp:serviceaccount/iAMMember:IAMMember");
        assert.equal(impersonation.length, 1);
        assert.equal(impersonation[0].inputs.role, "roles/iam.workloadIdentityUser");
        const pool = findOne(resources, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool");
        assert.equal(impersonation[0].inputs.member, `principalSet://iam.googleapis.com/${String(pool.outputs.name)}/attribute.repository/${REPO}`);
    });

    test("no basic roles, no predefined admin roles on the project, no service account keys", () => {
        const grants = resources.filter((r) => /IAMMember|IamMember/.test(r.type));
        assert.ok(grants.length >= 8);
        for (const g of grants) {
            assert.ok(!BASIC_ROLES.includes(String(g.inputs.role)), `${g.name} grants ${String(g.inputs.role)}`);
        }
        for (const g of findAll(resources, "gcp:projects/iAMMember:IAMMember")) {
            assert.ok(!/admin/i.test(String(g.inputs.role)), `${g.name} grants the admin role ${String(g.inputs.role)} on a project (CKV_GCP_42)`);
        }
        assert.deepEqual(resources.filter((r) => r.type === "gcp:serviceaccount/key:Key"), []);
        for (const role of GRANTABLE_PROJECT_ROLES) {
            assert.ok(!BASIC_ROLES.includes(role) && !/admin/i.test(role), `${role} must not be grantable`);
        }
    });

    test("project IAM changes are limited by a condition to the platform's own roles", () => {
        const granters = findAll(resources, "gcp:projects/iAMMember:IAMMember").filter((m) => m.name.endsWith("-iam-granter-binding"));
        assert.deepEqual(granters.map((g) => g.inputs.project).sort(), [production.project, staging.project].sort());
        for (const g of granters) {
            const condition = g.inputs.condition as { expression: string };
            assert.equal(
                condition.expression,
                `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${GRANTABLE_PROJECT_ROLES.map((r) => `'${r}'`).join(", ")}])`,
            );
        }
        const roles = findAll(resources, "gcp:projects/iAMCustomRole:IAMCustomRole");
        const deployRoles = roles.filter((r) => r.inputs.roleId === "djangoPlatformDeployer");
        assert.equal(deployRoles.length, 2);
        for (const r of deployRoles) {
            const permissions = r.inputs.permissions as string[];
            assert.deepEqual(permissions, deployerPermissions());
            assert.ok(!permissions.includes("resourcemanager.projects.setIamPolicy"), "project IAM only through the conditional binding");
            assert.ok(!permissions.some((p) => p.startsWith("iam.roles.") || p.startsWith("iam.serviceAccountKeys.")), "cannot edit roles or mint keys");
            assert.ok(!permissions.includes("cloudkms.cryptoKeyVersions.destroy"), "cannot destroy key material");
        }
        // Every permission group says which component needs it.
        for (const group of DEPLOYER_PERMISSIONS) {
            assert.match(group.purpose, /components\/\w+\.ts/);
        }
    });

    test("every resource is a named child of a component (`<component>-<role>`)", () => {
        const byUrn = new Map(resources.map((r) => [r.urn, r]));
        for (const r of resources.filter((x) => x.custom)) {
            const parent = r.parent ? byUrn.get(r.parent) : undefined;
            assert.ok(parent && !parent.custom, `${r.name} has no component parent`);
            assert.ok(r.name.startsWith(`${parent.name}-`), `${r.name} is not named after its parent ${parent.name}`);
        }
    });

    test("the other components wait for the APIs to be enabled", () => {
        const apis = new Set(findAll(resources, "gcp:projects/service:Service").map((s) => s.urn));
        for (const name of ["state-bucket", "images-repository", "github-pool", "deployer-account"]) {
            const r = resources.find((x) => x.name === name);
            assert.ok(r && r.dependencies.some((d) => apis.has(d)), `${name} does not depend on the APIs`);
        }
    });
});

describe("bootstrap config errors", () => {
    const base = { "gcp:project": "acme-ops", "gcp:region": "europe-west1" };

    test("a missing repository stops the program before any resource, naming the fix", async () => {
        const result = run(base);
        await assert.rejects(result, {
            name: "BootstrapConfigError",
            message:
                "Invalid bootstrap configuration (1 problem):\n" +
                "  - django-platform-bootstrap:githubRepository: is required: the one GitHub repository (owner/name) whose workflows may deploy (got nothing). " +
                "Fix: `pulumi config set --path githubRepository acme/django-platform`.",
        });
    });

    test("bad values are all reported at once with their fixes", () => {
        assert.throws(
            () =>
                validateBootstrapConfig({
                    "gcp:region": "europe-west1",
                    [key("githubRepository")]: "django-platform",
                    [key("stacks")]: JSON.stringify(["staging", "Prod"]),
                    [key("stackProjects")]: JSON.stringify({ qa: "acme-qa-1" }),
                    [key("githubRepo")]: "acme/app",
                }),
            {
                message:
                    "Invalid bootstrap configuration (4 problems):\n" +
                    "  - django-platform-bootstrap:githubRepo: unknown key (got \"acme/app\"). Fix: check the spelling, or remove it with `pulumi config rm githubRepo`.\n" +
                    "  - django-platform-bootstrap:githubRepository: must be a GitHub repository as owner/name (got \"django-platform\"). Fix: `pulumi config set --path githubRepository acme/django-platform`.\n" +
                    "  - django-platform-bootstrap:stacks.1: each stack name must be lower case letters, digits and dashes, starting with a letter (got \"Prod\"). Fix: `pulumi config set --path 'stacks[0]' staging`.\n" +
                    "  - gcp:project: is required: the Google Cloud project id (got nothing). Fix: `pulumi config set gcp:project acme-prod`.",
            },
        );
    });

    test("stackProjects may only name configured stacks", () => {
        assert.throws(() => validateBootstrapConfig({ ...base, [key("githubRepository")]: REPO, [key("stackProjects")]: JSON.stringify({ qa: "acme-qa-1" }) }), {
            message:
                "Invalid bootstrap configuration (1 problem):\n" +
                "  - django-platform-bootstrap:stackProjects.qa: names a stack that is not in stacks (staging, production). " +
                "Fix: `pulumi config rm --path stackProjects.qa` or add it with `pulumi config set --path 'stacks[2]' qa`.",
        });
    });

    test("defaults: both stacks in the home project, location = region, derived bucket name", () => {
        const cfg = validateBootstrapConfig({ ...base, [key("githubRepository")]: REPO });
        assert.deepEqual(cfg.stackProjects, { staging: "acme-ops", production: "acme-ops" });
        assert.equal(cfg.location, "europe-west1");
        assert.equal(cfg.stateBucketName, "acme-ops-pulumi-state");
        assert.equal(cfg.keyRingName, "pulumi");
    });
});

test("bootstrap/Pulumi.yaml declares the required key and the defaults of the zod schema, nothing optional", () => {
    const declared = (parse(readFileSync(join(ROOT, "bootstrap", "Pulumi.yaml"), "utf8")) as { config: Record<string, { default?: unknown }> }).config;
    for (const [name, declaration] of Object.entries(declared)) {
        const schema = bootstrapSchema.shape[name as keyof typeof bootstrapSchema.shape];
        assert.ok(schema, `Pulumi.yaml declares ${name}, which bootstrap/config.ts does not read`);
        const parsed = schema.safeParse(undefined);
        if (!parsed.success) {
            assert.equal(declaration.default, undefined, `${name} is required; Pulumi.yaml must not give it a default`);
        } else {
            assert.notEqual(parsed.data, undefined, `${name} is optional without default; declaring it would make Pulumi require it`);
            assert.deepEqual(declaration.default, parsed.data, `the default of ${name} differs between Pulumi.yaml and bootstrap/config.ts`);
        }
    }
    const undeclaredRequiredOrDefaulted = Object.entries(bootstrapSchema.shape)
        .filter(([name, schema]) => !(name in declared) && (!schema.safeParse(undefined).success || schema.safeParse(undefined).data !== undefined))
        .map(([name]) => name);
    assert.deepEqual(undeclaredRequiredOrDefaulted, ["stackProjects"], "only stackProjects (an object, which Pulumi.yaml cannot type) may go undeclared");
});
