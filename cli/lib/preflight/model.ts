/**
 * The stack as `pulumi up` would create it: the real program (index.ts) rendered under Pulumi mocks
 * with the stack's config, exactly as `npm run synth` does (cli/lib/mockRuntime.ts), plus the
 * Google Cloud permission set synth puts in report.json (`permissions`, computed by
 * bootstrap/permissionTable.ts `permissionsFor` from the registered types and invokes).
 */
import type { PlatformConfig } from "../../../config";
import { kubernetesIamPermissions, permissionsFor, type PermissionSet } from "../../../bootstrap/permissionTable";
import type { CapturedInvoke, CapturedResource } from "../mockRuntime";
import type { StackConfig } from "../stackConfig";

/** The validated, defaulted config of the stack (config.ts `validateConfig`). */
export type ValidatedConfig = Omit<PlatformConfig, "appSecretOutputs">;

/** What the rendered program registers. */
export interface StackModel {
    readonly resources: readonly CapturedResource[];
    readonly invokes: readonly CapturedInvoke[];
    /** As in synth's report.json: permissionsFor(registered types, invoked functions). */
    readonly permissions: PermissionSet;
}

/** Renders `program` with the stack's config under mocks. Loads Pulumi only when called. */
export async function renderModel(stack: StackConfig, program: string): Promise<StackModel> {
    const { runProgram } = await import("../mockRuntime");
    const capture = await runProgram({ project: stack.project, stack: stack.stack, config: stack.config, secretKeys: stack.secretKeys, program });
    return {
        resources: capture.resources,
        invokes: capture.invokes,
        permissions: permissionsFor({ resources: capture.resources.map((r) => r.type), invokes: capture.invokes.map((i) => i.token) }),
    };
}

/** The custom resources of one type token. */
export function ofType(model: StackModel, type: string): CapturedResource[] {
    return model.resources.filter((r) => r.custom && r.type === type);
}

/**
 * The GKE IAM permissions (`container.*`) the Kubernetes objects of the stack need, which the
 * deployer gets through `roles/container.developer` (bootstrap/permissionTable.ts
 * `kubernetesIamPermissions`).
 */
export function kubernetesPermissions(model: StackModel): string[] {
    const out = new Set<string>();
    for (const type of new Set(model.resources.filter((r) => r.custom && /^kubernetes:[^:]+\/[^/:]+:[A-Za-z]+$/.test(r.type)).map((r) => r.type))) {
        const { write, read } = kubernetesIamPermissions(type);
        for (const p of [...write, ...read]) {
            out.add(p);
        }
    }
    return [...out].sort();
}
