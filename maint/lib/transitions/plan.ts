/**
 * A model of what the Pulumi engine plans for a second `pulumi up`: given the resources a program
 * registered before a config change and after it (two mocked renders, cli/lib/mockRuntime.ts),
 * which resources are created, updated in place, replaced or deleted, and why.
 *
 * It follows the engine (pulumi/pulumi `pkg/resource/deploy/step_generator.go` and `step.go` at
 * {@link PULUMI_COMMIT}) and the providers' diff rules (providerRules.ts):
 * - resources are matched by URN; one only before is deleted, one only after is created;
 * - a resource present in both is diffed input by input; `ignoreChanges` paths drop out; a changed
 *   path replaces when the provider says so (ForceNew, Kubernetes `forceNew`) or the program's
 *   `replaceOnChanges` names it, else it updates;
 * - a resource whose provider resource is replaced is replaced (`providerChanged`);
 * - when a resource is replaced, its computed outputs are unknown at preview, so every input of a
 *   dependent that carries one of them counts as changed (found by value in the mocked outputs),
 *   which cascades replacements the way the providers plan them;
 * - `protect`: a delete of a resource protected in the state is refused (`DeleteStep.Apply`), and
 *   so is a replacement when both the state and the program protect it (`new.Protect && old.Protect`);
 * - `retainOnDelete`: the delete drops the resource from the state without calling the provider;
 * - `deleteBeforeReplace`: the program's option, or the Kubernetes provider's own decision for an
 *   object whose user-given name and namespace stay the same.
 *
 * Pure: no Pulumi runtime, so tests and tools can load it.
 */
import type { CapturedResource } from "../../../cli/lib/mockRuntime";
import { K8S_FORCE_NEW, K8S_IDENTITY, K8S_PROVIDER_RULES, PULUMI_COMMIT, TYPE_RULES, classifyPath, isPrefix, normalizePath } from "./providerRules";

export { PULUMI_COMMIT };

/** What the engine does with one resource. */
export type Action = "same" | "update" | "replace" | "create" | "delete";

/** One changed input path and what it causes. */
export interface Change {
    readonly path: string;
    readonly effect: "update" | "replace";
    /** Why: the provider rule, `replaceOnChanges`, or the replaced resource whose output it carries. */
    readonly why: string;
}

/** The engine's step for one resource. */
export interface Step {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly action: Action;
    readonly changes: readonly Change[];
    /** The replacement deletes the old object before creating the new one. */
    readonly deleteBeforeReplace: boolean;
    /** The replacement's new object has the same cloud identity (name) as the old one. */
    readonly sameIdentity: boolean;
    /** The engine refuses the step (protect); the preview fails with this message. */
    readonly refused?: string;
    /** The delete (or the delete half of a replacement) only drops the resource from the state. */
    readonly retained: boolean;
    readonly before?: CapturedResource;
    readonly after?: CapturedResource;
}

/** The plan of a transition. */
export interface Plan {
    /** Every custom resource of either render, in the after render's order, deletes last. */
    readonly steps: readonly Step[];
    /** Changed inputs no provider rule covers (`<type> <path>`): the plan cannot decide them. */
    readonly unclassified: readonly string[];
}

type Json = unknown;

/**
 * Appends a key to a property path the way Pulumi writes them (`ignoreChanges`,
 * `replaceOnChanges`): `a.b`, and `a["app.kubernetes.io/name"]` for keys with dots or brackets.
 */
export function joinPath(prefix: string, key: string): string {
    if (/^[^.[\]"]+$/.test(key)) {
        return prefix ? `${prefix}.${key}` : key;
    }
    return `${prefix}[${JSON.stringify(key)}]`;
}

/** The keys of a property path: `a["b.c"][0].d` → a, b.c, 0, d. */
export function pathKeys(path: string): string[] {
    return [...path.matchAll(/\["((?:[^"\\]|\\.)*)"\]|\[(\d+)\]|([^.[\]]+)/g)].map((m) => (m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : m[2] ?? m[3]));
}

function isEmpty(v: Json): boolean {
    return v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

/** Leaf paths (`a.b[0].c`) whose values differ; missing, null and empty containers are equal. */
export function changedPaths(a: Json, b: Json, prefix = ""): string[] {
    if (isEmpty(a) && isEmpty(b)) {
        return [];
    }
    if (Array.isArray(a) || Array.isArray(b)) {
        const x = Array.isArray(a) ? a : [];
        const y = Array.isArray(b) ? b : [];
        if (!Array.isArray(a) && !isEmpty(a)) {
            return [prefix];
        }
        if (!Array.isArray(b) && !isEmpty(b)) {
            return [prefix];
        }
        const out: string[] = [];
        for (let i = 0; i < Math.max(x.length, y.length); i++) {
            out.push(...changedPaths(x[i], y[i], `${prefix}[${i}]`));
        }
        return out;
    }
    const objA = a !== null && typeof a === "object" ? (a as Record<string, Json>) : undefined;
    const objB = b !== null && typeof b === "object" ? (b as Record<string, Json>) : undefined;
    if (objA || objB) {
        if ((!objA && !isEmpty(a)) || (!objB && !isEmpty(b))) {
            return [prefix];
        }
        const out: string[] = [];
        for (const key of new Set([...Object.keys(objA ?? {}), ...Object.keys(objB ?? {})])) {
            out.push(...changedPaths(objA?.[key], objB?.[key], joinPath(prefix, key)));
        }
        return out;
    }
    return a === b ? [] : [prefix];
}

/** Every string leaf of `value` with its path. */
export function stringLeaves(value: Json, prefix = ""): Array<[string, string]> {
    if (typeof value === "string") {
        return [[prefix, value]];
    }
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => stringLeaves(v, `${prefix}[${i}]`));
    }
    if (value !== null && typeof value === "object") {
        return Object.entries(value as Record<string, Json>).flatMap(([k, v]) => stringLeaves(v, joinPath(prefix, k)));
    }
    return [];
}

function valueAt(root: Json, path: string): Json {
    return pathKeys(path).reduce<Json>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, Json>)[k] : undefined), root);
}

/**
 * Values the cloud computes for `r` (its id, an auto-name, a self link, an email, an address…):
 * output strings the program did not give as inputs. Another resource carrying one of them in its
 * inputs references `r`.
 */
export function computedValues(r: CapturedResource): string[] {
    const values = new Set<string>();
    if (r.id) {
        values.add(r.id);
    }
    for (const [path, value] of stringLeaves(r.outputs)) {
        if (valueAt(r.inputs, path) !== value) {
            values.add(value);
        }
    }
    // Short values (ports, "0") would match by accident.
    return [...values].filter((v) => v.length >= 6);
}

/** Input paths of `inputs` that carry one of `values`. */
export function referencingPaths(inputs: Json, values: readonly string[]): string[] {
    return stringLeaves(inputs).filter(([, s]) => values.some((v) => s.includes(v))).map(([p]) => p);
}

/** `urn::id` of a provider reference → its URN. */
export function providerUrn(reference: string | undefined): string | undefined {
    return reference === undefined ? undefined : reference.slice(0, reference.lastIndexOf("::"));
}

const isKubernetes = (type: string) => type.startsWith("kubernetes:");
const K8S_PROVIDER = "pulumi:providers:kubernetes";

/** `apps/v1/Deployment`: the key of {@link K8S_FORCE_NEW}. */
function kindKey(r: CapturedResource): string {
    return `${String(r.inputs.apiVersion)}/${String(r.inputs.kind)}`;
}

/** The provider's decision for one changed path, with its source; undefined when no rule covers it. */
function providerEffect(r: CapturedResource, path: string): Change | undefined {
    const p = normalizePath(path);
    if (isKubernetes(r.type)) {
        const forceNew = [...K8S_IDENTITY, ...(K8S_FORCE_NEW[kindKey(r)] ?? [])].find((f) => isPrefix(f, p));
        return forceNew
            ? { path, effect: "replace", why: `pulumi-kubernetes forceNew ${kindKey(r)} .${forceNew}` }
            : { path, effect: "update", why: "pulumi-kubernetes: not in forceNew (server-side apply patch)" };
    }
    const rules = r.type === K8S_PROVIDER ? K8S_PROVIDER_RULES : TYPE_RULES[r.type];
    if (!rules) {
        return undefined;
    }
    const effect = classifyPath(rules, path);
    return effect === undefined ? undefined : { path, effect, why: `${effect === "replace" ? "ForceNew" : "updatable"}: ${rules.source}` };
}

/** Whether the object keeps its cloud name: explicit identity inputs that did not change. */
function keepsIdentity(before: CapturedResource, after: CapturedResource, unknown: ReadonlySet<string>): boolean {
    const identity = isKubernetes(after.type) ? K8S_IDENTITY : after.type === K8S_PROVIDER ? [] : TYPE_RULES[after.type]?.identity ?? [];
    if (identity.length === 0) {
        // Server-assigned ids (alert policies, dashboards…) or no cloud object: never collide.
        return false;
    }
    for (const path of identity) {
        const named = path === "name" || path === "metadata.name";
        if (named && valueAt(after.inputs, path) === undefined) {
            return false; // auto-named: the replacement gets a new random suffix
        }
        if (JSON.stringify(valueAt(before.inputs, path)) !== JSON.stringify(valueAt(after.inputs, path))) {
            return false;
        }
        if ([...unknown].some((u) => isPrefix(path, normalizePath(u)))) {
            return false; // carries an output of a replaced resource that gets a new name
        }
    }
    return true;
}

/** The plan of the transition from `before` to `after` (after: undefined is `pulumi destroy`). */
export function planTransition(before: readonly CapturedResource[], after: readonly CapturedResource[] | undefined): Plan {
    const old = new Map(before.filter((r) => r.custom).map((r) => [r.urn, r]));
    const next = (after ?? []).filter((r) => r.custom);
    const nextUrns = new Set(next.map((r) => r.urn));
    const steps: Step[] = [];
    const unclassified: string[] = [];
    /** Replaced resources whose replacement gets a new name: their outputs are unknown to dependents. */
    const renamed = new Map<string, string[]>();
    const replaced = new Set<string>();

    for (const r of next) {
        const o = old.get(r.urn);
        if (!o) {
            steps.push({ urn: r.urn, type: r.type, name: r.name, action: "create", changes: [], deleteBeforeReplace: false, sameIdentity: false, retained: false, after: r });
            continue;
        }
        const changes: Change[] = [];
        const unknown = new Set<string>();
        // Inputs that carry an output of a replaced dependency are unknown, so changed.
        for (const dep of r.dependencies) {
            const values = renamed.get(dep);
            if (values) {
                for (const path of referencingPaths(r.inputs, values)) {
                    unknown.add(path);
                }
            }
        }
        const paths = new Set([...changedPaths(o.inputs, r.inputs), ...unknown]);
        const ignored = (path: string) => (r.ignoreChanges ?? []).some((i) => isPrefix(i, normalizePath(path)));
        for (const path of [...paths].filter((p) => !ignored(p))) {
            const replaceOnChanges = (r.replaceOnChanges ?? []).find((x) => x === "*" || isPrefix(x, normalizePath(path)));
            const provider = providerEffect(r, path);
            if (replaceOnChanges) {
                changes.push({ path, effect: "replace", why: `replaceOnChanges ${replaceOnChanges}` });
            } else if (provider) {
                changes.push(unknown.has(path) && provider.effect === "replace" ? { ...provider, why: `${provider.why}; unknown until a replaced dependency exists` } : provider);
            } else {
                unclassified.push(`${r.type} ${normalizePath(path)}`);
            }
        }
        const providerReplaced = r.provider !== undefined && replaced.has(providerUrn(r.provider)!);
        if (providerReplaced) {
            changes.push({ path: "(provider)", effect: "replace", why: "its provider resource is replaced (engine: providerChanged)" });
        }
        const replace = changes.some((c) => c.effect === "replace");
        const action: Action = replace ? "replace" : changes.length > 0 ? "update" : "same";
        let sameIdentity = false;
        let deleteBeforeReplace = false;
        let refused: string | undefined;
        if (replace) {
            // A replaced provider means another cluster: the new object does not meet the old one,
            // and the engine replaces without asking the resource's provider (so only the option
            // decides the order).
            sameIdentity = !providerReplaced && keepsIdentity(o, r, unknown);
            const k8sNamed = isKubernetes(r.type) && r.inputs.metadata !== undefined && (r.inputs.metadata as Record<string, unknown>).name !== undefined && sameIdentity;
            deleteBeforeReplace = r.deleteBeforeReplace === true || k8sNamed;
            if (o.protect && r.protect) {
                refused = `unable to replace resource "${r.urn}" as it is currently marked for protection`;
            }
            replaced.add(r.urn);
            if (!sameIdentity) {
                renamed.set(r.urn, computedValues(o));
            }
        }
        steps.push({ urn: r.urn, type: r.type, name: r.name, action, changes, deleteBeforeReplace, sameIdentity, refused, retained: replace && o.retainOnDelete === true, before: o, after: r });
    }
    // Deletes run last, dependents first (pulumi/pulumi#9979); their order among themselves is the engine's.
    for (const o of old.values()) {
        if (nextUrns.has(o.urn)) {
            continue;
        }
        steps.push({
            urn: o.urn, type: o.type, name: o.name, action: "delete", changes: [], deleteBeforeReplace: false, sameIdentity: false,
            refused: o.protect ? `resource "${o.urn}" cannot be deleted because it is protected` : undefined,
            retained: o.retainOnDelete === true, before: o,
        });
    }
    return { steps, unclassified: [...new Set(unclassified)] };
}

/** Steps that change something (not `same`). */
export function effectiveSteps(plan: Plan): Step[] {
    return plan.steps.filter((s) => s.action !== "same");
}
