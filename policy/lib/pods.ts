/**
 * Finding the pod template in every Kubernetes kind that carries one, and listing its containers.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { Unwrap } from "@pulumi/pulumi";
import { knownItems, knownString, read, Unknown, UNKNOWN } from "./values";

/** A pod spec as the policies read it (Kubernetes JSON, unwrapped). */
export type PodSpec = Unwrap<k8s.types.input.core.v1.PodSpec>;
/** A container as the policies read it. */
export type Container = Unwrap<k8s.types.input.core.v1.Container>;

/** Kinds whose pods run until stopped (they need probes, a PDB, a NetworkPolicy…). */
const LONG_RUNNING_POD_TYPES: readonly string[] = [
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:core/v1:Pod",
];

/** Kinds whose pods run to completion. */
const BATCH_POD_TYPES: readonly string[] = ["kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"];

/** Every kind that carries a pod template (or is a pod). */
export const POD_TYPES: readonly string[] = [...LONG_RUNNING_POD_TYPES, ...BATCH_POD_TYPES];

/** The pod part of a workload. */
export interface Pod {
    /** The pod spec (a CrossGuard proxy; read it through `read`). */
    readonly spec: PodSpec;
    /** The pod template's labels (unknown values left as they are). */
    readonly labels: Record<string, unknown> | undefined | Unknown;
    /** The pod template's annotations (AppArmor profiles before Kubernetes 1.30 live there). */
    readonly annotations: Record<string, unknown> | undefined | Unknown;
    /** Where the pod spec sits in the resource, e.g. `spec.template.spec`. */
    readonly path: string;
    /** False for Jobs and CronJobs. */
    readonly longRunning: boolean;
}

/** The template path per kind. */
function templateOf(type: string, props: Record<string, any>): { template: unknown; path: string } {
    switch (type) {
        case "kubernetes:core/v1:Pod":
            return { template: props, path: "" };
        case "kubernetes:batch/v1:CronJob":
            return { template: read(() => props.spec?.jobTemplate?.spec?.template), path: "spec.jobTemplate.spec.template." };
        default:
            return { template: read(() => props.spec?.template), path: "spec.template." };
    }
}

/**
 * The pod of a workload, `undefined` for kinds without pods or a template that is not set, and
 * {@link UNKNOWN} when the template itself is not known yet.
 */
export function podOf(type: string, props: Record<string, any>): Pod | undefined | Unknown {
    if (!POD_TYPES.includes(type)) {
        return undefined;
    }
    const { template, path } = templateOf(type, props);
    if (template === UNKNOWN) {
        return UNKNOWN;
    }
    const t = template as { metadata?: { labels?: Record<string, unknown>; annotations?: Record<string, unknown> }; spec?: PodSpec } | undefined;
    const spec = read(() => t?.spec);
    if (spec === UNKNOWN) {
        return UNKNOWN;
    }
    if (spec === undefined || spec === null) {
        return undefined;
    }
    return {
        spec,
        labels: read(() => t?.metadata?.labels),
        annotations: read(() => t?.metadata?.annotations),
        path: `${path}spec`,
        longRunning: LONG_RUNNING_POD_TYPES.includes(type),
    };
}

/** One container of a pod with a readable label for messages. */
export interface ContainerRef {
    /** The container (a CrossGuard proxy). */
    readonly container: Container;
    /** `container "web"`, `init container "cloud-sql-proxy"`… */
    readonly label: string;
    /** Which list it comes from. */
    readonly list: "containers" | "initContainers" | "ephemeralContainers";
}

const LIST_LABELS = {
    containers: "container",
    initContainers: "init container",
    ephemeralContainers: "ephemeral container",
} as const;

/** The known containers of the given lists (all three by default). */
export function containersOf(
    spec: PodSpec,
    lists: readonly ContainerRef["list"][] = ["containers", "initContainers", "ephemeralContainers"],
): ContainerRef[] {
    const refs: ContainerRef[] = [];
    for (const list of lists) {
        const items = knownItems(read(() => (spec as Record<string, unknown>)[list] as Container[] | undefined));
        items.forEach((container, index) => {
            const name = knownString(read(() => container.name));
            const label = `${LIST_LABELS[list]} ${name !== undefined ? JSON.stringify(name) : `#${index}`}`;
            refs.push({ container, label, list });
        });
    }
    return refs;
}
