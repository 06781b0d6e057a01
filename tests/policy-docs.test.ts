/**
 * docs/policies.md is generated from the policy objects: the committed file must be current.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { coverageOf, peerCasesPath } from "../policy/externalChecks";
import { allPolicies } from "../policy/policies";
import { parsePolicyConfig } from "../cli/lib/policyRunner";
import { EXAMPLE_CONFIG, POLICY_DOC, renderPolicyDoc } from "../maint/gen-policy-docs";

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
    it("shows every external check with its status, and links the peer cases behind each claim", () => {
        for (const row of coverageOf(allPolicies)) {
            const line = committed.split("\n").find((l) => l.startsWith(`| \`${row.check.id}\` |`));
            assert.ok(line !== undefined, `${row.check.id} is not in the coverage map`);
            assert.ok(line.includes(`| ${row.status} |`), `${row.check.id}: status ${row.status}`);
            if (row.policies.length > 0) {
                assert.ok(line.includes(`](../${peerCasesPath(row.check.id)})`), `${row.check.id}: no link to its peer cases`);
            }
            if (row.reason !== undefined) {
                assert.ok(line.includes(row.reason.slice(0, 40).replace(/\|/g, "\\|")), `${row.check.id}: the reason is not shown`);
            }
        }
    });
    it("shows a config example the runner accepts", () => {
        assert.deepEqual(parsePolicyConfig(JSON.stringify(EXAMPLE_CONFIG), "the docs example"), EXAMPLE_CONFIG);
    });
});
