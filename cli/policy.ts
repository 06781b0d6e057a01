/**
 * Offline policy check: runs the CrossGuard pack (policy/) on a `pulumi stack export` file.
 *
 *   npm run policy -- out/stack-export.json [--config policy-config.json] [--json]
 *
 * Exit codes: 0 no mandatory violation; 1 mandatory violations; 2 unreadable input, bad policy
 * config or a policy that crashed.
 */
import { CliIo, processIo, runCli, parseCli } from "./lib/cliIo";
import { Command } from "commander";
import { PolicyInputError, readStackExport } from "./lib/policyExport";

/** Where the CLI prints. */
export type PolicyIo = CliIo;

/** Parses the command line, runs the pack and returns the exit code. */
export async function main(argv: readonly string[], io: PolicyIo = processIo): Promise<number> {
    const program = new Command()
        .name("policy")
        .description("Evaluate the django-platform CrossGuard policy pack on a `pulumi stack export` file, offline.")
        .argument("<stack-export>", "a `pulumi stack export` file, e.g. out/stack-export.json from `npm run synth -- --out out/`")
        .option("--config <file>", "policy config JSON, as for `pulumi preview --policy-pack-config`")
        .option("--json", "print {\"violations\":[…]} instead of the readable report")
        .addHelpText("after", "\nExit codes: 0 no mandatory violation; 1 mandatory violations; 2 unreadable input or bad config.");
    const parsed = parseCli(program, argv, io);
    if (parsed !== undefined) {
        return parsed;
    }
    const [file] = program.args;
    const opts = program.opts<{ config?: string; json?: boolean }>();
    let runner: typeof import("./lib/policyRunner") | undefined;
    try {
        const exportDoc = readStackExport(file);
        // The pack (and the Pulumi SDKs it loads) only once there is an export to check.
        runner = await import("./lib/policyRunner");
        const config = opts.config === undefined ? undefined : runner.readPolicyConfig(opts.config);
        const violations = await runner.runPolicies(exportDoc, config);
        io.stdout(opts.json ? JSON.stringify({ violations }, null, 2) : runner.formatViolations(violations));
        return runner.hasMandatory(violations) ? 1 : 0;
    } catch (err) {
        if (err instanceof PolicyInputError || (runner !== undefined && err instanceof runner.PolicyCrashError)) {
            io.stderr(`policy: ${err.message}`);
            return 2;
        }
        throw err;
    }
}

if (require.main === module) {
    runCli("policy", () => main(process.argv), 2);
}
