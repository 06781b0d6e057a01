/**
 * Pure builders of Cloud Armor rules (no Pulumi resources): the backend policy of the web service
 * and the edge policy of the CDN backend bucket. Tested alone in tests/edge.test.ts.
 */

/**
 * Google's preconfigured WAF rule sets this platform enables, OWASP CRS 3.3 (`*-v33-stable`, kept
 * in sync with the canary sets by Google): SQL injection, cross-site scripting, local and remote
 * file inclusion, remote code execution and scanner detection.
 * @see https://cloud.google.com/armor/docs/waf-rules
 */
export const WAF_RULE_SETS = [
    "sqli-v33-stable",
    "xss-v33-stable",
    "lfi-v33-stable",
    "rfi-v33-stable",
    "rce-v33-stable",
    "scannerdetection-v33-stable",
] as const;

/**
 * The rule against the Log4j 2 JNDI message lookup (CVE-2021-44228, CVE-2021-45046): Google's
 * `cve-canary` preconfigured rule (https://cloud.google.com/armor/docs/waf-rules). The app is
 * Python, but the rule is one line, and Checkov CKV_GCP_73 passes a policy only with a rule whose
 * expression is exactly this string, whose action is not allow and that is not in preview
 * (bridgecrewio/checkov checkov/terraform/checks/resource/gcp/CloudArmorWAFACLCVE202144228.py).
 * It is never put in preview: it matches only the JNDI lookup pattern.
 */
export const LOG4J_EXPRESSION = "evaluatePreconfiguredExpr('cve-canary')";

/** The priority of the last rule of a Cloud Armor policy (the default rule, which must exist). */
export const DEFAULT_RULE_PRIORITY = 2147483647;

/**
 * Cloud Armor accepts at most 10 source ranges in one basic (`SRC_IPS_V1`) match: "Maximum number
 * of srcIpRanges allowed is 10" (`@pulumi/gcp` types/input.d.ts, SecurityPolicyRuleMatchConfig,
 * checked by tests/edge.test.ts).
 */
export const MAX_RANGES_PER_RULE = 10;

/**
 * An advanced match condition holds "an expression with up to five subexpressions"
 * (https://cloud.google.com/armor/docs/create-security-policy-rules), so one country rule names at
 * most five region codes; longer deny-lists become several rules.
 */
export const MAX_SUBEXPRESSIONS = 5;

/**
 * Priorities (lower runs first): deny-lists, then the WAF and Log4j rules, then the rate limit, then
 * the default allow. "Cloud Armor performs the action of the highest priority rule that matches a
 * request. Rules with a lower priority than the highest priority matching rule are not evaluated"
 * (https://cloud.google.com/armor/docs/create-security-policy-rules), and the throttle matches every
 * request and allows those under the limit, so any deny rule below it would never run. The pack's
 * `compute-security-policy-deny-rules-not-shadowed` refuses such an order; tests/edge.test.ts sends
 * attacks through the rendered policies with a model of these semantics (tests/lib/armorModel.ts).
 * 50 CIDR rules (config's 500 ranges) end at 1049, 10 country rules (50 codes) at 1109.
 */
export const PRIORITY = { denyCidrs: 1000, denyCountries: 1100, waf: 2000, rateLimit: 3000 } as const;

/** One rule as `gcp.compute.SecurityPolicy` takes it (the subset this platform sets). */
export interface ArmorRule {
    readonly priority: number;
    readonly action: string;
    readonly description: string;
    readonly preview?: boolean;
    readonly match: {
        readonly versionedExpr?: "SRC_IPS_V1";
        readonly config?: { readonly srcIpRanges: string[] };
        readonly expr?: { readonly expression: string };
    };
    readonly rateLimitOptions?: {
        readonly conformAction: string;
        readonly exceedAction: string;
        readonly enforceOnKey: string;
        readonly rateLimitThreshold: { readonly count: number; readonly intervalSec: number };
    };
}

/** What the rules are built from (stack config `edge.armor.*`). */
export interface ArmorRuleOptions {
    /** Only log what the rules would do. */
    readonly preview: boolean;
    /** Sensitivity (paranoia level) 1-4 of the preconfigured WAF rules. */
    readonly wafSensitivity: number;
    /** Requests per minute per client IP. */
    readonly rateLimitPerMinute: number;
    /** ISO 3166-1 alpha-2 codes to refuse. */
    readonly denyCountries: readonly string[];
    /** IPv4 CIDR ranges to refuse. */
    readonly denyCidrs: readonly string[];
}

/** The CEL expression of one preconfigured WAF rule set at a sensitivity. */
export function wafExpression(ruleSet: string, sensitivity: number): string {
    return `evaluatePreconfiguredWaf('${ruleSet}', {'sensitivity': ${sensitivity}})`;
}

/** The CEL expression that matches any of the region codes. */
export function countryExpression(codes: readonly string[]): string {
    return codes.map((c) => `origin.region_code == '${c}'`).join(" || ");
}

/**
 * Deny rules for the deny-lists: CIDRs in groups of {@link MAX_RANGES_PER_RULE}, then region codes
 * in groups of {@link MAX_SUBEXPRESSIONS}.
 */
export function denyListRules(opts: Pick<ArmorRuleOptions, "preview" | "denyCountries" | "denyCidrs">): ArmorRule[] {
    const rules: ArmorRule[] = [];
    for (let i = 0; i < opts.denyCidrs.length; i += MAX_RANGES_PER_RULE) {
        rules.push({
            priority: PRIORITY.denyCidrs + i / MAX_RANGES_PER_RULE,
            action: "deny(403)",
            description: "edge.armor.denyCidrs",
            preview: opts.preview,
            match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: opts.denyCidrs.slice(i, i + MAX_RANGES_PER_RULE) } },
        });
    }
    for (let i = 0; i < opts.denyCountries.length; i += MAX_SUBEXPRESSIONS) {
        rules.push({
            priority: PRIORITY.denyCountries + i / MAX_SUBEXPRESSIONS,
            action: "deny(403)",
            description: "edge.armor.denyCountries",
            preview: opts.preview,
            match: { expr: { expression: countryExpression(opts.denyCountries.slice(i, i + MAX_SUBEXPRESSIONS)) } },
        });
    }
    return rules;
}

/** The default rule every policy must end with: allow what no rule above matched. */
export function defaultAllowRule(): ArmorRule {
    return {
        priority: DEFAULT_RULE_PRIORITY,
        action: "allow",
        description: "default: allow",
        match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } },
    };
}

/**
 * The web backend's rules, in the order Cloud Armor evaluates them ({@link PRIORITY}): deny-lists,
 * one deny(403) rule per WAF rule set, the Log4j rule, a per-IP `throttle` (over
 * `rateLimitPerMinute` in 60 s the client gets 429 until its rate falls back; `enforceOnKey: IP`) and
 * the default allow. `preview` applies to every rule but the Log4j rule and the default.
 * @see https://cloud.google.com/armor/docs/rate-limiting-overview
 */
export function backendRules(opts: ArmorRuleOptions): ArmorRule[] {
    const waf = WAF_RULE_SETS.map((set) => wafExpression(set, opts.wafSensitivity));
    return [
        ...denyListRules(opts),
        ...waf.map((expression, i): ArmorRule => ({
            priority: PRIORITY.waf + i,
            action: "deny(403)",
            description: `preconfigured WAF: ${/'([^']+)'/.exec(expression)?.[1]}`,
            preview: opts.preview,
            match: { expr: { expression } },
        })),
        {
            priority: PRIORITY.waf + waf.length,
            action: "deny(403)",
            description: "preconfigured WAF: cve-canary (Log4j)",
            preview: false,
            match: { expr: { expression: LOG4J_EXPRESSION } },
        },
        {
            priority: PRIORITY.rateLimit,
            action: "throttle",
            description: "edge.armor.rateLimitPerMinute per client IP",
            preview: opts.preview,
            match: { versionedExpr: "SRC_IPS_V1", config: { srcIpRanges: ["*"] } },
            rateLimitOptions: {
                conformAction: "allow",
                exceedAction: "deny(429)",
                enforceOnKey: "IP",
                rateLimitThreshold: { count: opts.rateLimitPerMinute, intervalSec: 60 },
            },
        },
        defaultAllowRule(),
    ];
}

/**
 * The CDN backend bucket's edge policy (`CLOUD_ARMOR_EDGE`, which filters requests to backend
 * buckets before the cache answers: `@pulumi/gcp` compute/securityPolicy.d.ts `type`): only the
 * deny-lists (source IP and region code) and the default allow. A bucket of static files has no
 * code for the WAF rules to protect, and the per-IP rate limit stays on the web backend. Not
 * verified here: which match attributes Google accepts in edge policies beyond source IP ranges;
 * the region-code expression is the one documented for security policies in general.
 */
export function edgeRules(opts: Pick<ArmorRuleOptions, "preview" | "denyCountries" | "denyCidrs">): ArmorRule[] {
    return [...denyListRules(opts), defaultAllowRule()];
}
