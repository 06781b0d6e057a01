/**
 * Builders for the pack's policies. Every policy carries the metadata CrossGuard shows (name,
 * description, severity, remediation, enforcement level) plus `resourceTypes`, the type tokens it
 * inspects, which the generated docs list.
 */
import type { Resource, Unwrap } from "@pulumi/pulumi";
import {
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
    validateResourceOfType,
} from "@pulumi/policy";
import { minimatch } from "minimatch";
import { guarded, isUnknown, show } from "./values";

/** What every policy of this pack declares. */
export interface PolicyMeta {
    /** `<resource>-<verb-phrase>` in kebab case, unique in the pack. */
    readonly name: string;
    /** One sentence: what the policy requires. */
    readonly description: string;
    /** How bad a violation is. */
    readonly severity: Severity;
    /** What to change in the program or stack config to comply. */
    readonly remediationSteps: string;
    /** Dangerous misconfigurations block the update (`mandatory`); hygiene only warns (`advisory`). */
    readonly enforcementLevel: "mandatory" | "advisory";
    /** Allow-lists and thresholds, with defaults, as a JSON schema per property. */
    readonly configSchema?: PolicyConfigSchema;
    /**
     * Ids of the external checks (Checkov, Polaris, kube-linter, kube-score) this policy enforces,
     * as listed in `policy/externalChecks.ts`; the coverage map in docs/policies.md is built from
     * them. @default []
     */
    readonly covers?: readonly string[];
}

/** A policy of this pack: a CrossGuard policy plus the resource types it inspects. */
export type PackPolicy = (ResourceValidationPolicy | StackValidationPolicy) & PolicyMeta & {
    /** Pulumi type tokens the policy looks at, e.g. `gcp:sql/databaseInstance:DatabaseInstance`. */
    readonly resourceTypes: readonly string[];
};

/** The Pulumi type token of a provider resource class (`gcp.sql.DatabaseInstance` → `gcp:sql/…`). */
export function typeTokenOf(resourceClass: object): string {
    const token = (resourceClass as { __pulumiType?: unknown }).__pulumiType;
    if (typeof token !== "string" || token === "") {
        throw new Error("typeTokenOf: the class has no __pulumiType; pass a provider resource class");
    }
    return token;
}

/**
 * A resource policy for one provider resource class, through CrossGuard's `validateResourceOfType`
 * so `props` is typed with the class's input types.
 */
export function typedPolicy<TResource extends Resource, TArgs>(
    meta: PolicyMeta,
    resourceClass: { new (name: string, args: TArgs, ...rest: any[]): TResource },
    validate: (props: Unwrap<NonNullable<TArgs>>, args: ResourceValidationArgs, report: ReportViolation) => void,
): PackPolicy {
    return {
        ...meta,
        resourceTypes: [typeTokenOf(resourceClass)],
        validateResource: validateResourceOfType(resourceClass, (props, args, report) =>
            validate(guarded(props as object) as Unwrap<NonNullable<TArgs>>, args, report)),
    };
}

/**
 * A resource policy for several type tokens (e.g. every kind that carries a pod template, or GKE
 * CRDs that have no provider class). `props` is the untyped input bag.
 */
export function tokenPolicy(
    meta: PolicyMeta,
    resourceTypes: readonly string[],
    validate: (props: Record<string, any>, args: ResourceValidationArgs, report: ReportViolation) => void,
): PackPolicy {
    return {
        ...meta,
        resourceTypes,
        validateResource: (args, report) => {
            if (!resourceTypes.includes(args.type)) {
                args.notApplicable(`Policy only applies to ${resourceTypes.join(", ")}`);
            }
            validate(guarded(args.props), args, report);
        },
    };
}

/** A stack policy: sees every resource at once, for rules that relate resources to each other. */
export function stackPolicy(
    meta: PolicyMeta,
    resourceTypes: readonly string[],
    validateStack: (args: StackValidationArgs, report: ReportViolation) => void,
): PackPolicy {
    return { ...meta, resourceTypes, validateStack };
}

/**
 * The policy's config: CrossGuard fills in schema defaults, but a policy must still work when it is
 * called without them, so the same defaults are merged here.
 */
export function configOf<T extends object>(args: { getConfig<C extends object>(): C }, defaults: T): T {
    return { ...defaults, ...args.getConfig<Partial<T>>() };
}

/** True when `name` matches one of the glob patterns (minimatch syntax, e.g. `*-statics-bucket`). */
export function matchesAny(name: string, globs: readonly string[]): boolean {
    return globs.some((glob) => minimatch(name, glob));
}

/** The stack name inside a URN (`urn:pulumi:<stack>::<project>::<type>::<name>`). */
function stackOf(urn: string): string {
    const head = urn.split("::")[0] ?? "";
    return head.startsWith("urn:pulumi:") ? head.slice("urn:pulumi:".length) : "";
}

/** Default stack-name globs that count as production. */
export const DEFAULT_PRODUCTION_STACKS: readonly string[] = ["prod*", "*-prod", "*-production"];

/** One property of a policy's `configSchema`. */
export type ConfigProperty = PolicyConfigSchema["properties"][string];

/** A config property holding a list of strings (allow-lists, globs). */
export function stringList(defaults: readonly string[], description: string): ConfigProperty {
    return { type: "array", items: { type: "string" }, default: [...defaults], description };
}

/** The config property shared by the production-only policies. */
export const productionStacksSchema: ConfigProperty = stringList(
    DEFAULT_PRODUCTION_STACKS,
    "Stack-name globs treated as production; the policy only applies to resources of those stacks.",
);

/** True when the resource belongs to a stack that counts as production. */
export function isProductionUrn(urn: string, productionStacks: readonly string[]): boolean {
    return matchesAny(stackOf(urn), productionStacks);
}

/**
 * Reports `<path> is <value>; set it to <expected>.` when a known value is not the required one
 * (an unknown value is left to the update, when it is known).
 */
export function requireValue(report: ReportViolation, path: string, value: unknown, expected: string | number | boolean): void {
    if (!isUnknown(value) && value !== expected) {
        report(`${path} is ${show(value)}; set it to ${String(expected)}.`);
    }
}
