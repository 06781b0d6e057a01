/**
 * `accounts`: do the Google service accounts the stack runs as exist, and may the identity do on
 * each what `pulumi up` does there? The IAM step (`iam/`, run by a person) creates them and grants
 * the stack's deployer its rights on them; the main program only looks them up
 * (components/identities.ts lists them, one list for both). A stack whose IAM step has not run
 * (a new stack, a new worker, a switch to the Auth Proxy) fails here with the command, not twenty
 * minutes into `pulumi up`.
 *
 * - IAM `projects.serviceAccounts.get`
 *   (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/get):
 *   GET https://iam.googleapis.com/v1/projects/<p>/serviceAccounts/<email> answers the account, 404
 *   when it does not exist. Needs `iam.serviceAccounts.get` (in the stack deploy role, which the
 *   program's lookups need anyway).
 * - `projects.serviceAccounts.testIamPermissions`
 *   (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts/testIamPermissions):
 *   POST …/serviceAccounts/<email>:testIamPermissions `{"permissions": […]}` answers the subset the
 *   caller holds on that account; it needs no permission. Asked: on each pod account what its
 *   Workload Identity binding needs (bootstrap/deployerRoles.ts `podBinderPermissions`), on the
 *   nodes' account `iam.serviceAccounts.actAs` (creating or updating the cluster with it).
 */
import { podBinderPermissions } from "../../../bootstrap/deployerRoles";
import { permissionOf } from "../../../bootstrap/preflightReads";
import { stackIdentities } from "../../../components/identities";
import { describeError, disabledService } from "./google";
import type { CheckContext, CheckResult } from "./types";
import { unchecked } from "./types";

/** The IAM step's command for the stack. */
function runIamStep(stack: string): string {
    return `pulumi -C iam up --stack ${stack}`;
}

export async function checkAccounts(ctx: CheckContext): Promise<CheckResult> {
    const ids = stackIdentities(ctx.config);
    const wanted = [
        ...ids.pods.map((p) => ({ what: p.role, email: p.email, permissions: podBinderPermissions() })),
        ...(ids.nodes ? [{ what: "nodes", email: ids.nodes.email, permissions: ["iam.serviceAccounts.actAs"] }] : []),
    ];
    const who = ctx.identity.member ?? "the caller";
    const missing: string[] = [];
    const lacking: string[] = [];
    for (const account of wanted) {
        const url = `https://iam.googleapis.com/v1/projects/${ids.project}/serviceAccounts/${encodeURIComponent(account.email)}`;
        const res = await ctx.client.get<{ email?: string }>(url);
        if (res.status === 404) {
            missing.push(account.email);
            continue;
        }
        if (!res.ok) {
            const disabled = disabledService(res);
            if (disabled) {
                return unchecked("accounts", `cannot look the stack's service accounts up: ${disabled} is disabled in ${ids.project} (${describeError(res)})`, [`api:${disabled}`], `gcloud services enable iam.googleapis.com --project ${ids.project}`);
            }
            if (res.status === 403) {
                return unchecked("accounts", `cannot look ${account.email} up (${describeError(res)})`, [permissionOf("iam.projects.serviceAccounts.get")], "(cd bootstrap && pulumi up): the stack deploy role holds iam.serviceAccounts.get");
            }
            return { id: "accounts", status: "unchecked", message: `looking ${account.email} up failed (${describeError(res)})`, fix: null };
        }
        const test = await ctx.client.post<{ permissions?: string[] }>(`${url}:testIamPermissions`, { permissions: account.permissions });
        if (!test.ok) {
            return { id: "accounts", status: "unchecked", message: `${account.email} exists; testIamPermissions on it failed (${describeError(test)})`, fix: null };
        }
        const granted = new Set(test.body?.permissions ?? []);
        const absent = account.permissions.filter((p) => !granted.has(p));
        if (absent.length > 0) {
            lacking.push(`${absent.join(", ")} on ${account.email} (${account.what})`);
        }
    }
    if (missing.length > 0) {
        return {
            id: "accounts",
            status: "fail",
            message: `${missing.length} of ${wanted.length} service accounts stack ${ids.stack} runs as do not exist: ${missing.join(", ")}. The IAM step creates them (a new stack, a new worker: run it before pulumi up)`,
            fix: runIamStep(ids.stack),
        };
    }
    if (lacking.length > 0) {
        return {
            id: "accounts",
            status: "fail",
            message: `${who} lacks ${lacking.join("; ")}, which pulumi up of ${ids.stack} uses; the IAM step grants them to the stack's deployer only`,
            fix: runIamStep(ids.stack),
        };
    }
    return {
        id: "accounts",
        status: "pass",
        message: `all ${wanted.length} service accounts of ${ids.stack} exist (${wanted.map((a) => a.what).join(", ")}); ${who} may bind the pod accounts${ids.nodes ? " and act as the nodes' account" : ""}`,
        fix: null,
    };
}
