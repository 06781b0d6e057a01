/**
 * End-to-end contract test: the reference Django app, configured by exactly the environment the
 * platform renders for the staging stack, works against real PostgreSQL and Redis.
 *
 * 1. Synth the staging stack offline — with one Redis replica (`cache.replicas: 1`): staging itself
 *    runs none to save a pod, production runs them, and the app's master-first/replica reads are
 *    what this test exercises — and read manifests.yaml: the web Deployment → its envFrom
 *    ConfigMap and Secret, POD_IP from the downward API, the rendered gunicorn command and probes,
 *    the Redis StatefulSets' arguments, the migrate Job.
 * 2. Contract symmetry: the DJANGO_APP_* names the app reads (settings.ENV_CONTRACT) equal those
 *    the ConfigMap and Secret provide, minus the extras the stack file declares.
 * 3. Start PostgreSQL and a Redis master + replica on loopback with the rendered Redis arguments
 *    (only host, port and --dir replaced, `$(REDIS_PASSWORD)` expanded as Kubernetes does), run
 *    the migrate Job's command, `check --deploy`, gunicorn with the rendered command (only the bind
 *    address replaced), then real HTTP requests and faults.
 *
 * 4. Uploads, the worker and the schedule: a file posted through the app lands in Django's default
 *    storage and the database; a task queued by a web request is done by the worker command that
 *    Pulumi.production.yaml configures (`workers.tasks.command`, with `--once`); SIGTERM lets the
 *    worker finish its task and exit 0; the CronJob the staging stack renders for `clearsessions`
 *    deletes expired sessions in PostgreSQL.
 *
 * Only hosts, ports and secret placeholders are replaced — and DJANGO_APP_STATIC_BUCKET,
 * DJANGO_APP_MEDIA_BUCKET and DJANGO_APP_MEDIA_SIGNER are removed from the running app's
 * environment: there is no GCS here (google-cloud-storage is installed, but has nothing to talk
 * to), so static files and uploads use local files (uploads under the copy's MEDIA_ROOT). Every
 * rendered container imports its settings with its full env, buckets included, in
 * tests/containers.test.ts. The GCS
 * settings built from the rendered values are asserted instead (tests "rendered static settings …"
 * and "rendered media settings …"), and app/tests/test_settings.py covers those code paths.
 * The app runs from a temp copy of app/ (the image's WORKDIR), so uploads never land in the repository.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { OPTIONAL_PLAIN_VARIABLES } from "../components/appEnv";
import { APP_DIR, PYTHON, appContract, baseEnv, copyProject, djangoVersion, dockerfileFinalStage, httpGet, manage, multipart, postForm, startAppServer, synthStagingWith, loopbackContract } from "./lib/djangoApp";
import { GroupProcess, LocalPostgres, LocalRedis, freePort, randomPassword, run, tempDir, waitFor } from "./lib/localServers";
import {
  REPO,
  argv,
  byComponent,
  container,
  containerEnv,
  declaredExtras,
  expandKubernetesVars,
  podSpec,
  serviceForHost,
  type Container,
  type EnvSource,
  type HttpProbe,
  type K8sDoc,
} from "./lib/rendered";

const STACK_FILE = join(REPO, "Pulumi.staging.yaml");
const PRODUCTION_STACK_FILE = join(REPO, "Pulumi.production.yaml");
/** Variables naming GCS buckets, and the account that signs for one: no GCS here (see the header). */
const GCS_ONLY_VARIABLES = ["DJANGO_APP_STATIC_BUCKET", "DJANGO_APP_MEDIA_BUCKET", "DJANGO_APP_MEDIA_SIGNER"];
/** Stands in for status.podIP: the probes' Host header is the pod IP. */
const POD_IP = "10.8.0.15";
/** Deploy-check warnings the platform cannot decide, with the reason. */
const ACCEPTED_DEPLOY_WARNINGS: Record<string, string> = {
  "security.W021": "HSTS preload is a commitment for the whole registrable domain; its owner opts in",
};

const sorted = (names: Iterable<string>) => [...names].sort();
const isSecretPlaceholder = (value: string) => value.startsWith("[secret");

let docs: K8sDoc[] = [];
let web: K8sDoc;
let webContainer: Container;
let webEnv: Map<string, EnvSource>;

before(async () => {
  docs = await synthStagingWith({ "django-platform:cache": { replicas: 1 } });
  web = byComponent(docs, "Deployment", "web");
  webContainer = container(web, "web");
  webEnv = containerEnv(docs, webContainer);
});

function probePath(probe: HttpProbe | undefined, which: string): string {
  const path = probe?.httpGet?.path;
  if (!path) throw new Error(`the web container has no HTTP ${which} probe`);
  return path;
}

/** The value following `flag` in an argument vector. */
function flagValue(args: readonly string[], flag: string): string {
  const index = args.indexOf(flag);
  const value = index === -1 ? undefined : args[index + 1];
  if (value === undefined) throw new Error(`${flag} not found in ${JSON.stringify(args)}`);
  return value;
}

function rendered(name: string): string {
  const value = webEnv.get(name)?.value;
  if (value === undefined) throw new Error(`${name} is not in the web container's environment`);
  return value;
}

describe("contract between the rendered manifests and the app", () => {
  test("the app reads exactly the DJANGO_APP_* variables the web ConfigMap and Secret provide (minus declared extras)", async () => {
    const app = await appContract();
    const refs = webContainer.envFrom ?? [];
    assert.equal(refs.filter((r) => r.configMapRef).length, 1, "web container: expected one envFrom configMapRef");
    assert.equal(refs.filter((r) => r.secretRef).length, 1, "web container: expected one envFrom secretRef");
    const extras = declaredExtras(STACK_FILE);
    const ofKind = (kind: EnvSource["kind"]) => [...webEnv].filter(([, source]) => source.kind === kind).map(([name]) => name);
    for (const [kind, names] of [["configMap", extras.plain], ["secret", extras.secret]] as const) {
      for (const name of names) assert.ok(ofKind(kind).includes(name), `extra ${name} is declared in Pulumi.staging.yaml but not rendered in the ${kind}`);
    }
    const plain = ofKind("configMap").filter((name) => !extras.plain.includes(name));
    const secret = ofKind("secret").filter((name) => !extras.secret.includes(name));
    // Optional variables (components/appEnv.ts) are rendered only when the stack has a value (the cache
    // CA only with Memorystore TLS, see memorystore.test.ts); the app must read them all the same.
    const optional: readonly string[] = OPTIONAL_PLAIN_VARIABLES;
    for (const name of optional) assert.ok(app.plain.includes(name), `${name} is an optional contract variable app/config/settings.py does not read`);
    const expectedPlain = app.plain.filter((name) => !optional.includes(name) || plain.includes(name));
    assert.deepEqual(sorted(plain), expectedPlain, "ConfigMap keys (left) vs. plain variables app/config/settings.py reads, minus optional ones not rendered (right)");
    assert.deepEqual(sorted(secret), app.secret, "Secret keys (left) vs. secret variables app/config/settings.py reads (right)");
    assert.deepEqual(sorted(ofKind("fieldRef")), app.downward, "downward-API variables vs. the app's");
    // Per-container values (the media bucket and its signer): rendered in the container's own env,
    // never in the ConfigMap; the two together (staging has media on, so the web container has both).
    const perContainer = ofKind("value").filter((name) => name.startsWith("DJANGO_APP_"));
    for (const name of perContainer) assert.ok(app.container.includes(name), `${name} is set in the web container's env but app/config/settings.py does not read it as a per-container value`);
    assert.deepEqual(sorted(perContainer), app.container, "the web container's own DJANGO_APP_* variables vs. the per-container variables the app reads");
    for (const name of app.container) assert.ok(!ofKind("configMap").includes(name), `${name} must be set per container, not in the shared ConfigMap`);
    assert.equal(webEnv.has("DJANGO_APP_MEDIA_SIGNER"), webEnv.has("DJANGO_APP_MEDIA_BUCKET"), "DJANGO_APP_MEDIA_SIGNER must be rendered exactly when DJANGO_APP_MEDIA_BUCKET is");
    for (const name of app.downward) assert.equal(webEnv.get(name)?.from, "status.podIP", `${name} must come from status.podIP`);
    for (const name of app.secret) assert.ok(isSecretPlaceholder(rendered(name)), `${name} must be a placeholder in manifests.yaml`);
  });

  test("the migrate and collectstatic Jobs get the same ConfigMap and Secret as the web pods", () => {
    for (const component of ["migrate", "collectstatic"]) {
      const job = byComponent(docs, "Job", component);
      const [jobContainer] = podSpec(job).containers;
      assert.deepEqual(jobContainer?.envFrom, webContainer.envFrom, `${component} Job envFrom`);
    }
  });

  test("the Deployment runs the image as built: uid/gid 10001, port 8000, a writable --worker-tmp-dir", () => {
    const image = dockerfileFinalStage(readFileSync(join(APP_DIR, "Dockerfile"), "utf8"));
    const user = image.filter(([k]) => k === "USER").at(-1)?.[1] ?? "";
    const [uid, gid] = user.split(":").map(Number);
    const pod = podSpec(web).securityContext;
    assert.deepEqual([pod?.runAsUser, pod?.runAsGroup, pod?.fsGroup], [uid, gid, gid], `pod securityContext vs. Dockerfile USER ${user}`);
    const command = argv(webContainer);
    const bindPort = Number(flagValue(command, "--bind").split(":").at(-1));
    const exposed = Number(image.find(([k]) => k === "EXPOSE")?.[1]);
    assert.equal(bindPort, exposed, "gunicorn --bind port vs. Dockerfile EXPOSE");
    for (const [which, probe] of [["startup", webContainer.startupProbe], ["liveness", webContainer.livenessProbe], ["readiness", webContainer.readinessProbe]] as const) {
      const port = probe?.httpGet?.port;
      const resolved = typeof port === "number" ? port : webContainer.ports?.find((p) => p.name === port)?.containerPort;
      assert.equal(resolved, bindPort, `${which} probe port ${String(port)} must reach gunicorn on ${bindPort}`);
    }
    if (webContainer.securityContext?.readOnlyRootFilesystem) {
      const tmp = flagValue(command, "--worker-tmp-dir");
      const mount = webContainer.volumeMounts?.find((m) => m.mountPath === tmp);
      const volume = podSpec(web).volumes?.find((v) => v.name === mount?.name);
      assert.ok(volume?.emptyDir, `read-only root filesystem: ${tmp} (gunicorn --worker-tmp-dir) must be an emptyDir mount`);
    }
  });

  test("rendered static settings select GCS with hashed names, linking under DJANGO_APP_STATIC_URL", async () => {
    const env = Object.fromEntries([...webEnv].map(([name, source]) => [name, isSecretPlaceholder(source.value) ? randomPassword() : source.value]));
    const result = await run(PYTHON, ["-c", "import json, config.settings as s; print(json.dumps(s.STORAGES['staticfiles']))"], {
      cwd: APP_DIR,
      env: { ...baseEnv(), ...env, POD_IP },
    });
    const staticfiles = JSON.parse(result.stdout) as { BACKEND: string; OPTIONS: { bucket_name: string; custom_endpoint: string; location: string } };
    assert.equal(staticfiles.BACKEND, "config.gcs.GoogleCloudManifestStaticStorage");
    assert.equal(staticfiles.OPTIONS.bucket_name, rendered("DJANGO_APP_STATIC_BUCKET"));
    const { custom_endpoint: endpoint, location } = staticfiles.OPTIONS;
    assert.equal(`${endpoint}/${location ? `${location}/` : ""}`, rendered("DJANGO_APP_STATIC_URL"));
  });

  test("rendered media settings: the private bucket, links signed through IAM as the pod's own account", async () => {
    // The staging stack keeps media.enabled at its default (true): the bucket must be rendered.
    // Signing without a key file: django-storages >= 1.14.6 `iam_sign_blob` + `sa_email` sign V4 URLs
    // through IAM Credentials signBlob with the pod's access token (storages/backends/gcloud.py,
    // https://github.com/jschneier/django-storages/pull/1427; google/cloud/storage/_signing.py;
    // https://cloud.google.com/storage/docs/authentication/creating-signatures).
    const bucket = rendered("DJANGO_APP_MEDIA_BUCKET");
    const signer = rendered("DJANGO_APP_MEDIA_SIGNER");
    assert.match(signer, /^[^@\s]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$/, "the signer is a Google service account email");
    const env = Object.fromEntries([...webEnv].map(([name, source]) => [name, isSecretPlaceholder(source.value) ? randomPassword() : source.value]));
    const result = await run(PYTHON, ["-c", "import json, config.settings as s; print(json.dumps(s.STORAGES['default'], default=str))"], {
      cwd: APP_DIR,
      env: { ...baseEnv(), ...env, POD_IP },
    });
    const media = JSON.parse(result.stdout) as { BACKEND: string; OPTIONS: Record<string, unknown> };
    assert.equal(media.BACKEND, "storages.backends.gcloud.GoogleCloudStorage");
    assert.deepEqual(
      [media.OPTIONS.bucket_name, media.OPTIONS.sa_email, media.OPTIONS.iam_sign_blob, media.OPTIONS.querystring_auth, media.OPTIONS.default_acl],
      [bucket, signer, true, true, null],
    );
  });

  test("Kubernetes $(VAR) expansion as the kubelet does it", () => {
    const vars = new Map([["REDIS_PASSWORD", "pw"]]);
    assert.equal(expandKubernetesVars("$(REDIS_PASSWORD)", vars), "pw");
    assert.equal(expandKubernetesVars("a$(UNKNOWN)b$$(REDIS_PASSWORD)$", vars), "a$(UNKNOWN)b$(REDIS_PASSWORD)$");
  });
});

/** The CronJob fields read here (synth validates the rest against the official schema). */
interface CronJobDoc {
  readonly metadata: { readonly name: string };
  readonly spec: { readonly schedule: string; readonly jobTemplate: { readonly spec: { readonly template: { readonly spec: { readonly containers: ReadonlyArray<{ readonly command?: string[]; readonly args?: string[] }> } } } } };
}

/** Redis arguments as rendered, for a local run: only host, port, --replicaof and --dir replaced. */
function localRedisArgs(workload: K8sDoc, port: number, dir: string, password: string, masterPort?: number): { args: string[]; replicaOf?: string } {
  const [redis, ...others] = podSpec(workload).containers;
  assert.ok(redis && others.length === 0, `${workload.metadata.name}: expected one container`);
  // Every secret-sourced variable of the Redis container is the cache password (REDIS_PASSWORD, REDISCLI_AUTH).
  const vars = new Map([...containerEnv(docs, redis)].map(([name, source]) => [name, source.kind === "secret" ? password : source.value]));
  const [program, ...args] = argv(redis).map((arg) => expandKubernetesVars(arg, vars));
  assert.equal(program, "redis-server", `${workload.metadata.name} must run redis-server`);
  assert.ok(!args.some((arg) => arg.includes("$(")), `unexpanded variable in ${JSON.stringify(args)}`);
  let replicaOf: string | undefined;
  const local = [...args];
  for (let i = 0; i < local.length; i += 1) {
    if (local[i] === "--port") local[i + 1] = String(port);
    else if (local[i] === "--dir") local[i + 1] = dir;
    else if (local[i] === "--bind") local[i + 1] = "127.0.0.1";
    else if (local[i] === "--replicaof" || local[i] === "--slaveof") {
      replicaOf = local[i + 1];
      local[i + 1] = "127.0.0.1";
      local[i + 2] = String(masterPort);
    }
  }
  if (!local.includes("--bind")) local.push("--bind", "127.0.0.1");
  assert.equal(flagValue(local, "--requirepass"), password, "the rendered Redis must require the cache password");
  return { args: local, replicaOf };
}

describe("the app against real PostgreSQL and Redis, configured as rendered", () => {
  let pg: LocalPostgres | undefined;
  let master: LocalRedis | undefined;
  let replica: LocalRedis | undefined;
  let gunicorn: GroupProcess | undefined;
  let workdir = "";
  const redisDirs: string[] = [];
  let appEnv: Record<string, string> = {};
  let port = 0;
  let publicHost = "";
  let probeHost = "";
  let paths = { startup: "", liveness: "", readiness: "" };

  before(async () => {
    paths = {
      startup: probePath(webContainer.startupProbe, "startup"),
      liveness: probePath(webContainer.livenessProbe, "liveness"),
      readiness: probePath(webContainer.readinessProbe, "readiness"),
    };
    const sslmode = rendered("DJANGO_APP_DB_SSLMODE");
    assert.ok(!sslmode.startsWith("verify"), `sslmode ${sslmode} needs the Cloud SQL CA; not reproducible locally`);

    const cachePassword = randomPassword();
    const [masterPort, replicaPort] = [await freePort(), await freePort()];
    redisDirs.push(tempDir("redis-master-"), tempDir("redis-replica-"));
    const masterSet = byComponent(docs, "StatefulSet", "cache-master");
    const replicaSet = byComponent(docs, "StatefulSet", "cache-replica");
    const masterArgs = localRedisArgs(masterSet, masterPort, redisDirs[0] as string, cachePassword);
    const replicaArgs = localRedisArgs(replicaSet, replicaPort, redisDirs[1] as string, cachePassword, masterPort);
    assert.ok(replicaArgs.replicaOf, "the replica StatefulSet must run with --replicaof");
    serviceForHost(docs, replicaArgs.replicaOf, "cache-master");
    const redisMaster = new LocalRedis("redis master", masterArgs.args, masterPort, cachePassword);
    const redisReplica = new LocalRedis("redis replica", replicaArgs.args, replicaPort, cachePassword);
    [master, replica] = [redisMaster, redisReplica];
    // Redis starts while PostgreSQL initialises; the replica syncs in the background.
    const [database] = await Promise.all([
      LocalPostgres.create({ ssl: sslmode === "require" }).then((server) => (pg = server)),
      redisMaster.start().then(() => redisReplica.start()),
    ]);
    const dbPassword = randomPassword();
    await database.createDatabase(rendered("DJANGO_APP_DB_NAME"), rendered("DJANGO_APP_DB_USER"), dbPassword);

    // The cache locations must name the master's Service first, then the replicas' Service.
    const locations = rendered("DJANGO_APP_CACHE_LOCATION")
      .split(/\s+/)
      .map((location, index) => {
        const url = new URL(location);
        const service = serviceForHost(docs, url.hostname, index === 0 ? "cache-master" : "cache-replica");
        assert.ok(service.spec?.ports?.some((p) => p.port === Number(url.port)), `${location}: port not served by Service ${service.metadata.name}`);
        url.hostname = "127.0.0.1";
        url.port = String(index === 0 ? masterPort : replicaPort);
        return url.toString();
      });
    assert.ok(locations.length >= 2, "expected the master and the replicas in DJANGO_APP_CACHE_LOCATION");

    const local = loopbackContract({ database, dbPassword, cacheLocations: locations, cachePassword });
    appEnv = {};
    for (const [name, source] of webEnv) {
      if (source.kind === "fieldRef") {
        assert.equal(source.from, "status.podIP", `${name}: only status.podIP is emulated`);
        appEnv[name] = POD_IP;
      } else {
        appEnv[name] = local[name] ?? (isSecretPlaceholder(source.value) ? randomPassword() : source.value);
      }
    }
    // No GCS and no google-cloud-storage package here (see the header comment): local static files
    // and local uploads, in the temp copy of the app.
    for (const name of GCS_ONLY_VARIABLES) delete appEnv[name];
    workdir = copyProject();

    // The migrate Job's own command and environment, in the image's WORKDIR.
    const migrateJob = byComponent(docs, "Job", "migrate");
    const [migrate] = podSpec(migrateJob).containers;
    assert.ok(migrate);
    const [python, ...migrateArgs] = argv(migrate);
    assert.equal(python, "python", "the migrate Job runs python from the image's PATH");
    await run(PYTHON, migrateArgs, { cwd: workdir, env: { ...baseEnv(), ...appEnv } });

    port = await freePort();
    const command = argv(webContainer);
    const bindAt = command.indexOf("--bind") + 1;
    assert.equal(command[0], "gunicorn");
    const localCommand = command.map((arg, i) => (i === bindAt ? `127.0.0.1:${port}` : arg));
    publicHost = rendered("DJANGO_APP_ALLOWED_HOSTS").split(/\s+/)[0] as string;
    probeHost = `${POD_IP}:${flagValue(command, "--bind").split(":").at(-1)}`;
    gunicorn = await startAppServer("gunicorn", localCommand, { env: appEnv, cwd: workdir, port, host: probeHost, readyPath: paths.startup });
    // Last: the first full sync waits for Redis' repl-diskless-sync-delay (5 s by default).
    await waitFor("the replica to sync with the master (--masterauth)", async () => /master_link_status:up/.test(await redisReplica.cli(["INFO", "replication"])));
  });

  after(async () => {
    await gunicorn?.stop();
    await Promise.all([replica?.stop(), master?.stop()]);
    await pg?.destroy();
    for (const dir of [...redisDirs, workdir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const page = () => httpGet(port, "/", { host: publicHost, "x-forwarded-proto": "https" });
  const probe = (path: string) => httpGet(port, path, { host: probeHost });

  test("manage.py check --deploy finds nothing the platform could have prevented", async () => {
    const result = await manage(["check", "--deploy"], appEnv, workdir);
    const ids = [...`${result.stdout}${result.stderr}`.matchAll(/\(([a-z_]+\.[EW]\d+)\)/g)].map((m) => m[1] as string);
    assert.deepEqual(ids.filter((id) => !(id in ACCEPTED_DEPLOY_WARNINGS)), [], result.stderr);
  });

  test("probes answer on the pod IP over plain http; readiness reports database and cache", async () => {
    assert.equal((await probe(paths.startup)).status, 200);
    assert.equal((await probe(paths.liveness)).status, 200);
    const ready = await probe(paths.readiness);
    assert.equal(ready.status, 200, ready.body);
    assert.deepEqual(JSON.parse(ready.body), { database: "ok", cache: "ok" });
  });

  test("the demo page writes to PostgreSQL and to the Redis master; the replica serves the key", async () => {
    const response = await page();
    assert.equal(response.status, 200, response.body);
    const visit = /data-visit-id="(\d+)"/.exec(response.body)?.[1];
    assert.ok(visit, "the page shows the visit it recorded");
    const servedBy = await pg!.sql(`SELECT served_by FROM demo_visit WHERE id = ${Number(visit)}`, rendered("DJANGO_APP_DB_NAME"));
    assert.notEqual(servedBy, "", `visit ${visit} is not in the database`);
    assert.equal(await master!.cli(["GET", ":1:demo:last-visit"]), visit);
    await waitFor("the cache key on the replica", async () => (await replica!.cli(["GET", ":1:demo:last-visit"])) === visit, { timeoutMs: 5_000 });
    assert.match(await replica!.cli(["INFO", "replication"]), /role:slave/);
  });

  test("HTTPS is enforced (redirect, HSTS) except for probes; unknown hosts are refused", async () => {
    const plain = await httpGet(port, "/", { host: publicHost });
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, `https://${publicHost}/`);
    assert.match(String((await page()).headers["strict-transport-security"]), /max-age=31536000; includeSubDomains/);
    assert.equal((await httpGet(port, "/", { host: "evil.example.net", "x-forwarded-proto": "https" })).status, 400);
  });

  test("an upload through the app lands in the default storage and the database (local files: no GCS here)", async (t) => {
    t.diagnostic(`Django ${await djangoVersion()} (the image's locked pins, .venv)`);
    const content = Buffer.from(`uploaded by the contract test ${randomPassword(6)}\n`);
    const form = multipart({}, { field: "file", name: "report.txt", type: "text/plain", content });
    const posted = await postForm(port, publicHost, "/uploads/", "/uploads/", form);
    assert.equal(posted.status, 302, posted.body);
    const row = await pg!.sql("SELECT file || '|' || size FROM demo_upload ORDER BY id DESC LIMIT 1", rendered("DJANGO_APP_DB_NAME"));
    const [name, size] = row.split("|");
    assert.match(name ?? "", /^uploads\/\d{4}\/\d{2}\/report[^/]*\.txt$/);
    assert.equal(Number(size), content.length);
    const stored = join(workdir, "media", name ?? "");
    assert.ok(existsSync(stored), `${stored} missing`);
    assert.deepEqual(readFileSync(stored), content);
    const listing = await httpGet(port, "/uploads/", { host: publicHost, "x-forwarded-proto": "https" });
    assert.ok(listing.body.includes(`data-name="${name}"`), "the uploads page lists the file");
  });

  /** Queues a task through the app (POST /tasks/) and returns its id. */
  async function queueTask(text: string, seconds = 0): Promise<number> {
    const body = new URLSearchParams({ text, seconds: String(seconds) }).toString();
    const posted = await postForm(port, publicHost, "/uploads/", "/tasks/", { body, contentType: "application/x-www-form-urlencoded" });
    assert.equal(posted.status, 303, posted.body);
    const id = Number(/^\/tasks\/(\d+)\/$/.exec(String(posted.headers.location))?.[1]);
    assert.ok(id > 0, `no task id in Location ${String(posted.headers.location)}`);
    return id;
  }
  const taskStatus = async (id: number) => JSON.parse((await httpGet(port, `/tasks/${id}/`, { host: publicHost, "x-forwarded-proto": "https" })).body) as { status: string; result: string };

  /** Production's worker command (workers.tasks.command), for the local interpreter. */
  function workerCommand(): string[] {
    const config = (parse(readFileSync(PRODUCTION_STACK_FILE, "utf8")) as { config?: Record<string, unknown> }).config ?? {};
    const workers = config["django-platform:workers"] as Record<string, { command?: string[] }> | undefined;
    const command = workers?.tasks?.command;
    assert.ok(command, "Pulumi.production.yaml must configure workers.tasks.command (the reference app's demo_worker)");
    assert.deepEqual(command, ["python", "manage.py", "demo_worker"]);
    return [PYTHON, ...command.slice(1)];
  }

  test("enqueue → worker → result: production's worker command does a task queued through the app in Redis", async () => {
    const id = await queueTask("hello worker");
    assert.equal((await taskStatus(id)).status, "queued");
    assert.equal(await master!.cli(["LRANGE", "demo:tasks", "0", "-1"]), String(id), "the task id waits in the Redis list on the master");
    const [python, ...args] = workerCommand();
    await run(python as string, [...args, "--once"], { cwd: workdir, env: { ...baseEnv(), ...appEnv } });
    const done = await taskStatus(id);
    assert.equal(done.status, "done");
    assert.equal(done.result, createHash("sha256").update("hello worker").digest("hex"));
    assert.equal(await master!.cli(["LLEN", "demo:tasks"]), "0");
  });

  // Kubernetes stops a container with SIGTERM, then SIGKILL after terminationGracePeriodSeconds
  // (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination).
  test("SIGTERM: the worker finishes the task in hand and exits 0", async () => {
    const id = await queueTask("slow task", 1.5);
    const [python, ...args] = workerCommand();
    const worker = new GroupProcess("demo_worker", python as string, args, { cwd: workdir, env: { ...baseEnv(), ...appEnv } });
    try {
      await waitFor(`task ${id} to start`, async () => (await taskStatus(id)).status === "running", { process: worker });
      worker.signal("SIGTERM");
      assert.equal(await worker.wait(), 0, worker.log);
      assert.equal((await taskStatus(id)).status, "done", "the task in hand was finished before exiting");
    } finally {
      await worker.stop("SIGKILL", 1_000);
    }
  });

  test("the clearsessions schedule rendered for staging deletes expired sessions", async () => {
    const cronJobs = docs.filter((d) => d.kind === "CronJob") as unknown as CronJobDoc[];
    const clear = cronJobs.flatMap((cron) => cron.spec.jobTemplate.spec.template.spec.containers.map((c) => ({ cron, command: [...(c.command ?? []), ...(c.args ?? [])] })))
      .find(({ command }) => command.includes("clearsessions"));
    assert.ok(clear, "the staging stack must render a CronJob running clearsessions (schedules.clearsessions)");
    assert.deepEqual(clear.command, ["python", "manage.py", "clearsessions"]);
    const db = rendered("DJANGO_APP_DB_NAME");
    await pg!.sql(
      "INSERT INTO django_session (session_key, session_data, expire_date) VALUES " +
        "('expiredsessionkey0000000000000001', 'x', now() - interval '1 day'), ('livesessionkey000000000000000001', 'x', now() + interval '1 day');",
      db,
    );
    await run(PYTHON, clear.command.slice(1), { cwd: workdir, env: { ...baseEnv(), ...appEnv } });
    assert.equal(await pg!.sql("SELECT string_agg(session_key, ',' ORDER BY session_key) FROM django_session WHERE session_key LIKE '%sessionkey%'", db), "livesessionkey000000000000000001");
  });

  test("Redis stopped: pages and readiness stay 200; restarted: the cache is back", async () => {
    await Promise.all([replica!.stop(), master!.stop()]);
    const response = await page();
    assert.equal(response.status, 200, response.body);
    const ready = await probe(paths.readiness);
    assert.equal(ready.status, 200, ready.body);
    assert.deepEqual(JSON.parse(ready.body), { database: "ok", cache: "unavailable" });
    await master!.start();
    await replica!.start();
    await waitFor("readiness to report the cache ok", async () => JSON.parse((await probe(paths.readiness)).body).cache === "ok");
  });

  test("PostgreSQL stopped: readiness 503, liveness 200; restarted: ready and serving again", async () => {
    await pg!.stop();
    const ready = await probe(paths.readiness);
    assert.equal(ready.status, 503, ready.body);
    assert.equal(JSON.parse(ready.body).database, "unavailable");
    assert.equal((await probe(paths.liveness)).status, 200);
    await pg!.start();
    await waitFor("readiness after PostgreSQL is back", async () => (await probe(paths.readiness)).status === 200);
    assert.equal((await page()).status, 200);
  });
});
