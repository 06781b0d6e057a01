/**
 * Usage and storage logs of the statics and media buckets (components/accessLogs.ts, config
 * `accessLogs.enabled`). Cloud Storage writes them as Google's group
 * `group:cloud-storage-analytics@google.com`, which needs `roles/storage.objectCreator` on the log
 * bucket (https://cloud.google.com/storage/docs/access-logs). That group is in Google's own
 * customer, so domain-restricted sharing (`constraints/iam.allowedPolicyMemberDomains`) rejects
 * the grant ("One or more users named in the policy do not belong to a permitted customer") and the
 * `pulumi up` fails: the logs can be turned off, and preflight fails (no longer only warns) when the
 * constraint restricts members while the grant is rendered.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { STORAGE_LOG_WRITER } from "../components/accessLogs";
import { emptyWorld, type FakeWorld } from "./lib/fakeGoogle";
import { loadStack, runChecks, type LoadedStack } from "./lib/preflightChecks";
import { renderStack, T, type Rendered } from "./helpers/platform";

const ACCESS_LOGS = "django-platform:accessLogs";

describe("access logs on (the default) and off", () => {
    let on: Rendered;
    let off: Rendered;
    before(async () => {
        on = await renderStack("staging");
        off = await renderStack("staging", { [ACCESS_LOGS]: { enabled: false } });
    });

    it("on: the statics and media buckets log into their own -logs bucket, which Google's log writer may write", () => {
        for (const data of ["django-statics-bucket", "django-media-bucket"]) {
            const logs = data.replace(/-bucket$/, "-logs");
            assert.equal(on.inputs(T.bucket, data).logging.logBucket, on.one(T.bucket, logs).outputs.name, data);
            const writer = on.one(T.bucketIam, `${logs}-writer`);
            assert.deepEqual([writer.inputs.member, writer.inputs.role, writer.inputs.bucket], [STORAGE_LOG_WRITER, "roles/storage.objectCreator", on.one(T.bucket, logs).outputs.name]);
        }
        assert.equal(STORAGE_LOG_WRITER, "group:cloud-storage-analytics@google.com");
    });

    it("off: no log bucket, no grant to a member outside the organisation, no logging block", () => {
        assert.deepEqual(off.all(T.bucket).map((b) => b.name).sort(), ["django-media-bucket", "django-statics-bucket"]);
        assert.deepEqual(off.all(T.bucketIam).filter((m) => m.inputs.member === STORAGE_LOG_WRITER), []);
        for (const data of ["django-statics-bucket", "django-media-bucket"]) {
            assert.equal(off.inputs(T.bucket, data).logging, undefined, data);
        }
    });
});

describe("preflight: domain-restricted sharing fails what it will reject", () => {
    const ALICE = "alice@example.com";
    let withLogs: LoadedStack;
    let withoutLogs: LoadedStack;
    before(async () => {
        withLogs = await loadStack("staging");
        withoutLogs = await loadStack("staging", { [ACCESS_LOGS]: JSON.stringify({ enabled: false }) });
    });
    const world = (restricted: boolean): FakeWorld => {
        const w = emptyWorld();
        w.tokens = { t: ALICE };
        w.projects = { "acme-django-staging": "123456789012" };
        w.orgPolicies["acme-django-staging/gcp.resourceLocations"] = [{ values: { allowedValues: ["in:europe-west1-locations"] } }];
        if (restricted) {
            // The organisation's own Workspace customer only (the default in organisations created since May 2024).
            w.orgPolicies["acme-django-staging/iam.allowedPolicyMemberDomains"] = [{ values: { allowedValues: ["is:C0abc1234"] } }];
        }
        return w;
    };
    const orgPolicies = async (loaded: LoadedStack, restricted: boolean) => (await runChecks(loaded, world(restricted), "t", `user:${ALICE}`, ["org-policies"]))["org-policies"].result;

    it("a restriction fails the check, naming the log writer's grant beside allUsers, with the override as the fix", async () => {
        const result = await orgPolicies(withLogs, true);
        assert.equal(result.status, "fail", result.message);
        assert.match(result.message, /iam\.allowedPolicyMemberDomains restricts members on acme-django-staging, so the stack's allUsers grant \(statics\.access public\) and the group:cloud-storage-analytics@google\.com grant on the access-log buckets \(accessLogs\.enabled\) would be rejected/);
        assert.match(result.fix ?? "", /allowAll: true/);
    });

    it("with accessLogs.enabled false only the allUsers grant is named", async () => {
        const result = await orgPolicies(withoutLogs, true);
        assert.equal(result.status, "fail");
        assert.doesNotMatch(result.message, /cloud-storage-analytics/);
    });

    it("no restriction: it passes", async () => {
        const result = await orgPolicies(withLogs, false);
        assert.equal(result.status, "pass", result.message);
        assert.match(result.message, /iam\.allowedPolicyMemberDomains allows any member/);
    });
});
