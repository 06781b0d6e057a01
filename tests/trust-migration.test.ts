/**
 * Moving a stack of the single-deployer layout to the IAM step's, as docs/trust-migration.md says,
 * offline: the fixtures are that layout's main stacks (django-platform at e1719ce) rendered under
 * mocks in the shape of `pulumi stack export` (tests/fixtures/trust-migration). After
 * `npm run migrate:trust` edits the export, today's program (with the image the stack ran, so
 * only the trust change is compared) must find every resource of the state again with the same
 * inputs — nothing deleted, nothing replaced, nothing changed — and the IAM step must adopt every
 * account and project grant that left the state, with the inputs they were created with (an
 * import with other inputs would be a diff). What a `pulumi up` does is read from the renders: a
 * resource of the state missing from the program would be deleted; one with other inputs updated
 * or replaced.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { validateConfig } from "../config";
import { buildIam } from "../iam/program";
import { runProgram, type CaptureResult } from "../cli/lib/mockRuntime";
import { loadStackConfig } from "../cli/lib/stackConfig";
import { buildStackExport } from "../cli/lib/stackExport";
import { MOVED_TYPES, MigrationInputError, importIdOf, inputsDigest, migrateExport, type ExportDocument } from "../maint/lib/trustMigration";
import { main } from "../maint/trust-migrate";
import { ROOT, stackConfig, withoutStackTraces } from "./helpers/platform";

const FIXTURES = join(__dirname, "fixtures", "trust-migration");
const before = (stack: string) => JSON.parse(readFileSync(join(FIXTURES, `${stack}.before.json`), "utf8")) as ExportDocument & { comment: string };
/** The image the single-deployer layout's stack files ran (the registry moves in a release of its own). */
const OLD_IMAGE = "europe-west1-docker.pkg.dev/acme-django-staging/django/app:0.1.0";
const nameOf = (urn: string) => urn.split("::").pop() as string;

/** Today's main program and IAM step for `stack`, with the old image. */
async function renderNew(stack: string): Promise<{ main: ExportDocument; iam: CaptureResult }> {
    const overrides = { "django-platform:image": OLD_IMAGE };
    const { config, secretKeys } = stackConfig(stack, overrides);
    const main = await withoutStackTraces(() => runProgram({ project: "django-platform", stack, config, secretKeys, program: join(ROOT, "index.ts") }));
    const loaded = loadStackConfig({ stack, projectDir: ROOT });
    const doc = buildStackExport(main, { project: "django-platform", stack, config, secretKeys, secretsProvider: loaded.secretsProvider, time: new Date("2026-12-01T00:00:00Z") });
    const iam = await withoutStackTraces(() =>
        runProgram({ project: "django-platform-iam", stack, config: {}, program: () => buildIam({ ciProject: "acme-django-ci", stackFile: `Pulumi.${stack}.yaml`, adoptExisting: true, platform: validateConfig(config, stack) }) }),
    );
    return { main: doc as unknown as ExportDocument, iam };
}

describe("migrating a main stack's state to the IAM step (docs/trust-migration.md)", () => {
    test("the moved types are the permission table's iam-step types", () => {
        assert.deepEqual(MOVED_TYPES, ["gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", "gcp:projects/iAMMember:IAMMember", "gcp:serviceaccount/account:Account"]);
    });

    for (const stack of ["staging", "production"]) {
        describe(stack, () => {
            test("the edited state loses exactly the accounts and grants the IAM step owns, and every reference to them", () => {
                const doc = before(stack);
                const { document, removed } = migrateExport(doc);
                const expected = stack === "staging"
                    ? ["django-cluster-nodes", "django-cluster-nodes-pull-europe-west1-acme-django-staging-django", "django-cluster-nodes-role", "django-workload-collectstatic-gsa", "django-workload-web-cloudsql-client", "django-workload-web-gsa"]
                    : ["django-cluster-nodes", "django-cluster-nodes-pull-europe-west1-acme-django-staging-django", "django-cluster-nodes-role", "django-worker-tasks-cloudsql-client", "django-worker-tasks-gsa", "django-workload-collectstatic-gsa", "django-workload-web-cloudsql-client", "django-workload-web-gsa"];
                assert.deepEqual(removed.map((r) => nameOf(r.urn)).sort(), expected);
                const gone = new Set(removed.map((r) => r.urn));
                assert.equal(document.deployment.resources.length, doc.deployment.resources.length - removed.length);
                for (const r of document.deployment.resources) {
                    assert.deepEqual((r.dependencies ?? []).filter((d) => gone.has(d)), [], `${r.urn} still depends on a removed resource`);
                }
                // Those dependencies existed: the tool had something to drop (the Kubernetes provider
                // waited for the pull grant, the cluster for the node role, pods for cloudsql.client).
                assert.ok(doc.deployment.resources.some((r) => (r.dependencies ?? []).some((d) => gone.has(d))));
            });

            test("today's program finds every resource of the edited state: pulumi up deletes nothing, and changes nothing that names the moved accounts", async () => {
                const { document, removed } = migrateExport(before(stack));
                const { main: now } = await renderNew(stack);
                const nowByUrn = new Map(now.deployment.resources.map((r) => [r.urn, r]));
                const deleted = document.deployment.resources.filter((r) => !nowByUrn.has(r.urn)).map((r) => r.urn);
                assert.deepEqual(deleted, [], "resources the next pulumi up would delete");
                // The fixture is the last single-deployer release (3802bc1); releases since then change
                // other inputs (rollout pacing, probes…) as any release does. What the move itself must
                // leave alone is everything that names the accounts the IAM step now owns: the Workload
                // Identity and signer bindings, the Kubernetes service accounts' annotations, bucket and
                // key grants to the pods' accounts.
                const emails = removed
                    .filter((r) => r.type === "gcp:serviceaccount/account:Account")
                    .map((r) => `${String(r.inputs?.accountId)}@${String(r.inputs?.project)}.iam.gserviceaccount.com`);
                assert.ok(emails.length >= 3, `the moved accounts: ${emails.join(", ")}`);
                const namesAnAccount = (inputs: unknown) => emails.some((e) => JSON.stringify(inputs ?? {}).includes(e));
                // Pod templates change with every release; where they name an account (the media
                // signer of each container) it must still be one of the moved accounts' emails.
                const WORKLOADS = new Set(["kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:apps/v1:StatefulSet"]);
                let signers = 0;
                for (const r of now.deployment.resources.filter((x) => WORKLOADS.has(x.type))) {
                    for (const signer of JSON.stringify(r.inputs ?? {}).match(/"DJANGO_APP_MEDIA_SIGNER","value":"[^"]+"/g) ?? []) {
                        signers += 1;
                        assert.ok(emails.some((e) => signer.endsWith(`"${e}"`)), `${nameOf(r.urn)}: ${signer} is not an account the IAM step adopted`);
                    }
                }
                assert.ok(signers > 0, "both stacks sign media URLs: the pod templates name their signers");
                const changed = document.deployment.resources
                    .filter((r) => !r.type.startsWith("pulumi:") && !WORKLOADS.has(r.type))
                    .filter((r) => namesAnAccount(nowByUrn.get(r.urn)?.inputs))
                    .filter((r) => {
                        const n = nowByUrn.get(r.urn);
                        return n?.type !== r.type || (r.inputsSha256 ? r.inputsSha256 !== inputsDigest(n?.inputs ?? {}) : inputsDigest(r.inputs) !== inputsDigest(n?.inputs ?? {}));
                    })
                    .map((r) => nameOf(r.urn));
                assert.deepEqual(changed, [], "resources whose inputs differ (an update or a replacement)");
                // And the program adds nothing to create: it only looks the accounts up.
                const added = now.deployment.resources.filter((r) => !document.deployment.resources.some((x) => x.urn === r.urn)).map((r) => r.urn);
                assert.deepEqual(added, []);
            });

            test("the IAM step adopts every account and project grant that left the state, with their inputs, and creates only the new grants", async () => {
                const { removed } = migrateExport(before(stack));
                const { iam } = await renderNew(stack);
                const byImport = new Map(iam.resources.filter((r) => r.importId).map((r) => [r.importId as string, r]));
                for (const r of removed.filter((x) => x.type !== "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")) {
                    const id = importIdOf(r) as string;
                    const adopted = byImport.get(id);
                    assert.ok(adopted, `${nameOf(r.urn)} (${id}) is not adopted by the IAM step`);
                    assert.equal(adopted.type, r.type);
                    assert.deepEqual(adopted.inputs, r.inputs, `${nameOf(r.urn)}: the IAM step would change it on import`);
                }
                assert.equal(byImport.size, removed.length - 1, "nothing imported that the state did not hold");
                // The nodes' pull grant on the old registry: the IAM step makes the same binding (adding a
                // member that is there already changes nothing); the old one leaves with that registry.
                const oldPull = removed.find((r) => r.type === "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember");
                const newPull = iam.resources.find((r) => r.type === "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember");
                assert.deepEqual(newPull?.inputs, oldPull?.inputs);
                assert.equal(newPull?.importId, undefined);
                // New: what the deployer may do on the accounts (binder on pods, actAs on nodes).
                const created = iam.resources.filter((r) => r.custom && !r.importId).map((r) => `${r.type} ${String(r.inputs.role)}`).sort();
                assert.ok(created.every((c) => /iAMMember:IAMMember (projects\/.*\/roles\/djangoPlatformPodIdentityBinder|roles\/iam\.serviceAccountUser)$|RepositoryIamMember/.test(c)), created.join("\n"));
            });
        });
    }

    test("the CLI writes the edited export and says how each removed resource is adopted; a non-export is refused, writing nothing", () => {
        const dir = mkdtempSync(join(tmpdir(), "migrate-trust-"));
        try {
            const out: string[] = [];
            const err: string[] = [];
            const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) };
            const input = join(FIXTURES, "staging.before.json");
            assert.equal(main(["node", "migrate:trust", "--in", input, "--out", join(dir, "after.json")], io), 0, err.join("\n"));
            const written = JSON.parse(readFileSync(join(dir, "after.json"), "utf8")) as ExportDocument;
            assert.deepEqual(written.deployment.resources.map((r) => r.urn), migrateExport(before("staging")).document.deployment.resources.map((r) => r.urn));
            assert.ok(out.includes('  gcp:serviceaccount/account:Account django-workload-web-gsa: the IAM step adopts it as "projects/acme-django-staging/serviceAccounts/dj-staging-web@acme-django-staging.iam.gserviceaccount.com"'), out.join("\n"));
            writeFileSync(join(dir, "bad.json"), JSON.stringify({ version: 2, checkpoint: {} }));
            assert.equal(main(["node", "migrate:trust", "--in", join(dir, "bad.json"), "--out", join(dir, "bad-out.json")], io), 2);
            assert.match(err.join("\n"), /not a `pulumi stack export` document of version 3/);
            assert.throws(() => migrateExport({ version: 3, deployment: { resources: [{ urn: "u::a", type: "gcp:serviceaccount/account:Account" }, { urn: "u::b", type: "x", parent: "u::a" }] } }), MigrationInputError);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
