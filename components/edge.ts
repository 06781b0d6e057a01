import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { ArmorRule, backendRules, edgeRules } from "./armorRules";

/** Arguments of {@link Edge}. */
export interface EdgeArgs {
    /** GCP project id. */
    readonly project: string;
    /** Only log what the rules would do (rollout). @default false */
    readonly preview?: boolean;
    /** Sensitivity (OWASP paranoia level, 1-4) of the preconfigured WAF rules. @default 1 */
    readonly wafSensitivity?: number;
    /** Requests per minute one client IP may send before it gets 429. @default 600 */
    readonly rateLimitPerMinute?: number;
    /** Region codes (ISO 3166-1 alpha-2) to refuse with 403. @default [] */
    readonly denyCountries?: readonly string[];
    /** IPv4 CIDR ranges to refuse with 403. @default [] */
    readonly denyCidrs?: readonly string[];
    /**
     * Adaptive Protection (layer 7 DDoS defence). On the Standard tier it sends basic alerts only
     * (confidence and attack size); attack signatures and suggested rules need Cloud Armor Enterprise
     * (https://cloud.google.com/armor/docs/adaptive-protection-overview). @default false
     */
    readonly adaptiveProtection?: boolean;
    /**
     * Also create the CDN backend bucket's edge policy (`CLOUD_ARMOR_EDGE`). It is created only when
     * a deny-list is set: an edge policy of a default allow alone would filter nothing and still be
     * billed. @default false
     */
    readonly cdn?: boolean;
}

/** The resolved settings of an {@link Edge}, for tests and docs. */
export interface EdgeSettings {
    readonly preview: boolean;
    readonly wafSensitivity: number;
    readonly rateLimitPerMinute: number;
    readonly denyCountries: readonly string[];
    readonly denyCidrs: readonly string[];
    readonly adaptiveProtection: boolean;
    readonly cdn: boolean;
}

/** Defaults resolved once (see {@link EdgeArgs}). */
export function edgeSettings(args: EdgeArgs): EdgeSettings {
    return {
        preview: args.preview ?? false,
        wafSensitivity: args.wafSensitivity ?? 1,
        rateLimitPerMinute: args.rateLimitPerMinute ?? 600,
        denyCountries: args.denyCountries ?? [],
        denyCidrs: args.denyCidrs ?? [],
        adaptiveProtection: args.adaptiveProtection ?? false,
        cdn: args.cdn ?? false,
    };
}

/** Pure validation of {@link EdgeArgs}; messages name the config key. */
export function edgeProblems(args: EdgeArgs): string[] {
    const s = edgeSettings(args);
    const p: string[] = [];
    if (!Number.isInteger(s.wafSensitivity) || s.wafSensitivity < 1 || s.wafSensitivity > 4) {
        p.push(`edge.armor.wafSensitivity must be 1, 2, 3 or 4 (got ${s.wafSensitivity}); 0 would enable no signature.`);
    }
    if (!Number.isInteger(s.rateLimitPerMinute) || s.rateLimitPerMinute < 1) {
        p.push(`edge.armor.rateLimitPerMinute must be a positive integer (got ${s.rateLimitPerMinute}).`);
    }
    return p;
}

const toInput = (rule: ArmorRule): gcp.types.input.compute.SecurityPolicyRule => ({
    ...rule,
    match: {
        ...rule.match,
        config: rule.match.config ? { srcIpRanges: [...rule.match.config.srcIpRanges] } : undefined,
    },
});

/**
 * Cloud Armor in front of the site: a backend security policy (`CLOUD_ARMOR`) for the web
 * service's backend — preconfigured WAF rules (OWASP CRS 3.3), a per-client-IP rate limit,
 * optional deny-lists, JSON body parsing for the WAF, optional Adaptive Protection — which the
 * Networking component attaches through the BackendConfig (`spec.securityPolicy.name`); and, when
 * the CDN is on and a deny-list is set, an edge policy (`CLOUD_ARMOR_EDGE`) for the CDN backend
 * bucket, which Statics attaches as `edgeSecurityPolicy`.
 */
export class Edge extends pulumi.ComponentResource {
    /** The backend policy's name, for the BackendConfig. */
    public readonly securityPolicyName: pulumi.Output<string>;
    /** The edge policy's self link, for the CDN backend bucket; absent without one. */
    public readonly edgeSecurityPolicy?: pulumi.Output<string>;
    /** The resolved settings. */
    public readonly settings: EdgeSettings;

    constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:edge:Edge", name, {}, opts);
        const problems = edgeProblems(args);
        if (problems.length > 0) {
            throw new Error(`Edge ${name}: ${problems.join(" ")}`);
        }
        this.settings = edgeSettings(args);
        const s = this.settings;

        const backend = new gcp.compute.SecurityPolicy(`${name}-armor`, {
            project: args.project,
            type: "CLOUD_ARMOR",
            description: "django-platform web backend: WAF, per-IP rate limit, deny-lists",
            rules: backendRules(s).map(toInput),
            // STANDARD JSON parsing lets the WAF inspect the fields of JSON bodies rather than the
            // raw text; NORMAL logging (VERBOSE logs the matched request fragments).
            // https://cloud.google.com/armor/docs/security-policy-overview#json-parsing
            advancedOptionsConfig: { jsonParsing: "STANDARD", logLevel: "NORMAL" },
            ...(s.adaptiveProtection ? { adaptiveProtectionConfig: { layer7DdosDefenseConfig: { enable: true, ruleVisibility: "STANDARD" } } } : {}),
        }, {
            parent: this,
            // GKE's Ingress controller attaches this policy to a backend service Pulumi does not
            // manage, and detaches it on its own schedule once the BackendConfig names "" (edge.armor
            // off) or the Ingress is gone (destroy). A Pulumi delete in the same run would race it and
            // fail while the policy is still in use, so Pulumi only forgets the policy (the preview
            // shows `delete[retain]`); docs/edge.md has the command that deletes it once detached. No
            // fixed `name`: the engine's auto-name has a random suffix, so turning Cloud Armor on again
            // creates a new policy beside a retained one.
            retainOnDelete: true,
        });
        this.securityPolicyName = backend.name;

        if (s.cdn && (s.denyCountries.length > 0 || s.denyCidrs.length > 0)) {
            const edge = new gcp.compute.SecurityPolicy(`${name}-cdn-armor`, {
                project: args.project,
                type: "CLOUD_ARMOR_EDGE",
                description: "django-platform CDN backend bucket: deny-lists",
                rules: edgeRules(s).map(toInput),
            }, { parent: this });
            this.edgeSecurityPolicy = edge.selfLink;
        }
        this.registerOutputs({ securityPolicyName: this.securityPolicyName, edgeSecurityPolicy: this.edgeSecurityPolicy });
    }
}
