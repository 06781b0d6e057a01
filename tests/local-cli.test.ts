/**
 * `npm run local` as a command (cli/local.ts): its exit codes and messages for bad input, and
 * that nothing it started outlives it — after a failure, after Ctrl-C (the termination sequence),
 * and after a second Ctrl-C in the middle of starting (everything killed at once).
 *
 * "Nothing left" is checked two ways: in-process, no process group started by the tool is still
 * registered (every process goes through cli/lib/local/processes.ts); for the real command in
 * its own process, no process on the machine has the run's directory in its command line or as its
 * working directory, and the directory is gone.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { stringify } from "yaml";
import { main } from "../cli/local";
import { liveProcessGroups } from "../cli/lib/local/processes";
import { podSpec, type K8sDoc } from "../cli/lib/renderedWorkloads";
import { ROOT } from "./helpers/platform";
import { render } from "./lib/localStack";
import { tempDir } from "./lib/localServers";

/** Runs the command in this process; returns its exit code and what it printed. */
async function local(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io = { stdout: (t: string) => (out += `${t}\n`), stderr: (t: string) => (err += `${t}\n`) };
  const code = await main([process.execPath, "cli/local.ts", ...args], io, new EventEmitter() as never);
  return { code, out, err };
}

const scratch = tempDir("local-cli-");
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("bad input: one line naming the problem and the fix, nothing left running", () => {
  test("no stack named: exit 2", async () => {
    const r = await local([]);
    assert.equal(r.code, 2);
    assert.match(r.err, /pass one of --stack <name>, --config-file <path> or --manifests <file>/);
  });

  test("a stack that does not synth: exit 2 with the config errors", async () => {
    const file = join(scratch, "Pulumi.broken.yaml");
    const stack = readFileSync(join(ROOT, "Pulumi.staging.yaml"), "utf8").replace(/^(\s*)django-platform:domain: .*$/m, "$1django-platform:domain: not a domain");
    writeFileSync(file, stack);
    const r = await local(["--config-file", file, "--port", "0"]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /domain/);
    assert.deepEqual(liveProcessGroups(), []);
  });

  test("a missing program: exit 2, naming it and maint/install-deps.sh", async () => {
    process.env.FAKE_GCS_SERVER = join(scratch, "no-such-fake-gcs-server");
    try {
      const r = await local(["--stack", "staging", "--port", "0"]);
      assert.equal(r.code, 2, r.err);
      const lines = r.err.trim().split("\n");
      assert.equal(lines.length, 1, r.err);
      assert.match(lines[0] ?? "", /^local: fake-gcs-server \(the GCS emulator\) is missing: FAKE_GCS_SERVER=.* is not executable; run `bash maint\/install-deps.sh`/);
    } finally {
      delete process.env.FAKE_GCS_SERVER;
    }
  });

  test("the site's port in use: exit 2, naming the port and --port", async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await local(["--stack", "staging", "--port", String(port)]);
      assert.equal(r.code, 2, r.err);
      assert.equal(r.err.trim(), `local: port ${port} on 127.0.0.1 is in use: pass another with --port <n> (--port 0 picks a free one)`);
    } finally {
      server.close();
    }
  });

  test("a service that does not start: exit 3, naming it and the fix; PostgreSQL, started meanwhile, is stopped again", async () => {
    process.env.FAKE_GCS_SERVER = "/bin/false";
    try {
      const r = await local(["--stack", "staging", "--port", "0"]);
      assert.equal(r.code, 3, r.err);
      assert.match(r.err, /^local: fake-gcs-server did not start: .*Rebuild it with `bash maint\/install-deps.sh`\.$/m);
      assert.deepEqual(liveProcessGroups(), [], "no process group of the run is left");
    } finally {
      delete process.env.FAKE_GCS_SERVER;
    }
  });
});

describe("--check", () => {
  test("one variable dropped from one Job (synth's manifests.yaml, edited): exit 1, naming the Job, its command and the exception", async () => {
    const { docs } = await render("staging");
    const migrate = docs.find((d) => d.kind === "Job" && d.metadata.labels?.["app.kubernetes.io/component"] === "migrate") as K8sDoc;
    const container = podSpec(migrate).containers[0] as { env?: Array<{ name: string }> };
    container.env = container.env?.filter((e) => e.name !== "DJANGO_APP_DB_USER");
    const file = join(scratch, "manifests.yaml");
    writeFileSync(file, docs.map((d) => stringify(d)).join("---\n"));
    const r = await local(["--manifests", file, "--check", "--port", "0", "--fast-stop"]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^FAILED Job\/django-workload-migrate-[0-9a-f]+ \(container migrate\)$/m);
    assert.match(r.out, /^ {2}command: python -c # django-platform: the migrate Job's schema step/m);
    assert.match(r.out, /ImproperlyConfigured: DJANGO_APP_DB_ENGINE is 'postgresql', so set DJANGO_APP_DB_USER as well/);
    assert.match(r.out, /FAILED: 1 workload\(s\)/);
    assert.deepEqual(liveProcessGroups(), []);
  });
});

/** Processes whose command line or working directory names `dir`. */
function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      let cwd = "";
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // not ours to read
      }
      if (cmdline.includes(dir) || cwd.startsWith(dir)) found.push(`${pid}: ${cmdline.slice(0, 120)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Starts the command in a process of its own with its temp dir in `base`. */
function spawnLocal(base: string, args: readonly string[]) {
  const child = spawn(process.execPath, ["--require", "tsx/cjs", join(ROOT, "cli", "local.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: base },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs = 90_000) => {
    const end = Date.now() + timeoutMs;
    while (!pattern.test(output)) {
      if (child.exitCode !== null || Date.now() > end) throw new Error(`no ${pattern} in:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, exited, waitFor, output: () => output };
}

describe("Ctrl-C stops everything it started", () => {
  // The app containers mount an emptyDir at /tmp, so the run directory goes elsewhere: /var/tmp here.
  const base = join("/var/tmp", `local-cli-${process.pid}`);
  mkdirSync(base, { recursive: true });
  after(() => rmSync(base, { recursive: true, force: true }));

  test("once, while the site runs: the termination sequence, exit 130, no process and no file left", async () => {
    const run = spawnLocal(base, ["--stack", "staging", "--port", "0", "--fast-stop"]);
    try {
      await run.waitFor(/running; Ctrl-C stops everything/);
      const site = /site: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.output())?.[1];
      assert.ok(site, run.output());
      assert.ok(processesUsing(base).length > 0, "the run's processes use its directory");
      assert.equal((await fetch(`${site}healthz/`, { redirect: "manual" })).status, 200);
      run.child.kill("SIGINT");
      assert.equal(await run.exited, 130, run.output());
      assert.match(run.output(), /termination\n {2}Deployment\/django-workload-web-\w+: preStop skipped \(fast stop\), then SIGTERM; exited/);
      assert.deepEqual(processesUsing(base), []);
      assert.deepEqual(readdirSync(base).filter((d) => d.startsWith("django-local-")), [], "the run directory is removed");
      await assert.rejects(fetch(`${site}healthz/`), "the site no longer listens");
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  test("twice, in the middle of starting: everything killed at once, no process and no file left", async () => {
    const run = spawnLocal(base, ["--stack", "staging", "--port", "0"]);
    try {
      await run.waitFor(/running the Jobs/);
      run.child.kill("SIGINT");
      await new Promise((r) => setTimeout(r, 200));
      run.child.kill("SIGINT");
      assert.equal(await run.exited, 130, run.output());
      assert.match(run.output(), /killing everything now/);
      assert.deepEqual(processesUsing(base), []);
      assert.deepEqual(readdirSync(base).filter((d) => d.startsWith("django-local-")), [], "the run directory is removed");
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  test("the tool itself killed (SIGKILL, no exit hook runs): the kernel kills what it started (setpriv --pdeathsig)", async () => {
    const run = spawnLocal(base, ["--stack", "staging", "--port", "0", "--fast-stop"]);
    try {
      await run.waitFor(/running; Ctrl-C stops everything/);
      run.child.kill("SIGKILL");
      await run.exited;
      const end = Date.now() + 15_000;
      while (processesUsing(base).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(processesUsing(base), [], "only the run directory is left (nothing could remove it)");
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});
