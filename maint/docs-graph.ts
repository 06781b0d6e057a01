/**
 * Draws the pictures of docs/architecture.md from the staging stack's real resource graph, as the
 * offline synth builds it:
 *
 *   docs/architecture-components.svg  the top-level components of DjangoPlatform (Network,
 *                                     Database, …), the internet, requests between them and which
 *                                     component is created before which (`componentGraph`);
 *   docs/architecture-staging.svg     every resource, grouped by component (synth's graph.svg).
 *
 *   npm run docs:graph             # rewrite both
 *   npm run docs:graph -- --check  # exit 1 when either differs from what the program draws now
 *
 * The test suite fails when either file is out of date.
 */
import { Command } from "commander";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { componentDot, componentGraph, renderSvg } from "../cli/lib/graph";
import type { StackExport } from "../cli/lib/stackExport";
import { synth } from "../cli/synth";

const DOCS = path.resolve(__dirname, "..", "docs");

/** The files this script writes, by what they show. */
export const DIAGRAM_FILES = {
    components: path.join(DOCS, "architecture-components.svg"),
    full: path.join(DOCS, "architecture-staging.svg"),
} as const;

/**
 * The two pictures of a stack, as SVG text. Runs synth (mocks, no cloud) in a temporary directory;
 * `onExport`, when given, gets its own copy of the stack export synth wrote (tests reuse it).
 */
export async function architectureDiagrams(stack = "staging", onExport?: (exportDoc: StackExport) => void): Promise<Record<keyof typeof DIAGRAM_FILES, string>> {
    const dir = mkdtempSync(path.join(tmpdir(), "docs-graph-"));
    try {
        let errors = "";
        const code = await synth({ stack, out: dir }, { stdout: () => undefined, stderr: (text) => (errors += `${text}\n`) });
        if (code !== 0) {
            throw new Error(`synth --stack ${stack} exited ${code}:\n${errors}`);
        }
        const exportText = readFileSync(path.join(dir, "stack-export.json"), "utf8");
        const exportDoc = JSON.parse(exportText) as StackExport;
        onExport?.(JSON.parse(exportText) as StackExport);
        const project = exportDoc.deployment.resources[0]?.urn.split("::")[1] ?? "django-platform";
        const dot = componentDot(componentGraph(exportDoc.deployment.resources), `${project} · ${stack}: components`);
        return { components: await renderSvg(dot), full: readFileSync(path.join(dir, "graph.svg"), "utf8") };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** Writes (or with `--check` compares) both pictures; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
    const { check } = new Command()
        .name("docs:graph")
        .description("Draw docs/architecture-components.svg and docs/architecture-staging.svg from the staging stack.")
        .option("--check", "exit 1 when a file is out of date instead of writing it", false)
        .parse([...argv], { from: "user" })
        .opts<{ check: boolean }>();
    const drawn = await architectureDiagrams();
    let stale = 0;
    for (const key of Object.keys(DIAGRAM_FILES) as (keyof typeof DIAGRAM_FILES)[]) {
        const file = DIAGRAM_FILES[key];
        const relative = path.relative(process.cwd(), file);
        if (check) {
            let current = "";
            try {
                current = readFileSync(file, "utf8");
            } catch {
                // missing: stale
            }
            if (current !== drawn[key]) {
                console.error(`${relative} is out of date. Fix: npm run docs:graph`);
                stale++;
            }
        } else {
            writeFileSync(file, drawn[key]);
            console.log(`wrote ${relative}`);
        }
    }
    return stale > 0 ? 1 : 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            process.stderr.write(`docs:graph: ${(err as Error)?.stack ?? String(err)}\n`);
            process.exitCode = 3;
        },
    );
}
