/**
 * Writes the transition table of docs/transitions.md (between its markers) from
 * maint/lib/transitions/table.ts: each row's stack is rendered before and after under the Pulumi
 * mocks and the engine's plan is summarised. `--check` exits 1 when the committed file differs;
 * tests/transitions.test.ts checks the same.
 *
 *   npm run docs:transitions            # rewrite docs/transitions.md's table
 *   npm run docs:transitions -- --check # verify it is current
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { renderTable, spliceTable, TransitionRunner, type RowResult } from "./lib/transitions/run";
import { TRANSITIONS } from "./lib/transitions/table";

export const TRANSITIONS_DOC = path.resolve(__dirname, "..", "docs", "transitions.md");

async function main(): Promise<void> {
    const runner = new TransitionRunner();
    const results: RowResult[] = [];
    for (const row of TRANSITIONS) {
        results.push(await runner.run(row));
    }
    const failing = results.filter((r) => r.findings.length > 0);
    for (const r of failing) {
        console.error(`${r.row.key} (${r.row.change}): ${r.findings.map((f) => f.message).join("; ")}`);
    }
    const current = readFileSync(TRANSITIONS_DOC, "utf8");
    const doc = spliceTable(current, renderTable(results));
    const rel = path.relative(process.cwd(), TRANSITIONS_DOC);
    if (process.argv.includes("--check")) {
        if (doc !== current) {
            console.error(`${rel} is out of date: run \`npm run docs:transitions\`.`);
            process.exit(1);
        }
        console.log(`${rel} is current.`);
    } else {
        writeFileSync(TRANSITIONS_DOC, doc);
        console.log(`wrote ${rel}${failing.length ? ` (${failing.length} rows break the rules: see above)` : ""}`);
    }
    process.exit(failing.length > 0 ? 1 : 0);
}

if (require.main === module) {
    main().catch((err) => {
        console.error(err);
        process.exit(3);
    });
}
