/**
 * docs/policies.md is generated from the policy objects: the committed file must be current.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { allPolicies } from "../policy/policies";
import { parsePolicyConfig } from "../tools/lib/policyRunner";
import { EXAMPLE_CONFIG, POLICY_DOC, renderPolicyDoc } from "../tools/gen-policy-docs";

describe("docs/policies.md", () => {
    const committed = readFileSync(POLICY_DOC, "utf8");
    it("equals the generator's output (run `npm run docs:policies` after changing a policy)", () => {
        assert.equal(committed, renderPolicyDoc());
    });
    it("has a section per policy with its enforcement level, and shows how to run the pack", () => {
        for (const p of allPolicies) {
            assert.match(committed, new RegExp(`### \`${p.name}\`\\n\\n.+\\n\\n- \\*\\*Enforcement:\\*\\* ${p.enforcementLevel} `), p.name);
        }
        assert.match(committed, /^pulumi preview --policy-pack policy$/m);
        assert.match(committed, /^npm run policy -- out\/stack-export\.json$/m);
    });
    it("shows a config example the runner accepts", () => {
        assert.deepEqual(parsePolicyConfig(JSON.stringify(EXAMPLE_CONFIG), "the docs example"), EXAMPLE_CONFIG);
    });
});
