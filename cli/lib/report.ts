/**
 * The synth report: one JSON document (`report.json`, `--json`) and its readable form — the
 * resource tree, a count per type, the problems found and the deploy critical path.
 */
import { formatCost, type CostEstimate } from "./cost/estimate";
import type { CriticalPathResult } from "./criticalPath";
import { formatDuration } from "./criticalPath";
import { nameOfUrn } from "./graph";
import { formatSchemaError, type NotValidated, type SchemaError } from "./k8sValidate";
import type { ApiSet } from "../../bootstrap/apiTable";
import type { PermissionSet } from "../../bootstrap/permissionTable";
import type { CapturedResource } from "./mockRuntime";
import type { PolicyViolation } from "./policyRunner";
import type { GrantLine } from "./trustReport";

/** The policy phase's outcome. */
export interface PolicyResult {
    readonly violations: PolicyViolation[];
}

/** Everything synth found out about one stack. */
export interface SynthReport {
    readonly project: string;
    readonly stack: string;
    /** The stack file, relative to the project. */
    readonly stackFile: string;
    /** Every IAM grant rendered: member, role, resource, condition (cli/lib/trustReport.ts). */
    readonly grants: GrantLine[];
    /** 0 good, 1 schema errors or mandatory policy violations. */
    readonly exitCode: 0 | 1;
    readonly counts: {
        readonly resources: number;
        readonly custom: number;
        readonly components: number;
        readonly kubernetesObjects: number;
        readonly byType: Record<string, number>;
    };
    /** Config values that were encrypted and replaced by placeholders. */
    readonly secretPlaceholders: string[];
    readonly schema: {
        /** The schemas used. */
        readonly source: string;
        readonly validated: number;
        readonly errors: SchemaError[];
        readonly notValidated: NotValidated[];
    };
    readonly policy: PolicyResult;
    readonly criticalPath: CriticalPathResult & { readonly total: string; readonly sum: string; readonly note: string };
    /**
     * The Google Cloud permissions a `pulumi up` of this stack needs, from bootstrap/permissionTable.ts
     * for the types and provider functions the run registered: the stack deploy role, the conditional
     * resource-IAM role, what the deployer needs on single service accounts, predefined roles, and
     * what only a destroy needs (not granted). `iamStep` must be empty: those are the IAM step's.
     */
    readonly permissions?: PermissionSet & { readonly source: string };
    /** The bootstrap and the IAM step: who runs them, with which permissions (none for a CI identity). */
    readonly runner?: { readonly who: string; readonly source: string; readonly permissions: string[] };
    /**
     * The Google APIs to enable, per project (the stack's, the image registry's, the DNS zone's):
     * bootstrap/apiTable.ts `apisForGraph` of the rendered graph, each service with why (the types
     * and run-time features that need it). `npm run preflight` checks exactly these.
     */
    readonly apis: ApiSet & { readonly source: string };
    /**
     * Monthly cost estimate at minReplicas (idle) and maxReplicas (peak), per component and line,
     * from list prices with their sources (cli/lib/cost, docs/costs.md).
     */
    readonly cost: CostEstimate;
    readonly stackOutputs: Record<string, unknown>;
}

/** The permission section of the summary. */
export function formatPermissions(p: NonNullable<SynthReport["permissions"]>): string[] {
    const out = [
        `Deployer permissions (${p.source}): ${p.deployer.length} in the custom role for ${p.types.length} types and functions` +
            `, ${p.resourceIam.length} through the conditional resource-IAM role, ${p.podBinder.length + p.onServiceAccount.length} on single service accounts` +
            (p.predefinedRoles.length > 0 ? `, plus ${p.predefinedRoles.join(", ")}` : "") +
            `; ${p.destroyOnly.length} destroy-only left out${p.destroyOnly.length > 0 ? ` (${p.destroyOnly.map((d) => d.permission).join(", ")})` : ""}; ${p.read.length} read permissions for a refresh.`,
    ];
    for (const type of p.missing) {
        out.push(`  MISSING ${type}: no row in bootstrap/permissionTable.ts, the deployer role would lack its permissions`);
    }
    if (p.iamStep.length > 0) {
        out.push(`  IAM STEP ONLY: ${p.iamStep.join(", ")}: the program registers a type only the IAM step (iam/) may create; CI's deployer cannot`);
    }
    return out;
}

/** The API section of the summary: one line per project, services without `.googleapis.com`. */
export function formatApis(a: SynthReport["apis"]): string[] {
    const out = [`APIs to enable (${a.source}), per project:`];
    for (const [project, services] of Object.entries(a.byProject)) {
        out.push(`  ${project}: ${Object.keys(services).map((s) => s.replace(/\.googleapis\.com$/, "")).join(", ")}`);
    }
    for (const type of a.missing) {
        out.push(`  MISSING ${type}: no row in bootstrap/apiTable.ts, its API would not be enabled or checked`);
    }
    return out;
}

/** Mandatory violations (the ones that fail synth). */
export function mandatoryViolations(policy: PolicyResult): PolicyViolation[] {
    return policy.violations.filter((v) => v.enforcementLevel === "mandatory");
}

/** Resource count per type, sorted by type. */
export function countByType(resources: readonly CapturedResource[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of [...resources].sort((a, b) => a.type.localeCompare(b.type))) {
        counts[r.type] = (counts[r.type] ?? 0) + 1;
    }
    return counts;
}

/** The resources as a tree: components with their children, indented with box-drawing lines. */
export function resourceTree(resources: readonly CapturedResource[]): string[] {
    const urns = new Set(resources.map((r) => r.urn));
    const children = new Map<string | undefined, CapturedResource[]>();
    for (const r of resources) {
        const parent = r.parent && urns.has(r.parent) ? r.parent : undefined;
        children.set(parent, [...(children.get(parent) ?? []), r]);
    }
    const lines: string[] = [];
    const walk = (parent: string | undefined, prefix: string): void => {
        const list = [...(children.get(parent) ?? [])].sort((a, b) => Number(a.custom) - Number(b.custom) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
        list.forEach((r, i) => {
            const last = i === list.length - 1;
            lines.push(`${prefix}${last ? "└─ " : "├─ "}${r.name}  ${r.type}`);
            walk(r.urn, `${prefix}${last ? "   " : "│  "}`);
        });
    };
    walk(undefined, "");
    return lines;
}

/** The readable summary printed by synth. */
export function formatReport(report: SynthReport, resources: readonly CapturedResource[]): string {
    const out: string[] = [];
    const { counts, schema, policy, criticalPath: cp } = report;
    out.push(`${report.project} (stack ${report.stack}): ${counts.resources} resources (${counts.custom} custom, ${counts.components} components), ${counts.kubernetesObjects} Kubernetes objects`);
    out.push("", ...resourceTree(resources));
    out.push("", "Resources per type:");
    const width = Math.max(...Object.keys(counts.byType).map((t) => t.length));
    for (const [type, n] of Object.entries(counts.byType)) {
        out.push(`  ${type.padEnd(width)}  ${String(n).padStart(3)}`);
    }
    if (report.secretPlaceholders.length > 0) {
        out.push("", `Encrypted config replaced by placeholders (cannot be decrypted offline): ${report.secretPlaceholders.join(", ")}`);
    }
    out.push("", `Kubernetes schemas (${schema.source}): ${schema.validated} objects checked, ${schema.errors.length} error${schema.errors.length === 1 ? "" : "s"}`);
    for (const e of schema.errors) {
        out.push(`  ERROR ${formatSchemaError(e)}`);
    }
    for (const n of schema.notValidated) {
        out.push(`  not validated: ${n.object} (${n.apiVersion}): ${n.reason}`);
    }
    const mandatory = mandatoryViolations(policy).length;
    out.push("", `Policies: ${policy.violations.length} violation${policy.violations.length === 1 ? "" : "s"} (${mandatory} mandatory)`);
    for (const v of policy.violations) {
        out.push(`  ${v.enforcementLevel.toUpperCase()} ${v.policyName}${v.urn ? ` ${nameOfUrn(v.urn)}` : ""}: ${v.message}`);
    }
    if (report.permissions) {
        out.push("", ...formatPermissions(report.permissions));
    }
    if (report.runner) {
        out.push("", `Run by ${report.runner.who}${report.runner.permissions.length > 0 ? `, with ${report.runner.permissions.length} permissions (${report.runner.source}): ${report.runner.permissions.join(", ")}` : ""}.`);
    }
    out.push("", ...formatApis(report.apis));
    out.push("", ...formatCost(report.cost));
    out.push("", `Deploy estimate for a first pulumi up: ${cp.total} on the critical path (${cp.sum} if created one by one). ${cp.note}`);
    out.push("  Critical path:");
    for (const s of cp.path) {
        out.push(`    ${formatDuration(s.start).padStart(6)} → ${formatDuration(s.finish).padStart(6)}  ${s.name}  ${s.type}`);
    }
    out.push("  Slow resources (overlapping windows run in parallel):");
    for (const s of cp.slow) {
        out.push(`    ${formatDuration(s.start).padStart(6)} → ${formatDuration(s.finish).padStart(6)}  ${s.name}  ${s.type}`);
    }
    out.push("", report.exitCode === 0 ? "OK: no schema errors, no mandatory policy violations." : "FAILED: see the errors above.");
    return out.join("\n");
}
