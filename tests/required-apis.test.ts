/**
 * The Google APIs each project needs, computed from the resource graph (bootstrap/apiTable.ts):
 * every type the program (and the bootstrap) registers has a row; each row's "where it lives" holds
 * in every mode; the run-time features are found in the rendered objects; and the bootstrap enables,
 * in the right project, everything any mode of either stack needs — and what its own resources need.
 */
import assert from "node:assert/strict";
import { bootstrapConfig } from "./lib/trustRenders";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { API_TABLE, FEATURE_TABLE, apiRowFor, apisForGraph, livesOfResource, programApis, projectOfResource, servicesOf, type ApiSet, type Graph, type Lives } from "../bootstrap/apiTable";
import { BOOTSTRAP_PROJECT } from "../bootstrap/config";
import { PROGRAM_TYPES } from "../bootstrap/deployerRoles";
import { HOME_APIS, bootstrapApis } from "../bootstrap/requiredApis";
import { artifactRegistryRepositories } from "../components/imageRef";
import { TYPE_RENDERS, renderProgram, type TypeRender } from "../maint/gen-deployer-types";
import { findAll, runProgram, type CaptureResult, type CapturedResource } from "../cli/lib/mockRuntime";
import type { SynthReport } from "../cli/lib/report";
import { loadStackConfig } from "../cli/lib/stackConfig";
import { synth } from "../cli/synth";
import { withoutStackTraces } from "./helpers/platform";

const ROOT = join(__dirname, "..");
/** The CI home project of the shipped stack files' image (docs/bootstrap.md). */
const HOME = "acme-django-ci";

/** `gcp:project` and `gcp:region` of a main stack file. */
function stackFile(stack: string): { project: string; region: string } {
    const config = (parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, string> }).config;
    return { project: config["gcp:project"], region: config["gcp:region"] };
}

const staging = stackFile("staging");
const production = stackFile("production");

/** project → services the bootstrap's `projects.Service` resources enable there. */
function enabledByProject(resources: readonly CapturedResource[]): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const s of findAll(resources, "gcp:projects/service:Service")) {
        const project = String(s.inputs.project);
        out.set(project, new Set([...(out.get(project) ?? []), String(s.inputs.service)]));
    }
    return out;
}

/** A render's graph, with the stack's `gcp:project` as the provider's project. */
function graphOf(result: CaptureResult, defaultProject: string): Graph {
    return { resources: result.resources, invokes: result.invokes, defaultProject };
}

/** The (project, service) pairs of a set that `enabled` lacks. */
function notEnabled(set: ApiSet, enabled: Map<string, Set<string>>): string[] {
    return Object.entries(set.byProject).flatMap(([project, services]) =>
        Object.entries(services)
            .filter(([service]) => !enabled.get(project)?.has(service))
            .map(([service, why]) => `${service} in ${project} (for ${why.join(", ")})`),
    );
}

/** The projects a render's resources must be in, by where they live. */
function expectedProjects(render: TypeRender): Record<Lives, string> {
    const { config } = loadStackConfig({ stack: render.stack, projectDir: ROOT });
    const dns = (render.overrides["django-platform:dns"] ?? (config["django-platform:dns"] ? JSON.parse(config["django-platform:dns"]) : {})) as { project?: string };
    const [registry] = artifactRegistryRepositories([config["django-platform:image"]]);
    return { stack: config["gcp:project"], registry: registry.project, zone: dns.project ?? config["gcp:project"] };
}

/** The production stack with its DNS zone in a shared DNS project. */
const SHARED_DNS: TypeRender = { name: "production, dns.project acme-dns", stack: "production", overrides: { "django-platform:dns": { project: "acme-dns" } } };

describe("the API table covers what the program renders, in every mode", () => {
    const runs: { render: TypeRender; result: CaptureResult; set: ApiSet }[] = [];

    before(async () => {
        for (const render of [...TYPE_RENDERS, SHARED_DNS]) {
            const result = await withoutStackTraces(() => renderProgram(render));
            runs.push({ render, result, set: apisForGraph(graphOf(result, expectedProjects(render).stack)) });
        }
    });

    test("every rendered resource type and invoked function has a row, and so has every type of bootstrap/resourceTypes.json", () => {
        const missing = runs.flatMap(({ render, set }) => set.missing.map((t) => `${t} (${render.name})`));
        assert.deepEqual(missing, [], `no row in bootstrap/apiTable.ts for:\n  ${missing.join("\n  ")}\nFix: add a row (the provider's service and its source).`);
        assert.deepEqual(programApis(PROGRAM_TYPES).missing, []);
    });

    test("every row and feature names its source, and only API host names", () => {
        for (const r of API_TABLE) {
            assert.ok(r.source.length > 0 && r.source.every((s) => s.length > 20), `${r.type}: no source`);
            assert.ok(r.services.every((s) => /^[a-z]+\.googleapis\.com$/.test(s)), `${r.type}: ${r.services.join(", ")}`);
        }
        for (const f of FEATURE_TABLE) {
            assert.ok(f.source.length > 0 && f.source.every((s) => /https:\/\/|@[0-9a-f]{12}|#\d+/.test(s)), `${f.id}: cite a URL, a commit or an issue`);
            assert.ok(f.services.length > 0 && f.services.every((s) => /^[a-z]+\.googleapis\.com$/.test(s)), f.id);
            assert.ok(f.triggers.every((t) => apiRowFor(t)), `${f.id}: a trigger without a row`);
        }
    });

    test("each resource is in the project its row says (the bootstrap's union relies on it), in every mode", () => {
        for (const { render, result } of runs) {
            const expected = expectedProjects(render);
            const graph = graphOf(result, expected.stack);
            for (const r of result.resources.filter((x) => x.custom)) {
                const found = apiRowFor(r.type);
                const lives = livesOfResource(graph, r);
                if (found && lives && found.services.length > 0) {
                    assert.equal(projectOfResource(graph, r), expected[lives], `${render.name}: ${r.name} (${r.type}) lives in the ${lives} project`);
                }
            }
            for (const f of FEATURE_TABLE) {
                for (const use of f.uses(graph)) {
                    assert.equal(use.project, expected[f.lives], `${render.name}: ${f.id} needs ${use.service} in ${use.project}`);
                }
            }
        }
    });

    test("Workload Identity, signed URLs, the Auth Proxy, GKE logging and the Secrets key are read from the rendered objects", () => {
        const run = (name: string) => {
            const found = runs.find((r) => r.render.name === name);
            assert.ok(found, name);
            return found.set;
        };
        const prod = run("production").byProject[production.project];
        assert.deepEqual(prod["sts.googleapis.com"], ["workload-identity"]);
        assert.deepEqual(prod["iamcredentials.googleapis.com"], ["signed-urls", "workload-identity"]);
        assert.ok(prod["sqladmin.googleapis.com"].includes("cloud-sql-auth-proxy"));
        assert.deepEqual(prod["logging.googleapis.com"], ["gke-logging-monitoring"]);
        assert.ok(prod["cloudkms.googleapis.com"].includes("gke-secrets-encryption"));
        // Production pulls its image from the CI home project's repository: Artifact Registry is needed there, not in production's project.
        // …and Artifact Analysis scans the images pushed there (Container Scanning API, billed per new image).
        assert.deepEqual(run("production").byProject[HOME], { "artifactregistry.googleapis.com": ["image-pulls"], "containeranalysis.googleapis.com": ["vulnerability-scanning"], "containerscanning.googleapis.com": ["vulnerability-scanning"] });
        assert.equal(prod["artifactregistry.googleapis.com"], undefined);
        // Direct private IP: no proxy, yet Cloud SQL itself still needs the Admin API.
        const direct = run("staging, database.connector private-ip").byProject[staging.project];
        assert.ok(!direct["sqladmin.googleapis.com"].includes("cloud-sql-auth-proxy"));
        assert.ok(direct["sqladmin.googleapis.com"].includes("gcp:sql/databaseInstance:DatabaseInstance"));
        assert.equal(run("staging").byProject[staging.project]["redis.googleapis.com"], undefined, "in-cluster Redis needs no Memorystore API");
        assert.deepEqual(run("staging, cache.mode memorystore").byProject[staging.project]["redis.googleapis.com"], ["gcp:redis/instance:Instance"]);
        // An existing cluster: its own logging is configured where it lives; Workload Identity is still used.
        const existing = run("staging, network.mode + cluster.mode existing").byProject[staging.project];
        assert.equal(existing["logging.googleapis.com"], undefined);
        assert.deepEqual(existing["sts.googleapis.com"], ["workload-identity"]);
    });

    test("Binary Authorization's API is needed in the stack's project only when the cluster evaluates the policy", () => {
        const on = runs.find((r) => r.render.name === "production, security.binaryAuthorization enforce")?.set;
        assert.ok(on);
        assert.deepEqual(on.byProject[production.project]["binaryauthorization.googleapis.com"], ["binary-authorization", "gcp:binaryauthorization/policy:Policy"]);
        assert.equal(runs.find((r) => r.render.name === "production")?.set.byProject[production.project]["binaryauthorization.googleapis.com"], undefined);
    });

    test("a DNS zone in another project needs the Cloud DNS API in that project, not in the stack's", () => {
        const set = runs.find((r) => r.render === SHARED_DNS)?.set;
        assert.ok(set);
        assert.deepEqual(servicesOf(set, "acme-dns"), ["dns.googleapis.com"]);
        // The stack's own project needs it for its private zone googleapis.com (Private Google Access) only.
        assert.deepEqual(set.byProject[production.project]["dns.googleapis.com"], ["gcp:dns/managedZone:ManagedZone", "gcp:dns/recordSet:RecordSet"]);
        const withZoneHere = runs.find((r) => r.render.name === "production")?.set;
        assert.deepEqual(withZoneHere?.byProject[production.project]["dns.googleapis.com"], ["gcp:dns/getRecordSets:getRecordSets", "gcp:dns/managedZone:ManagedZone", "gcp:dns/recordSet:RecordSet"]);
    });

    describe("the bootstrap enables them", () => {
        let bootstrap: CaptureResult;
        let enabled: Map<string, Set<string>>;

        before(async () => {
            bootstrap = await runProgram({
                project: BOOTSTRAP_PROJECT,
                stack: "bootstrap",
                program: join(ROOT, "bootstrap", "index.ts"),
                config: bootstrapConfig({ staging: staging.project, production: production.project }),
            });
            enabled = enabledByProject(bootstrap.resources);
        });

        test("production's own project (not the home project) gets the IAM Service Account Credentials and STS APIs Workload Identity uses", () => {
            assert.notEqual(production.project, staging.project, "the stack files put production in its own project");
            assert.ok(![staging.project, production.project].includes(HOME), "no stack in the CI home project");
            for (const api of ["iamcredentials.googleapis.com", "sts.googleapis.com"]) {
                assert.ok(enabled.get(production.project)?.has(api), `${api} is not enabled in ${production.project}: enabled there: ${[...(enabled.get(production.project) ?? [])].join(", ")}`);
            }
        });

        test("every API any mode of either stack needs is enabled in the project that needs it (DNS zone in the stack's project)", () => {
            const lacking = runs.filter((r) => r.render !== SHARED_DNS).flatMap(({ render, set }) => notEnabled(set, enabled).map((m) => `${render.name}: ${m}`));
            assert.deepEqual(lacking, []);
        });

        test("Binary Authorization's API is enabled in each stack project", () => {
            for (const project of [staging.project, production.project]) {
                assert.ok(enabled.get(project)?.has("binaryauthorization.googleapis.com"), project);
            }
        });

        test("vulnerability scanning is on in the home project, where the registry is, from the feature table (not HOME_APIS' hand list), and nowhere else", () => {
            for (const api of ["containerscanning.googleapis.com", "containeranalysis.googleapis.com"]) {
                assert.ok(enabled.get(HOME)?.has(api), api);
                assert.ok(!HOME_APIS.includes(api), `${api} is in HOME_APIS`);
                for (const project of [staging.project, production.project]) {
                    assert.ok(!enabled.get(project)?.has(api), `${project} holds no repository, yet ${api} is enabled there`);
                }
            }
        });

        test("what the bootstrap's own resources need is enabled too (HOME_APIS is checked, not trusted)", () => {
            const own = apisForGraph(graphOf(bootstrap, HOME));
            assert.deepEqual(own.missing, [], "bootstrap types without a row in bootstrap/apiTable.ts");
            assert.deepEqual(notEnabled(own, enabled), []);
            // Each home API is used by the rendered bootstrap or by a stack's image pulls.
            const staged = runs.find((r) => r.render.name === "staging")?.set;
            const usedAtHome = new Set([...servicesOf(own, HOME), ...(staged ? servicesOf(staged, HOME) : [])]);
            assert.deepEqual(HOME_APIS.filter((api) => !usedAtHome.has(api)), []);
        });

        test("one projects.Service per project and API, exactly bootstrapApis()", () => {
            const expected = bootstrapApis(HOME, [staging.project, production.project]);
            assert.deepEqual(
                Object.fromEntries([...enabled.entries()].map(([p, s]) => [p, [...s].sort()])),
                expected,
            );
            assert.equal(findAll(bootstrap.resources, "gcp:projects/service:Service").length, Object.values(expected).flat().length);
        });
    });
});

describe("synth reports the APIs per project", () => {
    test("report.json holds apisForGraph of the rendered stack; the summary prints one line per project", async () => {
        const dir = mkdtempSync(join(tmpdir(), "required-apis-"));
        try {
            let stdout = "";
            const code = await withoutStackTraces(() => synth({ stack: "production", out: dir }, { stdout: (t) => (stdout += `${t}\n`), stderr: () => undefined }), (c) => c !== 0);
            assert.equal(code, 0);
            const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as SynthReport;
            assert.equal(report.apis.source, "bootstrap/apiTable.ts");
            assert.deepEqual(report.apis.missing, []);
            assert.deepEqual(Object.keys(report.apis.byProject), [HOME, production.project]);
            assert.deepEqual(report.apis.byProject[production.project]["iamcredentials.googleapis.com"], ["signed-urls", "workload-identity"]);
            const lines = stdout.split("\n");
            const at = lines.indexOf("APIs to enable (bootstrap/apiTable.ts), per project:");
            assert.ok(at >= 0, stdout);
            assert.equal(lines[at + 1], `  ${HOME}: artifactregistry, containeranalysis, containerscanning`);
            assert.equal(lines[at + 2], `  ${production.project}: ${servicesOf(report.apis, production.project).map((a) => a.replace(".googleapis.com", "")).join(", ")}`);
            assert.match(lines[at + 2], /\biamcredentials\b.*\bsts$/);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
