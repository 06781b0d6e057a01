/**
 * The bootstrap project (bootstrap/), run under Pulumi mocks with the projects of the main stack
 * files and a separate CI home project: KMS keys, state bucket (soft delete, per-stack conditions),
 * Workload Identity Federation trusting one repository by id, one account per CI trust level bound
 * to one subject, the roles each gets in its stack's project, the printed commands, and exact
 * config error messages. What each GitHub context can reach through all of this is computed in
 * tests/trust-reachability.test.ts; here the rendered pieces are pinned one by one.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { ROLE_IDS, ciAccountId } from "../bootstrap/ciNames";
import { BOOTSTRAP_PROJECT, bootstrapSchema, validateBootstrapConfig } from "../bootstrap/config";
import {
    DEPLOYER_PERMISSIONS,
    GRANTABLE_PROJECT_ROLES,
    PREFLIGHT_ROLE_PERMISSIONS,
    PREVIEWER_PREDEFINED_ROLES,
    deployerPermissions,
    podBinderPermissions,
    previewInvokePermissions,
    resourceIamCondition,
    resourceIamPermissions,
} from "../bootstrap/deployerRoles";
import { MAX_SUBJECT_BYTES, ciContexts, subjectMapping, subjectOf } from "../bootstrap/githubFederation";
import { MAX_ROTATION_SECONDS } from "../bootstrap/secretsKeys";
import { iamStepProjectPermissions } from "../bootstrap/stackProject";
import { objectCondition, stackStatePrefixes } from "../bootstrap/stateBackend";
import { CaptureResult, CapturedResource, findAll, findOne, runProgram } from "../cli/lib/mockRuntime";
import { formatViolations, runPolicies } from "../cli/lib/policyRunner";
import { buildStackExport } from "../cli/lib/stackExport";
import { CelError, evalCel } from "./lib/cel";
import { REPOSITORY, bootstrapConfig } from "./lib/trustRenders";

const ROOT = join(__dirname, "..");
const PROGRAM = join(ROOT, "bootstrap", "index.ts");
const REPO = REPOSITORY.name;
const HOME = "acme-django-ci";
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

describe("bootstrap under mocks, configured like docs/bootstrap.md", () => {
    const staging = stackFile("staging");
    const production = stackFile("production");
    const config = bootstrapConfig({ staging: staging.project, production: production.project });
    let result: CaptureResult;
    let resources: CapturedResource[];
    const email = (id: string) => `${id}@${HOME}.iam.gserviceaccount.com`;
    const member = (id: string) => `serviceAccount:${email(id)}`;
    const DEPLOY = { staging: ciAccountId({ kind: "deploy", stack: "staging" }), production: ciAccountId({ kind: "deploy", stack: "production" }) };
    const IMAGE = ciAccountId({ kind: "image" });
    const PREVIEW = ciAccountId({ kind: "preview", stack: "staging" });
    /** Every grant to `m`, whatever the resource. */
    const grantsTo = (m: string) => resources.filter((r) => /IAMMember|IamMember/.test(r.type) && r.inputs.member === m);

    before(async () => {
        result = await run(config);
        resources = result.resources;
    });

    test("the policy pack finds no mandatory violation", async () => {
        const doc = buildStackExport(result, { project: BOOTSTRAP_PROJECT, stack: "bootstrap", config, secretKeys: [] });
        const mandatory = (await runPolicies(doc)).filter((v) => v.enforcementLevel === "mandatory");
        assert.deepEqual(mandatory, [], formatViolations(mandatory));
    });

    test("prints the exact stack init command of each stack file's secrets provider, and the IAM step's", () => {
        assert.deepEqual(result.stackOutputs.stackInitCommands, {
            staging: `pulumi stack init staging --secrets-provider ${staging.secretsProvider}`,
            production: `pulumi stack init production --secrets-provider ${production.secretsProvider}`,
        });
        assert.deepEqual(result.stackOutputs.iamStackInitCommands, {
            staging: "pulumi -C iam stack init staging --secrets-provider passphrase",
            production: "pulumi -C iam stack init production --secrets-provider passphrase",
        });
    });

    test("prints the login command, the WIF provider and one repository variable per CI account", () => {
        const bucket = `${HOME}-pulumi-state`;
        assert.equal(result.stackOutputs.loginCommand, `pulumi login gs://${bucket}`);
        assert.deepEqual(result.stackOutputs.serviceAccounts, { image: email(IMAGE), deploy: { staging: email(DEPLOY.staging), production: email(DEPLOY.production) }, preview: { staging: email(PREVIEW) } });
        const provider = findOne(resources, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
        assert.equal(result.stackOutputs.workloadIdentityProvider, provider.outputs.name);
        assert.deepEqual(result.stackOutputs.githubVariableCommands, [
            `gh variable set GCP_WORKLOAD_IDENTITY_PROVIDER --repo ${REPO} --body '${String(provider.outputs.name)}'`,
            `gh variable set GCP_IMAGE_SA --repo ${REPO} --body '${email(IMAGE)}'`,
            `gh variable set PULUMI_BACKEND_URL --repo ${REPO} --body 'gs://${bucket}'`,
            `gh variable set IMAGE_REPOSITORY --repo ${REPO} --body '${staging.region}-docker.pkg.dev/${HOME}/django/app'`,
            `gh variable set APP_CONTEXT --repo ${REPO} --body 'app'`,
            `gh variable set GCP_DEPLOY_SA_STAGING --repo ${REPO} --body '${email(DEPLOY.staging)}'`,
            `gh variable set GCP_DEPLOY_SA_PRODUCTION --repo ${REPO} --body '${email(DEPLOY.production)}'`,
            `gh variable set GCP_PREVIEW_SA_STAGING --repo ${REPO} --body '${email(PREVIEW)}'`,
        ]);
    });

    test("prints the GitHub environments: deploys on main only, production and the preview reviewed without self-review", () => {
        const commands = result.stackOutputs.githubEnvironmentCommands as string[];
        const body = (env: string) => JSON.parse(/^echo '(.*)' \| gh api --method PUT repos\/acme\/django-platform\/environments\/(\S+) --input -$/.exec(commands.find((c) => c.includes(`/environments/${env} `)) ?? "")?.[1] ?? "null");
        assert.deepEqual(body("staging"), { reviewers: [], deployment_branch_policy: { protected_branches: false, custom_branch_policies: true } });
        assert.deepEqual(body("production"), { reviewers: [{ type: "Team", id: 1234567 }], prevent_self_review: true, deployment_branch_policy: { protected_branches: false, custom_branch_policies: true } });
        assert.deepEqual(body("preview-staging"), { reviewers: [{ type: "Team", id: 1234567 }], prevent_self_review: true, deployment_branch_policy: null });
        for (const env of ["staging", "production"]) {
            assert.ok(commands.includes(`gh api --method POST repos/${REPO}/environments/${env}/deployment-branch-policies -f name=main -f type=branch`), env);
        }
        assert.equal(commands.length, 5);
    });

    test("the image repository is in the CI home project, where the stack files' images come from", () => {
        for (const image of [staging.image, production.image]) {
            assert.ok(image.startsWith(`${String(result.stackOutputs.imageRepository)}:`), `${image} vs ${String(result.stackOutputs.imageRepository)}`);
        }
        assert.equal(findOne(resources, "gcp:artifactregistry/repository:Repository").inputs.project, HOME);
    });

    test("one protected, rotating ENCRYPT_DECRYPT key per stack, in the stack's own project", () => {
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

    test("each deployer uses its own stack's key only, the previewer only decrypts staging's, on the keys only", () => {
        const grants = findAll(resources, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember");
        const keyId = (stack: string) => findOne(resources, "gcp:kms/cryptoKey:CryptoKey", `secrets-${stack}`).id;
        const of = (m: string) => grants.filter((g) => g.inputs.member === m).map((g) => [g.inputs.cryptoKeyId, g.inputs.role]);
        assert.deepEqual(of(member(DEPLOY.staging)), [[keyId("staging"), "roles/cloudkms.cryptoKeyEncrypterDecrypter"]]);
        assert.deepEqual(of(member(DEPLOY.production)), [[keyId("production"), "roles/cloudkms.cryptoKeyEncrypterDecrypter"]]);
        // Pulumi only decrypts the stack's data key during a preview (pkg/secrets/cloud/manager.go).
        assert.deepEqual(of(member(PREVIEW)), [[keyId("staging"), "roles/cloudkms.cryptoKeyDecrypter"]]);
        assert.equal(grants.length, 3);
        assert.deepEqual(findAll(resources, "gcp:projects/iAMMember:IAMMember").filter((m) => String(m.inputs.role).startsWith("roles/cloudkms")), []);
    });

    test("the state bucket is private, versioned, soft-deleting, logged, pruned carefully and protected", () => {
        const buckets = findAll(resources, "gcp:storage/bucket:Bucket");
        assert.equal(buckets.length, 2);
        for (const b of buckets) {
            assert.equal(b.inputs.uniformBucketLevelAccess, true, b.name);
            assert.equal(b.inputs.publicAccessPrevention, "enforced", b.name);
            assert.deepEqual(b.inputs.versioning, { enabled: true }, b.name);
        }
        const state = findOne(resources, "gcp:storage/bucket:Bucket", "state-bucket");
        assert.equal(state.inputs.name, `${HOME}-pulumi-state`);
        assert.equal(state.inputs.project, HOME);
        assert.equal(state.protect, true);
        assert.equal(state.inputs.forceDestroy, false);
        // A deleted object (also a deleted old version) stays restorable for 30 days: a CI identity
        // that may delete its own history cannot purge it.
        assert.deepEqual(state.inputs.softDeletePolicy, { retentionDurationSeconds: 30 * 86400 });
        assert.equal((state.inputs.logging as { logBucket: string }).logBucket, findOne(resources, "gcp:storage/bucket:Bucket", "state-access-logs").outputs.name);
        const [rule] = state.inputs.lifecycleRules as { condition: Record<string, unknown> }[];
        assert.equal(rule.condition.withState, "ARCHIVED", "only replaced versions may be deleted");
        assert.ok(Number(rule.condition.numNewerVersions) >= 5, "recent versions are always kept");
        const members = findAll(resources, "gcp:storage/bucketIAMMember:BucketIAMMember").map((m) => String(m.inputs.member));
        assert.ok(!members.some((m) => m.startsWith("allUsers") || m.startsWith("allAuthenticatedUsers")));
    });

    test("state grants: each deployer its stack's objects (read/write), the previewer staging's stack file (read), everyone the layout marker", () => {
        const bucket = `${HOME}-pulumi-state`;
        const grant = (name: string) => findOne(resources, "gcp:storage/bucketIAMMember:BucketIAMMember", name);
        const deploy = grant("state-deploy-staging-objects");
        assert.equal(deploy.inputs.role, "roles/storage.objectUser");
        assert.equal(deploy.inputs.member, member(DEPLOY.staging));
        assert.deepEqual((deploy.inputs.condition as { expression: string }).expression, [
            `resource.name.startsWith('projects/_/buckets/${bucket}/objects/.pulumi/stacks/django-platform/staging.json')`,
            `resource.name.startsWith('projects/_/buckets/${bucket}/objects/.pulumi/history/django-platform/staging/')`,
            `resource.name.startsWith('projects/_/buckets/${bucket}/objects/.pulumi/backups/django-platform/staging/')`,
            `resource.name.startsWith('projects/_/buckets/${bucket}/objects/.pulumi/locks/organization/django-platform/staging/')`,
        ].join(" || "));
        assert.equal((grant("state-deploy-staging-meta").inputs.condition as { expression: string }).expression, `resource.name == 'projects/_/buckets/${bucket}/objects/.pulumi/meta.yaml'`);
        assert.equal(grant("state-deploy-staging-meta").inputs.role, "roles/storage.objectViewer");
        const preview = grant("state-preview-staging-objects-read");
        assert.deepEqual([preview.inputs.role, preview.inputs.member, (preview.inputs.condition as { expression: string }).expression], [
            "roles/storage.objectViewer",
            member(PREVIEW),
            `resource.name.startsWith('projects/_/buckets/${bucket}/objects/.pulumi/stacks/django-platform/staging.json')`,
        ]);
        for (const who of [DEPLOY.staging, DEPLOY.production, PREVIEW]) {
            const reads = findAll(resources, "gcp:storage/bucketIAMMember:BucketIAMMember").filter((g) => g.inputs.member === member(who) && g.inputs.condition === undefined);
            assert.deepEqual(reads.map((g) => g.inputs.role), ["roles/storage.legacyBucketReader"], `${who}: listing and the bucket's settings, nothing else unconditional`);
        }
        // The prefixes stop at a dot or a slash: staging never covers a stack named staging-eu.
        const condition = objectCondition(bucket, stackStatePrefixes("django-platform", "staging"));
        const holds = (object: string) => evalCel(condition, { resource: { name: `projects/_/buckets/${bucket}/objects/${object}`, type: "storage.googleapis.com/Object", service: "storage.googleapis.com" } });
        assert.equal(holds(".pulumi/stacks/django-platform/staging.json.bak"), true);
        assert.equal(holds(".pulumi/history/django-platform/staging/staging-1.history.json"), true);
        assert.equal(holds(".pulumi/locks/organization/django-platform/staging/abc.json"), true);
        assert.equal(holds(".pulumi/stacks/django-platform/staging-eu.json"), false);
        assert.equal(holds(".pulumi/history/django-platform/staging-eu/x.json"), false);
        assert.equal(holds(".pulumi/stacks/django-platform/production.json"), false);
        assert.equal(holds(".pulumi/stacks/django-platform-iam/staging.json"), false);
    });

    test("Workload Identity Federation admits one repository and owner, by numeric id", () => {
        const provider = findOne(resources, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
        assert.equal(provider.inputs.attributeCondition, `assertion.repository_owner_id == '${REPOSITORY.ownerId}' && assertion.repository_id == '${REPOSITORY.id}'`);
        assert.deepEqual(provider.inputs.oidc, { issuerUri: "https://token.actions.githubusercontent.com" });
        assert.equal((provider.inputs.attributeMapping as Record<string, string>)["google.subject"], subjectMapping());
        assert.ok(!JSON.stringify(provider.inputs.attributeMapping).includes("assertion.sub"), "never GitHub's sub, whose format changes");
    });

    test("each CI account is impersonated by exactly one federated subject, never a repository, pool or principal set", () => {
        const pool = String(findOne(resources, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool").outputs.name);
        const subject = (s: string) => `principal://iam.googleapis.com/${pool}/subject/repo:${REPOSITORY.id}:${s}`;
        const impersonators = (id: string) => {
            const account = findAll(resources, "gcp:serviceaccount/account:Account").find((a) => a.inputs.accountId === id);
            assert.ok(account, id);
            return findAll(resources, "gcp:serviceaccount/iAMMember:IAMMember").filter((m) => m.inputs.serviceAccountId === account.outputs.name).map((m) => [m.inputs.role, m.inputs.member]);
        };
        assert.deepEqual(impersonators(IMAGE), [["roles/iam.workloadIdentityUser", subject("push:refs/heads/main")]]);
        assert.deepEqual(impersonators(DEPLOY.staging), [["roles/iam.workloadIdentityUser", subject("environment:staging")]]);
        assert.deepEqual(impersonators(DEPLOY.production), [["roles/iam.workloadIdentityUser", subject("environment:production")]]);
        assert.deepEqual(impersonators(PREVIEW), [["roles/iam.workloadIdentityUser", subject("pull_request:environment:preview-staging")]]);
        assert.equal(findAll(resources, "gcp:serviceaccount/iAMMember:IAMMember").length, 4);
        assert.equal(findAll(resources, "gcp:serviceaccount/account:Account").length, 4);
    });

    test("the image pusher can write to the one repository and holds nothing else", () => {
        assert.deepEqual(grantsTo(member(IMAGE)).map((g) => [g.type, g.inputs.role]), [["gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", "roles/artifactregistry.writer"]]);
    });

    test("each deployer's roles are in its own stack's project only, and none administers IAM project-wide", () => {
        const roles = findAll(resources, "gcp:projects/iAMCustomRole:IAMCustomRole");
        for (const [stack, project] of [["staging", staging.project], ["production", production.project]] as const) {
            const projectGrants = grantsTo(member(DEPLOY[stack])).filter((g) => g.type === "gcp:projects/iAMMember:IAMMember");
            assert.deepEqual([...new Set(projectGrants.map((g) => g.inputs.project))], [project]);
            const byRole = Object.fromEntries(projectGrants.map((g) => [String(g.inputs.role), g]));
            assert.deepEqual(Object.keys(byRole).sort(), [`projects/${project}/roles/${ROLE_IDS.deploy}`, `projects/${project}/roles/${ROLE_IDS.preflight}`, `projects/${project}/roles/${ROLE_IDS.resourceIam}`, "roles/container.developer"].sort());
            assert.equal(byRole[`projects/${project}/roles/${ROLE_IDS.deploy}`].inputs.condition, undefined);
            assert.equal((byRole[`projects/${project}/roles/${ROLE_IDS.resourceIam}`].inputs.condition as { expression: string }).expression, resourceIamCondition());
            const role = (id: string) => roles.find((r) => r.inputs.project === project && r.inputs.roleId === id);
            const deploy = role(ROLE_IDS.deploy)?.inputs.permissions as string[];
            assert.deepEqual(deploy, deployerPermissions());
            for (const forbidden of ["resourcemanager.projects.setIamPolicy", "iam.serviceAccounts.setIamPolicy", "iam.serviceAccounts.actAs", "iam.serviceAccounts.create", "iam.serviceAccounts.delete", "storage.buckets.setIamPolicy", "cloudkms.cryptoKeys.setIamPolicy", "artifactregistry.repositories.setIamPolicy", "cloudkms.cryptoKeyVersions.destroy"]) {
                assert.ok(!deploy.includes(forbidden), `the deploy role holds ${forbidden}`);
            }
            assert.ok(!deploy.some((p) => p.startsWith("iam.roles.") || p.startsWith("iam.serviceAccountKeys.") || p.startsWith("iam.workloadIdentityPool")), "cannot edit roles, mint keys or touch the federation");
            assert.ok(deploy.includes("iam.serviceAccounts.get"), "looks the IAM step's accounts up");
            assert.deepEqual(role(ROLE_IDS.resourceIam)?.inputs.permissions, resourceIamPermissions());
            assert.deepEqual(role(ROLE_IDS.podBinder)?.inputs.permissions, podBinderPermissions());
            assert.deepEqual(role(ROLE_IDS.preflight)?.inputs.permissions, [...PREFLIGHT_ROLE_PERMISSIONS]);
            // On the home project: no project role (a pull on the image repository, for preflight's image check, only).
            assert.deepEqual(grantsTo(member(DEPLOY[stack])).filter((g) => g.inputs.project === HOME).map((g) => [g.type, g.inputs.role]), [["gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", "roles/artifactregistry.reader"]]);
        }
        assert.deepEqual(resourceIamPermissions(), ["cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy", "storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"]);
        assert.deepEqual(podBinderPermissions(), ["iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"]);
        for (const group of DEPLOYER_PERMISSIONS) {
            assert.match(group.purpose, /components\/\w+\.ts/);
        }
    });

    test("the resource-IAM condition admits the stack's own buckets and GKE Secrets key, not its secrets key ring or anything else", () => {
        const holds = (name: string, type: string, service: string) => evalCel(resourceIamCondition(), { resource: { name, type, service } });
        const bucket = (b: string) => holds(`projects/_/buckets/${b}`, "storage.googleapis.com/Bucket", "storage.googleapis.com");
        const key = (k: string) => holds(k, "cloudkms.googleapis.com/CryptoKey", "cloudkms.googleapis.com");
        assert.equal(bucket("django-statics-bucket-1a2b3c4"), true);
        assert.equal(bucket("django-media-logs-1a2b3c4"), true);
        assert.equal(bucket(`${HOME}-pulumi-state`), false);
        assert.equal(bucket("acme-backups"), false);
        assert.equal(key(`projects/${staging.project}/locations/europe-west1/keyRings/django-cluster-keyring-1a2b3c4/cryptoKeys/django-cluster-secrets-key-5d6e7f8`), true);
        assert.equal(key(`projects/${staging.project}/locations/europe-west1/keyRings/pulumi/cryptoKeys/staging`), false, "the stack's secrets key");
        assert.equal(key(`projects/${staging.project}/locations/europe-west1/keyRings/other/cryptoKeys/django-cluster-keyring-x`), false);
        // Resource attributes of another service: none, so the condition does not hold.
        assert.equal(holds("", "", ""), false);
    });

    test("the previewer holds only reads: staging's project lookups and Kubernetes reads, staging's stack file, decrypt", () => {
        const grants = grantsTo(member(PREVIEW));
        const READ_ONLY_ROLES = new Set(["roles/container.viewer", "roles/storage.objectViewer", "roles/cloudkms.cryptoKeyDecrypter", "roles/storage.legacyBucketReader"]);
        const role = findAll(resources, "gcp:projects/iAMCustomRole:IAMCustomRole").find((r) => r.inputs.roleId === ROLE_IDS.preview);
        assert.ok(role);
        assert.equal(role.inputs.project, staging.project);
        for (const g of grants) {
            assert.ok(READ_ONLY_ROLES.has(String(g.inputs.role)) || g.inputs.role === role.outputs.name, `${g.name} grants ${String(g.inputs.role)} to the previewer`);
        }
        const permissions = role.inputs.permissions as string[];
        assert.deepEqual(permissions, previewInvokePermissions());
        for (const permission of permissions) {
            assert.match(permission, /^[a-z]+\.[A-Za-z]+\.(get|list)$/, `the previewer role holds ${permission}, which is not a read`);
        }
        for (const { role: r } of PREVIEWER_PREDEFINED_ROLES) {
            assert.ok(READ_ONLY_ROLES.has(r), `${r} is not on the read-only allow-list`);
        }
        assert.deepEqual(grants.filter((g) => g.type === "gcp:projects/iAMMember:IAMMember" && g.inputs.project !== staging.project), [], "nothing in production's project");
        assert.equal(findAll(resources, "gcp:projects/iAMCustomRole:IAMCustomRole").filter((r) => r.inputs.roleId === ROLE_IDS.preview).length, 1, "production is not previewed");
    });

    test("the IAM step's people: its role in each stack project, project grants under a condition on the roles, their state, the repository's IAM", () => {
        const admin = "group:platform-admins@example.com";
        const grants = grantsTo(admin);
        const { unconditional, projectGrants, elsewhere } = iamStepProjectPermissions();
        assert.ok(unconditional.includes("iam.serviceAccounts.create") && unconditional.includes("iam.serviceAccounts.setIamPolicy"));
        assert.deepEqual(projectGrants, ["resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"]);
        assert.deepEqual(elsewhere, ["artifactregistry.repositories.getIamPolicy", "artifactregistry.repositories.setIamPolicy"]);
        for (const project of [staging.project, production.project]) {
            const conditional = grants.find((g) => g.inputs.project === project && String(g.inputs.role).endsWith(ROLE_IDS.iamProjectGrants));
            assert.equal(
                (conditional?.inputs.condition as { expression: string }).expression,
                `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${GRANTABLE_PROJECT_ROLES.map((r) => `'${r}'`).join(", ")}])`,
            );
            assert.ok(grants.some((g) => g.inputs.project === project && String(g.inputs.role).endsWith(ROLE_IDS.iamAdmin) && g.inputs.condition === undefined));
        }
        const state = grants.find((g) => g.name === "state-iam-admin-0-objects");
        assert.ok(String((state?.inputs.condition as { expression: string }).expression).includes("/objects/.pulumi/stacks/django-platform-iam/'"));
        assert.ok(grants.some((g) => g.type === "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember" && String(g.inputs.role).endsWith("RegistryIamGranter")));
        // The condition can be widened from inside by no grantable role.
        for (const role of GRANTABLE_PROJECT_ROLES) {
            assert.ok(!BASIC_ROLES.includes(role) && !/admin/i.test(role), `${role} must not be grantable`);
        }
        // Custom roles are the bootstrap's: the IAM step's runners may not create or rewrite any
        // (iam.roles.update project-wide would reach the deployer's role).
        assert.deepEqual(unconditional.filter((p) => p.startsWith("iam.roles.")), []);
    });

    test("the URL signer role: in each stack project, signBlob and nothing else, granted by nobody here (the IAM step binds it on each signing account)", () => {
        const signers = findAll(resources, "gcp:projects/iAMCustomRole:IAMCustomRole").filter((r) => r.inputs.roleId === ROLE_IDS.urlSigner);
        assert.deepEqual(signers.map((r) => r.inputs.project).sort(), [production.project, staging.project].sort());
        for (const r of signers) {
            assert.deepEqual(r.inputs.permissions, ["iam.serviceAccounts.signBlob"]);
            assert.equal(r.inputs.stage, "GA");
        }
        const names = new Set(signers.map((r) => String(r.outputs.name)));
        assert.ok(!resources.some((r) => names.has(String(r.inputs.role))), "the bootstrap binds the URL signer role nowhere");
    });

    test("no basic roles, no predefined admin roles on a project, no service account keys, nothing granted on the home project", () => {
        const grants = resources.filter((r) => /IAMMember|IamMember/.test(r.type));
        for (const g of grants) {
            assert.ok(!BASIC_ROLES.includes(String(g.inputs.role)), `${g.name} grants ${String(g.inputs.role)}`);
        }
        for (const g of findAll(resources, "gcp:projects/iAMMember:IAMMember")) {
            assert.ok(!/roles\/.*admin/i.test(String(g.inputs.role)), `${g.name} grants the admin role ${String(g.inputs.role)} on a project (CKV_GCP_42)`);
            assert.notEqual(g.inputs.project, HOME, `${g.name} grants on the CI home project`);
        }
        assert.deepEqual(resources.filter((r) => r.type === "gcp:serviceaccount/key:Key"), []);
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
        for (const name of ["state-bucket", "images-repository", "github-pool", "image-account", "deploy-staging-account", "preview-staging-account", "project-staging-deploy-role"]) {
            const r = resources.find((x) => x.name === name);
            assert.ok(r && r.dependencies.some((d) => apis.has(d)), `${name} does not depend on the APIs`);
        }
    });
});

test("adoptSecretsKeys: the rings and keys are imported by their resource names, with the inputs they were created with", async () => {
    const staging = stackFile("staging");
    const production = stackFile("production");
    const base = bootstrapConfig({ staging: staging.project, production: production.project });
    const fresh = await run(base);
    const adopted = await runProgram({ project: BOOTSTRAP_PROJECT, stack: "bootstrap", config: { ...base, [key("adoptSecretsKeys")]: "true" }, program: PROGRAM });
    const kms = (r: CaptureResult) => r.resources.filter((x) => x.type.startsWith("gcp:kms/keyRing") || x.type.startsWith("gcp:kms/cryptoKey:"));
    assert.deepEqual(kms(adopted).map((r) => r.inputs), kms(fresh).map((r) => r.inputs), "an import with other inputs would be a diff");
    assert.deepEqual(kms(adopted).map((r) => r.importId).sort(), [
        `projects/${production.project}/locations/europe-west1/keyRings/pulumi`,
        `projects/${production.project}/locations/europe-west1/keyRings/pulumi/cryptoKeys/production`,
        `projects/${staging.project}/locations/europe-west1/keyRings/pulumi`,
        `projects/${staging.project}/locations/europe-west1/keyRings/pulumi/cryptoKeys/staging`,
    ]);
    assert.deepEqual(kms(fresh).map((r) => r.importId ?? ""), ["", "", "", ""]);
});

test("stateAccessLogs false: no access-log bucket and no grant to Google's log writer group (domain-restricted sharing rejects it)", async () => {
    const base = bootstrapConfig({ staging: "acme-django-staging", production: "acme-django-prod" });
    const withLogs = await run(base);
    const writer = (r: CaptureResult) => findAll(r.resources, "gcp:storage/bucketIAMMember:BucketIAMMember").filter((m) => m.inputs.member === "group:cloud-storage-analytics@google.com");
    assert.equal(writer(withLogs).length, 1, "on by default");
    const without = await run({ ...base, [key("stateAccessLogs")]: "false" });
    assert.deepEqual(writer(without), []);
    assert.deepEqual(findAll(without.resources, "gcp:storage/bucket:Bucket").map((b) => b.name), ["state-bucket"]);
    assert.equal(findOne(without.resources, "gcp:storage/bucket:Bucket", "state-bucket").inputs.logging, undefined);
    assert.throws(() => validateBootstrapConfig({ ...base, [key("stateAccessLogs")]: "no" }), /stateAccessLogs: must be true or false \(got "no"\)\. Fix: `pulumi config set --path stateAccessLogs false`/);
});

describe("bootstrap config errors", () => {
    const base = bootstrapConfig({ staging: "acme-django-staging", production: "acme-django-prod" });
    const without = (...keys: string[]) => Object.fromEntries(Object.entries(base).filter(([k]) => !keys.includes(k)));

    test("a missing repository id stops the program before any resource, naming the fix", async () => {
        await assert.rejects(run(without(key("githubRepositoryId"))), {
            name: "BootstrapConfigError",
            message:
                "Invalid bootstrap configuration (1 problem):\n" +
                "  - django-platform-bootstrap:githubRepositoryId: is required: the repository's numeric id (gh api repos/<owner>/<name> --jq .id) (got nothing). " +
                "Fix: `pulumi config set --path githubRepositoryId 123456789`.",
        });
    });

    test("a stack in the CI home project is refused: key, value and fix", () => {
        assert.throws(() => validateBootstrapConfig({ ...base, [key("stackProjects")]: JSON.stringify({ staging: "acme-django-ci", production: "acme-django-prod" }) }), {
            message:
                "Invalid bootstrap configuration (1 problem):\n" +
                '  - django-platform-bootstrap:stackProjects.staging: is the CI home project "acme-django-ci" (gcp:project), which holds the state bucket, the registry and the CI identities; no stack may deploy into it. ' +
                "Fix: `pulumi config set --path stackProjects.staging acme-django-staging` (a project of its own), or move the home project with `pulumi config set gcp:project acme-django-ci`.",
        });
    });

    test("a stack without a project, and two stacks sharing one, are refused", () => {
        assert.throws(() => validateBootstrapConfig({ ...base, [key("stackProjects")]: JSON.stringify({ production: "acme-django-prod" }) }), /stackProjects\.staging: is required: the project stack staging deploys into, which must not be the CI home project \(got nothing\)\. Fix: `pulumi config set --path stackProjects\.staging acme-django-staging`/);
        assert.throws(() => validateBootstrapConfig({ ...base, [key("stackProjects")]: JSON.stringify({ staging: "acme-shared", production: "acme-shared" }) }), /stackProjects\.production: is "acme-shared", the project of stack staging too; a deployer's project-wide rights would reach the other stack\. Fix: /);
    });

    test("reviewers are required when production or a preview needs approval", () => {
        assert.throws(() => validateBootstrapConfig(without(key("reviewers"))), /reviewers: is required: who approves the jobs of the GitHub environments production, preview-staging \(got nothing\)\. Fix: `pulumi config set --path 'reviewers\[0\]' Team:<id>`/);
        const cfg = validateBootstrapConfig({ ...without(key("reviewers")), [key("reviewedStacks")]: "[]", [key("previewStacks")]: "[]" });
        assert.deepEqual([cfg.reviewedStacks, cfg.previewStacks, cfg.reviewers], [[], [], []]);
    });

    test("bad values are all reported at once with their fixes", () => {
        assert.throws(
            () =>
                validateBootstrapConfig({
                    ...base,
                    [key("githubRepository")]: "django-platform",
                    [key("githubOwnerId")]: "acme",
                    [key("stacks")]: JSON.stringify(["staging", "Prod"]),
                    [key("iamAdmins")]: JSON.stringify(["serviceAccount:ci@x.iam.gserviceaccount.com"]),
                    [key("githubRepo")]: "acme/app",
                }),
            {
                message:
                    "Invalid bootstrap configuration (5 problems):\n" +
                    "  - django-platform-bootstrap:githubRepo: unknown key (got \"acme/app\"). Fix: check the spelling, or remove it with `pulumi config rm githubRepo`.\n" +
                    "  - django-platform-bootstrap:githubRepository: must be a GitHub repository as owner/name (got \"django-platform\"). Fix: `pulumi config set --path githubRepository acme/django-platform`.\n" +
                    "  - django-platform-bootstrap:githubOwnerId: must be the owner's numeric id (got \"acme\"). Fix: `pulumi config set --path githubOwnerId 12345678`.\n" +
                    "  - django-platform-bootstrap:stacks.1: each stack name must be lower case letters, digits and dashes, starting with a letter (got \"Prod\"). Fix: `pulumi config set --path 'stacks[0]' staging`.\n" +
                    "  - django-platform-bootstrap:iamAdmins.0: each IAM admin must be user:<email> or group:<email> (a person, never a service account) (got \"serviceAccount:ci@x.iam.gserviceaccount.com\"). Fix: `pulumi config set --path 'iamAdmins[0]' group:platform-admins@example.com`.",
            },
        );
    });

    test("stackProjects, previewStacks and reviewedStacks may only name configured stacks", () => {
        assert.throws(() => validateBootstrapConfig({ ...base, [key("stackProjects")]: JSON.stringify({ staging: "acme-django-staging", production: "acme-django-prod", qa: "acme-qa-1" }) }), /stackProjects\.qa: names a stack that is not in stacks \(staging, production\)\. Fix: `pulumi config rm --path stackProjects\.qa` or add it with `pulumi config set --path 'stacks\[2\]' qa`\./);
        assert.throws(() => validateBootstrapConfig({ ...base, [key("previewStacks")]: JSON.stringify(["qa"]) }), /previewStacks\.0: names a stack that is not in stacks \(staging, production\)\. Fix: `pulumi config set --path 'previewStacks\[0\]' staging`\./);
    });

    test("defaults: location = region, derived bucket name, staging previewed, production reviewed", () => {
        const cfg = validateBootstrapConfig(base);
        assert.deepEqual(cfg.stackProjects, { staging: "acme-django-staging", production: "acme-django-prod" });
        assert.equal(cfg.location, "europe-west1");
        assert.equal(cfg.stateBucketName, "acme-django-ci-pulumi-state");
        assert.equal(cfg.keyRingName, "pulumi");
        assert.deepEqual(cfg.previewStacks, ["staging"]);
        assert.deepEqual(cfg.reviewedStacks, ["production"]);
        assert.equal(cfg.appContext, "app");
        assert.equal(cfg.adoptSecretsKeys, false);
    });

    test("the longest stack name and repository id the config accepts still map to subjects within Google's 127 bytes", () => {
        const longest = `s${"t".repeat(62)}`;
        const cfg = validateBootstrapConfig({ ...base, [key("stacks")]: JSON.stringify([longest]), [key("stackProjects")]: JSON.stringify({ [longest]: "acme-long-1" }), [key("githubRepositoryId")]: "12345678901234567890", [key("previewStacks")]: JSON.stringify([longest]), [key("reviewedStacks")]: "[]" });
        const subjects = Object.values(ciContexts(cfg.stacks, cfg.previewStacks)).map((c) => subjectOf(cfg.githubRepositoryId, c));
        assert.equal(Math.max(...subjects.map((x) => Buffer.byteLength(x))), 122);
        assert.ok(subjects.every((x) => Buffer.byteLength(x) <= MAX_SUBJECT_BYTES));
        assert.throws(() => validateBootstrapConfig({ ...base, [key("stacks")]: JSON.stringify([`${longest}x`]) }), /stacks\.0: each stack name must be/);
        assert.throws(() => validateBootstrapConfig({ ...base, [key("githubRepositoryId")]: "123456789012345678901" }), /githubRepositoryId: must be the repository's numeric id/);
    });

    test("the app build context must stay inside the repository", () => {
        for (const bad of ["../other", "/abs", "app/../..", ".hidden"]) {
            assert.throws(() => validateBootstrapConfig({ ...base, [key("appContext")]: bad }), /appContext: must be a directory relative to the repository root/, bad);
        }
        assert.equal(validateBootstrapConfig({ ...base, [key("appContext")]: "src/web" }).appContext, "src/web");
    });
});

test("the CEL evaluator is strict where CEL is: a missing claim is an error, has() is not, errors absorbed by && and ||", () => {
    assert.throws(() => evalCel("assertion.environment", { assertion: {} }), CelError);
    assert.equal(evalCel("has(assertion.environment) ? 'yes' : assertion.environment", { assertion: { environment: "x" } }), "yes");
    assert.equal(evalCel("'a' + ('b' + assertion.ref)", { assertion: { ref: "c" } }), "abc");
    assert.equal(evalCel("assertion.environment == 'x' || true", { assertion: {} }), true);
    assert.equal(evalCel("false && assertion.environment == 'x'", { assertion: {} }), false);
    assert.throws(() => evalCel("true && assertion.environment == 'x'", { assertion: {} }), CelError);
    assert.equal(evalCel("resource.name.extract('/keyRings/{ring}/').startsWith('d')", { resource: { name: "projects/p/locations/l/keyRings/django/cryptoKeys/k", type: "", service: "" } }), true);
    assert.equal(evalCel("api.getAttribute('x', []).hasOnly(['a'])", {}), true);
    assert.equal(evalCel("api.getAttribute('x', []).hasOnly(['a'])", { apiAttributes: { x: ["b"] } }), false);
});

test("bootstrap/Pulumi.yaml declares the required keys and the defaults of the zod schema, nothing optional", () => {
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
