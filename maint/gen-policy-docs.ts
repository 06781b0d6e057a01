/**
 * Generates docs/policies.md from the policy objects in policy/, so the reference cannot drift
 * from the code. `--check` exits 1 when the committed file differs (the test suite checks too).
 *
 *   npm run docs:policies            # rewrite docs/policies.md
 *   npm run docs:policies -- --check # verify it is current
 */
import { Command } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { CHECK_ALIASES, coverageOf, type CoverageStatus, EXTERNAL_CHECKS, peerCasesPath } from "../policy/externalChecks";
import type { ConfigProperty, PackPolicy } from "../policy/lib/define";
import { allPolicies, policiesOf, policyDomains } from "../policy/policies";

/** Where the generated reference lives. */
export const POLICY_DOC = path.resolve(__dirname, "..", "docs", "policies.md");

/** The policy config example the docs show (the tests check that the runner accepts it). */
export const EXAMPLE_CONFIG = {
    "storage-bucket-enforces-public-access-prevention": { publicBuckets: ["*-statics-bucket", "*-downloads-bucket"] },
    "storage-bucket-allows-public-read-only-on-statics": { publicBuckets: ["*-statics-bucket", "*-downloads-bucket"] },
    "pod-pins-image-digests": "disabled",
    "hpa-keeps-two-replicas-in-production": { enforcementLevel: "advisory", minReplicas: 3 },
};

/** Escapes text for a Markdown table cell. */
function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function code(value: unknown): string {
    return `\`${JSON.stringify(value)}\``;
}

function typeOf(schema: ConfigProperty): string {
    if (typeof schema !== "object") {
        return "any";
    }
    const items = schema.items;
    if (schema.type === "array" && typeof items === "object" && !Array.isArray(items)) {
        return `list of ${String(items.type)}`;
    }
    return String(schema.type ?? "any");
}

function policySection(p: PackPolicy): string[] {
    const lines = [
        `### \`${p.name}\``,
        "",
        p.description,
        "",
        `- **Enforcement:** ${p.enforcementLevel} · **Severity:** ${p.severity} · **Kind:** ${"validateStack" in p ? "stack policy (relates resources)" : "resource policy"}`,
        `- **Resources:** ${p.resourceTypes.map((t) => `\`${t}\``).join(", ")}`,
        `- **Remediation:** ${p.remediationSteps}`,
        ...((p.covers ?? []).length > 0 ? [`- **External checks:** ${(p.covers ?? []).map((id) => `\`${id}\``).join(", ")}`] : []),
    ];
    const properties = Object.entries(p.configSchema?.properties ?? {});
    if (properties.length > 0) {
        lines.push("", "| Setting | Type | Default | Meaning |", "|---|---|---|---|");
        for (const [key, schema] of properties) {
            const s = typeof schema === "object" ? schema : {};
            lines.push(`| \`${key}\` | ${typeOf(schema)} | ${cell(code(s.default))} | ${cell(s.description ?? "")} |`);
        }
    }
    return [...lines, ""];
}

const TOOL_NAMES: Record<string, string> = { checkov: "Checkov", polaris: "Polaris", "kube-linter": "kube-linter", "kube-score": "kube-score" };

/** The coverage map: every applicable external check → its status, the policies that claim it, and why where it is not covered. */
function coverageSection(): string[] {
    const rows = coverageOf(allPolicies);
    const count = (status: CoverageStatus): number => rows.filter((r) => r.status === status).length;
    const missing = rows.filter((r) => r.status === "missing");
    return [
        "## Coverage of external checks",
        "",
        `The pack is measured against the ${EXTERNAL_CHECKS.length} checks of Checkov, Polaris, kube-linter and kube-score that apply to`,
        "what this platform deploys (listed, with every reason below, in [`policy/externalChecks.ts`](../policy/externalChecks.ts);",
        "a policy names the checks it enforces in `covers`). Each rule is counted once; the same rule in another tool is listed under",
        "[Same rule, other tool](#same-rule-other-tool).",
        "",
        "A claim rests on the peer's own test cases: for each claimed check, the objects its test suite fails and passes, taken from",
        "the peer's repository at a pinned commit and translated to what this pack reads, are in `tests/fixtures/policy/peers/`",
        "(linked below), and `tests/policy-coverage.test.ts` runs them against the policies that claim the check. **Covered**: the",
        "pack fires on every case the peer fails (except the peer's own artefacts, each explained in its file). **Partly covered**:",
        "it passes some, not by decision. **Looser on purpose**: it passes some by decision, for the reason given. Where the pack is",
        "stricter than the peer, the case says why. **Exception**: no policy enforces the check, for the reason given.",
        "",
        `**${count("covered")} covered**, **${count("partly covered")} partly covered**, **${count("looser on purpose")} looser on purpose**, **${count("exception")} deliberate exceptions**, **${missing.length} missing**${missing.length > 0 ? ` (${missing.map((r) => `\`${r.check.id}\``).join(", ")})` : ""}.`,
        "",
        "| Check | Tool | Title | Status | Policy, or why not | Peer cases |",
        "|---|---|---|---|---|---|",
        ...rows.map((r) => {
            const links = r.policies.map((name) => `[\`${name}\`](#${name})`).join(", ");
            const ours = [links, r.reason].filter((x) => x !== undefined && x !== "").join(": ");
            const cases = r.policies.length > 0 ? `[cases](../${peerCasesPath(r.check.id)})` : "";
            return `| \`${r.check.id}\` | ${TOOL_NAMES[r.check.tool]} | ${cell(r.check.title)} | ${r.status} | ${cell(ours || "**missing**")} | ${cases} |`;
        }),
        "",
        "### Same rule, other tool",
        "",
        "| Check | Counted as |",
        "|---|---|",
        ...CHECK_ALIASES.map((a) => `| \`${a.id}\` | \`${a.sameAs}\` |`),
        "",
    ];
}

/** The Markdown reference of the pack (deterministic: same code, same text). */
export function renderPolicyDoc(): string {
    const mandatory = allPolicies.filter((p) => p.enforcementLevel === "mandatory").length;
    const lines = [
        "# Policy pack reference",
        "",
        "<!-- Generated by `npm run docs:policies` (maint/gen-policy-docs.ts) from policy/. Do not edit by hand. -->",
        "",
        `The CrossGuard pack \`django-platform\` in [\`policy/\`](../policy) has **${allPolicies.length} policies**: ${mandatory} mandatory`,
        `(a violation fails \`pulumi preview\`/\`pulumi up\` and the offline check) and ${allPolicies.length - mandatory} advisory (reported, never blocking).`,
        "They follow the project's security rules, compiled from Pod Security Admission `restricted`, Checkov, Trivy,",
        "CIS GCP/GKE, Polaris and kube-linter, applied to what this platform deploys; the [coverage map](#coverage-of-external-checks)",
        "lists which policy enforces each applicable check of Checkov, Polaris, kube-linter and kube-score, and how fully, as shown by",
        "those tools' own test cases.",
        "",
        "## Running the pack",
        "",
        "With the project's dependencies installed (`npm ci`; the pack resolves its packages from the root `node_modules`,",
        "a copy of `policy/` on its own needs `npm install` inside it):",
        "",
        "```sh",
        "# with the Pulumi CLI, on every preview and update (no Pulumi Cloud needed)",
        "pulumi preview --policy-pack policy",
        "pulumi up --policy-pack policy --policy-pack-config policy-config.json",
        "",
        "# offline, on any stack export: ours from synth, or `pulumi stack export --file state.json`",
        "npm run synth -- --stack staging --out out/",
        "npm run policy -- out/stack-export.json",
        "npm run policy -- out/stack-export.json --config policy-config.json --json",
        "```",
        "",
        "`npm run policy` prints each violation (policy, enforcement level, resource URN, message) and a summary; `--json` prints",
        "`{\"violations\":[{\"policyName\",\"enforcementLevel\",\"urn\",\"message\"}]}`. Exit code 0: no mandatory violation;",
        "1: mandatory violations; 2: the export or the config cannot be read.",
        "",
        "The offline runner evaluates resource policies on each custom resource's inputs and stack policies on all of them,",
        "with the same arguments CrossGuard passes (the test suite checks that the pack served by CrossGuard reaches the",
        "same verdicts). Values unknown during preview never crash a policy and never hide a violation in a known value.",
        "",
        "### Configuration",
        "",
        "Allow-lists and thresholds are per-policy settings with defaults. A config file (the `--policy-pack-config` format,",
        "also read by `npm run policy -- --config`) sets them and enforcement levels:",
        "",
        "```json",
        JSON.stringify(EXAMPLE_CONFIG, null, 2),
        "```",
        "",
        "Levels are `advisory`, `mandatory`, `remediate` (treated as mandatory) and `disabled`; `\"all\": \"advisory\"` sets every",
        "policy at once. Unknown policies or settings and values of the wrong type are rejected with the policy and setting named.",
        "Production-only policies apply to stacks whose name matches their `productionStacks` globs (`prod*`, `*-prod`, `*-production`).",
        "",
        "## Policies",
        "",
        "| Policy | Enforcement | Severity | Resources |",
        "|---|---|---|---|",
        ...policyDomains.flatMap(({ module }) => policiesOf(module)).map((p) =>
            `| [\`${p.name}\`](#${p.name}) | ${p.enforcementLevel} | ${p.severity} | ${cell(p.resourceTypes.map((t) => t.split(":").pop()).filter((t, i, all) => all.indexOf(t) === i).join(", "))} |`),
        "",
    ];
    for (const { title, module } of policyDomains) {
        lines.push(`## ${title}`, "", ...policiesOf(module).flatMap(policySection));
    }
    lines.push(...coverageSection());
    return `${lines.join("\n").trimEnd()}\n`;
}

/** Writes (or with `--check`, verifies) docs/policies.md; returns the exit code. */
export function main(argv: readonly string[]): number {
    const program = new Command()
        .name("gen-policy-docs")
        .description("Generate docs/policies.md from the policy pack.")
        .option("--check", "exit 1 if docs/policies.md is not up to date, without writing it")
        .parse([...argv], { from: "node" });
    const text = renderPolicyDoc();
    if (program.opts<{ check?: boolean }>().check) {
        let current = "";
        try {
            current = readFileSync(POLICY_DOC, "utf8");
        } catch {
            // A missing file is simply out of date.
        }
        if (current !== text) {
            process.stderr.write(`${path.relative(process.cwd(), POLICY_DOC)} is out of date; run: npm run docs:policies\n`);
            return 1;
        }
        return 0;
    }
    writeFileSync(POLICY_DOC, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), POLICY_DOC)} (${allPolicies.length} policies)\n`);
    return 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv);
}
