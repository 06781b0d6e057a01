/**
 * Static checks of the reference image definition (no Docker here): the values the platform's
 * Deployment relies on (uid/gid 10001, WORKDIR /app, port 8000, gunicorn entry point) and pinned
 * dependencies on a Django LTS.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { APP_DIR, PYTHON, dockerfileFinalStage } from "./lib/djangoApp";

const dockerfile = readFileSync(join(APP_DIR, "Dockerfile"), "utf8");
const stage = dockerfileFinalStage(dockerfile);
const last = (keyword: string) => stage.filter(([k]) => k === keyword).at(-1)?.[1];

test("the image runs as uid/gid 10001 from /app and exposes 8000 (pages) and 8081 (probes)", () => {
  assert.equal(last("USER"), "10001:10001");
  assert.equal(last("WORKDIR"), "/app");
  assert.equal(last("EXPOSE"), "8000 8081");
  const cmd = JSON.parse(last("CMD") ?? "[]") as string[];
  assert.deepEqual(cmd.slice(0, 4), ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000"]);
  assert.equal(cmd[cmd.indexOf("--worker-tmp-dir") + 1], "/tmp");
});

test("the image is multi-stage and does not run as root", () => {
  assert.ok((dockerfile.match(/^FROM /gm) ?? []).length >= 2, "expected a build stage and a runtime stage");
  assert.doesNotMatch(last("USER") ?? "", /^(root|0)(:|$)/);
});

test("requirements are pinned exactly, on Django 5.2 LTS", () => {
  const requirements = readFileSync(join(APP_DIR, "requirements.txt"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
  for (const line of requirements) assert.match(line, /^[A-Za-z0-9_.[\]-]+==[0-9][A-Za-z0-9.]*$/, `not pinned: ${line}`);
  assert.ok(requirements.some((line) => /^Django==5\.2\.\d+$/.test(line)), "Django must be pinned to 5.2.x");
  for (const name of ["gunicorn", "django-redis", "django-storages[google]", "google-cloud-storage", "python-json-logger"]) {
    assert.ok(requirements.some((line) => line.startsWith(`${name}==`)), `${name} missing`);
  }
  // Media URLs are signed through IAM signBlob (django_platform_settings/media_storage.py): django-storages' `iam_sign_blob`
  // option exists since 1.14.6 (https://github.com/jschneier/django-storages/pull/1427).
  const storages = requirements.find((line) => line.startsWith("django-storages[google]=="))?.split("==")[1] ?? "0";
  const [major = 0, minor = 0, patch = 0] = storages.split(".").map(Number);
  assert.ok(major > 1 || (major === 1 && (minor > 14 || (minor === 14 && patch >= 6))), `django-storages ${storages} has no iam_sign_blob`);
});

test(".dockerignore keeps local state and tests out of the image", () => {
  const ignored = readFileSync(join(APP_DIR, ".dockerignore"), "utf8").split("\n");
  for (const entry of ["db.sqlite3", "tests/", "staticfiles/", "media/", "**/__pycache__/"]) assert.ok(ignored.includes(entry), entry);
  // gunicorn reads ./gunicorn.conf.py from WORKDIR; it and cloud_logging.py must be in the image.
  for (const needed of ["gunicorn.conf.py", "cloud_logging.py"]) assert.ok(!ignored.some((entry) => entry.trim() === needed), `${needed} must not be ignored`);
});

/** `name==version` → [normalised name (PEP 503, extras dropped), version]. */
const pin = (line: string): [string, string] => {
  const [name = "", version = ""] = line.split("==");
  return [name.replace(/\[.*\]$/, "").toLowerCase().replace(/[-_.]+/g, "-"), version];
};

test("the image installs the hash-locked file, which pins every requirement at the same version", () => {
  const build = dockerfile.replace(/\\\n/g, " ");
  assert.match(build, /^COPY requirements\.lock \/tmp\/requirements\.lock$/m);
  assert.match(build, /^RUN pip install --require-hashes --no-deps --only-binary=:all: -r \/tmp\/requirements\.lock && pip check$/m);
  // No other install: every pip install of the image checks hashes (pip, `python -m pip`, pip3).
  const pipInstalls = build.split("\n").filter((line) => /\bpip3?(\.\S+)?\s+install\b/.test(line));
  assert.deepEqual(pipInstalls.filter((line) => !/--require-hashes\b/.test(line)), [], "a pip install without --require-hashes");
  const lock = readFileSync(join(APP_DIR, "requirements.lock"), "utf8");
  const entries = lock.replace(/\\\n/g, " ").split("\n").filter((line) => /^[A-Za-z0-9]/.test(line));
  const locked = new Map(entries.map((entry) => pin(entry.split(/\s/)[0] ?? "")));
  for (const entry of entries) {
    assert.match(entry, /^[A-Za-z0-9_.-]+==\S+ +(--hash=sha256:[0-9a-f]{64} *)+$/, `not pinned with hashes: ${entry.slice(0, 80)}`);
  }
  const requirements = readFileSync(join(APP_DIR, "requirements.txt"), "utf8").split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
  for (const line of requirements) {
    const [name, version] = pin(line);
    assert.equal(locked.get(name), version, `${line}: app/requirements.lock has ${name}==${locked.get(name)}; run \`bash maint/lock-app-requirements.sh\``);
  }
  assert.ok(locked.has("psycopg-binary"), "the [binary] extra's package is locked too");
});

test("the image's Python is the minor version the tests run (the venv of maint/install-deps.sh)", () => {
  const from = /^FROM python:(\d+\.\d+)(?:\.\d+)?-slim-bookworm@sha256:[0-9a-f]{64}(?: AS \w+)?$/m.exec(dockerfile);
  assert.ok(from, "FROM python:<major>.<minor>[.<patch>]-slim-bookworm@sha256:<digest>");
  const venv = execFileSync(PYTHON, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" }).trim();
  assert.equal(from[1], venv, `the image runs Python ${from[1]}, the tests ${venv} (README, "Test")`);
});

test("the base image is pinned by digest on every FROM line, the same image in both stages (issue 21, supply chain)", () => {
  // A tag alone moves under the build (a rebuild of the same commit can get another Python or
  // Debian patch); the digest is what the build gets. Written on the FROM lines, not through an
  // ARG, so Dependabot's docker updater sees it (tests/workflows.test.ts, docs/release.md).
  const froms = dockerfile.split("\n").filter((line) => /^FROM\s/i.test(line));
  assert.ok(froms.length >= 2, "a build stage and a final stage");
  const images = froms.map((line) => line.split(/\s+/)[1] ?? "");
  for (const image of images) {
    assert.match(image, /^[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/, `${image}: name the tag and its digest`);
  }
  assert.equal(new Set(images).size, 1, `the stages build on different images: ${images.join(", ")}`);
  assert.doesNotMatch(dockerfile, /^ARG\s/m, "no ARG can swap the base image at build time");
});

test("the image copies the settings helper from the named build context cli/release.ts and the deploy workflow pass", async () => {
  const { SETTINGS_PACKAGE_CONTEXT } = await import("../cli/release");
  const [name = "", dir = ""] = SETTINGS_PACKAGE_CONTEXT.split("=");
  const build = dockerfile.replace(/\\\n/g, " ");
  const copy = new RegExp(`^COPY --from=${name} (\\S+) (\\S+)$`, "m").exec(build);
  assert.ok(copy, `app/Dockerfile: COPY --from=${name} <package> <dir>`);
  const [, source = "", target = ""] = copy;
  // The package the settings import, at the path the context names (the repository root's python/…).
  assert.ok(existsSync(join(APP_DIR, "..", dir, source, "__init__.py")), `${dir}/${source} is the package`);
  // A .pth file puts its parent directory on the venv's path, in the build stage and in the final one.
  const parent = target.replace(/\/django_platform_settings$/, "");
  assert.notEqual(parent, target, `${target} ends with the package's name`);
  assert.match(build, new RegExp(`\\.pth.*write_text\\("${parent.replace(/[/.]/g, "\\$&")}\\\\n"\\)`));
  assert.ok(stage.some(([k, args]) => k === "COPY" && args === `--from=build ${parent} ${parent}`), "the final stage copies it from the build stage");
});
