/**
 * The offline CrossGuard engine: evaluates the policy pack on a `pulumi stack export` document —
 * resource policies on each resource's inputs, stack policies on all of them — building the same
 * argument objects CrossGuard builds (unknown-checking proxies, `getConfig` with schema defaults,
 * `notApplicable`, provider, parent and dependencies).
 *
 * One difference: CrossGuard gives stack policies each resource's outputs (live state), this runner
 * gives them the inputs, which is all an offline export reliably has. The pack's stack policies
 * read fields present in both (and recognise live objects where it matters: see
 * `programSetsReplicas` in policy/lib/k8s.ts).
 *
 * Used by `npm run policy` (cli/policy.ts), by synth and by the tests.
 */
import type {
    PolicyProviderResource, PolicyResource, PolicyResourceOptions, ReportViolation,
    ResourceValidation, ResourceValidationArgs, StackValidationArgs,
} from "@pulumi/policy";
import { unknownCheckingProxy, UnknownValueError } from "django-platform-policy/lib/values";
import { allPolicies, type PackPolicy } from "django-platform-policy/policies";
import { resolvePolicyConfig, type ResolvedConfig } from "./policyConfig";
import { toStackExport, unwrapSecrets, type ExportedResource } from "./policyExport";

export { parsePolicyConfig, readPolicyConfig } from "./policyConfig";
export { PolicyInputError, parseStackExport, readStackExport, toStackExport } from "./policyExport";

/** One violation, as `npm run policy -- --json` prints it. */
export interface PolicyViolation {
    readonly policyName: string;
    readonly enforcementLevel: "mandatory" | "advisory";
    /** The resource in violation; the root stack's URN (or "") for stack-wide findings. */
    readonly urn: string;
    readonly message: string;
}

/** A policy that threw something other than an unknown-value or not-applicable error. */
export class PolicyCrashError extends Error {
    override readonly name = "PolicyCrashError";
}

/** Options of {@link runPolicies}. */
export interface RunPoliciesOptions {
    /** The policies to run. @default every policy of the pack */
    readonly policies?: readonly PackPolicy[];
}

class NotApplicableError extends Error {}

/**
 * `args.notApplicable()`: control flow, not a failure (guard() swallows it), so no stack trace is
 * captured: policies call it for most resources they see, and a stack costs more than the check.
 */
function notApplicable(reason?: string): never {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        throw new NotApplicableError(reason ?? "not applicable");
    } finally {
        Error.stackTraceLimit = limit;
    }
}

/** Types that are never evaluated: providers, the root stack and component resources. */
function isEvaluated(resource: ExportedResource): boolean {
    return !resource.type.startsWith("pulumi:providers:") && resource.type !== "pulumi:pulumi:Stack"
        && resource.custom !== false && resource.delete !== true;
}

/** The logical name of a URN (its last `::` segment). */
function nameOf(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

const EMPTY_TAGS: ReadonlyMap<string, string> = new Map();

/** Everything about one resource the args objects need, computed once. */
interface Prepared {
    readonly source: ExportedResource;
    readonly props: Record<string, any>;
    readonly opts: PolicyResourceOptions;
    readonly provider?: PolicyProviderResource;
}

function prepare(resource: ExportedResource, byUrn: ReadonlyMap<string, ExportedResource>): Prepared {
    const timeouts = (resource as { customTimeouts?: { create?: number; update?: number; delete?: number } }).customTimeouts;
    const opts: PolicyResourceOptions = {
        protect: resource.protect === true,
        ignoreChanges: [],
        aliases: resource.aliases ?? [],
        customTimeouts: { createSeconds: timeouts?.create ?? 0, updateSeconds: timeouts?.update ?? 0, deleteSeconds: timeouts?.delete ?? 0 },
        additionalSecretOutputs: resource.additionalSecretOutputs ?? [],
        ...(resource.parent !== undefined ? { parent: resource.parent } : {}),
    };
    const providerRef = resource.provider;
    const providerResource = providerRef === undefined ? undefined : byUrn.get(providerRef.slice(0, providerRef.lastIndexOf("::")));
    const provider = providerResource === undefined ? undefined : {
        type: providerResource.type,
        props: unknownCheckingProxy(unwrapSecrets(providerResource.inputs ?? {}) as Record<string, any>),
        urn: providerResource.urn,
        name: nameOf(providerResource.urn),
    };
    const props = unknownCheckingProxy(unwrapSecrets(resource.inputs ?? {}) as Record<string, any>);
    return { source: resource, props, opts, ...(provider !== undefined ? { provider } : {}) };
}

/** The `PolicyResource` objects stack policies get, with parents and dependencies linked. */
function stackResources(all: readonly Prepared[], evaluated: ReadonlySet<Prepared>): PolicyResource[] {
    const byUrn = new Map<string, PolicyResource>();
    for (const p of all) {
        const type = p.source.type;
        byUrn.set(p.source.urn, {
            type, props: p.props, urn: p.source.urn, name: nameOf(p.source.urn), opts: p.opts,
            ...(p.provider !== undefined ? { provider: p.provider } : {}),
            dependencies: [], propertyDependencies: {},
            isType: (cls) => isTypeOf(type, cls),
            asType: ((cls: object) => (isTypeOf(type, cls) ? p.props : undefined)) as PolicyResource["asType"],
        });
    }
    const resolve = (urns: readonly string[] | undefined): PolicyResource[] =>
        (urns ?? []).map((u) => byUrn.get(u)).filter((r): r is PolicyResource => r !== undefined);
    for (const p of all) {
        const r = byUrn.get(p.source.urn)!;
        const parent = p.source.parent === undefined ? undefined : byUrn.get(p.source.parent);
        if (parent !== undefined) {
            r.parent = parent;
        }
        r.dependencies = resolve(p.source.dependencies);
        r.propertyDependencies = Object.fromEntries(Object.entries(p.source.propertyDependencies ?? {}).map(([k, v]) => [k, resolve(v)]));
    }
    return all.filter((p) => evaluated.has(p)).map((p) => byUrn.get(p.source.urn)!);
}

function isTypeOf(type: string, resourceClass: object): boolean {
    const token = (resourceClass as { __pulumiType?: unknown }).__pulumiType;
    if (typeof token === "string" && token !== "") {
        return token === type;
    }
    const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean }).isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

/** Runs one validation; unknown values become an advisory note as in CrossGuard, crashes throw. */
async function guard(policy: PackPolicy, urn: string, run: () => void | Promise<void>, notes: PolicyViolation[]): Promise<void> {
    try {
        await run();
    } catch (err) {
        if (err instanceof NotApplicableError) {
            return;
        }
        if (err instanceof UnknownValueError) {
            notes.push({ policyName: policy.name, enforcementLevel: "advisory", urn, message: `can't run policy '${policy.name}' during preview: ${(err as Error).message}` });
            return;
        }
        throw new PolicyCrashError(`policy ${policy.name} failed on ${urn || "the stack"}: ${(err as Error)?.stack ?? String(err)}`);
    }
}

const LEVEL_ORDER: Record<PolicyViolation["enforcementLevel"], number> = { mandatory: 0, advisory: 1 };

/** Each policy's level and settings when no policy config is given: they never change. */
const defaultConfigs = new WeakMap<PackPolicy, ResolvedConfig>();

/** Resolves (and checks) the config of every policy up front, as one map from policy to config. */
function configsOf(policies: readonly PackPolicy[], policyConfig: Record<string, unknown> | undefined): Map<PackPolicy, ResolvedConfig> {
    if (policyConfig !== undefined) {
        const resolved = resolvePolicyConfig(policies, policyConfig);
        return new Map(policies.map((p) => [p, resolved.get(p.name) as ResolvedConfig]));
    }
    return new Map(policies.map((p) => {
        let config = defaultConfigs.get(p);
        if (config === undefined) {
            config = resolvePolicyConfig([p]).get(p.name) as ResolvedConfig;
            defaultConfigs.set(p, config);
        }
        return [p, config];
    }));
}

/**
 * Evaluates the pack (or `options.policies`) on a stack export and returns every violation,
 * mandatory first. Throws {@link PolicyInputError} for a document that is not a stack export or
 * bad policy config (unknown policy, value against the policy's `configSchema`), and
 * {@link PolicyCrashError} when a policy throws.
 *
 * @param exportDoc a parsed `pulumi stack export` document (version 3)
 * @param policyConfig Pulumi policy config: `{ "<policy>": "<level>" | { enforcementLevel?, …config } , "all"?: … }`
 */
export async function runPolicies(
    exportDoc: unknown,
    policyConfig?: Record<string, unknown>,
    options: RunPoliciesOptions = {},
): Promise<PolicyViolation[]> {
    const policies = options.policies ?? allPolicies;
    const config = configsOf(policies, policyConfig);
    const resources = toStackExport(exportDoc).deployment.resources ?? [];
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const stackUrn = resources.find((r) => r.type === "pulumi:pulumi:Stack")?.urn ?? "";
    // Prepared on first use: a run of a few resource policies touches only the resources they match.
    const preparedCache = new Map<ExportedResource, Prepared>();
    const prepared = (r: ExportedResource): Prepared => {
        let p = preparedCache.get(r);
        if (p === undefined) {
            p = prepare(r, byUrn);
            preparedCache.set(r, p);
        }
        return p;
    };
    const evaluated = resources.filter(isEvaluated);
    const violations: PolicyViolation[] = [];

    for (const policy of policies) {
        const { level, values } = config.get(policy) as ResolvedConfig;
        if (level === "disabled") {
            continue;
        }
        const enforcementLevel = level === "advisory" ? "advisory" : "mandatory";
        const getConfig = <T extends object>(): T => structuredClone(values) as T;
        const reporter = (urn: string): ReportViolation => (message, violationUrn) => {
            violations.push({ policyName: policy.name, enforcementLevel, urn: violationUrn ?? urn, message: message || policy.description });
        };
        if ("validateResource" in policy && policy.validateResource !== undefined) {
            const validations: ResourceValidation[] = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
            for (const resource of evaluated) {
                const applicable = validations.filter((validate) => {
                    const token = (validate as { __pulumiType?: string }).__pulumiType;
                    return token === undefined || token === resource.type;
                });
                if (applicable.length === 0) {
                    continue;
                }
                const p = prepared(resource);
                const args: ResourceValidationArgs = {
                    type: p.source.type, props: p.props, urn: p.source.urn, name: nameOf(p.source.urn), opts: p.opts,
                    ...(p.provider !== undefined ? { provider: p.provider } : {}),
                    stackTags: EMPTY_TAGS, getConfig, notApplicable,
                    isType: (cls) => isTypeOf(p.source.type, cls),
                    asType: ((cls: object) => (isTypeOf(p.source.type, cls) ? p.props : undefined)) as ResourceValidationArgs["asType"],
                };
                for (const validate of applicable) {
                    await guard(policy, p.source.urn, () => validate(args, reporter(p.source.urn)), violations);
                }
            }
        }
        if ("validateStack" in policy && policy.validateStack !== undefined) {
            const validateStack = policy.validateStack;
            const args: StackValidationArgs = {
                resources: stackResources(resources.map(prepared), new Set(evaluated.map(prepared))),
                stackTags: EMPTY_TAGS, getConfig, notApplicable,
            };
            await guard(policy, stackUrn, () => validateStack(args, reporter(stackUrn)), violations);
        }
    }
    return violations
        .map((v, index) => ({ v, index }))
        .sort((a, b) => LEVEL_ORDER[a.v.enforcementLevel] - LEVEL_ORDER[b.v.enforcementLevel] || a.index - b.index)
        .map(({ v }) => v);
}

/** True when any violation is mandatory (the runner's and synth's exit code 1). */
export function hasMandatory(violations: readonly PolicyViolation[]): boolean {
    return violations.some((v) => v.enforcementLevel === "mandatory");
}

/** Human-readable report: one block per violation and a count summary. */
export function formatViolations(violations: readonly PolicyViolation[]): string {
    const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
    const lines = violations.map((v) =>
        `${v.enforcementLevel === "mandatory" ? "MANDATORY" : "advisory "}  ${v.policyName}\n    ${v.urn || "(stack)"}\n    ${v.message}`);
    const summary = violations.length === 0
        ? "No policy violations."
        : `${violations.length} policy violation(s): ${mandatory} mandatory, ${violations.length - mandatory} advisory.`;
    return [...lines, summary].join("\n");
}

