/**
 * Policy config for the offline runner, in the format `pulumi preview --policy-pack-config` reads:
 * `{ "<policy>": "<enforcement level>" | { "enforcementLevel"?: …, "<setting>": … }, "all"?: … }`.
 * Each policy's settings are validated against its `configSchema` (JSON Schema, as the Pulumi CLI
 * does) and completed with the schema's defaults.
 */
import type { EnforcementLevel } from "@pulumi/policy";
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import { allPolicies, type PackPolicy } from "django-platform-policy/policies";
import { PolicyInputError, readJsonText } from "./policyExport";

/** The enforcement levels CrossGuard knows. */
const ENFORCEMENT_LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** A policy's effective enforcement level and settings. */
export interface ResolvedConfig {
    readonly level: EnforcementLevel;
    /** Settings with schema defaults filled in (what `args.getConfig()` returns). */
    readonly values: Record<string, unknown>;
}

const ajv = new Ajv({ useDefaults: true, allErrors: true });
const validators = new WeakMap<PackPolicy, ValidateFunction>();
/** Compiled validators by schema text: most policies have no settings, so they share one schema. */
const compiled = new Map<string, ValidateFunction>();

function validatorFor(policy: PackPolicy): ValidateFunction {
    let validate = validators.get(policy);
    if (validate === undefined) {
        const schema = {
            type: "object",
            properties: { ...(policy.configSchema?.properties ?? {}), enforcementLevel: { enum: [...ENFORCEMENT_LEVELS] } },
            required: policy.configSchema?.required ?? [],
            additionalProperties: false,
        };
        const key = JSON.stringify(schema);
        validate = compiled.get(key);
        if (validate === undefined) {
            validate = ajv.compile(schema);
            compiled.set(key, validate);
        }
        validators.set(policy, validate);
    }
    return validate;
}

function describe(error: ErrorObject, policy: PackPolicy): string {
    const path = error.instancePath.split("/").slice(1).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
    if (error.keyword === "additionalProperties") {
        const known = [...Object.keys(policy.configSchema?.properties ?? {}), "enforcementLevel"].join(", ");
        return `unknown setting "${String(error.params.additionalProperty)}" (settings: ${known})`;
    }
    if (error.keyword === "enum") {
        return `${path} must be one of ${(error.params.allowedValues as unknown[]).join(", ")}`;
    }
    return `${path || "the value"} ${error.message ?? "is invalid"}`;
}

function fail(source: string | undefined, problem: string): never {
    const where = source === undefined ? "" : ` in ${source}`;
    throw new PolicyInputError(`bad policy config${where}: ${problem}. See docs/policies.md for every policy and its settings.`);
}

/** The enforcement level a config entry sets, if any. */
function levelOf(entry: unknown, key: string, source: string | undefined): EnforcementLevel | undefined {
    const level = typeof entry === "string" ? entry : (entry as { enforcementLevel?: unknown } | undefined)?.enforcementLevel;
    if (level === undefined) {
        return undefined;
    }
    if (!ENFORCEMENT_LEVELS.includes(level as EnforcementLevel)) {
        fail(source, `"${key}": enforcement level ${JSON.stringify(level)} must be one of ${ENFORCEMENT_LEVELS.join(", ")}`);
    }
    return level as EnforcementLevel;
}

/**
 * Checks the config against the policies and resolves every policy's level and settings. Throws
 * {@link PolicyInputError} naming the policy, the setting and the fix.
 */
export function resolvePolicyConfig(
    policies: readonly PackPolicy[],
    given: Record<string, unknown> = {},
    source?: string,
): Map<string, ResolvedConfig> {
    if (given === null || typeof given !== "object" || Array.isArray(given)) {
        fail(source, "it must be a JSON object keyed by policy name");
    }
    const byName = new Map(policies.map((p) => [p.name, p]));
    for (const key of Object.keys(given)) {
        if (key !== "all" && !byName.has(key)) {
            fail(source, `unknown policy "${key}"`);
        }
    }
    const all = given.all;
    if (all !== undefined && typeof all !== "string"
        && (typeof all !== "object" || all === null || Object.keys(all).some((k) => k !== "enforcementLevel"))) {
        fail(source, "\"all\" may only set an enforcement level (\"all\": \"advisory\")");
    }
    const allLevel = levelOf(all, "all", source);
    const resolved = new Map<string, ResolvedConfig>();
    for (const policy of policies) {
        const entry = given[policy.name];
        const level = levelOf(entry, policy.name, source) ?? allLevel ?? policy.enforcementLevel;
        if (entry !== undefined && typeof entry !== "string" && (typeof entry !== "object" || entry === null || Array.isArray(entry))) {
            fail(source, `"${policy.name}" must be an enforcement level or an object of settings`);
        }
        const values: Record<string, unknown> = typeof entry === "object" && entry !== null ? structuredClone(entry as Record<string, unknown>) : {};
        const validate = validatorFor(policy);
        if (!validate(values)) {
            fail(source, `"${policy.name}": ${(validate.errors ?? []).map((e) => describe(e, policy)).join("; ")}`);
        }
        delete values.enforcementLevel;
        resolved.set(policy.name, { level, values });
    }
    return resolved;
}

/**
 * Parses policy config JSON text and checks it against the policies, so a mistake is reported
 * with the file's name before anything runs; throws {@link PolicyInputError}.
 */
export function parsePolicyConfig(text: string, source?: string, policies: readonly PackPolicy[] = allPolicies): Record<string, unknown> {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (err) {
        fail(source, `not valid JSON (${(err as Error).message.replace(/\s+/g, " ")})`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
        fail(source, "it must be a JSON object keyed by policy name");
    }
    resolvePolicyConfig(policies, value as Record<string, unknown>, source);
    return value as Record<string, unknown>;
}

/** Reads and checks a policy config file (e.g. the one passed to `--config`). */
export function readPolicyConfig(file: string, policies: readonly PackPolicy[] = allPolicies): Record<string, unknown> {
    return parsePolicyConfig(readJsonText(file, "policy config"), file, policies);
}
