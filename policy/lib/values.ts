/**
 * Reading resource properties that may be unknown during `pulumi preview`.
 *
 * CrossGuard hands policies a proxy over the resource's properties that throws `UnknownValueError`
 * when a policy touches a value the engine cannot know yet (an id, a generated name…). Left
 * unhandled, that error turns the whole policy into a "can't run during preview" note, which would
 * hide a violation in a property that *is* known. So every read goes through {@link read} (one
 * value) or {@link knownItems} / {@link knownEntries} (collections): an unknown becomes
 * {@link UNKNOWN} for that one check, and the other checks go on.
 */
import * as policySdk from "@pulumi/policy";

/**
 * CrossGuard's own proxy and error (exported by @pulumi/policy at runtime, but without types):
 * reading an unknown property through the proxy throws `UnknownValueError`.
 */
export const { unknownCheckingProxy, UnknownValueError } = policySdk as unknown as {
    unknownCheckingProxy<T extends object>(props: T): T;
    UnknownValueError: new (...args: never[]) => Error;
};

/** Marks a value that is not known until the resource is created. */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
/** The type of {@link UNKNOWN}. */
export type Unknown = typeof UNKNOWN;

/** The sentinels the Pulumi engine puts in place of unknown values (strings, numbers, lists…). */
const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

/** The engine's sentinel for an unknown string, as it appears in previews and offline exports. */
export const UNKNOWN_STRING_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True for {@link UNKNOWN} and for a raw engine sentinel that was not caught by a proxy. */
export function isUnknown(value: unknown): value is Unknown {
    return value === UNKNOWN || (typeof value === "string" && UNKNOWN_SENTINELS.has(value));
}

/**
 * Evaluates `get` and returns its value, or {@link UNKNOWN} when any step of the access path is
 * unknown. Only unknown-value errors are caught; real bugs still throw.
 *
 * @example read(() => props.settings?.ipConfiguration?.ipv4Enabled)
 */
export function read<T>(get: () => T): T | Unknown {
    try {
        const value = get();
        return isUnknown(value) ? UNKNOWN : value;
    } catch (err) {
        if (err instanceof UnknownValueError) {
            return UNKNOWN;
        }
        throw err;
    }
}

/**
 * The readable elements of a list. An unknown list gives none; unknown elements are skipped, so a
 * violation in a known element is still reported.
 */
export function knownItems<T>(list: T[] | readonly T[] | undefined | null | Unknown): T[] {
    if (list === undefined || list === null || isUnknown(list) || !Array.isArray(list)) {
        return [];
    }
    const items: T[] = [];
    for (let i = 0; i < list.length; i++) {
        const item = read(() => list[i]);
        if (!isUnknown(item)) {
            items.push(item);
        }
    }
    return items;
}

/** The readable `[key, value]` pairs of a map such as `labels` or `data`. */
export function knownEntries<T>(map: Record<string, T> | undefined | null | Unknown): [string, T][] {
    if (map === undefined || map === null || isUnknown(map) || typeof map !== "object") {
        return [];
    }
    const entries: [string, T][] = [];
    for (const key of Object.keys(map)) {
        const value = read(() => map[key]);
        if (!isUnknown(value)) {
            entries.push([key, value]);
        }
    }
    return entries;
}

/** True for `undefined` and `null`: the property is not set. */
export function isUnset(value: unknown): value is undefined | null {
    return value === undefined || value === null;
}

/** A known string, or `undefined` when the value is unset, unknown or not a string. */
export function knownString(value: unknown): string | undefined {
    return typeof value === "string" && !isUnknown(value) ? value : undefined;
}

/**
 * Wraps raw properties in CrossGuard's unknown-checking proxy unless they already are. Policies
 * called outside the engine (tests, the offline runner) then behave exactly as under CrossGuard.
 */
export function guarded<T extends object>(props: T): T {
    const marker = (props as Record<string, unknown>).__isSpecialProxy;
    return marker === true ? props : unknownCheckingProxy(props);
}

/** Renders a value for a violation message: strings quoted, objects as JSON. */
export function show(value: unknown): string {
    if (value === undefined) {
        return "unset";
    }
    if (isUnknown(value)) {
        return "unknown";
    }
    return JSON.stringify(value);
}
