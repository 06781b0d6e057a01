/**
 * Running the reference Django app (`app/`) with the image's Python stack, as the container would:
 * the venv of maint/install-deps.sh (`.venv/`, the hash-locked pins of app/requirements.lock that
 * app/Dockerfile installs), first on PATH like the image's /opt/venv, so a rendered `python …` or
 * `gunicorn …` command runs as written (cli/lib/appPython.ts).
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { run, tempDir, type RunResult } from "./localServers";
import { REPO, parseManifests, type K8sDoc } from "./rendered";
import { APP_DIR, VENV_PYTHON, imageBaseEnv, venvPython } from "../../cli/lib/appPython";

export { APP_DIR };
export { httpGet, httpRequest, startAppServer, type HttpResult } from "../../cli/lib/local/http";
/** The venv's interpreter (the image's `python`). */
export const PYTHON = VENV_PYTHON;

/**
 * Variables every app process gets besides the contract: the image's own (`ENV` of app/Dockerfile,
 * the venv first on PATH). Throws naming `bash maint/install-deps.sh` when the venv is missing.
 */
export function baseEnv(): Record<string, string> {
  venvPython();
  return imageBaseEnv();
}

/** Runs `python manage.py <args>` in `cwd` with exactly `env` (plus {@link baseEnv}). */
export function manage(args: readonly string[], env: Record<string, string>, cwd = APP_DIR): Promise<RunResult> {
  return run(PYTHON, [join(cwd, "manage.py"), ...args], { cwd, env: { ...baseEnv(), ...env } });
}

/** What `app/config/settings.py` reads, by kind (its `ENV_CONTRACT`). */
export interface AppContract {
  readonly plain: readonly string[];
  readonly secret: readonly string[];
  readonly downward: readonly string[];
  /** Set in each container's own `env` by the platform, not in the ConfigMap (e.g. the media signer). */
  readonly container: readonly string[];
}

/** Imports the settings with an empty environment and returns their `ENV_CONTRACT`. */
export async function appContract(): Promise<AppContract> {
  const result = await run(PYTHON, ["-c", "import json, config.settings as s; print(json.dumps(s.ENV_CONTRACT))"], {
    cwd: APP_DIR,
    env: baseEnv(),
  });
  return JSON.parse(result.stdout) as AppContract;
}

/** The Django version the venv runs (the image's pin). */
export async function djangoVersion(): Promise<string> {
  return (await run(PYTHON, ["-c", "import django; print(django.get_version())"], { env: baseEnv() })).stdout.trim();
}

/**
 * Copies a Django project (default: the reference app) to a fresh temp dir, without local state
 * (sqlite file, collected statics, uploads, bytecode), so a test can write files where the image's
 * WORKDIR would be without touching the repository.
 */
export function copyProject(source = APP_DIR, prefix = "django-app-"): string {
  const dir = tempDir(prefix);
  cpSync(source, dir, { recursive: true, filter: (path) => !/(^|\/)(__pycache__|db\.sqlite3|staticfiles|media)$/.test(path) });
  return dir;
}

/**
 * Synths `Pulumi.staging.yaml` with some config objects changed (`{ "django-platform:cache": {
 * replicas: 1 } }` is merged into the stack's `django-platform:cache`), through the synth CLI's
 * entry point (`--config-file <tmp>/Pulumi.staging.yaml --out <tmp>`) in this process, and returns
 * the documents of its manifests.yaml. Exit code 1 (schema or policy findings) still writes them.
 */
export async function synthStagingWith(patch: Record<string, Record<string, unknown>>): Promise<K8sDoc[]> {
  const [{ main }, { withoutStackTraces }] = await Promise.all([import("../../cli/synth"), import("../helpers/platform")]);
  const dir = tempDir("synth-staging-with-");
  try {
    const stack = parse(readFileSync(join(REPO, "Pulumi.staging.yaml"), "utf8")) as { config: Record<string, unknown> };
    for (const [key, value] of Object.entries(patch)) {
      stack.config[key] = { ...((stack.config[key] ?? {}) as Record<string, unknown>), ...value };
    }
    const stackFile = join(dir, "Pulumi.staging.yaml");
    writeFileSync(stackFile, stringify(stack));
    const out = join(dir, "out");
    let output = "";
    const io = { stdout: (text: string) => (output += `${text}\n`), stderr: (text: string) => (output += `${text}\n`) };
    const code = await withoutStackTraces(() => {
      output = "";
      return main([process.execPath, join(REPO, "cli", "synth.ts"), "--config-file", stackFile, "--out", out], io);
    }, (exit) => exit !== 0 && exit !== 1);
    if (code !== 0 && code !== 1) throw new Error(`synth of ${stackFile} failed (exit ${code}):\n${output}`);
    return parseManifests(readFileSync(join(out, "manifests.yaml"), "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A multipart/form-data body (RFC 7578) with text fields and one file, and its Content-Type. */
export function multipart(fields: Record<string, string>, file: { field: string; name: string; type: string; content: Buffer }): { body: Buffer; contentType: string } {
  const boundary = `----django-platform-test-${Date.now().toString(16)}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`));
  parts.push(file.content, Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Instructions of a Dockerfile's final stage, as [KEYWORD, arguments] pairs (continuations joined). */
export function dockerfileFinalStage(dockerfile: string): Array<[string, string]> {
  const instructions = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line): [string, string] => {
      const space = line.indexOf(" ");
      return [line.slice(0, space).toUpperCase(), line.slice(space + 1).trim()];
    });
  const lastFrom = instructions.map(([keyword]) => keyword).lastIndexOf("FROM");
  return instructions.slice(lastFrom);
}
