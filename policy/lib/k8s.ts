/**
 * Relating Kubernetes objects to each other in stack policies: namespaces, label selectors and
 * HPA targets, with unknown values (preview) kept apart from "no match".
 */
import type { PolicyResource } from "@pulumi/policy";
import { isUnknown, knownEntries, knownItems, knownString, read, Unknown, UNKNOWN } from "./values";

/** Type token of a Kubernetes Namespace. */
const NAMESPACE_TYPE = "kubernetes:core/v1:Namespace";

/**
 * A key that is equal for two objects in the same namespace: `ns:<name>` when the name is known,
 * otherwise `urn:<Namespace URN>` when the object depends on exactly one Namespace resource
 * (its name is computed in preview), otherwise {@link UNKNOWN}. An unset namespace means the
 * provider's namespace, else `default`.
 */
export function namespaceKey(resource: PolicyResource): string | Unknown {
    const ns = read(() => resource.props.metadata?.namespace);
    if (typeof ns === "string" && ns !== "") {
        return `ns:${ns}`;
    }
    if (ns === undefined || ns === null || ns === "") {
        const providerNs = read(() => resource.provider?.props.namespace);
        return isUnknown(providerNs) ? UNKNOWN : `ns:${knownString(providerNs) || "default"}`;
    }
    const namespaces = resource.dependencies.filter((d) => d.type === NAMESPACE_TYPE);
    if (namespaces.length !== 1) {
        return UNKNOWN;
    }
    const name = knownString(read(() => namespaces[0].props.metadata?.name));
    return name !== undefined ? `ns:${name}` : `urn:${namespaces[0].urn}`;
}

/**
 * Whether two namespace keys name the same namespace: UNKNOWN when either is unknown or when one is
 * a name and the other a Namespace resource whose name is not known yet.
 */
export function sameNamespace(a: string | Unknown, b: string | Unknown): boolean | Unknown {
    if (a === UNKNOWN || b === UNKNOWN) {
        return UNKNOWN;
    }
    if (a === b) {
        return true;
    }
    return a.slice(0, 3) === b.slice(0, 3) ? false : UNKNOWN;
}

/** The readable form of a namespace key for messages. */
export function showNamespace(key: string): string {
    return key.startsWith("ns:") ? `namespace "${key.slice(3)}"` : "its namespace";
}

interface LabelSelector {
    matchLabels?: Record<string, unknown>;
    matchExpressions?: { key?: unknown; operator?: unknown; values?: unknown[] }[];
}

/**
 * Whether a label selector selects pods with `labels`: true, false, or {@link UNKNOWN} when an
 * unknown value decides it. An empty selector selects everything; `undefined` selects nothing
 * (PodDisruptionBudget semantics) unless `emptyMeansAll` is set (NetworkPolicy `podSelector`).
 */
export function selects(
    selector: LabelSelector | null | undefined | Unknown,
    labels: Record<string, unknown> | null | undefined | Unknown,
    emptyMeansAll = false,
): boolean | Unknown {
    if (isUnknown(selector) || isUnknown(labels)) {
        return UNKNOWN;
    }
    if (selector === undefined || selector === null) {
        return emptyMeansAll;
    }
    const podLabels = new Map(knownEntries(labels ?? {}));
    const unknownLabels = Object.keys(labels ?? {}).length !== podLabels.size;
    let undecided = false;
    const label = (key: string): string | undefined | Unknown => {
        const value = podLabels.get(key);
        if (value === undefined && unknownLabels) {
            return UNKNOWN;
        }
        return value === undefined ? undefined : String(value);
    };
    const matchLabels = read(() => selector.matchLabels);
    if (isUnknown(matchLabels)) {
        return UNKNOWN;
    }
    for (const [key, want] of knownEntries(matchLabels ?? {})) {
        const have = label(key);
        if (have === UNKNOWN) {
            undecided = true;
        } else if (have !== String(want)) {
            return false;
        }
    }
    if (Object.keys(matchLabels ?? {}).length !== knownEntries(matchLabels ?? {}).length) {
        undecided = true;
    }
    const expressions = read(() => selector.matchExpressions);
    if (isUnknown(expressions)) {
        return UNKNOWN;
    }
    for (const expr of knownItems(expressions ?? [])) {
        const result = matchesExpression(expr, label);
        if (result === UNKNOWN) {
            undecided = true;
        } else if (!result) {
            return false;
        }
    }
    return undecided ? UNKNOWN : true;
}

function matchesExpression(
    expr: { key?: unknown; operator?: unknown; values?: unknown[] },
    label: (key: string) => string | undefined | Unknown,
): boolean | Unknown {
    const key = read(() => expr.key);
    const operator = read(() => expr.operator);
    const values = read(() => expr.values);
    if (isUnknown(key) || isUnknown(operator) || isUnknown(values) || typeof key !== "string") {
        return UNKNOWN;
    }
    const have = label(key);
    if (have === UNKNOWN) {
        return UNKNOWN;
    }
    const list = knownItems(values ?? []).map(String);
    switch (operator) {
        case "In":
            return have !== undefined && list.includes(have);
        case "NotIn":
            return have === undefined || !list.includes(have);
        case "Exists":
            return have !== undefined;
        case "DoesNotExist":
            return have === undefined;
        default:
            return false;
    }
}

/** Kinds an HPA can scale, by `scaleTargetRef.kind`. */
const SCALABLE_TYPES: Record<string, string> = {
    Deployment: "kubernetes:apps/v1:Deployment",
    StatefulSet: "kubernetes:apps/v1:StatefulSet",
    ReplicaSet: "kubernetes:apps/v1:ReplicaSet",
};

/**
 * The workload an HPA scales, found by kind + name + namespace; else, when the name is not known
 * yet or the workload is auto-named (its name is computed, not in its inputs), as the only
 * resource of that kind without a declared name that the HPA depends on. `undefined` when it is
 * not in the stack.
 */
export function hpaTarget(hpa: PolicyResource, resources: readonly PolicyResource[]): PolicyResource | undefined {
    const kind = read(() => hpa.props.spec?.scaleTargetRef?.kind);
    const type = typeof kind === "string" ? SCALABLE_TYPES[kind] : undefined;
    if (type === undefined) {
        return undefined;
    }
    const name = read(() => hpa.props.spec?.scaleTargetRef?.name);
    if (typeof name === "string") {
        const ns = namespaceKey(hpa);
        const byName = resources.find((r) => r.type === type && read(() => r.props.metadata?.name) === name
            && sameNamespace(namespaceKey(r), ns) === true);
        if (byName !== undefined) {
            return byName;
        }
    }
    const candidates = hpa.dependencies.filter((d) => d.type === type && typeof read(() => d.props.metadata?.name) !== "string");
    return candidates.length === 1 ? candidates[0] : undefined;
}

/**
 * Whether the program sets `spec.replicas` on a workload. On a live object (CrossGuard stack
 * policies see outputs) the API server always fills `replicas`, so the managed fields decide: only
 * a `pulumi-kubernetes` field manager owning `f:spec.f:replicas` counts.
 */
export function programSetsReplicas(workload: PolicyResource): boolean | Unknown {
    const managedFields = read(() => workload.props.metadata?.managedFields);
    if (Array.isArray(managedFields)) {
        return knownItems(managedFields as { manager?: unknown; fieldsV1?: Record<string, any> }[]).some((entry) => {
            const manager = knownString(read(() => entry.manager)) ?? "";
            const owns = read(() => entry.fieldsV1?.["f:spec"]?.["f:replicas"]);
            return manager.startsWith("pulumi-kubernetes") && owns !== undefined && !isUnknown(owns);
        });
    }
    const replicas = read(() => workload.props.spec?.replicas);
    if (isUnknown(replicas)) {
        return UNKNOWN;
    }
    return replicas !== undefined && replicas !== null;
}

/** The smallest replica count of a workload: its HPA's `minReplicas` (default 1), else `spec.replicas` (default 1). */
export function replicaFloor(workload: PolicyResource, resources: readonly PolicyResource[]): number | Unknown {
    const hpa = resources.find((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
        && hpaTarget(r, resources) === workload);
    const value = hpa !== undefined
        ? read(() => hpa.props.spec?.minReplicas)
        : read(() => workload.props.spec?.replicas);
    if (isUnknown(value)) {
        return UNKNOWN;
    }
    return typeof value === "number" ? value : 1;
}

/**
 * A PodDisruptionBudget's `minAvailable` or `maxUnavailable` (an IntOrString) as Kubernetes reads
 * it: a number of pods, or a whole percentage `"<n>%"`. `undefined` when unset, unknown or not a
 * value the API server accepts.
 */
export function intOrPercent(value: unknown): { readonly count: number } | { readonly percent: number } | undefined {
    if (typeof value === "number" && Number.isInteger(value) && value >= 0) {
        return { count: value };
    }
    const match = typeof value === "string" && !isUnknown(value) ? /^(\d+)%$/.exec(value) : null;
    return match === null ? undefined : { percent: Number(match[1]) };
}

/**
 * The pods a percentage stands for out of `pods`. Kubernetes rounds up, for `minAvailable` and
 * `maxUnavailable` alike: the disruption controller scales both with
 * `intstr.GetScaledValueFromIntOrPercent(…, roundUp=true)` (kubernetes/kubernetes,
 * pkg/controller/disruption/disruption.go, `getExpectedPodCount`), as
 * https://kubernetes.io/docs/tasks/run-application/configure-pdb/#rounding-logic-when-specifying-percentages
 * says ("Kubernetes rounds up to the nearest integer").
 */
export function podsOfPercent(percent: number, pods: number): number {
    return Math.ceil((pods * percent) / 100);
}
