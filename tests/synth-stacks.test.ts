/**
 * Synth of the real program for both stacks: one run per stack, shared by every assertion.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { autonameSuffix } from "../cli/lib/mockValues";
import type { SynthReport } from "../cli/lib/report";
import type { StackExport } from "../cli/lib/stackExport";
import { OUTPUT_FILES, synth } from "../cli/synth";
import { withoutStackTraces } from "./helpers/platform";

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    dir: string;
    files: Record<string, string>;
    exportDoc: StackExport;
    report: SynthReport;
}

async function runSynth(options: { stack?: string; configFile?: string }): Promise<Run> {
    const dir = mkdtempSync(path.join(tmpdir(), "synth-test-"));
    const out = path.join(dir, "out");
    let stdout = "";
    let stderr = "";
    const code = await withoutStackTraces(() => {
        stdout = "";
        stderr = "";
        return synth({ ...options, out }, { stdout: (t) => (stdout += `${t}\n`), stderr: (t) => (stderr += `${t}\n`) });
    }, (c) => c !== 0);
    const files: Record<string, string> = {};
    for (const name of OUTPUT_FILES) {
        const file = path.join(out, name);
        files[name] = existsSync(file) ? readFileSync(file, "utf8") : "";
    }
    return {
        code, stdout, stderr, dir, files,
        exportDoc: files["stack-export.json"] ? (JSON.parse(files["stack-export.json"]) as StackExport) : ({} as StackExport),
        report: files["report.json"] ? (JSON.parse(files["report.json"]) as SynthReport) : ({} as SynthReport),
    };
}

/** manifests.yaml of a run as YAML documents, parsed once per run (the tests only read them). */
const parsedManifests = new WeakMap<Run, ReturnType<typeof parseAllDocuments>>();
function manifestDocuments(run: Run): ReturnType<typeof parseAllDocuments> {
    let docs = parsedManifests.get(run);
    if (docs === undefined) {
        docs = parseAllDocuments(run.files["manifests.yaml"]);
        parsedManifests.set(run, docs);
    }
    return docs;
}

/** The values the mocks give generated passwords (see mockValues.ts), and their base64 forms. */
function mockSecretValues(doc: StackExport): string[] {
    const names = doc.deployment.resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword").map((r) => r.urn.split("::").pop() as string);
    assert.ok(names.length >= 3, `expected the generated passwords in the export, found ${names.join(", ")}`);
    return names.flatMap((n) => {
        const value = `mock-${n}-${autonameSuffix(n)}`;
        return [value, Buffer.from(value).toString("base64")];
    });
}

for (const stack of ["staging", "production"]) {
    describe(`synth --stack ${stack}`, () => {
        let run: Run;
        before(async () => {
            run = await runSynth({ stack });
        });
        after(() => rmSync(run.dir, { recursive: true, force: true }));

        it("exits 0 and writes all five files", () => {
            assert.equal(run.code, 0, run.stderr + run.stdout);
            for (const name of OUTPUT_FILES) {
                assert.ok(run.files[name].length > 0, `${name} is missing or empty`);
            }
            assert.deepEqual(readdirSync(run.dir), ["out"], "the temporary directory was not cleaned up");
        });

        it("prints the resource tree, the counts per type and the critical path", () => {
            assert.match(run.stdout, /└─ django {2}django-platform:index:DjangoPlatform/);
            assert.match(run.stdout, /├─ django-database {2}django-platform:database:Database/);
            // Web, plus the production worker (workers.tasks).
            assert.match(run.stdout, stack === "production" ? /kubernetes:apps\/v1:Deployment +2\n/ : /kubernetes:apps\/v1:Deployment +1\n/);
            assert.match(run.stdout, /Deploy estimate for a first pulumi up: \S+ on the critical path/);
            assert.match(run.stderr, /\[synth\] program: \d+ resources registered/);
        });

        it("validates every Kubernetes object, GKE's CRDs included, without errors", () => {
            const { schema, counts } = run.report;
            assert.deepEqual(schema.errors, []);
            assert.deepEqual(schema.notValidated, []);
            assert.equal(schema.validated, counts.kubernetesObjects);
            const kinds = new Set(manifestDocuments(run).map((d) => (d.toJS() as { kind: string }).kind));
            for (const kind of ["Deployment", "StatefulSet", "Job", "HorizontalPodAutoscaler", "NetworkPolicy", "Ingress", "ManagedCertificate", "FrontendConfig", "BackendConfig"]) {
                assert.ok(kinds.has(kind), `no ${kind} among ${[...kinds].join(", ")}`);
            }
        });

        it("writes a stack export in the shape of pulumi stack export v3", () => {
            const doc = run.exportDoc;
            assert.equal(doc.version, 3);
            assert.match(doc.deployment.manifest.magic, /^[0-9a-f]{64}$/);
            assert.match(doc.deployment.secrets_providers?.state.url as string, /^gcpkms:\/\//);
            const [root, ...rest] = doc.deployment.resources;
            assert.equal(root.type, "pulumi:pulumi:Stack");
            assert.equal(root.urn, `urn:pulumi:${stack}::django-platform::pulumi:pulumi:Stack::django-platform-${stack}`);
            assert.match(String(root.outputs.url), /^https:\/\//);
            const urns = new Set(doc.deployment.resources.map((r) => r.urn));
            for (const r of rest) {
                for (const field of ["urn", "type", "custom", "dependencies", "inputs", "outputs"] as const) {
                    assert.ok(r[field] !== undefined, `${r.urn} has no ${field}`);
                }
                // Like the engine's, default providers have no parent; everything else hangs off the stack.
                if (!r.urn.includes("::pulumi:providers:") || !r.urn.includes("::default_")) {
                    assert.ok(urns.has(r.parent as string), `${r.urn}: parent ${r.parent} is not in the export`);
                }
                for (const d of r.dependencies) {
                    assert.ok(urns.has(d), `${r.urn}: dependency ${d} is not in the export`);
                }
                if (r.custom && !r.type.startsWith("pulumi:providers:")) {
                    assert.ok(r.id, `${r.urn} has no id`);
                    const provider = (r.provider ?? "").slice(0, (r.provider ?? "").lastIndexOf("::"));
                    assert.ok(urns.has(provider), `${r.urn}: provider ${r.provider} is not in the export`);
                }
            }
            const defaults = rest.filter((r) => r.type.startsWith("pulumi:providers:") && r.urn.includes("::default_")).map((r) => r.type);
            assert.deepEqual(defaults.sort(), ["pulumi:providers:gcp", "pulumi:providers:random"]);
            const gcpProvider = rest.find((r) => r.type === "pulumi:providers:gcp");
            assert.equal(gcpProvider?.inputs.project, stack === "staging" ? "acme-django-staging" : "acme-django-prod");
        });

        it("writes secrets only as envelopes and placeholders, never their values", () => {
            const leaks = mockSecretValues(run.exportDoc);
            for (const [name, text] of Object.entries(run.files)) {
                for (const value of leaks) {
                    assert.ok(!text.includes(value), `${name} contains the mock secret ${value}`);
                }
            }
            const user = run.exportDoc.deployment.resources.find((r) => r.type === "gcp:sql/user:User");
            assert.deepEqual(user?.inputs.password, { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: '"[secret]"' });
            const secrets = manifestDocuments(run)
                .map((d) => d.toJS() as { kind: string; stringData?: Record<string, string>; data?: Record<string, string> })
                .filter((o) => o.kind === "Secret");
            assert.ok(secrets.length >= 2);
            for (const s of secrets) {
                const values = Object.values({ ...s.data, ...s.stringData });
                assert.ok(values.length > 0);
                for (const v of values) {
                    assert.match(v, /^\[secret/);
                }
            }
        });

        it("writes every Kubernetes object as a YAML document with apiVersion, kind and name", () => {
            const docs = manifestDocuments(run).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string } });
            assert.equal(docs.length, run.report.counts.kubernetesObjects);
            for (const d of docs) {
                assert.ok(d.apiVersion && d.kind && d.metadata?.name, JSON.stringify(d).slice(0, 200));
            }
            const cert = docs.find((d) => d.kind === "ManagedCertificate");
            assert.equal(cert?.apiVersion, "networking.gke.io/v1");
            assert.equal(docs.find((d) => d.kind === "HorizontalPodAutoscaler")?.apiVersion, "autoscaling/v2");
            assert.equal(docs.find((d) => d.kind === "Namespace")?.apiVersion, "v1");
        });

        it("keeps strings strings for YAML 1.1 readers such as kubectl (no bare yes/no)", () => {
            const docs = parseAllDocuments(run.files["manifests.yaml"], { version: "1.1" }).map((d) => d.toJS() as { kind: string; spec?: { template?: { spec?: { containers?: Array<{ args?: unknown[] }> } } } });
            const args = docs.filter((d) => d.kind === "StatefulSet").flatMap((d) => d.spec?.template?.spec?.containers?.flatMap((c) => c.args ?? []) ?? []);
            assert.ok(args.length > 0);
            assert.ok(args.every((a) => typeof a === "string"), `non-string args: ${JSON.stringify(args.filter((a) => typeof a !== "string"))}`);
        });

        if (stack === "staging") {
            it("draws the graph that docs/architecture.md shows (run `npm run docs:graph` if this fails)", () => {
                assert.equal(run.files["graph.svg"], readFileSync(path.join(__dirname, "..", "docs", "architecture-staging.svg"), "utf8"));
            });
        }

        it("draws the graph with components as clusters and dependency edges", () => {
            assert.match(run.files["graph.dot"], /subgraph cluster_\w+ \{\n\s+label="django-database\\ndjango-platform:database:Database"/);
            assert.match(run.files["graph.dot"], /n\d+ -> n\d+;/);
            assert.ok(!run.files["graph.dot"].includes("pulumi:pulumi:Stack"));
            assert.ok(/<svg[\s>]/.test(run.files["graph.svg"]), "graph.svg is not an SVG");
            assert.ok(run.files["graph.svg"].includes("django&#45;database&#45;instance"), "graph.svg does not draw the Cloud SQL instance");
        });

        it("estimates the critical path: GKE and Cloud SQL are created in parallel", () => {
            const cp = run.report.criticalPath;
            assert.ok(cp.totalSeconds > 0 && cp.totalSeconds < cp.sumSeconds, `${cp.totalSeconds} vs ${cp.sumSeconds}`);
            assert.deepEqual(cp.path.map((s) => s.finish), [...cp.path.map((s) => s.finish)].sort((a, b) => a - b));
            const gke = cp.slow.find((s) => s.type === "gcp:container/cluster:Cluster");
            const sql = cp.slow.find((s) => s.type === "gcp:sql/databaseInstance:DatabaseInstance");
            assert.ok(gke && sql);
            assert.ok(gke.start < sql.finish && sql.start < gke.finish, "GKE and Cloud SQL windows should overlap");
            assert.ok(cp.path.every((s) => s.source.length > 0));
        });
    });
}
