/**
 * The trust layout renders offline like the stacks: `npm run synth -- --project bootstrap` and
 * `--project iam --stack <s>` write the same five files, with every grant in report.json, so it can
 * be read (and diffed in review) before anyone applies it.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { iamStepPermissions } from "../bootstrap/deployerRoles";
import type { SynthReport } from "../cli/lib/report";
import { loadStackConfig } from "../cli/lib/stackConfig";
import { OUTPUT_FILES, main, synth, type SynthOptions } from "../cli/synth";
import { withoutStackTraces } from "./helpers/platform";
import { bootstrapConfig } from "./lib/trustRenders";

const ROOT = join(__dirname, "..");

async function run(options: SynthOptions): Promise<{ code: number; stdout: string; stderr: string; report?: SynthReport; dir: string }> {
    const dir = mkdtempSync(join(tmpdir(), "trust-synth-"));
    let stdout = "";
    let stderr = "";
    const code = await withoutStackTraces(() => synth({ ...options, out: join(dir, "out") }, { stdout: (t) => (stdout += `${t}\n`), stderr: (t) => (stderr += `${t}\n`) }), (c) => c === 3);
    const file = join(dir, "out", "report.json");
    return { code, stdout, stderr, dir, report: existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as SynthReport) : undefined };
}

describe("npm run synth -- --project bootstrap", () => {
    test("the shipped bootstrap stack file is the configuration the trust tests render", () => {
        const shipped = loadStackConfig({ stack: "bootstrap", projectDir: join(ROOT, "bootstrap") });
        const expected = bootstrapConfig({ staging: "acme-django-staging", production: "acme-django-prod" });
        assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, shipped.config[k]])), expected);
    });

    test("writes the five files; report.json lists every grant with its condition, and who runs it", async () => {
        const r = await run({ project: "bootstrap" });
        try {
            assert.equal(r.code, 0, r.stderr + r.stdout);
            for (const file of OUTPUT_FILES) {
                assert.ok(existsSync(join(r.dir, "out", file)), file);
            }
            assert.equal(readFileSync(join(r.dir, "out", "manifests.yaml"), "utf8").trim(), "", "no Kubernetes objects");
            assert.match(readFileSync(join(r.dir, "out", "graph.svg"), "utf8"), /<svg/);
            const report = r.report as SynthReport;
            assert.equal(report.project, "django-platform-bootstrap");
            assert.equal(report.permissions, undefined);
            assert.match(report.runner?.who ?? "", /owns the CI home project and every stack project/);
            const deployer = report.grants.filter((g) => g.member === "serviceAccount:gh-deploy-production@acme-django-ci.iam.gserviceaccount.com");
            assert.ok(deployer.some((g) => g.on === "project acme-django-prod" && g.role.endsWith("djangoPlatformStackResourceIam") && g.condition?.includes("storage.googleapis.com/Bucket")));
            assert.ok(deployer.every((g) => !g.on.startsWith("project acme-django-staging") && !g.on.startsWith("project acme-django-ci")), "production's deployer holds nothing on another project");
            assert.match(r.stdout, /^Grants \(\d+\), by member:$/m);
            assert.match(r.stdout, /^ {2}serviceAccount:gh-image@acme-django-ci\.iam\.gserviceaccount\.com\n {4}roles\/artifactregistry\.writer on repository /m);
        } finally {
            rmSync(r.dir, { recursive: true, force: true });
        }
    });

    test("a bad bootstrap stack file exits 2 with the key, the value and the fix, and writes nothing", async () => {
        const dir = mkdtempSync(join(tmpdir(), "trust-synth-bad-"));
        try {
            const file = join(dir, "Pulumi.bootstrap.yaml");
            writeFileSync(file, readFileSync(join(ROOT, "bootstrap", "Pulumi.bootstrap.yaml"), "utf8").replace("staging: acme-django-staging", "staging: acme-django-ci"));
            let stderr = "";
            const code = await main(["node", "synth", "--project", "bootstrap", "--config-file", file, "--out", join(dir, "out")], { stdout: () => undefined, stderr: (t) => (stderr += `${t}\n`) });
            assert.equal(code, 2, stderr);
            assert.match(stderr, /stackProjects\.staging: is the CI home project "acme-django-ci" \(gcp:project\)[^\n]*Fix: `pulumi config set --path stackProjects\.staging acme-django-staging`/);
            assert.ok(!existsSync(join(dir, "out")));
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("npm run synth -- --project iam", () => {
    for (const stack of ["staging", "production"]) {
        test(`${stack}: the five files, the accounts and grants of the stack, and the IAM step's role`, async () => {
            const r = await run({ project: "iam", stack });
            try {
                assert.equal(r.code, 0, r.stderr + r.stdout);
                for (const file of OUTPUT_FILES) {
                    assert.ok(existsSync(join(r.dir, "out", file)), file);
                }
                const report = r.report as SynthReport;
                assert.deepEqual(report.runner?.permissions, iamStepPermissions());
                const deployer = `serviceAccount:gh-deploy-${stack}@acme-django-ci.iam.gserviceaccount.com`;
                const roles = report.grants.filter((g) => g.member === deployer).map((g) => g.role);
                assert.ok(roles.includes("roles/iam.serviceAccountUser") && roles.every((role) => role === "roles/iam.serviceAccountUser" || role.endsWith("/roles/djangoPlatformPodIdentityBinder")), roles.join(", "));
                const outputs = report.stackOutputs as { serviceAccounts: Record<string, string> };
                assert.equal(outputs.serviceAccounts.web, `dj-${stack}-web@acme-django-${stack === "staging" ? "staging" : "prod"}.iam.gserviceaccount.com`);
            } finally {
                rmSync(r.dir, { recursive: true, force: true });
            }
        });
    }

    test("without --stack or --config-file: a usage error", async () => {
        let stderr = "";
        const code = await main(["node", "synth", "--project", "iam"], { stdout: () => undefined, stderr: (t) => (stderr += `${t}\n`) });
        assert.equal(code, 2);
        assert.match(stderr, /pass --stack <name> or --config-file <path>/);
    });
});
