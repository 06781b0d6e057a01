/**
 * One pod of a rendered workload, run as a local process group: its app container with its command,
 * environment and working directory (cli/lib/local/sandbox.ts for the filesystem), its probes as
 * the kubelet runs them (./probes.ts), restarts for `restartPolicy: Always`, a Job's
 * `activeDeadlineSeconds`, and the termination sequence of
 * https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination: the pod leaves
 * its Services' endpoints, the `preStop` hook runs (a `sleep` action, or an `exec` command in the
 * container), then the container's main process gets SIGTERM, and whatever still runs when
 * `terminationGracePeriodSeconds` (counted from the start, preStop included) are over is killed.
 */
import type { HttpProbe, WorkloadRef } from "../renderedWorkloads";
import { GroupProcess, run } from "./processes";
import { probeLoop, probeTiming, type ProbeRecord, type ProbeTarget } from "./probes";
import { sandboxed, type EmptyDirMount, type Isolation } from "./sandbox";

/** Everything needed to run one pod's app container here. */
export interface PodPlan {
    /** `Deployment/django-workload-web-…`, for messages. */
    readonly workloadLabel: string;
    readonly workload: WorkloadRef;
    readonly containerName: string;
    /** The command line as rendered (command + args). */
    readonly renderedArgv: readonly string[];
    /** The command line run here (the bind address moved to a loopback port, see {@link rewrites}). */
    readonly argv: readonly string[];
    /** What differs between {@link renderedArgv} and {@link argv}, and why. */
    readonly rewrites: readonly string[];
    readonly env: Readonly<Record<string, string>>;
    readonly cwd: string;
    readonly mounts: readonly EmptyDirMount[];
    /** The container's serving port (its first declared one that it binds), and where it listens here. */
    readonly port?: { readonly name?: string; readonly container: number; readonly local: number };
    /** Every container port it binds → where that one listens here (probes may use any of them). */
    readonly localPorts: Readonly<Record<number, number>>;
    /** The container's named ports (what a probe's named port resolves to). */
    readonly namedPorts: Readonly<Record<string, number>>;
    readonly probes: { readonly startup?: HttpProbe; readonly readiness?: HttpProbe; readonly liveness?: HttpProbe };
    readonly preStop?: { readonly sleep?: { readonly seconds: number }; readonly exec?: { readonly command: readonly string[] } };
    readonly terminationGracePeriodSeconds: number;
    readonly activeDeadlineSeconds?: number;
    readonly restartPolicy: string;
    readonly podIp: string;
}

/** How a pod ended or was stopped. */
export interface TerminationRecord {
    readonly preStop: string;
    /** Seconds from the start of termination to the exit of the main process. */
    readonly seconds: number;
    readonly exitCode: number | null;
    readonly signal: NodeJS.Signals | null;
    /** True when it outlived the grace period and was killed. */
    readonly killed: boolean;
    /** The grace period it was given, seconds (the rendered one unless capped). */
    readonly graceSeconds: number;
}

/** How {@link LocalPod.terminate} stops the pod. */
export interface TerminateOptions {
    /** Skip the preStop hook (lighter test runs). @default false */
    readonly fast?: boolean;
    /**
     * Grace period in seconds instead of the rendered `terminationGracePeriodSeconds` (e.g. a Spot
     * node's preemption notice, which caps it). @default the rendered value
     */
    readonly graceSeconds?: number;
}

/** Options of a {@link LocalPod}. */
export interface LocalPodOptions {
    /** Restart the container when it dies (restartPolicy Always, interactive runs). @default false */
    readonly restart?: boolean;
    /** Every chunk the container prints. */
    readonly onOutput?: (text: string) => void;
    /** Kubelet-like events (probe failures, kills, restarts). */
    readonly onEvent?: (message: string) => void;
    /** Every change of the pod's readiness (its Ready condition as the kubelet reports it). */
    readonly onReadyChange?: (ready: boolean) => void;
}

/** `promise`'s value, or undefined after `ms` (the timer does not outlive the promise). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
        return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
    } finally {
        clearTimeout(timer);
    }
}

/** Kubelet's restart back-off: 10 s, doubling, at most 300 s. */
const backoffSeconds = (restarts: number) => Math.min(300, 10 * 2 ** restarts);

/** A pod running here. */
export class LocalPod {
    /** Why the pod failed (exit code, probe, deadline), when it did. */
    failure: string | undefined;
    ready = false;
    /** Startup probe passed (or there is none) in the current container. */
    started = false;
    restarts = 0;
    readonly probeRecords: ProbeRecord[] = [];
    readonly events: string[] = [];
    startedAt = 0;
    readyAfterMs: number | undefined;
    finishedAfterMs: number | undefined;
    exitCode: number | null | undefined;
    termination: TerminationRecord | undefined;
    /** Output of the containers that died before the current one (restarts), last lines. */
    private previousLines: string[] = [];
    private process: GroupProcess | undefined;
    private terminating = false;
    private readyWaiters: Array<(ready: boolean) => void> = [];
    private readonly done: Promise<number | null>;
    private resolveDone!: (code: number | null) => void;

    constructor(
        readonly plan: PodPlan,
        private readonly isolation: Isolation,
        private readonly options: LocalPodOptions = {},
    ) {
        this.done = new Promise((resolve) => (this.resolveDone = resolve));
    }

    /** True once termination has started (the pod is being deleted). */
    get isTerminating(): boolean {
        return this.terminating;
    }

    /** True while the current container's main process runs. */
    get running(): boolean {
        return this.process?.running ?? false;
    }

    /** The process id of the current container's main process (undefined before it starts). */
    get pid(): number | undefined {
        return this.process?.running ? this.process.pid : undefined;
    }

    /** Notes on how the container runs here (rewritten arguments, mounts that could not be made). */
    get notes(): string[] {
        return [...this.plan.rewrites, ...sandboxed(this.isolation, this.plan.argv, this.plan.mounts).notes];
    }

    /** Starts the container and its probes. */
    start(): void {
        this.startedAt = performance.now();
        this.launch();
    }

    /** The last `count` lines the container printed (across restarts). */
    lastLines(count: number): string[] {
        return [...this.previousLines, ...(this.process?.lastLines(count) ?? [])].slice(-count);
    }

    /** Resolves with the main process's exit code once the pod is finished for good (Jobs, or a failure). */
    finished(): Promise<number | null> {
        return this.done;
    }

    /**
     * Resolves true once the pod is ready; false when it fails first, or after `timeoutMs`.
     */
    waitReady(timeoutMs: number): Promise<boolean> {
        if (this.ready) return Promise.resolve(true);
        if (this.failure !== undefined) return Promise.resolve(false);
        return new Promise((resolve) => {
            const timer = setTimeout(() => resolve(false), timeoutMs);
            this.readyWaiters.push((ready) => {
                clearTimeout(timer);
                resolve(ready);
            });
        });
    }

    /**
     * The termination sequence: out of the endpoints, preStop (skipped with `fast`), SIGTERM,
     * SIGKILL at the end of the grace period (the rendered one, or `graceSeconds`).
     */
    async terminate(how: boolean | TerminateOptions = false): Promise<TerminationRecord | undefined> {
        const options: TerminateOptions = typeof how === "boolean" ? { fast: how } : how;
        if (this.terminating) return this.termination;
        this.terminating = true;
        this.setReady(false);
        const proc = this.process;
        if (!proc || !proc.running) {
            this.resolveDone(this.exitCode ?? null);
            return undefined;
        }
        const graceSeconds = options.graceSeconds ?? this.plan.terminationGracePeriodSeconds;
        const stopped = await this.stopContainer(proc, graceSeconds * 1000, !options.fast);
        this.termination = { ...stopped, exitCode: stopped.killed ? null : (this.exitCode ?? null), graceSeconds };
        this.resolveDone(this.exitCode ?? null);
        return this.termination;
    }

    /**
     * Kills the container's processes with `signal` from outside (an OOM kill, a crashed node's
     * container): no preStop, no grace. With restarts on, the kubelet starts it again after its
     * back-off, as for any container that dies.
     */
    killContainer(signal: NodeJS.Signals = "SIGKILL"): void {
        const proc = this.process;
        if (!proc?.running) return;
        try {
            process.kill(-proc.pid, signal);
        } catch {
            // gone in the meantime
        }
    }

    /**
     * preStop (when asked), SIGTERM to the main process, then SIGKILL of everything left once
     * `graceMs` (counted from the start, preStop included) are over.
     */
    private async stopContainer(proc: GroupProcess, graceMs: number, runPreStop: boolean): Promise<Omit<TerminationRecord, "exitCode" | "graceSeconds">> {
        const began = performance.now();
        let preStop = "none";
        const hook = this.plan.preStop;
        if (!runPreStop && hook) {
            preStop = "skipped (fast stop)";
        } else if (hook?.sleep) {
            preStop = `sleep ${hook.sleep.seconds} s`;
            await within(proc.wait(), Math.min(hook.sleep.seconds * 1000, graceMs));
        } else if (hook?.exec) {
            preStop = `exec ${hook.exec.command.join(" ")}`;
            const [command, ...args] = hook.exec.command;
            const wrapped = sandboxed(this.isolation, [command as string, ...args], this.plan.mounts);
            const result = await run(wrapped.command, wrapped.args, { cwd: this.plan.cwd, env: { ...this.plan.env }, check: false, timeoutMs: Math.max(1, graceMs) }).catch((e: Error) => ({ code: null, stdout: "", stderr: e.message }));
            if (result.code !== 0) preStop += ` (exit ${result.code})`;
        }
        proc.signal("SIGTERM");
        const left = Math.max(0, graceMs - (performance.now() - began));
        const exited = await within(proc.wait().then(() => true), left);
        const seconds = (performance.now() - began) / 1000;
        // The container ends with its main process: what else runs in it is killed.
        await proc.stop("SIGKILL", 2_000);
        return { preStop, seconds, signal: exited ? proc.signalled : "SIGKILL", killed: !exited };
    }

    /** Kills the pod's processes at once (a second Ctrl-C). */
    async kill(): Promise<void> {
        this.terminating = true;
        await this.process?.stop("SIGKILL", 1_000);
        this.resolveDone(this.exitCode ?? null);
    }

    private setReady(ready: boolean): void {
        if (ready && !this.ready && this.readyAfterMs === undefined) this.readyAfterMs = performance.now() - this.startedAt;
        const changed = ready !== this.ready;
        this.ready = ready;
        if (changed) this.options.onReadyChange?.(ready);
        if (ready || this.failure !== undefined) {
            const waiters = this.readyWaiters;
            this.readyWaiters = [];
            for (const w of waiters) w(ready);
        }
    }

    private event(message: string): void {
        this.events.push(message);
        this.options.onEvent?.(message);
    }

    private fail(reason: string): void {
        if (this.failure === undefined) this.failure = reason;
        this.setReady(false);
    }

    private launch(): void {
        const { plan } = this;
        this.started = false;
        const wrapped = sandboxed(this.isolation, plan.argv, plan.mounts);
        let proc: GroupProcess;
        try {
            proc = new GroupProcess(`${plan.workloadLabel} container ${plan.containerName}`, wrapped.command, wrapped.args, {
                cwd: plan.cwd,
                env: { ...plan.env },
                onOutput: this.options.onOutput,
            });
        } catch (error) {
            this.fail(`cannot start: ${(error as Error).message}`);
            this.exitCode = null;
            this.resolveDone(null);
            return;
        }
        this.process = proc;
        const generation = this.restarts;
        const current = () => this.process === proc && !this.terminating;
        let deadline: NodeJS.Timeout | undefined;
        if (plan.activeDeadlineSeconds !== undefined) {
            deadline = setTimeout(() => {
                if (!proc.running) return;
                this.fail(`DeadlineExceeded: still running after activeDeadlineSeconds ${plan.activeDeadlineSeconds}`);
                void proc.stop("SIGTERM", plan.terminationGracePeriodSeconds * 1000);
            }, plan.activeDeadlineSeconds * 1000);
            deadline.unref();
        }
        void proc.wait().then((code) => {
            clearTimeout(deadline);
            this.exitCode = code;
            this.finishedAfterMs = performance.now() - this.startedAt;
            if (this.terminating) return;
            this.setReady(false);
            const how = code === null ? `killed by ${proc.signalled ?? "a signal"}` : `exited with code ${code}`;
            const expected = plan.restartPolicy !== "Always" && code === 0;
            if (!expected) this.fail(this.failure ?? `${how}${plan.restartPolicy === "Always" ? " (restartPolicy Always: the kubelet restarts it, CrashLoopBackOff)" : ""}`);
            if (plan.restartPolicy === "Always" && this.options.restart) {
                this.previousLines = proc.lastLines(40);
                const wait = backoffSeconds(this.restarts);
                this.event(`${how}; restarting in ${wait} s (back-off)`);
                this.restarts += 1;
                setTimeout(() => {
                    if (!this.terminating && generation + 1 === this.restarts) {
                        this.failure = undefined;
                        this.launch();
                    }
                }, wait * 1000).unref();
                return;
            }
            this.resolveDone(code);
        });
        void this.runProbes(proc, current);
    }

    private async runProbes(proc: GroupProcess, current: () => boolean): Promise<void> {
        const { plan } = this;
        // A probe reaches the app only on the port it listens on; any other port refuses, as in the pod.
        const targetOf = (probe: HttpProbe): ProbeTarget | { refused: string } => {
            const ref = probe.httpGet?.port;
            const port = typeof ref === "number" ? ref : ref !== undefined ? plan.namedPorts[ref] : undefined;
            if (port === undefined) return { refused: `no container port named ${String(ref)}` };
            const local = plan.localPorts[port];
            if (local !== undefined) return { port: local, podIp: plan.podIp };
            return { refused: `ECONNREFUSED (nothing listens on container port ${port})` };
        };
        const target = plan.port ? true : undefined;
        const alive = () => current() && proc.running;
        const record = (kind: ProbeRecord["kind"], probe: HttpProbe): ProbeRecord => {
            const r: ProbeRecord = { kind, path: probe.httpGet?.path ?? "?", timing: probeTiming(probe), ok: 0, failed: 0, consecutiveFailures: 0 };
            const existing = this.probeRecords.findIndex((p) => p.kind === kind);
            if (existing >= 0) this.probeRecords.splice(existing, 1, r);
            else this.probeRecords.push(r);
            return r;
        };
        const killFor = (reason: string) => {
            this.fail(reason);
            this.event(`${reason}: the kubelet kills the container`);
            void this.stopContainer(proc, plan.terminationGracePeriodSeconds * 1000, true);
        };
        const { startup, readiness, liveness } = plan.probes;
        if (startup && target) {
            const r = record("startup", startup);
            await probeLoop(r, targetOf(startup), () => !alive() || this.started, (success) => {
                if (success) {
                    this.started = true;
                    return "stop";
                }
                if (r.consecutiveFailures >= r.timing.failureThreshold) {
                    killFor(`startup probe ${r.path} failed ${r.consecutiveFailures} times in a row (last: ${r.lastFailure})`);
                    return "stop";
                }
                return "continue";
            });
            if (!this.started) return;
        } else {
            this.started = true;
        }
        if (!alive()) return;
        if (!readiness || !target) this.setReady(true);
        const loops: Array<Promise<void>> = [];
        if (readiness && target) {
            const r = record("readiness", readiness);
            loops.push(probeLoop(r, targetOf(readiness), () => !alive(), (success) => {
                if (success) this.setReady(true);
                else if (r.consecutiveFailures >= r.timing.failureThreshold && this.ready) {
                    this.event(`readiness probe ${r.path} failed ${r.consecutiveFailures} times (last: ${r.lastFailure}): out of the endpoints`);
                    this.setReady(false);
                }
                return "continue";
            }));
        }
        if (liveness && target) {
            const r = record("liveness", liveness);
            loops.push(probeLoop(r, targetOf(liveness), () => !alive(), () => {
                if (r.consecutiveFailures >= r.timing.failureThreshold) {
                    killFor(`liveness probe ${r.path} failed ${r.consecutiveFailures} times in a row (last: ${r.lastFailure})`);
                    return "stop";
                }
                return "continue";
            }));
        }
        await Promise.all(loops);
    }
}
