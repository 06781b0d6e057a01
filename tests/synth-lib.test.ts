/**
 * The pieces of synth on their own: reading stack files, redaction, the graph, the critical path,
 * manifests; and a synth of a stack with encrypted config.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { CREATION_TIMES, criticalPath, formatDuration } from "../cli/lib/criticalPath";
import { dotString, toDot, type GraphResource } from "../cli/lib/graph";
import { apiVersionKindOf, kubernetesObjects, manifestsYaml } from "../cli/lib/manifests";
import type { CapturedResource } from "../cli/lib/mockRuntime";
import { collectSecretValues, redact, resolvePath } from "../cli/lib/redact";
import { StackFileError, loadStackConfig } from "../cli/lib/stackConfig";
import { synth } from "../cli/synth";

const FIXTURES = path.join(__dirname, "fixtures", "synth");

describe("loadStackConfig", () => {
    const cfg = loadStackConfig({ configFile: path.join(FIXTURES, "project", "Pulumi.dev.yaml"), projectDir: "/nonexistent" });

    it("reads Pulumi.yaml beside the stack file and names the stack after the file", () => {
        assert.equal(cfg.project, "demo-project");
        assert.equal(cfg.stack, "dev");
        assert.equal(cfg.secretsProvider, "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k");
    });

    it("passes values as the CLI does: namespaced keys, strings for scalars, JSON for objects, project defaults", () => {
        assert.deepEqual(
            { ...cfg.config },
            {
                "demo-project:region": "europe-west1",
                "demo-project:replicas": "3",
                "demo-project:plainDefault": "hello",
                "gcp:project": "demo-dev",
                "demo-project:enabled": "true",
                "demo-project:database": '{"tier":"db-custom-1-3840","hosts":["a","b"]}',
                "demo-project:apiToken": "[secret: demo-project:apiToken]",
                "demo-project:appSecrets": '{"SENTRY_DSN":"[secret: demo-project:appSecrets.SENTRY_DSN]","PLAIN":"visible"}',
            },
        );
    });

    it("replaces secure values, nested ones too, by placeholders and marks their keys secret, and each nested encrypted value's path", () => {
        // appSecrets.PLAIN is not marked: the program tells it is stored in plain text by that (config.ts).
        assert.deepEqual(cfg.secretKeys, ["demo-project:apiToken", "demo-project:appSecrets", "demo-project:appSecrets.SENTRY_DSN"]);
        assert.deepEqual(cfg.placeholders, ["[secret: demo-project:apiToken]", "[secret: demo-project:appSecrets.SENTRY_DSN]"]);
    });

    it("fails with the file and the fix when there is no stack", () => {
        assert.throws(() => loadStackConfig({ stack: "ghost", projectDir: FIXTURES }), (err: unknown) => {
            assert.ok(err instanceof StackFileError);
            assert.match(err.message, /Project file .*Pulumi\.yaml does not exist|Stack file .*Pulumi\.ghost\.yaml does not exist/);
            return true;
        });
    });
});

describe("redaction", () => {
    it("resolves recorded paths whose keys contain dots", () => {
        const obj = { metadata: { annotations: { "cloud.google.com/neg": "x" } }, list: [{ a: 1 }] };
        assert.deepEqual(resolvePath(obj, "metadata.annotations.cloud.google.com/neg"), ["metadata", "annotations", "cloud.google.com/neg"]);
        assert.deepEqual(resolvePath(obj, "list[0].a"), ["list", 0, "a"]);
        assert.equal(resolvePath(obj, "missing.key"), undefined);
    });

    it("replaces secret paths and any string containing a secret value", () => {
        const secret = "s3cr3t-value-123";
        const value = { password: secret, url: `postgres://u:${secret}@h/db`, port: 5432, b64: Buffer.from(secret).toString("base64"), other: "fine" };
        const resource = { urn: "u", type: "t", name: "n", custom: true, dependencies: [], inputs: value, secretInputs: ["password"], outputs: {}, protect: false } satisfies CapturedResource;
        const secrets = collectSecretValues([resource]);
        assert.deepEqual(redact(value, [["port"]], secrets, () => "X"), { password: "X", url: "X", port: "X", b64: "X", other: "fine" });
    });
});

const urn = (type: string, name: string) => `urn:pulumi:s::p::${type}::${name}`;
const res = (type: string, name: string, extra: Partial<GraphResource> = {}): GraphResource => ({ urn: urn(type, name), type, custom: !type.includes(":index:Comp"), dependencies: [], ...extra });

describe("critical path", () => {
    const network = res("gcp:compute/network:Network", "vpc");
    const cluster = res("gcp:container/cluster:Cluster", "gke", { dependencies: [network.urn] });
    const sql = res("gcp:sql/databaseInstance:DatabaseInstance", "db", { dependencies: [network.urn] });
    const comp = res("x:index:Comp", "data");
    const user = res("gcp:sql/user:User", "user", { parent: comp.urn, dependencies: [sql.urn] });
    const provider = res("pulumi:providers:kubernetes", "k8s", { dependencies: [cluster.urn] });
    const job = res("kubernetes:batch/v1:Job", "migrate", { provider: `${provider.urn}::id`, dependencies: [comp.urn] });

    it("runs independent slow resources in parallel and chains the rest", () => {
        const cp = criticalPath([network, cluster, sql, comp, user, provider, job]);
        const t = (type: string) => CREATION_TIMES[type].seconds;
        // The Job waits for the provider (after the cluster) and for the component's children (after the database).
        const expected = t(network.type) + Math.max(t(cluster.type), t(sql.type) + t(user.type)) + t(job.type);
        assert.equal(cp.totalSeconds, expected);
        assert.equal(cp.sumSeconds, t(network.type) + t(cluster.type) + t(sql.type) + t(user.type) + t(job.type));
        assert.deepEqual(cp.path.map((s) => s.name), ["vpc", "db", "user", "migrate"]);
        assert.deepEqual(cp.slow.map((s) => [s.name, s.start]), [["db", 30], ["gke", 30], ["migrate", 650]]);
    });

    it("makes a child wait for a custom parent, not for a component parent", () => {
        const parent = res("gcp:compute/network:Network", "p");
        const child = res("gcp:compute/subnetwork:Subnetwork", "c", { parent: parent.urn });
        assert.equal(criticalPath([parent, child]).totalSeconds, 60);
        assert.equal(criticalPath([comp, { ...child, parent: comp.urn }]).totalSeconds, 30);
    });

    it("names the resources of a cycle", () => {
        const a = res("gcp:compute/network:Network", "a", { dependencies: [urn("gcp:compute/network:Network", "b")] });
        const b = res("gcp:compute/network:Network", "b", { dependencies: [a.urn] });
        assert.throws(() => criticalPath([a, b]), /dependency cycle through a → b → a/);
    });

    it("cites a source for every figure and formats durations", () => {
        for (const [type, timing] of Object.entries(CREATION_TIMES)) {
            assert.ok(timing.source.length > 20, `${type} has no source`);
        }
        assert.equal(formatDuration(3725), "1h02m");
        assert.equal(formatDuration(450), "7m30s");
        assert.equal(formatDuration(45), "45s");
    });
});

describe("graph", () => {
    it("escapes labels and draws components as clusters", () => {
        assert.equal(dotString('a "b"\\c\nd'), '"a \\"b\\"\\\\c\\nd"');
        const comp = res("x:index:Comp", 'we"ird');
        const child = res("gcp:compute/network:Network", "vpc", { parent: comp.urn });
        const dep = res("gcp:compute/subnetwork:Subnetwork", "sub", { dependencies: [child.urn] });
        const dot = toDot([comp, child, dep], "t");
        assert.match(dot, /subgraph cluster_n0 \{\n\s+label="we\\"ird\\nx:index:Comp";/);
        assert.match(dot, /n1 -> n2;/);
    });
});

describe("manifests", () => {
    it("derives apiVersion and kind from Pulumi types", () => {
        assert.deepEqual(apiVersionKindOf("kubernetes:core/v1:Secret"), { apiVersion: "v1", kind: "Secret" });
        assert.deepEqual(apiVersionKindOf("kubernetes:networking.gke.io/v1beta1:FrontendConfig"), { apiVersion: "networking.gke.io/v1beta1", kind: "FrontendConfig" });
        assert.equal(apiVersionKindOf("kubernetes:helm.sh/v3:Release"), undefined);
        assert.equal(apiVersionKindOf("gcp:sql/user:User"), undefined);
    });

    it("writes Secret values as placeholders and redacts secrets copied elsewhere", () => {
        const pw = "very-secret-password";
        const secret: CapturedResource = {
            urn: "u1", type: "kubernetes:core/v1:Secret", name: "s", custom: true, dependencies: [], secretInputs: ["stringData"], protect: false,
            inputs: { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { PASSWORD: pw, USER: "app" } },
            outputs: {},
        };
        const cm: CapturedResource = { ...secret, urn: "u2", type: "kubernetes:core/v1:ConfigMap", name: "c", secretInputs: [], inputs: { metadata: { name: "c" }, data: { URL: `redis://:${pw}@h` } } };
        const docs = parseAllDocuments(manifestsYaml(kubernetesObjects([secret, cm]), [secret, cm])).map((d) => d.toJS());
        assert.deepEqual(docs, [
            { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, stringData: { PASSWORD: "[secret]", USER: "[secret]" } },
            { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { URL: "[secret]" } },
        ]);
    });
});

describe("synth with encrypted config", () => {
    it("runs with placeholders for secure values and never prints them as plain config", async () => {
        let stdout = "";
        const code = await synth({ configFile: path.join(FIXTURES, "Pulumi.with-secrets.yaml"), json: true }, { stdout: (t) => (stdout += t), stderr: () => undefined });
        assert.equal(code, 0);
        const report = JSON.parse(stdout) as { stack: string; secretPlaceholders: string[] };
        assert.equal(report.stack, "with-secrets");
        assert.deepEqual(report.secretPlaceholders, ["[secret: django-platform:appSecrets.SENTRY_DSN]"]);
    });
});
