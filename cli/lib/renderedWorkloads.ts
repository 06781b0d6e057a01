/**
 * Every Django container a stack renders, with its environment resolved the way Kubernetes
 * resolves it: what the tests execute (each container's settings import, tests/containers.test.ts)
 * and what a local runner builds on (each rendered workload run here with exactly its command and
 * env).
 *
 * The input is the stack's Kubernetes objects as `npm run synth` writes them to manifests.yaml
 * ({@link renderObjects} renders them in this process; {@link parseManifests} reads the file):
 * Secret values are `[secret]` there, so every value that comes from a Secret is marked and the
 * caller supplies a local one ({@link resolveEnv}).
 *
 * A Django container is any container — app container, init container or native sidecar — of any
 * pod template (Deployment, StatefulSet, DaemonSet, Job, a CronJob's job template, Pod) that runs
 * the app image, plus the one-off Job `npm run manage` prints (cli/manage.ts
 * {@link manageJobFrom}, built from the migrate Job as the tool builds it).
 */
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { MANAGE_DEADLINE_SECONDS, manageJobFrom } from "../manage";
import { kubernetesObjects, redactedObject } from "./manifests";
import { runProgram, withoutStackTraces, type CapturedResource } from "./mockRuntime";
import { collectSecretValues } from "./redact";
import { PROJECT_DIR } from "./projectDir";

/** The fields of Kubernetes objects read here (synth validates them against the real schemas). */
export interface K8sDoc {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
    readonly data?: Record<string, string>;
    readonly stringData?: Record<string, string>;
    readonly spec?: {
        readonly selector?: Record<string, string> | { readonly matchLabels?: Record<string, string> };
        readonly ports?: ReadonlyArray<{ readonly port: number; readonly targetPort?: number | string; readonly name?: string }>;
        readonly template?: PodTemplate;
        /** CronJob. */
        readonly jobTemplate?: { readonly spec?: { readonly template?: PodTemplate } };
        /** A bare Pod's spec carries the containers itself. */
        readonly containers?: readonly Container[];
    };
}

/** A pod template. */
export interface PodTemplate {
    readonly metadata?: { readonly labels?: Record<string, string> };
    readonly spec: PodSpec;
}

/** Pod spec fields used here. */
export interface PodSpec {
    readonly containers: readonly Container[];
    readonly initContainers?: readonly Container[];
    readonly restartPolicy?: string;
    readonly serviceAccountName?: string;
    readonly terminationGracePeriodSeconds?: number;
    readonly securityContext?: { readonly runAsUser?: number; readonly runAsGroup?: number; readonly fsGroup?: number };
    readonly volumes?: ReadonlyArray<{ readonly name: string; readonly emptyDir?: { readonly medium?: string; readonly sizeLimit?: string } }>;
}

/** A probe (HTTP is the only kind the platform renders). */
export interface HttpProbe {
    readonly httpGet?: { readonly path: string; readonly port: number | string };
    readonly periodSeconds?: number;
    readonly timeoutSeconds?: number;
    readonly failureThreshold?: number;
    readonly initialDelaySeconds?: number;
}

/** One `env` entry. */
export interface EnvVar {
    readonly name: string;
    readonly value?: string;
    readonly valueFrom?: {
        readonly fieldRef?: { readonly fieldPath: string };
        readonly secretKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
        readonly configMapKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
    };
}

/** One `envFrom` entry. */
export interface EnvFromSource {
    readonly prefix?: string;
    readonly configMapRef?: { readonly name: string; readonly optional?: boolean };
    readonly secretRef?: { readonly name: string; readonly optional?: boolean };
}

/** Container fields used here. */
export interface Container {
    readonly name: string;
    readonly image?: string;
    readonly command?: readonly string[];
    readonly args?: readonly string[];
    readonly workingDir?: string;
    readonly restartPolicy?: string;
    readonly ports?: ReadonlyArray<{ readonly containerPort: number; readonly name?: string }>;
    readonly env?: readonly EnvVar[];
    readonly envFrom?: readonly EnvFromSource[];
    readonly securityContext?: { readonly readOnlyRootFilesystem?: boolean; readonly runAsUser?: number };
    readonly volumeMounts?: ReadonlyArray<{ readonly name: string; readonly mountPath: string }>;
    readonly startupProbe?: HttpProbe;
    readonly livenessProbe?: HttpProbe;
    readonly readinessProbe?: HttpProbe;
    readonly lifecycle?: { readonly preStop?: { readonly sleep?: { readonly seconds: number }; readonly exec?: { readonly command: readonly string[] } } };
}

/** Parses a multi-document manifests file (synth's manifests.yaml), rejecting YAML errors. */
export function parseManifests(text: string): K8sDoc[] {
    return parseAllDocuments(text).flatMap((doc) => {
        if (doc.errors.length) throw new Error(`manifests.yaml: ${doc.errors.map((e) => e.message).join("; ")}`);
        const value = doc.toJS() as K8sDoc | null;
        return value ? [value] : [];
    });
}

/** What {@link renderObjects} runs: a stack's project, name and raw config, as the CLI passes them. */
export interface RenderSource {
    readonly project: string;
    readonly stack: string;
    readonly config: Record<string, string>;
    readonly secretKeys: readonly string[];
    /** The program. @default the project's index.ts */
    readonly program?: string;
}

/**
 * Runs the program under Pulumi's mocks (as `npm run synth` does) and returns its Kubernetes
 * objects as manifests.yaml holds them: Secret values and any string holding a secret are
 * `[secret]`. Uses Pulumi's process-wide mock runtime: nothing else in this process may render
 * meanwhile.
 */
export async function renderObjects(source: RenderSource): Promise<K8sDoc[]> {
    const program = source.program ?? join(PROJECT_DIR, "index.ts");
    const capture = await withoutStackTraces(() => runProgram({ project: source.project, stack: source.stack, config: source.config, secretKeys: [...source.secretKeys], program }));
    return objectsOf(capture.resources);
}

/** The Kubernetes objects of resources the program registered, as manifests.yaml holds them (see {@link renderObjects}). */
export function objectsOf(resources: readonly CapturedResource[]): K8sDoc[] {
    const secrets = collectSecretValues(resources);
    // A JSON round trip, as the YAML file would be: plain data, no shared references.
    return kubernetesObjects(resources).map((o) => JSON.parse(JSON.stringify(redactedObject(o, secrets))) as K8sDoc);
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

/** The pod template of a workload (a CronJob's is its job template's), or undefined for other kinds. */
export function podTemplateOf(doc: K8sDoc): PodTemplate | undefined {
    if (doc.kind === "Pod" && doc.spec?.containers) return { metadata: { labels: doc.metadata.labels }, spec: doc.spec as unknown as PodSpec };
    return doc.kind === "CronJob" ? doc.spec?.jobTemplate?.spec?.template : doc.spec?.template;
}

/** The pod spec of a workload (Deployment, StatefulSet, Job, CronJob, Pod). */
export function podSpec(doc: K8sDoc): PodSpec {
    const spec = podTemplateOf(doc)?.spec;
    if (!spec) throw new Error(`${doc.kind} ${doc.metadata.name} has no pod template`);
    return spec;
}

/** The container named `name` of a workload. */
export function container(doc: K8sDoc, name: string): Container {
    const found = podSpec(doc).containers.find((c) => c.name === name);
    if (!found) throw new Error(`${doc.kind} ${doc.metadata.name} has no container named ${name}`);
    return found;
}

/** A Secret's values: `stringData` as is, `data` base64-decoded. */
export function secretValues(secret: K8sDoc): Record<string, string> {
    const decoded = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    return { ...decoded, ...(secret.stringData ?? {}) };
}

/** Where each variable of a container's environment comes from. */
export interface EnvSource {
    readonly kind: "configMap" | "secret" | "fieldRef" | "value";
    /** The ConfigMap/Secret name, or the field path. */
    readonly from: string;
    /** The key in the ConfigMap/Secret (the variable's name for envFrom without prefix). */
    readonly key?: string;
    /** The rendered value: the ConfigMap's, the literal (after `$(VAR)` expansion), the field path, or the Secret's (`[secret]` in manifests.yaml). */
    readonly value: string;
}

/** A valid variable name from envFrom: "any printable ASCII characters except '='" (others are skipped). */
const ENV_NAME = /^[\x20-\x3C\x3E-\x7E]+$/;

/**
 * A container's environment as the kubelet builds it: `envFrom` sources in order ("When a key
 * exists in multiple sources, the value associated with the last source will take precedence";
 * `prefix` prepended; keys that are not valid names skipped), then `env` in order ("Values defined
 * by an Env with a duplicate key will take precedence"); in a literal `value`, "Variable references
 * $(VAR_NAME) are expanded using the previously defined environment variables in the container …
 * If a variable cannot be resolved, the reference in the input string will be unchanged. Double $$
 * are reduced to a single $". Downward-API values are their field path (the caller substitutes
 * them); optional references to missing objects or keys are left out, required ones throw.
 * Source: the Container `envFrom` and EnvVar `value` fields of the Kubernetes API (k8s.io/api
 * core/v1; the same text in @pulumi/kubernetes 4.34 `types/input.d.ts`),
 * https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#environment-variables
 * and https://kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables/.
 */
export function containerEnv(docs: readonly K8sDoc[], c: Container): Map<string, EnvSource> {
    const env = new Map<string, EnvSource>();
    const find = (kind: string, name: string, optional: boolean | undefined): K8sDoc | undefined => {
        const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
        if (!doc && !optional) throw new Error(`container ${c.name}: ${kind} ${name} is referenced but not in manifests.yaml`);
        return doc;
    };
    for (const source of c.envFrom ?? []) {
        const prefix = source.prefix ?? "";
        const ref = source.configMapRef ?? source.secretRef;
        if (!ref) throw new Error(`container ${c.name}: unsupported envFrom ${JSON.stringify(source)}`);
        const kind = source.configMapRef ? "configMap" : "secret";
        const doc = find(kind === "configMap" ? "ConfigMap" : "Secret", ref.name, ref.optional);
        const values = !doc ? {} : kind === "configMap" ? (doc.data ?? {}) : secretValues(doc);
        for (const [key, value] of Object.entries(values)) {
            if (ENV_NAME.test(prefix + key)) env.set(prefix + key, { kind, from: ref.name, key, value });
        }
    }
    for (const variable of c.env ?? []) {
        const from = variable.valueFrom;
        if (from === undefined) {
            const defined = new Map([...env].map(([name, s]) => [name, s.value]));
            env.set(variable.name, { kind: "value", from: "", value: expandKubernetesVars(variable.value ?? "", defined) });
        } else if (from.fieldRef) {
            env.set(variable.name, { kind: "fieldRef", from: from.fieldRef.fieldPath, value: from.fieldRef.fieldPath });
        } else if (from.secretKeyRef || from.configMapKeyRef) {
            const ref = (from.secretKeyRef ?? from.configMapKeyRef) as { name: string; key: string; optional?: boolean };
            const kind = from.secretKeyRef ? "secret" : "configMap";
            const doc = find(kind === "secret" ? "Secret" : "ConfigMap", ref.name, ref.optional);
            const value = !doc ? undefined : kind === "secret" ? secretValues(doc)[ref.key] : doc.data?.[ref.key];
            if (value === undefined && !ref.optional) throw new Error(`container ${c.name}: ${kind} ${ref.name} has no key ${ref.key} (env ${variable.name})`);
            if (value !== undefined) env.set(variable.name, { kind, from: ref.name, key: ref.key, value });
        } else {
            throw new Error(`env ${variable.name} of container ${c.name}: unsupported source ${JSON.stringify(variable)}`);
        }
    }
    return env;
}

/**
 * Kubernetes' `$(VAR)` expansion (command, args, env values): `$(NAME)` becomes the variable's
 * value when NAME is defined, stays as written otherwise; `$$` is an escaped `$`.
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

/** The command line a container runs as rendered: command + args (the image's entrypoint is not known here). */
export function argv(c: Container): string[] {
    return [...(c.command ?? []), ...(c.args ?? [])];
}

/** The app image: the one the web Deployment's `web` container runs. */
export function appImage(docs: readonly K8sDoc[]): string {
    const image = container(byComponent(docs, "Deployment", "web"), "web").image;
    if (!image) throw new Error("the web container names no image");
    return image;
}

/** Where a Django container comes from. */
export interface WorkloadRef {
    readonly kind: string;
    readonly name: string;
    readonly namespace?: string;
    /** `app.kubernetes.io/component` of the workload (web, migrate, collectstatic, worker-…, a schedule's name, manage). */
    readonly component?: string;
    /** `stack` for objects of the stack, `npm run manage` for the one-off Job that tool renders. */
    readonly origin: "stack" | "npm run manage";
}

/** One Django container as rendered, with its environment's sources. */
export interface DjangoContainer {
    readonly workload: WorkloadRef;
    /** `Deployment/django-workload-web-… container web`, for messages. */
    readonly label: string;
    readonly pod: PodSpec;
    /** The pod template's labels (what `metadata.labels['…']` fields read). */
    readonly podLabels: Readonly<Record<string, string>>;
    readonly container: Container;
    /** Whether it is an init container (a native sidecar when its restartPolicy is Always). */
    readonly init: boolean;
    /** The environment as the kubelet builds it from the pod spec ({@link containerEnv}). */
    readonly env: ReadonlyMap<string, EnvSource>;
    /** Mount paths of the container's emptyDir volumes: the only writable paths of a read-only root filesystem. */
    readonly emptyDirs: readonly string[];
}

/** Options of {@link djangoContainers}. */
export interface DjangoContainerOptions {
    /** The app image. @default {@link appImage} */
    readonly image?: string;
    /** `manage.py` arguments of the `npm run manage` Job. @default ["check", "--deploy"] */
    readonly manageArgs?: readonly string[];
    /** Include the `npm run manage` Job (built from the migrate Job, which must then exist). @default true */
    readonly manageJob?: boolean;
}

function djangoContainersOf(docs: readonly K8sDoc[], doc: K8sDoc, image: string, origin: WorkloadRef["origin"]): DjangoContainer[] {
    const template = podTemplateOf(doc);
    if (!template) return [];
    const pod = template.spec;
    const workload: WorkloadRef = { kind: doc.kind, name: doc.metadata.name, namespace: doc.metadata.namespace, component: doc.metadata.labels?.[COMPONENT], origin };
    const emptyDirNames = new Set((pod.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name));
    const all = [...(pod.initContainers ?? []).map((c) => ({ c, init: true })), ...pod.containers.map((c) => ({ c, init: false }))];
    return all
        .filter(({ c }) => c.image === image)
        .map(({ c, init }) => ({
            workload,
            label: `${origin === "stack" ? "" : `${origin}: `}${doc.kind}/${doc.metadata.name} ${init ? "init container" : "container"} ${c.name}`,
            pod,
            podLabels: template.metadata?.labels ?? {},
            container: c,
            init,
            env: containerEnv(docs, c),
            emptyDirs: (c.volumeMounts ?? []).filter((m) => emptyDirNames.has(m.name)).map((m) => m.mountPath),
        }));
}

/** The one-off Job `npm run manage -- <args>` prints for these objects (cli/manage.ts, from the migrate Job, as the web identity). */
export function manageJobDoc(docs: readonly K8sDoc[], args: readonly string[]): K8sDoc {
    const migrate = byComponent(docs, "Job", "migrate");
    const stack = migrate.metadata.labels?.["app.kubernetes.io/instance"];
    if (!stack) throw new Error(`Job ${migrate.metadata.name} has no app.kubernetes.io/instance label`);
    return manageJobFrom(migrate, byComponent(docs, "Deployment", "web"), { stack, namespace: migrate.metadata.namespace ?? "default", args, suffix: "local", deadlineSeconds: MANAGE_DEADLINE_SECONDS }).job as K8sDoc;
}

/**
 * Every Django container the objects render, in manifest order, then the `npm run manage` Job's.
 * Throws when there is none (the image was not found) so a caller never checks nothing.
 */
export function djangoContainers(docs: readonly K8sDoc[], options: DjangoContainerOptions = {}): DjangoContainer[] {
    const image = options.image ?? appImage(docs);
    const found = docs.flatMap((doc) => djangoContainersOf(docs, doc, image, "stack"));
    const manage = options.manageJob === false ? [] : djangoContainersOf(docs, manageJobDoc(docs, options.manageArgs ?? ["check", "--deploy"]), image, "npm run manage");
    if (found.length === 0 || (options.manageJob !== false && manage.length === 0)) throw new Error(`no container runs the app image ${image}`);
    return [...found, ...manage];
}

/** Local stand-ins for what only the cluster knows. */
export interface LocalValues {
    /** A value for a variable that comes from a Secret (`[secret]` in the manifests). */
    readonly secret: (name: string, source: EnvSource) => string;
    /**
     * A downward-API field the pod does not state itself (`status.podIP`, `metadata.name`,
     * `spec.nodeName`, …). `metadata.namespace`, `spec.serviceAccountName` and
     * `metadata.labels['…']` are answered from the rendered pod.
     */
    readonly field: (fieldPath: string, name: string) => string;
}

/**
 * The container's environment as plain values: {@link DjangoContainer.env} with Secret values
 * and downward-API fields from `local`. Only what the pod spec defines: the image's own ENV (and
 * the kubelet's HOSTNAME and KUBERNETES_SERVICE_* variables) are not included.
 */
export function resolveEnv(c: DjangoContainer, local: LocalValues): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, source] of c.env) {
        if (source.kind === "secret") out[name] = local.secret(name, source);
        else if (source.kind !== "fieldRef") out[name] = source.value;
        else if (source.from === "metadata.namespace") out[name] = c.workload.namespace ?? "default";
        else if (source.from === "spec.serviceAccountName") out[name] = c.pod.serviceAccountName ?? "default";
        else {
            const label = /^metadata\.labels\['(.+)'\]$/.exec(source.from);
            out[name] = label ? (c.podLabels[label[1] as string] ?? "") : local.field(source.from, name);
        }
    }
    return out;
}
