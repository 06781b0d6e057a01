/**
 * Local development without any container: with no DJANGO_APP_* variable set, `manage.py
 * runserver` serves the demo page on sqlite3 with the local-memory cache. The app is copied to a
 * temp dir first so the sqlite file never lands in the repository.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { APP_DIR, PYTHON, httpGet, manage, startAppServer } from "./lib/djangoApp";
import { freePort, tempDir, type GroupProcess } from "./lib/localServers";

let workdir = "";
let server: GroupProcess | undefined;
let port = 0;
const repoDbExisted = existsSync(join(APP_DIR, "db.sqlite3"));

before(async () => {
  workdir = tempDir("django-local-");
  cpSync(APP_DIR, workdir, {
    recursive: true,
    filter: (source) => !/(__pycache__|db\.sqlite3|staticfiles)$/.test(source),
  });
  await manage(["migrate", "--noinput"], {}, workdir);
  port = await freePort();
  server = await startAppServer("runserver", [PYTHON, "manage.py", "runserver", "--noreload", `127.0.0.1:${port}`], {
    env: {},
    cwd: workdir,
    port,
    host: `127.0.0.1:${port}`,
    readyPath: "/healthz/",
  });
});

after(async () => {
  await server?.stop();
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

test("the demo page records each visit in sqlite3", async () => {
  const first = await httpGet(port, "/", { host: `localhost:${port}` });
  assert.equal(first.status, 200, first.body);
  const second = await httpGet(port, "/", { host: `localhost:${port}` });
  const ids = [first, second].map((page) => Number(/data-visit-id="(\d+)"/.exec(page.body)?.[1]));
  assert.deepEqual(ids, [1, 2]);
  assert.ok(existsSync(join(workdir, "db.sqlite3")), "sqlite database should be in the app's own directory");
  assert.equal(existsSync(join(APP_DIR, "db.sqlite3")), repoDbExisted, "the test must not create app/db.sqlite3");
});

test("probes answer without any service: readyz reports the local cache", async () => {
  assert.equal((await httpGet(port, "/healthz/", { host: "localhost" })).status, 200);
  const ready = await httpGet(port, "/readyz/", { host: "localhost" });
  assert.equal(ready.status, 200, ready.body);
  assert.deepEqual(JSON.parse(ready.body), { database: "ok", cache: "local" });
});

test("local development serves plain http (no HTTPS redirect, no HSTS)", async () => {
  const page = await httpGet(port, "/", { host: "localhost" });
  assert.equal(page.status, 200);
  assert.equal(page.headers["strict-transport-security"], undefined);
});
