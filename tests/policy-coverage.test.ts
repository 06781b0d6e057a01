/**
 * The pack against the external checks it is compared with (policy/externalChecks.ts): every
 * applicable check is enforced by a policy's `covers` or is a deliberate exception with a reason,
 * the ids on both sides are real, and every claim is shown by the peer's own test cases
 * (tests/fixtures/policy/peers/, see tests/lib/peerCases.ts): covered means the pack fires on every
 * case the peer fails; partly covered and looser on purpose are listed with their reasons.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { CHECK_ALIASES, coverageOf, EXCEPTIONS, EXTERNAL_CHECKS, LOOSER_ON_PURPOSE, PARTLY_COVERED } from "../policy/externalChecks";
import { allPolicies } from "../policy/policies";
import { runPolicies } from "../cli/lib/policyRunner";
import { exportOf, loadPeerFixtures, peerFileOf } from "./lib/peerCases";

/** Covered by a policy, not counting exceptions. */
const MINIMUM_COVERED = 150;

const REPO = resolve(__dirname, "..");
const ids = new Set(EXTERNAL_CHECKS.map((c) => c.id));
const coverage = coverageOf(allPolicies);

describe("the external check list", () => {
    it("has 162 applicable checks, each id once, in one id format", () => {
        assert.equal(EXTERNAL_CHECKS.length, 162);
        assert.equal(ids.size, EXTERNAL_CHECKS.length, "duplicate ids");
        for (const check of EXTERNAL_CHECKS) {
            const format = check.tool === "checkov" ? /^CKV2?_(K8S|GCP)_\d+$/ : new RegExp(`^${check.tool}:[a-zA-Z][\\w-]*$`);
            assert.match(check.id, format, check.id);
            assert.ok(check.title.length > 0, `${check.id} has no title`);
        }
    });
    it("has per tool: Checkov 47 Kubernetes and 78 Google Cloud checks, Polaris 23, kube-linter 9, kube-score 5", () => {
        const count = (tool: string, target?: string) => EXTERNAL_CHECKS.filter((c) => c.tool === tool && (target === undefined || c.target === target)).length;
        assert.deepEqual(
            [count("checkov", "kubernetes"), count("checkov", "gcp"), count("polaris"), count("kube-linter"), count("kube-score")],
            [47, 78, 23, 9, 5],
        );
    });
    it("lists exceptions and aliases only for known checks, each with a reason", () => {
        for (const e of EXCEPTIONS) {
            assert.ok(ids.has(e.id), `exception ${e.id} is not an external check`);
            assert.ok(e.reason.length > 40, `exception ${e.id} needs a reason`);
        }
        assert.equal(new Set(EXCEPTIONS.map((e) => e.id)).size, EXCEPTIONS.length, "duplicate exceptions");
        for (const alias of CHECK_ALIASES) {
            assert.ok(!ids.has(alias.id), `alias ${alias.id} is counted as a check itself`);
            assert.ok(ids.has(alias.sameAs), `alias ${alias.id} points to unknown ${alias.sameAs}`);
        }
    });
});

describe("the pack's coverage of the external checks", () => {
    it("names only listed checks in `covers`", () => {
        const unknown = allPolicies.flatMap((p) => (p.covers ?? []).filter((id) => !ids.has(id)).map((id) => `${p.name}: ${id}`));
        assert.deepEqual(unknown, [], `covers ids missing from policy/externalChecks.ts:\n${unknown.join("\n")}`);
        for (const p of allPolicies) {
            assert.equal(new Set(p.covers ?? []).size, (p.covers ?? []).length, `${p.name} lists a check twice`);
        }
    });
    it("never both covers a check and lists it as an exception", () => {
        const both = coverage.filter((c) => c.policies.length > 0 && c.exception !== undefined).map((c) => `${c.check.id} (${c.policies.join(", ")})`);
        assert.deepEqual(both, [], `covered and an exception at once:\n${both.join("\n")}`);
    });
    it("covers or explains every applicable check", () => {
        const missing = coverage.filter((c) => c.policies.length === 0 && c.exception === undefined).map((c) => `${c.check.id} (${c.check.tool}: ${c.check.title})`);
        assert.deepEqual(missing, [], `${missing.length} external check(s) neither covered by a policy's covers nor an exception:\n${missing.join("\n")}`);
    });
    it(`enforces at least ${MINIMUM_COVERED} of them with a policy (exceptions do not count)`, () => {
        const covered = coverage.filter((c) => c.policies.length > 0).length;
        assert.ok(covered >= MINIMUM_COVERED, `${covered} of ${EXTERNAL_CHECKS.length} covered; uncovered: ${coverage.filter((c) => c.policies.length === 0).map((c) => c.check.id).join(", ")}`);
    });
    it("lists partly covered and looser-on-purpose checks only when a policy claims them, each once, with a reason", () => {
        const notes = [...PARTLY_COVERED, ...LOOSER_ON_PURPOSE];
        assert.equal(new Set(notes.map((n) => n.id)).size, notes.length, "a check is listed twice (or as both partly covered and looser)");
        for (const note of notes) {
            const row = coverage.find((c) => c.check.id === note.id);
            assert.ok(row !== undefined, `${note.id} is not an external check`);
            assert.ok(row.policies.length > 0, `${note.id} is partly covered or looser, but no policy claims it`);
            assert.ok(note.reason.length > 60, `${note.id} needs a reason`);
        }
    });
    it("covers every Kubernetes-side check or explains it", () => {
        const open = coverage.filter((c) => c.check.target === "kubernetes" && c.policies.length === 0 && c.exception === undefined).map((c) => c.check.id);
        assert.deepEqual(open, []);
    });
});

/**
 * The peers' own test cases (tests/fixtures/policy/peers/, see tests/lib/peerCases.ts): run against
 * the policies that claim the check, each must do what its file says — fire where the peer fails
 * the object, stay quiet where the peer passes it, and say why where we knowingly differ.
 */
describe("the evidence behind each claim", () => {
    const fixtures = loadPeerFixtures();
    const byCheck = new Map(fixtures.map((f) => [f.check, f]));
    it("has a file of translated peer cases for every check a policy claims, and none for the others", () => {
        const claimed = coverage.filter((c) => c.policies.length > 0);
        const without = claimed.filter((c) => !existsSync(join(REPO, peerFileOf(c.check.id)))).map((c) => c.check.id);
        assert.deepEqual(without, [], `claimed without the peer's own cases (add ${without.map(peerFileOf).join(", ")}):`);
        const unclaimed = fixtures.filter((f) => !claimed.some((c) => c.check.id === f.check)).map((f) => f.file);
        assert.deepEqual(unclaimed, [], "peer cases for a check no policy claims");
    });
    for (const row of coverage.filter((c) => c.policies.length > 0)) {
        it(`${row.check.id} is ${row.status}: the peer cases show it`, () => {
            const fixture = byCheck.get(row.check.id);
            assert.ok(fixture !== undefined, `no peer cases for ${row.check.id}`);
            const caught = fixture.cases.filter((c) => c.peer === "fail" && c.ours === "fire");
            const passed = fixture.cases.filter((c) => c.peer === "fail" && c.ours === "quiet" && c.artefact !== true);
            assert.ok(caught.length > 0, `${row.check.id}: no case the peer fails on which the pack fires`);
            if (row.status === "covered") {
                assert.deepEqual(passed.map((c) => c.from), [], `${row.check.id} is claimed as covered, but the pack passes these peer failures (list it in PARTLY_COVERED or LOOSER_ON_PURPOSE):`);
            } else {
                assert.ok(passed.length > 0, `${row.check.id} is ${row.status}, but no peer failure passes: it is covered`);
            }
        });
    }
});

describe("the peers' own test cases", () => {
    const fixtures = loadPeerFixtures();
    for (const fixture of fixtures) {
        const claiming = allPolicies.filter((p) => (p.covers ?? []).includes(fixture.check));
        describe(`${fixture.check} (${fixture.file})`, () => {
            it("names a listed check, in the file named after it, with its source and licence in the header", () => {
                assert.ok(ids.has(fixture.check), `${fixture.check} is not in policy/externalChecks.ts`);
                assert.equal(fixture.file, peerFileOf(fixture.check));
                assert.match(fixture.text, new RegExp(`^# Derived from ${fixture.peer.repository.replace("/", "\\/")} `, "m"));
                assert.match(fixture.text, new RegExp(`^# .*${fixture.peer.license === "MIT" ? "MIT License" : "Apache License, Version 2\\.0"}`, "m"));
            });
            for (const c of fixture.cases) {
                it(`${c.ours === "fire" ? "fires on" : "stays quiet on"} ${c.from} (the peer ${c.peer === "fail" ? "fails" : "passes"} it)`, async () => {
                    assert.ok(claiming.length > 0, `no policy covers ${fixture.check}`);
                    const about = c.about ?? fixture.about;
                    const violations = (await runPolicies(exportOf(c), c.config, { policies: claiming }))
                        .filter((v) => about === undefined || new RegExp(about).test(v.message));
                    if (c.ours === "fire") {
                        assert.ok(violations.length > 0, `${claiming.map((p) => p.name).join(", ")} reported nothing`);
                    } else {
                        assert.deepEqual(violations.map((v) => `${v.policyName}: ${v.message}`), []);
                    }
                });
            }
        });
    }
});
