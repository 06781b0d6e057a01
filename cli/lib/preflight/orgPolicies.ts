/**
 * `org-policies`: would an organisation policy on the project reject what the stack creates?
 *
 * Org Policy API v2 `projects.policies.getEffectivePolicy`
 * (https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/projects.policies/getEffectivePolicy):
 * GET https://orgpolicy.googleapis.com/v2/projects/<p>/policies/<constraint>:getEffectivePolicy answers
 * the policy merged down the hierarchy, a `Policy`
 * (https://cloud.google.com/resource-manager/docs/reference/orgpolicy/rest/v2/organizations.policies#Policy):
 * `{"name", "spec": {"rules": [{"enforce": true} | {"allowAll": true} | {"denyAll": true} |
 * {"values": {"allowedValues": […], "deniedValues": […]}}, "condition"?: {…}]}}`.
 * Needs `orgpolicy.policy.get` (roles/orgpolicy.policyViewer; the bootstrap's preflight role). A
 * constraint it cannot read is `unchecked`, which a strict run fails.
 *
 * Asked, with what the stack creates (read from the rendered stack):
 * - `storage.publicAccessPrevention` (boolean), when a bucket binds `allUsers` (statics.access public):
 *   enforced → fail (https://cloud.google.com/storage/docs/public-access-prevention);
 * - `iam.allowedPolicyMemberDomains` (list), when the stack binds `allUsers`/`allAuthenticatedUsers`
 *   or Cloud Storage's log writer `group:cloud-storage-analytics@google.com` (`accessLogs.enabled`):
 *   any restriction → fail, since `allUsers` is in no customer's domain and the log writer is in
 *   Google's, which a restriction to the organisation's own customer id leaves out
 *   (https://cloud.google.com/resource-manager/docs/organization-policy/restricting-domains); other
 *   members outside the project → warn (whether their customer is allowed cannot be seen);
 * - `gcp.resourceLocations` (list), for the region and the statics bucket location. Value semantics
 *   (the constraint's description and https://cloud.google.com/resource-manager/docs/organization-policy/defining-locations):
 *   a plain value (`europe-west1`, `eu`) allows exactly that location; `in:<region>-locations`
 *   allows the region and its zones; other value groups (`in:eu-locations`, `in:europe-locations`,
 *   …) are curated by Google and not expanded here → warn (undecidable). Global resources are not
 *   subject to the constraint.
 * - `sql.restrictPublicIp`, `compute.vmExternalIpAccess`, `storage.uniformBucketLevelAccess`: asked
 *   only when the stack would create what they reject (a Cloud SQL public IP, non-private nodes, a
 *   bucket without uniform access); this program creates none of those, so they pass unasked.
 */
import { permissionOf } from "../../../bootstrap/preflightReads";
import { STORAGE_LOG_WRITER } from "../../../components/accessLogs";
import { deniedPermission, describeError, disabledService, type GoogleResponse } from "./google";
import { ofType, type StackModel } from "./model";
import type { CheckContext, CheckResult, CheckStatus } from "./types";
import { memberOf } from "./types";

/** One rule of a v2 policy spec. */
export interface PolicyRule {
    readonly values?: { readonly allowedValues?: readonly string[]; readonly deniedValues?: readonly string[] };
    readonly allowAll?: boolean;
    readonly denyAll?: boolean;
    readonly enforce?: boolean;
    readonly condition?: { readonly expression?: string };
}

/** A v2 Policy (only what is read). */
export interface OrgPolicy {
    readonly name?: string;
    readonly spec?: { readonly rules?: readonly PolicyRule[] };
}

export type Verdict = "allowed" | "denied" | "unknown";

const REGION = /^[a-z]+-[a-z]+\d+$/;

/**
 * Whether a `gcp.resourceLocations` value covers `location`: true, false, or undefined when it is a
 * value group this module does not expand.
 */
export function locationValueMatches(value: string, location: string): boolean | undefined {
    const v = value.trim().replace(/^is:/, "").toLowerCase();
    const loc = location.toLowerCase();
    if (v.startsWith("in:")) {
        const group = /^in:(.+)-locations$/.exec(v)?.[1];
        if (group && REGION.test(group)) {
            return loc === group || loc.startsWith(`${group}-`);
        }
        return undefined;
    }
    return v === loc;
}

/** Evaluates a list policy's rules for one value with `matches` (true / false / undecidable). */
export function listVerdict(rules: readonly PolicyRule[], matches: (value: string) => boolean | undefined): { verdict: Verdict; undecided: string[] } {
    const undecided: string[] = [];
    if (rules.length === 0) {
        return { verdict: "allowed", undecided };
    }
    if (rules.some((r) => r.condition)) {
        return { verdict: "unknown", undecided: ["a rule with a condition (tags)"] };
    }
    if (rules.some((r) => r.denyAll)) {
        return { verdict: "denied", undecided };
    }
    let maybeDenied = false;
    for (const value of rules.flatMap((r) => r.values?.deniedValues ?? [])) {
        const m = matches(value);
        if (m === true) {
            return { verdict: "denied", undecided };
        }
        if (m === undefined) {
            maybeDenied = true;
            undecided.push(`denied ${value}`);
        }
    }
    const allowed = rules.flatMap((r) => r.values?.allowedValues ?? []);
    let verdict: Verdict;
    if (rules.some((r) => r.allowAll) || allowed.length === 0) {
        verdict = "allowed";
    } else {
        const results = allowed.map((value) => ({ value, m: matches(value) }));
        if (results.some((r) => r.m === true)) {
            verdict = "allowed";
        } else if (results.some((r) => r.m === undefined)) {
            verdict = "unknown";
            undecided.push(...results.filter((r) => r.m === undefined).map((r) => `allowed ${r.value}`));
        } else {
            verdict = "denied";
        }
    }
    return { verdict: maybeDenied && verdict === "allowed" ? "unknown" : verdict, undecided };
}

/** A boolean constraint: enforced, not enforced, or undecidable (conditional rules). */
export function booleanVerdict(rules: readonly PolicyRule[]): "enforced" | "not-enforced" | "unknown" {
    if (rules.some((r) => r.condition && r.enforce)) {
        return "unknown";
    }
    return rules.some((r) => r.enforce === true) ? "enforced" : "not-enforced";
}

/** A list constraint that restricts anything at all (for members outside every domain, like allUsers). */
export function listRestricts(rules: readonly PolicyRule[]): boolean {
    if (rules.length === 0 || rules.some((r) => r.allowAll)) {
        return false;
    }
    return rules.some((r) => r.denyAll || (r.values?.allowedValues?.length ?? 0) > 0 || (r.values?.deniedValues?.length ?? 0) > 0);
}

/** The members the stack binds in any IAM resource. */
export function boundMembers(model: StackModel): string[] {
    const members = model.resources
        .filter((r) => r.custom && /^gcp:[^:]+:\w*IAM(Member|Binding)$/.test(r.type))
        .flatMap((r) => {
            const m = r.inputs.member ?? r.inputs.members;
            return Array.isArray(m) ? m.map(String) : typeof m === "string" ? [m] : [];
        });
    return [...new Set(members)].sort();
}

/** A printf + set-policy one-liner that writes a project-level override. */
function setPolicyCommand(project: string, constraint: string, rule: string): string {
    const file = `${constraint.replace(/\W+/g, "-")}.yaml`;
    return `printf 'name: projects/${project}/policies/${constraint}\\nspec:\\n  rules:\\n  - ${rule}\\n' > ${file} && gcloud org-policies set-policy ${file}`;
}

interface Finding {
    readonly status: CheckStatus;
    readonly text: string;
    readonly fix?: string;
    /** What it could not read for lack of it (status `unchecked`). */
    readonly lacks?: readonly string[];
}

export async function checkOrgPolicies(ctx: CheckContext): Promise<CheckResult> {
    const project = ctx.config.project;
    const model = await ctx.model();
    const members = boundMembers(model);
    const publicMembers: string[] = members.filter((m) => m === "allUsers" || m === "allAuthenticatedUsers");
    const foreignMembers = members.filter(
        (m) => !publicMembers.includes(m) && !new RegExp(`^serviceAccount:.*@${project}\\.iam\\.gserviceaccount\\.com$`).test(m) && !/^serviceAccount:.*\.svc\.id\.goog\[/.test(m) && !/^serviceAccount:service-\d+@/.test(m),
    );
    const logWriter = foreignMembers.includes(STORAGE_LOG_WRITER);

    const fetchPolicy = async (constraint: string): Promise<{ rules: readonly PolicyRule[] } | { finding: Finding }> => {
        const res: GoogleResponse<OrgPolicy> = await ctx.client.get<OrgPolicy>(`https://orgpolicy.googleapis.com/v2/projects/${project}/policies/${constraint}:getEffectivePolicy`);
        if (res.ok) {
            return { rules: res.body?.spec?.rules ?? [] };
        }
        const disabled = disabledService(res);
        if (disabled) {
            return {
                finding: { status: "unchecked", text: `${constraint}: not readable, ${disabled} is disabled (${describeError(res)})`, fix: `gcloud services enable orgpolicy.googleapis.com --project ${project}`, lacks: [`api:${disabled}`] },
            };
        }
        const permission = permissionOf("orgpolicy.projects.policies.getEffectivePolicy");
        if (res.status === 403) {
            return {
                finding: {
                    status: "unchecked",
                    text: `${constraint}: not readable (${describeError(res)})`,
                    fix: `gcloud projects add-iam-policy-binding ${project} --member=${memberOf(ctx.identity)} --role=roles/orgpolicy.policyViewer (or re-run the bootstrap, whose preflight role holds ${permission})`,
                    lacks: [deniedPermission(res) ?? permission],
                },
            };
        }
        return { finding: { status: "unchecked", text: `${constraint}: getEffectivePolicy failed (${describeError(res)})`, lacks: [] } };
    };

    /** Runs one question; its findings keep the order of the questions, whatever answers first. */
    const tasks: Promise<Finding[]>[] = [];
    const collect = (ask: (findings: Finding[]) => Promise<void>): Promise<Finding[]> => {
        const findings: Finding[] = [];
        return ask(findings).then(() => findings);
    };

    if (publicMembers.length > 0) {
        tasks.push(
            collect(async (findings) => {
                const p = await fetchPolicy("storage.publicAccessPrevention");
                if ("finding" in p) {
                    findings.push(p.finding);
                    return;
                }
                const v = booleanVerdict(p.rules);
                if (v === "enforced") {
                    findings.push({
                        status: "fail",
                        text: `storage.publicAccessPrevention is enforced on ${project}, so the statics bucket's ${publicMembers.join("/")} read grant (statics.access public) would be rejected`,
                        fix: setPolicyCommand(project, "storage.publicAccessPrevention", "enforce: false"),
                    });
                } else if (v === "unknown") {
                    findings.push({ status: "warn", text: "storage.publicAccessPrevention is enforced under a condition (tags) that cannot be evaluated here" });
                } else {
                    findings.push({ status: "pass", text: "storage.publicAccessPrevention not enforced" });
                }
            }),
        );
    }
    if (publicMembers.length > 0 || foreignMembers.length > 0) {
        tasks.push(
            collect(async (findings) => {
                const p = await fetchPolicy("iam.allowedPolicyMemberDomains");
                if ("finding" in p) {
                    findings.push(p.finding);
                    return;
                }
                if (!listRestricts(p.rules)) {
                    findings.push({ status: "pass", text: "iam.allowedPolicyMemberDomains allows any member" });
                } else if (publicMembers.length > 0 || logWriter) {
                    const rejected = [
                        ...(publicMembers.length > 0 ? [`${publicMembers.join("/")} grant (statics.access public)`] : []),
                        ...(logWriter ? [`${STORAGE_LOG_WRITER} grant on the access-log buckets (accessLogs.enabled)`] : []),
                    ];
                    findings.push({
                        status: "fail",
                        text: `iam.allowedPolicyMemberDomains restricts members on ${project}, so the stack's ${rejected.join(" and the ")} would be rejected ("One or more users named in the policy do not belong to a permitted customer")`,
                        fix:
                            publicMembers.length > 0
                                ? setPolicyCommand(project, "iam.allowedPolicyMemberDomains", "allowAll: true")
                                : `pulumi config set --path accessLogs.enabled false (Cloud Audit Logs record bucket access instead: docs/operations.md), or a project override: ${setPolicyCommand(project, "iam.allowedPolicyMemberDomains", "allowAll: true")}`,
                    });
                } else {
                    findings.push({
                        status: "warn",
                        text: `iam.allowedPolicyMemberDomains restricts members on ${project}; check that it allows the customers of ${foreignMembers.join(", ")}`,
                    });
                }
            }),
        );
    }
    const bucketLocation = (ctx.config.statics.location ?? ctx.config.region).toLowerCase();
    const locations =
        bucketLocation === ctx.config.region
            ? [{ what: "gcp:region and the statics bucket", location: ctx.config.region, fix: "pulumi config set gcp:region" }]
            : [
                  { what: "gcp:region", location: ctx.config.region, fix: "pulumi config set gcp:region" },
                  { what: "statics.location", location: bucketLocation, fix: "pulumi config set --path statics.location" },
              ];
    tasks.push(
        collect(async (findings) => {
            const p = await fetchPolicy("gcp.resourceLocations");
            if ("finding" in p) {
                findings.push(p.finding);
                return;
            }
            const allowedRegion = p.rules
                .flatMap((r) => r.values?.allowedValues ?? [])
                .map((v) => /^in:(.+)-locations$/.exec(v.trim())?.[1])
                .find((g) => g !== undefined && REGION.test(g));
            for (const l of locations) {
                const { verdict, undecided } = listVerdict(p.rules, (value) => locationValueMatches(value, l.location));
                if (verdict === "denied") {
                    findings.push({
                        status: "fail",
                        text: `gcp.resourceLocations does not allow ${l.location} (${l.what})`,
                        fix: `${l.fix} ${allowedRegion ?? "<an allowed location>"}`,
                    });
                } else if (verdict === "unknown") {
                    findings.push({
                        status: "warn",
                        text: `gcp.resourceLocations may not allow ${l.location} (${l.what}): cannot decide ${undecided.join(", ")}; check with \`gcloud org-policies describe gcp.resourceLocations --effective --project ${project}\``,
                    });
                } else {
                    findings.push({ status: "pass", text: `gcp.resourceLocations allows ${l.location}` });
                }
            }
        }),
    );
    const conditional = conditionalConstraints(model);
    for (const c of conditional.filter((c) => c.applies)) {
        tasks.push(
            collect(async (findings) => {
                const p = await fetchPolicy(c.constraint);
                if ("finding" in p) {
                    findings.push(p.finding);
                    return;
                }
                const restricted = c.kind === "boolean" ? booleanVerdict(p.rules) !== "not-enforced" : listRestricts(p.rules);
                findings.push(restricted ? { status: c.kind === "boolean" ? "fail" : "warn", text: `${c.constraint} ${c.kind === "boolean" ? "is enforced" : "restricts"} and the stack creates ${c.why}` } : { status: "pass", text: `${c.constraint} not enforced` });
            }),
        );
    }
    const findings = (await Promise.all(tasks)).flat();
    const unasked = conditional.filter((c) => !c.applies).map((c) => `${c.constraint} (${c.why})`);
    const order: CheckStatus[] = ["fail", "unchecked", "warn", "pass"];
    const status = order.find((s) => findings.some((f) => f.status === s)) ?? "pass";
    const shown = findings.filter((f) => f.status === status);
    const fixes = [...new Set(shown.map((f) => f.fix).filter((f): f is string => !!f))];
    const rest = findings.filter((f) => f.status !== status).map((f) => f.text);
    const lacks = [...new Set(findings.flatMap((f) => f.lacks ?? []))];
    return {
        id: "org-policies",
        status,
        message: [
            ...shown.map((f) => f.text),
            ...rest,
            ...(unasked.length > 0 ? [`not asked (the stack creates nothing they reject): ${unasked.join(", ")}`] : []),
            ...(lacks.length > 0 ? [`lacks ${lacks.join(", ")}`] : []),
        ].join("; "),
        fix: fixes.length > 0 ? fixes.join(" && ") : null,
        ...(lacks.length > 0 ? { lacks } : {}),
    };
}

/** Constraints that matter only if the stack creates what they reject: whether it does, and why. */
export function conditionalConstraints(model: StackModel): { constraint: string; kind: "boolean" | "list"; applies: boolean; why: string }[] {
    const sql = ofType(model, "gcp:sql/databaseInstance:DatabaseInstance");
    const publicSql = sql.some((r) => (r.inputs.settings as { ipConfiguration?: { ipv4Enabled?: boolean } } | undefined)?.ipConfiguration?.ipv4Enabled !== false);
    const clusters = ofType(model, "gcp:container/cluster:Cluster");
    const publicNodes = clusters.some((r) => (r.inputs.privateClusterConfig as { enablePrivateNodes?: boolean } | undefined)?.enablePrivateNodes !== true);
    const buckets = ofType(model, "gcp:storage/bucket:Bucket");
    const fineGrained = buckets.some((r) => r.inputs.uniformBucketLevelAccess !== true);
    return [
        { constraint: "sql.restrictPublicIp", kind: "boolean", applies: publicSql, why: publicSql ? "a Cloud SQL instance with a public IP" : "no Cloud SQL public IP" },
        { constraint: "compute.vmExternalIpAccess", kind: "list", applies: publicNodes, why: publicNodes ? "GKE nodes that may get external IPs" : "private nodes, no VM external IP" },
        { constraint: "storage.uniformBucketLevelAccess", kind: "boolean", applies: fineGrained, why: fineGrained ? "a bucket without uniform access" : "every bucket uses uniform access" },
    ];
}
