/**
 * "Your own Django project": a second, differently laid out project (tests/fixtures/otherapp:
 * settings in shop.deploy.settings, WSGI in shop.deploy.wsgi) deployed by a stack file that names
 * its modules (`workload.settingsModule`, `workload.wsgiModule`).
 *
 * The test writes that stack file (the staging stack plus the two keys), synths it offline
 * (synthStagingWith in tests/lib/djangoApp.ts), and
 * runs what it renders — the migrate Job's command and the web container's gunicorn command (only
 * the bind address changed), each with the rendered environment — from a copy of the project
 * against real PostgreSQL and Redis on loopback; then the page and every probe answer. The
 * project reads the platform's contract with the settings block docs/your-app.md gives; the test
 * copies app/gunicorn.conf.py and app/cloud_logging.py next to its manage.py, as the guide's step 2
 * says, so the fixture holds no copies of its own.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { APP_DIR, PYTHON, baseEnv, copyProject, djangoVersion, httpGet, startAppServer, synthStagingWith, loopbackContract } from "./lib/djangoApp";
import { LocalPostgres, LocalRedis, freePort, randomPassword, run, tempDir, type GroupProcess } from "./lib/localServers";
import { REPO, argv, byComponent, container, containerEnv, podSpec, type K8sDoc } from "./lib/rendered";

const PROJECT_DIR = join(REPO, "tests", "fixtures", "otherapp");
const SETTINGS_MODULE = "shop.deploy.settings";
/** The files docs/your-app.md step 2 has a project copy from app/, unchanged. */
const GUIDE_COPIES = ["gunicorn.conf.py", "cloud_logging.py"];
const WSGI_MODULE = "shop.deploy.wsgi";
const POD_IP = "10.8.0.16";
const BLOCK_START = "# --- django-platform contract (docs/your-app.md) ---";
const BLOCK_END = "# --- end of the django-platform contract ---";

describe("a second Django project with its own module names, deployed as rendered", () => {
  let docs: K8sDoc[] = [];
  let pg: LocalPostgres | undefined;
  let redis: LocalRedis | undefined;
  let gunicorn: GroupProcess | undefined;
  let workdir = "";
  let redisDir = "";
  let port = 0;
  let env: Record<string, string> = {};
  let command: string[] = [];
  let publicHost = "";

  before(async () => {
    // PostgreSQL and Redis start (other processes) while the synth runs in this one.
    const [cachePassword, redisPort] = [randomPassword(), await freePort()];
    redisDir = tempDir("own-project-redis-");
    const cache = new LocalRedis("redis", ["--port", String(redisPort), "--bind", "127.0.0.1", "--requirepass", cachePassword, "--save", "", "--dir", redisDir], redisPort, cachePassword);
    redis = cache;
    const servers = Promise.all([LocalPostgres.create().then((server) => (pg = server)), cache.start()]);
    // Synth settles first, so a failed synth still leaves the servers for after() to stop.
    const synth = synthStagingWith({ "django-platform:workload": { settingsModule: SETTINGS_MODULE, wsgiModule: WSGI_MODULE } });
    const [synthed] = await Promise.allSettled([synth, servers]);
    await servers;
    if (synthed.status === "rejected") throw synthed.reason;
    docs = synthed.value;
    const database = pg as LocalPostgres;
    const web = container(byComponent(docs, "Deployment", "web"), "web");
    command = argv(web);
    const rendered = containerEnv(docs, web);
    const value = (name: string) => {
      const found = rendered.get(name)?.value;
      if (found === undefined) throw new Error(`${name} is not rendered for the web container`);
      return found;
    };
    const dbPassword = randomPassword();
    await database.createDatabase(value("DJANGO_APP_DB_NAME"), value("DJANGO_APP_DB_USER"), dbPassword);
    // Every cache location (master, replicas) points at the one local Redis; only hosts, ports and secrets change.
    const locations = value("DJANGO_APP_CACHE_LOCATION").split(/\s+/).map((location) => {
      const url = new URL(location);
      url.hostname = "127.0.0.1";
      url.port = String(redisPort);
      return url.toString();
    });
    const local = loopbackContract({ database, dbPassword, cacheLocations: locations, cachePassword });
    env = {};
    for (const [name, source] of rendered) env[name] = source.kind === "fieldRef" ? POD_IP : (local[name] ?? source.value);
    // No GCS here (google-cloud-storage is installed, but has nothing to talk to): local statics and uploads.
    for (const name of ["DJANGO_APP_STATIC_BUCKET", "DJANGO_APP_MEDIA_BUCKET", "DJANGO_APP_MEDIA_SIGNER"]) delete env[name];
    assert.equal(env.DJANGO_SETTINGS_MODULE, SETTINGS_MODULE, "the web container's DJANGO_SETTINGS_MODULE comes from workload.settingsModule");

    workdir = copyProject(PROJECT_DIR, "own-project-");
    // docs/your-app.md step 2: copy these two files, unchanged, next to manage.py.
    for (const file of GUIDE_COPIES) copyFileSync(join(APP_DIR, file), join(workdir, file));
    const [migrate] = podSpec(byComponent(docs, "Job", "migrate")).containers;
    assert.ok(migrate, "a migrate Job is rendered");
    const migrateEnv = containerEnv(docs, migrate);
    assert.equal(migrateEnv.get("DJANGO_SETTINGS_MODULE")?.value, SETTINGS_MODULE, "the migrate Job uses the project's settings module too");
    await run(PYTHON, argv(migrate).slice(1), { cwd: workdir, env: { ...baseEnv(), ...env } });

    port = await freePort();
    const bindAt = command.indexOf("--bind") + 1;
    const localCommand = command.map((arg, i) => (i === bindAt ? `127.0.0.1:${port}` : arg));
    publicHost = value("DJANGO_APP_ALLOWED_HOSTS").split(/\s+/)[0] as string;
    gunicorn = await startAppServer("gunicorn (shop)", localCommand, { env, cwd: workdir, port, host: `${POD_IP}:8000`, readyPath: "/healthz/" });
  });

  after(async () => {
    await gunicorn?.stop();
    await redis?.stop();
    await pg?.destroy();
    for (const dir of [workdir, redisDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the rendered web container serves the project's WSGI module", async (t) => {
    t.diagnostic(`Django ${await djangoVersion()} (the reference image's pins, .venv)`);
    assert.equal(command[0], "gunicorn");
    assert.equal(command[1], `${WSGI_MODULE}:application`);
  });

  test("the page uses PostgreSQL and Redis; the probes answer on the pod IP", async () => {
    const page = await httpGet(port, "/", { host: publicHost, "x-forwarded-proto": "https" });
    assert.equal(page.status, 200, page.body);
    assert.match(page.body, /<p id='products'>teapot<\/p>/);
    const again = await httpGet(port, "/", { host: publicHost, "x-forwarded-proto": "https" });
    assert.match(again.body, /<p id='views'>2<\/p>/, "the second view was counted in Redis");
    assert.equal(await redis!.cli(["GET", ":1:shop:views"]), "2");
    assert.equal(await pg!.sql("SELECT string_agg(name, ',') FROM catalog_product", env.DJANGO_APP_DB_NAME), "teapot");
    const web = container(byComponent(docs, "Deployment", "web"), "web");
    for (const probe of [web.startupProbe, web.livenessProbe, web.readinessProbe]) {
      const path = probe?.httpGet?.path;
      assert.ok(path, "every probe is an HTTP probe");
      const answer = await httpGet(port, path, { host: `${POD_IP}:8000` });
      assert.equal(answer.status, 200, `${path}: ${answer.body}`);
    }
    const plain = await httpGet(port, "/", { host: publicHost });
    assert.equal(plain.status, 301, "HTTPS is enforced for pages");
  });

  test("the project's gunicorn logs are JSON lines for Cloud Logging", () => {
    const lines = (gunicorn?.log ?? "").split("\n").filter((line) => line.trim() !== "");
    assert.ok(lines.length > 0);
    for (const line of lines) assert.equal(typeof (JSON.parse(line) as { severity?: string }).severity, "string", line);
  });
});

test("docs/your-app.md's step 2 names the files the test copies, which the fixture does not carry itself", () => {
  const guide = readFileSync(join(REPO, "docs", "your-app.md"), "utf8");
  for (const file of GUIDE_COPIES) {
    assert.ok(guide.includes(`\`app/${file}\``), `docs/your-app.md does not name app/${file}`);
    assert.ok(!existsSync(join(PROJECT_DIR, file)), `tests/fixtures/otherapp/${file} would shadow the copy of app/${file}`);
  }
});

test("docs/your-app.md gives exactly the settings block the second project runs with", () => {
  const settings = readFileSync(join(PROJECT_DIR, "shop", "deploy", "settings.py"), "utf8");
  const start = settings.indexOf(BLOCK_START);
  const end = settings.indexOf(BLOCK_END);
  assert.ok(start >= 0 && end > start, "settings.py marks the contract block");
  const block = settings.slice(start, end + BLOCK_END.length);
  const guide = readFileSync(join(REPO, "docs", "your-app.md"), "utf8");
  // Python code blocks of the guide, without the indentation of the list item they sit in.
  const blocks = [...guide.matchAll(/^( *)```python\n([\s\S]*?)^\1```$/gm)].map(([, indent = "", code = ""]) =>
    code.split("\n").map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line)).join("\n"),
  );
  assert.ok(blocks.some((code) => code.includes(block)), "docs/your-app.md must contain the block of tests/fixtures/otherapp/shop/deploy/settings.py verbatim");
});
