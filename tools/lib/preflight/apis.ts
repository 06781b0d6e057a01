/**
 * `apis`: are the APIs the stack needs enabled in its project?
 *
 * Service Usage `services.batchGet`
 * (https://cloud.google.com/service-usage/docs/reference/rest/v1/services/batchGet):
 * GET https://serviceusage.googleapis.com/v1/projects/<p>/services:batchGet?names=projects/<p>/services/<api>…,
 * at most 30 names per request (the reference's limit), answering
 * `{"services": [{"name": "projects/<number>/services/<api>", "config": {"name": "<api>"}, "state": "ENABLED" | "DISABLED"}]}`.
 * Needs `serviceusage.services.get` (roles/serviceusage.serviceUsageViewer).
 */
import { STACK_APIS } from "../../../bootstrap/requiredApis";
import { permissionOf } from "../../../bootstrap/preflightReads";
import { chunks, describeError, disabledService } from "./google";
import type { ValidatedConfig } from "./model";
import { unchecked, type CheckContext, type CheckResult } from "./types";

/** The reference's maximum of names per batchGet. */
export const BATCH_GET_MAX = 30;

/** The APIs the stack needs: bootstrap/requiredApis.ts STACK_APIS plus what its config implies. */
export function requiredApis(config: ValidatedConfig): string[] {
    const implied: string[] = [];
    if (config.cache.mode === "memorystore") {
        implied.push("redis.googleapis.com");
    }
    return [...new Set([...STACK_APIS, ...implied])].sort();
}

interface Service {
    readonly name?: string;
    readonly config?: { readonly name?: string };
    readonly state?: string;
}

export async function checkApis(ctx: CheckContext): Promise<CheckResult> {
    const project = ctx.config.project;
    const needed = requiredApis(ctx.config);
    const enabled = new Set<string>();
    for (const batch of chunks(needed, BATCH_GET_MAX)) {
        const res = await ctx.client.get<{ services?: Service[] }>(`https://serviceusage.googleapis.com/v1/projects/${project}/services:batchGet`, {
            names: batch.map((api) => `projects/${project}/services/${api}`),
        });
        if (!res.ok) {
            const disabled = disabledService(res);
            if (disabled) {
                return {
                    id: "apis",
                    status: "fail",
                    message: `cannot list the APIs of ${project}: ${disabled} itself is disabled there (${describeError(res)})`,
                    fix: `gcloud services enable serviceusage.googleapis.com --project ${project}`,
                };
            }
            const permission = permissionOf("serviceusage.services.batchGet");
            if (res.status === 403 || res.status === 404) {
                return unchecked(
                    "apis",
                    `could not read which APIs are enabled in ${project} (${describeError(res)}); not checked: ${needed.join(", ")}`,
                    [permission],
                    `gcloud projects add-iam-policy-binding ${project} --member=${ctx.identity.member ?? "<member>"} --role=roles/serviceusage.serviceUsageViewer (or re-run the bootstrap, whose preflight role holds ${permission})`,
                );
            }
            return { id: "apis", status: "unchecked", message: `services.batchGet on ${project} failed (${describeError(res)}); not checked: ${needed.join(", ")}`, fix: null };
        }
        for (const s of res.body?.services ?? []) {
            const api = s.config?.name ?? s.name?.split("/").pop();
            if (api && s.state === "ENABLED") {
                enabled.add(api);
            }
        }
    }
    const missing = needed.filter((api) => !enabled.has(api));
    if (missing.length > 0) {
        return {
            id: "apis",
            status: "fail",
            message: `${missing.length} of ${needed.length} APIs the stack needs are not enabled in ${project}: ${missing.join(", ")}`,
            fix: `gcloud services enable ${missing.join(" ")} --project ${project}`,
        };
    }
    return { id: "apis", status: "pass", message: `all ${needed.length} APIs the stack needs are enabled in ${project}`, fix: null };
}
