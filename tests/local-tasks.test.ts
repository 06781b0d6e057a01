/**
 * Tasks are not lost (issue 24, point 4): production's worker Deployment run as rendered
 * (cli/lib/local/: each pod with exactly its rendered command and environment) against real
 * PostgreSQL and Redis, through the faults GKE produces routinely:
 *
 * - a worker pod SIGKILLed with a task in hand (node lost, OOM kill, a Spot preemption past its
 *   grace period) — the task is done by another pod, exactly once in effect;
 * - a worker pod stopped (SIGTERM) with a task longer than the stall window — it finishes the task
 *   and exits 0, and no other pod runs it a second time;
 * - PostgreSQL, the queue's broker, restarted while workers are busy — nothing is lost;
 * - enqueue while PostgreSQL is down — a clean 5xx and no half-written task; enqueue while Redis is
 *   down — accepted and done (the queue does not live in the evicting cache);
 * - each worker pod holds at most {@link REFERENCE_WORKER_DB_CONNECTIONS} database connections, the
 *   figure production's `workers.tasks.dbConnections` gives the connection budget.
 *
 * "Done" is what the lab observes: `demo_task.status = 'done'` with the SHA-256 of the text; "once
 * in effect" is one `worker: task N done` line per task in the workers' output, which the task logs
 * only from the run that made the transition (demo/tasks.py).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { REFERENCE_WORKER_DB_CONNECTIONS, WORKER_STALLED_SECONDS } from "../components/workers";
import { LocalPod, type PodPlan } from "../cli/lib/local/pod";
import type { LocalRun } from "../cli/lib/local/run";
import type { LocalServices } from "../cli/lib/local/services";
import { waitFor } from "./lib/localServers";
import { OPEN_DEMO } from "../maint/lib/configOverrides";
import { Browser, describeFailures, render, startServices, startStack } from "./lib/localStack";

let services: LocalServices;
let stack: LocalRun;
let browser: Browser;
let workerPlan: PodPlan;
/** Every chunk any worker pod printed, in order. */
const workerOutput: string[] = [];
/** Worker pods this file started beside the stack's own (replacements, a second replica). */
const extraPods: LocalPod[] = [];

before(async () => {
  services = await startServices();
  stack = await startStack(services, await render("production", OPEN_DEMO), {
    onOutput: (source, text) => {
      if (source.includes("worker")) workerOutput.push(text);
    },
  });
  assert.deepEqual(stack.failures, [], describeFailures(stack));
  browser = new Browser(stack.front?.port ?? 0);
  const worker = stack.deployments.find((d) => d.plan.workload.component === "worker");
  assert.ok(worker, "production renders a worker Deployment");
  workerPlan = worker.plan;
});

after(async () => {
  await Promise.all(extraPods.map((p) => p.kill()));
  await stack?.kill();
  await services?.close();
});

/** Another pod of the worker Deployment (a replacement, or the HPA's second replica). */
function startWorkerPod(): LocalPod {
  const pod = new LocalPod(workerPlan, services.isolation, { onOutput: (text) => workerOutput.push(text) });
  extraPods.push(pod);
  pod.start();
  return pod;
}

/** app/resilience's BREAKER_COOLDOWN_SECONDS: how long a process skips the database after its circuit opened. */
const BREAKER_COOLDOWN_MS = Number(/^BREAKER_COOLDOWN_SECONDS = ([\d.]+)$/m.exec(readFileSync(join(__dirname, "..", "app", "resilience", "__init__.py"), "utf8"))?.[1]) * 1000;

/**
 * After PostgreSQL returns, each gunicorn process of the web pod lets pages through again once its
 * own database circuit (app/resilience) closes: at once in the process whose page or readiness
 * check first succeeds, within the cool-down in the others (their next page after it is a trial).
 * Wait for a page that needs the database (/uploads/; the home page may answer from the cache
 * alone), then for the cool-down: every circuit opened before that page has then let a trial through.
 */
async function siteBack(): Promise<void> {
  assert.ok(BREAKER_COOLDOWN_MS > 0, "BREAKER_COOLDOWN_SECONDS found in app/resilience");
  await waitFor("the site answering after PostgreSQL returned", async () => (await browser.get("/uploads/").catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 30_000 });
  await new Promise((resolve) => setTimeout(resolve, BREAKER_COOLDOWN_MS));
}

const sql = (query: string) => services.postgres.sql(query, stack.database?.name ?? "");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Queues a task through the site and returns its id. */
async function queueTask(text: string, seconds = 0): Promise<number> {
  const posted = await browser.post("/uploads/", "/tasks/", { body: new URLSearchParams({ text, seconds: String(seconds) }).toString(), contentType: "application/x-www-form-urlencoded" });
  assert.equal(posted.status, 303, posted.body.slice(0, 400));
  const id = Number(/\/tasks\/(\d+)\/$/.exec(String(posted.headers.location))?.[1]);
  assert.ok(id > 0, `no task id in ${String(posted.headers.location)}`);
  return id;
}

const statusOf = async (id: number) => sql(`SELECT status FROM demo_task WHERE id = ${id}`);

/** How often the workers' output says the task was done (the run that made the transition logs it). */
function doneLines(id: number): number {
  return workerOutput.join("").split("\n").filter((line) => new RegExp(`worker: task ${id} done\\b`).test(line)).length;
}

/** How often a worker started running the task (each delivery logs it). */
function startLines(id: number): number {
  return workerOutput.join("").split("\n").filter((line) => new RegExp(`worker: task ${id} started\\b`).test(line)).length;
}

describe("production's worker Deployment under faults", () => {
  test("a worker SIGKILLed with a task in hand: another pod does the task, once in effect; a worker stopped with a task longer than the stall window finishes it alone and exits 0", async (t) => {
    const first = stack.deployments.find((d) => d.plan.workload.component === "worker");
    assert.ok(first);
    // A lost node's pods are replaced only after the default 300 s toleration of an unreachable
    // node (the platform sets no toleration of its own): the task must not wait for that. The
    // killed pod below never comes back; other pods re-queue its task.
    const workerDeployments = stack.options.docs.filter((d) => d.kind === "Deployment" && d.metadata.labels?.["app.kubernetes.io/component"] === "worker");
    assert.equal(workerDeployments.length, 1, "one worker Deployment");
    const tolerations = JSON.stringify(workerDeployments[0]?.spec?.template ?? {});
    assert.doesNotMatch(tolerations, /node\.kubernetes\.io\/(unreachable|not-ready)/);
    // 1. The only worker takes X; the node goes: SIGKILL of the whole pod, no SIGTERM.
    const killed = await queueTask("killed mid-task", 3);
    await waitFor(`task ${killed} running`, async () => (await statusOf(killed)) === "running", { timeoutMs: 20_000 });
    await first.kill();
    const killedAt = performance.now();
    // 2. Its replacement takes Y, a task longer than the stall window; a second replica starts.
    const replacement = startWorkerPod();
    const long = await queueTask("outlives the stall window", WORKER_STALLED_SECONDS + 5);
    await waitFor(`task ${long} running`, async () => (await statusOf(long)) === "running", { timeoutMs: 30_000 });
    startWorkerPod();
    // 3. The replacement is stopped as a rollout stops it: SIGTERM, then its grace period.
    let requeuedAfterS = Number.NaN;
    const [record] = await Promise.all([
      replacement.terminate(true),
      waitFor(`task ${killed} done after the SIGKILL`, async () => (await statusOf(killed)) === "done", { timeoutMs: 60_000 }).then(() => {
        requeuedAfterS = (performance.now() - killedAt) / 1000;
      }),
    ]);
    t.diagnostic(`the SIGKILLed task was done ${requeuedAfterS.toFixed(1)} s after the kill`);
    assert.ok(record, "the replacement was running");
    assert.equal(record.killed, false, `finished within terminationGracePeriodSeconds ${workerPlan.terminationGracePeriodSeconds}`);
    assert.equal(record.exitCode, 0, replacement.lastLines(20).join("\n"));
    assert.equal(await statusOf(long), "done", "the task in hand was finished before the pod exited");
    assert.equal(await sql(`SELECT result FROM demo_task WHERE id = ${long}`), sha256("outlives the stall window"));
    assert.equal(startLines(long), 1, "the long task was not handed to another pod while its worker finished it");
    assert.equal(doneLines(long), 1);
    // The killed task: redone by another pod, its effect once.
    assert.equal(await sql(`SELECT result FROM demo_task WHERE id = ${killed}`), sha256("killed mid-task"));
    assert.equal(startLines(killed), 2, "delivered twice: at least once, with the SIGKILL in between");
    assert.equal(doneLines(killed), 1, "done once in effect");
    assert.ok(requeuedAfterS < 60, `done ${requeuedAfterS.toFixed(1)} s after the SIGKILL`);
  });

  test("PostgreSQL restarted while two workers are busy: every task is done, each once", async () => {
    startWorkerPod(); // the HPA's minReplicas is 2: the survivor of the test above and this one
    const texts = Array.from({ length: 24 }, (_, i) => `through a restart ${i}`);
    const ids: number[] = [];
    for (const text of texts) ids.push(await queueTask(text, 0.3));
    await waitFor("the workers to be busy", async () => Number(await sql(`SELECT count(*) FROM demo_task WHERE id = ANY(ARRAY[${ids.join(",")}]) AND status = 'done'`)) >= 2, { timeoutMs: 20_000 });
    await services.postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await services.postgres.start();
    await siteBack();
    await waitFor("every task done after the restart", async () => Number(await sql(`SELECT count(*) FROM demo_task WHERE id = ANY(ARRAY[${ids.join(",")}]) AND status = 'done'`)) === ids.length, { timeoutMs: 60_000 });
    for (const [i, id] of ids.entries()) {
      assert.equal(await sql(`SELECT result FROM demo_task WHERE id = ${id}`), sha256(texts[i] ?? ""), `task ${id}`);
      assert.equal(doneLines(id), 1, `task ${id} done once in effect`);
    }
    // The workers rode the outage out in-process: an exit would cost the kubelet's restart
    // back-off (10 s, doubling, up to 5 min) on top of the outage.
    const alive = extraPods.filter((p) => p.termination === undefined && p.exitCode === undefined);
    assert.equal(alive.length, 2, "both worker pods still run their first container");
  });

  test(`each worker pod holds at most ${REFERENCE_WORKER_DB_CONNECTIONS} database connections, production's workers.tasks.dbConnections`, async (t) => {
    const production = parse(readFileSync(join(__dirname, "..", "Pulumi.production.yaml"), "utf8")) as { config: Record<string, { tasks?: { dbConnections?: number } }> };
    assert.equal(production.config["django-platform:workers"]?.tasks?.dbConnections, REFERENCE_WORKER_DB_CONNECTIONS);
    // Busy workers, sampled: connections per worker process (application_name names pod and pid).
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push(await queueTask(`sampled ${i}`, 0.5));
    let peak = 0;
    let seen = 0;
    const end = performance.now() + 6_000;
    while (performance.now() < end) {
      const rows = (await sql("SELECT application_name, count(*) FROM pg_stat_activity WHERE application_name LIKE 'demo_worker %' GROUP BY 1")).split("\n").filter(Boolean);
      seen = Math.max(seen, rows.length);
      for (const row of rows) peak = Math.max(peak, Number(row.split("|")[1]));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.diagnostic(`peak ${peak} connections in one worker pod, ${seen} worker pods seen`);
    assert.ok(seen >= 2, `both worker pods name their connections (saw ${seen})`);
    assert.ok(peak >= 2 && peak <= REFERENCE_WORKER_DB_CONNECTIONS, `peak ${peak} connections in one worker pod`);
    await waitFor("the sampled tasks done", async () => Number(await sql(`SELECT count(*) FROM demo_task WHERE id = ANY(ARRAY[${ids.join(",")}]) AND status = 'done'`)) === ids.length, { timeoutMs: 30_000 });
  });

  test("enqueue while PostgreSQL is down: a clean 5xx, and no half-written task afterwards", async () => {
    const before = await sql("SELECT count(*) FROM demo_task");
    await services.postgres.stop();
    try {
      await browser.get("/uploads/").catch(() => undefined);
      const posted = await browser.post("/uploads/", "/tasks/", { body: "text=while+down&seconds=0", contentType: "application/x-www-form-urlencoded" }).catch((error: Error) => ({ status: 0, body: error.message, headers: {} }));
      assert.ok(posted.status >= 500, `HTTP ${posted.status}`);
    } finally {
      await services.postgres.start();
      await siteBack();
    }
    assert.equal(await sql("SELECT count(*) FROM demo_task"), before, "no task row without its job");
    assert.equal(await sql("SELECT count(*) FROM demo_task WHERE text = 'while down'"), "0");
  });

  test("enqueue while Redis is down: accepted and done, the queue is not in the cache", async () => {
    await stack.cache?.stop();
    const id = await queueTask("cache down", 0);
    await waitFor(`task ${id} done without Redis`, async () => (await statusOf(id)) === "done", { timeoutMs: 30_000 });
    assert.equal(await sql(`SELECT result FROM demo_task WHERE id = ${id}`), sha256("cache down"));
  });
});
