/**
 * cli/lib/renderedWorkloads.ts resolves a container's environment as the kubelet does
 * (docs/gcp-facts.md: envFrom in order, the last source winning; env over envFrom; `$(VAR)` in env
 * values from variables defined before; `$$` escapes; unresolved references unchanged) and finds
 * every container that runs the app image, in every kind of pod template, plus the Job
 * `npm run manage` prints. Shown on hand-written manifests, where each rule decides the outcome.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MANAGE_CONTAINER } from "../cli/manage";
import { containerEnv, djangoContainers, resolveEnv, type K8sDoc } from "../cli/lib/renderedWorkloads";

const IMAGE = "europe-west1-docker.pkg.dev/p/django/app@sha256:0000";
const b64 = (text: string) => Buffer.from(text).toString("base64");
const labels = (component: string) => ({ "app.kubernetes.io/component": component, "app.kubernetes.io/instance": "staging" });

const DOCS: K8sDoc[] = [
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "env" }, data: { A: "from-configmap", B: "b-configmap", "bad=key": "skipped", HOST: "db" } },
    { apiVersion: "v1", kind: "Secret", metadata: { name: "secret" }, data: { A: b64("from-secret"), TOKEN: b64("t0k") } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "extra" }, data: { X: "x" } },
];

function workload(kind: string, name: string, component: string, containers: object[], initContainers: object[] = []): K8sDoc {
    const template = { metadata: { labels: labels(component) }, spec: { serviceAccountName: "web", containers, initContainers, volumes: [{ name: "tmp", emptyDir: {} }] } };
    const spec = kind === "CronJob" ? { jobTemplate: { spec: { template } } } : { template };
    return { apiVersion: "v1", kind, metadata: { name, namespace: "app", labels: labels(component) }, spec } as unknown as K8sDoc;
}

const app = (name: string, extra: object = {}) => ({
    name,
    image: IMAGE,
    command: ["python", "manage.py", name],
    envFrom: [{ configMapRef: { name: "env" } }, { secretRef: { name: "secret" } }],
    env: [{ name: "DJANGO_SETTINGS_MODULE", value: "config.settings" }],
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    ...extra,
});

describe("containerEnv: the kubelet's rules", () => {
    const env = containerEnv(DOCS, {
        name: "c",
        envFrom: [{ configMapRef: { name: "env" } }, { secretRef: { name: "secret" } }, { prefix: "P_", configMapRef: { name: "extra" } }, { configMapRef: { name: "missing", optional: true } }],
        env: [
            { name: "B", value: "b-env" },
            { name: "URL", value: "postgres://$(HOST)/$(LATER)?x=$$(HOST)" },
            { name: "LATER", value: "defined after URL" },
            { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "TOKEN_COPY", valueFrom: { secretKeyRef: { name: "secret", key: "TOKEN" } } },
            { name: "NONE", valueFrom: { configMapKeyRef: { name: "env", key: "absent", optional: true } } },
        ],
    });

    it("the last envFrom source wins a duplicate key; env wins over envFrom", () => {
        assert.deepEqual(env.get("A"), { kind: "secret", from: "secret", key: "A", value: "from-secret" });
        assert.deepEqual(env.get("B"), { kind: "value", from: "", value: "b-env" });
    });

    it("prefixes keys, skips names with '=', and leaves out optional sources that are missing", () => {
        assert.equal(env.get("P_X")?.value, "x");
        assert.equal(env.has("X"), false);
        assert.equal([...env.keys()].some((name) => name.includes("=")), false);
        assert.equal(env.has("NONE"), false);
    });

    it("expands $(VAR) from variables defined before; unresolved stays; $$ escapes", () => {
        assert.equal(env.get("URL")?.value, "postgres://db/$(LATER)?x=$(HOST)");
    });

    it("marks Secret values and downward-API fields for the caller", () => {
        assert.deepEqual(env.get("TOKEN_COPY"), { kind: "secret", from: "secret", key: "TOKEN", value: "t0k" });
        assert.deepEqual(env.get("IP"), { kind: "fieldRef", from: "status.podIP", value: "status.podIP" });
    });

    it("refuses a required reference that does not resolve", () => {
        assert.throws(() => containerEnv(DOCS, { name: "c", envFrom: [{ configMapRef: { name: "missing" } }] }), /ConfigMap missing is referenced/);
        assert.throws(() => containerEnv(DOCS, { name: "c", env: [{ name: "Y", valueFrom: { secretKeyRef: { name: "secret", key: "nope" } } }] }), /secret secret has no key nope/);
    });
});

describe("djangoContainers", () => {
    const docs: K8sDoc[] = [
        ...DOCS,
        workload("Deployment", "web", "web", [app("web", { env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }, { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }] }), { name: "sidecar", image: "other:1" }]),
        workload("Job", "migrate-abc", "migrate", [app("migrate")], [{ name: "cloud-sql-proxy", image: "proxy:2", restartPolicy: "Always" }]),
        workload("CronJob", "sweep", "schedule", [app("sweep")]),
        workload("Deployment", "worker", "worker", [app("worker")], [app("wait-for-db")]),
        workload("StatefulSet", "redis", "cache", [{ name: "redis", image: "redis:7" }]),
    ];
    const found = djangoContainers(docs);

    it("every container of the app image, in every pod template kind, init containers too, then the manage Job's", () => {
        assert.deepEqual(found.map((c) => c.label), [
            "Deployment/web container web",
            "Job/migrate-abc container migrate",
            "CronJob/sweep container sweep",
            "Deployment/worker init container wait-for-db",
            "Deployment/worker container worker",
            "npm run manage: Job/django-manage-local container manage",
        ]);
        const manage = found.at(-1);
        assert.equal(manage?.container.name, MANAGE_CONTAINER);
        assert.deepEqual(manage?.container.command, ["python", "manage.py", "check", "--deploy"]);
        assert.deepEqual(manage?.container.envFrom, docs.find((d) => d.metadata.name === "migrate-abc")?.spec?.template?.spec.containers[0]?.envFrom, "built from the migrate Job");
        assert.deepEqual(found[0]?.emptyDirs, ["/tmp"]);
    });

    it("resolves Secrets and pod fields with local values, and the pod's own fields from the pod", () => {
        const web = found[0];
        assert.ok(web);
        const env = resolveEnv(web, { secret: (name) => `local-${name}`, field: (path) => (path === "status.podIP" ? "10.8.0.16" : "?") });
        assert.equal(env.A, "local-A");
        assert.equal(env.POD_IP, "10.8.0.16");
        assert.equal(env.NS, "app");
        assert.equal(env.HOST, "db");
    });

    it("refuses objects without any container of the app image", () => {
        assert.throws(() => djangoContainers(docs, { image: "nope:1" }), /no container runs the app image nope:1/);
    });
});
