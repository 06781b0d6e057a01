/**
 * A small model of how Cloud Armor evaluates one security policy, to send requests through the
 * rules the stacks render. It decides WHICH rule acts on a request and what the client gets; it
 * does not reproduce Google's WAF signatures (see {@link SIGNATURES}).
 *
 * Semantics modelled, each from Google's documentation:
 * - Rules are evaluated by priority, lowest number first, and the first match decides: "Cloud Armor
 *   performs the action of the highest priority rule that matches a request. Rules with a lower
 *   priority than the highest priority matching rule are not evaluated, even if they have the same
 *   match conditions" (https://cloud.google.com/armor/docs/create-security-policy-rules).
 * - `throttle`: requests a client sends within `intervalSec` are counted per `enforceOnKey` (IP:
 *   each source address on its own; ALL: one count for everyone); at or under
 *   `rateLimitThreshold.count` the request gets the `conformAction`, over it the `exceedAction`
 *   (https://cloud.google.com/armor/docs/rate-limiting-overview). The conform action "Valid option
 *   is \"allow\" only" (SecurityPolicyRuleRateLimitOptions.conformAction, `@pulumi/gcp`
 *   types/input.d.ts): a conforming request matched the rule and is allowed, so, by the first rule
 *   above, no lower rule runs for it.
 * - `preview: true`: "When set to true, the `action` specified above is not enforced" (SecurityPolicyRule
 *   `preview`, same file); the request log's `previewSecurityPolicy` is present "only when a preview
 *   rule would have taken priority over the enforced rule" (the request-logging field description,
 *   https://cloud.google.com/armor/docs/request-logging, as Microsoft's Azure Monitor reference of
 *   the GCPLoadBalancer table reproduces it), so evaluation goes on to the rule that is enforced,
 *   and the first preview match is reported next to it.
 * - Basic matches (`SRC_IPS_V1`): `*` or CIDR ranges of the source address.
 * - Advanced matches: only the expressions the platform renders are understood
 *   (`evaluatePreconfiguredWaf('<set>', {'sensitivity': N})`, `evaluatePreconfiguredExpr('<set>')`,
 *   `origin.region_code == 'XX' || …`); any other expression throws, so the model never guesses.
 */
import { BlockList, isIP } from "node:net";

/** One request as it reaches Cloud Armor. */
export interface ArmorRequest {
    /** Client address (`origin.ip`). */
    readonly ip: string;
    readonly method: string;
    /** Path and query string as sent (percent-encoded). */
    readonly url: string;
    /** Header names in lower case. */
    readonly headers?: Readonly<Record<string, string>>;
    /** Request body as sent (form-encoded or raw). */
    readonly body?: string;
    /** `origin.region_code`, which Google derives from the address. @default "US" */
    readonly regionCode?: string;
}

/** A rule as the stacks render it (gcp.compute.SecurityPolicy `rules[]`). */
export interface ModelRule {
    readonly priority: number;
    readonly action: string;
    readonly description?: string;
    readonly preview?: boolean;
    readonly match?: {
        readonly versionedExpr?: string;
        readonly config?: { readonly srcIpRanges?: readonly string[] };
        readonly expr?: { readonly expression?: string };
    };
    readonly rateLimitOptions?: {
        readonly conformAction?: string;
        readonly exceedAction?: string;
        readonly enforceOnKey?: string;
        readonly rateLimitThreshold?: { readonly count?: number; readonly intervalSec?: number };
    };
}

/** What one rule would do with a request. */
export interface RuleOutcome {
    readonly rule: ModelRule;
    readonly outcome: "ALLOW" | "DENY";
    /** The HTTP status the client gets: the deny status, or 200 when the request goes to the backend. */
    readonly status: number;
}

/** The verdict on one request: the enforced rule's outcome, and the first preview rule that matched before it. */
export interface Decision extends RuleOutcome {
    readonly preview?: RuleOutcome;
}

/**
 * The signatures of the model's WAF, per preconfigured rule set, with the sensitivity (OWASP CRS
 * paranoia level) at which each is on. A handful of the plainest patterns of each attack class,
 * enough to tell apart the labelled requests of tests/edge.test.ts; Google's sets hold many more
 * signatures (https://cloud.google.com/armor/docs/waf-rules) and these are not theirs.
 */
export const SIGNATURES: Readonly<Record<string, ReadonlyArray<{ readonly level: number; readonly where: "args" | "user-agent" | "everywhere"; readonly pattern: RegExp }>>> = {
    sqli: [
        { level: 1, where: "args", pattern: /'\s*(or|and)\s+['"\w]+\s*=\s*['"\w]+/i },
        { level: 1, where: "args", pattern: /\bunion\b[\s\S]*\bselect\b/i },
        { level: 1, where: "args", pattern: /;\s*drop\s+table\b/i },
    ],
    xss: [
        { level: 1, where: "args", pattern: /<\s*script\b/i },
        { level: 1, where: "args", pattern: /\bjavascript\s*:/i },
        { level: 1, where: "args", pattern: /\bon(error|load|mouseover)\s*=/i },
    ],
    lfi: [
        { level: 1, where: "args", pattern: /(\.\.[/\\]){2,}/ },
        { level: 1, where: "args", pattern: /\/etc\/(passwd|shadow)\b/ },
    ],
    rfi: [
        // A URL with an IP address, or ending in "?", as a parameter value.
        { level: 1, where: "args", pattern: /^(https?|ftp):\/\/\d{1,3}(\.\d{1,3}){3}\b/i },
        { level: 1, where: "args", pattern: /^(https?|ftp):\/\/\S*\?$/i },
    ],
    rce: [
        { level: 1, where: "args", pattern: /;\s*(cat|id|ls|uname|whoami|wget|curl)\b/i },
        { level: 1, where: "args", pattern: /\$\([^)]*\)|`[^`]*`/ },
    ],
    scannerdetection: [{ level: 1, where: "user-agent", pattern: /\b(sqlmap|nikto|nessus|acunetix|masscan|nmap|wpscan|dirbuster)\b/i }],
    // Log4j 2 JNDI lookups (CVE-2021-44228), in any header, the URL or the body.
    "cve-canary": [{ level: 1, where: "everywhere", pattern: /\$\{\s*(jndi|\$\{\s*(lower|upper)\s*:\s*j\s*\}\s*ndi)\s*:/i }],
};

const decode = (text: string): string => {
    try {
        return decodeURIComponent(text.replace(/\+/g, " "));
    } catch {
        return text;
    }
};

/** The parts of a request a signature looks at, decoded. */
function partsOf(req: ArmorRequest): Record<"args" | "user-agent" | "everywhere", string[]> {
    const q = req.url.indexOf("?");
    const [path, query] = q < 0 ? [req.url, ""] : [req.url.slice(0, q), req.url.slice(q + 1)];
    const values = (encoded: string) => encoded.split("&").filter(Boolean).map((pair) => decode(pair.slice(pair.indexOf("=") + 1)));
    const cookies = (req.headers?.cookie ?? "").split(";").map((c) => c.slice(c.indexOf("=") + 1).trim()).filter(Boolean);
    const args = [decode(path), ...values(query), ...values(req.body ?? ""), ...cookies];
    return {
        args,
        "user-agent": [req.headers?.["user-agent"] ?? ""],
        everywhere: [...args, ...Object.values(req.headers ?? {}), req.body ?? ""],
    };
}

/** Does a preconfigured rule set (`sqli-v33-stable`, `cve-canary`) at a sensitivity match the request? */
export function preconfiguredMatch(set: string, sensitivity: number, req: ArmorRequest): boolean {
    const family = /^(.+?)(-v\d+-(stable|canary))?$/.exec(set)?.[1] ?? set;
    const signatures = SIGNATURES[family];
    if (!signatures) {
        throw new Error(`the model knows no preconfigured rule set ${set}`);
    }
    const parts = partsOf(req);
    return signatures.some((s) => s.level <= sensitivity && parts[s.where].some((p) => s.pattern.test(p)));
}

/** Evaluates a rule's advanced match expression; throws on anything the model does not understand. */
export function expressionMatches(expression: string, req: ArmorRequest): boolean {
    const waf = /^evaluatePreconfiguredWaf\('([a-z0-9-]+)',\s*\{'sensitivity':\s*([0-4])\}\)$/.exec(expression);
    if (waf) {
        return preconfiguredMatch(waf[1], Number(waf[2]), req);
    }
    // Without a sensitivity every signature of the set is on.
    const expr = /^evaluatePreconfiguredExpr\('([a-z0-9-]+)'\)$/.exec(expression);
    if (expr) {
        return preconfiguredMatch(expr[1], 4, req);
    }
    const terms = expression.split("||").map((t) => /^\s*origin\.region_code\s*==\s*'([A-Z]{2})'\s*$/.exec(t)?.[1]);
    if (terms.every((code) => code !== undefined)) {
        return terms.includes(req.regionCode ?? "US");
    }
    throw new Error(`the model cannot evaluate the expression ${JSON.stringify(expression)}`);
}

function sourceMatches(ranges: readonly string[], ip: string): boolean {
    if (ranges.includes("*")) {
        return true;
    }
    const list = new BlockList();
    for (const range of ranges) {
        const [address, bits] = range.split("/");
        const family = isIP(address) === 6 ? "ipv6" : "ipv4";
        if (bits === undefined) {
            list.addAddress(address, family);
        } else {
            list.addSubnet(address, Number(bits), family);
        }
    }
    return list.check(ip, isIP(ip) === 6 ? "ipv6" : "ipv4");
}

function ruleMatches(rule: ModelRule, req: ArmorRequest): boolean {
    if (rule.match?.versionedExpr === "SRC_IPS_V1") {
        return sourceMatches(rule.match.config?.srcIpRanges ?? [], req.ip);
    }
    const expression = rule.match?.expr?.expression;
    if (expression !== undefined) {
        return expressionMatches(expression, req);
    }
    throw new Error(`rule ${rule.priority} has neither a SRC_IPS_V1 nor an expression match`);
}

/** `allow` or `deny(STATUS)` as an outcome. */
function simpleAction(rule: ModelRule, action: string): RuleOutcome {
    if (action === "allow") {
        return { rule, outcome: "ALLOW", status: 200 };
    }
    const deny = /^deny\((\d{3})\)$/.exec(action);
    if (deny) {
        return { rule, outcome: "DENY", status: Number(deny[1]) };
    }
    throw new Error(`the model does not know the action ${action} (rule ${rule.priority})`);
}

/** A security policy under the model: feed it requests in time order with {@link ArmorPolicyModel.evaluate}. */
export class ArmorPolicyModel {
    private readonly rules: readonly ModelRule[];
    /** Arrival times of counted requests, per throttle rule and key. */
    private readonly seen = new Map<string, number[]>();

    constructor(rules: readonly ModelRule[]) {
        const priorities = rules.map((r) => r.priority);
        if (new Set(priorities).size !== priorities.length) {
            throw new Error("two rules share a priority; Cloud Armor refuses that");
        }
        if (!rules.some((r) => r.priority === 2147483647)) {
            throw new Error("no default rule (priority 2147483647); every Cloud Armor policy has one");
        }
        this.rules = [...rules].sort((a, b) => a.priority - b.priority);
    }

    /** The verdict on `req`, arriving at `atSeconds` (monotonic across calls). */
    evaluate(req: ArmorRequest, atSeconds = 0): Decision {
        let preview: RuleOutcome | undefined;
        for (const rule of this.rules) {
            if (!ruleMatches(rule, req)) {
                continue;
            }
            const result = this.act(rule, req, atSeconds);
            if (rule.preview === true) {
                preview ??= result;
                continue;
            }
            return { ...result, ...(preview ? { preview } : {}) };
        }
        throw new Error("no rule matched; the default rule matches everything");
    }

    private act(rule: ModelRule, req: ArmorRequest, at: number): RuleOutcome {
        if (rule.action !== "throttle") {
            return simpleAction(rule, rule.action);
        }
        const o = rule.rateLimitOptions;
        const count = o?.rateLimitThreshold?.count;
        const interval = o?.rateLimitThreshold?.intervalSec;
        if (!o || count === undefined || interval === undefined) {
            throw new Error(`throttle rule ${rule.priority} has no rateLimitThreshold`);
        }
        const keyType = o.enforceOnKey ?? "ALL";
        if (keyType !== "IP" && keyType !== "ALL") {
            throw new Error(`the model does not know enforceOnKey ${keyType}`);
        }
        const key = `${rule.priority}/${keyType === "IP" ? req.ip : "*"}`;
        const times = (this.seen.get(key) ?? []).filter((t) => t > at - interval);
        times.push(at);
        this.seen.set(key, times);
        return simpleAction(rule, times.length <= count ? (o.conformAction ?? "allow") : (o.exceedAction ?? "deny(429)"));
    }
}
