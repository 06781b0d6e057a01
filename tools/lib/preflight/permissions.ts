/**
 * `permissions`: does the identity have every Google Cloud permission `pulumi up` of this stack
 * calls, on the stack's project?
 *
 * The permission set is the one synth reports (report.json `permissions`): bootstrap/permissionTable.ts
 * `permissionsFor` over the types and invokes of THIS stack rendered under mocks — the deployer's
 * custom role (`deployer`), the conditional IAM granter role (`iamGranter`) — plus the GKE
 * permissions (`container.*`) of its Kubernetes objects, which the deployer gets through
 * roles/container.developer. Destroy-only permissions are not asked for (the deployer lacks them
 * on purpose).
 *
 * Cloud Resource Manager `projects.testIamPermissions`
 * (https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions):
 * POST https://cloudresourcemanager.googleapis.com/v1/projects/<p>:testIamPermissions
 * `{"permissions": […]}` answers `{"permissions": [the subset the CALLER has]}`; it needs no
 * permission itself. At most 100 permissions per request: the REST reference states no maximum,
 * but the API refuses longer lists and clients batch by 100 (e.g. rigup/ephemeral-iam
 * internal/gcpclient: "TestIamPermissions accepts a max of 100 permissions at a time").
 */
import { describeError, disabledService, chunks } from "./google";
import { kubernetesPermissions } from "./model";
import type { CheckContext, CheckResult } from "./types";
import { memberOf } from "./types";

/** Permissions per testIamPermissions request. */
export const TEST_IAM_MAX = 100;

/** The custom role ids the bootstrap creates in each stack project (bootstrap/deployer.ts, default prefix `djangoPlatform`). */
export const DEPLOYER_ROLE_ID = "djangoPlatformDeployer";
export const IAM_GRANTER_ROLE_ID = "djangoPlatformIamGranter";
export const CONTAINER_ROLE = "roles/container.developer";

/** The permissions `projects/<p>` grants the caller, out of `wanted`, in batches of {@link TEST_IAM_MAX}. */
export async function testProjectPermissions(ctx: CheckContext, project: string, wanted: readonly string[]): Promise<{ granted: Set<string> } | { error: CheckResult }> {
    const granted = new Set<string>();
    for (const batch of chunks(wanted, TEST_IAM_MAX)) {
        const res = await ctx.client.post<{ permissions?: string[] }>(`https://cloudresourcemanager.googleapis.com/v1/projects/${project}:testIamPermissions`, { permissions: batch });
        if (!res.ok) {
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
            return { error: { id: "permissions", status: "warn", message: `testIamPermissions on ${project} failed (${describeError(res)}); permissions not checked`, fix: null } };
        }
        for (const p of res.body?.permissions ?? []) {
            granted.add(p);
        }
    }
    return { granted };
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
        { label: `conditional role projects/${project}/roles/${IAM_GRANTER_ROLE_ID}`, role: `projects/${project}/roles/${IAM_GRANTER_ROLE_ID}`, perms: set.iamGranter },
        { label: CONTAINER_ROLE, role: CONTAINER_ROLE, perms: container },
    ];
    const wanted = [...new Set(groups.flatMap((g) => g.perms))].sort();
    const tested = await testProjectPermissions(ctx, project, wanted);
    if ("error" in tested) {
        return tested.error;
    }
    const who = ctx.identity.member ?? "the caller";
    const missingByGroup = groups.map((g) => ({ ...g, missing: g.perms.filter((p) => !tested.granted.has(p)) })).filter((g) => g.missing.length > 0);
    if (missingByGroup.length > 0) {
        const total = new Set(missingByGroup.flatMap((g) => g.missing)).size;
        const member = memberOf(ctx.identity);
        const fixes = missingByGroup.map((g) =>
            g.role.endsWith(IAM_GRANTER_ROLE_ID)
                ? "(cd bootstrap && pulumi up)"
                : `gcloud projects add-iam-policy-binding ${project} --member=${member} --role=${g.role}`,
        );
        return {
            id: "permissions",
            status: "fail",
            message:
                `${who} lacks ${total} of ${wanted.length} permissions this stack's pulumi up calls on ${project}: ` +
                missingByGroup.map((g) => `${listed(g.missing)} (granted by ${g.label}${g.role.endsWith(IAM_GRANTER_ROLE_ID) ? ", bound with a condition only the bootstrap writes" : ""})`).join("; ") +
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
        message: `${who} has all ${wanted.length} permissions this stack's pulumi up calls on ${project} (${set.deployer.length} custom role, ${set.iamGranter.length} IAM granter, ${container.length} ${CONTAINER_ROLE}; ${set.types.length} types)`,
        fix: null,
    };
}
