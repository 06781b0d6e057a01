/**
 * Runs the transition table (table.ts): renders each row's stack before and after under the Pulumi
 * mocks, plans the transition (plan.ts), checks it (check.ts), and writes the table of
 * docs/transitions.md from the results. Shared by tests/transitions.test.ts and
 * `npm run docs:transitions`.
 */
import * as path from "node:path";
import { ConfigError } from "../../../config";
import { applyOverrides, secretKeysWith, type Overrides } from "../configOverrides";
import { type CapturedResource, runProgram, withoutStackTraces } from "../../../cli/lib/mockRuntime";
import { loadStackConfig } from "../../../cli/lib/stackConfig";
import { checkPlan, type Finding } from "./check";
import { effectiveSteps, planTransition, type Plan, type Step } from "./plan";
import type { TransitionRow } from "./table";

const ROOT = path.resolve(__dirname, "../../..");
const INDEX = path.join(ROOT, "index.ts");

/** Registers the program for `stack` with `overrides` and returns its resources. */
export async function render(stack: string, overrides: Overrides): Promise<CapturedResource[]> {
    const loaded = loadStackConfig({ stack, projectDir: ROOT });
    const config = applyOverrides(loaded.config, overrides);
    const result = await withoutStackTraces(() => runProgram({ project: loaded.project, stack, config, secretKeys: secretKeysWith(loaded.secretKeys, overrides), program: INDEX }));
    return result.resources;
}

/** The outcome of one row. */
export interface RowResult {
    readonly row: TransitionRow;
    readonly plan?: Plan;
    readonly findings: readonly Finding[];
    /** The after config's validation problems, when validation refused it. */
    readonly configError?: string;
}

function mergeOverrides(a: Overrides, b: Overrides): Overrides {
    const out: Overrides = { ...a };
    for (const [k, v] of Object.entries(b)) {
        const cur = out[k];
        out[k] = cur && v && typeof cur === "object" && typeof v === "object" && !Array.isArray(cur) && !Array.isArray(v) ? mergeOverrides(cur as Overrides, v as Overrides) : v;
    }
    return out;
}

/** Runs rows, rendering each distinct "before" once. */
export class TransitionRunner {
    private readonly befores = new Map<string, Promise<CapturedResource[]>>();

    /** The render before the row's change. */
    before(row: TransitionRow): Promise<CapturedResource[]> {
        const key = `${row.stack} ${JSON.stringify(row.base ?? {})}`;
        if (!this.befores.has(key)) {
            this.befores.set(key, render(row.stack, row.base ?? {}));
        }
        return this.befores.get(key)!;
    }

    /** Plans and checks one row. */
    async run(row: TransitionRow): Promise<RowResult> {
        if (row.after === null) {
            return { row, findings: [] };
        }
        const before = await this.before(row);
        let after: CapturedResource[];
        try {
            after = await render(row.stack, mergeOverrides(row.base ?? {}, row.after));
        } catch (err) {
            if (err instanceof ConfigError) {
                return { row, findings: [], configError: err.problems.join(" ") };
            }
            throw err;
        }
        const plan = planTransition(before, after);
        return { row, plan, findings: checkPlan(plan, { accept: row.accept, refused: row.refused, byHuman: row.byHuman }) };
    }
}

const SHORT: Record<string, string> = { "pulumi:providers:kubernetes": "Kubernetes provider" };

/** `Job` of `kubernetes:batch/v1:Job`, `sql/databaseInstance` of a Google type. */
function shortType(type: string): string {
    if (SHORT[type]) {
        return SHORT[type];
    }
    const [pkg, module, kind] = type.split(":");
    return pkg === "kubernetes" ? kind : `${module}`;
}

function describe(step: Step): string {
    const notes = [
        step.refused ? "protected" : "",
        step.action === "replace" && step.deleteBeforeReplace ? "deleted first" : "",
        step.retained ? "retained" : "",
    ].filter(Boolean);
    return `\`${step.name}\` (${shortType(step.type)}${notes.length ? `, ${notes.join(", ")}` : ""})`;
}

const ORDER = ["create", "update", "replace", "delete"] as const;
const LIMIT = 8;

/** One line per action: what the engine plans. */
export function summarize(plan: Plan): string {
    const steps = effectiveSteps(plan);
    if (steps.length === 0) {
        return "nothing";
    }
    const refused = steps.filter((s) => s.refused !== undefined);
    if (refused.length > 0) {
        return `**refused**, the preview fails: ${refused.map(describe).join(", ")} (${steps.length - refused.length} other steps would follow)`;
    }
    return ORDER.map((action) => {
        const of = steps.filter((s) => s.action === action);
        if (of.length === 0) {
            return "";
        }
        const shown = of.slice(0, LIMIT).map(describe).join(", ");
        return `${action}: ${shown}${of.length > LIMIT ? ` and ${of.length - LIMIT} more` : ""}`;
    }).filter(Boolean).join("; ");
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The Markdown table of docs/transitions.md. */
export function renderTable(results: readonly RowResult[]): string {
    const lines = ["| key | change | stack | what Google, GKE and the providers do | planned steps |", "| --- | --- | --- | --- | --- |"];
    for (const { row, plan, configError } of results) {
        const accepted = Object.entries(row.accept ?? {}).map(([name, why]) => `\`${name}\`: ${why}`);
        const what = [row.what, ...(accepted.length ? [`Accepted: ${accepted.join("; ")}.`] : []), ...(row.byHuman ? [`Not from CI: ${row.byHuman}.`] : [])].join(" ");
        const steps = row.after === null ? "—" : configError !== undefined ? "refused by validation" : summarize(plan!);
        const keys = [row.key, ...(row.alsoKeys ?? [])].map((k) => `\`${k}\``).join(", ");
        lines.push(`| ${keys} | ${cell(row.change)} | ${row.stack} | ${cell(what)} | ${cell(steps)} |`);
    }
    return lines.join("\n");
}

/** Markers around the generated table in docs/transitions.md. */
export const BEGIN = "<!-- transitions:begin (generated by `npm run docs:transitions` from maint/lib/transitions/table.ts; do not edit by hand) -->";
export const END = "<!-- transitions:end -->";

/** `doc` with the text between the markers replaced by `table`. */
export function spliceTable(doc: string, table: string): string {
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    if (start < 0 || end < start) {
        throw new Error(`docs/transitions.md lacks the markers ${BEGIN} … ${END}`);
    }
    return `${doc.slice(0, start + BEGIN.length)}\n\n${table}\n\n${doc.slice(end)}`;
}
