/**
 * The monthly cost change between two synth reports (`npm run synth -- --compare-to <report.json>`):
 * per component and in total, idle and peak, so a pull request shows what a change costs.
 * Pure, apart from {@link readReportCost}.
 */
import { readFileSync } from "node:fs";
import type { ComponentTotal, CostEstimate } from "./estimate";

/** The change of one component (head − base). */
export interface ComponentDelta {
    readonly component: string;
    readonly base: ComponentTotal;
    readonly head: ComponentTotal;
    readonly idle: number;
    readonly peak: number;
}

/** `costComparison` of the synth JSON output. */
export interface CostComparison {
    /** Where the base estimate was read from. */
    readonly baseFile: string;
    readonly currency: string;
    readonly base: { readonly stack?: string; readonly idle: number; readonly peak: number; readonly priceTableVersion: string };
    readonly head: { readonly stack?: string; readonly idle: number; readonly peak: number; readonly priceTableVersion: string };
    /** Components whose idle or peak changed, largest change first. */
    readonly components: ComponentDelta[];
    /** Total change. */
    readonly idle: number;
    readonly peak: number;
    /** The two estimates used different price tables: part of the change is a price change. */
    readonly priceTableChanged: boolean;
    /** The comparison as a Markdown table (for a pull request comment or job summary). */
    readonly markdown: string;
}

/** Raised when the base report cannot be compared. */
export class CompareInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "CompareInputError";
    }
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
const signed = (n: number): string => (n > 0 ? `+$${n.toFixed(2)}` : n < 0 ? `-$${Math.abs(n).toFixed(2)}` : "$0.00");
const money = (n: number): string => `${n < 0 ? "-" : ""}$${Math.abs(n).toFixed(2)}`;

/** Reads the `cost` (and stack name) of a synth report.json. */
export function readReportCost(file: string): { stack?: string; cost: CostEstimate } {
    let doc: { stack?: string; cost?: CostEstimate };
    try {
        doc = JSON.parse(readFileSync(file, "utf8")) as typeof doc;
    } catch (err) {
        throw new CompareInputError(`--compare-to ${file}: cannot read a synth report.json (${(err as Error).message})`);
    }
    if (!doc.cost || !Array.isArray(doc.cost.lines) || typeof doc.cost.components !== "object") {
        throw new CompareInputError(`--compare-to ${file}: the report has no cost estimate (written by a synth older than the cost estimate?)`);
    }
    return { stack: doc.stack, cost: doc.cost };
}

/** head − base, per component and in total. */
export function compareCosts(base: CostEstimate, head: CostEstimate, labels: { baseFile: string; baseStack?: string; headStack?: string }): CostComparison {
    const names = [...new Set([...Object.keys(base.components), ...Object.keys(head.components)])];
    const zero: ComponentTotal = { idle: 0, peak: 0 };
    const components = names
        .map((component) => {
            const b = base.components[component] ?? zero;
            const h = head.components[component] ?? zero;
            return { component, base: b, head: h, idle: round2(h.idle - b.idle), peak: round2(h.peak - b.peak) };
        })
        .filter((d) => d.idle !== 0 || d.peak !== 0)
        .sort((a, b) => Math.abs(b.peak) - Math.abs(a.peak) || Math.abs(b.idle) - Math.abs(a.idle) || a.component.localeCompare(b.component));
    const comparison = {
        baseFile: labels.baseFile,
        currency: head.currency,
        base: { stack: labels.baseStack, idle: base.idle, peak: base.peak, priceTableVersion: base.priceTableVersion },
        head: { stack: labels.headStack, idle: head.idle, peak: head.peak, priceTableVersion: head.priceTableVersion },
        components,
        idle: round2(head.idle - base.idle),
        peak: round2(head.peak - base.peak),
        priceTableChanged: base.priceTableVersion !== head.priceTableVersion,
    };
    return { ...comparison, markdown: formatComparisonMarkdown(comparison) };
}

type Plain = Omit<CostComparison, "markdown">;

/** The comparison for the synth summary. */
export function formatComparison(c: Plain): string[] {
    const out = [`Monthly cost change against ${c.baseFile} (${c.currency}): idle ${signed(c.idle)} (${money(c.base.idle)} → ${money(c.head.idle)}), peak ${signed(c.peak)} (${money(c.base.peak)} → ${money(c.head.peak)})`];
    if (c.components.length === 0) {
        out.push("  No component changed.");
    }
    const width = Math.max(9, ...c.components.map((d) => d.component.length));
    for (const d of c.components) {
        out.push(`  ${d.component.padEnd(width)}  idle ${signed(d.idle).padStart(10)}  peak ${signed(d.peak).padStart(10)}`);
    }
    if (c.priceTableChanged) {
        out.push(`  Note: price tables differ (${c.base.priceTableVersion} → ${c.head.priceTableVersion}); part of the change is a price change.`);
    }
    return out;
}

/** The comparison as Markdown. */
export function formatComparisonMarkdown(c: Plain): string {
    const title = c.head.stack ? `Monthly cost change: ${c.head.stack}` : "Monthly cost change";
    const rows = [
        `### ${title}`,
        "",
        `Estimated list price in ${c.currency} per month (docs/costs.md), against \`${c.baseFile}\`.`,
        "",
        "| component | idle | peak |",
        "| --- | ---: | ---: |",
        ...c.components.map((d) => `| ${d.component} | ${signed(d.idle)} | ${signed(d.peak)} |`),
        `| **total** | **${signed(c.idle)}** (${money(c.base.idle)} → ${money(c.head.idle)}) | **${signed(c.peak)}** (${money(c.base.peak)} → ${money(c.head.peak)}) |`,
    ];
    if (c.priceTableChanged) {
        rows.push("", `Price tables differ (${c.base.priceTableVersion} → ${c.head.priceTableVersion}): part of the change is a price change.`);
    }
    return `${rows.join("\n")}\n`;
}
