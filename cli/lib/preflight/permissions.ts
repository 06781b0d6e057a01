/**
 * `permissions`: does the identity have every Google Cloud permission `pulumi up` of this stack
 * calls, on the stack's project?
 *
 * The permission set is the one synth reports (report.json `permissions`): bootstrap/permissionTable.ts
 * `permissionsFor` over the types and invokes of THIS stack rendered under mocks — the stack deploy
 * role (`deployer`) — plus the GKE permissions (`container.*`) of its Kubernetes objects, which the
 * deployer gets through roles/container.developer. Destroy-only permissions are not asked for (the
 * deployer lacks them on purpose). Neither are the permissions of the conditional resource-IAM role
 * (`resourceIam`): Google grants them on the stack's own buckets and Secrets key only, so the
 * project answers no for them; nor those granted on single service accounts, which the `accounts`
 * check asks each account (cli/lib/preflight/accounts.ts).
 *
 * Cloud Resource Manager `projects.testIamPermissions`
 * (https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions):
 * POST https://cloudresourcemanager.googleapis.com/v1/projects/<p>:testIamPermissions
 * `{"permissions": […]}` answers `{"permissions": [the subset the CALLER has]}`; it needs no
 * permission itself. The REST reference states no maximum number of permissions per request; the
 * only source for a limit of 100 is a third-party code comment (rigup/ephemeral-iam
 * internal/gcpclient: "TestIamPermissions accepts a max of 100 permissions at a time"), unverified.
 * Batching by 100 is safe either way, so requests carry at most {@link TEST_IAM_MAX}.
 * One permission Google does not know fails the whole request with HTTP 400 ("the back-end raises
 * 400 errors if one passes an unknown permission string to testIamPermissions",
 * googleapis/google-cloud-python#1776): a 400 batch is split until the unknown names are found, and
 * the check fails naming them (a custom role holding them could not be created either).
 */
import { ROLE_IDS } from "../../../bootstrap/ciNames";
import { describeError, disabledService, chunks } from "./google";
import { kubernetesPermissions } from "./model";
import type { CheckContext, CheckResult } from "./types";
import { memberOf } from "./types";

/** Testing one batch: the granted subset, Google's 400 for a list with an unknown permission, or another answer. */
type BatchAnswer = { granted: string[] } | { invalid: true } | { error: CheckResult };

/** Permissions per testIamPermissions request. */
export const TEST_IAM_MAX = 100;

/** The custom role id of the stack deploy role the bootstrap creates in each stack project (bootstrap/stackProject.ts). */
export const DEPLOYER_ROLE_ID = ROLE_IDS.deploy;
export const CONTAINER_ROLE = "roles/container.developer";

/**
 * The permissions `projects/<p>` grants the caller, out of `wanted`, in batches of
 * {@link TEST_IAM_MAX}; `unknown` lists permissions Google refused as invalid (HTTP 400), found by
 * splitting the refused batch.
 */
export async function testProjectPermissions(ctx: CheckContext, project: string, wanted: readonly string[]): Promise<{ granted: Set<string>; unknown: string[] } | { error: CheckResult }> {
    const granted = new Set<string>();
    const unknown: string[] = [];
    const ask = async (batch: readonly string[]): Promise<BatchAnswer> => {
        const res = await ctx.client.post<{ permissions?: string[] }>(`https://cloudresourcemanager.googleapis.com/v1/projects/${project}:testIamPermissions`, { permissions: batch });
        if (res.ok) {
            return { granted: res.body?.permissions ?? [] };
        }
        if (res.status === 400) {
            return { invalid: true };
        }
        const disabled = disabledService(res);
        if (disabled) {
            return { error: { id: "permissions", status: "fail", message: `cannot test permissions: ${disabled} is disabled (${describeError(res)})`, fix: `gcloud services enable cloudresourcemanager.googleapis.com --project ${project}` } };
        }
        if (res.status === 403 || res.status === 404) {
            return {
                error: {
                    id: "permissions",
                    status: "fail",
                    message: `${memberOf(ctx.identity)} cannot see project ${project} at all (${describeError(res)}): it does not exist, or the identity has no role on it`,
                    fix: `gcloud projects add-iam-policy-binding ${project} --member=${memberOf(ctx.identity)} --role=projects/${project}/roles/${DEPLOYER_ROLE_ID}`,
                },
            };
        }
        return { error: { id: "permissions", status: "unchecked", message: `testIamPermissions on ${project} failed (${describeError(res)}); permissions not checked`, fix: null } };
    };
    /** Tests `batch`; on a 400, tests its halves, down to the single unknown permissions. */
    const test = async (batch: readonly string[]): Promise<CheckResult | undefined> => {
        const answer = await ask(batch);
        if ("error" in answer) {
            return answer.error;
        }
        if ("granted" in answer) {
            answer.granted.forEach((p) => granted.add(p));
            return undefined;
        }
        if (batch.length === 1) {
            unknown.push(batch[0]);
            return undefined;
        }
        const middle = Math.ceil(batch.length / 2);
        return (await test(batch.slice(0, middle))) ?? (await test(batch.slice(middle)));
    };
    for (const batch of chunks(wanted, TEST_IAM_MAX)) {
        const error = await test(batch);
        if (error) {
            return { error };
        }
    }
    return { granted, unknown };
}

function listed(perms: readonly string[], max = 20): string {
    return perms.length <= max ? perms.join(", ") : `${perms.slice(0, max).join(", ")} and ${perms.length - max} more`;
}

export async function checkPermissions(ctx: CheckContext): Promise<CheckResult> {
    const project = ctx.config.project;
    const model = await ctx.model();
    const set = model.permissions;
    const container = set.predefinedRoles.includes(CONTAINER_ROLE) ? kubernetesPermissions(model) : [];
    const groups = [
        { label: `custom role projects/${project}/roles/${DEPLOYER_ROLE_ID}`, role: `projects/${project}/roles/${DEPLOYER_ROLE_ID}`, perms: set.deployer },
        { label: CONTAINER_ROLE, role: CONTAINER_ROLE, perms: container },
    ];
    const wanted = [...new Set(groups.flatMap((g) => g.perms))].sort();
    const tested = await testProjectPermissions(ctx, project, wanted);
    if ("error" in tested) {
        return tested.error;
    }
    const who = ctx.identity.member ?? "the caller";
    if (tested.unknown.length > 0) {
        return {
            id: "permissions",
            status: "fail",
            message: `Google does not know ${tested.unknown.join(", ")} (HTTP 400 INVALID_ARGUMENT from testIamPermissions): bootstrap/permissionTable.ts names a permission that does not exist, so the bootstrap could not create the deployer role with it either`,
            fix: "correct the row in bootstrap/permissionTable.ts (the test in tests/deployer-permissions.test.ts checks names against Google's predefined roles), then `npm run gen:deployer-types`",
        };
    }
    const missingByGroup = groups.map((g) => ({ ...g, missing: g.perms.filter((p) => !tested.granted.has(p)) })).filter((g) => g.missing.length > 0);
    if (missingByGroup.length > 0) {
        const total = new Set(missingByGroup.flatMap((g) => g.missing)).size;
        const member = memberOf(ctx.identity);
        const fixes = missingByGroup.map((g) => `gcloud projects add-iam-policy-binding ${project} --member=${member} --role=${g.role}`);
        return {
            id: "permissions",
            status: "fail",
            message:
                `${who} lacks ${total} of ${wanted.length} permissions this stack's pulumi up calls on ${project}: ` +
                missingByGroup.map((g) => `${listed(g.missing)} (granted by ${g.label})`).join("; ") +
                `. If the identity already has the custom role, the role is older than the program: re-run the bootstrap (cd bootstrap && pulumi up) to update it`,
            fix: [...new Set(fixes)].join(" && "),
        };
    }
    if (set.missing.length > 0) {
        return {
            id: "permissions",
            status: "warn",
            message: `${who} has all ${wanted.length} known permissions on ${project}, but bootstrap/permissionTable.ts has no row for ${set.missing.join(", ")}, whose permissions are unknown`,
            fix: "add the rows to bootstrap/permissionTable.ts, then `npm run gen:deployer-types`",
        };
    }
    return {
        id: "permissions",
        status: "pass",
        message:
            `${who} has all ${wanted.length} permissions this stack's pulumi up calls on ${project} (${set.deployer.length} custom role, ${container.length} ${CONTAINER_ROLE}; ${set.types.length} types)` +
            (set.resourceIam.length > 0 ? `; the ${set.resourceIam.length} of the conditional resource-IAM role apply to the stack's own buckets and Secrets key only, which the project does not answer for` : ""),
        fix: null,
    };
}
