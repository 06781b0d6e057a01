/**
 * The bootstrap project (bootstrap/), run under Pulumi mocks with the projects of the main stack
 * files: KMS keys, state bucket, WIF restricted to one repository, a deployer without basic or
 * admin roles that only main-branch and environment runs can impersonate, a read-only previewer for
 * pull requests, the printed commands, and exact config error messages.
 *
 * Who may impersonate whom is checked by evaluating the provider's rendered attribute condition and
 * mapping (a small evaluator of the CEL they use) on sample GitHub OIDC claims, then matching the
 * resulting subject against each service account's `roles/iam.workloadIdentityUser` members —
 * including the claims of the jobs in .github/workflows.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { GITHUB_VARIABLES } from "../bootstrap/commands";
import { BOOTSTRAP_PROJECT, bootstrapSchema, validateBootstrapConfig } from "../bootstrap/config";
import { DEPLOYER_PERMISSIONS, GRANTABLE_PROJECT_ROLES, PREFLIGHT_ROLE_PERMISSIONS, PREVIEWER_PREDEFINED_ROLES, deployerPermissions, previewInvokePermissions } from "../bootstrap/deployerRoles";
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

// ---------------------------------------------------------------------------------------------
// Workload Identity Federation, evaluated offline.

/** The claims of a GitHub Actions OIDC token (all strings). */
type Claims = Readonly<Record<string, string>>;

/** A CEL runtime error, e.g. reading a claim the token does not carry ("no such key"). */
class CelError extends Error {}

/**
 * Evaluates the CEL subset the provider uses — string literals, `assertion.<claim>`,
 * `has(assertion.<claim>)`, `+` on strings, `==`, `!=`, `!`, `&&`, `||`, `? :`, parentheses —
 * with CEL's semantics for what matters here: reading a missing claim is an error, `has()` is not,
 * `? :` evaluates one branch only, operands of `+`/`? :`/`&&` must have the right type.
 */
function evalCel(expression: string, assertion: Claims): string | boolean {
    const tokens: string[] = [];
    const lexer = /\s*(?:('(?:[^'\\]|\\.)*')|(==|!=|&&|\|\||[?:()+.!])|([A-Za-z_][A-Za-z0-9_]*))/y;
    while (lexer.lastIndex < expression.trimEnd().length) {
        const at = lexer.lastIndex;
        const m = lexer.exec(expression);
        if (!m) {
            throw new Error(`cannot read CEL at ${at}: ${expression.slice(at, at + 20)}`);
        }
        tokens.push(m[1] ?? m[2] ?? m[3]);
    }
    let i = 0;
    const peek = () => tokens[i];
    const next = () => tokens[i++];
    const expect = (t: string) => {
        if (next() !== t) {
            throw new Error(`expected ${t} at token ${i - 1} of ${expression}`);
        }
    };
    type Node = () => string | boolean;
    const bool = (v: string | boolean): boolean => {
        if (typeof v !== "boolean") {
            throw new CelError(`no such overload: boolean expected, got ${JSON.stringify(v)}`);
        }
        return v;
    };
    const str = (v: string | boolean): string => {
        if (typeof v !== "string") {
            throw new CelError(`no such overload: string expected, got ${String(v)}`);
        }
        return v;
    };
    const claimPath = (): string => {
        if (next() !== "assertion") {
            throw new Error(`only assertion.<claim> is supported in ${expression}`);
        }
        expect(".");
        return next();
    };
    const ternary = (): Node => {
        const cond = or();
        if (peek() !== "?") {
            return cond;
        }
        next();
        const then = ternary();
        expect(":");
        const otherwise = ternary();
        return () => (bool(cond()) ? then() : otherwise());
    };
    const or = (): Node => {
        let left = and();
        while (peek() === "||") {
            next();
            const [l, r] = [left, and()];
            left = () => bool(l()) || bool(r());
        }
        return left;
    };
    const and = (): Node => {
        let left = equality();
        while (peek() === "&&") {
            next();
            const [l, r] = [left, equality()];
            left = () => bool(l()) && bool(r());
        }
        return left;
    };
    const equality = (): Node => {
        let left = sum();
        while (peek() === "==" || peek() === "!=") {
            const op = next();
            const [l, r] = [left, sum()];
            left = op === "==" ? () => l() === r() : () => l() !== r();
        }
        return left;
    };
    const sum = (): Node => {
        let left = unary();
        while (peek() === "+") {
            next();
            const [l, r] = [left, unary()];
            left = () => str(l()) + str(r());
        }
        return left;
    };
    const unary = (): Node => {
        if (peek() === "!") {
            next();
            const operand = unary();
            return () => !bool(operand());
        }
        return primary();
    };
    const primary = (): Node => {
        const t = peek();
        if (t?.startsWith("'")) {
            next();
            const value = t.slice(1, -1).replace(/\\(.)/g, "$1");
            return () => value;
        }
        if (t === "(") {
            next();
            const inner = ternary();
            expect(")");
            return inner;
        }
        if (t === "has") {
            next();
            expect("(");
            const claim = claimPath();
            expect(")");
            return () => Object.hasOwn(assertion, claim);
        }
        const claim = claimPath();
        return () => {
            if (!Object.hasOwn(assertion, claim)) {
                throw new CelError(`no such key: ${claim}`);
            }
            return assertion[claim];
        };
    };
    const root = ternary();
    if (i !== tokens.length) {
        throw new Error(`unexpected ${tokens[i]} in ${expression}`);
    }
    return root();
}

/** What Google's STS does with a token: the condition must hold and every mapping must evaluate. */
function exchange(provider: CapturedResource, claims: Claims): Record<string, string> {
    const condition = String(provider.inputs.attributeCondition);
    if (evalCel(condition, claims) !== true) {
        throw new Error(`rejected by the attribute condition ${condition}`);
    }
    const mapped: Record<string, string> = {};
    for (const [attribute, expression] of Object.entries(provider.inputs.attributeMapping as Record<string, string>)) {
        const value = evalCel(expression, claims);
        assert.equal(typeof value, "string", `${attribute} must map to a string`);
        assert.ok(Buffer.byteLength(value as string) <= 127, `${attribute} = ${String(value)} exceeds 127 bytes`);
        mapped[attribute] = value as string;
    }
    return mapped;
}

/** A token of {@link REPO}'s workflows with the claims every GitHub token carries, plus `extra`. */
function token(extra: Claims): Claims {
    return { repository: REPO, repository_owner: "acme", repository_id: "456", repository_owner_id: "123", actor: "octocat", run_id: "1", ...extra };
}

/** Whether an IAM member names the exchanged identity (`principal://…/subject/…`, `principalSet://…`). */
function memberMatches(member: string, poolName: string, mapped: Record<string, string>): boolean {
    const prefix = `//iam.googleapis.com/${poolName}/`;
    if (member === `principalSet:${prefix}*`) {
        return true;
    }
    if (member.startsWith(`principal:${prefix}subject/`)) {
        return member.slice(`principal:${prefix}subject/`.length) === mapped["google.subject"];
    }
    const attributeSet = `principalSet:${prefix}attribute.`;
    if (member.startsWith(attributeSet)) {
        const rest = member.slice(attributeSet.length);
        const slash = rest.indexOf("/");
        return slash > 0 && mapped[`attribute.${rest.slice(0, slash)}`] === rest.slice(slash + 1);
    }
    return false;
}

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

    /** The `roles/iam.workloadIdentityUser` members on the `<component>-account` service account. */
    const impersonators = (component: "deployer" | "previewer"): string[] => {
        const account = findOne(resources, "gcp:serviceaccount/account:Account", `${component}-account`);
        return findAll(resources, "gcp:serviceaccount/iAMMember:IAMMember")
            .filter((m) => m.inputs.serviceAccountId === account.outputs.name && m.inputs.role === "roles/iam.workloadIdentityUser")
            .map((m) => String(m.inputs.member));
    };
    /** Whether a job with these claims can impersonate the account (exchange + binding). */
    const canBecome = (component: "deployer" | "previewer", claims: Claims): boolean => {
        const provider = findOne(resources, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
        const pool = String(findOne(resources, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool").outputs.name);
        const mapped = exchange(provider, claims);
        return impersonators(component).some((m) => memberMatches(m, pool, mapped));
    };

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

    test("prints the login command, the WIF provider, the deployer and the previewer for the workflows", () => {
        const bucket = `${staging.project}-pulumi-state`;
        assert.equal(result.stackOutputs.loginCommand, `pulumi login gs://${bucket}`);
        assert.equal(result.stackOutputs.deployerServiceAccount, `github-deployer@${staging.project}.iam.gserviceaccount.com`);
        assert.equal(result.stackOutputs.previewerServiceAccount, `github-previewer@${staging.project}.iam.gserviceaccount.com`);
        const provider = findOne(resources, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
        assert.equal(result.stackOutputs.workloadIdentityProvider, provider.outputs.name);
        assert.deepEqual(result.stackOutputs.githubVariableCommands, [
            `gh variable set GCP_WORKLOAD_IDENTITY_PROVIDER --repo ${REPO} --body '${String(provider.outputs.name)}'`,
            `gh variable set GCP_SERVICE_ACCOUNT --repo ${REPO} --body 'github-deployer@${staging.project}.iam.gserviceaccount.com'`,
            `gh variable set GCP_PREVIEW_SERVICE_ACCOUNT --repo ${REPO} --body 'github-previewer@${staging.project}.iam.gserviceaccount.com'`,
            `gh variable set PULUMI_BACKEND_URL --repo ${REPO} --body 'gs://${bucket}'`,
            `gh variable set IMAGE_REPOSITORY --repo ${REPO} --body '${staging.region}-docker.pkg.dev/${staging.project}/django/app'`,
            `gh variable set APP_CONTEXT --repo ${REPO} --body 'app'`,
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

    test("the deployer may use the stack keys, the previewer only decrypt with staging's, on the keys only", () => {
        const grants = findAll(resources, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember");
        const keyId = (stack: string) => findOne(resources, "gcp:kms/cryptoKey:CryptoKey", `secrets-${stack}`).id;
        const deployer = grants.filter((g) => g.inputs.member === `serviceAccount:github-deployer@${staging.project}.iam.gserviceaccount.com`);
        assert.deepEqual(deployer.map((g) => g.inputs.cryptoKeyId).sort(), [keyId("production"), keyId("staging")].sort());
        assert.ok(deployer.every((g) => g.inputs.role === "roles/cloudkms.cryptoKeyEncrypterDecrypter"));
        // Pulumi only decrypts the stack's data key during a preview (pkg/secrets/cloud/manager.go).
        const previewer = grants.filter((g) => g.inputs.member === `serviceAccount:github-previewer@${staging.project}.iam.gserviceaccount.com`);
        assert.deepEqual(previewer.map((g) => [g.inputs.cryptoKeyId, g.inputs.role]), [[keyId("staging"), "roles/cloudkms.cryptoKeyDecrypter"]]);
        assert.equal(grants.length, deployer.length + previewer.length);
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
        // A preview on a gs:// backend takes no lock and writes nothing (pulumi/pulumi#8642): read only.
        const previewGrant = findOne(resources, "gcp:storage/bucketIAMMember:BucketIAMMember", "previewer-state-reader");
        assert.equal(previewGrant.inputs.role, "roles/storage.objectViewer");
        assert.equal(previewGrant.inputs.bucket, state.outputs.name);
        assert.equal(previewGrant.inputs.condition, undefined);
        const members = findAll(resources, "gcp:storage/bucketIAMMember:BucketIAMMember").map((m) => String(m.inputs.member));
        assert.ok(!members.some((m) => m.startsWith("allUsers") || m.startsWith("allAuthenticatedUsers")));
    });

    test("Workload Identity Federation admits exactly one repository", () => {
        const provider = findOne(resources, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
        assert.equal(provider.inputs.attributeCondition, `assertion.repository == '${REPO}'`);
        assert.deepEqual(provider.inputs.oidc, { issuerUri: "https://token.actions.githubusercontent.com" });
        assert.throws(() => exchange(provider, token({ repository: "evil/django-platform", event_name: "push", ref: "refs/heads/main" })), /rejected by the attribute condition/);
    });

    test("each account is impersonated by exact federated subjects of the repository, never a whole repository or pool", () => {
        const pool = String(findOne(resources, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool").outputs.name);
        const subject = (s: string) => `principal://iam.googleapis.com/${pool}/subject/repo:${REPO}:${s}`;
        assert.deepEqual(impersonators("deployer").sort(), [subject("environment:production"), subject("environment:staging"), subject("push:refs/heads/main")].sort());
        assert.deepEqual(impersonators("previewer"), [subject("pull_request")]);
        const all = findAll(resources, "gcp:serviceaccount/iAMMember:IAMMember");
        assert.equal(all.length, 4);
        assert.ok(all.every((m) => m.inputs.role === "roles/iam.workloadIdentityUser"));
    });

    describe("who can become which account, on sample GitHub OIDC tokens", () => {
        // Claims as GitHub documents them (docs.github.com "OpenID Connect reference"): every token
        // carries repository, repository_owner, ref, event_name, sub; `environment` only when the
        // job references one. The mapping must not depend on `sub`, whose format changes.
        const runs: Record<string, { claims: Claims; deployer: boolean; previewer: boolean }> = {
            "push to main, no environment (deploy.yml image job)": { claims: token({ event_name: "push", ref: "refs/heads/main", sub: `repo:${REPO}:ref:refs/heads/main` }), deployer: true, previewer: false },
            "environment staging, push to main": { claims: token({ event_name: "push", ref: "refs/heads/main", environment: "staging", sub: `repo:${REPO}:environment:staging` }), deployer: true, previewer: false },
            "environment production, push to main": { claims: token({ event_name: "push", ref: "refs/heads/main", environment: "production", sub: `repo:${REPO}:environment:production` }), deployer: true, previewer: false },
            "environment production, immutable subject claims": { claims: token({ event_name: "push", ref: "refs/heads/main", environment: "production", sub: "repo:acme@123/django-platform@456:environment:production" }), deployer: true, previewer: false },
            "environment production, manual run on main": { claims: token({ event_name: "workflow_dispatch", ref: "refs/heads/main", environment: "production", sub: `repo:${REPO}:environment:production` }), deployer: true, previewer: false },
            "pull_request from a branch of the repository": { claims: token({ event_name: "pull_request", ref: "refs/pull/7/merge", head_ref: "feature", base_ref: "main", sub: `repo:${REPO}:pull_request` }), deployer: false, previewer: true },
            "pull_request whose job names environment production": { claims: token({ event_name: "pull_request", ref: "refs/pull/7/merge", environment: "production", sub: `repo:${REPO}:environment:production` }), deployer: false, previewer: true },
            "push to another branch": { claims: token({ event_name: "push", ref: "refs/heads/feature", sub: `repo:${REPO}:ref:refs/heads/feature` }), deployer: false, previewer: false },
            "manual run on a branch naming environment production": { claims: token({ event_name: "workflow_dispatch", ref: "refs/heads/feature", environment: "production", sub: `repo:${REPO}:environment:production` }), deployer: false, previewer: false },
            "pull_request_target (runs on main)": { claims: token({ event_name: "pull_request_target", ref: "refs/heads/main", sub: `repo:${REPO}:pull_request` }), deployer: false, previewer: false },
            "schedule on main": { claims: token({ event_name: "schedule", ref: "refs/heads/main", sub: `repo:${REPO}:ref:refs/heads/main` }), deployer: false, previewer: false },
        };
        for (const [run, { claims, deployer, previewer }] of Object.entries(runs)) {
            test(`${run}: deployer ${deployer ? "yes" : "no"}, previewer ${previewer ? "yes" : "no"}`, () => {
                assert.deepEqual({ deployer: canBecome("deployer", claims), previewer: canBecome("previewer", claims) }, { deployer, previewer });
            });
        }

        test("the evaluator is strict: reading a claim the token lacks fails, as in CEL", () => {
            assert.throws(() => evalCel("assertion.environment", token({})), CelError);
            assert.equal(evalCel("has(assertion.environment) ? 'yes' : assertion.environment", token({ environment: "x" })), "yes");
            assert.equal(evalCel("'a' + ('b' + assertion.ref)", token({ ref: "c" })), "abc");
        });

        test("the jobs of the workflows authenticate as the account their token can become", () => {
            const dir = join(ROOT, ".github", "workflows");
            let checked = 0;
            for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
                const workflow = parse(readFileSync(join(dir, file), "utf8")) as {
                    on: Record<string, { branches?: string[] } | null>;
                    jobs: Record<string, { environment?: string | { name: string }; steps: { uses?: string; with?: Record<string, string> }[] }>;
                };
                for (const [name, job] of Object.entries(workflow.jobs)) {
                    const auth = job.steps.find((s) => s.uses?.startsWith("google-github-actions/auth@"));
                    if (!auth) {
                        continue;
                    }
                    const account = auth.with?.service_account === `\${{ vars.${GITHUB_VARIABLES.serviceAccount} }}` ? "deployer" : auth.with?.service_account === `\${{ vars.${GITHUB_VARIABLES.previewServiceAccount} }}` ? "previewer" : undefined;
                    assert.ok(account, `${file} job ${name} authenticates as ${String(auth.with?.service_account)}`);
                    const environment = typeof job.environment === "string" ? job.environment : job.environment?.name;
                    for (const [event, filter] of Object.entries(workflow.on)) {
                        const refs = event === "pull_request" ? ["refs/pull/1/merge"] : (filter?.branches ?? ["main"]).map((b) => `refs/heads/${b}`);
                        for (const ref of refs) {
                            const claims = token({ event_name: event, ref, ...(environment ? { environment } : {}) });
                            assert.ok(canBecome(account, claims), `${file} job ${name} (${event} on ${ref}) cannot become the ${account}`);
                            if (event === "pull_request") {
                                assert.ok(!canBecome("deployer", claims), `${file} job ${name}: a pull request run could become the deployer`);
                            }
                            checked++;
                        }
                    }
                }
            }
            assert.ok(checked >= 4, `checked ${checked} job/event pairs`);
        });
    });

    test("the previewer holds only read-only roles: reads in staging's project, object read on state, decrypt", () => {
        const member = `serviceAccount:github-previewer@${staging.project}.iam.gserviceaccount.com`;
        const grants = resources.filter((r) => /IAMMember|IamMember|IAMBinding|IamBinding/.test(r.type) && (r.inputs.member === member || (r.inputs.members as string[] | undefined)?.includes(member)));
        const customRoles = findAll(resources, "gcp:projects/iAMCustomRole:IAMCustomRole").filter((r) => r.inputs.roleId === "djangoPlatformPreviewer");
        // Allow-list: read-only predefined roles (none holds a create/update/delete/set permission)
        // and the custom previewer role, whose permissions must all be get/list.
        const READ_ONLY_ROLES = new Set(["roles/container.viewer", "roles/storage.objectViewer", "roles/cloudkms.cryptoKeyDecrypter"]);
        const customRoleNames = new Set(customRoles.map((r) => r.outputs.name));
        for (const g of grants) {
            assert.ok(READ_ONLY_ROLES.has(String(g.inputs.role)) || customRoleNames.has(g.inputs.role), `${g.name} grants ${String(g.inputs.role)} to the previewer`);
            assert.equal(g.inputs.condition, undefined, g.name);
        }
        assert.equal(customRoles.length, 1, "one custom previewer role, in staging's project only");
        assert.equal(customRoles[0].inputs.project, staging.project);
        const permissions = customRoles[0].inputs.permissions as string[];
        assert.deepEqual(permissions, previewInvokePermissions());
        for (const permission of permissions) {
            assert.match(permission, /^[a-z]+\.[A-Za-z]+\.(get|list)$/, `the previewer role holds ${permission}, which is not a read`);
        }
        assert.ok(!permissions.includes("redis.instances.getAuthString"));
        for (const { role } of PREVIEWER_PREDEFINED_ROLES) {
            assert.ok(READ_ONLY_ROLES.has(role), `${role} is not on the read-only allow-list`);
        }
        const projectGrants = grants.filter((g) => g.type === "gcp:projects/iAMMember:IAMMember");
        assert.deepEqual(projectGrants.map((g) => g.inputs.project).filter((p) => p !== staging.project), [], "nothing in production's project");
        assert.deepEqual(projectGrants.map((g) => g.inputs.role).sort(), [customRoles[0].outputs.name, ...PREVIEWER_PREDEFINED_ROLES.map((r) => r.role)].sort());
        assert.deepEqual(grants.map((g) => g.type).sort(), [
            "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
            ...projectGrants.map(() => "gcp:projects/iAMMember:IAMMember"),
            "gcp:storage/bucketIAMMember:BucketIAMMember",
        ].sort());
        // Nobody else may act as the previewer, and the previewer may act as nobody.
        assert.deepEqual(impersonators("previewer").length, 1);
        assert.ok(!grants.some((g) => g.type.startsWith("gcp:serviceaccount/")), "the previewer may not impersonate anything");
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

    test("the deployer can read what the CI preflight asks: a read-only role in each stack project, the state bucket's settings", () => {
        const account = findOne(resources, "gcp:serviceaccount/account:Account", "deployer-account");
        const member = `serviceAccount:${String(account.outputs.email)}`;
        const roles = findAll(resources, "gcp:projects/iAMCustomRole:IAMCustomRole").filter((r) => r.inputs.roleId === "djangoPlatformPreflight");
        assert.deepEqual(roles.map((r) => r.inputs.project).sort(), [production.project, staging.project].sort());
        for (const role of roles) {
            assert.deepEqual(role.inputs.permissions, [...PREFLIGHT_ROLE_PERMISSIONS]);
            const binding = findAll(resources, "gcp:projects/iAMMember:IAMMember").find((m) => m.inputs.role === role.outputs.name && m.inputs.project === role.inputs.project);
            assert.ok(binding, `the preflight role in ${String(role.inputs.project)} is bound`);
            assert.equal(binding.inputs.member, member);
            assert.equal(binding.inputs.condition, undefined);
        }
        const bucketRead = findOne(resources, "gcp:storage/bucketIAMMember:BucketIAMMember", "state-deployer-bucket-read");
        assert.equal(bucketRead.inputs.role, "roles/storage.legacyBucketReader");
        assert.equal(bucketRead.inputs.bucket, findOne(resources, "gcp:storage/bucket:Bucket", "state-bucket").outputs.name);
        assert.equal(bucketRead.inputs.member, member);
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
        for (const name of ["state-bucket", "images-repository", "github-pool", "deployer-account", "previewer-account"]) {
            const r = resources.find((x) => x.name === name);
            assert.ok(r && r.dependencies.some((d) => apis.has(d)), `${name} does not depend on the APIs`);
        }
    });
});

test("stateAccessLogs false: no access-log bucket and no grant to Google's log writer group (domain-restricted sharing rejects it)", async () => {
    const staging = stackFile("staging");
    const base = { "gcp:project": staging.project, "gcp:region": staging.region, [key("githubRepository")]: REPO };
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
        assert.equal(cfg.previewerAccountId, "github-previewer");
        assert.deepEqual(cfg.previewStacks, ["staging"]);
        assert.equal(cfg.appContext, "app");
        assert.deepEqual(validateBootstrapConfig({ ...base, [key("githubRepository")]: REPO, [key("stacks")]: JSON.stringify(["qa", "live"]) }).previewStacks, ["qa"]);
    });

    test("the previewer: only configured stacks, never the deployer's account", () => {
        assert.throws(
            () =>
                validateBootstrapConfig({
                    ...base,
                    [key("githubRepository")]: REPO,
                    [key("previewStacks")]: JSON.stringify(["qa"]),
                    [key("previewerAccountId")]: "github-deployer",
                }),
            {
                message:
                    "Invalid bootstrap configuration (2 problems):\n" +
                    "  - django-platform-bootstrap:previewStacks.0: names a stack that is not in stacks (staging, production). Fix: `pulumi config set --path 'previewStacks[0]' staging`.\n" +
                    "  - django-platform-bootstrap:previewerAccountId: must differ from deployerAccountId (github-deployer): pull requests must not get the deployer. Fix: `pulumi config set --path previewerAccountId github-previewer`.",
            },
        );
    });

    test("a repository whose federated subjects exceed Google's 127 bytes is refused", () => {
        const repository = `acme/${"d".repeat(100)}`;
        assert.throws(() => validateBootstrapConfig({ ...base, [key("githubRepository")]: repository }), {
            message: new RegExp(
                `githubRepository: the federated subject "repo:${repository}:environment:production" is ${5 + repository.length + 23} bytes, more than the 127 Google accepts`,
            ),
        });
    });

    test("the app build context must stay inside the repository", () => {
        for (const bad of ["../other", "/abs", "app/../..", ".hidden"]) {
            assert.throws(() => validateBootstrapConfig({ ...base, [key("githubRepository")]: REPO, [key("appContext")]: bad }), /appContext: must be a directory relative to the repository root/, bad);
        }
        assert.equal(validateBootstrapConfig({ ...base, [key("githubRepository")]: REPO, [key("appContext")]: "src/web" }).appContext, "src/web");
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
