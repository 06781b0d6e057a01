/**
 * The monthly cost of a stack, and the cost change between two synth reports:
 *
 *   django-platform cost --stack staging                          # the estimate of one stack
 *   django-platform cost base/report.json head/report.json        # the change, per component
 *   django-platform cost base/report.json --stack staging         # the change against a fresh synth
 *
 * (`npm run synth -- --stack staging --compare-to base/report.json` prints the same comparison
 * after its summary.) Exit codes: 0 ok; 2 unreadable reports or stack config; 3 the program failed.
 */
import { Command } from "commander";
import { CliIo, parseCli, processIo, runCli } from "./lib/cliIo";
import { CompareInputError, compareCosts, formatComparison, formatComparisonMarkdown, readReportCost } from "./lib/cost/compare";
import { formatCost, type CostEstimate } from "./lib/cost/estimate";

/** Options of {@link main}. */
interface CostOptions {
    readonly stack?: string;
    readonly configFile?: string;
    readonly markdown?: boolean;
    readonly json?: boolean;
}

/** The cost estimate of a fresh offline synth of the stack, or its exit code when it failed. */
async function synthCost(opts: CostOptions, io: CliIo): Promise<{ stack?: string; cost: CostEstimate } | number> {
    const { synth } = await import("./synth");
    let out = "";
    const code = await synth({ stack: opts.stack, configFile: opts.configFile, json: true }, { stdout: (text) => (out += text), stderr: (text) => io.stderr(text) });
    if (code > 1 || out === "") {
        return code > 1 ? code : 3;
    }
    const report = JSON.parse(out) as { stack?: string; cost: CostEstimate };
    return { stack: report.stack, cost: report.cost };
}

/** Parses the command line and prints the estimate or the comparison; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
    const program = new Command()
        .name("cost")
        .description("Monthly cost of a stack (offline synth), or its change against another synth's report.json.")
        .argument("[reports...]", "report.json files of synth --out: one base (then --stack is the head) or base and head")
        .option("-s, --stack <name>", "stack to synth (reads Pulumi.yaml and Pulumi.<name>.yaml in the project)")
        .option("-c, --config-file <path>", "any stack file")
        .option("--markdown", "print the comparison as a Markdown table (a pull request comment)")
        .option("--json", "print JSON")
        .addHelpText("after", "\nExit codes: 0 ok; 2 unreadable reports or config; 3 the program failed.");
    const parsed = parseCli(program, argv, io);
    if (parsed !== undefined) {
        return parsed;
    }
    const reports = program.args;
    const opts = program.opts<CostOptions>();
    const fresh = opts.stack !== undefined || opts.configFile !== undefined;
    if (reports.length > 2 || (reports.length === 2 && fresh) || (reports.length === 0 && !fresh)) {
        io.stderr("cost: pass --stack <name> (its estimate), <base/report.json> --stack <name>, or <base/report.json> <head/report.json>. Try --help.");
        return 2;
    }
    try {
        const base = reports.length > 0 ? readReportCost(reports[0]) : undefined;
        const head = fresh ? await synthCost(opts, io) : readReportCost(reports[1]);
        if (typeof head === "number") {
            return head;
        }
        if (base === undefined) {
            io.stdout(opts.json ? JSON.stringify(head, null, 2) : formatCost(head.cost).join("\n"));
            return 0;
        }
        const comparison = compareCosts(base.cost, head.cost, { baseFile: reports[0], baseStack: base.stack, headStack: head.stack });
        io.stdout(opts.json ? JSON.stringify(comparison, null, 2) : opts.markdown ? formatComparisonMarkdown(comparison) : formatComparison(comparison).join("\n"));
        return 0;
    } catch (err) {
        if (err instanceof CompareInputError) {
            // readReportCost words its message for synth's --compare-to; here the file is an argument.
            io.stderr(`cost: ${err.message.replace(/^--compare-to /, "")}`);
            return 2;
        }
        throw err;
    }
}

if (require.main === module) {
    runCli("cost", () => main(process.argv), 3);
}
