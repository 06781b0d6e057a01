/**
 * Overrides of a stack's raw config map (fully-qualified key → string, as the CLI passes it), for
 * renders of a stack with a few keys changed: the tests' `renderStack` and the transition table
 * (maint/lib/transitions). Objects are deep-merged into the stack's value; `undefined` removes a
 * key (or, inside an object, a field); anything else replaces it.
 */

/** Fully-qualified config keys → override values. */
export type Overrides = Record<string, unknown>;

function deepMerge(base: unknown, patch: unknown): unknown {
    if (patch && typeof patch === "object" && !Array.isArray(patch) && base && typeof base === "object" && !Array.isArray(base)) {
        const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
        for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
            out[k] = deepMerge(out[k], v);
        }
        return out;
    }
    return patch;
}

/** `config` with `overrides` applied; structured values stay JSON-encoded, as the CLI stores them. */
export function applyOverrides(config: Readonly<Record<string, string>>, overrides: Overrides): Record<string, string> {
    const out = { ...config };
    for (const [key, value] of Object.entries(overrides)) {
        if (value === undefined) {
            delete out[key];
            continue;
        }
        const current = out[key];
        const parsed = current !== undefined && /^[{[]/.test(current) ? JSON.parse(current) : current;
        const merged = deepMerge(parsed, value);
        out[key] = typeof merged === "string" ? merged : JSON.stringify(merged);
    }
    return out;
}

/**
 * The secret keys of a stack with `overrides` applied: an override of `appSecrets` stands for
 * `pulumi config set --secret --path appSecrets.<NAME> …`, so its key and each entry's path are
 * marked secret, as the stack file's loader marks encrypted values (cli/lib/stackConfig.ts).
 * Without this, config.ts would refuse the entries as plain text.
 */
export function secretKeysWith(secretKeys: readonly string[], overrides: Overrides): string[] {
    const out = new Set(secretKeys);
    const key = "django-platform:appSecrets";
    const value = overrides[key];
    if (value && typeof value === "object" && !Array.isArray(value)) {
        out.add(key);
        for (const name of Object.keys(value)) {
            out.add(`${key}.${name}`);
        }
    }
    return [...out];
}

/**
 * The reference app's demo routes open to anonymous visitors (`app.demo.*`, off by default and in
 * both shipped stacks): for the local runs and the reliability lab, which upload files and queue
 * tasks through the site as a visitor would. A run that needs them says so with these overrides.
 */
export const OPEN_DEMO: Overrides = { "django-platform:app": { demo: { anonymousUploads: true, anonymousTasks: true } } };
