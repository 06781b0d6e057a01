/**
 * The Kubernetes objects a program registers, as plain manifests a person can read or diff.
 *
 * `apiVersion`/`kind` come from the Pulumi type token (`kubernetes:apps/v1:Deployment` →
 * `apps/v1` / `Deployment`; the `core` group is the legacy `v1`); CustomResources keep the
 * apiVersion/kind they were given. Secret values never leave: a Secret's `data`/`stringData`
 * values become `[secret]`, and so does any string elsewhere that contains a secret value.
 */
import { stringify } from "yaml";
import type { CapturedResource } from "./mockRuntime";
import { REDACTED, collectSecretValues, redact } from "./redact";

/** One Kubernetes object of the program. */
export interface K8sObject {
    /** URN of the Pulumi resource that creates it. */
    readonly urn: string;
    readonly apiVersion: string;
    readonly kind: string;
    readonly namespace?: string;
    readonly name: string;
    /** True for server-side-apply patches (`…Patch` types): partial objects. */
    readonly patch: boolean;
    /** The full object (unredacted: for validation only, never written). */
    readonly object: Record<string, unknown>;
}

const K8S_TYPE = /^kubernetes:([^:]+):([^:]+)$/;

/** Pulumi Kubernetes types that are not API objects. */
const NOT_OBJECTS = new Set(["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"]);

/** `apiVersion` and `kind` of a Pulumi Kubernetes type token, or undefined for other types. */
export function apiVersionKindOf(type: string): { apiVersion: string; kind: string } | undefined {
    const m = K8S_TYPE.exec(type);
    if (!m || NOT_OBJECTS.has(type) || m[1] === "yaml" || m[1].startsWith("helm.sh")) {
        return undefined;
    }
    const apiVersion = m[1].startsWith("core/") ? m[1].slice("core/".length) : m[1];
    return { apiVersion, kind: m[2] };
}

/** Every Kubernetes object among the captured resources, in registration order. */
export function kubernetesObjects(resources: readonly CapturedResource[]): K8sObject[] {
    const objects: K8sObject[] = [];
    for (const r of resources) {
        const derived = r.custom ? apiVersionKindOf(r.type) : undefined;
        if (!derived) {
            continue;
        }
        const state = Object.keys(r.outputs).length > 0 ? r.outputs : r.inputs;
        const patch = derived.kind.endsWith("Patch") && state.kind !== derived.kind;
        const apiVersion = typeof state.apiVersion === "string" ? state.apiVersion : derived.apiVersion;
        const kind = typeof state.kind === "string" ? state.kind : patch ? derived.kind.slice(0, -"Patch".length) : derived.kind;
        const metadata = (state.metadata ?? {}) as { name?: string; namespace?: string };
        const { apiVersion: _a, kind: _k, ...rest } = state;
        objects.push({
            urn: r.urn,
            apiVersion,
            kind,
            namespace: metadata.namespace,
            name: metadata.name ?? r.name,
            patch,
            object: { apiVersion, kind, ...rest },
        });
    }
    return objects;
}

/** `Kind namespace/name` (or `Kind name` for cluster-scoped objects), for messages. */
export function describeObject(o: Pick<K8sObject, "kind" | "namespace" | "name">): string {
    return `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;
}

/** The object as it may be shown: Secret values and any embedded secret value redacted. */
export function redactedObject(o: K8sObject, secrets: ReadonlySet<string>): Record<string, unknown> {
    const copy = redact(o.object, [], secrets, () => REDACTED) as Record<string, unknown>;
    if (o.kind === "Secret" && o.apiVersion === "v1") {
        for (const field of ["data", "stringData"]) {
            const values = copy[field];
            if (values && typeof values === "object") {
                copy[field] = Object.fromEntries(Object.keys(values).map((k) => [k, REDACTED]));
            }
        }
    }
    return copy;
}

/** All objects as one multi-document YAML, each document headed by its Pulumi URN. */
export function manifestsYaml(objects: readonly K8sObject[], resources: readonly CapturedResource[]): string {
    const secrets = collectSecretValues(resources);
    return objects
        .map((o) => `# ${o.urn}${o.patch ? " (patch)" : ""}\n${stringify(redactedObject(o, secrets), { lineWidth: 0, version: "1.1" })}`)
        .join("---\n");
}
