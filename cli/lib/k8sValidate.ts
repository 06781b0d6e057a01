/**
 * Validates Kubernetes objects against the official OpenAPI schemas: `kubernetes-models` for the
 * built-in APIs and `@kubernetes-models/gke` for GKE's CRDs (ManagedCertificate, FrontendConfig,
 * BackendConfig, …). Each error names the object (`Kind namespace/name`) and the field path.
 * Objects of a kind neither package knows are listed as not validated; that is not an error.
 */
import { describeObject, type K8sObject } from "./manifests";

/** The fields of an ajv error that `kubernetes-models` throws (ajv is its dependency, not ours). */
interface ErrorObject {
    readonly instancePath: string;
    readonly keyword: string;
    readonly params: Record<string, unknown>;
    readonly message?: string;
}

/** One schema violation. */
export interface SchemaError {
    /** `Kind namespace/name`. */
    readonly object: string;
    readonly apiVersion: string;
    readonly kind: string;
    readonly namespace?: string;
    readonly name: string;
    /** Field path, e.g. `spec.template.spec.containers[0].ports[0].containerPort`. */
    readonly path: string;
    /** What is wrong, e.g. `must be integer`. */
    readonly message: string;
}

/** An object that was not checked, and why. */
export interface NotValidated {
    readonly object: string;
    readonly apiVersion: string;
    readonly reason: string;
}

/** The result of {@link validateObjects}. */
export interface ValidationResult {
    /** How many objects were checked against a schema. */
    readonly validated: number;
    readonly errors: SchemaError[];
    readonly notValidated: NotValidated[];
}

/** The schema packages, in lookup order. */
const MODEL_PACKAGES = ["kubernetes-models", "@kubernetes-models/gke"] as const;

interface Model {
    validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => Model;

const cache = new Map<string, ModelClass | undefined>();

/** The model class for `apiVersion`/`kind`, from the first package that has one. */
export function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
    const key = `${apiVersion}/${kind}`;
    if (cache.has(key)) {
        return cache.get(key);
    }
    let found: ModelClass | undefined;
    // Only well-formed names reach require(): no path tricks from program-supplied strings.
    if (/^([a-z0-9.-]+\/)?v[a-z0-9]+$/.test(apiVersion) && /^[A-Za-z][A-Za-z0-9]*$/.test(kind)) {
        for (const pkg of MODEL_PACKAGES) {
            try {
                found = (require(`${pkg}/${apiVersion}/${kind}`) as Record<string, ModelClass>)[kind];
            } catch {
                found = undefined;
            }
            if (found) {
                break;
            }
        }
    }
    cache.set(key, found);
    return found;
}

/** `/spec/template/spec/containers/0/name` → `spec.template.spec.containers[0].name`. */
export function fieldPath(error: Pick<ErrorObject, "instancePath" | "keyword" | "params">): string {
    const parts = error.instancePath
        .split("/")
        .slice(1)
        .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    const params = error.params as { missingProperty?: string; additionalProperty?: string };
    if (error.keyword === "required" && params.missingProperty) {
        parts.push(params.missingProperty);
    }
    if (error.keyword === "additionalProperties" && params.additionalProperty) {
        parts.push(params.additionalProperty);
    }
    let path = "";
    for (const p of parts) {
        if (/^\d+$/.test(p)) {
            path += `[${p}]`;
        } else if (/^[A-Za-z_$][\w$-]*$/.test(p)) {
            path += path ? `.${p}` : p;
        } else {
            path += `[${JSON.stringify(p)}]`;
        }
    }
    return path || "(object)";
}

function messageOf(error: ErrorObject): string {
    if (error.keyword === "required") {
        return "is required";
    }
    if (error.keyword === "enum") {
        return `must be one of ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}`;
    }
    return error.message ?? error.keyword;
}

/** Validates one object; returns its errors (empty when valid), or undefined when no schema is known. */
export function validateObject(o: K8sObject): SchemaError[] | undefined {
    const Model = modelFor(o.apiVersion, o.kind);
    if (!Model) {
        return undefined;
    }
    try {
        new Model(o.object).validate();
        return [];
    } catch (err) {
        const errors = (err as { errors?: ErrorObject[] }).errors;
        if (!Array.isArray(errors)) {
            throw err;
        }
        const seen = new Set<string>();
        const out: SchemaError[] = [];
        for (const e of errors) {
            const error = { object: describeObject(o), apiVersion: o.apiVersion, kind: o.kind, namespace: o.namespace, name: o.name, path: fieldPath(e), message: messageOf(e) };
            const key = `${error.path}\0${error.message}`;
            if (!seen.has(key)) {
                seen.add(key);
                out.push(error);
            }
        }
        return out;
    }
}

/** Validates every object. Patches (partial objects) and unknown kinds are reported as not validated. */
export function validateObjects(objects: readonly K8sObject[]): ValidationResult {
    const errors: SchemaError[] = [];
    const notValidated: NotValidated[] = [];
    let validated = 0;
    for (const o of objects) {
        if (o.patch) {
            notValidated.push({ object: describeObject(o), apiVersion: o.apiVersion, reason: "a patch (partial object) cannot be checked against the full schema" });
            continue;
        }
        const result = validateObject(o);
        if (result === undefined) {
            notValidated.push({ object: describeObject(o), apiVersion: o.apiVersion, reason: `no schema for ${o.apiVersion} ${o.kind} in ${MODEL_PACKAGES.join(" or ")}` });
            continue;
        }
        validated++;
        errors.push(...result);
    }
    return { validated, errors, notValidated };
}

/** One line per error: `Deployment web/django: spec.replicas: must be integer`. */
export function formatSchemaError(e: SchemaError): string {
    return `${e.object} (${e.apiVersion}): ${e.path}: ${e.message}`;
}
