/**
 * Preflight's `accounts` check (cli/lib/preflight/accounts.ts) against the loopback fake of
 * Google's IAM API: the stack's service accounts (components/identities.ts, which the IAM step
 * creates) must exist, and the deploying identity must hold on each what `pulumi up` does there
 * (setting a pod account's IAM policy for its Workload Identity binding, acting as the nodes'
 * account). Each way the IAM step can be behind fails naming the account and the command.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { stackStatePrefixes } from "../bootstrap/stateBackend";
import { CI_DEPLOYER, CI_DEPLOYER_MEMBER, CI_STATE_BUCKET, ciWorld, loadStack, runChecks, type LoadedStack } from "./lib/preflightChecks";

const NODES = "gke-nodes-staging@acme-django-staging.iam.gserviceaccount.com";

describe("preflight: the stack's service accounts", () => {
    let staging: LoadedStack;
    let withWorker: LoadedStack;

    before(async () => {
        staging = await loadStack("staging");
        // A worker's connections do not fit db-f1-micro next to staging's web tier: the next tier up.
        const database = JSON.parse(staging.stack.config["django-platform:database"] ?? "{}") as Record<string, unknown>;
        withWorker = await loadStack("staging", {
            "django-platform:workers": JSON.stringify({ mail: { command: ["python", "manage.py", "send_mail"], minReplicas: 1, maxReplicas: 1 } }),
            "django-platform:database": JSON.stringify({ ...database, tier: "db-g1-small" }),
        });
    });

    it("passes when the IAM step ran: every account exists and the deployer may bind and act as them", async () => {
        const { accounts } = await runChecks(staging, ciWorld(), "deployer-token", CI_DEPLOYER_MEMBER, ["accounts"]);
        assert.equal(accounts.result.status, "pass", accounts.result.message);
        assert.match(accounts.result.message, /^all 4 service accounts of staging exist \(web, migrate, collectstatic, nodes\)/);
        const tested = accounts.requests.filter((r) => r.path.endsWith(":testIamPermissions")).map((r) => [decodeURIComponent(r.path.split("/serviceAccounts/")[1]), (r.body as { permissions: string[] }).permissions]);
        assert.deepEqual(tested, [
            ["dj-staging-web@acme-django-staging.iam.gserviceaccount.com:testIamPermissions", ["iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"]],
            ["dj-staging-migrate@acme-django-staging.iam.gserviceaccount.com:testIamPermissions", ["iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"]],
            ["dj-staging-static@acme-django-staging.iam.gserviceaccount.com:testIamPermissions", ["iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"]],
            [`${NODES}:testIamPermissions`, ["iam.serviceAccounts.actAs"]],
        ]);
    });

    it("a worker added to the stack file before the IAM step ran: fails naming its account and the IAM step", async () => {
        const { accounts } = await runChecks(withWorker, ciWorld(), "deployer-token", CI_DEPLOYER_MEMBER, ["accounts"]);
        assert.equal(accounts.result.status, "fail");
        assert.equal(accounts.result.message, "1 of 5 service accounts stack staging runs as do not exist: dj-staging-w-mail@acme-django-staging.iam.gserviceaccount.com. The IAM step creates them (a new stack, a new worker: run it before pulumi up)");
        assert.equal(accounts.result.fix, "pulumi -C iam up --stack staging");
    });

    it("the deployer may not act as the nodes' account: fails naming the permission and the account", async () => {
        const world = ciWorld();
        world.iamAccounts[NODES] = { project: "acme-django-staging", holders: {} };
        const { accounts } = await runChecks(staging, world, "deployer-token", CI_DEPLOYER_MEMBER, ["accounts"]);
        assert.equal(accounts.result.status, "fail");
        assert.equal(accounts.result.message, `${CI_DEPLOYER_MEMBER} lacks iam.serviceAccounts.actAs on ${NODES} (nodes), which pulumi up of staging uses; the IAM step grants them to the stack's deployer only`);
    });

    it("without iam.serviceAccounts.get it cannot look: unchecked, naming the permission", async () => {
        const world = ciWorld();
        world.grants[CI_DEPLOYER] = world.grants[CI_DEPLOYER].filter((p) => p !== "iam.serviceAccounts.get");
        const { accounts } = await runChecks(staging, world, "deployer-token", CI_DEPLOYER_MEMBER, ["accounts"]);
        assert.equal(accounts.result.status, "unchecked");
        assert.deepEqual(accounts.result.lacks, ["iam.serviceAccounts.get"]);
    });
});

describe("preflight: the state check with a deployer's grant on its own stack's objects", () => {
    let staging: LoadedStack;

    before(async () => {
        staging = await loadStack("staging");
    });

    it("the bucket answers no for the conditional object rights; the stack's own checkpoint answers yes: pass", async () => {
        const { state } = await runChecks(staging, ciWorld(), "deployer-token", CI_DEPLOYER_MEMBER, ["state"], { backendUrl: `gs://${CI_STATE_BUCKET}` });
        assert.equal(state.result.status, "pass", state.result.message);
        assert.match(state.result.message, /by a grant on the stack's own ones: no checkpoint yet at \.pulumi\/stacks\/django-platform\/staging\.json/);
        assert.ok(state.requests.some((r) => r.path === "/storage/v1/b/acme-django-ci-pulumi-state/o/.pulumi%2Fstacks%2Fdjango-platform%2Fstaging.json"));
    });

    it("a deployer whose grant covers another stack only cannot read this one's checkpoint: fails naming the permissions", async () => {
        const world = ciWorld();
        world.buckets[CI_STATE_BUCKET].objectPrefixes = { [CI_DEPLOYER]: stackStatePrefixes("django-platform", "production") };
        const { state } = await runChecks(staging, world, "deployer-token", CI_DEPLOYER_MEMBER, ["state"], { backendUrl: `gs://${CI_STATE_BUCKET}` });
        assert.equal(state.result.status, "fail");
        assert.match(state.result.message, /lacks storage\.objects\.create, storage\.objects\.delete, storage\.objects\.get on the state bucket/);
    });
});
