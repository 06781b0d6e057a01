/**
 * `apis`: are the APIs the stack needs enabled, in every project it uses?
 *
 * What is needed comes from the stack rendered offline (the same render as `npm run synth`, whose
 * report.json lists it as `apis`): bootstrap/apiTable.ts `apisForGraph` maps each resource type to
 * the service its provider calls, in the project the resource lives in (the stack's, the image
 * registry's, the DNS zone's), plus the services the rendered objects use at run time (Workload
 * Identity → STS and IAM Credentials, the Auth Proxy → Cloud SQL Admin, …). One mechanism for
 * synth, preflight and the bootstrap; no list kept by hand.
 *
 * Service Usage `services.batchGet`
 * (https://cloud.google.com/service-usage/docs/reference/rest/v1/services/batchGet):
 * GET https://serviceusage.googleapis.com/v1/projects/<p>/services:batchGet?names=projects/<p>/services/<api>…,
 * at most 30 names per request (the reference's limit), answering
 * `{"services": [{"name": "projects/<number>/services/<api>", "config": {"name": "<api>"}, "state": "ENABLED" | "DISABLED"}]}`.
 * Needs `serviceusage.services.get` (roles/serviceusage.serviceUsageViewer) in each project.
 *
 * Not asked: the image registry's project, when it is not the stack's and needs nothing but
 * Artifact Registry and the registry's vulnerability scanning (the CI home project, where no
 * stack's deployer holds a project role). The `image` check reads the image through Artifact
 * Registry there and fails, naming it, when it is disabled; scanning (Container Scanning and
 * Container Analysis, feature `vulnerability-scanning`) is the bootstrap's to enable and no deploy
 * calls it, so a stack's preflight does not hold it against the stack.
 */
import { apisForGraph, servicesOf } from "../../../bootstrap/apiTable";
import { parseImageRef } from "../../../components/imageRef";
import { permissionOf } from "../../../bootstrap/preflightReads";
import { chunks, describeError, disabledService } from "./google";
import type { StackModel, ValidatedConfig } from "./model";
import type { CheckContext, CheckResult } from "./types";

/** The reference's maximum of names per batchGet. */
export const BATCH_GET_MAX = 30;

/** The APIs the rendered stack needs, by project (sorted). */
export function requiredApis(model: StackModel, config: Pick<ValidatedConfig, "project">): Record<string, string[]> {
    const set = apisForGraph({ resources: model.resources, invokes: model.invokes, defaultProject: config.project });
    return Object.fromEntries(Object.keys(set.byProject).map((project) => [project, servicesOf(set, project)]));
}

interface Service {
    readonly name?: string;
    readonly config?: { readonly name?: string };
    readonly state?: string;
}

/** What one project answered. */
type ProjectAnswer =
    | { readonly kind: "read"; readonly project: string; readonly needed: string[]; readonly missing: string[] }
    | { readonly kind: "fail"; readonly project: string; readonly needed: string[]; readonly message: string; readonly fix: string | null }
    | { readonly kind: "unchecked"; readonly project: string; readonly needed: string[]; readonly message: string; readonly lacks: string[]; readonly fix: string | null };

async function checkProject(ctx: CheckContext, project: string, needed: string[]): Promise<ProjectAnswer> {
    const enabled = new Set<string>();
    for (const batch of chunks(needed, BATCH_GET_MAX)) {
        const res = await ctx.client.get<{ services?: Service[] }>(`https://serviceusage.googleapis.com/v1/projects/${project}/services:batchGet`, {
            names: batch.map((api) => `projects/${project}/services/${api}`),
        });
        if (!res.ok) {
            const disabled = disabledService(res);
            if (disabled) {
                return {
                    kind: "fail",
                    project,
                    needed,
                    message: `cannot list the APIs of ${project}: ${disabled} itself is disabled there (${describeError(res)})`,
                    fix: `gcloud services enable serviceusage.googleapis.com --project ${project}`,
                };
            }
            const permission = permissionOf("serviceusage.services.batchGet");
            if (res.status === 403 || res.status === 404) {
                return {
                    kind: "unchecked",
                    project,
                    needed,
                    message: `could not read which APIs are enabled in ${project} (${describeError(res)}); not checked: ${needed.join(", ")}`,
                    lacks: [permission],
                    fix: `gcloud projects add-iam-policy-binding ${project} --member=${ctx.identity.member ?? "<member>"} --role=roles/serviceusage.serviceUsageViewer (or re-run the bootstrap, whose preflight role holds ${permission})`,
                };
            }
            return { kind: "unchecked", project, needed, message: `services.batchGet on ${project} failed (${describeError(res)}); not checked: ${needed.join(", ")}`, lacks: [], fix: null };
        }
        for (const s of res.body?.services ?? []) {
            const api = s.config?.name ?? s.name?.split("/").pop();
            if (api && s.state === "ENABLED") {
                enabled.add(api);
            }
        }
    }
    return { kind: "read", project, needed, missing: needed.filter((api) => !enabled.has(api)) };
}

/** What a registry's project needs that a stack's preflight leaves to the `image` check and the bootstrap. */
const REGISTRY_APIS: ReadonlySet<string> = new Set(["artifactregistry.googleapis.com", "containeranalysis.googleapis.com", "containerscanning.googleapis.com"]);

/** The image registry's project when the `image` check answers for it (see the module comment). */
export function registryProjectLeftToImageCheck(byProject: Readonly<Record<string, string[]>>, config: Pick<ValidatedConfig, "project" | "image">): string | undefined {
    let ref: ReturnType<typeof parseImageRef>;
    try {
        ref = parseImageRef(config.image);
    } catch {
        return undefined;
    }
    const project = ref.kind === "artifact-registry" ? ref.project : undefined;
    const needed = project ? byProject[project] : undefined;
    return project && project !== config.project && needed && needed.every((api) => REGISTRY_APIS.has(api)) ? project : undefined;
}

export async function checkApis(ctx: CheckContext): Promise<CheckResult> {
    const all = requiredApis(await ctx.model(), ctx.config);
    const registry = registryProjectLeftToImageCheck(all, ctx.config);
    const byProject = Object.fromEntries(Object.entries(all).filter(([project]) => project !== registry));
    const answers = await Promise.all(Object.entries(byProject).map(([project, needed]) => checkProject(ctx, project, needed)));
    const total = answers.reduce((n, a) => n + a.needed.length, 0);
    const missing = answers.flatMap((a) => (a.kind === "read" && a.missing.length > 0 ? [a] : []));
    const failed = answers.flatMap((a) => (a.kind === "fail" ? [a] : []));
    const blind = answers.flatMap((a) => (a.kind === "unchecked" ? [a] : []));
    const joinFixes = (fixes: (string | null)[]): string | null => (fixes.some((f) => f) ? fixes.filter((f): f is string => !!f).join(" && ") : null);
    if (missing.length > 0 || failed.length > 0) {
        const count = missing.reduce((n, a) => n + a.missing.length, 0);
        const where = missing.map((a) => `in ${a.project}: ${a.missing.join(", ")}`).join("; ");
        const parts = [
            ...(missing.length > 0 ? [`${count} of ${total} APIs the stack needs are not enabled ${where}`] : []),
            ...failed.map((a) => a.message),
            ...blind.map((a) => a.message),
        ];
        return {
            id: "apis",
            status: "fail",
            message: parts.join("; "),
            fix: joinFixes([...missing.map((a) => `gcloud services enable ${a.missing.join(" ")} --project ${a.project}`), ...failed.map((a) => a.fix), ...blind.map((a) => a.fix)]),
        };
    }
    if (blind.length > 0) {
        const lacks = [...new Set(blind.flatMap((a) => a.lacks))];
        const message = blind.map((a) => a.message).join("; ");
        return { id: "apis", status: "unchecked", message: lacks.length > 0 ? `${message}; lacks ${lacks.join(", ")}` : message, fix: joinFixes(blind.map((a) => a.fix)), lacks };
    }
    const counts = answers.map((a) => `${a.project} (${a.needed.length})`).join(", ");
    const left = registry ? `; artifactregistry.googleapis.com in the image registry's project ${registry} is the image check's` : "";
    return { id: "apis", status: "pass", message: `all ${total} APIs the stack needs are enabled: ${counts}${left}`, fix: null };
}
