/**
 * Offline synth: runs the real program (`index.ts`, unchanged) under Pulumi mocks with a stack's
 * config, then shows and checks everything it would create — without credentials, state backend
 * or cloud.
 *
 *   npm run synth -- --stack staging --out out/
 *   npm run synth -- --config-file path/to/Pulumi.mystack.yaml --json
 *   npm run synth -- --project bootstrap --out out/bootstrap     # the trust layout (bootstrap/)
 *   npm run synth -- --project iam --stack staging --out out/iam  # a stack's IAM step (iam/)
 *
 * Exit codes: 0 all good; 1 Kubernetes schema errors or mandatory policy violations; 2 config
 * errors (nothing is written); 3 the program or synth itself failed.
 */
// First: keeps Node from parsing the source maps of the SDKs loaded below (see the file).
import "./lib/dependencySourceMaps";
import { CliIo, processIo, parseCli } from "./lib/cliIo";
import { Command, Option } from "commander";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { apisForGraph } from "../bootstrap/apiTable";
import { iamStepPermissions } from "../bootstrap/deployerRoles";
import { permissionsFor } from "../bootstrap/permissionTable";
import { ConfigError, platformNamespace } from "../config";
import { CompareInputError, compareCosts, formatComparison, readReportCost } from "./lib/cost/compare";
import { usageOfConfig } from "./lib/cost/assumptions";
import { estimateCost } from "./lib/cost/estimate";
import { criticalPath, formatDuration } from "./lib/criticalPath";
import { nameOfUrn, renderSvg, toDot, warmUpSvg } from "./lib/graph";
import { validateObjects } from "./lib/k8sValidate";
import { kubernetesObjects, manifestsYaml } from "./lib/manifests";
import { runProgram, withoutStackTraces, type CaptureResult } from "./lib/mockRuntime";
import { PolicyInputError, readPolicyConfig, runPolicies } from "./lib/policyRunner";
import { collectSecretValues, containsSecret } from "./lib/redact";
import { countByType, formatReport, mandatoryViolations, type PolicyResult, type SynthReport } from "./lib/report";
import { StackFileError, loadStackConfig, type StackConfig } from "./lib/stackConfig";
import { STACK_TYPE, buildStackExport } from "./lib/stackExport";
import { formatGrants, grantsOf } from "./lib/trustReport";
import { PROJECT_DIR as PROJECT_ROOT } from "./lib/projectDir";

/** The project's root: where `index.ts` and `Pulumi.yaml` live (cli/lib/projectDir.ts). */
export const PROJECT_DIR = PROJECT_ROOT;

/**
 * The Pulumi projects synth renders, by `--project`: the main program, the bootstrap (its shipped
 * stack file `bootstrap/Pulumi.bootstrap.yaml` is the example of docs/bootstrap.md), and the IAM
 * step (`iam/Pulumi.<stack>.yaml`, which reads the main stack file of the same name).
 */
export const PROJECTS = {
    main: { dir: PROJECT_DIR, defaultStack: undefined },
    bootstrap: { dir: path.join(PROJECT_DIR, "bootstrap"), defaultStack: "bootstrap" },
    iam: { dir: path.join(PROJECT_DIR, "iam"), defaultStack: undefined },
} as const;

/** A `--project` value. */
export type SynthProject = keyof typeof PROJECTS;

/** Config errors of the three programs (their classes carry these names). */
const CONFIG_ERRORS = new Set(["ConfigError", "BootstrapConfigError", "IamConfigError"]);

/** The files `--out` receives. */
export const OUTPUT_FILES = ["stack-export.json", "manifests.yaml", "graph.dot", "graph.svg", "report.json"] as const;

/** Options of {@link synth}. */
export interface SynthOptions {
    /** Which Pulumi project to render. @default "main" */
    readonly project?: SynthProject;
    /** Stack name (`Pulumi.<stack>.yaml` in the project). */
    readonly stack?: string;
    /** Any stack file. */
    readonly configFile?: string;
    /** Directory for the five output files. */
    readonly out?: string;
    /** Print the report as JSON instead of the summary. */
    readonly json?: boolean;
    /** Policy config file for the policy pack (`{ "<policy>": "advisory" | {…} }`). @default the pack's defaults */
    readonly policyConfig?: string;
    /** The program to run. @default the project's index.ts */
    readonly program?: string;
    /** Another synth's report.json: print the monthly cost change against it. */
    readonly compareTo?: string;
}

/** Where synth prints. */
export type SynthIo = CliIo;

/** Writes the files into a fresh temporary directory beside `out`, then moves them in. */
async function writeOutputs(out: string, files: Record<(typeof OUTPUT_FILES)[number], string>): Promise<void> {
    const target = path.resolve(out);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = await mkdtemp(path.join(path.dirname(target), `.${path.basename(target)}.synth-`));
    try {
        for (const name of OUTPUT_FILES) {
            await writeFile(path.join(tmp, name), files[name]);
        }
        await mkdir(target, { recursive: true });
        for (const name of OUTPUT_FILES) {
            await rename(path.join(tmp, name), path.join(target, name));
        }
    } finally {
        await rm(tmp, { recursive: true, force: true });
    }
}

function timer(io: SynthIo): (phase: string, detail: string) => void {
    let last = Date.now();
    return (phase, detail) => {
        const now = Date.now();
        io.stderr(`[synth] ${phase}: ${detail} (${((now - last) / 1000).toFixed(1)}s)`);
        last = now;
    };
}

/** Runs synth and returns the exit code. Never throws for expected failures; prints them instead. */
export async function synth(options: SynthOptions, io: SynthIo = processIo): Promise<number> {
    const progress = timer(io);
    if (options.out) {
        warmUpSvg(); // Graphviz loads in a worker thread while the program runs
    }
    let stack: StackConfig;
    let capture: CaptureResult;
    let policyConfig: Record<string, unknown> | undefined;
    let base: ReturnType<typeof readReportCost> | undefined;
    try {
        base = options.compareTo ? readReportCost(options.compareTo) : undefined;
        policyConfig = options.policyConfig ? readPolicyConfig(options.policyConfig) : undefined;
        const project = PROJECTS[options.project ?? "main"];
        if (!project) {
            throw new StackFileError(`--project must be one of ${Object.keys(PROJECTS).join(", ")} (got ${JSON.stringify(options.project)}).`);
        }
        stack = loadStackConfig({ stack: options.stack ?? (options.configFile ? undefined : project.defaultStack), configFile: options.configFile, projectDir: project.dir });
        progress("config", `${path.relative(process.cwd(), stack.stackFile) || stack.stackFile}, ${Object.keys(stack.config).length} keys`);
        // Without stack traces for speed; a failing program runs again with them (see withoutStackTraces).
        capture = await withoutStackTraces(() => runProgram({ project: stack.project, stack: stack.stack, config: stack.config, secretKeys: stack.secretKeys, program: path.resolve(options.program ?? path.join(project.dir, "index.ts")) }));
    } catch (err) {
        if (err instanceof StackFileError || err instanceof PolicyInputError || err instanceof CompareInputError || err instanceof ConfigError || CONFIG_ERRORS.has((err as Error)?.name)) {
            io.stderr((err as Error).message);
            if (options.out) {
                io.stderr(`Nothing was written to ${options.out}.`);
            }
            return 2;
        }
        io.stderr(`synth: the program failed: ${(err as Error)?.stack ?? String(err)}`);
        return 3;
    }
    progress("program", `${capture.resources.length} resources registered`);

    const exportDoc = buildStackExport(capture, { project: stack.project, stack: stack.stack, config: stack.config, secretKeys: stack.secretKeys, secretsProvider: stack.secretsProvider });
    // The drawing is laid out in Graphviz's worker thread while the checks below run.
    const dot = options.out ? toDot(exportDoc.deployment.resources, `${stack.project} · ${stack.stack}`, isPlumbing) : "";
    const svg = options.out ? renderSvg(dot) : undefined;
    svg?.catch(() => undefined); // awaited below; an early return must not leave it unhandled
    const objects = kubernetesObjects(capture.resources);
    const schema = validateObjects(objects);
    progress("schemas", `${schema.validated} Kubernetes objects checked, ${schema.errors.length} errors`);
    let policy: PolicyResult;
    try {
        policy = { violations: await runPolicies(exportDoc, policyConfig) };
    } catch (err) {
        io.stderr(`synth: policies: ${(err as Error).message}`);
        return err instanceof PolicyInputError ? 2 : 3;
    }
    progress("policies", `${policy.violations.length} violations, ${mandatoryViolations(policy).length} mandatory`);
    const cp = criticalPath(exportDoc.deployment.resources);

    const report: SynthReport = {
        project: stack.project,
        stack: stack.stack,
        stackFile: path.relative(PROJECT_DIR, stack.stackFile),
        grants: grantsOf(capture.resources),
        exitCode: schema.errors.length > 0 || mandatoryViolations(policy).length > 0 ? 1 : 0,
        counts: {
            resources: capture.resources.length,
            custom: capture.resources.filter((r) => r.custom).length,
            components: capture.resources.filter((r) => !r.custom).length,
            kubernetesObjects: objects.length,
            byType: countByType(capture.resources),
        },
        secretPlaceholders: stack.placeholders,
        schema: { source: schemaSource(), ...schema },
        policy,
        criticalPath: {
            ...cp,
            total: formatDuration(cp.totalSeconds),
            sum: formatDuration(cp.sumSeconds),
            note: "Every figure is an estimate per resource type (sources in report.json); Ingress, certificates and DNS keep converging after pulumi up.",
        },
        ...permissionSections(options.project ?? "main", { resources: capture.resources.map((r) => r.type), invokes: capture.invokes.map((i) => i.token) }),
        apis: { source: "bootstrap/apiTable.ts", ...apisForGraph({ resources: capture.resources, invokes: capture.invokes, defaultProject: stack.config["gcp:project"] ?? "" }) },
        cost: estimateCost(capture.resources, { region: stack.config["gcp:region"] ?? "", usage: usageOfConfig(platformNamespace(stack.config, stack.project)) }),
        stackOutputs: exportDoc.deployment.resources[0].outputs,
    };

    if (options.out) {
        const files = {
            "stack-export.json": `${JSON.stringify(exportDoc, null, 2)}\n`,
            "manifests.yaml": manifestsYaml(objects, capture.resources),
            "graph.dot": dot,
            "graph.svg": await (svg as Promise<string>),
            "report.json": `${JSON.stringify(report, null, 2)}\n`,
        };
        const secrets = collectSecretValues(capture.resources);
        const leaking = Object.entries(files).filter(([, text]) => containsSecret(text, secrets));
        if (leaking.length > 0) {
            io.stderr(`synth: refusing to write ${leaking.map(([name]) => name).join(", ")}: a secret value would be written in plain text. This is a bug in synth's redaction.`);
            return 3;
        }
        await writeOutputs(options.out, files);
        progress("files", `${OUTPUT_FILES.join(", ")} written to ${options.out}`);
    }
    const comparison = base && options.compareTo ? compareCosts(base.cost, report.cost, { baseFile: options.compareTo, baseStack: base.stack, headStack: report.stack }) : undefined;
    const grantLines = (options.project ?? "main") === "main" ? [] : ["", ...formatGrants(report.grants)];
    io.stdout(
        options.json
            ? JSON.stringify(comparison ? { ...report, costComparison: comparison } : report, null, 2)
            : [formatReport(report, capture.resources), ...grantLines, ...(comparison ? ["", ...formatComparison(comparison)] : [])].join("\n"),
    );
    return report.exitCode;
}

/**
 * Who runs the project and with which permissions: the stack's deployer (computed from the
 * permission table), the IAM step's runners (`iamStepPermissions` of its types), or, for the
 * bootstrap, the owner of the projects.
 */
function permissionSections(project: SynthProject, types: { resources: string[]; invokes: string[] }): Pick<SynthReport, "permissions" | "runner"> {
    switch (project) {
        case "main":
            return { permissions: { source: "bootstrap/permissionTable.ts", ...permissionsFor(types) } };
        case "iam":
            return { runner: { who: "the people in the bootstrap's iamAdmins (custom roles djangoPlatformIamStep and, under a condition on the roles granted, djangoPlatformIamStepProjectGrants)", source: "bootstrap/permissionTable.ts", permissions: iamStepPermissions(types) } };
        case "bootstrap":
            return { runner: { who: "a person who owns the CI home project and every stack project (docs/bootstrap.md)", source: "docs/bootstrap.md", permissions: [] } };
    }
}

/** The stack root and default providers: in every export, and only clutter in a drawing. */
function isPlumbing(r: { type: string; urn: string }): boolean {
    return r.type === STACK_TYPE || (r.type.startsWith("pulumi:providers:") && nameOfUrn(r.urn).startsWith("default"));
}

function schemaSource(): string {
    const version = (pkg: string): string => (require(`${pkg}/package.json`) as { version: string }).version;
    return `kubernetes-models ${version("kubernetes-models")}, @kubernetes-models/gke ${version("@kubernetes-models/gke")}`;
}

/** Parses the command line and runs synth; returns the exit code. */
export async function main(argv: readonly string[], io: SynthIo = processIo): Promise<number> {
    const program = new Command()
        .name("synth")
        .description("Run the Pulumi program offline under mocks with a stack's config; validate, draw and summarise what it would create.")
        .addOption(new Option("-p, --project <name>", "which Pulumi project: main (index.ts), bootstrap (bootstrap/, stack bootstrap by default) or iam (iam/, the IAM step)").choices(Object.keys(PROJECTS)).default("main"))
        .option("-s, --stack <name>", "stack name: reads Pulumi.yaml and Pulumi.<name>.yaml in the project")
        .option("-c, --config-file <path>", "any stack file (Pulumi.yaml is read from beside it, else from the project)")
        .option("-o, --out <dir>", "write stack-export.json, manifests.yaml, graph.dot, graph.svg and report.json here")
        .option("--json", "print the report as JSON instead of the summary")
        .option("--policy-config <path>", "policy pack config (JSON), as for npm run policy")
        .option("--compare-to <report.json>", "print the monthly cost change per component against another synth's report.json (with --json: costComparison)")
        .addOption(new Option("--program <path>", "run another program (tests)").hideHelp())
        .addHelpText("after", "\nExit codes: 0 ok; 1 schema errors or mandatory policy violations; 2 config errors (nothing written); 3 program failure.");
    const parsed = parseCli(program, argv, io);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = program.opts<SynthOptions>();
    if (!opts.stack && !opts.configFile && !PROJECTS[opts.project ?? "main"].defaultStack) {
        io.stderr("synth: pass --stack <name> or --config-file <path>. Try --help.");
        return 2;
    }
    return synth(opts, io);
}

if (require.main === module) {
    main(process.argv).then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            process.stderr.write(`synth: ${(err as Error)?.stack ?? String(err)}\n`);
            process.exitCode = 3;
        },
    );
}
