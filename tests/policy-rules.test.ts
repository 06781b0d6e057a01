/**
 * Every policy of the pack, table-driven: the secure fixture passes the whole pack, and each failing
 * variant (one changed property) makes exactly the policy under test report, with its message.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allPolicies } from "../policy/policies";
import { runPolicies } from "../cli/lib/policyRunner";
import type { CaseTable } from "./fixtures/policy/cases";
import { edgeMonitoringCases } from "./fixtures/policy/edgeMonitoringCases";
import { gcpCases } from "./fixtures/policy/gcpCases";
import { kubernetesCases } from "./fixtures/policy/kubernetesCases";
import { Fixture, secureStack } from "./fixtures/policy/secureStack";

const cases: CaseTable = { ...kubernetesCases, ...gcpCases, ...edgeMonitoringCases };

describe("the secure fixture", () => {
    it("passes every policy, advisory ones included", async () => {
        assert.deepEqual(await runPolicies(secureStack()), []);
    });
});

describe("the case tables", () => {
    it("have failing variants for every policy of the pack and no stale entries", () => {
        const names = allPolicies.map((p) => p.name).sort();
        assert.deepEqual(Object.keys(cases).sort(), names);
        for (const name of names) {
            assert.ok(cases[name].fails.length > 0, `${name} has no failing variant`);
        }
    });
});

for (const policy of allPolicies) {
    const table = cases[policy.name];
    describe(policy.name, () => {
        for (const variant of table?.fails ?? []) {
            it(`reports: ${variant.change}`, async () => {
                const f = new Fixture();
                variant.mutate(f);
                const violations = await runPolicies(f.doc, variant.config, { policies: [policy] });
                assert.ok(violations.length > 0, `${policy.name} reported nothing for "${variant.change}"`);
                for (const v of violations) {
                    assert.equal(v.policyName, policy.name);
                    assert.equal(v.enforcementLevel, policy.enforcementLevel);
                    assert.match(v.urn, /^urn:pulumi:/);
                }
                const messages = violations.map((v) => v.message);
                assert.ok(messages.some((m) => variant.message!.test(m)), `no message matches ${variant.message}:\n${messages.join("\n")}`);
            });
        }
        for (const variant of table?.passes ?? []) {
            it(`accepts: ${variant.change}`, async () => {
                const f = new Fixture();
                variant.mutate(f);
                assert.deepEqual(await runPolicies(f.doc, variant.config, { policies: [policy] }), []);
            });
        }
    });
}
