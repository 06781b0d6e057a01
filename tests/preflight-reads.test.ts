/**
 * The identity CI runs preflight as (the bootstrap's deployer, `deploy.yml`) can read everything
 * the checks ask, and no more is granted for it than they ask.
 *
 * bootstrap/preflightReads.ts lists each request preflight sends and the permission Google checks
 * for it; the bootstrap grants the deployer a custom role with the stack-project ones
 * (`PREFLIGHT_ROLE_PERMISSIONS`). tests/lib/fakeGoogle.ts enforces, independently, the permission
 * each endpoint's REST reference names (`grants`). Here every check runs against that fake as the
 * deployer holding exactly what the bootstrap grants it — its deployer role and preflight role on
 * the project, and the predefined roles the bootstrap binds on the state bucket, secrets key and
 * image repository (their permissions read from Google's role definitions in
 * tests/fixtures/iam-roles, iann0036/iam-dataset@2073fa52) — and then without each permission of
 * the preflight role in turn: the check that needs it must fail in a strict run, naming it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { deployerPermissions } from "../bootstrap/deployerRoles";
import { PREFLIGHT_READS, PREFLIGHT_ROLE_PERMISSIONS, PREFLIGHT_SERVICES, readFor } from "../bootstrap/preflightReads";
import { applyMode, exitCode } from "../cli/preflight";
import { CHECK_IDS } from "../cli/lib/preflight/types";
import type { FakeRequest } from "./lib/fakeGoogle";
import { ciWorld, CI_DEPLOYER_MEMBER as MEMBER, CI_STATE_BUCKET as STATE_BUCKET, CI_REPO as REPO, CI_DIGEST_IMAGE as DIGEST_IMAGE, loadStack, runChecks, type CheckRun, type LoadedStack } from "./lib/preflightChecks";

describe("the CI preflight's reads", () => {
    let staging: LoadedStack;
    let production: LoadedStack;
    let stagingDigest: LoadedStack;
    /** Every run with exactly the bootstrap's grants: stack → check → result and requests. */
    const runs: Record<string, Record<string, CheckRun>> = {};

    before(async () => {
        staging = await loadStack("staging");
        production = await loadStack("production", { "django-platform:image": DIGEST_IMAGE });
        stagingDigest = await loadStack("staging", { "django-platform:image": DIGEST_IMAGE });
        const backend = { backendUrl: `gs://${STATE_BUCKET}` };
        runs.production = await runChecks(production, ciWorld(), "deployer-token", MEMBER, CHECK_IDS, backend);
        runs["staging by digest"] = await runChecks(stagingDigest, ciWorld(), "deployer-token", MEMBER, CHECK_IDS, backend);
        // By tag (tags.get); and a tag never pushed, which asks repositories.get.
        runs["staging by tag"] = await runChecks(staging, ciWorld(), "deployer-token", MEMBER, ["image"], backend);
        const unpushed = ciWorld();
        unpushed.images[`${REPO}/packages/app`] = { tags: [], digests: [] };
        runs["staging, tag not pushed"] = await runChecks(staging, unpushed, "deployer-token", MEMBER, ["image"], backend);
    });

    it("with exactly the bootstrap's grants, every check reads what it needs: a strict run passes", () => {
        for (const [name, byCheck] of Object.entries(runs).filter(([n]) => n === "production" || n === "staging by digest" || n === "staging by tag")) {
            const results = Object.values(byCheck).map((r) => r.result);
            for (const r of results) {
                assert.equal(r.status, "pass", `${name} ${r.id}: ${r.message}`);
            }
            assert.equal(exitCode(applyMode(results, false)), 0, name);
        }
        assert.equal(runs["staging, tag not pushed"].image.result.status, "fail", "a missing tag is a finding, not blindness");
    });

    it("every request a check sends is a row of that check in bootstrap/preflightReads.ts, and every row is sent", () => {
        const sent = new Set<string>();
        for (const [name, byCheck] of Object.entries(runs)) {
            for (const [id, run] of Object.entries(byCheck)) {
                for (const r of run.requests as FakeRequest[]) {
                    const row = readFor(r.method, r.host, r.path);
                    assert.ok(row, `${name} ${id}: ${r.method} ${r.host}${r.path} has no row in bootstrap/preflightReads.ts`);
                    assert.equal(row.check, id, `${r.method} ${r.host}${r.path} is listed for ${row.check}, sent by ${id}`);
                    sent.add(row.method);
                }
            }
        }
        const unsent = PREFLIGHT_READS.filter((r) => r.check !== "credentials" && !sent.has(r.method)).map((r) => r.method);
        assert.deepEqual(unsent, [], "rows no check sends: delete them, or add the run that sends them here");
    });

    it("the preflight role holds exactly the stack-project permissions those requests need", () => {
        const needed = PREFLIGHT_READS.filter((r) => r.scope === "stack project" || r.scope === "dns project").map((r) => r.permission);
        assert.deepEqual([...PREFLIGHT_ROLE_PERMISSIONS], [...new Set(needed)].sort());
        assert.deepEqual([...PREFLIGHT_ROLE_PERMISSIONS], [
            "compute.globalAddresses.list",
            "compute.projects.get",
            "compute.regions.get",
            "dns.managedZones.get",
            "dns.resourceRecordSets.list",
            "iam.serviceAccounts.get",
            "orgpolicy.policy.get",
            "serviceusage.services.get",
        ]);
        for (const p of PREFLIGHT_ROLE_PERMISSIONS) {
            assert.match(p, /\.(get|list)$/, `${p}: the preflight role only reads`);
        }
        const known = new Set((JSON.parse(readFileSync(path.join(__dirname, "fixtures", "deployer-permissions", "known-permissions.json"), "utf8")) as { permissions: string[] }).permissions);
        assert.deepEqual(PREFLIGHT_ROLE_PERMISSIONS.filter((p) => !known.has(p)), [], "a permission no predefined role holds cannot be put in a custom role");
        // The review's claim, checked against the code: the deployer role alone misses most of them (it
        // manages Cloud DNS zones since the private googleapis.com zone, so it reads zones already).
        assert.deepEqual(
            PREFLIGHT_ROLE_PERMISSIONS.filter((p) => !deployerPermissions().includes(p)),
            ["compute.globalAddresses.list", "compute.projects.get", "compute.regions.get", "orgpolicy.policy.get", "serviceusage.services.get"],
        );
        assert.deepEqual(PREFLIGHT_SERVICES, [
            "artifactregistry.googleapis.com",
            "cloudkms.googleapis.com",
            "cloudresourcemanager.googleapis.com",
            "compute.googleapis.com",
            "dns.googleapis.com",
            "iam.googleapis.com",
            "iamcredentials.googleapis.com",
            "orgpolicy.googleapis.com",
            "serviceusage.googleapis.com",
            "storage.googleapis.com",
        ]);
    });

    it("without any one permission of the role, the check that needs it cannot look and a strict run fails naming it", async () => {
        for (const permission of PREFLIGHT_ROLE_PERMISSIONS) {
            const byCheck = await runChecks(production, ciWorld(permission), "deployer-token", MEMBER, CHECK_IDS, { backendUrl: `gs://${STATE_BUCKET}` });
            const results = Object.values(byCheck).map((r) => r.result);
            const blind = results.filter((r) => r.status === "unchecked");
            assert.ok(blind.length > 0, `without ${permission} every check still passed`);
            for (const r of blind) {
                assert.ok(r.lacks?.includes(permission), `${r.id} could not look without ${permission} but says it lacks ${r.lacks?.join(", ")}`);
            }
            const expected = new Set(PREFLIGHT_READS.filter((r) => r.permission === permission).map((r) => r.check));
            assert.deepEqual(new Set(blind.map((r) => r.id)), expected, permission);
            const strict = applyMode(results, false);
            assert.equal(exitCode(strict), 1, permission);
            for (const r of strict.filter((x) => expected.has(x.id))) {
                assert.equal(r.status, "fail");
                assert.match(r.message, new RegExp(`^could not check: .*lacks ${permission.replace(/\./g, "\\.")}`), r.message);
            }
            assert.equal(exitCode(applyMode(results, true)), 4, `${permission}: --partial exits 4`);
        }
    });
});
