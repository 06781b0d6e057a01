/**
 * The pack as a CrossGuard pack: policy metadata, its own package.json, importing without serving,
 * and `policy/index.ts` served through CrossGuard's gRPC server — whose verdicts on the insecure
 * export must equal the offline runner's.
 */
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { execFile, spawn } from "node:child_process";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import * as ts from "typescript";
import { allPolicies, policiesOf, policyDomains } from "../policy/policies";
import { readStackExport, runPolicies } from "../cli/lib/policyRunner";
import { unwrapSecrets, type ExportedResource } from "../cli/lib/policyExport";

const ROOT = path.resolve(__dirname, "..");
const POLICY_DIR = path.join(ROOT, "policy");
const INSECURE = path.join(__dirname, "fixtures", "policy", "insecure-export.json");

/** Resource prefixes of `<resource>-<verb-phrase>` names. */
const RESOURCE_PREFIXES = [
    "pod", "config-map", "job", "pod-disruption-budget", "deployment", "hpa", "namespace", "workload", "service", "ingress",
    "frontend-config", "compute-ssl-policy", "compute-firewall", "compute-network", "compute-subnetwork", "redis-instance",
    "sql-instance", "gke-cluster", "gke-nodes", "storage-bucket", "project-iam", "service-account", "service-account-iam",
    "kms-crypto-key", "kms-iam", "role", "cluster-role", "role-binding", "network-policy", "stateful-set", "namespaced-object",
    "compute-forwarding-rule", "backend-config", "compute-security-policy", "monitoring-alert-policy",
    "monitoring",
];

describe("policy metadata", () => {
    it("has at least 40 policies with unique kebab-case <resource>-<verb-phrase> names", () => {
        assert.ok(allPolicies.length >= 40, `${allPolicies.length} policies`);
        const names = allPolicies.map((p) => p.name);
        assert.equal(new Set(names).size, names.length, "names are unique");
        for (const name of names) {
            assert.match(name, /^[a-z0-9]+(-[a-z0-9]+)+$/, name);
            const prefix = RESOURCE_PREFIXES.filter((r) => name.startsWith(`${r}-`)).sort((a, b) => b.length - a.length)[0];
            assert.ok(prefix !== undefined, `${name} does not start with a known resource`);
            assert.ok(name.slice(prefix.length + 1).split("-").length >= 2, `${name}: the verb phrase after "${prefix}" has one word`);
        }
    });
    it("gives every policy a description, severity, remediation, enforcement level and resource types", () => {
        for (const p of allPolicies) {
            assert.match(p.description, /^[A-Z`a-z].{20,}\.$/, `${p.name}: description`);
            assert.match(p.remediationSteps, /.{15,}/, `${p.name}: remediation`);
            assert.ok(["low", "medium", "high", "critical"].includes(p.severity), `${p.name}: severity`);
            assert.ok(["mandatory", "advisory"].includes(p.enforcementLevel), `${p.name}: enforcement`);
            assert.ok(p.resourceTypes.length > 0 && p.resourceTypes.every((t) => /^[a-z0-9]+:[A-Za-z0-9./-]+:[A-Za-z0-9]+$/.test(t)), `${p.name}: ${p.resourceTypes}`);
        }
    });
    it("is mandatory for what is dangerous: every critical policy, and at least half of the pack", () => {
        for (const p of allPolicies.filter((x) => x.severity === "critical")) {
            assert.equal(p.enforcementLevel, "mandatory", p.name);
        }
        assert.ok(allPolicies.filter((p) => p.enforcementLevel === "mandatory").length >= allPolicies.length / 2);
    });
    it("documents every config setting with a default, and never declares enforcementLevel (CrossGuard refuses it)", () => {
        for (const p of allPolicies.filter((x) => x.configSchema !== undefined)) {
            for (const [key, schema] of Object.entries(p.configSchema!.properties)) {
                assert.notEqual(key, "enforcementLevel", p.name);
                assert.ok(typeof schema === "object" && schema.default !== undefined && typeof schema.description === "string", `${p.name}.${key}`);
            }
        }
    });
    it("lists every policy object the domain modules export, once", () => {
        assert.deepEqual(policyDomains.flatMap(({ module }) => policiesOf(module)).map((p) => p.name), allPolicies.map((p) => p.name));
    });
});

/** Non-relative module specifiers imported by the pack's files (read with the TypeScript parser). */
function packImports(): { packages: Set<string>; outside: string[] } {
    const packages = new Set<string>();
    const outside: string[] = [];
    const files = readdirSync(POLICY_DIR, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    for (const file of files) {
        for (const { fileName: spec } of ts.preProcessFile(readFileSync(path.join(POLICY_DIR, file), "utf8"), true, true).importedFiles) {
            if (spec.startsWith(".")) {
                const target = path.resolve(POLICY_DIR, path.dirname(file), spec);
                if (!target.startsWith(`${POLICY_DIR}${path.sep}`)) {
                    outside.push(`${file} imports ${spec}`);
                }
            } else if (!spec.startsWith("node:") && !builtinModules.includes(spec)) {
                packages.add(spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/"));
            }
        }
    }
    return { packages, outside };
}

describe("the pack's own package", () => {
    it("lists every package the pack imports, and imports nothing outside policy/", () => {
        const manifest = JSON.parse(readFileSync(path.join(POLICY_DIR, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };
        const { packages, outside } = packImports();
        assert.deepEqual(outside, []);
        assert.deepEqual([...packages].sort(), Object.keys(manifest.dependencies).sort());
        assert.match(manifest.version, /^\d+\.\d+\.\d+$/, "PolicyPack reads the version from package.json");
        assert.match(readFileSync(path.join(POLICY_DIR, "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
    });
    it("can be imported through policies.ts without starting the CrossGuard server", async () => {
        const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "-e", "require('./policy/policies'); console.log('loaded')"], { cwd: ROOT, timeout: 20_000 });
        assert.equal(stdout, "loaded\n", "a started server would print its port and keep the process alive");
    });
});

/** Turns a gRPC callback into a promise. */
function settle<Res>(resolve: (res: Res) => void, reject: (err: Error) => void): (err: grpc.ServiceError | null, res: Res) => void {
    return (err, res) => (err ? reject(err) : resolve(res));
}

const LEVELS: Record<number, string> = { [analyzerPb.EnforcementLevel.ADVISORY]: "advisory", [analyzerPb.EnforcementLevel.MANDATORY]: "mandatory" };
const nameOf = (urn: string): string => urn.slice(urn.lastIndexOf("::") + 2);

describe("policy/index.ts served by CrossGuard (as `pulumi preview --policy-pack policy` runs it)", () => {
    let server: ReturnType<typeof spawn>;
    let client: AnalyzerClient;
    before(async () => {
        server = spawn(process.execPath, ["--import", "tsx", "index.ts"], { cwd: POLICY_DIR, stdio: ["ignore", "pipe", "inherit"] });
        const port = await new Promise<string>((resolve, reject) => {
            server.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
            server.once("exit", (code) => reject(new Error(`the pack exited with ${code} before serving`)));
        });
        client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });
    after(() => {
        client?.close();
        server?.kill();
    });

    it("announces the pack and every policy with its enforcement level and config schema", async () => {
        const info = await new Promise<analyzerPb.AnalyzerInfo>((ok, ko) => client.getAnalyzerInfo(new Empty(), settle(ok, ko)));
        assert.equal(info.getName(), "django-platform");
        const served = new Map(info.getPoliciesList().map((p) => [p.getName(), p]));
        assert.deepEqual([...served.keys()].sort(), allPolicies.map((p) => p.name).sort());
        for (const p of allPolicies) {
            assert.equal(LEVELS[served.get(p.name)!.getEnforcementlevel()], p.enforcementLevel, p.name);
            assert.equal(served.get(p.name)!.hasConfigschema(), p.configSchema !== undefined, p.name);
        }
    });

    it("reaches the offline runner's verdicts on the insecure export, resource and stack policies alike", async () => {
        const resources = (readStackExport(INSECURE).deployment.resources ?? []) as ExportedResource[];
        const byUrn = new Map(resources.map((r) => [r.urn, r]));
        const evaluated = resources.filter((r) => r.custom !== false && !r.type.startsWith("pulumi:"));
        const describeResource = <T extends analyzerPb.AnalyzeRequest | analyzerPb.AnalyzerResource>(msg: T, r: ExportedResource): T => {
            msg.setType(r.type);
            msg.setUrn(r.urn);
            msg.setName(nameOf(r.urn));
            msg.setProperties(Struct.fromJavaScript(unwrapSecrets(r.inputs ?? {}) as Record<string, never>));
            msg.setOptions(new analyzerPb.AnalyzerResourceOptions().setProtect(r.protect === true).setParent(r.parent ?? ""));
            const provider = r.provider === undefined ? undefined : byUrn.get(r.provider.slice(0, r.provider.lastIndexOf("::")));
            if (provider !== undefined) {
                msg.setProvider(new analyzerPb.AnalyzerProviderResource().setType(provider.type).setUrn(provider.urn)
                    .setName(nameOf(provider.urn)).setProperties(Struct.fromJavaScript(unwrapSecrets(provider.inputs ?? {}) as Record<string, never>)));
            }
            return msg;
        };
        const description = new Map(allPolicies.map((p) => [p.name, p.description]));
        const fromServer: string[] = [];
        for (const r of evaluated) {
            const request = describeResource(new analyzerPb.AnalyzeRequest(), r);
            const response = await new Promise<analyzerPb.AnalyzeResponse>((ok, ko) => client.analyze(request, settle(ok, ko)));
            for (const d of response.getDiagnosticsList()) {
                fromServer.push(`${d.getPolicyname()} ${LEVELS[d.getEnforcementlevel()]} ${r.urn} ${d.getMessage()}`);
            }
        }
        const stack = new analyzerPb.AnalyzeStackRequest().setResourcesList(evaluated.map((r) =>
            describeResource(new analyzerPb.AnalyzerResource(), r).setParent(r.parent ?? "").setDependenciesList(r.dependencies ?? [])));
        const stackResponse = await new Promise<analyzerPb.AnalyzeResponse>((ok, ko) => client.analyzeStack(stack, settle(ok, ko)));
        for (const d of stackResponse.getDiagnosticsList()) {
            fromServer.push(`${d.getPolicyname()} ${LEVELS[d.getEnforcementlevel()]} ${d.getUrn()} ${d.getMessage()}`);
        }
        const fromRunner = (await runPolicies(readStackExport(INSECURE))).map((v) =>
            `${v.policyName} ${v.enforcementLevel} ${v.urn} ${description.get(v.policyName)}\n${v.message}`);
        assert.ok(fromRunner.length > 20);
        assert.deepEqual(fromServer.sort(), fromRunner.sort());
    });
});
