/**
 * `npm run local` for both shipped stacks, in full (cli/lib/local/): every rendered Job,
 * Deployment and CronJob runs with exactly its rendered command and environment against the local
 * stand-ins, and what it does is checked where it lands:
 *
 * - staging: the migrate and collectstatic Jobs complete, collectstatic's files are in the statics
 *   bucket of the GCS emulator (with the manifest of hashed names), the web pod becomes ready
 *   through its startup and readiness probes, pages through the site's front write to PostgreSQL
 *   and to the Redis master (the replica serves the key), HTTPS is enforced except for probes, an
 *   upload lands in the private media bucket and its link — a V4 URL signed through the IAM
 *   signBlob stand-in as the pod's own service account — is served, while a tampered or unsigned
 *   one is refused; the `clearsessions` CronJob deletes expired sessions; `check --deploy` finds
 *   nothing the platform could prevent; a Redis or PostgreSQL outage is survived as the probes
 *   expect; the termination sequence runs as rendered (preStop sleep, SIGTERM, exit within the
 *   grace period).
 * - production: its worker Deployment does a task queued through the site, and when the pod is
 *   stopped with a task in hand it finishes it and exits 0 (SIGTERM, then the grace period).
 * - the reference app's switches (app.*, all off in both stack files): staging runs with the admin
 *   at a prefix of its own and anonymous uploads on, production with anonymous tasks alone on;
 *   each route that is off answers 404. A pickle planted in staging's Redis runs nothing.
 *
 * These replace the running half of the old end-to-end contract test, which ran the app with the
 * bucket variables removed; tests/e2e-contract.test.ts keeps the static contract checks.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { run } from "../cli/lib/local/processes";
import { httpGet } from "../cli/lib/local/http";
import type { LocalRun } from "../cli/lib/local/run";
import type { LocalServices } from "../cli/lib/local/services";
import type { Overrides } from "../maint/lib/configOverrides";
import { PYTHON, baseEnv, multipart } from "./lib/djangoApp";
import { randomPassword, waitFor } from "./lib/localServers";
import { Browser, describeFailures, render, startServices, startStack } from "./lib/localStack";

/** Deploy-check warnings the platform cannot decide, with the reason. */
const ACCEPTED_DEPLOY_WARNINGS: Record<string, string> = {
  "security.W021": "HSTS preload is a commitment for the whole registrable domain; its owner opts in",
};

/**
 * Staging run with the admin (at a prefix of its own) and anonymous uploads on, anonymous tasks off
 * (both shipped stacks have all three off); production with tasks alone on. Each switch is thus
 * seen on in one run and off in the other.
 */
const ADMIN_PATH = "staff-local-test/";
const STAGING_SWITCHES: Overrides = { "django-platform:app": { admin: { enabled: true, path: ADMIN_PATH }, demo: { anonymousUploads: true, anonymousTasks: false } } };
const PRODUCTION_SWITCHES: Overrides = { "django-platform:app": { demo: { anonymousTasks: true } } };

let services: LocalServices;

before(async () => {
  services = await startServices();
});

after(async () => {
  await services?.close();
});

describe("staging, run in full", () => {
  let stack: LocalRun;
  let browser: Browser;
  const env = (name: string) => {
    const web = stack.plan.deployments.find((d) => d.workload.component === "web");
    const value = web?.env[name];
    if (value === undefined) throw new Error(`${name} is not in the web pod's environment`);
    return value;
  };
  const web = () => stack.deployments.find((d) => d.plan.workload.component === "web");
  const probe = (path: string) => {
    const pod = web()?.plan;
    return httpGet(pod?.port?.local ?? 0, path, { host: `${pod?.podIp}:${pod?.port?.local}` });
  };

  /** Everything the web pod printed. */
  const webOutput: string[] = [];

  before(async () => {
    // A real stop for this stack: the preStop hook, SIGTERM and the grace period as rendered.
    stack = await startStack(services, await render("staging", STAGING_SWITCHES), {
      fastStop: false,
      onOutput: (source, text) => {
        if (/\bweb\b/.test(source)) webOutput.push(text);
      },
    });
    assert.deepEqual(stack.failures, [], describeFailures(stack));
    browser = new Browser(stack.front?.port ?? 0);
  });

  after(async () => {
    await stack?.kill();
  });

  test("the Jobs complete and collectstatic writes the hashed files and their manifest to the statics bucket", async () => {
    assert.deepEqual(stack.jobs.map((j) => [j.plan.workload.component, j.exitCode]).sort(), [["collectstatic", 0], ["migrate", 0]]);
    const bucket = env("DJANGO_APP_STATIC_BUCKET");
    assert.equal(stack.buckets.get(bucket), true, "the statics bucket is public (allUsers in the stack's IAM)");
    const objects = await services.gcs.list(bucket);
    assert.ok(objects.includes("staticfiles.json"), "ManifestStaticFilesStorage's manifest");
    assert.ok(objects.some((name) => /^admin\/css\/base\.[0-9a-f]{12}\.css$/.test(name)), `hashed admin CSS among ${objects.length} objects`);
  });

  test("the web pod is ready through its rendered probes; readiness reports database and cache", async () => {
    const pod = web();
    assert.ok(pod?.ready, "ready");
    const kinds = pod.probeRecords.map((r) => r.kind).sort();
    assert.deepEqual(kinds, ["liveness", "readiness", "startup"]);
    const ready = await probe(pod.plan.probes.readiness?.httpGet?.path ?? "");
    assert.equal(ready.status, 200, ready.body);
    assert.deepEqual(JSON.parse(ready.body), { database: "ok", cache: "ok" });
  });

  test("a page through the site writes to PostgreSQL and the Redis master; the replica serves the key", async () => {
    const page = await browser.get("/");
    assert.equal(page.status, 200, page.body);
    const visit = /data-visit-id="(\d+)"/.exec(page.body)?.[1];
    assert.ok(visit, "the page shows the visit it recorded");
    assert.notEqual(await services.postgres.sql(`SELECT served_by FROM demo_visit WHERE id = ${Number(visit)}`, env("DJANGO_APP_DB_NAME")), "");
    const [master, replica] = stack.cache?.servers ?? [];
    assert.ok(master && replica, "a master and a replica as rendered");
    assert.equal(await master.redis.cli(["GET", ":1:demo:last-visit"]), visit);
    await waitFor("the key on the replica", async () => (await replica.redis.cli(["GET", ":1:demo:last-visit"])) === visit, { timeoutMs: 10_000 });
  });

  test("a pickle planted in Redis under the statistics' key runs nothing: the page reads it as a logged miss and rewrites it", async () => {
    const [master, replica] = stack.cache?.servers ?? [];
    assert.ok(master && replica);
    const key = ":1:demo:stats"; // django-redis: KEY_PREFIX "", VERSION 1, the demo's STATS_KEY
    const marker = `PWNED-${randomPassword(8)}`;
    // What an attacker who can write to Redis stores: a pickle whose loading runs code (here: writes a
    // file in the pod's /tmp and prints a marker, the one effect visible outside the pod's sandbox).
    const plant = [
      "import pickle, sys, redis",
      "class Payload:",
      "    def __reduce__(self):",
      `        return (exec, (${JSON.stringify(`import sys; open('/tmp/${marker}', 'w').write('x'); print('${marker}'[::-1], file=sys.stderr, flush=True)`)},))`,
      `redis.Redis(host="127.0.0.1", port=${master.redis.port}, password=sys.argv[1]).set(${JSON.stringify(key)}, pickle.dumps(Payload()), ex=300)`,
    ].join("\n");
    await run(PYTHON, ["-c", plant, master.redis.password], { env: baseEnv() });
    const length = await master.redis.cli(["STRLEN", key]);
    await waitFor("the planted value on the replica", async () => (await replica.redis.cli(["STRLEN", key])) === length, { timeoutMs: 10_000 });
    const before = webOutput.length;
    const page = await browser.get("/");
    assert.equal(page.status, 200, page.body);
    assert.match(page.body, /id="stats">\d+ visits/, "the statistics are computed again from the database");
    const ran = [...marker].reverse().join(""); // what the payload prints; its code holds only the marker
    const output = () => webOutput.slice(before).join("");
    await waitFor("the web pod's log to say what it did with the value", async () => output().includes("cache value rejected") || output().includes(ran), { timeoutMs: 5_000 }).catch(() => undefined);
    assert.ok(!output().includes(ran), "the planted pickle ran in the web pod");
    assert.match(output(), /cache value rejected: not UTF-8 text/);
    assert.ok(!webOutput.join("").includes(marker), "the web pod logged bytes of the planted value");
    // The page wrote the statistics back, as signed JSON ("<json>:<signature>").
    assert.match(await master.redis.cli(["GET", key]), /^\{"total":\d+,"since":"[^"]+"\}:[\w-]{43}$/);
  });

  test("HTTPS is enforced (redirect, HSTS) except for probes; unknown hosts are refused", async () => {
    const pod = web()?.plan;
    const port = pod?.port?.local ?? 0;
    const host = env("DJANGO_APP_ALLOWED_HOSTS").split(/\s+/)[0] as string;
    const plain = await httpGet(port, "/", { host });
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, `https://${host}/`);
    assert.match(String((await httpGet(port, "/", { host, "x-forwarded-proto": "https" })).headers["strict-transport-security"]), /max-age=31536000; includeSubDomains/);
    assert.equal((await httpGet(port, "/", { host: "evil.example.net", "x-forwarded-proto": "https" })).status, 400);
    assert.equal((await probe("/healthz/")).status, 200, "probes are plain http on the pod IP");
  });

  test("pages link the static files of the emulator, which serves them", async () => {
    const login = await browser.get(`/${ADMIN_PATH}login/`);
    assert.equal(login.status, 200, login.body);
    const css = /href="([^"]+\/admin\/css\/base\.[0-9a-f]{12}\.css)"/.exec(login.body)?.[1];
    assert.ok(css?.startsWith(services.gcs.url), `${css} points at the GCS emulator`);
    const url = new URL(css as string);
    const answer = await httpGet(Number(url.port), url.pathname, { host: url.host });
    assert.equal(answer.status, 200);
    assert.match(answer.body, /--body-fg|body/);
  });

  test("switches: the admin answers at its own prefix only; with anonymous tasks off, /tasks/ is 404 and the page offers no task form", async () => {
    assert.equal(env("DJANGO_APP_ADMIN_ENABLED"), "true");
    assert.equal(env("DJANGO_APP_ADMIN_PATH"), ADMIN_PATH);
    assert.equal((await browser.get("/admin/login/")).status, 404, "the admin is not at the prefix every bot tries");
    assert.equal(env("DJANGO_APP_DEMO_ANONYMOUS_TASKS"), "false");
    assert.equal((await browser.post("/uploads/", "/tasks/", { body: "text=x", contentType: "application/x-www-form-urlencoded" })).status, 404);
    assert.equal((await browser.get("/tasks/1/")).status, 404);
    const page = await browser.get("/");
    assert.match(page.body, /href="\/uploads\/"/, "uploads are on: the page links them");
    assert.doesNotMatch(page.body, /action="\/tasks\/"/);
  });

  test("an upload lands in the private media bucket; its link, signed as the pod's own account, is served; tampered and unsigned ones are not", async () => {
    const content = Buffer.from(`uploaded through the local site ${randomPassword(6)}\n`);
    const posted = await browser.post("/uploads/", "/uploads/", multipart({}, { field: "file", name: "report.txt", type: "text/plain", content }));
    assert.equal(posted.status, 302, posted.body);
    const [name, size] = (await services.postgres.sql("SELECT file || '|' || size FROM demo_upload ORDER BY id DESC LIMIT 1", env("DJANGO_APP_DB_NAME"))).split("|");
    assert.match(name ?? "", /^uploads\/\d{4}\/\d{2}\/report[^/]*\.txt$/);
    assert.equal(Number(size), content.length);
    const bucket = env("DJANGO_APP_MEDIA_BUCKET");
    assert.equal(stack.buckets.get(bucket), false, "the media bucket is private");
    assert.ok((await services.gcs.list(bucket)).includes(name as string), `${name} is in ${bucket}`);

    const listing = await browser.get("/uploads/");
    const link = new RegExp(`href="([^"]+/${bucket}/${name}\\?[^"]+)"`).exec(listing.body)?.[1]?.replaceAll("&amp;", "&");
    assert.ok(link, "the uploads page links the file");
    const url = new URL(link);
    assert.equal(url.searchParams.get("X-Goog-Algorithm"), "GOOG4-RSA-SHA256");
    assert.match(url.searchParams.get("X-Goog-Credential") ?? "", new RegExp(`^${env("DJANGO_APP_MEDIA_SIGNER").replace(/[.@]/g, "\\$&")}/`));
    const get = (path: string) => httpGet(Number(url.port), path, { host: url.host });
    const served = await get(`${url.pathname}${url.search}`);
    assert.equal(served.status, 200, served.body);
    assert.equal(served.body, content.toString());
    const signature = url.searchParams.get("X-Goog-Signature") ?? "";
    const tampered = `${url.pathname}${url.search.replace(signature, `${signature.slice(0, -2)}${signature.endsWith("00") ? "11" : "00"}`)}`;
    assert.equal((await get(tampered)).status, 403, "a changed signature is refused");
    assert.equal((await get(url.pathname)).status, 403, "no signature: the bucket is private");
    assert.ok(services.identities.stats.signed >= 1, "signed through the IAM signBlob stand-in");
  });

  test("the clearsessions CronJob, run once, deletes expired sessions", async () => {
    const db = env("DJANGO_APP_DB_NAME");
    await services.postgres.sql(
      "INSERT INTO django_session (session_key, session_data, expire_date) VALUES " +
        "('expiredsessionkey0000000000000001', 'x', now() - interval '1 day'), ('livesessionkey000000000000000001', 'x', now() + interval '1 day');",
      db,
    );
    await stack.runCronJobs();
    assert.deepEqual(stack.failures, [], describeFailures(stack));
    const clear = stack.cronRun.find((p) => p.plan.renderedArgv.includes("clearsessions"));
    assert.ok(clear, "staging renders the clearsessions CronJob");
    assert.deepEqual(clear.plan.renderedArgv, ["python", "manage.py", "clearsessions"]);
    assert.equal(clear.exitCode, 0);
    assert.equal(await services.postgres.sql("SELECT string_agg(session_key, ',' ORDER BY session_key) FROM django_session WHERE session_key LIKE '%sessionkey%'", db), "livesessionkey000000000000000001");
  });

  test("manage.py check --deploy with the web pod's environment finds nothing the platform could have prevented", async () => {
    const plan = web()?.plan;
    assert.ok(plan);
    const result = await run("python", ["manage.py", "check", "--deploy"], { cwd: plan.cwd, env: { ...plan.env }, check: false });
    const ids = [...`${result.stdout}${result.stderr}`.matchAll(/\(([a-z_]+\.[EW]\d+)\)/g)].map((m) => m[1] as string);
    assert.deepEqual(ids.filter((id) => !(id in ACCEPTED_DEPLOY_WARNINGS)), [], result.stderr);
  });

  test("Redis stopped: pages and readiness stay 200; PostgreSQL stopped: readiness 503, liveness 200; both back: ready again", async () => {
    const servers = stack.cache?.servers ?? [];
    await Promise.all(servers.map((s) => s.redis.stop()));
    assert.equal((await browser.get("/")).status, 200);
    assert.deepEqual(JSON.parse((await probe("/readyz/")).body), { database: "ok", cache: "unavailable" });
    for (const s of servers) await s.redis.start();
    // Readiness reports the cache from its circuit breaker, which pages' cache calls close again.
    await waitFor("the cache back", async () => (await browser.get("/")).status === 200 && JSON.parse((await probe("/readyz/")).body).cache === "ok");
    await services.postgres.stop();
    // Readiness reuses its database check for a second (resilience.database_ready).
    await waitFor("readiness 503 without PostgreSQL", async () => (await probe("/readyz/")).status === 503, { timeoutMs: 5_000 });
    assert.equal(JSON.parse((await probe("/readyz/")).body).database, "unavailable");
    assert.equal((await probe("/healthz/")).status, 200);
    await services.postgres.start();
    await waitFor("readiness after PostgreSQL is back", async () => (await probe("/readyz/")).status === 200);
    assert.equal((await browser.get("/")).status, 200);
  });

  test("stopping: out of the load balancer, preStop sleep as rendered, then SIGTERM; gunicorn exits within the grace period", async () => {
    const pod = web();
    assert.ok(pod);
    const sleepSeconds = pod.plan.preStop?.sleep?.seconds ?? 0;
    assert.ok(sleepSeconds > 0, "the web container has a preStop sleep");
    await stack.stop();
    assert.deepEqual(stack.failures, [], describeFailures(stack));
    const record = pod.termination;
    assert.ok(record);
    assert.equal(record.preStop, `sleep ${sleepSeconds} s`);
    assert.equal(record.killed, false, "exited before the grace period ended");
    assert.equal(record.exitCode, 0);
    assert.ok(record.seconds >= sleepSeconds && record.seconds < pod.plan.terminationGracePeriodSeconds, `${record.seconds} s`);
  });
});

describe("production, run in full", () => {
  let stack: LocalRun;
  let browser: Browser;

  before(async () => {
    stack = await startStack(services, await render("production", PRODUCTION_SWITCHES));
    assert.deepEqual(stack.failures, [], describeFailures(stack));
    await stack.runCronJobs();
    assert.deepEqual(stack.failures, [], describeFailures(stack));
    browser = new Browser(stack.front?.port ?? 0);
  });

  after(async () => {
    await stack?.kill();
  });

  /** Queues a task through the site and returns its id. */
  async function queueTask(text: string, seconds = 0): Promise<number> {
    // The home page's task form gives the CSRF cookie (/uploads/ is off here).
    const posted = await browser.post("/", "/tasks/", { body: new URLSearchParams({ text, seconds: String(seconds) }).toString(), contentType: "application/x-www-form-urlencoded" });
    assert.equal(posted.status, 303, posted.body);
    const id = Number(/\/tasks\/(\d+)\/$/.exec(String(posted.headers.location))?.[1]);
    assert.ok(id > 0, `no task id in ${String(posted.headers.location)}`);
    return id;
  }
  const status = async (id: number) => JSON.parse((await browser.get(`/tasks/${id}/`)).body) as { status: string; result: string };

  test("every workload runs: Jobs, web, the worker Deployment, every CronJob", () => {
    assert.deepEqual(stack.deployments.map((d) => [d.plan.workload.component, d.ready]).sort(), [["web", true], ["worker", true]]);
    assert.ok(stack.cronRun.length >= 1 && stack.cronRun.every((c) => c.exitCode === 0));
  });

  test("switches: production's admin and anonymous uploads are off (404, no link); its tasks are on, as this run asks", async () => {
    const web = stack.plan.deployments.find((d) => d.workload.component === "web");
    assert.equal(web?.env.DJANGO_APP_ADMIN_ENABLED, "false");
    assert.equal(web?.env.DJANGO_APP_ADMIN_PATH, undefined);
    assert.equal(web?.env.DJANGO_APP_DEMO_ANONYMOUS_UPLOADS, "false");
    assert.equal(web?.env.DJANGO_APP_DEMO_ANONYMOUS_TASKS, "true");
    for (const path of ["/admin/", "/admin/login/", "/uploads/"]) assert.equal((await browser.get(path)).status, 404, path);
    const page = await browser.get("/");
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.body, /href="\/uploads\/"/);
    assert.match(page.body, /action="\/tasks\/"/);
  });

  test("enqueue → worker pod → result: a task queued through the site is done by the worker Deployment", async () => {
    const id = await queueTask("hello worker");
    await waitFor(`task ${id} done`, async () => (await status(id)).status === "done", { timeoutMs: 20_000 });
    assert.equal((await status(id)).result, createHash("sha256").update("hello worker").digest("hex"));
  });

  test("stopping with a task in hand: SIGTERM lets the worker finish it and exit 0 within its grace period", async () => {
    const id = await queueTask("slow task", 1.5);
    await waitFor(`task ${id} to start`, async () => (await status(id)).status === "running", { timeoutMs: 20_000 });
    const worker = stack.deployments.find((d) => d.plan.workload.component === "worker");
    assert.ok(worker);
    const record = await worker.terminate();
    assert.ok(record);
    assert.equal(record.killed, false);
    assert.equal(record.exitCode, 0, worker.lastLines(10).join("\n"));
    const row = await services.postgres.sql(`SELECT status FROM demo_task WHERE id = ${id}`, "django");
    assert.equal(row, "done", "the task in hand was finished before exiting");
  });
});
