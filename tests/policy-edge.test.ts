/**
 * The Cloud Armor and monitoring policies (policy/edge.ts, policy/monitoring.ts): the secure fixture
 * with the edge and monitoring resources passes the whole pack; each failing variant makes exactly
 * the policy under test report; and both rendered stacks (index.ts under mocks) pass the pack with
 * their new resources, production with Armor attached and alerts present.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { allPolicies } from "../policy/policies";
import * as edgePolicies from "../policy/edge";
import * as monitoringPolicies from "../policy/monitoring";
import { policiesOf } from "../policy/policies";
import { runPolicies, type PolicyViolation } from "../cli/lib/policyRunner";
import { buildStackExport } from "../cli/lib/stackExport";
import { edgeMonitoringCases, withEdgeAndMonitoring } from "./fixtures/policy/edgeMonitoringCases";
import { Fixture } from "./fixtures/policy/secureStack";
import { renderStack, stackConfig, withoutStackTraces } from "./helpers/platform";

const ours = [...policiesOf(edgePolicies), ...policiesOf(monitoringPolicies)];

describe("edge and monitoring policies: registration", () => {
    it("are in the pack, each with a case table that has failing variants", () => {
        const names = allPolicies.map((p) => p.name);
        for (const policy of ours) {
            assert.ok(names.includes(policy.name), `${policy.name} is not in policy/policies.ts`);
            assert.ok((edgeMonitoringCases[policy.name]?.fails.length ?? 0) > 0, `${policy.name} has no failing variant`);
        }
        assert.deepEqual(Object.keys(edgeMonitoringCases).sort(), ours.map((p) => p.name).sort());
    });

    it("the secure fixture with the edge and monitoring resources passes every policy of the pack", async () => {
        assert.deepEqual(await runPolicies(withEdgeAndMonitoring(new Fixture()).doc), []);
    });
});

for (const policy of ours) {
    const table = edgeMonitoringCases[policy.name];
    describe(policy.name, () => {
        for (const variant of table.fails) {
            it(`reports: ${variant.change}`, async () => {
                const f = withEdgeAndMonitoring(new Fixture());
                variant.mutate(f);
                const violations = await runPolicies(f.doc, variant.config, { policies: [policy] });
                assert.ok(violations.length > 0, `${policy.name} reported nothing for "${variant.change}"`);
                for (const v of violations) {
                    assert.equal(v.policyName, policy.name);
                    assert.equal(v.enforcementLevel, policy.enforcementLevel);
                }
                const messages = violations.map((v) => v.message);
                assert.ok(messages.some((m) => variant.message!.test(m)), `no message matches ${variant.message}:\n${messages.join("\n")}`);
            });
        }
        for (const variant of table.passes ?? []) {
            it(`accepts: ${variant.change}`, async () => {
                const f = withEdgeAndMonitoring(new Fixture());
                variant.mutate(f);
                assert.deepEqual(await runPolicies(f.doc, variant.config, { policies: [policy] }), []);
            });
        }
    });
}

describe("edge and monitoring policies on the rendered stacks", () => {
    const violations: Record<string, PolicyViolation[]> = {};
    before(async () => {
        for (const stack of ["staging", "production"]) {
            const rendered = await renderStack(stack);
            const { config, secretKeys } = stackConfig(stack);
            const doc = buildStackExport(rendered.result, { project: "django-platform", stack, config, secretKeys });
            violations[stack] = await withoutStackTraces(() => runPolicies(doc));
        }
    });

    for (const stack of ["staging", "production"]) {
        it(`${stack}: no violation of the Cloud Armor and monitoring policies, and no mandatory one at all`, () => {
            const names = new Set(ours.map((p) => p.name));
            assert.deepEqual(violations[stack].filter((v) => names.has(v.policyName)).map((v) => `${v.policyName}: ${v.message}`), []);
            assert.deepEqual(violations[stack].filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName}: ${v.message}`), []);
        });
    }
});
