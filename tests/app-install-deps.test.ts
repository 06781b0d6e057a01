/**
 * maint/install-deps.sh prepares a developer's own machine: it must install what the tests need
 * and leave the machine's services alone — never stop, disable or mask one (the tests start their
 * own PostgreSQL and Redis on free loopback ports, tests/lib/localServers.ts).
 *
 * Shown twice: a scan of the script's commands, and a run of the real script with every command
 * that could touch a service or the system (apt-get, npm, sudo, tee, systemctl, service, …) and
 * python3 (whose venv would download the image's packages) replaced by a recorder on PATH, which
 * proves what it asks for; the venv goes to a temp dir (VENV=…), never the repository's .venv.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { run, tempDir } from "./lib/localServers";
import { REPO } from "./lib/rendered";
import { FAKE_GCS_SERVER_VERSION } from "../cli/lib/local/gcs";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { staleReason } = require("../maint/lib/nodeModulesCurrent.cjs") as { staleReason(dir: string): string | undefined };

const SCRIPT = join(REPO, "maint", "install-deps.sh");
/** Commands that stop, disable or mask services, or kill processes. */
const SERVICE_CONTROL = /\b(systemctl\s+(stop|disable|mask|kill|isolate)|service\s+\S+\s+stop|invoke-rc\.d\s+\S+\s+stop|update-rc\.d\s+\S+\s+(disable|remove)|pg_ctlcluster\s+\S+\s+\S+\s+stop|pg_ctl\s.*\bstop|redis-cli\s.*\bshutdown|pkill|killall|kill\s)/;
/** The recorded commands; each records its argv and succeeds. */
const RECORDED = ["apt-get", "npm", "sudo", "tee", "systemctl", "service", "invoke-rc.d", "update-rc.d", "pg_ctlcluster", "pkill", "killall", "redis-server", "python3", "go", "node"];

let calls: string[] = [];
let fakeBin = "";
/** Where the script is told to create the venv (VENV=…): never the repository's own .venv. */
let venv = "";
/** Where the script is told to build fake-gcs-server (TOOLS=…): never the repository's own .tools. */
let tools = "";

/**
 * The fake python3: `-m venv DIR` creates DIR/bin/python as a copy of itself (so the script's pip
 * install is recorded too, as `DIR/bin/python -m pip …`), `-c` prints what the script reads.
 */
const FAKE_PYTHON = `case "$1 $2" in
  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python" ;;
  "-c "*) echo "3.11" ;;
esac`;

before(async () => {
  fakeBin = tempDir("install-deps-fakes-");
  venv = join(tempDir("install-deps-venv-"), "venv");
  tools = tempDir("install-deps-tools-");
  const log = join(fakeBin, "calls.log");
  for (const name of RECORDED) {
    const file = join(fakeBin, name);
    // sudo runs its command (through the recorders on PATH); tee swallows stdin; the rest only record.
    // node answers the node_modules check: stale unless the test says current (NODE_MODULES_CURRENT=1).
    const body = name === "sudo" ? 'exec "$@"' : name === "tee" ? "cat >/dev/null" : name === "redis-server" ? 'echo "Redis server v=0.0.0"' : name === "python3" ? FAKE_PYTHON : name === "node" ? '[ "$NODE_MODULES_CURRENT" = 1 ]' : "true";
    // go's record carries the environment the build depends on.
    const record = name === "go" ? `"CGO_ENABLED=$CGO_ENABLED GOBIN=$GOBIN $0 $*"` : `"$0 $*"`;
    writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' ${record} | sed "s|${fakeBin}/||" >> '${log}'\n${body}\n`);
    chmodSync(file, 0o755);
  }
  await run("bash", [SCRIPT], { cwd: REPO, env: { PATH: `${fakeBin}:/usr/bin:/bin`, HOME: fakeBin, LANG: "C.UTF-8", VENV: venv, TOOLS: tools }, timeoutMs: 30_000 });
  calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
});

after(() => {
  for (const dir of [fakeBin, venv && join(venv, ".."), tools]) if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a second run reuses the venv while the lock and the interpreter are unchanged", async () => {
  const before = calls.length;
  await run("bash", [SCRIPT], { cwd: REPO, env: { PATH: `${fakeBin}:/usr/bin:/bin`, HOME: fakeBin, LANG: "C.UTF-8", VENV: venv, TOOLS: tools }, timeoutMs: 30_000 });
  const again = readFileSync(join(fakeBin, "calls.log"), "utf8").split("\n").filter(Boolean).slice(before);
  assert.ok(!again.some((call) => call.includes("-m venv") || call.includes("-m pip")), again.join("\n"));
});

test("the script has no command that stops, disables or masks a service", () => {
  const commands = readFileSync(SCRIPT, "utf8")
    .split("\n")
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean);
  const offending = commands.filter((line) => SERVICE_CONTROL.test(line));
  assert.deepEqual(offending, []);
  // The scan recognises what it looks for.
  for (const sample of ["sudo_ systemctl stop postgresql", "systemctl disable --now redis-server", "systemctl mask postgresql", "service redis-server stop", "pg_ctlcluster 15 main stop"]) {
    assert.match(sample, SERVICE_CONTROL);
  }
});

test("run for real with recorders: servers from Debian, the image's Python stack in a venv, npm ci, no service control", () => {
  const installs = calls.filter((call) => call.startsWith("apt-get install"));
  assert.ok(installs.length >= 1, calls.join("\n"));
  const packages = installs.join(" ").split(/\s+/);
  for (const name of ["postgresql", "redis-server", "openssl", "python3-venv"]) {
    assert.ok(packages.includes(name), `${name} is not installed by maint/install-deps.sh`);
  }
  // Django and its libraries come from the image's lock, never from Debian.
  const debianPython = packages.filter((name) => /^(python3-(django|psycopg|redis|google|pythonjsonlogger|storages)|gunicorn)/.test(name));
  assert.deepEqual(debianPython, [], "the tests run the image's pins (app/requirements.lock), not Debian's");
  assert.ok(calls.includes(`python3 -m venv ${venv}`), calls.join("\n"));
  assert.ok(calls.includes(`${venv}/bin/python -m pip install --quiet --require-hashes --no-deps --only-binary=:all: -r app/requirements.lock`), calls.join("\n"));
  assert.ok(calls.includes(`${venv}/bin/python -m pip check`), calls.join("\n"));
  assert.ok(calls.includes("node maint/lib/nodeModulesCurrent.cjs"), calls.join("\n"));
  assert.ok(calls.includes("npm ci --no-audit --no-fund"), "node_modules not current (a fresh machine): npm ci runs\n" + calls.join("\n"));
  assert.deepEqual(calls.filter((call) => /\bpip3? install\b/.test(call) && !call.includes("--require-hashes")), [], "every pip install checks hashes");
  // The GCS emulator of npm run local: a static Go build of the version cli/lib/local/gcs.ts names.
  assert.ok(calls.includes(`CGO_ENABLED=0 GOBIN=${tools}/bin go install github.com/fsouza/fake-gcs-server@${FAKE_GCS_SERVER_VERSION}`), calls.join("\n"));
  const touching = calls.filter((call) => /^(systemctl|service|invoke-rc\.d|update-rc\.d|pg_ctlcluster|pkill|killall) /.test(call));
  assert.deepEqual(touching, [], "install-deps.sh must leave the machine's services as they are");
});

test("the README's two set-up commands run npm ci once: install-deps skips it when node_modules holds the lockfile's packages", async () => {
  const log = join(fakeBin, "calls.log");
  const before = readFileSync(log, "utf8").split("\n").filter(Boolean).length;
  await run("bash", [SCRIPT], { cwd: REPO, env: { PATH: `${fakeBin}:/usr/bin:/bin`, HOME: fakeBin, LANG: "C.UTF-8", VENV: venv, TOOLS: tools, NODE_MODULES_CURRENT: "1" }, timeoutMs: 30_000 });
  const again = readFileSync(log, "utf8").split("\n").filter(Boolean).slice(before);
  assert.ok(again.includes("node maint/lib/nodeModulesCurrent.cjs"), again.join("\n"));
  assert.ok(!again.some((call) => call.startsWith("npm ")), again.join("\n"));
});

describe("maint/lib/nodeModulesCurrent.cjs: is node_modules exactly the lockfile's?", () => {
  const made: string[] = [];
  after(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  /** A project with a lockfile of two packages (one optional) and, unless `installed` is false, what npm ci would leave. */
  function project(o: { installed?: boolean; optionalInstalled?: boolean } = {}): string {
    const dir = tempDir("node-modules-current-");
    made.push(dir);
    const manifest = { name: "p", version: "1.0.0", dependencies: { a: "^1.0.0" }, optionalDependencies: { "@x/b-linux": "1.0.0" } };
    const packages: Record<string, unknown> = {
      "": { name: "p", version: "1.0.0", dependencies: manifest.dependencies, optionalDependencies: manifest.optionalDependencies },
      "node_modules/a": { version: "1.0.1", resolved: "https://registry.npmjs.org/a/-/a-1.0.1.tgz", integrity: "sha512-aaa" },
      "node_modules/@x/b-linux": { version: "1.0.0", resolved: "https://registry.npmjs.org/@x/b-linux/-/b-linux-1.0.0.tgz", integrity: "sha512-bbb", optional: true },
    };
    writeFileSync(join(dir, "package.json"), JSON.stringify(manifest));
    writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ name: "p", version: "1.0.0", lockfileVersion: 3, requires: true, packages }));
    if (o.installed !== false) {
      const hidden: Record<string, unknown> = { "node_modules/a": packages["node_modules/a"] };
      mkdirSync(join(dir, "node_modules", "a"), { recursive: true });
      writeFileSync(join(dir, "node_modules", "a", "package.json"), "{}");
      if (o.optionalInstalled) {
        hidden["node_modules/@x/b-linux"] = packages["node_modules/@x/b-linux"];
        mkdirSync(join(dir, "node_modules", "@x", "b-linux"), { recursive: true });
      }
      writeFileSync(join(dir, "node_modules", ".package-lock.json"), JSON.stringify({ name: "p", version: "1.0.0", lockfileVersion: 3, requires: true, packages: hidden }));
    }
    return dir;
  }
  const stale = (dir: string) => staleReason(dir) as string | undefined;

  test("current: what npm ci leaves, with or without the optional package of another platform", () => {
    assert.equal(stale(project()), undefined);
    assert.equal(stale(project({ optionalInstalled: true })), undefined);
  });

  test("stale: nothing installed, another version, a folder gone or added, package.json changed, a package changed after the install", () => {
    assert.match(String(stale(project({ installed: false }))), /nothing installed yet/);
    const other = project();
    const hiddenFile = join(other, "node_modules", ".package-lock.json");
    const hidden = JSON.parse(readFileSync(hiddenFile, "utf8"));
    hidden.packages["node_modules/a"].version = "1.0.0";
    writeFileSync(hiddenFile, JSON.stringify(hidden));
    assert.match(String(stale(other)), /node_modules\/a is installed at another version/);
    const gone = project();
    rmSync(join(gone, "node_modules", "a"), { recursive: true });
    assert.match(String(stale(gone)), /folder is gone/);
    const extra = project();
    mkdirSync(join(extra, "node_modules", "left-over"));
    assert.match(String(stale(extra)), /node_modules\/left-over is not in the lockfile/);
    const edited = project();
    writeFileSync(join(edited, "package.json"), JSON.stringify({ name: "p", version: "1.0.0", dependencies: { a: "^2.0.0" }, optionalDependencies: { "@x/b-linux": "1.0.0" } }));
    assert.match(String(stale(edited)), /package\.json dependencies differ/);
    const touched = project();
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(touched, "node_modules", "a"), later, later);
    assert.match(String(stale(touched)), /changed after the last install/);
  });

  test("with npm itself (offline, a local tarball): stale before npm ci, current after it", async () => {
    const dir = tempDir("node-modules-npm-");
    made.push(dir);
    const env = { PATH: process.env.PATH ?? "", HOME: dir, npm_config_cache: join(dir, "cache"), npm_config_offline: "true", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
    mkdirSync(join(dir, "a"));
    writeFileSync(join(dir, "a", "package.json"), JSON.stringify({ name: "a", version: "1.0.1" }));
    writeFileSync(join(dir, "a", "index.js"), "module.exports = 1;\n");
    await run("npm", ["pack", "--silent"], { cwd: join(dir, "a"), env, timeoutMs: 60_000 });
    mkdirSync(join(dir, "p"));
    writeFileSync(join(dir, "p", "package.json"), JSON.stringify({ name: "p", version: "1.0.0", dependencies: { a: "file:../a/a-1.0.1.tgz" } }));
    await run("npm", ["install"], { cwd: join(dir, "p"), env, timeoutMs: 60_000 });
    rmSync(join(dir, "p", "node_modules"), { recursive: true });
    assert.match(String(stale(join(dir, "p"))), /nothing installed yet/);
    await run("npm", ["ci"], { cwd: join(dir, "p"), env, timeoutMs: 60_000 });
    assert.equal(stale(join(dir, "p")), undefined);
  });
});
