/**
 * Moves a main stack's state from the single-deployer layout to the IAM step's
 * (docs/trust-migration.md): reads a `pulumi stack export` file, removes the service accounts and
 * project grants the IAM step now owns (they stay in Google Cloud), drops every reference to them,
 * and writes the file `pulumi stack import` takes back. Prints what it removed and how the IAM step
 * adopts each one.
 *
 *   pulumi stack export --stack staging --file staging.before.json
 *   npm run migrate:trust -- --in staging.before.json --out staging.after.json
 *   pulumi stack import --stack staging --file staging.after.json
 *
 * Exit codes: 0 written; 2 unreadable or not an export (nothing written).
 */
import { Command } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { CliIo, parseCli, processIo, runCli } from "../cli/lib/cliIo";
import { MigrationInputError, importIdOf, migrateExport, type ExportDocument } from "./lib/trustMigration";

/** Runs the tool; returns the exit code. */
export function main(argv: readonly string[], io: CliIo = processIo): number {
    const program = new Command()
        .name("migrate:trust")
        .description("Take the accounts and project grants the IAM step now owns out of a main stack's exported state.")
        .requiredOption("--in <file>", "the output of `pulumi stack export --stack <stack> --file <file>`")
        .requiredOption("--out <file>", "where to write the edited export, for `pulumi stack import --file`");
    const parsed = parseCli(program, argv, io);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = program.opts<{ in: string; out: string }>();
    let doc: ExportDocument;
    try {
        doc = JSON.parse(readFileSync(opts.in, "utf8")) as ExportDocument;
    } catch (err) {
        io.stderr(`migrate:trust: cannot read ${opts.in}: ${(err as Error).message}`);
        return 2;
    }
    let migration: ReturnType<typeof migrateExport>;
    try {
        migration = migrateExport(doc);
    } catch (err) {
        if (err instanceof MigrationInputError) {
            io.stderr(`migrate:trust: ${opts.in}: ${err.message}`);
            return 2;
        }
        throw err;
    }
    writeFileSync(opts.out, `${JSON.stringify(migration.document, null, 4)}\n`);
    io.stdout(`Removed ${migration.removed.length} resources from the state (they stay in Google Cloud):`);
    for (const r of migration.removed) {
        const id = importIdOf(r);
        io.stdout(`  ${r.type} ${r.urn.split("::").pop()}${id ? `: the IAM step adopts it as "${id}"` : ": left as it is (a pull grant on the old registry; delete it with that registry)"}`);
    }
    io.stdout(`Wrote ${opts.out}. Next: pulumi stack import --file ${opts.out}, then the IAM step with adoptExisting true (docs/trust-migration.md).`);
    return 0;
}

if (require.main === module) {
    runCli("migrate:trust", async () => main(process.argv), 3);
}
