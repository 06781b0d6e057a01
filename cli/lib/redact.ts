/**
 * Keeps secrets out of every file synth writes.
 *
 * Two nets: by path (what Pulumi itself knows is secret: secret inputs, `additionalSecretOutputs`)
 * and by value (any string that contains a secret value, or its base64 form, wherever a program
 * copied it — a connection string, a stack output, a ConfigMap by mistake).
 */
import type { CapturedResource } from "./mockRuntime";

/** Pulumi's signature key for special values in serialized state. */
export const SPECIAL_SIG = "4dabf18193072939515e22adb298388d";
/** Pulumi's signature of a secret value. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** What every redacted value reads as. Starts with `[secret` so readers can recognise it. */
export const REDACTED = "[secret]";

/** A secret as it appears in a `pulumi stack export`, with the value replaced by {@link REDACTED}. */
export interface SecretEnvelope {
    readonly [SPECIAL_SIG]: typeof SECRET_SIG;
    readonly plaintext: string;
}

/** The envelope every secret is written as. */
export function secretEnvelope(): SecretEnvelope {
    return { [SPECIAL_SIG]: SECRET_SIG, plaintext: JSON.stringify(REDACTED) };
}

/** Secrets shorter than this are matched by path only (a value like `django` is everywhere). */
const MIN_VALUE_LENGTH = 8;

type PathKey = string | number;

/**
 * Resolves a dotted path as recorded by the mock runtime (`a.b[0].c`, where keys may themselves
 * contain dots, like annotation names) against the object it came from.
 */
export function resolvePath(root: unknown, dotted: string): PathKey[] | undefined {
    if (dotted === "") {
        return [];
    }
    if (Array.isArray(root)) {
        const m = /^\[(\d+)\]\.?/.exec(dotted);
        if (!m) {
            return undefined;
        }
        const rest = resolvePath(root[Number(m[1])], dotted.slice(m[0].length));
        return rest && [Number(m[1]), ...rest];
    }
    if (root === null || typeof root !== "object") {
        return undefined;
    }
    const keys = Object.keys(root).sort((a, b) => b.length - a.length);
    for (const key of keys) {
        if (dotted === key || dotted.startsWith(`${key}.`) || dotted.startsWith(`${key}[`)) {
            const restPath = dotted.slice(key.length).replace(/^\./, "");
            const rest = resolvePath((root as Record<string, unknown>)[key], restPath);
            if (rest) {
                return [key, ...rest];
            }
        }
    }
    return undefined;
}

function valueAt(root: unknown, keys: PathKey[]): unknown {
    let v = root;
    for (const k of keys) {
        if (v === null || typeof v !== "object") {
            return undefined;
        }
        v = (v as Record<PathKey, unknown>)[k];
    }
    return v;
}

function leafStrings(value: unknown, out: Set<string>): void {
    if (typeof value === "string") {
        out.add(value);
    } else if (Array.isArray(value)) {
        value.forEach((v) => leafStrings(v, out));
    } else if (value !== null && typeof value === "object") {
        Object.values(value).forEach((v) => leafStrings(v, out));
    }
}

/** Output paths of a resource that are secret: its declared secret outputs plus its secret inputs. */
export function secretOutputPaths(resource: CapturedResource): PathKey[][] {
    const paths: PathKey[][] = (resource.secretOutputs ?? []).filter((k) => k in resource.outputs).map((k) => [k]);
    for (const dotted of resource.secretInputs) {
        const p = resolvePath(resource.outputs, dotted);
        if (p) {
            paths.push(p);
        }
    }
    return paths;
}

/** Input paths of a resource that are secret. */
export function secretInputPaths(resource: CapturedResource): PathKey[][] {
    return resource.secretInputs.map((d) => resolvePath(resource.inputs, d)).filter((p): p is PathKey[] => p !== undefined);
}

/**
 * Every secret string of a program run (and its base64 form), for value-based redaction.
 * `extra` adds values known to be secret from elsewhere (e.g. secret config).
 */
export function collectSecretValues(resources: readonly CapturedResource[], extra: readonly string[] = []): Set<string> {
    const found = new Set<string>(extra);
    for (const r of resources) {
        for (const p of secretInputPaths(r)) {
            leafStrings(valueAt(r.inputs, p), found);
        }
        for (const p of secretOutputPaths(r)) {
            leafStrings(valueAt(r.outputs, p), found);
        }
    }
    const values = new Set<string>();
    for (const v of found) {
        if (v.length >= MIN_VALUE_LENGTH && !v.startsWith("[secret")) {
            values.add(v);
            values.add(Buffer.from(v).toString("base64"));
        }
    }
    return values;
}

/** True when `text` contains any of the secret values. */
export function containsSecret(text: string, secrets: ReadonlySet<string>): boolean {
    for (const s of secrets) {
        if (text.includes(s)) {
            return true;
        }
    }
    return false;
}

/**
 * A deep copy of `value` with the subtrees at `paths` and every string that contains a secret
 * value replaced by `replacement()`.
 */
export function redact(value: unknown, paths: readonly PathKey[][], secrets: ReadonlySet<string>, replacement: () => unknown): unknown {
    const whole = paths.some((p) => p.length === 0);
    if (whole) {
        return replacement();
    }
    if (typeof value === "string") {
        return containsSecret(value, secrets) ? replacement() : value;
    }
    if (Array.isArray(value)) {
        return value.map((v, i) => redact(v, childPaths(paths, i), secrets, replacement));
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, childPaths(paths, k), secrets, replacement)]));
    }
    return value;
}

function childPaths(paths: readonly PathKey[][], key: PathKey): PathKey[][] {
    return paths.filter((p) => p[0] === key).map((p) => p.slice(1));
}
