/**
 * Generates docs/costs.md: renders the shipped stacks offline (as synth does) and writes the cost
 * model, the assumptions, both stacks side by side, the cheap staging before/after and the price
 * table. `--check` exits 1 when the committed file differs (tests/cost.test.ts checks too).
 *
 *   npm run docs:costs            # rewrite docs/costs.md
 *   npm run docs:costs -- --check # verify it is current
 */
import { Command } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { costDocs, STAGING_BEFORE_OVERRIDES } from "./lib/cost/docs";
import { usageOfConfig } from "../cli/lib/cost/assumptions";
import { estimateCost, type CostEstimate } from "../cli/lib/cost/estimate";
import { runProgram } from "../cli/lib/mockRuntime";
import { loadStackConfig } from "../cli/lib/stackConfig";

const ROOT = path.resolve(__dirname, "..");
/** Where the generated reference lives. */
export const COST_DOC = path.join(ROOT, "docs", "costs.md");

/** Shallow-merges object overrides into a stack's raw config (objects are JSON strings there); `undefined` removes a key. */
function withOverrides(config: Record<string, string>, overrides: Readonly<Record<string, unknown>>): Record<string, string> {
    const out = { ...config };
    for (const [key, value] of Object.entries(overrides)) {
        if (value === undefined) {
            delete out[key];
            continue;
        }
        const current = out[key] !== undefined && /^[{[]/.test(out[key]) ? (JSON.parse(out[key]) as Record<string, unknown>) : {};
        out[key] = typeof value === "object" && value !== null ? JSON.stringify({ ...current, ...value }) : String(value);
    }
    return out;
}

/** Renders a shipped stack (with overrides) and estimates it. */
export async function estimateStack(stack: string, overrides: Readonly<Record<string, unknown>> = {}): Promise<CostEstimate> {
    const loaded = loadStackConfig({ stack, projectDir: ROOT });
    const config = withOverrides(loaded.config, overrides);
    const capture = await runProgram({ project: loaded.project, stack, config, secretKeys: loaded.secretKeys, program: path.join(ROOT, "index.ts") });
    return estimateCost(capture.resources, { region: config["gcp:region"] ?? "", usage: usageOfConfig(config) });
}

async function main(argv: readonly string[]): Promise<number> {
    const opts = new Command().name("gen-cost-docs").option("--check", "exit 1 if docs/costs.md is not current").parse(argv).opts<{ check?: boolean }>();
    const staging = await estimateStack("staging");
    const stagingBefore = await estimateStack("staging", STAGING_BEFORE_OVERRIDES);
    const production = await estimateStack("production");
    const text = costDocs({ staging, stagingBefore, production });
    if (opts.check) {
        const current = readFileSync(COST_DOC, "utf8");
        if (current !== text) {
            process.stderr.write("docs/costs.md is out of date. Fix: npm run docs:costs\n");
            return 1;
        }
        return 0;
    }
    writeFileSync(COST_DOC, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), COST_DOC)}\n`);
    return 0;
}

if (require.main === module) {
    main(process.argv).then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            process.stderr.write(`gen-cost-docs: ${(err as Error)?.stack ?? String(err)}\n`);
            process.exitCode = 3;
        },
    );
}
