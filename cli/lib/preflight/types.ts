/**
 * What every preflight check gets and returns.
 */
import type { StackConfig } from "../stackConfig";
import type { GoogleClient } from "./google";
import type { StackModel, ValidatedConfig } from "./model";

/** The ids of the checks, in the order they are printed. */
export const CHECK_IDS = ["apis", "permissions", "accounts", "org-policies", "quotas", "dns", "kms", "state", "image"] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/**
 * `unchecked`: the check could not read what it needs (a permission it lacks, an API that is off,
 * an answer it cannot use), so it does not know. The runner turns it into `fail` unless the user
 * asked for a partial run (`--partial`): a check that cannot look must never pass as one that
 * looked.
 */
export type CheckStatus = "pass" | "fail" | "warn" | "unchecked";

/** The outcome of one check. */
export interface CheckResult {
    readonly id: CheckId;
    readonly status: CheckStatus;
    /** One line: what was asked and what Google answered. */
    readonly message: string;
    /** The exact command (or config change) that fixes a failure or warning; null when there is none. */
    readonly fix: string | null;
    /**
     * What the check could not read for lack of it, when it could not read (status `unchecked`, or
     * `fail` after the strict runner turned it): IAM permissions (`serviceusage.services.get`) or
     * APIs (`api:orgpolicy.googleapis.com`).
     */
    readonly lacks?: readonly string[];
}

/** Who the checks run as. */
export interface Identity {
    /** IAM member of the identity whose token is used (`user:…`, `serviceAccount:…`), when known. */
    readonly member?: string;
    /** How the token was obtained, for the summary line. */
    readonly source: string;
}

/** Everything a check may read. Checks never write: see docs/preflight.md. */
export interface CheckContext {
    readonly client: GoogleClient;
    readonly stack: StackConfig;
    readonly config: ValidatedConfig;
    /** The stack rendered under mocks (cli/lib/mockRuntime.ts), once per run. */
    readonly model: () => Promise<StackModel>;
    readonly identity: Identity;
    /** The Pulumi backend URL (`--backend` or `PULUMI_BACKEND_URL`), when known. */
    readonly backendUrl?: string;
}

/** One check. */
export type Check = (ctx: CheckContext) => Promise<CheckResult>;

/**
 * The result of a check that could not read: `lacks` names each permission (or `api:<service>`)
 * it lacked, and the message says so, so the failure in a strict run names what to grant.
 */
export function unchecked(id: CheckId, message: string, lacks: readonly string[], fix: string | null): CheckResult {
    return { id, status: "unchecked", message: `${message}; lacks ${lacks.join(", ")}`, fix, lacks: [...lacks] };
}

/** `--member` of a fix command: the identity's member, or a placeholder to fill in. */
export function memberOf(identity: Identity): string {
    return identity.member ?? "<member: user:you@example.com or serviceAccount:…>";
}
