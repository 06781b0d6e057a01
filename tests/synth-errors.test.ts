/**
 * Synth's failure modes: schema errors exit 1 naming the object and field path; config errors
 * exit 2 naming the key and write nothing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { fieldPath, validateObjects } from "../cli/lib/k8sValidate";
import type { K8sObject } from "../cli/lib/manifests";
import { PROJECT_DIR, synth } from "../cli/synth";

const FIXTURES = path.join(__dirname, "fixtures", "synth");
const work = mkdtempSync(path.join(tmpdir(), "synth-errors-"));
after(() => rmSync(work, { recursive: true, force: true }));

function deployment(spec: Record<string, unknown>): K8sObject {
    const object = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web", namespace: "shop" },
        spec: {
            selector: { matchLabels: { app: "web" } },
            template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx:1.27.3" }] } },
            ...spec,
        },
    };
    return { urn: "urn:pulumi:s::p::kubernetes:apps/v1:Deployment::web", apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web", patch: false, object };
}

describe("Kubernetes schema validation", () => {
    it("reports a wrong type with the object and the field path", () => {
        const result = validateObjects([deployment({ replicas: "two" })]);
        assert.equal(result.validated, 1);
        assert.deepEqual(result.errors, [
            { object: "Deployment shop/web", apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web", path: "spec.replicas", message: "must be integer" },
        ]);
    });

    it("reports every error, with array indices and missing required fields", () => {
        const broken = deployment({ template: { spec: { containers: [{ name: "web", image: "nginx:1.27.3", ports: [{ containerPort: "80" }] }, { image: "x:1" }] } } });
        const paths = validateObjects([broken]).errors.map((e) => `${e.path}: ${e.message}`);
        assert.deepEqual(paths.sort(), ["spec.template.spec.containers[0].ports[0].containerPort: must be integer", "spec.template.spec.containers[1].name: is required"]);
    });

    it("validates GKE's CRDs and lists unknown kinds as not validated, not as errors", () => {
        const cert: K8sObject = {
            urn: "u1", apiVersion: "networking.gke.io/v1", kind: "ManagedCertificate", namespace: "shop", name: "cert", patch: false,
            object: { apiVersion: "networking.gke.io/v1", kind: "ManagedCertificate", metadata: { name: "cert" }, spec: { domains: "shop.example.com" } },
        };
        const unknown: K8sObject = { urn: "u2", apiVersion: "example.com/v1", kind: "Widget", name: "w", patch: false, object: { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } } };
        const result = validateObjects([cert, unknown]);
        assert.deepEqual(result.errors.map((e) => `${e.object}: ${e.path}: ${e.message}`), ["ManagedCertificate shop/cert: spec.domains: must be array"]);
        assert.equal(result.notValidated.length, 1);
        assert.match(result.notValidated[0].reason, /no schema for example\.com\/v1 Widget/);
    });

    it("turns JSON pointers into readable paths", () => {
        assert.equal(fieldPath({ instancePath: "/metadata/annotations/kubernetes.io~1ingress.class", keyword: "type", params: {} }), 'metadata.annotations["kubernetes.io/ingress.class"]');
        assert.equal(fieldPath({ instancePath: "", keyword: "required", params: { missingProperty: "spec" } }), "spec");
    });

    it("synth of a program with a broken object exits 1 and prints the object and field path", async () => {
        let stdout = "";
        const code = await synth({ stack: "staging", program: path.join(FIXTURES, "brokenProgram.ts") }, { stdout: (t) => (stdout += t), stderr: () => undefined });
        assert.equal(code, 1);
        assert.match(stdout, /ERROR Deployment demo\/web \(apps\/v1\): spec\.replicas: must be integer/);
        assert.match(stdout, /FAILED/);
    });
});

describe("config errors", () => {
    it("a bad stack file exits 2 from the CLI, names the key and writes nothing", () => {
        const out = path.join(work, "bad-out");
        const result = spawnSync(process.execPath, ["--import", "tsx", path.join(PROJECT_DIR, "cli", "synth.ts"), "--config-file", path.join(FIXTURES, "Pulumi.bad-replicas.yaml"), "--out", out], {
            cwd: PROJECT_DIR,
            encoding: "utf8",
        });
        assert.equal(result.status, 2, result.stderr);
        assert.match(result.stderr, /Invalid stack configuration \(1 problem\)/);
        assert.match(result.stderr, /django-platform:workload\.minReplicas: .*\(got 0\)/);
        assert.match(result.stderr, /Nothing was written to /);
        assert.equal(existsSync(out), false);
        assert.deepEqual(readdirSync(work), [], "no temporary directory may be left behind");
    });

    /** Synth of staging with `config` merged in, from a stack file outside the repository. */
    async function synthWith(name: string, config: Record<string, unknown>): Promise<{ code: number; stdout: string; stderr: string; out: string }> {
        const dir = mkdtempSync(path.join(tmpdir(), "synth-errors-stack-"));
        const doc = parse(readFileSync(path.join(PROJECT_DIR, "Pulumi.staging.yaml"), "utf8"));
        Object.assign(doc.config, config);
        const file = path.join(dir, `Pulumi.${name}.yaml`);
        writeFileSync(file, stringify(doc));
        let stdout = "";
        let stderr = "";
        const out = path.join(dir, "out");
        const code = await synth({ configFile: file, out }, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
        const written = existsSync(out);
        rmSync(dir, { recursive: true, force: true });
        return { code, stdout, stderr, out: written ? "written" : "" };
    }

    it("a plain-text appSecrets value exits 2, naming the key and the --secret command, without echoing it", async () => {
        const r = await synthWith("plain-secret", { "django-platform:appSecrets": { SENTRY_DSN: "https://plaintext-key@sentry.example.com/1" } });
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /django-platform:appSecrets\.SENTRY_DSN: is stored in plain text.*Fix: `pulumi config set --secret --path appSecrets\.SENTRY_DSN <value>`/);
        assert.doesNotMatch(r.stdout + r.stderr, /plaintext-key/);
        assert.equal(r.out, "", "nothing is written");
    });

    it("of a map with encrypted and plain entries, only the plain one is refused (the stack file says which is which)", async () => {
        const r = await synthWith("mixed-secrets", { "django-platform:appSecrets": { SENTRY_DSN: { secure: "v1:ZmFrZQ==" }, API_TOKEN: "plaintext-token" } });
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /django-platform:appSecrets\.API_TOKEN: is stored in plain text/);
        assert.doesNotMatch(r.stderr, /appSecrets\.SENTRY_DSN: is stored in plain text/);
        assert.doesNotMatch(r.stdout + r.stderr, /plaintext-token/);
    });

    it("a secret-looking appEnv entry exits 2 at the config step, naming appEnv.<NAME> and appSecrets, without echoing the value", async () => {
        const r = await synthWith("env-password", { "django-platform:appEnv": { DATABASE_PASSWORD: "hunter2" } });
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /django-platform:appEnv\.DATABASE_PASSWORD: looks like a secret.*`pulumi config set --secret --path appSecrets\.DATABASE_PASSWORD <value>`/);
        assert.doesNotMatch(r.stdout + r.stderr, /hunter2/);
        assert.equal(r.out, "");
    });

    it("a missing stack file exits 2 with the path and the fix", async () => {
        let stderr = "";
        const code = await synth({ stack: "nope", out: path.join(work, "none") }, { stdout: () => undefined, stderr: (t) => (stderr += t) });
        assert.equal(code, 2);
        assert.match(stderr, /Stack file .*Pulumi\.nope\.yaml does not exist\. Fix: /);
        assert.equal(existsSync(path.join(work, "none")), false);
    });
});
