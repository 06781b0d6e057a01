/**
 * IAM member helpers shared by the storage and IAM/KMS policies.
 */
import { isUnknown, knownItems, knownString, read } from "./values";

/** Principals that mean "anyone". */
export const PUBLIC_MEMBERS: readonly string[] = ["allUsers", "allAuthenticatedUsers"];

/**
 * The known members of an IAM member (`member`) or binding (`members`) resource, and whether the
 * list is complete (no unknown entries).
 */
export function membersOf(props: Record<string, any>): { members: string[]; complete: boolean } {
    const single = read(() => props.member);
    if (single !== undefined) {
        const member = knownString(single);
        return { members: member === undefined ? [] : [member], complete: member !== undefined };
    }
    const list = read(() => props.members);
    const members = knownItems(list).filter((m): m is string => typeof m === "string" && !isUnknown(m));
    return { members, complete: !isUnknown(list) && members.length === (Array.isArray(list) ? list.length : 0) };
}

/** The known role of an IAM member or binding resource. */
export function roleOf(props: Record<string, any>): string | undefined {
    return knownString(read(() => props.role));
}
