/**
 * One-off Django management commands in the cluster: renders a Job from the stack's own pod
 * template — the migrate Job's, as the real program renders it under mocks (same image, env
 * contract, Cloud SQL Auth Proxy sidecar, restricted security context) — as the web identity (its
 * service account and per-container env: its own database login, which may read and write rows
 * but not change the schema, and the media bucket), with the command replaced, and prints it. With `--apply` it runs the Job with kubectl, follows its logs and
 * exits with the command's exit code. See docs/operations.md, "One-off commands".
 *
 *   npm run manage -- --stack staging -- migrate --plan
 *   npm run manage -- --stack production --apply -- createsuperuser --no-input --username admin
 *
 * Applying is explicit (`--apply`), never inferred from a kubeconfig being present: a command
 * against production must be asked for, not happen because `~/.kube/config` exists.
 *
 * Names only the cluster knows (the env ConfigMap and Secret, which Pulumi names with a random
 * suffix, and the Cloud SQL instance connection name) are read from the live web Deployment
 * before applying, so the Job uses exactly what the web pods use. Secrets stay in the Secret: the
 * Job references it and never holds a value.
 *
 * Exit codes: the command's own exit code after `--apply`; 0 after printing; 2 config or usage
 * error; 3 the program or kubectl failed.
 */
import { Command, Option } from "commander";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { stringify } from "yaml";
import { labelsFor } from "../components/kube";
import { CliIo, parseCli, processIo, runCli } from "./lib/cliIo";
import { runProgram, type CapturedResource } from "./lib/mockRuntime";
import { StackFileError, loadStackConfig } from "./lib/stackConfig";

/** The project's root: where `index.ts` and `Pulumi.yaml` live. */
export const PROJECT_DIR = path.resolve(__dirname, "..");

/** Name of the app container in a one-off Job (for `kubectl logs -c`). */
export const MANAGE_CONTAINER = "manage";
/** Seconds a finished one-off Job (and its logs) stays in the cluster. */
export const MANAGE_TTL_SECONDS = 3600;
/** Default longest run of a one-off command. */
export const MANAGE_DEADLINE_SECONDS = 3600;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** Options of {@link renderManageJob}. */
export interface ManageRenderOptions {
    readonly stack?: string;
    readonly configFile?: string;
    /** Arguments of `manage.py`, e.g. `["migrate", "--plan"]`. */
    readonly args: readonly string[];
    /** @default {@link MANAGE_DEADLINE_SECONDS} */
    readonly deadlineSeconds?: number;
    /** The Job name's suffix. @default a timestamp and 4 random hex digits */
    readonly suffix?: string;
    /** The program to render. @default the project's index.ts */
    readonly program?: string;
}

/** A rendered one-off Job. */
export interface ManageJob {
    readonly name: string;
    readonly namespace: string;
    readonly stack: string;
    /** The Job object (apiVersion batch/v1). */
    readonly job: Json;
}

/** A DNS-safe suffix: UTC time to the second, then 4 random hex digits (two runs in one second differ). */
export function jobSuffix(now: Date = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "").toLowerCase();
    return `${stamp}-${randomBytes(2).toString("hex")}`;
}

/** The one rendered object of `kind` and component `component` of a capture. */
function renderedOne(resources: readonly CapturedResource[], kind: string, component: string): Json {
    const found = resources.filter((r) => r.type === `kubernetes:${kind}` && (r.inputs as Json)?.metadata?.labels?.["app.kubernetes.io/component"] === component);
    if (found.length !== 1) {
        throw new Error(`expected one ${component} ${kind} in the rendered stack, found ${found.length}`);
    }
    const r = found[0];
    return Object.keys(r.outputs).length > 0 ? r.outputs : r.inputs;
}

/**
 * The one-off Job for `args`: the migrate Job's pod template (a Job's restart policy, the proxy
 * sidecar, the Job container's resources) run as the web identity: the web pods' service account
 * and the web container's own env (its database login and media bucket; not the pod IP), the app
 * container renamed `manage` and running `python manage.py <args>`. The migrate identity owns the
 * schema; one-off commands only read and write rows (schema changes ship as migrations). No
 * retries (`backoffLimit: 0`: a management command is not known to be idempotent), a deadline, and
 * `ttlSecondsAfterFinished` so the cluster removes it (it is not in the Pulumi state).
 */
export function manageJobFrom(template: Json, web: Json, o: { stack: string; namespace: string; args: readonly string[]; suffix: string; deadlineSeconds: number }): ManageJob {
    const spec = structuredClone(template.spec.template.spec);
    const webSpec = web.spec.template.spec;
    const webApp = (webSpec.containers as Json[]).find((c) => c.name === "web") ?? webSpec.containers[0];
    const [app, ...others] = spec.containers as Json[];
    spec.serviceAccountName = webSpec.serviceAccountName;
    const env = structuredClone(((webApp.env ?? []) as Json[]).filter((e) => !e.valueFrom));
    spec.containers = [{ ...app, name: MANAGE_CONTAINER, command: ["python", "manage.py", ...o.args], env }, ...others];
    const name = `django-manage-${o.suffix}`;
    // Not managed by Pulumi: applied by this tool and removed by its TTL.
    const labels = { ...labelsFor("manage", o.stack), "app.kubernetes.io/managed-by": "npm-run-manage" };
    const job = {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name, namespace: o.namespace, labels },
        spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: o.deadlineSeconds,
            ttlSecondsAfterFinished: MANAGE_TTL_SECONDS,
            template: { metadata: { labels }, spec },
        },
    };
    return { name, namespace: o.namespace, stack: o.stack, job };
}

/** Renders the stack offline (the same path as `npm run synth`) and builds the one-off Job. */
export async function renderManageJob(o: ManageRenderOptions): Promise<ManageJob> {
    const stack = loadStackConfig({ stack: o.stack, configFile: o.configFile, projectDir: PROJECT_DIR });
    const capture = await runProgram({ project: stack.project, stack: stack.stack, config: stack.config, secretKeys: stack.secretKeys, program: path.resolve(o.program ?? path.join(PROJECT_DIR, "index.ts")) });
    const template = renderedOne(capture.resources, "batch/v1:Job", "migrate");
    return manageJobFrom(template, renderedOne(capture.resources, "apps/v1:Deployment", "web"), {
        stack: stack.stack,
        namespace: template.metadata.namespace,
        args: o.args,
        suffix: o.suffix ?? jobSuffix(),
        deadlineSeconds: o.deadlineSeconds ?? MANAGE_DEADLINE_SECONDS,
    });
}

/** The Job as YAML, as printed and as piped to `kubectl apply -f -`. */
export function manageJobYaml(m: ManageJob): string {
    return stringify(m.job, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** A kubectl invocation's result. */
export interface KubectlResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs kubectl: one call and its output, and a streaming `logs -f`. Tests put a fake kubectl on PATH. */
export interface Kubectl {
    run(args: readonly string[], input?: string): KubectlResult;
    stream(args: readonly string[], onLine: (line: string) => void): Promise<number | null>;
}

/** The real kubectl, found on `env.PATH`. */
export function kubectlIn(env: Readonly<Record<string, string | undefined>>): Kubectl {
    return {
        run(args, input) {
            const r = spawnSync("kubectl", [...args], { input, encoding: "utf8", env: env as NodeJS.ProcessEnv, timeout: 120_000 });
            if (r.error) {
                return { status: null, stdout: "", stderr: r.error.message };
            }
            return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
        },
        stream(args, onLine) {
            return new Promise((resolve) => {
                const child = spawn("kubectl", [...args], { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
                let buffer = "";
                const flush = (chunk: string) => {
                    buffer += chunk;
                    const lines = buffer.split("\n");
                    buffer = lines.pop() ?? "";
                    lines.forEach(onLine);
                };
                child.stdout.setEncoding("utf8").on("data", flush);
                child.stderr.setEncoding("utf8").on("data", flush);
                child.on("error", () => resolve(null));
                child.on("close", (code) => {
                    if (buffer) onLine(buffer);
                    resolve(code);
                });
            });
        },
    };
}

/** Failure of a kubectl step; the message says which and why. */
export class KubectlError extends Error {}

/**
 * Replaces what only the cluster knows with the live web Deployment's values: the env
 * ConfigMap/Secret references (and the Cloud SQL Auth Proxy arguments, whose instance connection
 * name ends in a generated suffix). Refuses when the live web pods run another image than the
 * stack file (the stack is not deployed as configured: run `pulumi up` first).
 */
export function withLiveNames(m: ManageJob, liveDeployment: Json): ManageJob {
    const live = liveDeployment.spec.template.spec;
    const liveWeb = (live.containers as Json[]).find((c) => c.name === "web");
    if (!liveWeb) {
        throw new KubectlError("the live web Deployment has no container named web");
    }
    const job = structuredClone(m.job);
    const spec = job.spec.template.spec;
    const app = spec.containers[0];
    if (liveWeb.image !== app.image) {
        throw new KubectlError(`the cluster's web pods run ${liveWeb.image}, but the stack file says ${app.image}; deploy it first (pulumi up) so the command runs the code and env the site runs`);
    }
    app.envFrom = liveWeb.envFrom;
    const liveProxy = (live.initContainers ?? []).find((c: Json) => c.name === "cloud-sql-proxy");
    spec.initContainers = (spec.initContainers ?? []).map((c: Json) => (c.name === "cloud-sql-proxy" && liveProxy ? { ...c, args: liveProxy.args } : c));
    return { ...m, job };
}

/** Waits, polls and gives up after these (tests make them short). */
export interface ApplyTiming {
    /** Between attempts to attach to the logs and between status polls, ms. @default 2000 */
    readonly pollMs?: number;
    /** How long to wait for the Job to finish after its logs ended, ms. @default 120000 */
    readonly finishTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The app container's exit code from the Job's pod, else 0/1 from the Job's status; undefined while running. */
function exitCodeOf(kubectl: Kubectl, m: ManageJob): number | undefined {
    const job = kubectl.run(["get", "job", m.name, "-n", m.namespace, "-o", "json"]);
    if (job.status !== 0) {
        throw new KubectlError(`kubectl get job ${m.name} failed: ${job.stderr.trim()}`);
    }
    const status = JSON.parse(job.stdout).status ?? {};
    if (!(status.succeeded > 0) && !(status.failed > 0)) {
        return undefined;
    }
    const pods = kubectl.run(["get", "pods", "-n", m.namespace, "-l", `job-name=${m.name}`, "-o", "json"]);
    if (pods.status === 0) {
        for (const pod of JSON.parse(pods.stdout).items ?? []) {
            const app = (pod.status?.containerStatuses ?? []).find((c: Json) => c.name === MANAGE_CONTAINER);
            const code = app?.state?.terminated?.exitCode;
            if (typeof code === "number") {
                return code;
            }
        }
    }
    return status.succeeded > 0 ? 0 : 1;
}

/** Applies the Job, follows its logs, returns the command's exit code. */
export async function applyManageJob(rendered: ManageJob, kubectl: Kubectl, io: CliIo, timing: ApplyTiming = {}): Promise<number> {
    const pollMs = timing.pollMs ?? 2000;
    const selector = `app.kubernetes.io/component=web,app.kubernetes.io/instance=${rendered.stack}`;
    const web = kubectl.run(["get", "deployments", "-n", rendered.namespace, "-l", selector, "-o", "json"]);
    if (web.status !== 0) {
        throw new KubectlError(`kubectl get deployments -l ${selector} failed: ${web.stderr.trim() || "kubectl not found"}`);
    }
    const items = JSON.parse(web.stdout).items ?? [];
    if (items.length !== 1) {
        throw new KubectlError(`expected one web Deployment (${selector}) in namespace ${rendered.namespace}, found ${items.length}; is the stack deployed and kubectl pointed at its cluster?`);
    }
    const m = withLiveNames(rendered, items[0]);
    const applied = kubectl.run(["apply", "-f", "-"], manageJobYaml(m));
    if (applied.status !== 0) {
        throw new KubectlError(`kubectl apply failed: ${applied.stderr.trim()}`);
    }
    io.stderr(`manage: job/${m.name} created in ${m.namespace}; following its logs`);
    // The pod may still be scheduled or pulling its image: retry attaching until its logs open.
    const deadline = Date.now() + (timing.finishTimeoutMs ?? 120_000) + (m.job.spec.activeDeadlineSeconds as number) * 1000;
    for (;;) {
        const code = await kubectl.stream(["logs", "-f", `job/${m.name}`, "-n", m.namespace, "-c", MANAGE_CONTAINER], (line) => io.stdout(line));
        if (code === 0 || exitCodeOf(kubectl, m) !== undefined || Date.now() > deadline) {
            break;
        }
        await sleep(pollMs);
    }
    for (;;) {
        const code = exitCodeOf(kubectl, m);
        if (code !== undefined) {
            io.stderr(`manage: job/${m.name} finished with exit code ${code}`);
            return code;
        }
        if (Date.now() > deadline) {
            throw new KubectlError(`job/${m.name} has not finished; see \`kubectl get job ${m.name} -n ${m.namespace}\``);
        }
        await sleep(pollMs);
    }
}

/** Options of the command line. */
interface CliOptions {
    readonly stack?: string;
    readonly configFile?: string;
    readonly apply?: boolean;
    readonly deadline?: string;
    readonly program?: string;
    readonly pollMs?: string;
}

/** Parses the command line, renders (and with --apply runs) the Job; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
    const program = new Command()
        .name("manage")
        .description("Run a Django management command once in the stack's cluster, as a Job built from the stack's pod template (image, env, identity, Cloud SQL Auth Proxy). Prints the Job; --apply runs it.")
        .usage("--stack <name> [--apply] -- <manage.py arguments>")
        .option("-s, --stack <name>", "stack name: reads Pulumi.yaml and Pulumi.<name>.yaml in the project")
        .option("-c, --config-file <path>", "any stack file")
        .option("--apply", "apply the Job with kubectl (current context), follow its logs and exit with its exit code")
        .option("--deadline <seconds>", "longest the command may run (activeDeadlineSeconds)", String(MANAGE_DEADLINE_SECONDS))
        .addOption(new Option("--program <path>", "render another program (tests)").hideHelp())
        .addOption(new Option("--poll-ms <ms>", "poll interval (tests)").hideHelp())
        .argument("<args...>", "arguments of manage.py, after --")
        .addHelpText("after", "\nExit codes: the command's exit code with --apply; 0 after printing; 2 config or usage error; 3 the program or kubectl failed.");
    const parsed = parseCli(program, argv, io);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = program.opts<CliOptions>();
    const args = program.args;
    if (!opts.stack && !opts.configFile) {
        io.stderr("manage: pass --stack <name> or --config-file <path>. Try --help.");
        return 2;
    }
    const deadlineSeconds = Number(opts.deadline);
    if (!Number.isInteger(deadlineSeconds) || deadlineSeconds < 1) {
        io.stderr(`manage: --deadline must be a positive whole number of seconds (got ${JSON.stringify(opts.deadline)}).`);
        return 2;
    }
    let rendered: ManageJob;
    try {
        rendered = await renderManageJob({ stack: opts.stack, configFile: opts.configFile, args, deadlineSeconds, program: opts.program });
    } catch (err) {
        if (err instanceof StackFileError || (err as Error)?.name === "ConfigError") {
            io.stderr(`manage: ${(err as Error).message}`);
            return 2;
        }
        io.stderr(`manage: the program failed under mocks: ${(err as Error)?.message ?? String(err)}`);
        return 3;
    }
    if (!opts.apply) {
        io.stdout(manageJobYaml(rendered).trimEnd());
        io.stderr(`manage: printed job/${rendered.name}; add --apply to run it with kubectl (current context).`);
        return 0;
    }
    try {
        return await applyManageJob(rendered, kubectlIn(env), io, { pollMs: opts.pollMs ? Number(opts.pollMs) : undefined });
    } catch (err) {
        if (err instanceof KubectlError) {
            io.stderr(`manage: ${err.message}`);
            return 3;
        }
        throw err;
    }
}

if (require.main === module) {
    runCli("manage", () => main(process.argv), 3);
}
