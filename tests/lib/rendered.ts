/**
 * Reading what the platform renders: runs the offline synth for a stack and navigates its
 * manifests.yaml the way Kubernetes would (Deployment → envFrom → ConfigMap/Secret, env with the
 * downward API, `$(VAR)` expansion in command/args, Services selecting pods).
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { run, tempDir } from "./localServers";

/** The repository root. */
export const REPO = resolve(__dirname, "..", "..");

/** The fields of Kubernetes objects these tests look at (validated by synth against the real schemas). */
export interface K8sDoc {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly data?: Record<string, string>;
  readonly stringData?: Record<string, string>;
  readonly spec?: {
    readonly selector?: Record<string, string> | { readonly matchLabels?: Record<string, string> };
    readonly ports?: ReadonlyArray<{ readonly port: number; readonly targetPort?: number | string; readonly name?: string }>;
    readonly template?: { readonly metadata?: { readonly labels?: Record<string, string> }; readonly spec: PodSpec };
  };
}

/** Pod spec fields used here. */
export interface PodSpec {
  readonly containers: readonly Container[];
  readonly securityContext?: { readonly runAsUser?: number; readonly runAsGroup?: number; readonly fsGroup?: number };
  readonly volumes?: ReadonlyArray<{ readonly name: string; readonly emptyDir?: object }>;
}

/** An HTTP probe. */
export interface HttpProbe {
  readonly httpGet?: { readonly path: string; readonly port: number | string };
}

/** Container fields used here. */
export interface Container {
  readonly name: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly workingDir?: string;
  readonly ports?: ReadonlyArray<{ readonly containerPort: number; readonly name?: string }>;
  readonly env?: ReadonlyArray<{
    readonly name: string;
    readonly value?: string;
    readonly valueFrom?: {
      readonly fieldRef?: { readonly fieldPath: string };
      readonly secretKeyRef?: { readonly name: string; readonly key: string };
      readonly configMapKeyRef?: { readonly name: string; readonly key: string };
    };
  }>;
  readonly envFrom?: ReadonlyArray<{ readonly configMapRef?: { readonly name: string }; readonly secretRef?: { readonly name: string } }>;
  readonly securityContext?: { readonly readOnlyRootFilesystem?: boolean; readonly runAsUser?: number };
  readonly volumeMounts?: ReadonlyArray<{ readonly name: string; readonly mountPath: string }>;
  readonly startupProbe?: HttpProbe;
  readonly livenessProbe?: HttpProbe;
  readonly readinessProbe?: HttpProbe;
}

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

/** Parses a multi-document manifests file, rejecting YAML errors. */
export function parseManifests(text: string): K8sDoc[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`manifests.yaml: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS() as K8sDoc | null;
    return value ? [value] : [];
  });
}

const COMPONENT = "app.kubernetes.io/component";

/** The one document of `kind` whose component label is `component`; throws naming both otherwise. */
export function byComponent(docs: readonly K8sDoc[], kind: string, component: string): K8sDoc {
  const found = docs.filter((d) => d.kind === kind && d.metadata.labels?.[COMPONENT] === component);
  if (found.length !== 1) throw new Error(`expected one ${kind} labelled ${COMPONENT}=${component}, found ${found.length}`);
  return found[0] as K8sDoc;
}

/** The document of `kind` named `name`; throws otherwise. */
export function byName(docs: readonly K8sDoc[], kind: string, name: string): K8sDoc {
  const found = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!found) throw new Error(`${kind} ${name} is referenced but not in manifests.yaml`);
  return found;
}

/** The pod spec of a workload (Deployment, StatefulSet, Job). */
export function podSpec(doc: K8sDoc): PodSpec {
  const spec = doc.spec?.template?.spec;
  if (!spec) throw new Error(`${doc.kind} ${doc.metadata.name} has no pod template`);
  return spec;
}

/** The container named `name` of a workload. */
export function container(doc: K8sDoc, name: string): Container {
  const found = podSpec(doc).containers.find((c) => c.name === name);
  if (!found) throw new Error(`${doc.kind} ${doc.metadata.name} has no container named ${name}`);
  return found;
}

/** Where each variable of a container's environment comes from. */
export interface EnvSource {
  readonly kind: "configMap" | "secret" | "fieldRef" | "value";
  /** The ConfigMap/Secret name, or the field path. */
  readonly from: string;
  /** The rendered value (Secret values are placeholders). */
  readonly value: string;
}

/**
 * A container's environment as Kubernetes builds it: `envFrom` in order, then `env` (which wins).
 * Values from the downward API are the field path; the caller substitutes them.
 */
export function containerEnv(docs: readonly K8sDoc[], c: Container): Map<string, EnvSource> {
  const env = new Map<string, EnvSource>();
  for (const source of c.envFrom ?? []) {
    if (source.configMapRef) {
      const cm = byName(docs, "ConfigMap", source.configMapRef.name);
      for (const [name, value] of Object.entries(cm.data ?? {})) env.set(name, { kind: "configMap", from: cm.metadata.name, value });
    } else if (source.secretRef) {
      for (const [name, value] of Object.entries(secretValues(byName(docs, "Secret", source.secretRef.name)))) {
        env.set(name, { kind: "secret", from: source.secretRef.name, value });
      }
    }
  }
  for (const variable of c.env ?? []) {
    const from = variable.valueFrom;
    if (variable.value !== undefined) env.set(variable.name, { kind: "value", from: "", value: variable.value });
    else if (from?.fieldRef) env.set(variable.name, { kind: "fieldRef", from: from.fieldRef.fieldPath, value: from.fieldRef.fieldPath });
    else if (from?.secretKeyRef) {
      const secret = secretValues(byName(docs, "Secret", from.secretKeyRef.name));
      const value = secret[from.secretKeyRef.key];
      if (value === undefined) throw new Error(`Secret ${from.secretKeyRef.name} has no key ${from.secretKeyRef.key} (env ${variable.name})`);
      env.set(variable.name, { kind: "secret", from: from.secretKeyRef.name, value });
    } else if (from?.configMapKeyRef) {
      const value = byName(docs, "ConfigMap", from.configMapKeyRef.name).data?.[from.configMapKeyRef.key];
      if (value === undefined) throw new Error(`ConfigMap ${from.configMapKeyRef.name} has no key ${from.configMapKeyRef.key}`);
      env.set(variable.name, { kind: "configMap", from: from.configMapKeyRef.name, value });
    } else {
      throw new Error(`env ${variable.name} of container ${c.name}: unsupported source ${JSON.stringify(variable)}`);
    }
  }
  return env;
}

/** A Secret's values: `stringData` as is, `data` base64-decoded. */
export function secretValues(secret: K8sDoc): Record<string, string> {
  const decoded = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
  return { ...decoded, ...(secret.stringData ?? {}) };
}

/**
 * Kubernetes' `$(VAR)` expansion of command and args: `$(NAME)` becomes the variable's value when
 * NAME is defined, stays as written otherwise; `$$` is an escaped `$`.
 */
export function expandKubernetesVars(text: string, vars: ReadonlyMap<string, string>): string {
  let out = "";
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    const next = text[i + 1];
    if (char === "$" && next === "$") {
      out += "$";
      i += 1;
    } else if (char === "$" && next === "(") {
      const close = text.indexOf(")", i + 2);
      const name = close === -1 ? undefined : text.slice(i + 2, close);
      if (name !== undefined && vars.has(name)) {
        out += vars.get(name);
        i = close;
      } else {
        out += char;
      }
    } else {
      out += char;
    }
  }
  return out;
}

/** The command line a container runs: command + args (the image's entrypoint is not known here). */
export function argv(c: Container): string[] {
  return [...(c.command ?? []), ...(c.args ?? [])];
}

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
