/**
 * Names derived from user-chosen worker and schedule names, as pure functions: Kubernetes object
 * names and Google service account ids, which have different length limits.
 */
import { createHash } from "node:crypto";

/**
 * Worker and schedule names: a DNS label (RFC 1123, as Kubernetes names and label values need) of
 * at most {@link MAX_COMPONENT_NAME_LENGTH} characters, so `<stack>-worker-<name>` style names stay
 * readable. Service account ids are derived separately ({@link serviceAccountId}).
 */
export const COMPONENT_NAME = /^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/;
export const MAX_COMPONENT_NAME_LENGTH = 20;

/**
 * Google service account ids: "must be 6-30 characters long, and match the regular expression
 * [a-z]([-a-z0-9]*[a-z0-9]) to comply with RFC1035" (`account_id`: `validateRFC1035Name(6, 30)` in
 * https://github.com/hashicorp/terraform-provider-google/blob/main/google/services/resourcemanager/resource_google_service_account.go).
 */
export const SERVICE_ACCOUNT_ID = /^[a-z]([-a-z0-9]{4,28})[a-z0-9]$/;

/**
 * A valid service account id from a readable `candidate`: the candidate itself when it fits in 30
 * characters; otherwise its head cut to fit plus a 6-character hash of the whole candidate, so two
 * long candidates never collide and the same candidate always gives the same id (ids are
 * immutable: a changed id would replace the account and its grants).
 */
export function boundedAccountId(candidate: string): string {
    const clean = candidate.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/-+/g, "-");
    if (clean.length <= 30 && SERVICE_ACCOUNT_ID.test(clean)) {
        return clean;
    }
    const hash = createHash("sha256").update(clean).digest("hex").slice(0, 6);
    const head = clean.slice(0, 30 - hash.length - 1).replace(/-+$/, "");
    return `${head}-${hash}`;
}

/**
 * The Google service account id of one identity of a stack: `dj-<stack>-<role>` when that fits in
 * 30 characters, else {@link boundedAccountId}'s hashed form.
 */
export function serviceAccountId(stack: string, role: string): string {
    return boundedAccountId(`dj-${stack}-${role}`);
}
