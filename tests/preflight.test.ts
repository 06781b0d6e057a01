/**
 * `npm run preflight` against a fake of Google's REST APIs on 127.0.0.1 (tests/lib/fakeGoogle.ts)
 * through DJANGO_PLATFORM_GOOGLE_API_BASE, each scenario with its own fake.
 *
 * One scenario ("everything broken") runs the real CLI as a subprocess (`node --import tsx
 * cli/preflight.ts …`), to prove the wiring end to end: argv parsing, the environment read from
 * process.env, rendering the stack in a fresh process, the exit code, and a stdout that holds the
 * report and nothing else. The other scenarios call the CLI's own `main(argv, io, { env })` in this
 * process — the same argument parsing and checks, with a captured io and an env object instead of
 * process.env — one at a time: the Pulumi mock runtime that renders the stack is process-wide, so two
 * renders must never overlap. Nothing is shared between them but loaded modules: each gets a fresh
 * env object, fake and io, and `main` keeps no state (the render is per call, and re-requires the
 * index.ts program). The pure parts (location values, URL rewriting, token sources, batching) are
 * tested in process too.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { deployerPermissions } from "../bootstrap/deployerRoles";
import { EXIT_PARTIAL, main } from "../cli/preflight";
import { CHECK_IDS } from "../cli/lib/preflight/types";
import { principalServiceAccount, resolveToken } from "../cli/lib/preflight/credentials";
import { AuthError, checkApiBase, GoogleClient, rewriteUrl, UnreachableError } from "../cli/lib/preflight/google";
import { listVerdict, locationValueMatches } from "../cli/lib/preflight/orgPolicies";
import { testProjectPermissions, TEST_IAM_MAX } from "../cli/lib/preflight/permissions";
import { checkQuotas, quotaId, quotaIncreaseFix, VERIFIED_QUOTA_IDS } from "../cli/lib/preflight/quotas";
import type { StackModel } from "../cli/lib/preflight/model";
import { backendRules, edgeRules } from "../components/armorRules";
import type { CheckContext } from "../cli/lib/preflight/types";
import { emptyWorld, startFakeGoogle, type FakeGoogle, type FakeQuota, type FakeRequest, type FakeWorld } from "./lib/fakeGoogle";
import { iamStepAccounts } from "./lib/preflightChecks";

const ROOT = path.resolve(__dirname, "..");
const work = mkdtempSync(path.join(tmpdir(), "preflight-test-"));

const ALICE = "alice@example.com";
const DEPLOYER = "gh-deploy-staging@acme-django-ci.iam.gserviceaccount.com";
const STAGING_KEY = "projects/acme-django-staging/locations/europe-west1/keyRings/pulumi/cryptoKeys/staging";
const PROD_KEY = "projects/acme-django-prod/locations/europe-west1/keyRings/pulumi/cryptoKeys/production";
const REPO = "projects/acme-django-ci/locations/europe-west1/repositories/django";
const PINNED_IMAGE = `europe-west1-docker.pkg.dev/acme-django-ci/django/app@sha256:${"a".repeat(64)}`;
const STATE_BUCKET = "acme-django-ci-pulumi-state";
const OBJECT_PERMISSIONS = ["storage.buckets.get", "storage.objects.create", "storage.objects.delete", "storage.objects.get", "storage.objects.list"];

const GLOBAL_METRICS = [
    "CPUS_ALL_REGIONS", "NETWORKS", "SUBNETWORKS", "ROUTERS", "GLOBAL_INTERNAL_ADDRESSES", "STATIC_ADDRESSES", "SSL_POLICIES", "BACKEND_BUCKETS", "URL_MAPS",
    "TARGET_HTTPS_PROXIES", "TARGET_HTTP_PROXIES", "SSL_CERTIFICATES", "FORWARDING_RULES", "GLOBAL_EXTERNAL_MANAGED_FORWARDING_RULES", "FIREWALLS", "BACKEND_SERVICES", "HEALTH_CHECKS",
];
const plenty = (metrics: string[]): FakeQuota[] => metrics.map((metric) => ({ metric, limit: 100, usage: 2 }));

/**
 * The CI deployer as the bootstrap granted it before the preflight role: the deployer's custom role
 * and the image repository (project permissions enforced by the fake), objects only on the state
 * bucket. What `deploy.yml` ran preflight as.
 */
function deployerWithoutPreflightRole(): FakeWorld {
    const world = healthyWorld();
    world.grants[DEPLOYER] = [...deployerPermissions(), "artifactregistry.repositories.get", "artifactregistry.tags.get", "artifactregistry.versions.get"];
    world.buckets[STATE_BUCKET] = { versioning: true, permissions: { [DEPLOYER]: OBJECT_PERMISSIONS.filter((p) => p !== "storage.buckets.get") } };
    return world;
}

/** A project where everything the staging and production stacks need is in place, for alice and the deployer. */
function healthyWorld(): FakeWorld {
    const world = emptyWorld();
    world.tokens = { "alice-token": ALICE, "deployer-token": DEPLOYER };
    world.projects = { "acme-django-staging": "123456789012", "acme-django-prod": "210987654321" };
    for (const project of Object.keys(world.projects)) {
        world.regionQuotas[`${project}/europe-west1`] = [{ metric: "CPUS", limit: 100, usage: 4 }, ...plenty(["STATIC_ADDRESSES", "IN_USE_ADDRESSES", "DISKS_TOTAL_GB", "SSD_TOTAL_GB"])];
        world.projectQuotas[project] = plenty(GLOBAL_METRICS);
        world.orgPolicies[`${project}/gcp.resourceLocations`] = [{ values: { allowedValues: ["in:europe-west1-locations"] } }];
        world.orgPolicies[`${project}/storage.publicAccessPrevention`] = [{ enforce: false }];
    }
    world.kmsKeys[STAGING_KEY] = { encrypters: [ALICE, DEPLOYER], decrypters: [ALICE, DEPLOYER] };
    world.kmsKeys[PROD_KEY] = { encrypters: [ALICE, DEPLOYER], decrypters: [ALICE, DEPLOYER] };
    // The bootstrap grants the deployer roles/storage.objectUser and roles/storage.legacyBucketReader (storage.buckets.get) on the bucket.
    world.buckets[STATE_BUCKET] = { versioning: true, permissions: { [ALICE]: OBJECT_PERMISSIONS, [DEPLOYER]: OBJECT_PERMISSIONS } };
    // Production's dns.managedZone, empty: its first deploy creates the records.
    world.dnsZones["acme-django-prod/example-com"] = [];
    world.repositories = [REPO];
    world.images[`${REPO}/packages/app`] = { tags: ["0.1.0"], digests: [`sha256:${"a".repeat(64)}`] };
    world.serviceAccounts[DEPLOYER] = { tokenCreators: [ALICE], token: "deployer-token" };
    // The IAM step ran: the stacks' accounts exist, their deployer (and alice, an owner) may use them.
    world.iamAccounts = iamStepAccounts([ALICE, DEPLOYER]);
    return world;
}

/** Healthy, except that production's own project never enabled the IAM Service Account Credentials API (only the home project had it). */
function withoutIamCredentials(): FakeWorld {
    const world = healthyWorld();
    world.disabledServices["acme-django-prod"] = ["iamcredentials.googleapis.com"];
    return world;
}

interface Run {
    /** `subprocess`: the real CLI in its own process; `in-process`: the CLI's main() here. */
    readonly how: "subprocess" | "in-process";
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly seconds: number;
    readonly requests: FakeRequest[];
}

/** The environment of a run: no real Google or Pulumi settings leak in. */
function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!/^(GOOGLE_|CLOUDSDK_|PULUMI_|DJANGO_PLATFORM_)/.test(k)) {
            env[k] = v;
        }
    }
    for (const [k, v] of Object.entries(extra)) {
        if (v === undefined) {
            delete env[k];
        } else {
            env[k] = v;
        }
    }
    return env;
}

/** Runs the real CLI once as a subprocess against its own fake (or none), asynchronously so the fake keeps answering. */
async function runCli(args: string[], world: FakeWorld | undefined, env: Record<string, string | undefined>): Promise<Run> {
    const fake: FakeGoogle | undefined = world ? await startFakeGoogle(world) : undefined;
    const started = Date.now();
    try {
        const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "cli", "preflight.ts"), ...args], {
            cwd: ROOT,
            env: cleanEnv({ DJANGO_PLATFORM_GOOGLE_API_BASE: fake?.base, ...env }),
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
        const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
        clearTimeout(timer);
        return { how: "subprocess", code, stdout, stderr, seconds: (Date.now() - started) / 1000, requests: [...(fake?.requests ?? [])] };
    } finally {
        await fake?.close();
    }
}

/** Set while an in-process run is under way: two at once would share the process-wide Pulumi mock runtime. */
let inProcessBusy = false;

/**
 * Runs the CLI's `main()` in this process against its own fake (or none), with the same argv and
 * environment (as an object) a subprocess would get, and its stdout and stderr captured, one line
 * per call as processIo prints them. Unless `gcloud` is "default" (preflight's own runner, which
 * spawns gcloud with the env object's PATH), a scenario has a token and fails if preflight asks
 * gcloud for one anyway.
 */
async function runMain(args: string[], world: FakeWorld | undefined, env: Record<string, string | undefined>, gcloud: "refused" | "default" = "refused"): Promise<Run> {
    assert.equal(inProcessBusy, false, "in-process preflight runs must not overlap");
    inProcessBusy = true;
    const fake: FakeGoogle | undefined = world ? await startFakeGoogle(world) : undefined;
    const started = Date.now();
    let stdout = "";
    let stderr = "";
    try {
        const code = await main(
            ["node", path.join(ROOT, "cli", "preflight.ts"), ...args],
            { stdout: (text) => void (stdout += `${text}\n`), stderr: (text) => void (stderr += `${text}\n`) },
            {
                env: cleanEnv({ DJANGO_PLATFORM_GOOGLE_API_BASE: fake?.base, ...env }),
                runner: gcloud === "default" ? undefined : () => assert.fail("this scenario has a token: gcloud must not run"),
            },
        );
        return { how: "in-process", code, stdout, stderr, seconds: (Date.now() - started) / 1000, requests: [...(fake?.requests ?? [])] };
    } finally {
        await fake?.close();
        inProcessBusy = false;
    }
}

/** The scenarios: the subprocesses start together in `before`, the in-process runs follow each other meanwhile. */
const scenarios: Record<string, Promise<Run>> = {};
const EMPTY_PATH = path.join(work, "empty-path");

before(() => {
    writeFileSync(path.join(work, "Pulumi.bad.yaml"), readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8").replace(/minReplicas: \d+/, "minReplicas: 0").replace("cpu: 250m", "cpu: lots"));
    mkdirSync(EMPTY_PATH);

    const broken = healthyWorld();
    broken.disabledServices["acme-django-staging"] = ["sqladmin.googleapis.com", "bigquery.googleapis.com"];
    broken.missingPermissions[ALICE] = ["compute.networks.create", "container.deployments.create"];
    broken.orgPolicies["acme-django-staging/storage.publicAccessPrevention"] = [{ enforce: true }];
    broken.regionQuotas["acme-django-staging/europe-west1"] = [{ metric: "CPUS", limit: 8, usage: 7 }, ...plenty(["STATIC_ADDRESSES", "IN_USE_ADDRESSES"])];
    broken.kmsKeys[STAGING_KEY] = { encrypters: [], decrypters: [] };
    broken.images[`${REPO}/packages/app`] = { tags: ["0.0.9"], digests: [] };
    // The IAM step has not run since the collectstatic account went missing.
    delete broken.iamAccounts["dj-staging-static@acme-django-staging.iam.gserviceaccount.com"];

    const production = healthyWorld();
    production.orgPolicies["acme-django-prod/gcp.resourceLocations"] = [{ values: { allowedValues: ["in:eu-locations"] } }];
    // The stack file's tag was never pushed; the release pins a digest that was (--image).
    production.images[`${REPO}/packages/app`] = { tags: [], digests: [`sha256:${"a".repeat(64)}`] };

    // The real CLI, first, so its Node start-up and render overlap with the in-process runs.
    scenarios["everything broken"] = runCli(["--stack", "staging"], broken, { GOOGLE_OAUTH_ACCESS_TOKEN: "alice-token" });

    // main() in this process, strictly one after the other. The production render comes before the
    // staging one, so a stack leaking into the next render would show in "all good".
    const inProcess: [string, () => Promise<Run>][] = [
        ["plain http to a remote host", () => runMain(["--stack", "staging"], undefined, { GOOGLE_OAUTH_ACCESS_TOKEN: "alice-token", DJANGO_PLATFORM_GOOGLE_API_BASE: "http://fake-google.example.com:8123" })],
        ["bad config", () => runMain(["--config-file", path.join(work, "Pulumi.bad.yaml")], healthyWorld(), { GOOGLE_OAUTH_ACCESS_TOKEN: "alice-token" })],
        ["bad token", () => runMain(["--stack", "staging"], healthyWorld(), { GOOGLE_OAUTH_ACCESS_TOKEN: "expired-token" })],
        // No token, and a PATH without gcloud for preflight's own runner (this machine may well have gcloud elsewhere).
        ["no credentials", () => runMain(["--stack", "staging"], healthyWorld(), { PATH: EMPTY_PATH }, "default")],
        [
            "principal",
            () => runMain(["--stack", "production", "--json", "--principal", `serviceAccount:${DEPLOYER}`, "--backend", `gs://${STATE_BUCKET}/stacks`, "--image", PINNED_IMAGE], production, { GOOGLE_OAUTH_ACCESS_TOKEN: "alice-token" }),
        ],
        ["all good", () => runMain(["--stack", "staging", "--json"], healthyWorld(), { GOOGLE_OAUTH_ACCESS_TOKEN: "alice-token", PULUMI_BACKEND_URL: `gs://${STATE_BUCKET}` })],
        ["production project without IAM Credentials", () => runMain(["--stack", "production", "--json"], withoutIamCredentials(), { GOOGLE_OAUTH_ACCESS_TOKEN: "alice-token" })],
        ["blind, strict", () => runMain(["--stack", "staging", "--image", PINNED_IMAGE], deployerWithoutPreflightRole(), { GOOGLE_OAUTH_ACCESS_TOKEN: "deployer-token", PULUMI_BACKEND_URL: `gs://${STATE_BUCKET}` })],
        ["blind, partial", () => runMain(["--stack", "staging", "--image", PINNED_IMAGE, "--partial", "--json"], deployerWithoutPreflightRole(), { GOOGLE_OAUTH_ACCESS_TOKEN: "deployer-token", PULUMI_BACKEND_URL: `gs://${STATE_BUCKET}` })],
    ];
    let previous: Promise<unknown> = Promise.resolve();
    for (const [name, task] of inProcess) {
        const run = previous.then(task);
        previous = run.catch(() => undefined);
        scenarios[name] = run;
    }
    for (const run of Object.values(scenarios)) {
        run.catch(() => undefined);
    }
});

after(async () => {
    await Promise.allSettled(Object.values(scenarios));
    const settled = await Promise.all(Object.entries(scenarios).map(async ([name, run]) => [name, await run.catch((err: unknown) => err as Error)] as const));
    process.stderr.write(`preflight scenarios: ${settled.map(([name, r]) => (r instanceof Error ? `${name} failed` : `${name} ${r.seconds.toFixed(1)}s (${r.how})`)).join(", ")}\n`);
    if (process.env.PREFLIGHT_TEST_SHOW) {
        for (const [name, r] of settled) {
            process.stderr.write(r instanceof Error ? `--- ${name}: ${r.stack}\n` : `--- ${name} (${r.how}, exit ${r.code})\n${r.stdout}${r.stderr}\n`);
        }
    }
    rmSync(work, { recursive: true, force: true });
});

/** The checks of a `--json` run. */
function checksOf(run: Run): Record<string, { status: string; message: string; fix: string | null }> {
    const doc = JSON.parse(run.stdout) as { checks: { id: string; status: string; message: string; fix: string | null }[] };
    return Object.fromEntries(doc.checks.map((c) => [c.id, c]));
}

/** The text-mode line of a check and its fix line. */
function lineOf(run: Run, id: string): { line: string; fix?: string } {
    const lines = run.stdout.split("\n");
    const i = lines.findIndex((l) => new RegExp(`^(PASS|FAIL|WARN|SKIP)\\s+${id}\\s`).test(l));
    assert.ok(i >= 0, `no line for ${id} in:\n${run.stdout}\n${run.stderr}`);
    const next = lines[i + 1]?.trim();
    return { line: lines[i], fix: next?.startsWith("fix: ") ? next.slice(5) : undefined };
}

describe("preflight against a fake Google", () => {
    it("passes a healthy project: exit 0, every check pass, and nothing written", async () => {
        const run = await scenarios["all good"];
        assert.equal(run.code, 0, run.stderr + run.stdout);
        const checks = checksOf(run);
        assert.deepEqual(Object.keys(checks), ["apis", "permissions", "accounts", "org-policies", "quotas", "dns", "kms", "state", "image"]);
        for (const [id, c] of Object.entries(checks)) {
            assert.equal(c.status, "pass", `${id}: ${c.message}`);
            assert.equal(c.fix, null);
        }
        assert.match(checks.permissions.message, /user:alice@example\.com has all \d+ permissions/);
        assert.match(checks.state.message, /gs:\/\/acme-django-ci-pulumi-state, versioned/);
        const apis = run.requests.filter((r) => r.host === "serviceusage.googleapis.com").flatMap((r) => r.query.getAll("names"));
        for (const api of ["compute", "container", "sqladmin", "servicenetworking", "cloudkms", "storage", "iam", "cloudresourcemanager"]) {
            assert.ok(apis.includes(`projects/acme-django-staging/services/${api}.googleapis.com`), `${api} is asked for`);
        }
        assert.match(checks["org-policies"].message, /storage\.publicAccessPrevention not enforced.*iam\.allowedPolicyMemberDomains allows any member.*gcp\.resourceLocations allows europe-west1/);
        // Read-only: only GETs, plus testIamPermissions and the throw-away KMS encrypt.
        const writes = run.requests.filter((r) => r.method !== "GET");
        assert.ok(writes.length > 0);
        for (const r of writes) {
            assert.equal(r.method, "POST", `${r.method} ${r.host}${r.path}`);
            assert.match(r.path, /:(testIamPermissions|encrypt)$/, `unexpected write ${r.host}${r.path}`);
        }
        assert.ok(writes.some((r) => r.host === "cloudkms.googleapis.com" && r.path.endsWith(":encrypt")));
        const tested = run.requests.filter((r) => r.host === "cloudresourcemanager.googleapis.com");
        assert.ok(tested.length >= 1);
        for (const r of tested) {
            assert.ok(((r.body as { permissions: string[] }).permissions.length) <= TEST_IAM_MAX);
        }
        const asked = tested.flatMap((r) => (r.body as { permissions: string[] }).permissions);
        assert.ok(asked.includes("compute.networks.create") && asked.includes("container.deployments.create") && asked.includes("iam.serviceAccounts.get"));
        // No IAM administration is asked for: the deployer has none (the IAM step's, docs/bootstrap.md).
        for (const p of ["resourcemanager.projects.setIamPolicy", "iam.serviceAccounts.actAs", "iam.serviceAccounts.setIamPolicy", "iam.serviceAccounts.create"]) {
            assert.ok(!asked.includes(p), `${p} is asked for`);
        }
        assert.ok(!asked.includes("servicenetworking.services.deleteConnection"), "destroy-only permissions are not asked for");
        const encrypt = writes.find((r) => r.path.endsWith(":encrypt"));
        assert.equal(Buffer.from((encrypt?.body as { plaintext: string }).plaintext, "base64").toString(), "django-platform preflight");
    });

    it("fails each broken thing with its check id and the command that fixes it", async () => {
        const run = await scenarios["everything broken"];
        assert.equal(run.how, "subprocess");
        assert.equal(run.code, 1, run.stderr + run.stdout);
        // The real CLI's stdout is the report and nothing else: a line per check in order, fix lines, the summary.
        const lines = run.stdout.split("\n");
        assert.equal(lines.pop(), "", "stdout ends with a newline");
        assert.deepEqual(lines.filter((l) => !/^ +fix: \S/.test(l)).map((l) => /^(?:PASS|FAIL|WARN|SKIP) {2}(\S+) /.exec(l)?.[1] ?? l), [...CHECK_IDS, "FAILED: 7 checks failed, 1 warning, 1 passed."], run.stdout);
        assert.match(run.stderr, /^preflight: stack staging → project acme-django-staging \(europe-west1\), as user:alice@example\.com \(GOOGLE_OAUTH_ACCESS_TOKEN\)$/m);
        const apis = lineOf(run, "apis");
        assert.match(apis.line, /^FAIL/);
        assert.match(apis.line, /sqladmin\.googleapis\.com/);
        assert.equal(apis.fix, "gcloud services enable sqladmin.googleapis.com --project acme-django-staging");

        const permissions = lineOf(run, "permissions");
        assert.match(permissions.line, /^FAIL.*compute\.networks\.create.*container\.deployments\.create/);
        assert.equal(
            permissions.fix,
            "gcloud projects add-iam-policy-binding acme-django-staging --member=user:alice@example.com --role=projects/acme-django-staging/roles/djangoPlatformStackDeploy && " +
                "gcloud projects add-iam-policy-binding acme-django-staging --member=user:alice@example.com --role=roles/container.developer",
        );

        const org = lineOf(run, "org-policies");
        assert.match(org.line, /^FAIL.*storage\.publicAccessPrevention is enforced/);
        assert.match(org.fix ?? "", /name: projects\/acme-django-staging\/policies\/storage\.publicAccessPrevention.*enforce: false.*gcloud org-policies set-policy/);

        const quotas = lineOf(run, "quotas");
        assert.match(quotas.line, /^FAIL.*europe-west1 CPUS: needs 3 .* 1 left of 8/);
        assert.match(quotas.fix ?? "", /^gcloud beta quotas preferences create --service=compute\.googleapis\.com --quota-id=CPUS-per-project-region --preferred-value=10 --dimensions=region=europe-west1 --project=acme-django-staging/);

        const kms = lineOf(run, "kms");
        assert.match(kms.line, /^FAIL.*may not encrypt with projects\/acme-django-staging\/.*cryptoKeys\/staging/);
        assert.equal(kms.fix, "gcloud kms keys add-iam-policy-binding staging --keyring=pulumi --location=europe-west1 --project=acme-django-staging --member=user:alice@example.com --role=roles/cloudkms.cryptoKeyEncrypterDecrypter");

        const image = lineOf(run, "image");
        assert.match(image.line, /^FAIL.*no tag 0\.1\.0/);
        assert.equal(image.fix, "docker buildx build --platform linux/amd64 --tag europe-west1-docker.pkg.dev/acme-django-ci/django/app:0.1.0 --push app");

        const accounts = lineOf(run, "accounts");
        assert.match(accounts.line, /^FAIL +accounts +1 of 4 service accounts stack staging runs as do not exist: dj-staging-static@acme-django-staging\.iam\.gserviceaccount\.com\. The IAM step creates them/);
        assert.equal(accounts.fix, "pulumi -C iam up --stack staging");

        assert.match(lineOf(run, "state").line, /^WARN.*no Pulumi backend known/);
        assert.match(lineOf(run, "dns").line, /^PASS.*dns\.managedZone is not set/);
        assert.match(run.stdout, /FAILED: 7 checks failed, 1 warning, 1 passed\./);
    });

    it("--principal impersonates the service account and checks everything as it", async () => {
        const run = await scenarios.principal;
        assert.equal(run.code, 0, run.stderr + run.stdout);
        const checks = checksOf(run);
        assert.match(checks.permissions.message, new RegExp(`serviceAccount:${DEPLOYER.replace(/\./g, "\\.")} has all`));
        assert.equal(checks["org-policies"].status, "warn");
        assert.match(checks["org-policies"].message, /cannot decide allowed in:eu-locations/);
        assert.equal(checks.state.status, "pass");
        assert.equal(checks.image.status, "pass", "--image replaces the stack file's unpushed tag with the pinned digest");
        const generate = run.requests.filter((r) => r.host === "iamcredentials.googleapis.com");
        assert.equal(generate.length, 1);
        assert.equal(generate[0].email, ALICE);
        assert.match(generate[0].path, /serviceAccounts\/gh-deploy-staging%40acme-django-ci\.iam\.gserviceaccount\.com:generateAccessToken$/);
        const asDeployer = run.requests.filter((r) => r.host !== "iamcredentials.googleapis.com" && r.host !== "oauth2.googleapis.com");
        assert.ok(asDeployer.length > 5);
        assert.ok(asDeployer.every((r) => r.email === DEPLOYER), "every check ran with the deployer's token");
    });

    it("fails the apis check when the production project lacks an API Workload Identity needs, naming it, its project and the command", async () => {
        const run = await scenarios["production project without IAM Credentials"];
        assert.equal(run.code, 1, run.stderr + run.stdout);
        const { apis } = checksOf(run);
        assert.equal(apis.status, "fail");
        assert.match(apis.message, /^1 of \d+ APIs the stack needs are not enabled in acme-django-prod: iamcredentials\.googleapis\.com$/);
        assert.equal(apis.fix, "gcloud services enable iamcredentials.googleapis.com --project acme-django-prod");
        // Asked per project: the stack's own. Not the CI home project, which holds the image
        // repository and where no deployer holds a project role: the image check reads the image
        // through Artifact Registry there (it fails, naming the API, when it is disabled).
        const asked = (project: string) =>
            run.requests.filter((r) => r.host === "serviceusage.googleapis.com" && r.path === `/v1/projects/${project}/services:batchGet`).flatMap((r) => r.query.getAll("names").map((n) => n.split("/").pop()));
        assert.deepEqual(asked("acme-django-ci"), []);
        assert.deepEqual(asked("acme-django-staging"), []);
        for (const api of ["sts.googleapis.com", "iamcredentials.googleapis.com", "sqladmin.googleapis.com", "logging.googleapis.com", "dns.googleapis.com"]) {
            assert.ok(asked("acme-django-prod").includes(api), `${api} is asked for in acme-django-prod`);
        }
    });

    it("fails each check that cannot read what it needs, naming the permission (the CI deployer before the preflight role)", async () => {
        const run = await scenarios["blind, strict"];
        assert.equal(run.code, 1, run.stderr + run.stdout);
        const expected: Record<string, RegExp> = {
            apis: /lacks serviceusage\.services\.get/,
            "org-policies": /lacks orgpolicy\.policy\.get/,
            quotas: /lacks compute\.(regions|projects)\.get/,
            state: /lacks storage\.buckets\.get/,
        };
        for (const [id, lacks] of Object.entries(expected)) {
            const { line, fix } = lineOf(run, id);
            assert.match(line, /^FAIL/, line);
            assert.match(line, /could not check: /, line);
            assert.match(line, lacks, line);
            assert.match(line, /run with --partial to accept that/, line);
            assert.ok(fix, `${id} says how to grant it`);
        }
        for (const id of ["permissions", "dns", "kms", "image"]) {
            assert.match(lineOf(run, id).line, /^PASS/, id);
        }
        assert.match(run.stdout, /FAILED: 4 checks failed, 0 warnings, 5 passed\./);
    });

    it("--partial reports them as SKIP with what they lack and exits 4", async () => {
        const run = await scenarios["blind, partial"];
        assert.equal(run.code, EXIT_PARTIAL, run.stderr + run.stdout);
        const doc = JSON.parse(run.stdout) as { partial: boolean; checks: { id: string; status: string; lacks?: string[] }[] };
        assert.equal(doc.partial, true);
        const skipped = Object.fromEntries(doc.checks.filter((c) => c.status === "unchecked").map((c) => [c.id, c.lacks]));
        assert.deepEqual(Object.keys(skipped), ["apis", "org-policies", "quotas", "state"]);
        assert.deepEqual(skipped.apis, ["serviceusage.services.get"]);
        assert.deepEqual(skipped["org-policies"], ["orgpolicy.policy.get"]);
        assert.deepEqual(skipped.state, ["storage.buckets.get"]);
        assert.ok(doc.checks.every((c) => c.status === "unchecked" || c.status === "pass"), run.stdout);
    });

    it("exits 3 when Google refuses the token", async () => {
        const run = await scenarios["bad token"];
        assert.equal(run.code, 3, run.stderr + run.stdout);
        assert.match(run.stderr, /^preflight: Google says the access token is invalid or expired.*gcloud auth login/m);
        assert.equal(run.stdout, "");
    });

    it("exits 3 with how to log in when there is no token and no gcloud", async () => {
        const run = await scenarios["no credentials"];
        assert.equal(run.code, 3, run.stderr + run.stdout);
        assert.equal(run.stdout, "");
        assert.match(run.stderr, /no Google credentials: GOOGLE_OAUTH_ACCESS_TOKEN is not set and gcloud is not installed or not on PATH\. Fix: `gcloud auth login`.*gcloud auth application-default login/);
        assert.equal(run.requests.length, 0);
    });

    it("exits 2 with validateConfig's messages for a bad config, before asking Google anything", async () => {
        const run = await scenarios["bad config"];
        assert.equal(run.code, 2, run.stderr + run.stdout);
        assert.match(run.stderr, /Invalid stack configuration \(2 problems\)/);
        assert.match(run.stderr, /django-platform:workload\.minReplicas: .*Fix: `pulumi config set --path workload\.minReplicas/);
        assert.match(run.stderr, /django-platform:workload\.cpu: must be a Kubernetes CPU quantity/);
        assert.equal(run.requests.length, 0);
    });

    it("refuses a plain-http API base that is not loopback (exit 2)", async () => {
        const run = await scenarios["plain http to a remote host"];
        assert.equal(run.code, 2, run.stderr + run.stdout);
        assert.match(run.stderr, /DJANGO_PLATFORM_GOOGLE_API_BASE=http:\/\/fake-google\.example\.com:8123 is refused: plain http is allowed only to a loopback address/);
    });
});

describe("preflight building blocks", () => {
    it("rewrites Google URLs onto the base and accepts http only on loopback", () => {
        assert.equal(rewriteUrl("https://compute.googleapis.com/compute/v1/projects/p?x=1", "http://127.0.0.1:8123"), "http://127.0.0.1:8123/compute.googleapis.com/compute/v1/projects/p?x=1");
        assert.equal(rewriteUrl("https://compute.googleapis.com/compute/v1/projects/p", undefined), "https://compute.googleapis.com/compute/v1/projects/p");
        for (const ok of ["http://127.0.0.1:1", "http://localhost:2/", "http://[::1]:3", "https://proxy.example.com"]) {
            assert.doesNotThrow(() => checkApiBase(ok), ok);
        }
        for (const bad of ["http://10.0.0.1:8123", "http://example.com", "ftp://127.0.0.1", "not a url", "http://127.0.0.1:1/?q=1"]) {
            assert.throws(() => checkApiBase(bad), { name: "ApiBaseError" }, bad);
        }
    });

    it("turns a 401 from any API into AuthError", async () => {
        const fake = await startFakeGoogle(emptyWorld());
        try {
            const client = new GoogleClient("nobody", { base: fake.base });
            await assert.rejects(client.get("https://serviceusage.googleapis.com/v1/projects/p/services:batchGet"), (err: unknown) => err instanceof AuthError && /HTTP 401 UNAUTHENTICATED/.test((err as Error).message));
        } finally {
            await fake.close();
        }
    });

    it("turns a refused connection into UnreachableError", async () => {
        const fake = await startFakeGoogle(emptyWorld());
        const base = fake.base;
        await fake.close();
        const client = new GoogleClient("t", { base });
        await assert.rejects(client.get("https://compute.googleapis.com/compute/v1/projects/p"), (err: unknown) => err instanceof UnreachableError && /ECONNREFUSED/.test((err as Error).message));
    });

    it("tests permissions in batches of at most 100", async () => {
        const world = emptyWorld();
        world.tokens = { t: ALICE };
        world.projects = { p: "1" };
        world.missingPermissions[ALICE] = ["svc.things.get150"];
        const fake = await startFakeGoogle(world);
        try {
            const wanted = Array.from({ length: 250 }, (_, i) => `svc.things.get${i}`);
            const ctx = { client: new GoogleClient("t", { base: fake.base }), identity: { source: "test" } } as unknown as CheckContext;
            const result = await testProjectPermissions(ctx, "p", wanted);
            assert.ok("granted" in result);
            assert.equal(result.granted.size, 249);
            assert.deepEqual(fake.requests.map((r) => (r.body as { permissions: string[] }).permissions.length), [100, 100, 50]);
        } finally {
            await fake.close();
        }
    });

    it("reads the token from GOOGLE_OAUTH_ACCESS_TOKEN, else from gcloud, else explains how to log in", () => {
        assert.deepEqual(resolveToken({ GOOGLE_OAUTH_ACCESS_TOKEN: " t1 " }, () => assert.fail("gcloud must not run")), { token: "t1", source: "GOOGLE_OAUTH_ACCESS_TOKEN" });
        assert.deepEqual(resolveToken({}, (cmd, args) => ({ status: 0, stdout: `ya29.token\n`, stderr: "", ...(cmd === "gcloud" && args.join(" ") === "auth print-access-token" ? {} : { status: 1 }) })), {
            token: "ya29.token",
            source: "gcloud auth print-access-token",
        });
        const noAccount = "ERROR: (gcloud.auth.print-access-token) You do not currently have an active account selected.\nPlease run:\n\n  $ gcloud auth login\n\nto obtain new credentials.\n";
        assert.throws(() => resolveToken({}, () => ({ status: 1, stdout: "", stderr: noAccount })), (err: unknown) => err instanceof AuthError && /active account selected.*gcloud auth login/.test((err as Error).message));
        const enoent = Object.assign(new Error("spawn gcloud ENOENT"), { code: "ENOENT" });
        assert.throws(() => resolveToken({}, () => ({ status: null, stdout: "", stderr: "", error: enoent })), /gcloud is not installed or not on PATH/);
    });

    it("accepts only service accounts as --principal", () => {
        assert.equal(principalServiceAccount(`serviceAccount:${DEPLOYER}`), DEPLOYER);
        assert.equal(principalServiceAccount(DEPLOYER), DEPLOYER);
        for (const other of ["user:alice@example.com", "group:admins@example.com", "alice@example.com", "serviceAccount:not-an-email"]) {
            assert.throws(() => principalServiceAccount(other), { name: "PrincipalError", message: /only a service account .* testIamPermissions only tests the caller/ }, other);
        }
    });

    it("decides gcp.resourceLocations values it can cite and leaves curated groups undecided", () => {
        assert.equal(locationValueMatches("in:europe-west1-locations", "europe-west1"), true);
        assert.equal(locationValueMatches("in:europe-west1-locations", "europe-west1-b"), true);
        assert.equal(locationValueMatches("in:europe-west1-locations", "europe-west10"), false);
        assert.equal(locationValueMatches("europe-west1", "europe-west1"), true);
        assert.equal(locationValueMatches("is:eu", "EU".toLowerCase()), true);
        assert.equal(locationValueMatches("us-east1", "europe-west1"), false);
        assert.equal(locationValueMatches("in:eu-locations", "europe-west1"), undefined);
        const allow = (...allowedValues: string[]) => [{ values: { allowedValues } }];
        const verdict = (rules: Parameters<typeof listVerdict>[0], loc: string) => listVerdict(rules, (v) => locationValueMatches(v, loc)).verdict;
        assert.equal(verdict([], "europe-west1"), "allowed");
        assert.equal(verdict(allow("in:europe-west1-locations"), "europe-west1"), "allowed");
        assert.equal(verdict(allow("in:us-east1-locations"), "europe-west1"), "denied");
        assert.equal(verdict(allow("in:eu-locations"), "europe-west1"), "unknown");
        assert.equal(verdict(allow("in:us-east1-locations", "in:eu-locations"), "europe-west1"), "unknown");
        assert.equal(verdict([{ allowAll: true }], "europe-west1"), "allowed");
        assert.equal(verdict([{ denyAll: true }], "europe-west1"), "denied");
        assert.equal(verdict([{ values: { deniedValues: ["in:europe-west1-locations"] } }], "europe-west1"), "denied");
        assert.equal(verdict([{ values: { deniedValues: ["in:us-locations"] } }], "europe-west1"), "unknown");
        assert.equal(verdict([{ values: { allowedValues: ["in:europe-west1-locations"] }, condition: { expression: "resource.matchTag('x', 'y')" } }], "europe-west1"), "unknown");
    });

    it("counts Cloud Armor quotas from the policies' rules, and fails when the rules with expressions would not fit", async () => {
        const world = emptyWorld();
        world.tokens = { t: ALICE };
        world.projects = { p: "1" };
        world.regionQuotas["p/europe-west1"] = [];
        world.projectQuotas.p = [
            { metric: "SECURITY_POLICIES", limit: 10, usage: 1 },
            { metric: "SECURITY_POLICY_RULES", limit: 200, usage: 9 },
            { metric: "SECURITY_POLICY_CEVAL_RULES", limit: 20, usage: 8 },
        ];
        // The two policies components/edge.ts renders with deny-lists and the CDN, from the same rule builders.
        const opts = {
            preview: false, wafSensitivity: 1, rateLimitPerMinute: 600,
            denyCountries: ["AA", "BB", "CC", "DD", "EE", "FF", "GG", "HH", "II", "JJ", "KK", "LL"],
            denyCidrs: Array.from({ length: 25 }, (_, i) => `198.51.${i}.0/24`),
        };
        const policy = (name: string, type: string, rules: unknown[]) => ({
            urn: `urn:pulumi:staging::django-platform::gcp:compute/securityPolicy:SecurityPolicy::${name}`, type: "gcp:compute/securityPolicy:SecurityPolicy", name, custom: true,
            dependencies: [], inputs: { type, rules }, secretInputs: [], outputs: {}, protect: false,
        });
        const model = { resources: [policy("django-edge-armor", "CLOUD_ARMOR", backendRules(opts)), policy("django-edge-cdn-armor", "CLOUD_ARMOR_EDGE", edgeRules(opts))], invokes: [] } as unknown as StackModel;
        const fake = await startFakeGoogle(world);
        try {
            const ctx = {
                client: new GoogleClient("t", { base: fake.base }), config: { project: "p", region: "europe-west1" }, model: async () => model, identity: { member: `user:${ALICE}`, source: "test" },
            } as unknown as CheckContext;
            const result = await checkQuotas(ctx);
            assert.equal(result.status, "fail", result.message);
            // Backend: 3 CIDR + 3 country rules, 6 WAF, Log4j, throttle, default = 15 (10 with expressions);
            // edge: 3 + 3 + default = 7 (3 with expressions).
            assert.match(result.message, /^SECURITY_POLICY_CEVAL_RULES: needs 13 \(Cloud Armor rules with an advanced match condition: django-edge-armor 10, django-edge-cdn-armor 3\), 12 left of 20$/);
            // The id comes from a field error message, not from Google's quota page: the fix looks it up first.
            assert.equal(result.fix, quotaIncreaseFix("project", "SECURITY_POLICY_CEVAL_RULES", 21, "p", "europe-west1", ALICE));
            assert.match(result.fix ?? "", /^find the quota id of SECURITY_POLICY_CEVAL_RULES .*--preferred-value=21 --project=p/);
            world.projectQuotas.p[2] = { metric: "SECURITY_POLICY_CEVAL_RULES", limit: 100, usage: 8 };
            world.projectQuotas.p[1] = { metric: "SECURITY_POLICY_RULES", limit: 40, usage: 9 };
            const tight = await checkQuotas(ctx);
            assert.equal(tight.status, "warn");
            assert.match(tight.message, /^SECURITY_POLICY_RULES: needs 22 \(Cloud Armor rules: django-edge-armor 15, django-edge-cdn-armor 7\), 31 left of 40 \(less than twice the need\)$/);
            world.projectQuotas.p[1] = { metric: "SECURITY_POLICY_RULES", limit: 200, usage: 9 };
            assert.match((await checkQuotas(ctx)).message, /^enough quota for 3 Compute Engine metrics/);
        } finally {
            await fake.close();
        }
    });

    it("names Cloud Quotas ids after the metric, and asks the user to look the id up where no source confirms it", () => {
        assert.equal(quotaId("region", "CPUS"), "CPUS-per-project-region");
        assert.equal(quotaId("project", "CPUS_ALL_REGIONS"), "CPUS-ALL-REGIONS-per-project");
        assert.equal(quotaId("project", "GLOBAL_INTERNAL_ADDRESSES"), "GLOBAL-INTERNAL-ADDRESSES-per-project");
        // As Compute's quota error names it: "limit name = SECURITY-POLICY-CEVAL-RULES-per-project".
        assert.equal(quotaId("project", "SECURITY_POLICY_CEVAL_RULES"), "SECURITY-POLICY-CEVAL-RULES-per-project");
        // Confirmed: @pulumi/gcp's SQuotaPreference example and GoogleCloudPlatform/gcpdiag. Nothing else is.
        const sdk = readFileSync(path.join(ROOT, "node_modules/@pulumi/gcp/cloudquota/squotaPreference.d.ts"), "utf8");
        assert.match(sdk, /quotaId: "CPUS-per-project-region"/);
        assert.deepEqual([...VERIFIED_QUOTA_IDS].sort(), ["CPUS-ALL-REGIONS-per-project", "CPUS-per-project-region"]);
        assert.equal(quotaIncreaseFix("region", "CPUS", 10, "p", "europe-west1", "a@example.com"), "gcloud beta quotas preferences create --service=compute.googleapis.com --quota-id=CPUS-per-project-region --preferred-value=10 --dimensions=region=europe-west1 --project=p --email=a@example.com");
        const guessed = quotaIncreaseFix("project", "STATIC_ADDRESSES", 4, "p", "europe-west1", "a@example.com");
        assert.match(guessed, /^find the quota id of STATIC_ADDRESSES \(STATIC-ADDRESSES-per-project is a guess no source confirms\): gcloud beta quotas info list --service=compute\.googleapis\.com --project=p/);
        assert.match(guessed, /then gcloud beta quotas preferences create --service=compute\.googleapis\.com --quota-id=<that id> --preferred-value=4 --project=p/);
    });

    it("finds the permission Google does not know (400 for the whole request) and fails naming it", async () => {
        const world = emptyWorld();
        world.tokens = { t: ALICE };
        world.projects = { p: "1" };
        world.unknownPermissions = ["svc.things.typo"];
        const fake = await startFakeGoogle(world);
        try {
            const wanted = [...Array.from({ length: 120 }, (_, i) => `svc.things.get${i}`), "svc.things.typo"];
            const ctx = { client: new GoogleClient("t", { base: fake.base }), identity: { source: "test" } } as unknown as CheckContext;
            const result = await testProjectPermissions(ctx, "p", wanted);
            assert.ok("granted" in result);
            assert.deepEqual(result.unknown, ["svc.things.typo"]);
            assert.equal(result.granted.size, 120);
            assert.ok(fake.requests.length < 20, `split in ${fake.requests.length} requests`);
        } finally {
            await fake.close();
        }
    });
});
