/**
 * The reference app's settings: its Python unit tests (settings built from the environment
 * contract, including the GCS static-files path that cannot be exercised end to end here), and a
 * scan proving settings.py's ENV_CONTRACT is the only way the app reads DJANGO_APP_* variables.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { APP_DIR, PYTHON, appContract, baseEnv } from "./lib/djangoApp";
import { REPO } from "./lib/rendered";
import { run } from "./lib/localServers";

test("the app's Python unit tests pass on the image's Django (.venv)", async () => {
  const result = await run(PYTHON, ["-m", "unittest", "discover", "-s", "tests", "-t", "."], {
    cwd: APP_DIR,
    env: baseEnv(),
    check: false,
  });
  assert.equal(result.code, 0, result.stderr);
  const ran = /^Ran (\d+) tests?/m.exec(result.stderr);
  assert.ok(ran && Number(ran[1]) >= 50, `expected at least 50 tests to run:\n${result.stderr}`);
});

/** The settings helper the app applies the contract with (python/django-platform-settings). */
const SETTINGS_PACKAGE_DIR = join(REPO, "python", "django-platform-settings", "django_platform_settings");

/**
 * Files allowed to read the environment themselves: the helper's reader, and the logging setup
 * gunicorn's master loads from ./gunicorn.conf.py before Django (and settings) exist. Both only read
 * names that the settings also read, which the first check below proves.
 */
const DIRECT_READERS = [join("django_platform_settings", "env.py"), "gunicorn.conf.py", "cloud_logging.py"];

function pythonSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "tests" || entry.name === "__pycache__" ? [] : pythonSources(path);
    return entry.name.endsWith(".py") ? [path] : [];
  });
}

test("every DJANGO_APP_* name in the app's code is declared in ENV_CONTRACT, read through EnvReader only", async () => {
  const contract = await appContract();
  const declared = new Set([...contract.plain, ...contract.secret, ...contract.container]);
  const undeclared: string[] = [];
  const directReads: string[] = [];
  const sources = [...pythonSources(APP_DIR).map((file) => [file, relative(APP_DIR, file)]), ...pythonSources(SETTINGS_PACKAGE_DIR).map((file) => [file, join("django_platform_settings", relative(SETTINGS_PACKAGE_DIR, file))])];
  assert.ok(sources.some(([, where]) => where === DIRECT_READERS[0]), `${DIRECT_READERS[0]} is scanned`);
  for (const [file = "", where = ""] of sources) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/\bDJANGO_APP_[A-Z0-9_]*[A-Z0-9]\b/g)) {
      if (!declared.has(match[0])) undeclared.push(`${match[0]} (${where})`);
    }
    if (!DIRECT_READERS.includes(where) && /\b(getenv|environ\.get|environ\[)/.test(text)) directReads.push(where);
  }
  assert.deepEqual(undeclared, [], "names used in the app but not read through EnvReader in settings.py");
  assert.deepEqual(directReads, [], "environment variables must be read through django_platform_settings/env.py's EnvReader");
  assert.ok(declared.size >= 18, `ENV_CONTRACT looks truncated: ${[...declared].join(", ")}`);
});
