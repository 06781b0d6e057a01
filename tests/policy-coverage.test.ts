/**
 * The pack against the external checks it is compared with (policy/externalChecks.ts): every
 * applicable check is enforced by a policy's `covers` or is a deliberate exception with a reason,
 * and the ids on both sides are real.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CHECK_ALIASES, coverageOf, EXCEPTIONS, EXTERNAL_CHECKS } from "../policy/externalChecks";
import { allPolicies } from "../policy/policies";

/** Covered by a policy, not counting exceptions. */
const MINIMUM_COVERED = 150;

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
    it("covers every Kubernetes-side check or explains it", () => {
        const open = coverage.filter((c) => c.check.target === "kubernetes" && c.policies.length === 0 && c.exception === undefined).map((c) => c.check.id);
        assert.deepEqual(open, []);
    });
});
