/**
 * Where preflight's access token comes from, and whose it is.
 *
 * 1. `GOOGLE_OAUTH_ACCESS_TOKEN`, the Google provider's own variable (Pulumi's gcp provider and
 *    Terraform's read it), so preflight can check exactly the token a `pulumi up` would use;
 * 2. else `gcloud auth print-access-token` (the gcloud CLI's active account).
 *
 * `--principal serviceAccount:<email>` then trades that token for one of the service account
 * (IAM Credentials `generateAccessToken`, what `gcloud auth print-access-token
 * --impersonate-service-account` does), so every check runs with the deployer's own rights.
 */
import { spawnSync } from "node:child_process";
import { AuthError, type GoogleClient } from "./google";
import type { Identity } from "./types";

/** What to run when no token is in the environment. */
export const GCLOUD_TOKEN_COMMAND = ["gcloud", "auth", "print-access-token"] as const;

/** How to get credentials, for every "no credentials" message. */
export const LOGIN_HELP =
    "Fix: `gcloud auth login` (then preflight runs `gcloud auth print-access-token`), or set GOOGLE_OAUTH_ACCESS_TOKEN, e.g. " +
    "`gcloud auth application-default login` and `export GOOGLE_OAUTH_ACCESS_TOKEN=$(gcloud auth application-default print-access-token)` to check the identity Pulumi uses.";

/** A usage error in `--principal`: exit 2. */
export class PrincipalError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PrincipalError";
    }
}

/** A token and where it came from. */
export interface Token {
    readonly token: string;
    readonly source: string;
}

/** Runs a command and returns its exit status, stdout and stderr (`error` when it could not start). */
export type Runner = (command: string, args: readonly string[]) => { status: number | null; stdout: string; stderr: string; error?: NodeJS.ErrnoException };

const defaultRunner: Runner = (command, args) => {
    const r = spawnSync(command, args, { encoding: "utf8", timeout: 60_000 });
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error as NodeJS.ErrnoException | undefined };
};

/**
 * The caller's token: `GOOGLE_OAUTH_ACCESS_TOKEN`, else `gcloud auth print-access-token`.
 * @throws AuthError when neither gives one.
 */
export function resolveToken(env: Readonly<Record<string, string | undefined>>, run: Runner = defaultRunner): Token {
    const fromEnv = env.GOOGLE_OAUTH_ACCESS_TOKEN?.trim();
    if (fromEnv) {
        return { token: fromEnv, source: "GOOGLE_OAUTH_ACCESS_TOKEN" };
    }
    const [command, ...args] = GCLOUD_TOKEN_COMMAND;
    const r = run(command, args);
    if (r.error) {
        const why = r.error.code === "ENOENT" ? "gcloud is not installed or not on PATH" : `\`${GCLOUD_TOKEN_COMMAND.join(" ")}\` could not run (${r.error.message})`;
        throw new AuthError(`no Google credentials: GOOGLE_OAUTH_ACCESS_TOKEN is not set and ${why}. ${LOGIN_HELP}`);
    }
    const token = r.stdout.trim().split("\n").pop()?.trim() ?? "";
    if (r.status !== 0 || !token) {
        const lines = r.stderr.split("\n").map((l) => l.trim()).filter(Boolean);
        const detail = lines.find((l) => l.startsWith("ERROR:")) ?? lines[0] ?? `exit status ${r.status}`;
        throw new AuthError(`no Google credentials: \`${GCLOUD_TOKEN_COMMAND.join(" ")}\` failed (${detail}). ${LOGIN_HELP}`);
    }
    return { token, source: "gcloud auth print-access-token" };
}

/** `user:` or `serviceAccount:` for an email. */
export function memberForEmail(email: string): string {
    return /\.gserviceaccount\.com$/.test(email) ? `serviceAccount:${email}` : `user:${email}`;
}

/**
 * Who the token belongs to, from Google's tokeninfo endpoint
 * ("Access tokens" in https://cloud.google.com/docs/authentication/token-types :
 * GET https://oauth2.googleapis.com/tokeninfo?access_token=…, answering `{"azp", "aud", "scope", "exp",
 * "expires_in", "email", "email_verified"}`,
 * HTTP 400 `{"error": "invalid_token"}` for an unknown or expired token).
 * @throws AuthError when Google says the token is invalid or expired.
 */
export async function tokenInfo(client: GoogleClient, token: string): Promise<{ email?: string }> {
    const res = await client.get<{ email?: string; error?: string; error_description?: string }>("https://oauth2.googleapis.com/tokeninfo", { access_token: token });
    if (res.status === 400 || (res.body as { error?: unknown } | undefined)?.error === "invalid_token") {
        throw new AuthError(`Google says the access token is invalid or expired (tokeninfo: ${res.body?.error_description ?? res.body?.error ?? `HTTP ${res.status}`}). ${LOGIN_HELP}`);
    }
    return res.ok && typeof res.body?.email === "string" ? { email: res.body.email } : {};
}

/**
 * The service account email of `--principal`: `serviceAccount:<email>` or a bare
 * `…gserviceaccount.com` email.
 * @throws PrincipalError for users, groups and anything else: Google offers no way to test another
 *   user's permissions without their credentials (Resource Manager's testIamPermissions tests the
 *   caller), see docs/preflight.md.
 */
export function principalServiceAccount(principal: string): string {
    const email = principal.replace(/^serviceAccount:/, "");
    if (/^[a-z0-9-]+@[a-z0-9.:-]+\.gserviceaccount\.com$/.test(email)) {
        return email;
    }
    throw new PrincipalError(
        `--principal ${principal}: only a service account (serviceAccount:<name>@<project>.iam.gserviceaccount.com) can be checked, by impersonating it. ` +
            "Google's testIamPermissions only tests the caller, so a user must run preflight with their own credentials (drop --principal). " +
            "To explain one permission of a user or group, use `gcloud policy-intelligence troubleshoot-policy iam <resource> --principal-email=<email> --permission=<permission>`.",
    );
}

/**
 * A short-lived token of `serviceAccount` (IAM Credentials API
 * projects.serviceAccounts.generateAccessToken,
 * https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken).
 * Needs `iam.serviceAccounts.getAccessToken` on the account (roles/iam.serviceAccountTokenCreator).
 * @throws AuthError when the caller may not impersonate it or it does not exist.
 */
export async function impersonate(client: GoogleClient, serviceAccount: string, caller: Identity): Promise<string> {
    const res = await client.post<{ accessToken?: string; expireTime?: string }>(
        `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${encodeURIComponent(serviceAccount)}:generateAccessToken`,
        { scope: ["https://www.googleapis.com/auth/cloud-platform"], lifetime: "900s" },
    );
    if (res.ok && res.body?.accessToken) {
        return res.body.accessToken;
    }
    const member = caller.member ?? "<your member>";
    const why =
        res.status === 404
            ? "the service account does not exist"
            : res.status === 403
              ? `you (${caller.member ?? "the caller"}) may not impersonate it; that needs iam.serviceAccounts.getAccessToken (roles/iam.serviceAccountTokenCreator) on the account. Fix: \`gcloud iam service-accounts add-iam-policy-binding ${serviceAccount} --member=${member} --role=roles/iam.serviceAccountTokenCreator\``
              : `HTTP ${res.status}${res.error?.message ? `: ${res.error.message}` : ""}`;
    throw new AuthError(`cannot act as ${serviceAccount} (generateAccessToken): ${why}.`);
}
