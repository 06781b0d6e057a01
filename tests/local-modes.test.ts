/**
 * `npm run local -- --check` for every mode and feature, lighter than the full runs of
 * tests/local.test.ts: one set of services for every run (one stack after the other), no preStop
 * sleep on the way out. Each run renders the stack with the mode's config, runs every Job, every
 * Deployment until ready and every CronJob once, with exactly their rendered commands and
 * environments, and must report no failure; each then checks what the mode is about where it
 * lands (the TLS cache answers, the database connection is encrypted, the second project's page).
 *
 * And the check itself: one environment variable dropped from one Job (the media signer of the
 * migrate Job, which keeps the media bucket: the shape of the collectstatic failure issue 20's B1
 * found) fails the run at that Job, naming it, its command and the exception; a liveness probe
 * that fails kills the pod and fails the run.
 */
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { httpGet } from "../cli/lib/local/http";
import type { LocalRun } from "../cli/lib/local/run";
import type { LocalServices } from "../cli/lib/local/services";
import { setWritable } from "../cli/lib/local/sandbox";
import { podSpec, type K8sDoc } from "../cli/lib/renderedWorkloads";
import { ROOT, type Overrides } from "./helpers/platform";
import { copyProject } from "./lib/djangoApp";
import { Browser, describeFailures, render, startServices, startStack, type StartOptions } from "./lib/localStack";

const WORKER = { command: ["python", "manage.py", "demo_worker"] };
const OTHER_PROJECT = join(ROOT, "tests", "fixtures", "otherapp");
/** The files docs/your-app.md step 2 has a project copy from app/. */
const GUIDE_COPIES = ["gunicorn.conf.py", "cloud_logging.py", "web_worker.py", "resilience"];

let services: LocalServices;
const cleanups: string[] = [];

before(async () => {
  services = await startServices();
});

after(async () => {
  await services?.close();
});

/** Runs a stack with --check's steps and returns the stopped run. */
async function check(stack: "staging" | "production", overrides: Overrides, options: StartOptions = {}, whileRunning?: (run: LocalRun) => Promise<void>): Promise<LocalRun> {
  const run = await startStack(services, await render(stack, overrides), options);
  try {
    if (run.failures.length === 0) {
      await run.runCronJobs();
      await run.livenessSeen();
      if (run.failures.length === 0) await whileRunning?.(run);
    }
  } finally {
    await run.stop();
  }
  return run;
}

const readiness = async (run: LocalRun) => {
  const web = run.deployments.find((d) => d.plan.workload.component === "web")?.plan;
  const answer = await httpGet(web?.port?.local ?? 0, "/readyz/", { host: `${web?.podIp}:${web?.port?.local}` });
  return JSON.parse(answer.body) as { database: string; cache: string };
};

describe("every mode runs: Jobs complete, pods ready, CronJobs complete", () => {
  test("staging, cache.mode memorystore with TLS: the app reaches a TLS-only Redis through the CA it is given", async () => {
    const run = await check("staging", { "django-platform:cache": { mode: "memorystore", replicas: 1, memorySizeGb: 5 } }, {}, async (r) => {
      assert.deepEqual(await readiness(r), { database: "ok", cache: "ok" });
      assert.equal((await new Browser(r.front?.port ?? 0).get("/")).status, 200);
    });
    assert.deepEqual(run.failures, [], describeFailures(run));
    assert.deepEqual(run.cache?.servers.map((s) => [s.tls, s.standsFor.split(" ").slice(0, 2).join(" ")]), [[true, "Memorystore primary"], [true, "Memorystore read"]]);
  });

  test("production, memorystore without TLS, database.connector private-ip: sslmode require, the connections are encrypted", async () => {
    const run = await check("production", { "django-platform:cache": { mode: "memorystore", replicas: 1, memorySizeGb: 5, transitEncryption: false }, "django-platform:database": { connector: "private-ip" } }, {}, async (r) => {
      assert.deepEqual(await readiness(r), { database: "ok", cache: "ok" });
      assert.equal((await new Browser(r.front?.port ?? 0).get("/")).status, 200);
      const ssl = await services.postgres.sql("SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'django'");
      assert.equal(ssl, "t", "the app's connections use TLS");
    });
    assert.deepEqual(run.failures, [], describeFailures(run));
    assert.equal(run.plan.deployments[0]?.env.DJANGO_APP_DB_SSLMODE, "require");
    assert.deepEqual(run.cache?.servers.map((s) => s.tls), [false, false]);
  });

  test("staging, media off, Spot off, two workers and two schedules", async () => {
    const run = await check("staging", {
      "django-platform:database": { tier: "db-custom-1-3840" },
      "django-platform:media": { enabled: false },
      "django-platform:workload": { spot: false },
      "django-platform:workers": { tasks: WORKER, mail: WORKER },
      "django-platform:schedules": { sweep: { schedule: "*/30 * * * *", command: ["python", "manage.py", "clearsessions"] } },
    });
    assert.deepEqual(run.failures, [], describeFailures(run));
    assert.deepEqual(run.deployments.map((d) => d.plan.workload.component).sort(), ["web", "worker", "worker"]);
    assert.equal(run.cronRun.length, 2);
    assert.ok(run.cronRun.every((c) => c.exitCode === 0));
    assert.ok(run.plan.deployments.every((d) => d.env.DJANGO_APP_MEDIA_BUCKET === undefined), "no media bucket anywhere");
    assert.deepEqual([...run.buckets.keys()].filter((b) => b.includes("media")), []);
  });

  test("production, a project's own settings and WSGI modules (tests/fixtures/otherapp)", async () => {
    const project = copyProject(OTHER_PROJECT, "local-otherapp-");
    cleanups.push(project);
    for (const file of GUIDE_COPIES) cpSync(join(ROOT, "app", file), join(project, file), { recursive: true, filter: (path) => !path.includes("__pycache__") });
    // The project has no demo_worker command: production's worker is the reference app's.
    const run = await check("production", { "django-platform:workload": { settingsModule: "shop.deploy.settings", wsgiModule: "shop.deploy.wsgi" }, "django-platform:workers": undefined }, { appDir: project }, async (r) => {
      const page = await new Browser(r.front?.port ?? 0).get("/");
      assert.equal(page.status, 200, page.body);
      assert.match(page.body, /<p id='products'>teapot<\/p>/);
      // The guide's copies of gunicorn.conf.py and cloud_logging.py: JSON lines for Cloud Logging.
      const web = r.deployments.find((d) => d.plan.workload.component === "web");
      const lines = web?.lastLines(20) ?? [];
      assert.ok(lines.length > 0);
      for (const line of lines) assert.equal(typeof (JSON.parse(line) as { severity?: unknown }).severity, "string", line);
    });
    assert.deepEqual(run.failures, [], describeFailures(run));
    const web = run.plan.deployments.find((d) => d.workload.component === "web");
    assert.deepEqual(web?.renderedArgv.slice(0, 2), ["gunicorn", "shop.deploy.wsgi:application"]);
    assert.equal(web?.env.DJANGO_SETTINGS_MODULE, "shop.deploy.settings");
  });
});

after(() => {
  for (const dir of cleanups) setWritable(dir, true);
});

describe("the check fails, naming the workload, when a rendered container cannot work", () => {
  test("one variable dropped from one Job: the migrate Job without its database user fails, and nothing else starts", async () => {
    const run = await check("staging", {}, {
      mutate: (docs) => {
        const migrate = docs.find((d) => d.kind === "Job" && d.metadata.labels?.["app.kubernetes.io/component"] === "migrate") as K8sDoc;
        const container = podSpec(migrate).containers[0] as { env?: Array<{ name: string }> };
        container.env = container.env?.filter((e) => e.name !== "DJANGO_APP_DB_USER");
      },
    });
    assert.equal(run.failures.length, 1, describeFailures(run));
    const [failure] = run.failures;
    assert.match(failure?.workload ?? "", /^Job\/django-workload-migrate-/);
    assert.match(failure?.command ?? "", /^python -c # django-platform: the migrate Job's schema step/);
    assert.match(failure?.reason ?? "", /exited with code 1/);
    assert.match(failure?.lastLines.join("\n") ?? "", /ImproperlyConfigured: DJANGO_APP_DB_ENGINE is 'postgresql', so set DJANGO_APP_DB_USER as well/);
    assert.ok(run.deployments.every((d) => d.startedAt === 0), "no Deployment starts after a failed Job");
  });

  test("a liveness probe that keeps failing kills the pod; a CronJob that fails is named", async () => {
    const run = await check("staging", {}, {
      mutate: (docs) => {
        // No Jobs (they pass in the other runs): the web pod and the CronJob.
        for (const job of docs.filter((d) => d.kind === "Job")) docs.splice(docs.indexOf(job), 1);
        const web = docs.find((d) => d.kind === "Deployment") as K8sDoc;
        const container = podSpec(web).containers[0] as { livenessProbe?: Record<string, unknown> };
        // Port 8001: gunicorn listens on 8000 only (an HTTP probe counts 3xx as success, so a
        // wrong path would pass: the app redirects plain http to https).
        container.livenessProbe = { ...container.livenessProbe, httpGet: { path: "/healthz/", port: 8001 }, periodSeconds: 1, failureThreshold: 2, timeoutSeconds: 1 };
        const cron = docs.find((d) => d.kind === "CronJob") as K8sDoc;
        (podSpec(cron).containers[0] as { command?: string[] }).command = ["python", "manage.py", "no_such_command"];
      },
    });
    const liveness = run.failures.find((f) => f.workload.startsWith("Deployment/"));
    assert.ok(liveness, describeFailures(run));
    assert.match(liveness.reason, /^liveness probe \/healthz\/ failed 2 times in a row \(last: ECONNREFUSED \(nothing listens on container port 8001\)\)/);
    const cron = run.failures.find((f) => f.workload.startsWith("CronJob/"));
    assert.ok(cron, describeFailures(run));
    assert.equal(cron.command, "python manage.py no_such_command");
    assert.match(cron.lastLines.join("\n"), /Unknown command: 'no_such_command'/);
  });

  test("a startup probe that never passes: the pod never becomes ready, and is named", async () => {
    const run = await check("staging", {}, {
      mutate: (docs) => {
        for (const job of docs.filter((d) => d.kind === "Job" || d.kind === "CronJob")) docs.splice(docs.indexOf(job), 1);
        const web = docs.find((d) => d.kind === "Deployment") as K8sDoc;
        const container = podSpec(web).containers[0] as { startupProbe?: Record<string, unknown> };
        container.startupProbe = { ...container.startupProbe, httpGet: { path: "/healthz/", port: 8001 }, periodSeconds: 1, failureThreshold: 2 };
      },
    });
    assert.equal(run.failures.length, 1, describeFailures(run));
    assert.match(run.failures[0]?.reason ?? "", /^startup probe \/healthz\/ failed 2 times in a row/);
    assert.equal(run.deployments[0]?.ready, false);
  });
});
