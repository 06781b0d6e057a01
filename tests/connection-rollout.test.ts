/**
 * The connection budget against an emulated rollout (tests/lib/rolloutModel.ts): the Deployment
 * controller's waves with the rendered maxSurge, maxUnavailable and minReadySeconds, and deleted
 * pods that keep their connections through the rendered preStop, SIGTERM and graceful timeout
 * while long requests (or tasks) are still running. The pods alive at each instant, times the
 * connections each can hold, plus the CronJobs' and Jobs' connections, must never exceed what
 * PostgreSQL lets the app open (max_connections minus the superuser reserve), for the stacks and for
 * the extreme configurations validation accepts.
 *
 * Every timing comes from the rendered Deployments (execute what you render); only the per-pod
 * times (how fast a pod becomes ready, how long its work lasts after SIGTERM, when the kubelet
 * starts the termination) are the adversary's choice, and are swept.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { JOB_CONNECTIONS, SUGGESTED_TIERS, maxConnectionsForTier, requiredConnections, schedulePods } from "../components/connectionBudget";
import { MAX_ROLLOUT_STEPS } from "../components/termination";
import { venvPython } from "../cli/lib/appPython";
import { LocalPostgres } from "../cli/lib/local/postgres";
import { randomPassword } from "../cli/lib/local/processes";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { ConfigError, connectionSizing, validateConfig } from "../config";
import { ROOT, T, renderStack, stackConfig } from "./helpers/platform";
import { DeploymentTiming, ModelEvent, PodTimes, adversarial, between, percentSurge, runDeployment, seeded } from "./lib/rolloutModel";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** `maxSurge` as Kubernetes resolves it: an integer, or a percentage rounded up. */
function resolveSurge(value: number | string): (replicas: number) => number {
    if (typeof value === "number") return () => value;
    const percent = /^(\d+)%$/.exec(value);
    assert.ok(percent, `maxSurge ${value}`);
    return percentSurge(Number(percent[1]));
}

/** The argument after `flag` in a command line, or undefined. */
function argument(command: readonly string[], flag: string): string | undefined {
    const i = command.indexOf(flag);
    return i < 0 ? undefined : command[i + 1];
}

/** gunicorn's default `--graceful-timeout` (https://docs.gunicorn.org/en/stable/settings.html#graceful-timeout). */
const GUNICORN_DEFAULT_GRACEFUL_SECONDS = 30;

/**
 * A rendered Deployment's timing as the model takes it. A web pod stops after its preStop and at
 * most gunicorn's graceful timeout; a worker (no preStop) after its task, at most its grace period.
 */
function timingOf(deployment: Json): DeploymentTiming {
    const spec = deployment.spec;
    assert.equal(spec.strategy?.type, "RollingUpdate");
    assert.equal(spec.strategy.rollingUpdate.maxUnavailable, 0, "the model assumes maxUnavailable 0");
    const pod = spec.template.spec;
    const container = pod.containers[0];
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    const command: string[] = container.command ?? [];
    const gunicorn = command[0] === "gunicorn";
    const graceful = gunicorn ? Number(argument(command, "--graceful-timeout") ?? GUNICORN_DEFAULT_GRACEFUL_SECONDS) : grace;
    return {
        maxSurge: resolveSurge(spec.strategy.rollingUpdate.maxSurge),
        minReadySeconds: spec.minReadySeconds ?? 0,
        terminationGracePeriodSeconds: grace,
        preStopSeconds: container.lifecycle?.preStop?.sleep?.seconds ?? 0,
        gracefulSeconds: graceful,
    };
}

/** The kubelet may start a termination this long after the API deletion (the adversary's worst). */
const KUBELET_DELAY_SECONDS = 3;

/** Per-pod times: the adversary's, then seeded random ones with requests of up to 30 s in flight. */
function podTimes(): Array<[string, PodTimes]> {
    const out: Array<[string, PodTimes]> = [["adversarial", adversarial(KUBELET_DELAY_SECONDS)]];
    for (const seed of [1, 2, 3]) {
        const r = seeded(seed);
        out.push([`seed ${seed}`, { bootSeconds: between(r, 0.5, 40), workAfterSigtermSeconds: between(r, 0, 30), kubeletDelaySeconds: between(r, 0, KUBELET_DELAY_SECONDS) }]);
    }
    return out;
}

/** The worst pod count of a rollout at `replicas` over every per-pod timing. */
function worstRollout(replicas: number, timing: DeploymentTiming, events: readonly ModelEvent[] = [{ at: 1, kind: "rollout" }]): number {
    return Math.max(...podTimes().map(([, times]) => runDeployment(replicas, timing, times, events).peakPods));
}

/** The rendered web and worker Deployments of a stack. */
async function rendered(stack: string, overrides: Record<string, unknown> = {}): Promise<{ web: Json; workers: Json[]; hpa: Json }> {
    const r = await renderStack(stack, overrides);
    const deployments = r.all(T.deployment).map((d) => d.inputs);
    const web = deployments.find((d: Json) => d.metadata.labels["app.kubernetes.io/component"] === "web");
    const workers = deployments.filter((d: Json) => d.metadata.labels["app.kubernetes.io/component"] === "worker");
    const hpa = r.all(T.hpa).map((h) => h.inputs).find((h: Json) => h.metadata.labels["app.kubernetes.io/component"] === "web");
    assert.ok(web && hpa);
    return { web, workers, hpa };
}

/** What validation accepted for a stack (with overrides), with its budget and the usable connections. */
function accepted(stack: string, overrides: Record<string, unknown> = {}) {
    const cfg = validateConfig(stackConfig(stack, overrides).config, stack);
    const budget = requiredConnections(connectionSizing(cfg));
    const available = cfg.database.maxConnections ?? maxConnectionsForTier(cfg.database.tier);
    assert.ok(available !== undefined);
    return { cfg, budget, usable: budget.usable(available) };
}

/** The largest `workload.maxReplicas` validation accepts for a stack with these overrides. */
function largestAccepted(stack: string, overrides: Record<string, unknown>): number {
    let largest = 0;
    for (let max = 1; max <= 60; max++) {
        try {
            validateConfig(stackConfig(stack, { ...overrides, "django-platform:workload": { maxReplicas: max, minReplicas: Math.min(2, max) } }).config, stack);
            largest = max;
        } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
        }
    }
    return largest;
}

describe("connection budget: an emulated rollout with long requests in flight", () => {
    it("the model: terminating pods do not hold back the next surge pod, so with a short minReadySeconds every old pod drains at once", () => {
        // Kubernetes: "Kubernetes doesn't count terminating Pods when calculating the number of
        // availableReplicas [...] you might notice that there are more Pods than expected during a
        // rollout" (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#updating-a-deployment).
        const quick: DeploymentTiming = { maxSurge: percentSurge(25), minReadySeconds: 5, terminationGracePeriodSeconds: 45, preStopSeconds: 10, gracefulSeconds: 25 };
        const run = runDeployment(4, quick, adversarial(0), [{ at: 1, kind: "rollout" }]);
        assert.equal(run.peakActive, 5, "never more than replicas + maxSurge non-terminating pods");
        assert.equal(run.peakDraining, 4, "all four old pods still draining together");
        assert.equal(run.peakPods, 8);
        // With minReadySeconds longer than a pod's whole termination, one wave drains at a time.
        const paced = runDeployment(4, { ...quick, minReadySeconds: 50 }, adversarial(0), [{ at: 1, kind: "rollout" }]);
        assert.deepEqual([paced.peakActive, paced.peakDraining, paced.peakPods], [5, 1, 6]);
    });

    it("staging at the largest maxReplicas validation accepts: the pods alive in a rollout never need more connections than db-f1-micro allows", async () => {
        const max = largestAccepted("staging", {});
        assert.ok(max >= 2, `staging accepts maxReplicas ${max}`);
        const overrides = { "django-platform:workload": { maxReplicas: max } };
        const { web } = await rendered("staging", overrides);
        const { cfg, budget, usable } = accepted("staging", overrides);
        const perPod = cfg.workload.gunicornWorkers * cfg.workload.gunicornThreads;
        const peak = worstRollout(max, timingOf(web));
        const schedules = Object.values(cfg.schedules).reduce((sum, s) => sum + schedulePods(s.concurrencyPolicy), 0);
        const connections = peak * perPod + schedules + JOB_CONNECTIONS;
        assert.ok(peak <= budget.pods.total, `maxReplicas ${max}: ${peak} web pods alive at once, the budget counts ${budget.pods.total}`);
        assert.ok(connections <= usable, `maxReplicas ${max}: ${peak} pods × ${perPod} + ${schedules} CronJob + ${JOB_CONNECTIONS} Job connections = ${connections}, but db-f1-micro leaves ${usable}`);
    });

    it("production (web and the tasks worker rolling out together): within the budget, and the worker's draining pods are counted", async () => {
        const { web, workers } = await rendered("production");
        const { cfg, budget, usable } = accepted("production");
        const perPod = cfg.workload.gunicornWorkers * cfg.workload.gunicornThreads;
        const webPeak = worstRollout(cfg.workload.maxReplicas, timingOf(web));
        assert.ok(webPeak <= budget.pods.total, `${webPeak} web pods alive at once, the budget counts ${budget.pods.total}`);
        assert.equal(workers.length, 1);
        const task = cfg.workers.tasks;
        const workerPeak = worstRollout(task.maxReplicas, timingOf(workers[0]));
        assert.ok(workerPeak * task.dbConnections <= budget.workers, `tasks worker: ${workerPeak} pods × ${task.dbConnections} alive at once, the budget counts ${budget.workers} connections`);
        const connections = webPeak * perPod + workerPeak * task.dbConnections + budget.schedules + budget.jobs;
        assert.ok(connections <= usable, `${connections} connections, ${usable} usable`);
    });

    it("sweep: tiers × workers/threads × Spot × worker Deployments × CronJobs at the largest accepted maxReplicas never exceed max_connections", async () => {
        // Timing per kind of Deployment, from renders: the web pods on regular and on Spot capacity,
        // and a worker (its grace period is its own config).
        const webRegular = timingOf((await rendered("staging", { "django-platform:workload": { spot: false } })).web);
        const webSpot = timingOf((await rendered("staging")).web);
        const workerRendered = (await rendered("production")).workers[0];
        const workerTiming = (grace: number): DeploymentTiming => ({ ...timingOf(workerRendered), terminationGracePeriodSeconds: grace, gracefulSeconds: grace });
        const tiers = ["db-f1-micro", "db-g1-small", ...SUGGESTED_TIERS.slice(0, 2)];
        const sizings: Array<[number, number]> = [[1, 1], [1, 3], [2, 4], [4, 8]];
        const workerSets: Array<Record<string, Json>> = [
            {},
            { tasks: { command: ["python", "manage.py", "demo_worker"], minReplicas: 1, maxReplicas: 3, dbConnections: 1, terminationGracePeriodSeconds: 15 } },
            {
                tasks: { command: ["python", "manage.py", "demo_worker"], minReplicas: 1, maxReplicas: 5, dbConnections: 2, terminationGracePeriodSeconds: 15 },
                mail: { command: ["python", "manage.py", "demo_worker"], minReplicas: 1, maxReplicas: 2, dbConnections: 4, terminationGracePeriodSeconds: 10 },
            },
            { long: { command: ["python", "manage.py", "demo_worker"], minReplicas: 2, maxReplicas: 4, dbConnections: 1, terminationGracePeriodSeconds: 300 } },
        ];
        const scheduleSets: Array<Record<string, Json>> = [
            {},
            { clearsessions: { schedule: "17 3 * * *", command: ["python", "manage.py", "clearsessions"] } },
            {
                clearsessions: { schedule: "17 3 * * *", command: ["python", "manage.py", "clearsessions"] },
                report: { schedule: "*/5 * * * *", command: ["python", "manage.py", "clearsessions"], concurrencyPolicy: "Replace" },
            },
        ];
        let checked = 0;
        const failures: string[] = [];
        for (const tier of tiers) {
            for (const [gunicornWorkers, gunicornThreads] of sizings) {
                for (const spot of [false, true]) {
                    for (const workers of workerSets) {
                        for (const schedules of scheduleSets) {
                            const base = {
                                "django-platform:database": { tier },
                                "django-platform:workload": { gunicornWorkers, gunicornThreads, spot },
                                "django-platform:workers": Object.keys(workers).length > 0 ? workers : undefined,
                                "django-platform:schedules": Object.keys(schedules).length > 0 ? schedules : undefined,
                            };
                            const largest = largestFitting(base);
                            if (largest === undefined) continue;
                            const overrides = { ...base, "django-platform:workload": { gunicornWorkers, gunicornThreads, spot, maxReplicas: largest, minReplicas: Math.min(2, largest) } };
                            let run;
                            try {
                                run = accepted("staging", overrides);
                            } catch (err) {
                                if (err instanceof ConfigError) continue;
                                throw err;
                            }
                            const { cfg, usable } = run;
                            const perPod = gunicornWorkers * gunicornThreads;
                            const webPeak = worstRollout(largest, spot ? webSpot : webRegular);
                            const workerConnections = Object.values(cfg.workers).reduce((sum, w) => sum + worstRollout(w.maxReplicas, workerTiming(w.terminationGracePeriodSeconds)) * w.dbConnections, 0);
                            const scheduleConnections = Object.values(cfg.schedules).reduce((sum, s) => sum + schedulePods(s.concurrencyPolicy), 0);
                            const total = webPeak * perPod + workerConnections + scheduleConnections + JOB_CONNECTIONS;
                            checked += 1;
                            if (total > usable) {
                                failures.push(`${tier} ${gunicornWorkers}×${gunicornThreads} spot ${spot} workers ${Object.keys(workers).join("+") || "none"} schedules ${Object.keys(schedules).join("+") || "none"}: maxReplicas ${largest} is accepted, yet ${webPeak} web pods × ${perPod} + ${workerConnections} worker + ${scheduleConnections} CronJob + ${JOB_CONNECTIONS} Job connections = ${total} > ${usable}`);
                            }
                        }
                    }
                }
            }
        }
        assert.ok(checked >= 100, `only ${checked} configurations checked`);
        assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${checked} accepted configurations exceed max_connections in a rollout`);
    });
});

/**
 * Pods one HPA scale-down step may remove, from the rendered HPA: its scale-down policy's pods per
 * period, or without one everything down to minReplicas (the default allows 100 % every 15 s,
 * https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#default-behavior).
 */
function scaleDownStep(hpa: Json): number {
    const room = hpa.spec.maxReplicas - hpa.spec.minReplicas;
    const policies: Json[] = hpa.spec.behavior?.scaleDown?.policies ?? [];
    if (policies.length === 0) return room;
    assert.ok(policies.every((p) => p.type === "Pods"), "the model reads Pods policies");
    return Math.min(room, Math.max(...policies.map((p) => p.value)));
}

describe("the pacing's cost: how long a rollout takes, and how long Pulumi waits for it", () => {
    it(`a rollout with maxSurge 25 % and maxUnavailable 0 has at most ${MAX_ROLLOUT_STEPS} steps, whatever the replica count`, () => {
        for (let replicas = 1; replicas <= 500; replicas++) {
            const surge = percentSurge(25)(replicas);
            assert.ok(Math.ceil(replicas / surge) <= MAX_ROLLOUT_STEPS, `${replicas} replicas`);
        }
    });

    for (const stack of ["staging", "production"]) {
        it(`${stack}: Pulumi waits for the web Deployment the provider's default 10 minutes plus the steps' minReadySeconds`, async () => {
            // Source: @pulumi/kubernetes apps/v1 Deployment: "If the Deployment has not reached a Ready
            // state after 10 minutes, it will time out and mark the resource update as Failed".
            const doc = readFileSync(join(ROOT, "node_modules/@pulumi/kubernetes/apps/v1/deployment.d.ts"), "utf8");
            assert.match(doc, /If the Deployment has not reached a Ready state after 10 minutes, it will\s+\*\s+time out/);
            const r = await renderStack(stack);
            const web = r.one(T.deployment, "django-workload-web");
            const minReady = (web.inputs as Json).spec.minReadySeconds;
            const { cfg } = accepted(stack);
            // The emulated rollout at maxReplicas, with pods ready at once: the pacing alone.
            const run = runDeployment(cfg.workload.maxReplicas, timingOf(web.inputs), adversarial(0), [{ at: 0, kind: "rollout" }]);
            assert.ok(run.doneAt <= MAX_ROLLOUT_STEPS * (minReady + 1), `the rollout took ${run.doneAt} s`);
            const minutes = (d: string) => Number(/^(\d+)m$/.exec(d)?.[1]);
            for (const d of [web.customTimeouts?.create, web.customTimeouts?.update]) {
                assert.ok(d, "customTimeouts are set");
                assert.ok(minutes(d) * 60 >= 600 + MAX_ROLLOUT_STEPS * minReady, `${d} covers 10 min + ${MAX_ROLLOUT_STEPS} × ${minReady} s`);
            }
        });
    }
});

describe("connection budget: one more disruption while a rollout drains", () => {
    for (const stack of ["staging", "production"]) {
        it(`${stack}: an autoscaler step, a second rollout or a node's pods lost, at any moment of a rollout, stay within the pods the budget counts`, async () => {
            const { web, hpa } = await rendered(stack);
            const { cfg, budget } = accepted(stack);
            const timing = timingOf(web);
            const max = cfg.workload.maxReplicas;
            const surge = timing.maxSurge(max);
            const step = scaleDownStep(hpa);
            assert.ok(step <= budget.pods.disruptionDraining, `one autoscaler step (${step} pods) fits the disruption the budget counts (${budget.pods.disruptionDraining})`);
            const [, adversary] = podTimes()[0];
            // Without a rollout: a step down, and straight back up while the removed pods drain.
            const bounce = runDeployment(max, timing, adversary, [{ at: 1, kind: "scale", replicas: max - step }, { at: 2, kind: "scale", replicas: max }]);
            assert.ok(bounce.peakPods <= budget.pods.total, `scale-down by ${step} and back up: ${bounce.peakPods} pods alive`);
            const plain = runDeployment(max, timing, adversary, [{ at: 1, kind: "rollout" }]);
            assert.equal(plain.peakPods, max + surge + budget.pods.rolloutDraining, "a rollout alone reaches replicas + surge + its draining step");
            const failures: string[] = [];
            for (let at = 1; at <= plain.doneAt + 5; at += 0.5) {
                const scenarios: Array<[string, ModelEvent[]]> = [
                    [`scale-down by ${step} at ${at} s`, [{ at: 1, kind: "rollout" }, { at, kind: "scale", replicas: max - step }]],
                    [`a second rollout at ${at} s`, [{ at: 1, kind: "rollout" }, { at, kind: "rollout" }]],
                    [`${surge} pods lost with a node at ${at} s`, [{ at: 1, kind: "rollout" }, { at, kind: "evict", pods: surge }]],
                ];
                for (const [name, events] of scenarios) {
                    const run = runDeployment(max, timing, adversary, events);
                    if (run.peakPods > budget.pods.total) failures.push(`${name}: ${run.peakPods} pods alive at ${run.peakAt} s`);
                }
            }
            assert.deepEqual(failures.slice(0, 5), [], `the budget counts ${budget.pods.total} pods (${failures.length} scenarios above)`);
        });
    }

    it("not counted, and documented: an autoscaler step down during a rollout followed by a step back up before the removed pods have exited", async () => {
        // The Deployment controller spreads the step over both ReplicaSets, removing new pods that
        // are ready but not yet available, then deletes old pods down to the new count; the step
        // back up starts new pods while all of those still drain. docs/operations.md ("During a
        // rollout") gives this figure for production.
        const { web, hpa } = await rendered("production");
        const { cfg, budget } = accepted("production");
        const timing = timingOf(web);
        const max = cfg.workload.maxReplicas;
        const step = scaleDownStep(hpa);
        const [, adversary] = podTimes()[0];
        const plain = runDeployment(max, timing, adversary, [{ at: 1, kind: "rollout" }]);
        let worst = 0;
        for (let at = 1; at <= plain.doneAt + 5; at += 0.5) {
            worst = Math.max(worst, runDeployment(max, timing, adversary, [{ at: 1, kind: "rollout" }, { at, kind: "scale", replicas: max - step }, { at: at + 1, kind: "scale", replicas: max }]).peakPods);
        }
        assert.deepEqual({ budgeted: budget.pods.total, worst }, { budgeted: 35, worst: 39 });
        assert.ok(worst * budget.perPod + budget.workers + budget.schedules + budget.jobs <= budget.usable(maxConnectionsForTier(cfg.database.tier) as number), "production still fits its tier");
    });
});

/** The largest maxReplicas the budget accepts for these overrides of staging, found by validation. */
function largestFitting(overrides: Record<string, Json>): number | undefined {
    const probe = { ...overrides, "django-platform:workload": { ...overrides["django-platform:workload"], maxReplicas: 500, minReplicas: 2 } };
    try {
        const cfg = validateConfig(stackConfig("staging", probe).config, "staging");
        return cfg.workload.maxReplicas;
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const message = err.problems.find((p) => p.startsWith("connection budget exceeded"));
        const max = message ? /--path workload\.maxReplicas (\d+)`/.exec(message)?.[1] : undefined;
        return max === undefined ? undefined : Number(max);
    }
}

/**
 * Replays pod lives against a real PostgreSQL: each pod opens `perPod` connections when it is
 * created and closes them when its process exits, in the order the model's events happened (exits
 * before starts at the same instant), with `fixed` connections (Jobs, CronJobs) held throughout.
 * Returns PostgreSQL's refusals.
 */
async function replay(dsn: string, lives: ReadonlyArray<{ from: number; to: number }>, perPod: number, fixed: number): Promise<string[]> {
    const child = spawn(venvPython(), [join(ROOT, "tests/fixtures/pg_holder.py"), dsn], { stdio: ["pipe", "pipe", "inherit"] });
    const lines = createInterface({ input: child.stdout });
    const refusals: string[] = [];
    let waiting: ((line: string) => void) | undefined;
    lines.on("line", (line) => {
        if (line.startsWith("refused ")) refusals.push(line);
        else waiting?.(line);
    });
    const send = (command: string) => new Promise<string>((resolve) => {
        waiting = resolve;
        child.stdin.write(`${command}\n`);
    });
    const events = lives.flatMap((life, i) => [
        { at: life.from, order: 1, command: `open pod${i} ${perPod}` },
        ...(Number.isFinite(life.to) ? [{ at: life.to, order: 0, command: `close pod${i}` }] : []),
    ]).sort((a, b) => a.at - b.at || a.order - b.order);
    try {
        await send(`open fixed ${fixed}`);
        for (const e of events) await send(e.command);
    } finally {
        child.stdin.end();
        await new Promise((resolve) => child.on("close", resolve));
    }
    return refusals;
}

describe("a real PostgreSQL with db-f1-micro's max_connections (25, 3 reserved for superusers)", () => {
    it("accepts every connection of staging's emulated rollout at the largest maxReplicas; the pacing before (minReadySeconds 5) at the maxReplicas it accepted (4) is refused", async () => {
        const pg = await LocalPostgres.create({ settings: { max_connections: "25", superuser_reserved_connections: "3" } });
        try {
            const password = randomPassword();
            await pg.createDatabase("django", "django", password);
            const dsn = `host=${pg.host} port=${pg.port} dbname=django user=django password=${password}`;
            const max = largestAccepted("staging", {});
            const overrides = { "django-platform:workload": { maxReplicas: max } };
            const { web } = await rendered("staging", overrides);
            const { cfg, budget } = accepted("staging", overrides);
            const perPod = cfg.workload.gunicornWorkers * cfg.workload.gunicornThreads;
            const fixed = budget.jobs + budget.schedules;
            const now = runDeployment(max, timingOf(web), adversarial(KUBELET_DELAY_SECONDS), [{ at: 1, kind: "rollout" }]);
            assert.deepEqual(await replay(dsn, now.lives, perPod, fixed), [], `maxReplicas ${max}: ${now.peakPods} pods × ${perPod} + ${fixed}`);
            // The web Deployment before this change: minReadySeconds 5, grace period 45 s (preStop 10, gunicorn 25).
            const before: DeploymentTiming = { maxSurge: percentSurge(25), minReadySeconds: 5, terminationGracePeriodSeconds: 45, preStopSeconds: 10, gracefulSeconds: 25 };
            const then = runDeployment(4, before, adversarial(KUBELET_DELAY_SECONDS), [{ at: 1, kind: "rollout" }]);
            const refused = await replay(dsn, then.lives, perPod, fixed);
            assert.ok(refused.length > 0, `${then.peakPods} pods × ${perPod} + ${fixed} should not fit in 22`);
            assert.match(refused[0] as string, /remaining connection slots are reserved|too many clients/, refused.join("\n"));
        } finally {
            await pg.destroy();
        }
    });
});
