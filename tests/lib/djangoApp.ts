/**
 * Running the reference Django app (`app/`) with Debian's Python, as the container would.
 *
 * Always `/usr/bin/python3`: the Debian packages (Django 4.2, psycopg2, django-redis, gunicorn)
 * are installed for it, not for whatever `python3` comes first on PATH.
 */
import { request } from "node:http";
import { join, resolve } from "node:path";
import { GroupProcess, run, waitFor, type RunResult } from "./localServers";

/** The reference app's directory (the image's WORKDIR /app). */
export const APP_DIR = resolve(__dirname, "..", "..", "app");
/** Debian's interpreter, which has the apt-installed Django stack. */
export const PYTHON = "/usr/bin/python3";

/** Variables every app process gets besides the contract: a minimal, predictable base. */
export function baseEnv(): Record<string, string> {
  return { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" };
}

/** Runs `python3 manage.py <args>` in `cwd` with exactly `env` (plus {@link baseEnv}). */
export function manage(args: readonly string[], env: Record<string, string>, cwd = APP_DIR): Promise<RunResult> {
  return run(PYTHON, [join(cwd, "manage.py"), ...args], { cwd, env: { ...baseEnv(), ...env } });
}

/** What `app/config/settings.py` reads, by kind (its `ENV_CONTRACT`). */
export interface AppContract {
  readonly plain: readonly string[];
  readonly secret: readonly string[];
  readonly downward: readonly string[];
}

/** Imports the settings with an empty environment and returns their `ENV_CONTRACT`. */
export async function appContract(): Promise<AppContract> {
  const result = await run(PYTHON, ["-c", "import json, config.settings as s; print(json.dumps(s.ENV_CONTRACT))"], {
    cwd: APP_DIR,
    env: baseEnv(),
  });
  return JSON.parse(result.stdout) as AppContract;
}

/** A response read to the end. */
export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * GET over real HTTP to 127.0.0.1:`port` with an explicit Host header (fetch cannot set Host,
 * and the probes' Host — the pod IP — is part of what is under test). No redirects are followed.
 */
export function httpGet(port: number, path: string, headers: Record<string, string>): Promise<HttpResult> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Starts a long-running app process (gunicorn or runserver) and waits until `GET readyPath`
 * (sent with `host`) answers 200.
 */
export async function startAppServer(
  label: string,
  argv: readonly string[],
  options: { env: Record<string, string>; cwd?: string; port: number; host: string; readyPath: string },
): Promise<GroupProcess> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error(`${label}: empty command`);
  const server = new GroupProcess(label, command, args, { cwd: options.cwd ?? APP_DIR, env: { ...baseEnv(), ...options.env } });
  try {
    await waitFor(
      `${label} to answer ${options.readyPath}`,
      async () => (await httpGet(options.port, options.readyPath, { host: options.host })).status === 200,
      { timeoutMs: 30_000, process: server },
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
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
