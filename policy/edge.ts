/**
 * Cloud Armor: the web backend is protected in production, its policy blocks the OWASP attack
 * classes with Google's preconfigured WAF rules, and Log4j lookups are refused (components/edge.ts).
 */
import * as gcp from "@pulumi/gcp";
import * as ipaddr from "ipaddr.js";
import {
    configOf, DEFAULT_PRODUCTION_STACKS, isProductionUrn, productionStacksSchema, stringList, tokenPolicy, typedPolicy,
} from "./lib/define";
import { isUnknown, isUnset, read, show, UNKNOWN, type Unknown } from "./lib/values";

const BACKEND_CONFIG = "kubernetes:cloud.google.com/v1:BackendConfig";

/** The rule sets a backend policy must block (OWASP CRS 3.3, https://cloud.google.com/armor/docs/waf-rules). */
export const REQUIRED_WAF_RULE_SETS: readonly string[] = ["sqli", "xss", "lfi", "rfi", "rce"];

/** The Log4j expression Checkov CKV_GCP_73 looks for (it also accepts `evaluatePreconfiguredWaf('cve-canary')`). */
const LOG4J_EXPRESSION = "evaluatePreconfiguredExpr('cve-canary')";

/**
 * A rule expression that is Google's preconfigured `cve-canary` rule (the Log4j signatures,
 * https://cloud.google.com/armor/docs/waf-rules), alone: `evaluatePreconfiguredExpr('cve-canary')`
 * with an optional opt-out list, or `evaluatePreconfiguredWaf('cve-canary')` with optional options
 * (`{'sensitivity': N}`, the form https://cloud.google.com/armor/docs/configure-waf documents for
 * every preconfigured rule), except sensitivity 0 without `opt_in_rule_ids`, which enables no
 * signature (https://cloud.google.com/armor/docs/rule-tuning). A rule that ANDs it with another
 * condition does not block every lookup, so it does not count.
 */
export function isLog4jExpression(expression: string): boolean {
    const match = /^\s*evaluatePreconfigured(Expr|Waf)\(\s*'cve-canary'\s*(?:,\s*(.*?))?\s*\)\s*$/s.exec(expression);
    if (match === null) {
        return false;
    }
    const options = match[2] ?? "";
    return !(match[1] === "Waf" && /'sensitivity'\s*:\s*0\b/.test(options) && !/'opt_in_rule_ids'/.test(options));
}

interface RuleView {
    readonly priority: number | undefined;
    readonly action: string | undefined;
    readonly preview: boolean;
    readonly expression: string | undefined;
    /** The source ranges of a basic (`SRC_IPS_V1`) match; `undefined` for other matches, {@link UNKNOWN} when any is unknown. */
    readonly sources: readonly string[] | undefined | Unknown;
}

/** The source ranges of a rule's basic match, read one by one (an unknown range makes them all unknown). */
function sourcesOf(rule: Record<string, any> | undefined): readonly string[] | undefined | Unknown {
    const versioned = read(() => rule?.match?.versionedExpr);
    const list = read(() => rule?.match?.config?.srcIpRanges as unknown[]);
    if (isUnknown(versioned) || isUnknown(list)) {
        return UNKNOWN;
    }
    if (versioned !== "SRC_IPS_V1" || !Array.isArray(list)) {
        return undefined;
    }
    const ranges: string[] = [];
    for (let i = 0; i < list.length; i++) {
        const range = read(() => list[i]);
        if (isUnknown(range)) {
            return UNKNOWN;
        }
        if (typeof range === "string") {
            ranges.push(range);
        }
    }
    return ranges;
}

/**
 * The rules of a security policy as plain values, or `undefined` when the list or any rule's action,
 * expression or preview flag is unknown (preview): a missing rule cannot be told from an unknown one,
 * so the policies wait for the update, when every value is known.
 */
function rulesOf(props: Record<string, any>): RuleView[] | undefined {
    const list = read(() => props.rules as Record<string, any>[]);
    if (isUnknown(list)) {
        return undefined;
    }
    const items = Array.isArray(list) ? list : [];
    const views: RuleView[] = [];
    for (let i = 0; i < items.length; i++) {
        const rule = read(() => items[i]);
        if (isUnknown(rule)) {
            return undefined;
        }
        const expression = read(() => rule?.match?.expr?.expression);
        const action = read(() => rule?.action);
        const preview = read(() => rule?.preview);
        const priority = read(() => rule?.priority);
        if (isUnknown(expression) || isUnknown(action) || isUnknown(preview) || isUnknown(priority)) {
            return undefined;
        }
        views.push({
            priority: typeof priority === "number" ? priority : undefined,
            action: typeof action === "string" ? action : undefined,
            preview: preview === true,
            expression: typeof expression === "string" ? expression : undefined,
            sources: sourcesOf(rule),
        });
    }
    return views;
}

/** A rule that refuses (deny or a redirect, not allow or throttle). */
const blocks = (r: RuleView): boolean => r.action !== undefined && /^deny/.test(r.action);

/**
 * GKE Ingress attaches a Cloud Armor policy to the backend service only through the
 * BackendConfig's `spec.securityPolicy.name`
 * (https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration#cloud_armor).
 */
export const backendConfigAttachesSecurityPolicyInProduction = tokenPolicy({
    name: "backend-config-attaches-security-policy-in-production",
    description: "In production stacks, a GKE BackendConfig must attach a Cloud Armor security policy (spec.securityPolicy.name), so the site's backend has the WAF and the rate limit.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Keep `edge.armor.enabled` true (the default): components/edge.ts creates the policy and components/networking.ts names it in the BackendConfig. Use `edge.armor.preview true` to roll out without blocking.",
    configSchema: { properties: { productionStacks: productionStacksSchema } },
}, [BACKEND_CONFIG], (props, args, report) => {
    const { productionStacks } = configOf(args, { productionStacks: DEFAULT_PRODUCTION_STACKS });
    if (!isProductionUrn(args.urn, productionStacks)) {
        return;
    }
    const name = read(() => props.spec?.securityPolicy?.name);
    if (isUnknown(name)) {
        return;
    }
    if (isUnset(name) || name === "") {
        report(`spec.securityPolicy.name is ${show(name)}; production needs a Cloud Armor policy on the web backend (edge.armor.enabled true).`);
    }
});

/**
 * A backend policy (type CLOUD_ARMOR, the default) must deny the OWASP classes with Google's
 * preconfigured WAF rules; in production the rules must not be in preview (which only logs).
 */
export const computeSecurityPolicyBlocksOwaspAttacks = typedPolicy({
    name: "compute-security-policy-blocks-owasp-attacks",
    description: "A Cloud Armor backend security policy must deny SQL injection, XSS, local/remote file inclusion and remote code execution with Google's preconfigured WAF rules (evaluatePreconfiguredWaf), not in preview in production.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Add deny(403) rules with evaluatePreconfiguredWaf('<set>-v33-stable', {'sensitivity': 1}) for sqli, xss, lfi, rfi and rce (components/armorRules.ts does); in production set `edge.armor.preview false` once the rollout is done.",
    configSchema: {
        properties: {
            productionStacks: productionStacksSchema,
            requiredRuleSets: stringList(REQUIRED_WAF_RULE_SETS, "Rule set prefixes (sqli, xss, …) that must each have a deny rule."),
        },
    },
}, gcp.compute.SecurityPolicy, (props, args, report) => {
    const { productionStacks, requiredRuleSets } = configOf(args, { productionStacks: DEFAULT_PRODUCTION_STACKS, requiredRuleSets: REQUIRED_WAF_RULE_SETS });
    const type = read(() => props.type);
    if (isUnknown(type) || (typeof type === "string" && type !== "CLOUD_ARMOR")) {
        return; // edge and network edge policies take no WAF rules
    }
    const production = isProductionUrn(args.urn, productionStacks);
    const rules = rulesOf(props as Record<string, any>);
    if (rules === undefined) {
        return;
    }
    for (const set of requiredRuleSets) {
        const pattern = new RegExp(`evaluatePreconfigured(Waf|Expr)\\(\\s*'${set}-v\\d+-(stable|canary)'`);
        const matching = rules.filter((r) => r.expression !== undefined && pattern.test(r.expression) && blocks(r));
        if (matching.length === 0) {
            report(`no deny rule evaluates the preconfigured WAF rule set ${set} (e.g. evaluatePreconfiguredWaf('${set}-v33-stable', {'sensitivity': 1})).`);
        } else if (production && matching.every((r) => r.preview)) {
            report(`the ${set} WAF rule is in preview (it only logs); production must enforce it (edge.armor.preview false).`);
        }
    }
});

/** Checkov CKV_GCP_73: a deny rule on Google's `cve-canary` rule (see {@link isLog4jExpression}), not in preview. */
export const computeSecurityPolicyBlocksLog4jLookups = typedPolicy({
    name: "compute-security-policy-blocks-log4j-lookups",
    description: "A Cloud Armor backend security policy must deny the Log4j 2 JNDI lookup (CVE-2021-44228) with Google's preconfigured cve-canary rule (evaluatePreconfiguredExpr or evaluatePreconfiguredWaf), not in preview.",
    severity: "medium",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_73"],
    remediationSteps: "Add a rule { action: \"deny(403)\", match: { expr: { expression: \"evaluatePreconfiguredExpr('cve-canary')\" } }, preview: false } (components/armorRules.ts does).",
}, gcp.compute.SecurityPolicy, (props, _args, report) => {
    const type = read(() => props.type);
    if (isUnknown(type) || (typeof type === "string" && type !== "CLOUD_ARMOR")) {
        return;
    }
    const all = rulesOf(props as Record<string, any>);
    if (all === undefined) {
        return;
    }
    const rules = all.filter((r) => r.expression !== undefined && isLog4jExpression(r.expression));
    if (!rules.some((r) => r.action !== "allow" && !r.preview)) {
        report(rules.length === 0
            ? `no rule matches ${LOG4J_EXPRESSION} (or evaluatePreconfiguredWaf('cve-canary', …)); add a deny(403) rule for it.`
            : `the cve-canary rule allows or is in preview; make it deny(403) with preview false.`);
    }
});

/**
 * Actions that end the evaluation with the request let through: `allow`, and the rate-limit actions,
 * whose conform action for requests under the limit is `allow` ("Valid option is \"allow\" only",
 * `@pulumi/gcp` SecurityPolicyRuleRateLimitOptions.conformAction).
 */
const LETS_THROUGH = new Set(["allow", "throttle", "rate_based_ban"]);

/** A parsed source range; `*` is every address. */
type Range = "*" | [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseRange(text: string): Range | undefined {
    if (text === "*") {
        return "*";
    }
    try {
        if (text.includes("/")) {
            return ipaddr.parseCIDR(text);
        }
        const address = ipaddr.parse(text);
        return [address, address.kind() === "ipv4" ? 32 : 128];
    } catch {
        return undefined;
    }
}

/** True when `outer` holds every address of `inner`. */
function covers(outer: Range, inner: Range): boolean {
    if (outer === "*") {
        return true;
    }
    if (inner === "*") {
        return false;
    }
    const [oAddr, oBits] = outer;
    const [iAddr, iBits] = inner;
    if (oAddr.kind() !== iAddr.kind() || oBits > iBits) {
        return false;
    }
    return iAddr.kind() === "ipv4" ? (iAddr as ipaddr.IPv4).match(oAddr as ipaddr.IPv4, oBits) : (iAddr as ipaddr.IPv6).match(oAddr as ipaddr.IPv6, oBits);
}

/**
 * True when `earlier` matches every request `later` matches, as far as can be told without
 * evaluating expressions: `earlier` matches every source (`*`, or the expression `true`), or both
 * are basic matches and `earlier`'s ranges cover each of `later`'s.
 */
function matchesEverything(earlier: RuleView, later: RuleView): boolean {
    if (earlier.expression?.trim() === "true") {
        return true;
    }
    if (earlier.sources === undefined || isUnknown(earlier.sources)) {
        return false;
    }
    const outer = earlier.sources.map(parseRange).filter((r): r is Range => r !== undefined);
    if (outer.includes("*")) {
        return true;
    }
    if (later.sources === undefined || isUnknown(later.sources) || later.sources.length === 0) {
        return false;
    }
    return later.sources.every((text) => {
        const inner = parseRange(text);
        return inner !== undefined && outer.some((o) => covers(o, inner));
    });
}

/**
 * Cloud Armor acts on the first rule that matches, by priority: "Rules with a lower priority than the
 * highest priority matching rule are not evaluated" (https://cloud.google.com/armor/docs/create-security-policy-rules).
 * An allow or rate-limit rule that matches every request ahead of a deny rule lets requests through
 * before the deny rule can see them: a throttle ahead of the WAF disables the WAF for every client
 * under the limit. A rule in preview does not end the evaluation, so it shadows nothing.
 */
export const computeSecurityPolicyDenyRulesNotShadowed = typedPolicy({
    name: "compute-security-policy-deny-rules-not-shadowed",
    description: "A Cloud Armor security policy must not put an allow, throttle or rate_based_ban rule that matches every request (or every source a deny rule lists) ahead of a deny rule: Cloud Armor acts on the first matching rule only, so the deny rule (a WAF rule, a deny-list) would never run for the requests let through.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Give the deny rules (deny-lists, preconfigured WAF, Log4j) lower priority numbers than any catch-all allow or rate-limit rule: components/armorRules.ts puts the deny-lists at 1000+, the WAF and Log4j rules at 2000-2006, the throttle at 3000 and the default allow last. Or narrow the allow rule's source ranges.",
}, gcp.compute.SecurityPolicy, (props, _args, report) => {
    const rules = rulesOf(props as Record<string, any>);
    if (rules === undefined) {
        return;
    }
    const ordered = rules.filter((r) => r.priority !== undefined).sort((a, b) => a.priority! - b.priority!);
    for (const [i, rule] of ordered.entries()) {
        if (rule.preview || rule.action === undefined || !LETS_THROUGH.has(rule.action)) {
            continue;
        }
        const shadowed = ordered.slice(i + 1).filter((later) => blocks(later) && matchesEverything(rule, later));
        if (shadowed.length > 0) {
            const catchAll = (Array.isArray(rule.sources) && rule.sources.includes("*")) || rule.expression?.trim() === "true";
            const what = catchAll ? "matches every request" : `matches every source of the deny rules below (${show(rule.sources)})`;
            const names = shadowed.slice(0, 3).map((d) => `${d.priority} (${d.expression ?? show(d.sources)})`).join(", ");
            report(`rule ${rule.priority} (${rule.action}) ${what} and comes before the deny rule${shadowed.length > 1 ? "s" : ""} ${names}${shadowed.length > 3 ? ` and ${shadowed.length - 3} more` : ""}; Cloud Armor stops at the first matching rule, so ${shadowed.length > 1 ? "they never run" : "it never runs"} for the requests rule ${rule.priority} lets through. Give the deny rules lower priority numbers than ${rule.priority}.`);
        }
    }
});
