#!/usr/bin/env node
/**
 * `django-platform`: the package's one command, run inside a consumer's Pulumi project (the nearest
 * directory at or above the working directory with a `Pulumi.yaml`; its `index.ts` and
 * `Pulumi.<stack>.yaml` are what the commands read):
 *
 *   django-platform synth --stack staging --out out/   offline synth: manifests, graph, report, policy
 *   django-platform policy out/stack-export.json       the policy pack on any stack export
 *   django-platform cost --stack staging               monthly cost; or the change between two reports
 *   django-platform preflight --stack staging          read-only checks against Google's APIs
 *   django-platform manage --stack staging migrate     a manage.py command in the cluster
 *   django-platform release --stack staging …          build, push and pin the app's image
 *   django-platform local --stack staging              the rendered pods on this machine
 *
 * Compiled to JavaScript in the package; in this repository the npm scripts run the same commands
 * from their TypeScript sources (`npm run synth -- …`).
 */
import { readFileSync } from "node:fs";
import Module from "node:module";
import * as path from "node:path";
import { PROJECT_DIR_ENV, findProjectDir } from "./lib/findProject";

/** The commands, by name: their module (each exports `main`) and a one-line summary. */
const COMMANDS: Record<string, { readonly module: string; readonly summary: string; readonly project: boolean }> = {
    synth: { module: "./synth", summary: "run the program offline under mocks: manifests, graph, cost, policy report", project: true },
    policy: { module: "./policy", summary: "run the policy pack on a stack export (synth's stack-export.json or `pulumi stack export`)", project: false },
    cost: { module: "./cost", summary: "monthly cost of a stack, or the change between two synth reports", project: false },
    preflight: { module: "./preflight", summary: "read-only checks of a stack against Google's APIs before pulumi up", project: true },
    manage: { module: "./manage", summary: "run a manage.py command as a one-off Job in the stack's cluster", project: true },
    release: { module: "./release", summary: "build and push the app's image, pin it in the stack's config", project: true },
    local: { module: "./local", summary: "run the stack's rendered pods on this machine (PostgreSQL, Redis, fake GCS)", project: true },
};

function version(): string {
    for (const candidate of [path.join(__dirname, "..", "package.json"), path.join(__dirname, "..", "..", "package.json")]) {
        try {
            return (JSON.parse(readFileSync(candidate, "utf8")) as { version: string }).version;
        } catch {
            // next
        }
    }
    return "unknown";
}

function usage(): string {
    const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
    return [
        "Usage: django-platform <command> [options]   (inside a Pulumi project made from templates/django-platform)",
        "",
        "Commands:",
        ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
        "",
        "django-platform <command> --help shows a command's options. -v, --version prints the version.",
    ].join("\n");
}

/**
 * Lets `require` load the consumer's TypeScript program when nothing else does (tsx or ts-node
 * register `.ts` themselves): transpiled, not type-checked, with the `typescript` package of the
 * consumer's project, which a Pulumi TypeScript project has (Pulumi's own runner needs it too).
 */
function registerTypeScript(projectDir: string): void {
    const extensions = (Module as unknown as { _extensions: Record<string, unknown> })._extensions;
    if (extensions[".ts"] !== undefined) {
        return;
    }
    let ts: typeof import("typescript") | undefined;
    extensions[".ts"] = (module: { _compile(code: string, file: string): void }, filename: string): void => {
        if (ts === undefined) {
            try {
                ts = require(require.resolve("typescript", { paths: [projectDir, __dirname] })) as typeof import("typescript");
            } catch {
                throw new Error(`django-platform: ${filename} is TypeScript and the project has no typescript package. Fix: npm install --save-dev typescript`);
            }
        }
        const out = ts.transpileModule(readFileSync(filename, "utf8"), {
            fileName: filename,
            compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
        });
        module._compile(out.outputText, filename);
    };
}

/** Runs the bin with `args` (without node and the script); returns the exit code. */
export async function run(args: readonly string[]): Promise<number> {
    const [name, ...rest] = args;
    if (name === undefined || name === "help" || name === "--help" || name === "-h") {
        process.stdout.write(`${usage()}\n`);
        return name === undefined ? 2 : 0;
    }
    if (name === "--version" || name === "-v") {
        process.stdout.write(`${version()}\n`);
        return 0;
    }
    const command = COMMANDS[name];
    if (command === undefined) {
        process.stderr.write(`django-platform: unknown command ${JSON.stringify(name)}.\n${usage()}\n`);
        return 2;
    }
    const asksHelp = rest.includes("--help") || rest.includes("-h");
    if (!process.env[PROJECT_DIR_ENV]) {
        const projectDir = findProjectDir(process.cwd());
        if (projectDir === undefined && command.project && !asksHelp) {
            process.stderr.write(`django-platform ${name}: no Pulumi.yaml in ${process.cwd()} or above. Fix: run it inside your Pulumi project (pulumi new <template>, see the package's README).\n`);
            return 2;
        }
        process.env[PROJECT_DIR_ENV] = projectDir ?? process.cwd();
    }
    registerTypeScript(process.env[PROJECT_DIR_ENV] as string);
    // Loaded only now: the commands read the project directory when their module loads.
    const loaded = require(command.module) as { main(argv: readonly string[], ...more: unknown[]): Promise<number> | number };
    const argv = name === "release" ? rest : [process.execPath, `django-platform ${name}`, ...rest];
    if (name === "release") {
        try {
            return await loaded.main(argv, process.env[PROJECT_DIR_ENV]);
        } catch (err) {
            // commander has already printed its usage error.
            return (err as { exitCode?: number }).exitCode ?? 1;
        }
    }
    return loaded.main(argv);
}

if (require.main === module) {
    run(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            process.stderr.write(`django-platform: ${(err as Error)?.stack ?? String(err)}\n`);
            process.exitCode = 3;
        },
    );
}
