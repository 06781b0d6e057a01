/**
 * Cloud Armor (components/edge.ts, components/armorRules.ts) and the config keys `edge.armor.*`.
 *
 * Facts relied on, each checked below:
 * - Preconfigured WAF rules are named `<class>-v33-stable` (OWASP CRS 3.3) and take a sensitivity
 *   0-4, where 0 enables no signature (https://cloud.google.com/armor/docs/waf-rules,
 *   https://cloud.google.com/armor/docs/rule-tuning).
 * - A basic match takes at most 10 source ranges ("Maximum number of srcIpRanges allowed is 10",
 *   `@pulumi/gcp` types/input.d.ts, SecurityPolicyRuleMatchConfig).
 * - Edge security policies (`CLOUD_ARMOR_EDGE`) filter requests to backend buckets before the cache
 *   (`@pulumi/gcp` compute/securityPolicy.d.ts); a backend bucket takes one as `edgeSecurityPolicy`.
 * - GKE Ingress attaches a policy through the BackendConfig's `spec.securityPolicy.name`
 *   (https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration#cloud_armor), a field
 *   of the official BackendConfig schema (`@kubernetes-models/gke`).
 * - DNS records: see tests/dns.test.ts; the rendered records are checked here, on the same renders.
 * - Checkov CKV_GCP_73 matches the Log4j rule by the exact expression
 *   `evaluatePreconfiguredExpr('cve-canary')` (checkov CloudArmorWAFACLCVE202144228.py).
 * - Cloud Armor acts on the first matching rule by priority; a conforming throttle allows and ends
 *   the evaluation; a preview rule is not enforced and evaluation goes on
 *   (https://cloud.google.com/armor/docs/create-security-policy-rules, the provider's own field
 *   descriptions): tests/lib/armorModel.ts models them, and the rendered policies are sent labelled
 *   requests (tests/fixtures/armorRequests.ts).
 * - ingress-gce ignores a BackendConfig without `securityPolicy` and detaches only on an empty name
 *   (kubernetes/ingress-gce pkg/backends/features/securitypolicy.go @ acbcf5d); a policy in use
 *   cannot be deleted (https://cloud.google.com/sdk/gcloud/reference/compute/security-policies/delete):
 *   the transitions below.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { backendRules, DEFAULT_RULE_PRIORITY, edgeRules, LOG4J_EXPRESSION, MAX_RANGES_PER_RULE, WAF_RULE_SETS, wafExpression } from "../components/armorRules";
import { edgeProblems, edgeSettings } from "../components/edge";
import { ConfigError, validateConfig } from "../config";
import { validateObject } from "../cli/lib/k8sValidate";
import type { StackModel } from "../cli/lib/preflight/model";
import { quotaNeeds } from "../cli/lib/preflight/quotas";
import { LABELLED_REQUESTS } from "./fixtures/armorRequests";
import { ROOT, Rendered, renderStack, T } from "./helpers/platform";
import { checkPlan } from "../maint/lib/transitions/check";
import { planTransition } from "../maint/lib/transitions/plan";
import { ArmorPolicyModel, expressionMatches, preconfiguredMatch, SIGNATURES, type ArmorRequest, type Decision, type ModelRule } from "./lib/armorModel";

const POLICY = "gcp:compute/securityPolicy:SecurityPolicy";
const BACKEND_CONFIG = "kubernetes:cloud.google.com/v1:BackendConfig";
const BACKEND_BUCKET = "gcp:compute/backendBucket:BackendBucket";
const RECORD = "gcp:dns/recordSet:RecordSet";
const OPTS = { preview: false, wafSensitivity: 1, rateLimitPerMinute: 600, denyCountries: [] as string[], denyCidrs: [] as string[] };

const BASE: Record<string, string> = {
    "gcp:project": "acme-staging",
    "gcp:region": "europe-west1",
    "django-platform:domain": "app.example.com",
    "django-platform:image": "repo/app:1.0",
};

/**
 * The deletes of a transition from `before` to `after` (`undefined`: pulumi destroy), planned as the
 * engine plans them (maint/lib/transitions/plan.ts), must not delete what is still attached
 * (maint/lib/transitions/check.ts): a policy a BackendConfig named is held by GKE's Ingress
 * controller, which detaches it on its own schedule, so Pulumi must never delete it; a backend
 * bucket's edgeSecurityPolicy is detached by the bucket's update (updates run before deletes) or by
 * the bucket's own delete, which comes first when the bucket depends on the policy.
 */
function assertNoAttachedPolicyDeleted(before: Rendered, after: Rendered | undefined): void {
    const findings = checkPlan(planTransition(before.resources, after?.resources), {}, ["attached"]);
    assert.deepEqual(findings.map((f) => f.message), []);
}

function problemsFor(patch: Record<string, string>): string[] {
    try {
        validateConfig({ ...BASE, ...patch }, "staging");
        return [];
    } catch (err) {
        if (err instanceof ConfigError) {
            return err.problems;
        }
        throw err;
    }
}

describe("armor rules (pure)", () => {
    it("block the OWASP classes with the CRS 3.3 rule sets at the configured sensitivity, deny(403)", () => {
        assert.deepEqual([...WAF_RULE_SETS], ["sqli-v33-stable", "xss-v33-stable", "lfi-v33-stable", "rfi-v33-stable", "rce-v33-stable", "scannerdetection-v33-stable"]);
        const rules = backendRules({ ...OPTS, wafSensitivity: 2 });
        for (const set of WAF_RULE_SETS) {
            const rule = rules.find((r) => r.match.expr?.expression === wafExpression(set, 2));
            assert.ok(rule, `no rule for ${set}`);
            assert.equal(rule.action, "deny(403)");
        }
        assert.equal(wafExpression("sqli-v33-stable", 1), "evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1})");
    });

    it("order: deny-lists, then the WAF and Log4j rules, then the throttle, then the default allow, even with the longest deny-lists config allows", () => {
        const denyCidrs = Array.from({ length: 500 }, (_, i) => `10.${Math.floor(i / 250)}.${i % 250}.0/24`);
        const denyCountries = Array.from({ length: 50 }, (_, i) => `${String.fromCharCode(65 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}`);
        const rules = backendRules({ ...OPTS, denyCidrs, denyCountries });
        assert.equal(new Set(rules.map((x) => x.priority)).size, rules.length, "priorities must be unique");
        const kind = (x: (typeof rules)[number]) => (x.description.startsWith("edge.armor.deny") ? "deny-list" : x.action === "throttle" ? "throttle" : x.priority === DEFAULT_RULE_PRIORITY ? "default" : "waf");
        const order = [...rules].sort((a, b) => a.priority - b.priority).map(kind);
        assert.deepEqual(order.filter((k, i) => k !== order[i - 1]), ["deny-list", "waf", "throttle", "default"]);
    });

    it("rate-limit per client IP: throttle at rateLimitPerMinute per 60 s, 429 above", () => {
        const throttle = backendRules({ ...OPTS, rateLimitPerMinute: 900 }).find((r) => r.action === "throttle");
        assert.deepEqual(throttle?.rateLimitOptions, { conformAction: "allow", exceedAction: "deny(429)", enforceOnKey: "IP", rateLimitThreshold: { count: 900, intervalSec: 60 } });
    });

    it("preview puts every rule in preview except the Log4j rule and the default allow", () => {
        const rules = backendRules({ ...OPTS, preview: true, denyCountries: ["KP"], denyCidrs: ["198.51.100.0/24"] });
        for (const r of rules) {
            const expected = !(r.priority === DEFAULT_RULE_PRIORITY || r.match.expr?.expression === LOG4J_EXPRESSION);
            assert.equal(r.preview === true, expected, r.description);
        }
    });

    it("the Log4j rule uses exactly the expression Checkov CKV_GCP_73 looks for", () => {
        assert.equal(LOG4J_EXPRESSION, "evaluatePreconfiguredExpr('cve-canary')");
        const rule = backendRules(OPTS).find((r) => r.match.expr?.expression === LOG4J_EXPRESSION);
        assert.equal(rule?.action, "deny(403)");
        assert.equal(rule?.preview, false);
    });

    it("deny-lists: CIDRs in rules of at most 10 ranges (the API's limit), countries as origin.region_code", () => {
        const types = readFileSync(path.join(ROOT, "node_modules/@pulumi/gcp/types/input.d.ts"), "utf8");
        assert.match(types, /Maximum number of srcIpRanges allowed is 10\./);
        assert.equal(MAX_RANGES_PER_RULE, 10);
        const cidrs = Array.from({ length: 23 }, (_, i) => `198.51.${i}.0/24`);
        const rules = edgeRules({ preview: false, denyCountries: ["KP", "RU"], denyCidrs: cidrs });
        const ranges = rules.filter((r) => r.description === "edge.armor.denyCidrs").map((r) => r.match.config!.srcIpRanges.length);
        assert.deepEqual(ranges, [10, 10, 3]);
        assert.equal(rules.find((r) => r.description === "edge.armor.denyCountries")?.match.expr?.expression, "origin.region_code == 'KP' || origin.region_code == 'RU'");
        assert.equal(new Set(rules.map((r) => r.priority)).size, rules.length, "priorities must be unique");
        assert.equal(rules.at(-1)?.priority, DEFAULT_RULE_PRIORITY);
    });

    it("splits a long country deny-list into rules of at most five subexpressions (Cloud Armor's limit for an advanced match)", () => {
        // https://cloud.google.com/armor/docs/create-security-policy-rules: "an expression with up to five subexpressions".
        const codes = ["AA", "BB", "CC", "DD", "EE", "FF", "GG"];
        const rules = edgeRules({ preview: false, denyCountries: codes, denyCidrs: [] }).filter((r) => r.description === "edge.armor.denyCountries");
        assert.deepEqual(rules.map((r) => r.priority), [1100, 1101]);
        for (const r of rules) {
            assert.ok((r.match.expr?.expression.split("||").length ?? 0) <= 5, r.match.expr?.expression);
        }
        assert.deepEqual(rules.flatMap((r) => [...(r.match.expr?.expression ?? "").matchAll(/'([A-Z]{2})'/g)].map((m) => m[1])), codes);
    });

    it("the edge (CDN) policy has only deny-lists and the default allow: no WAF, no rate limit", () => {
        const rules = edgeRules({ preview: false, denyCountries: ["KP"], denyCidrs: [] });
        assert.deepEqual(rules.map((r) => r.action), ["deny(403)", "allow"]);
        const sdk = readFileSync(path.join(ROOT, "node_modules/@pulumi/gcp/compute/securityPolicy.d.ts"), "utf8");
        assert.match(sdk, /CLOUD_ARMOR_EDGE` - Cloud Armor edge security policies can be configured to filter incoming HTTP requests targeting backend services\s+\*\s+\(including Cloud CDN-enabled\) as well as backend buckets/);
    });

    it("validation names the key; defaults resolve once", () => {
        assert.deepEqual(edgeProblems({ project: "p", wafSensitivity: 0 }), ["edge.armor.wafSensitivity must be 1, 2, 3 or 4 (got 0); 0 would enable no signature."]);
        assert.deepEqual(edgeSettings({ project: "p" }), { preview: false, wafSensitivity: 1, rateLimitPerMinute: 600, denyCountries: [], denyCidrs: [], adaptiveProtection: false, cdn: false });
    });
});

describe("edge config", () => {
    it("defaults: Armor on, enforcing, sensitivity 1, 600 requests per minute", () => {
        const cfg = validateConfig(BASE, "staging");
        assert.deepEqual(cfg.edge.armor, { enabled: true, preview: false, wafSensitivity: 1, rateLimitPerMinute: 600, denyCountries: [], denyCidrs: [], adaptiveProtection: false });
    });

    it("adaptiveProtection true is accepted without any Enterprise setting (Standard gets basic alerts) and turns on layer 7 defence", async () => {
        // https://cloud.google.com/armor/docs/adaptive-protection-overview: without Enterprise "you receive only a basic alert".
        assert.deepEqual(problemsFor({ "django-platform:edge": JSON.stringify({ armor: { adaptiveProtection: true } }) }), []);
        const rendered = await renderStack("production", { "django-platform:edge": { armor: { adaptiveProtection: true } } });
        assert.deepEqual(rendered.inputs(POLICY, "django-edge-armor").adaptiveProtectionConfig, { layer7DdosDefenseConfig: { enable: true, ruleVisibility: "STANDARD" } });
    });

    it("refuses a bad region code and deny-lists with Armor off", () => {
        assert.match(problemsFor({ "django-platform:edge": JSON.stringify({ armor: { denyCountries: ["kp"] } }) })[0], /^django-platform:edge\.armor\.denyCountries\[0\]: must be an upper-case ISO 3166-1 alpha-2 region code such as RU \(got "kp"\)/);
        assert.deepEqual(problemsFor({ "django-platform:edge": JSON.stringify({ armor: { enabled: false, denyCidrs: ["198.51.100.0/24"] } }) }), [
            "django-platform:edge.armor.denyCountries/django-platform:edge.armor.denyCidrs are set (got [\"198.51.100.0/24\"]) but django-platform:edge.armor.enabled is false, so nothing would enforce them. Fix: `pulumi config set --path edge.armor.enabled true`, or remove the lists with `pulumi config rm --path edge.armor.denyCidrs`.",
        ]);
    });
});

const allowAll = (priority: number, action = "allow"): ModelRule => ({ priority, action, match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } } });
const DEFAULT = allowAll(DEFAULT_RULE_PRIORITY);
const throttle = (priority: number, count: number, enforceOnKey = "IP", preview = false): ModelRule => ({
    ...allowAll(priority, "throttle"),
    preview,
    rateLimitOptions: { conformAction: "allow", exceedAction: "deny(429)", enforceOnKey, rateLimitThreshold: { count, intervalSec: 60 } },
});
const waf = (priority: number, set: string, preview = false): ModelRule => ({ priority, action: "deny(403)", preview, description: set, match: { expr: { expression: wafExpression(set, 1) } } });
const sample = (name: string): ArmorRequest => LABELLED_REQUESTS.find((x) => x.name === name)!.request;
const who = (d: Decision) => `${d.outcome} ${d.status} by ${d.rule.priority}${d.preview ? ` (preview: ${d.preview.outcome} ${d.preview.status} by ${d.preview.rule.priority})` : ""}`;

describe("the Cloud Armor model (tests/lib/armorModel.ts) follows Google's documented semantics", () => {
    it("rests on the provider's own words: priority order, a conform action that can only allow, preview not enforced", () => {
        const types = readFileSync(path.join(ROOT, "node_modules/@pulumi/gcp/types/input.d.ts"), "utf8");
        const block = (name: string) => types.slice(types.indexOf(`interface ${name} {`), types.indexOf("\n    }", types.indexOf(`interface ${name} {`)));
        assert.match(block("SecurityPolicyRule"), /Rules are evaluated from highest priority \(lowest numerically\) to lowest priority \(highest numerically\) in order\./);
        assert.match(block("SecurityPolicyRule"), /When set to true, the `action` specified above is not enforced\./);
        assert.match(block("SecurityPolicyRuleRateLimitOptions"), /Action to take for requests that are under the configured rate limit threshold\.\s+\* Valid option is "allow" only\./);
    });

    it("first match by priority decides, whatever the order of the list; lower rules are not evaluated", () => {
        const model = new ArmorPolicyModel([DEFAULT, waf(20, "sqli-v33-stable"), { ...allowAll(10), match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["203.0.113.0/24"] } } }]);
        assert.equal(who(model.evaluate(sample("SQLi tautology"))), "ALLOW 200 by 10", "the allow-list rule at 10 comes first; the WAF at 20 never runs");
        assert.equal(who(model.evaluate({ ...sample("SQLi tautology"), ip: "192.0.2.1" })), "DENY 403 by 20");
        assert.equal(who(model.evaluate({ ...sample("home page"), ip: "192.0.2.1" })), `ALLOW 200 by ${DEFAULT_RULE_PRIORITY}`);
    });

    it("throttle: conforming requests get the conform action (allow) and stop there; over the limit the exceed action, per client IP", () => {
        const model = new ArmorPolicyModel([throttle(10, 3), waf(20, "sqli-v33-stable"), DEFAULT]);
        const sqli = sample("SQLi tautology");
        assert.equal(who(model.evaluate(sqli, 0)), "ALLOW 200 by 10", "a conforming throttle is the matching rule: the WAF below it never runs");
        model.evaluate(sqli, 1);
        model.evaluate(sqli, 2);
        assert.equal(who(model.evaluate(sqli, 3)), "DENY 429 by 10", "the fourth request in 60 s is over the threshold of 3");
        assert.equal(who(model.evaluate({ ...sqli, ip: "192.0.2.9" }, 4)), "ALLOW 200 by 10", "another address has its own count");
        assert.equal(who(model.evaluate(sqli, 70)), "ALLOW 200 by 10", "60 s later the client is under the threshold again (throttle, not a ban)");
        const shared = new ArmorPolicyModel([throttle(10, 1, "ALL"), DEFAULT]);
        shared.evaluate(sqli, 0);
        assert.equal(who(shared.evaluate({ ...sqli, ip: "192.0.2.9" }, 1)), "DENY 429 by 10", "enforceOnKey ALL counts every client together");
    });

    it("a preview rule is logged, not enforced, and evaluation goes on to the rule that is", () => {
        const model = new ArmorPolicyModel([waf(10, "sqli-v33-stable", true), waf(20, "sqli-v33-stable"), DEFAULT]);
        assert.equal(who(model.evaluate(sample("SQLi tautology"))), "DENY 403 by 20 (preview: DENY 403 by 10)");
        const previewOnly = new ArmorPolicyModel([waf(10, "sqli-v33-stable", true), DEFAULT]);
        assert.equal(who(previewOnly.evaluate(sample("SQLi tautology"))), `ALLOW 200 by ${DEFAULT_RULE_PRIORITY} (preview: DENY 403 by 10)`);
    });

    it("evaluates only the expressions the platform renders, and refuses any other", () => {
        assert.equal(expressionMatches("origin.region_code == 'KP' || origin.region_code == 'RU'", { ...sample("home page"), regionCode: "RU" }), true);
        assert.equal(expressionMatches("origin.region_code == 'KP'", sample("home page")), false);
        assert.throws(() => expressionMatches("request.path.matches('/admin')", sample("home page")), /cannot evaluate/);
        assert.throws(() => new ArmorPolicyModel([waf(10, "sqli-v33-stable")]), /no default rule/);
    });

    it("its signatures classify every labelled request as labelled, and the normal ones as nothing, at sensitivity 1", () => {
        for (const { name, label, request } of LABELLED_REQUESTS) {
            const matched = Object.keys(SIGNATURES).filter((family) => preconfiguredMatch(family, 1, request));
            assert.deepEqual(matched, label === "normal" ? [] : [label], name);
        }
    });
});

describe("edge in the rendered stacks", () => {
    const r: Record<string, Rendered> = {};
    before(async () => {
        r.production = await renderStack("production");
        r.productionDeny = await renderStack("production", { "django-platform:edge": { armor: { preview: true, denyCountries: ["KP"], denyCidrs: ["198.51.100.0/24"] } } });
        r.stagingOff = await renderStack("staging", { "django-platform:edge": { armor: { enabled: false } }, "django-platform:monitoring": { enabled: false } });
        r.stagingOn = await renderStack("staging", { "django-platform:edge": { armor: { enabled: true } } });
        r.productionDenyEnforced = await renderStack("production", { "django-platform:edge": { armor: { denyCountries: ["KP"], denyCidrs: ["198.51.100.0/24"] } } });
    });

    /** A fresh model of a rendered stack's web backend policy. */
    const backendPolicy = (stack: Rendered) => new ArmorPolicyModel(stack.inputs(POLICY, "django-edge-armor").rules as ModelRule[]);
    const ruleName = (d: Decision | Decision["preview"]) => d?.rule.description ?? String(d?.rule.priority);
    const THROTTLE = "edge.armor.rateLimitPerMinute per client IP";
    const stopper = (label: string) => (label === "cve-canary" ? "preconfigured WAF: cve-canary (Log4j)" : `preconfigured WAF: ${label}-v33-stable`);

    for (const stack of ["production", "stagingOn"]) {
        it(`traffic through ${stack}'s rendered policy: each attack is refused 403 by the rule for its class, normal traffic passes`, () => {
            const model = backendPolicy(r[stack]);
            const seen = LABELLED_REQUESTS.map(({ name, request }, i) => {
                const d = model.evaluate(request, i);
                return `${name}: ${d.outcome} ${d.status} by ${ruleName(d)}`;
            });
            assert.deepEqual(seen, LABELLED_REQUESTS.map(({ name, label }) => `${name}: ${label === "normal" ? `ALLOW 200 by ${THROTTLE}` : `DENY 403 by ${stopper(label)}`}`));
        });
    }

    it("a burst over edge.armor.rateLimitPerMinute: 429 from the throttle for that client only, and attacks inside the burst still meet the WAF", () => {
        const model = backendPolicy(r.production);
        const limit = r.production.inputs(POLICY, "django-edge-armor").rules.find((x: ModelRule) => x.action === "throttle").rateLimitOptions.rateLimitThreshold.count;
        assert.equal(limit, 600);
        const home = { ...sample("home page"), ip: "192.0.2.10" };
        const outcomes = Array.from({ length: 700 }, (_, i) => model.evaluate(home, i * 0.04));
        assert.deepEqual([...new Set(outcomes.slice(0, limit).map((d) => `${d.status} ${ruleName(d)}`))], [`200 ${THROTTLE}`]);
        assert.deepEqual([...new Set(outcomes.slice(limit).map((d) => `${d.status} ${ruleName(d)}`))], [`429 ${THROTTLE}`]);
        assert.equal(model.evaluate(sample("home page"), 29).status, 200, "another client is not throttled");
        assert.equal(ruleName(model.evaluate({ ...sample("SQLi tautology"), ip: "192.0.2.10" }, 29)), "preconfigured WAF: sqli-v33-stable", "the WAF comes before the throttle");
        assert.equal(model.evaluate(home, 120).status, 200, "a minute later the client is let back in");
    });

    it("deny-lists come first: a listed address or region gets 403 from the deny-list rule, even with a clean request", () => {
        const model = backendPolicy(r.productionDenyEnforced);
        assert.equal(ruleName(model.evaluate({ ...sample("home page"), ip: "198.51.100.7" })), "edge.armor.denyCidrs");
        assert.equal(model.evaluate({ ...sample("home page"), ip: "198.51.100.7" }).status, 403);
        assert.equal(ruleName(model.evaluate({ ...sample("home page"), regionCode: "KP" })), "edge.armor.denyCountries");
        assert.equal(ruleName(model.evaluate(sample("home page"))), THROTTLE);
    });

    it("edge.armor.preview: attacks pass with the rule that would have refused them in the log; the Log4j rule still refuses", () => {
        const model = backendPolicy(r.productionDeny);
        const sqli = model.evaluate(sample("SQLi tautology"));
        assert.equal(sqli.status, 200);
        assert.equal(ruleName(sqli.preview), "preconfigured WAF: sqli-v33-stable");
        const listed = model.evaluate({ ...sample("home page"), ip: "198.51.100.7" });
        assert.equal(`${listed.status} ${ruleName(listed.preview)}`, "200 edge.armor.denyCidrs");
        const log4j = model.evaluate(sample("Log4j JNDI lookup in a header"));
        assert.equal(`${log4j.status} ${ruleName(log4j)}`, "403 preconfigured WAF: cve-canary (Log4j)");
    });

    it("production: the BackendConfig attaches the backend policy by name, and validates against the official schema", () => {
        const policy = r.production.one(POLICY, "django-edge-armor");
        assert.equal(policy.inputs.type, "CLOUD_ARMOR");
        const backend = r.production.one(BACKEND_CONFIG);
        assert.equal(r.production.inputs(BACKEND_CONFIG).spec.securityPolicy.name, policy.outputs.name ?? policy.inputs.name);
        const errors = validateObject({ urn: backend.urn, apiVersion: "cloud.google.com/v1", kind: "BackendConfig", name: "web", namespace: "x", patch: false, object: backend.inputs });
        assert.deepEqual(errors, []);
        assert.deepEqual(policy.inputs.advancedOptionsConfig, { jsonParsing: "STANDARD", logLevel: "NORMAL" });
        assert.equal(r.production.all(POLICY).length, 1, "no edge policy without deny-lists");
        assert.equal(r.production.inputs(BACKEND_BUCKET).edgeSecurityPolicy, undefined);
    });

    it("with deny-lists and the CDN: an edge policy on the backend bucket; preview reaches the rules", () => {
        const edge = r.productionDeny.one(POLICY, "django-edge-cdn-armor");
        assert.equal(edge.inputs.type, "CLOUD_ARMOR_EDGE");
        assert.equal(r.productionDeny.inputs(BACKEND_BUCKET).edgeSecurityPolicy, edge.outputs.selfLink);
        const rules = r.productionDeny.inputs(POLICY, "django-edge-armor").rules as Array<{ preview?: boolean; description: string }>;
        assert.ok(rules.filter((x) => x.description.startsWith("preconfigured WAF: ") && !x.description.includes("cve-canary")).every((x) => x.preview === true));
    });

    it("edge.armor.enabled false: no policy, and the BackendConfig detaches explicitly (securityPolicy.name \"\")", () => {
        // ingress-gce EnsureSecurityPolicy: "Treat nil security policy -> ignored / Treat empty string
        // security policy name -> remove" (kubernetes/ingress-gce pkg/backends/features/securitypolicy.go @ acbcf5d).
        assert.equal(r.stagingOff.all(POLICY).length, 0);
        assert.deepEqual(r.stagingOff.inputs(BACKEND_CONFIG).spec.securityPolicy, { name: "" });
        const backend = r.stagingOff.one(BACKEND_CONFIG);
        assert.deepEqual(validateObject({ urn: backend.urn, apiVersion: "cloud.google.com/v1", kind: "BackendConfig", name: "web", namespace: "x", patch: false, object: backend.inputs }), []);
    });

    it("preflight counts the rendered policies against the Cloud Armor quotas (cli/lib/preflight/quotas.ts)", () => {
        const armor = (stack: Rendered) => quotaNeeds({ resources: stack.resources, invokes: [] } as unknown as StackModel).filter((n) => n.metric.startsWith("SECURITY_POLICIES") || n.metric.startsWith("SECURITY_POLICY_")).map((n) => `${n.metric} ${n.need}`);
        // production: 6 WAF rules, Log4j, throttle, default; the 7 expression rules are "advanced".
        assert.deepEqual(armor(r.production), ["SECURITY_POLICIES 1", "SECURITY_POLICY_RULES 9", "SECURITY_POLICY_CEVAL_RULES 7"]);
        // with one country and one CIDR: both get a rule in the backend and in the CDN's edge policy.
        assert.deepEqual(armor(r.productionDenyEnforced), ["SECURITY_POLICIES 2", "SECURITY_POLICY_RULES 14", "SECURITY_POLICY_CEVAL_RULES 9"]);
        assert.deepEqual(armor(r.stagingOff), []);
    });

    // The second `pulumi up`: each transition is the render before and the render after. The engine
    // creates and updates first and deletes what left the program last, dependents before their
    // dependencies (pulumi/pulumi#9979); a delete of a SecurityPolicy that a backend still uses fails:
    // "Security policies can only be deleted when no other resources (e.g., backend services) refer
    // to them" (https://cloud.google.com/sdk/gcloud/reference/compute/security-policies/delete).
    describe("transitions: Cloud Armor on → off → on, and pulumi destroy", () => {
        it("on → off: the policy the BackendConfig named leaves the state without a delete call (retainOnDelete)", () => {
            assertNoAttachedPolicyDeleted(r.stagingOn, r.stagingOff);
            const policy = r.stagingOn.one(POLICY, "django-edge-armor");
            assert.equal(policy.retainOnDelete, true, "GKE's controller detaches asynchronously after the BackendConfig update; a delete in the same up would race it");
        });

        it("off → on: a new policy under a fresh engine-generated name, which the BackendConfig names", () => {
            const policy = r.stagingOn.one(POLICY, "django-edge-armor");
            // No physical name in the inputs: the engine auto-names it `<name>-<random suffix>`, so a
            // policy retained by an earlier `off` never collides with the new one.
            assert.equal(policy.inputs.name, undefined);
            assert.equal(r.stagingOn.inputs(BACKEND_CONFIG).spec.securityPolicy.name, policy.outputs.name);
            assert.ok(r.stagingOn.one(BACKEND_CONFIG).dependencies.includes(policy.urn), "the BackendConfig waits for the policy to exist");
        });

        it("pulumi destroy: nothing Pulumi deletes is still attached (production, and production with the CDN edge policy)", () => {
            assertNoAttachedPolicyDeleted(r.production, undefined);
            assertNoAttachedPolicyDeleted(r.productionDeny, undefined);
        });

        it("CDN: dropping the deny-lists detaches the edge policy with the bucket's update before the policy is deleted", () => {
            assertNoAttachedPolicyDeleted(r.productionDeny, r.production);
            const edge = r.productionDeny.one(POLICY, "django-edge-cdn-armor");
            // The bucket stays and loses edgeSecurityPolicy: the provider's update POSTs
            // setEdgeSecurityPolicy with an empty reference and waits for the operation
            // (resource_compute_backend_bucket.go, "security_policy isn't set by Create / Update").
            assert.equal(r.productionDeny.inputs(BACKEND_BUCKET).edgeSecurityPolicy, edge.outputs.selfLink);
            assert.equal(r.production.inputs(BACKEND_BUCKET).edgeSecurityPolicy, undefined);
            assert.equal(r.production.one(BACKEND_BUCKET).urn, r.productionDeny.one(BACKEND_BUCKET).urn);
            assert.notEqual(edge.retainOnDelete, true, "the bucket detaches synchronously, so the edge policy is really deleted");
        });
    });

    // DNS (components/dns.ts; the pure part and its facts are in tests/dns.test.ts).
    it("dns, production (dns.managedZone example-com): A records for the domain and the CDN domain at the reserved addresses", () => {
        // The site's records (components/dns.ts); the VPC's private googleapis.com zone has its own (tests/platform.test.ts, "Private Google Access and egress").
        const records = r.production.all(RECORD).filter((x) => x.name.startsWith("django-dns-"));
        assert.deepEqual(r.production.all(RECORD).filter((x) => !records.includes(x)).map((x) => x.name).sort(), ["django-network-googleapis-private", "django-network-googleapis-wildcard"]);
        assert.deepEqual(records.map((x) => [x.inputs.managedZone, x.inputs.name, x.inputs.type, x.inputs.ttl]).sort(), [
            ["example-com", "static.example.com.", "A", 300],
            ["example-com", "www.example.com.", "A", 300],
        ]);
        const address = (name: string) => r.production.one(T.globalAddress, name).outputs.address;
        assert.deepEqual(r.production.inputs(RECORD, "django-dns-site").rrdatas, [address("django-networking-ip")]);
        assert.deepEqual(r.production.inputs(RECORD, "django-dns-cdn").rrdatas, [address("django-statics-cdn-ip")]);
        assert.equal(r.production.inputs(RECORD, "django-dns-site").project, "acme-django-prod");
        assert.equal(r.production.result.stackOutputs.dnsRecordsManaged, true);
    });

    it("dns, staging (no managed zone): no record is created and dnsRecords says exactly what to create", () => {
        assert.equal(r.stagingOff.all(RECORD).filter((x) => x.name.startsWith("django-dns-")).length, 0);
        assert.equal(r.stagingOff.result.stackOutputs.dnsRecordsManaged, false);
        const ip = r.stagingOff.one(T.globalAddress, "django-networking-ip").outputs.address;
        assert.deepEqual(r.stagingOff.result.stackOutputs.dnsRecords, [{ name: "staging.example.com.", type: "A", ttl: 300, value: ip }]);
    });

    it("monitoring.enabled false: no uptime check, alert, channel or dashboard", () => {
        for (const type of ["gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig", "gcp:monitoring/alertPolicy:AlertPolicy", "gcp:monitoring/notificationChannel:NotificationChannel", "gcp:monitoring/dashboard:Dashboard"]) {
            assert.equal(r.stagingOff.all(type).length, 0, type);
        }
    });
});
