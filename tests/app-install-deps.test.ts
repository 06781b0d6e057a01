/**
 * tools/install-deps.sh prepares a developer's own machine: it must install what the tests need
 * and leave the machine's services alone — never stop, disable or mask one (the tests start their
 * own PostgreSQL and Redis on free loopback ports, tests/lib/localServers.ts).
 *
 * Shown twice: a scan of the script's commands, and a run of the real script with every command
 * that could touch a service or the system (apt-get, npm, sudo, tee, systemctl, service, …) and
 * python3 (whose venv would download the image's packages) replaced by a recorder on PATH, which
 * proves what it asks for; the venv goes to a temp dir (VENV=…), never the repository's .venv.
 */
import assert from "node:assert/strict";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run, tempDir } from "./lib/localServers";
import { REPO } from "./lib/rendered";
import { FAKE_GCS_SERVER_VERSION } from "../tools/lib/local/gcs";

const SCRIPT = join(REPO, "tools", "install-deps.sh");
/** Commands that stop, disable or mask services, or kill processes. */
const SERVICE_CONTROL = /\b(systemctl\s+(stop|disable|mask|kill|isolate)|service\s+\S+\s+stop|invoke-rc\.d\s+\S+\s+stop|update-rc\.d\s+\S+\s+(disable|remove)|pg_ctlcluster\s+\S+\s+\S+\s+stop|pg_ctl\s.*\bstop|redis-cli\s.*\bshutdown|pkill|killall|kill\s)/;
/** The recorded commands; each records its argv and succeeds. */
const RECORDED = ["apt-get", "npm", "sudo", "tee", "systemctl", "service", "invoke-rc.d", "update-rc.d", "pg_ctlcluster", "pkill", "killall", "redis-server", "python3", "go"];

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
    const body = name === "sudo" ? 'exec "$@"' : name === "tee" ? "cat >/dev/null" : name === "redis-server" ? 'echo "Redis server v=0.0.0"' : name === "python3" ? FAKE_PYTHON : "true";
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
    assert.ok(packages.includes(name), `${name} is not installed by tools/install-deps.sh`);
  }
  // Django and its libraries come from the image's lock, never from Debian.
  const debianPython = packages.filter((name) => /^(python3-(django|psycopg|redis|google|pythonjsonlogger|storages)|gunicorn)/.test(name));
  assert.deepEqual(debianPython, [], "the tests run the image's pins (app/requirements.lock), not Debian's");
  assert.ok(calls.includes(`python3 -m venv ${venv}`), calls.join("\n"));
  assert.ok(calls.includes(`${venv}/bin/python -m pip install --quiet --require-hashes --only-binary=:all: -r app/requirements.lock`), calls.join("\n"));
  assert.deepEqual(calls.filter((call) => /\bpip3? install\b/.test(call) && !call.includes("--require-hashes")), [], "every pip install checks hashes");
  assert.ok(calls.includes("npm ci --no-audit --no-fund"), calls.join("\n"));
  // The GCS emulator of npm run local: a static Go build of the version tools/lib/local/gcs.ts names.
  assert.ok(calls.includes(`CGO_ENABLED=0 GOBIN=${tools}/bin go install github.com/fsouza/fake-gcs-server@${FAKE_GCS_SERVER_VERSION}`), calls.join("\n"));
  const touching = calls.filter((call) => /^(systemctl|service|invoke-rc\.d|update-rc\.d|pg_ctlcluster|pkill|killall) /.test(call));
  assert.deepEqual(touching, [], "install-deps.sh must leave the machine's services as they are");
});
