/**
 * Reading what the platform renders, for the tests: runs the offline synth for a stack and
 * navigates its manifests.yaml the way Kubernetes would. The navigation itself (envFrom →
 * ConfigMap/Secret, env with the downward API, `$(VAR)` expansion, every Django container) lives in
 * tools/lib/renderedWorkloads.ts, which tools share; it is re-exported here.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { parseManifests, type K8sDoc } from "../../tools/lib/renderedWorkloads";
import { run, tempDir } from "./localServers";

export {
  argv,
  byComponent,
  byName,
  container,
  containerEnv,
  expandKubernetesVars,
  parseManifests,
  podSpec,
  secretValues,
  type Container,
  type EnvSource,
  type HttpProbe,
  type K8sDoc,
  type PodSpec,
} from "../../tools/lib/renderedWorkloads";

/** The repository root. */
export const REPO = resolve(__dirname, "..", "..");

/**
 * Runs the offline synth of the staging stack (`tools/synth.ts --stack staging --out <tmp>`) and
 * returns the documents of its manifests.yaml. Synth exit code 1 (schema or policy findings)
 * still writes the manifests, which is all this needs; any other failure throws with its output.
 */
export async function renderStagingManifests(): Promise<K8sDoc[]> {
  const out = tempDir("synth-staging-");
  try {
    const result = await run(process.execPath, ["--import", "tsx", join(REPO, "tools", "synth.ts"), "--stack", "staging", "--out", out], {
      cwd: REPO,
      check: false,
      timeoutMs: 120_000,
    });
    const file = join(out, "manifests.yaml");
    if ((result.code !== 0 && result.code !== 1) || !existsSync(file)) {
      throw new Error(`synth of the staging stack failed (exit ${result.code}):\n${result.stderr}\n${result.stdout}`);
    }
    return parseManifests(readFileSync(file, "utf8"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * {@link renderStagingManifests} without a second node process: the synth CLI's entry point
 * (`main()` of tools/synth.ts: the same argument parsing and synth) with the same
 * `--stack staging --out <tmp>`, in this process, and the same exit-code rule. Synth runs Pulumi's
 * process-wide mock runtime: nothing else in this process may render meanwhile.
 */
export async function synthStagingManifests(): Promise<K8sDoc[]> {
  const [{ main }, { withoutStackTraces }] = await Promise.all([import("../../tools/synth"), import("../helpers/platform")]);
  const out = tempDir("synth-staging-");
  try {
    let stdout = "";
    let stderr = "";
    const code = await withoutStackTraces(() => {
      stdout = "";
      stderr = "";
      const io = { stdout: (text: string) => (stdout += `${text}\n`), stderr: (text: string) => (stderr += `${text}\n`) };
      return main([process.execPath, join(REPO, "tools", "synth.ts"), "--stack", "staging", "--out", out], io);
    }, (exit) => exit !== 0 && exit !== 1);
    const file = join(out, "manifests.yaml");
    if ((code !== 0 && code !== 1) || !existsSync(file)) {
      throw new Error(`synth of the staging stack failed (exit ${code}):\n${stderr}\n${stdout}`);
    }
    return parseManifests(readFileSync(file, "utf8"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const COMPONENT = "app.kubernetes.io/component";

/** The Service named by a `*.svc.cluster.local` host, after checking it selects `component` pods. */
export function serviceForHost(docs: readonly K8sDoc[], host: string, component: string): K8sDoc {
  const match = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(host);
  if (!match) throw new Error(`${host} is not a <service>.<namespace>.svc.cluster.local name`);
  const service = docs.find((d) => d.kind === "Service" && d.metadata.name === match[1] && (d.metadata.namespace ?? match[2]) === match[2]);
  if (!service) throw new Error(`${host}: no Service ${match[1]} in namespace ${match[2]}`);
  const selector = (service.spec?.selector ?? {}) as Record<string, string>;
  if (selector[COMPONENT] !== component) {
    throw new Error(`${host}: Service ${match[1]} selects ${COMPONENT}=${selector[COMPONENT]}, expected ${component}`);
  }
  return service;
}

/** Names of the user's extra variables declared in a stack file (`appEnv`/`appSecrets` keys). */
export function declaredExtras(stackFile: string): { plain: string[]; secret: string[] } {
  const config = ((parse(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown>;
  const names = (key: string): string[] => {
    const value = config[`django-platform:${key}`];
    if (value === undefined || value === null) return [];
    if (typeof value !== "object" || Array.isArray(value) || "secure" in value) {
      throw new Error(
        `${stackFile}: django-platform:${key} must be a map of names (set entries with \`pulumi config set --path ${key}.NAME\`), ` +
          "so the contract test can tell the user's extras from the platform's variables",
      );
    }
    return Object.keys(value);
  };
  return { plain: names("appEnv"), secret: names("appSecrets") };
}
