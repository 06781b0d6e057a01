/**
 * What every preflight check gets and returns.
 */
import type { StackConfig } from "../stackConfig";
import type { GoogleClient } from "./google";
import type { StackModel, ValidatedConfig } from "./model";

/** The ids of the checks, in the order they are printed. */
export const CHECK_IDS = ["apis", "permissions", "org-policies", "quotas", "kms", "state", "image"] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export type CheckStatus = "pass" | "fail" | "warn";

/** The outcome of one check. */
export interface CheckResult {
    readonly id: CheckId;
    readonly status: CheckStatus;
    /** One line: what was asked and what Google answered. */
    readonly message: string;
    /** The exact command (or config change) that fixes a failure or warning; null when there is none. */
    readonly fix: string | null;
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
    /** The stack rendered under mocks (tools/lib/mockRuntime.ts), once per run. */
    readonly model: () => Promise<StackModel>;
    readonly identity: Identity;
    /** The Pulumi backend URL (`--backend` or `PULUMI_BACKEND_URL`), when known. */
    readonly backendUrl?: string;
}

/** One check. */
export type Check = (ctx: CheckContext) => Promise<CheckResult>;

/** `--member` of a fix command: the identity's member, or a placeholder to fill in. */
export function memberOf(identity: Identity): string {
    return identity.member ?? "<member: user:you@example.com or serviceAccount:…>";
}
