/**
 * Runs a stack on this machine the way the cluster runs it, without containers, a cluster or a
 * cloud account: renders the stack (as `npm run synth` does), starts local stand-ins for its
 * backing services (PostgreSQL for Cloud SQL, Redis as rendered or a TLS Redis for Memorystore,
 * the GCS emulator, Workload Identity's metadata server and IAM signBlob), runs every Job to
 * completion, every Deployment's pod with its probes, each CronJob's job template once — each
 * with exactly its rendered command, environment and working directory in a read-only copy of the
 * project — and serves the site on localhost.
 *
 *   npm run local -- --stack staging                # the site on http://127.0.0.1:8000/, Ctrl-C stops it
 *   npm run local -- --stack staging --check        # run everything once, report, stop; exit code
 *   npm run local -- --config-file Pulumi.mine.yaml --app ../mysite --port 0
 *
 * Exit codes: 0 everything ran (with --check: every Job and CronJob completed, every pod became
 * ready and no probe killed one); 1 a workload failed (named, with its command and last lines);
 * 2 config errors, bad arguments, a missing program or a port in use (one line each, with the fix);
 * 3 a backing service did not start, or the tool itself failed. Nothing it started is left running.
 */
import "./lib/dependencySourceMaps";
import { Command, InvalidArgumentError, Option } from "commander";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { ConfigError } from "../config";
import { APP_DIR } from "./lib/appPython";
import { processIo, parseCli, type CliIo } from "./lib/cliIo";
import { findBinaries } from "./lib/local/binaries";
import { PortInUseError } from "./lib/local/front";
import { killAllGroups } from "./lib/local/processes";
import { readManifests, renderStack, type RenderedStack } from "./lib/local/render";
import { failureLines, statusLines, terminationLines } from "./lib/local/report";
import { PlanError } from "./lib/local/plan";
import { LocalRun } from "./lib/local/run";
import { ServiceError, LocalServices } from "./lib/local/services";
import { StackFileError } from "./lib/stackConfig";

/** Parsed options. */
export interface LocalOptions {
    readonly stack?: string;
    readonly configFile?: string;
    readonly manifests?: string;
    readonly app: string;
    readonly port: number;
    readonly check?: boolean;
    readonly logs?: boolean;
    readonly fastStop?: boolean;
}

/** Where signals come from (tests pass an EventEmitter). */
export interface SignalSource {
    on(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
    off(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
}

function parsePort(value: string): number {
    const port = Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError("a port number from 0 to 65535 (0: any free port)");
    return port;
}

/** Throws PortInUseError when 127.0.0.1:`port` cannot be listened on. */
function assertPortFree(port: number): Promise<void> {
    if (port === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(port) : error));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
    });
}

/** Runs the command; returns the exit code. */
export async function local(options: LocalOptions, io: CliIo = processIo, signals: SignalSource = process): Promise<number> {
    const began = performance.now();
    const progress = (line: string) => io.stderr(`[local ${((performance.now() - began) / 1000).toFixed(1)}s] ${line}`);
    const found = findBinaries();
    const appDir = path.resolve(options.app);
    const problems = [...found.problems];
    if (!existsSync(path.join(appDir, "manage.py"))) problems.push(`--app ${options.app}: no manage.py there; name your Django project's directory (the one its Dockerfile copies to /app)`);
    try {
        await assertPortFree(options.port);
    } catch (error) {
        problems.push((error as Error).message);
    }
    if (problems.length > 0 || !found.binaries) {
        for (const p of problems) io.stderr(`local: ${p}`);
        return 2;
    }
    const binaries = found.binaries;

    let stack: RenderedStack;
    try {
        stack = options.manifests ? readManifests(options.manifests) : await renderStack({ stack: options.stack, configFile: options.configFile });
    } catch (error) {
        if (error instanceof StackFileError || error instanceof ConfigError || (error as Error)?.name === "ConfigError") {
            io.stderr((error as Error).message);
            return 2;
        }
        throw error;
    }
    progress(`rendered ${stack.name}: ${stack.docs.length} Kubernetes objects`);

    let services: LocalServices | undefined;
    let run: LocalRun | undefined;
    let interrupted = 0;
    let wake: () => void = () => undefined;
    const onSignal = () => {
        interrupted += 1;
        if (interrupted === 1) {
            io.stderr("local: stopping everything (termination sequence as rendered: preStop, SIGTERM, grace period); Ctrl-C again kills at once");
        } else {
            io.stderr("local: killing everything now");
            void run?.kill();
            killAllGroups();
        }
        wake();
    };
    signals.on("SIGINT", onSignal);
    signals.on("SIGTERM", onSignal);
    try {
        const emptyDirs = stack.docs.flatMap((d) => {
            const template = d.kind === "CronJob" ? d.spec?.jobTemplate?.spec?.template : d.spec?.template;
            const names = new Set((template?.spec.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
            return (template?.spec.containers ?? []).flatMap((c) => (c.volumeMounts ?? []).filter((m) => names.has(m.name)).map((m) => m.mountPath));
        });
        progress("starting PostgreSQL, the GCS emulator and the Google API stand-ins");
        services = await LocalServices.start({
            fakeGcsServer: binaries.fakeGcsServer,
            avoid: emptyDirs,
            onOutput: options.logs ? (service, text) => io.stdout(prefixed(service, text)) : undefined,
        });
        if (interrupted) return 130;
        run = await LocalRun.start({
            docs: stack.docs,
            iam: stack.iam,
            services,
            appDir,
            python: binaries.python,
            sitePort: options.port,
            restart: !options.check,
            fastStop: options.fastStop,
            onProgress: progress,
            onOutput: options.logs ? (source, text) => io.stdout(prefixed(source, text)) : undefined,
        });
        if (run.failures.length === 0 && !interrupted) {
            await run.runCronJobs();
            if (options.check) await run.livenessSeen();
        }
        for (const line of statusLines(services, run)) io.stdout(line);
        if (run.front) io.stdout(`\nsite: ${run.front.url} (the load balancer's place: Host ${siteHostOf(run)}, X-Forwarded-Proto https)`);
        if (!options.check && !interrupted) {
            io.stdout(`\nrunning; Ctrl-C stops everything (${((performance.now() - began) / 1000).toFixed(1)} s to start)`);
            await new Promise<void>((resolve) => {
                wake = resolve;
            });
        }
        if (interrupted < 2) {
            progress("stopping: the termination sequence of every pod");
            await run.stop();
            const ended = terminationLines(run);
            if (ended.length) io.stdout(["", "termination", ...ended].join("\n"));
        }
        for (const line of failureLines(run)) io.stdout(line);
        const failed = run.failures.length;
        io.stdout(`\n${failed === 0 ? "OK" : `FAILED: ${failed} workload(s)`}: ${stack.name} in ${((performance.now() - began) / 1000).toFixed(1)} s`);
        if (interrupted) return 130;
        return failed === 0 ? 0 : 1;
    } catch (error) {
        if (error instanceof PortInUseError) {
            io.stderr(`local: ${error.message}`);
            return 2;
        }
        if (error instanceof ServiceError || error instanceof PlanError) {
            io.stderr(`local: ${error.message}`);
            return 3;
        }
        io.stderr(`local: ${(error as Error)?.stack ?? String(error)}`);
        return 3;
    } finally {
        signals.off("SIGINT", onSignal);
        signals.off("SIGTERM", onSignal);
        await run?.kill().catch(() => undefined);
        await services?.close().catch(() => undefined);
        killAllGroups();
    }
}

function siteHostOf(run: LocalRun): string {
    const cert = run.options.docs.find((d) => d.kind === "ManagedCertificate") as unknown as { spec?: { domains?: string[] } } | undefined;
    return cert?.spec?.domains?.[0] ?? "?";
}

function prefixed(source: string, text: string): string {
    return text.replace(/\n$/, "").split("\n").map((line) => `${source} | ${line}`).join("\n");
}

/** Parses the command line and runs; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo, signals: SignalSource = process): Promise<number> {
    const program = new Command()
        .name("local")
        .description("Run a stack's rendered workloads on this machine: no containers, no cluster, no cloud account.")
        .option("-s, --stack <name>", "stack name: reads Pulumi.yaml and Pulumi.<name>.yaml in the project")
        .option("-c, --config-file <path>", "any stack file")
        .option("--manifests <file>", "run the objects of a manifests.yaml that `npm run synth -- --out` wrote (IAM then unchecked)")
        .option("--app <dir>", "the Django project the image holds (the directory its Dockerfile copies to /app)", APP_DIR)
        .option("-p, --port <n>", "port of the site on 127.0.0.1 (0: any free port)", parsePort, 8000)
        .option("--check", "run every Job, Deployment and CronJob once, print the table, stop; exit 1 when one failed")
        .option("--logs", "print every process's output, prefixed with its workload")
        .addOption(new Option("--fast-stop", "skip preStop hooks when stopping (tests)").hideHelp())
        .addHelpText("after", "\nExit codes: 0 ok; 1 a workload failed; 2 config errors, bad arguments, a missing program or a port in use; 3 a service did not start or the tool failed.");
    const parsed = parseCli(program, argv, io);
    if (parsed !== undefined) return parsed;
    const opts = program.opts<LocalOptions>();
    if ([opts.stack, opts.configFile, opts.manifests].filter(Boolean).length !== 1) {
        io.stderr("local: pass one of --stack <name>, --config-file <path> or --manifests <file>. Try --help.");
        return 2;
    }
    return local(opts, io, signals);
}

if (require.main === module) {
    main(process.argv).then(
        (code) => process.exit(code),
        (error: unknown) => {
            process.stderr.write(`local: ${(error as Error)?.stack ?? String(error)}\n`);
            killAllGroups();
            process.exit(3);
        },
    );
}
