/**
 * One-off Django management commands in the cluster: renders a Job from the stack's own pod
 * template — the migrate Job's, as the real program renders it under mocks (same image, env
 * contract, Cloud SQL Auth Proxy sidecar, restricted security context) — as the web identity (its
 * service account and per-container env: its own database login, which may read and write rows
 * but not change the schema, and the media bucket), with the command replaced, and prints it. With `--apply` it runs the Job with kubectl, follows its logs and
 * exits with the command's exit code. See docs/operations.md, "One-off commands".
 *
 *   npm run manage -- --stack staging -- migrate --plan
 *   npm run manage -- --stack production --apply --env DJANGO_SUPERUSER_PASSWORD -- createsuperuser --no-input --username admin
 *
 * Applying is explicit (`--apply`), never inferred from a kubeconfig being present: a command
 * against production must be asked for, not happen because `~/.kube/config` exists.
 *
 * Names only the cluster knows (the env ConfigMap and Secret, which Pulumi names with a random
 * suffix, and the Cloud SQL instance connection name) are read from the live web Deployment
 * before applying, so the Job uses exactly what the web pods use. Secrets stay in the Secret: the
 * Job references it and never holds a value.
 *
 * Values a command needs (`--env DJANGO_SUPERUSER_PASSWORD` for `createsuperuser --no-input`,
 * which reads the password from that variable: Django's createsuperuser refuses to prompt without a
 * TTY, so stdin cannot carry it) are taken from the local environment or a prompt that does not
 * echo, never from the command line (shell history). They reach the pod through a Secret made for
 * this run, `<job>-env`: the Job (stored in etcd, shown by `kubectl get job -o yaml`) holds only a
 * `secretKeyRef`; the Secret is immutable, owned by the Job (so the Job's TTL garbage-collects it
 * even if this tool is killed) and deleted as soon as the command ends. Whoever can read Secrets in
 * the namespace could read it meanwhile: they can read the app's env Secret (database password,
 * SECRET_KEY) already. `--stdin` attaches local stdin to the command instead (the container has
 * `stdin`/`stdinOnce`; `kubectl attach -i`), for input that is not a secret setting: a script for
 * `shell`, a fixture for `loaddata -`.
 *
 * Exit codes: the command's own exit code after `--apply`; 0 after printing; 2 config or usage
 * error; 3 the program or kubectl failed.
 */
import { Command, Option } from "commander";
import { spawn, spawnSync } from "node:child_process";
import { openSync } from "node:fs";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import * as tty from "node:tty";
import { stringify } from "yaml";
import { RESERVED_NAMES } from "../components/appEnv";
import { labelsFor } from "../components/kube";
import { validateConfig } from "../config";
import { CliIo, parseCli, processIo, runCli } from "./lib/cliIo";
import { runProgram, type CapturedResource } from "./lib/mockRuntime";
import { StackFileError, loadStackConfig } from "./lib/stackConfig";
import { PROJECT_DIR as PROJECT_ROOT } from "./lib/projectDir";

/** The project's root: where `index.ts` and `Pulumi.yaml` live (cli/lib/projectDir.ts). */
export const PROJECT_DIR = PROJECT_ROOT;

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
    /** Variables the command gets from the run's own Secret (`<job>-env`); values are given at apply time. @default none */
    readonly env?: readonly string[];
    /** Open the container's stdin for `kubectl attach -i` (`stdin`, `stdinOnce`). @default false */
    readonly stdin?: boolean;
}

/** A rendered one-off Job. */
export interface ManageJob {
    readonly name: string;
    readonly namespace: string;
    readonly stack: string;
    /** The Job object (apiVersion batch/v1). */
    readonly job: Json;
    /** Names of the variables the run's Secret carries (`--env`); empty without one. */
    readonly envNames: readonly string[];
    /** The run's Secret, `<job>-env`, when there are `envNames`. */
    readonly secretName?: string;
    /** Whether the container's stdin is open for `kubectl attach -i`. */
    readonly stdin: boolean;
    /** The command that points kubectl at the stack's cluster. */
    readonly credentials: string;
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
export function manageJobFrom(template: Json, web: Json, o: { stack: string; namespace: string; args: readonly string[]; suffix: string; deadlineSeconds: number; env?: readonly string[]; stdin?: boolean; credentials?: string }): ManageJob {
    const spec = structuredClone(template.spec.template.spec);
    const webSpec = web.spec.template.spec;
    const webApp = (webSpec.containers as Json[]).find((c) => c.name === "web") ?? webSpec.containers[0];
    const [app, ...others] = spec.containers as Json[];
    spec.serviceAccountName = webSpec.serviceAccountName;
    const env = structuredClone(((webApp.env ?? []) as Json[]).filter((e) => !e.valueFrom));
    const name = `django-manage-${o.suffix}`;
    const envNames = [...(o.env ?? [])];
    const secretName = envNames.length > 0 ? `${name}-env` : undefined;
    const container: Json = { ...app, name: MANAGE_CONTAINER, command: ["python", "manage.py", ...o.args], env };
    if (secretName) {
        container.env = [...env, ...envNames.map((n) => ({ name: n, valueFrom: { secretKeyRef: { name: secretName, key: n } } }))];
    }
    if (o.stdin) {
        container.stdin = true;
        container.stdinOnce = true;
    }
    spec.containers = [container, ...others];
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
    return { name, namespace: o.namespace, stack: o.stack, job, envNames, secretName, stdin: o.stdin === true, credentials: o.credentials ?? "gcloud container clusters get-credentials <cluster> --dns-endpoint --region <region> --project <project>" };
}

/**
 * The `gcloud container clusters get-credentials` command for a stack's cluster: the DNS-based
 * endpoint, checked by IAM, which works from anywhere (docs/operations.md); the cluster's name is a
 * stack output (Pulumi names it). An existing cluster (`cluster.mode existing`) is named in the
 * config; whether it has a DNS-based endpoint is its own business.
 */
export function credentialsCommand(config: Readonly<Record<string, string>>, stack: string): string {
    const cfg = validateConfig(config, stack);
    if (cfg.cluster.mode === "existing" && cfg.cluster.name) {
        return `gcloud container clusters get-credentials ${cfg.cluster.name} --location ${cfg.cluster.location ?? cfg.region} --project ${cfg.project} (add --dns-endpoint if the cluster has its DNS-based endpoint on)`;
    }
    return `gcloud container clusters get-credentials "$(pulumi stack output clusterName --stack ${stack})" --dns-endpoint --region ${cfg.region} --project ${cfg.project}`;
}

/** The run's Secret: the `--env` values, immutable, owned by the Job (`uid`) so that the Job's TTL removes it too. */
export function envSecret(m: ManageJob, jobUid: string, values: Readonly<Record<string, string>>): Json {
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
            name: m.secretName,
            namespace: m.namespace,
            labels: m.job.metadata.labels,
            ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: m.name, uid: jobUid }],
        },
        type: "Opaque",
        immutable: true,
        data: Object.fromEntries(m.envNames.map((n) => [n, Buffer.from(values[n] ?? "", "utf8").toString("base64")])),
    };
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
        env: o.env,
        stdin: o.stdin,
        credentials: credentialsCommand(stack.config, stack.stack),
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
    /** Streams a command's output line by line; `input`, when given, is its stdin. */
    stream(args: readonly string[], onLine: (line: string) => void, input?: Buffer): Promise<number | null>;
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
        stream(args, onLine, input) {
            return new Promise((resolve) => {
                const child = spawn("kubectl", [...args], { env: env as NodeJS.ProcessEnv, stdio: [input ? "pipe" : "ignore", "pipe", "pipe"] });
                if (input && child.stdin) {
                    child.stdin.on("error", () => undefined);
                    child.stdin.end(input);
                }
                let buffer = "";
                const flush = (chunk: string) => {
                    buffer += chunk;
                    const lines = buffer.split("\n");
                    buffer = lines.pop() ?? "";
                    lines.forEach(onLine);
                };
                child.stdout?.setEncoding("utf8").on("data", flush);
                child.stderr?.setEncoding("utf8").on("data", flush);
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
 * stack file, and says to pin the deployed image in the stack file (never to deploy the file's
 * image, which after a CI deploy is the older one).
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
        // After a CI deploy the stack file's image is older than the live one (CI pins the digest in
        // its runner only, docs/operations.md): a `pulumi up` with the file would roll the site back.
        throw new KubectlError(
            `the cluster's web pods run ${liveWeb.image}, but the stack file says ${app.image}. ` +
                `The command must run the code and env the site runs. If the live image is the one CI deployed, pin it in the stack file first: ` +
                `\`pulumi config set --stack ${m.stack} image "$(pulumi stack output image --stack ${m.stack})"\`, then run this again (commit the stack file); ` +
                "if a release is still rolling out, wait for it to finish. Do not deploy the stack file's image to make them match: that would roll the site back.",
        );
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

/**
 * The current kubectl context, or a KubectlError saying how to get one for the stack's cluster
 * (without a kubeconfig kubectl falls back to localhost:8080 and prints only connection errors).
 */
function currentContext(kubectl: Kubectl, m: ManageJob): string {
    const r = kubectl.run(["config", "current-context"]);
    if (r.status === null) {
        throw new KubectlError(`kubectl is not installed (${r.stderr.trim()}). Fix: \`gcloud components install kubectl gke-gcloud-auth-plugin\` (or your package manager's kubectl and google-cloud-cli-gke-gcloud-auth-plugin), then \`${m.credentials}\`.`);
    }
    if (r.status !== 0 || r.stdout.trim() === "") {
        throw new KubectlError(`kubectl has no current context (${r.stderr.trim() || "no kubeconfig"}), so it does not know the stack's cluster. Fix: \`${m.credentials}\` (the DNS-based endpoint, checked by IAM, works from anywhere), then run this again.`);
    }
    return r.stdout.trim();
}

/** The manage container's state in the Job's pod: running (with the pod's name), finished, or not started yet. */
function manageContainer(kubectl: Kubectl, m: ManageJob): { pod: string; state: "running" | "terminated" } | undefined {
    const pods = kubectl.run(["get", "pods", "-n", m.namespace, "-l", `job-name=${m.name}`, "-o", "json"]);
    if (pods.status !== 0) {
        return undefined;
    }
    for (const pod of JSON.parse(pods.stdout).items ?? []) {
        const app = (pod.status?.containerStatuses ?? []).find((c: Json) => c.name === MANAGE_CONTAINER);
        if (app?.state?.running) {
            return { pod: pod.metadata.name, state: "running" };
        }
        if (app?.state?.terminated || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") {
            return { pod: pod.metadata.name, state: "terminated" };
        }
    }
    return undefined;
}

/** What a run needs besides the Job: the `--env` values and the `--stdin` input. */
export interface ApplyInputs {
    readonly values?: Readonly<Record<string, string>>;
    readonly stdin?: Buffer;
}

/** Applies the Job (and its Secret), follows its logs, returns the command's exit code; the Secret is deleted at the end. */
export async function applyManageJob(rendered: ManageJob, kubectl: Kubectl, io: CliIo, timing: ApplyTiming = {}, inputs: ApplyInputs = {}): Promise<number> {
    const pollMs = timing.pollMs ?? 2000;
    const context = currentContext(kubectl, rendered);
    const selector = `app.kubernetes.io/component=web,app.kubernetes.io/instance=${rendered.stack}`;
    const web = kubectl.run(["get", "deployments", "-n", rendered.namespace, "-l", selector, "-o", "json"]);
    if (web.status !== 0) {
        throw new KubectlError(`kubectl get deployments -l ${selector} in context ${context} failed: ${web.stderr.trim().split("\n").slice(-2).join(" ")}. If that context is not the stack's cluster: \`${rendered.credentials}\`.`);
    }
    const items = JSON.parse(web.stdout).items ?? [];
    if (items.length !== 1) {
        throw new KubectlError(`expected one web Deployment (${selector}), found ${items.length} in namespace ${rendered.namespace} of context ${context}; is the stack deployed, and is this its cluster? To point kubectl at it: \`${rendered.credentials}\`.`);
    }
    const m = withLiveNames(rendered, items[0]);
    const created = kubectl.run(["create", "-f", "-", "-o", "json"], manageJobYaml(m));
    if (created.status !== 0) {
        throw new KubectlError(`kubectl create job failed: ${created.stderr.trim()}`);
    }
    io.stderr(`manage: job/${m.name} created in ${m.namespace}; following its logs`);
    try {
        if (m.secretName) {
            const uid = JSON.parse(created.stdout)?.metadata?.uid;
            if (typeof uid !== "string") {
                throw new KubectlError(`kubectl create job printed no uid for job/${m.name}; the Secret with the --env values was not created`);
            }
            const secret = kubectl.run(["create", "-f", "-"], stringify(envSecret(m, uid, inputs.values ?? {}), { lineWidth: 0 }));
            if (secret.status !== 0) {
                throw new KubectlError(`kubectl create secret ${m.secretName} failed: ${secret.stderr.trim()}`);
            }
            io.stderr(`manage: secret/${m.secretName} holds ${m.envNames.join(", ")} for this run; it is deleted when the command ends (and with the Job in any case)`);
        }
        // The pod may still be scheduled or pulling its image: wait for the command to run before attaching.
        const deadline = Date.now() + (timing.finishTimeoutMs ?? 120_000) + (m.job.spec.activeDeadlineSeconds as number) * 1000;
        if (m.stdin) {
            for (;;) {
                const state = manageContainer(kubectl, m);
                if (state?.state === "running") {
                    // Its output comes from `kubectl logs` below, from the start.
                    await kubectl.stream(["attach", "-i", `pod/${state.pod}`, "-n", m.namespace, "-c", MANAGE_CONTAINER], () => undefined, inputs.stdin ?? Buffer.alloc(0));
                    break;
                }
                if (state?.state === "terminated" || exitCodeOf(kubectl, m) !== undefined) {
                    io.stderr(`manage: job/${m.name} ended before its stdin could be attached`);
                    break;
                }
                if (Date.now() > deadline) {
                    throw new KubectlError(`job/${m.name} has not started; see \`kubectl describe job ${m.name} -n ${m.namespace}\``);
                }
                await sleep(pollMs);
            }
        }
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
    } finally {
        if (m.secretName) {
            const deleted = kubectl.run(["delete", "secret", m.secretName, "-n", m.namespace, "--ignore-not-found"]);
            if (deleted.status !== 0) {
                io.stderr(`manage: could not delete secret/${m.secretName} (${deleted.stderr.trim()}); the Job's TTL removes it with the Job within ${MANAGE_TTL_SECONDS / 3600} h of its end, or: kubectl delete secret ${m.secretName} -n ${m.namespace}`);
            }
        }
    }
}

/** Reads a value from the terminal without echoing it; undefined when there is no terminal. */
export async function promptHidden(prompt: string): Promise<string | undefined> {
    let fd: number;
    try {
        fd = openSync("/dev/tty", "r+");
    } catch {
        return undefined;
    }
    const input = new tty.ReadStream(fd);
    const output = new tty.WriteStream(fd);
    input.setRawMode(true);
    output.write(prompt);
    return new Promise((resolve) => {
        let value = "";
        const done = (result: string | undefined) => {
            input.setRawMode(false);
            input.removeAllListeners("data");
            output.write("\n");
            input.destroy();
            resolve(result);
        };
        input.on("data", (chunk: Buffer) => {
            for (const ch of chunk.toString("utf8")) {
                if (ch === "\r" || ch === "\n") return done(value);
                if (ch === "\u0003" || ch === "\u0004") return done(undefined);
                value = ch === "\u007f" || ch === "\b" ? value.slice(0, -1) : value + ch;
            }
        });
    });
}

/** Where `--env` values without a local variable and `--stdin` input come from; tests pass their own. */
export interface ManageInput {
    /** A value typed at the terminal, not echoed; undefined when there is no terminal. */
    readSecret(prompt: string): Promise<string | undefined>;
    /** All of local stdin. */
    readStdin(): Promise<Buffer>;
}

/** The process's terminal and stdin. */
export const processInput: ManageInput = {
    readSecret: promptHidden,
    async readStdin() {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) {
            chunks.push(chunk as Buffer);
        }
        return Buffer.concat(chunks);
    },
};

/** Options of the command line. */
interface CliOptions {
    readonly stack?: string;
    readonly configFile?: string;
    readonly apply?: boolean;
    readonly deadline?: string;
    readonly program?: string;
    readonly pollMs?: string;
    readonly env: string[];
    readonly stdin?: boolean;
}

/** Parses the command line, renders (and with --apply runs) the Job; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo, env: Readonly<Record<string, string | undefined>> = process.env, input: ManageInput = processInput): Promise<number> {
    const program = new Command()
        .name("manage")
        .description("Run a Django management command once in the stack's cluster, as a Job built from the stack's pod template (image, env, identity, Cloud SQL Auth Proxy). Prints the Job; --apply runs it.")
        .usage("--stack <name> [--apply] -- <manage.py arguments>")
        .option("-s, --stack <name>", "stack name: reads Pulumi.yaml and Pulumi.<name>.yaml in the project")
        .option("-c, --config-file <path>", "any stack file")
        .option("--apply", "apply the Job with kubectl (current context), follow its logs and exit with its exit code")
        .option("--deadline <seconds>", "longest the command may run (activeDeadlineSeconds)", String(MANAGE_DEADLINE_SECONDS))
        .option("--env <name>", "give the command this variable, from your environment or typed at a prompt that does not echo, through a Secret made for this run and deleted after it (repeatable; e.g. DJANGO_SUPERUSER_PASSWORD for createsuperuser --no-input)", (v: string, all: string[]) => [...all, v], [] as string[])
        .option("--stdin", "attach your stdin to the command (kubectl attach -i), e.g. a script for shell or a fixture for loaddata -")
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
    for (const name of opts.env) {
        if (name.includes("=")) {
            io.stderr(`manage: --env takes a name, not NAME=value: the value would stay in your shell history. Fix: \`export ${name.split("=")[0]}\` beforehand (read -s), or let manage ask for it.`);
            return 2;
        }
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
            io.stderr(`manage: --env ${JSON.stringify(name)} is not an environment variable name.`);
            return 2;
        }
        if (RESERVED_NAMES.has(name)) {
            io.stderr(`manage: --env ${name}: ${name} is set by the platform (the env contract) and cannot be overridden for one command.`);
            return 2;
        }
    }
    const deadlineSeconds = Number(opts.deadline);
    if (!Number.isInteger(deadlineSeconds) || deadlineSeconds < 1) {
        io.stderr(`manage: --deadline must be a positive whole number of seconds (got ${JSON.stringify(opts.deadline)}).`);
        return 2;
    }
    let rendered: ManageJob;
    try {
        rendered = await renderManageJob({ stack: opts.stack, configFile: opts.configFile, args, deadlineSeconds, program: opts.program, env: [...new Set(opts.env)], stdin: opts.stdin });
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
        io.stderr(`manage: printed job/${rendered.name}; add --apply to run it with kubectl (current context).${rendered.secretName ? ` --apply creates the Secret ${rendered.secretName} from your environment (or a prompt) for ${rendered.envNames.join(", ")}, owned by the Job, and deletes it when the command ends.` : ""}`);
        return 0;
    }
    const values: Record<string, string> = {};
    for (const name of rendered.envNames) {
        const value = env[name] ?? (await input.readSecret(`${name} (not echoed): `));
        if (value === undefined) {
            io.stderr(`manage: ${name} is not set in your environment and there is no terminal to ask for it. Fix: run manage in a terminal, or set it first without it reaching your shell history (\`read -rs ${name} && export ${name}\`).`);
            return 2;
        }
        values[name] = value;
    }
    const stdin = rendered.stdin ? await input.readStdin() : undefined;
    try {
        return await applyManageJob(rendered, kubectlIn(env), io, { pollMs: opts.pollMs ? Number(opts.pollMs) : undefined }, { values, stdin });
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
