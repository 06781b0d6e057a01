/**
 * Moving a stack of the single-deployer layout to the IAM step's, as docs/trust-migration.md says,
 * offline: the fixtures are that layout's main stacks (django-platform at e1719ce) rendered under
 * mocks in the shape of `pulumi stack export` (tests/fixtures/trust-migration). After
 * `npm run migrate:trust` edits the export, today's program (with the image the stack ran, so
 * only the trust change is compared) must find every resource of the state again with the same
 * inputs — nothing deleted, nothing replaced, nothing changed — and the IAM step must adopt every
 * account and project grant that left the state, with the inputs they were created with (an
 * import with other inputs would be a diff). Two later changes on top, each with its runbook in
 * docs/operations.md: the pods' Token Creator on themselves gave way to the bootstrap's URL signer
 * role, bound by the IAM step (signBlob only), so the next `pulumi up` deletes the old
 * self-bindings, after the IAM step made the new ones; and the pods log in to the database as
 * their own IAM database users (the instance's flag, the env, the Jobs and pods, a migrate identity
 * and the IAM users: {@link RUNTIME_SECURITY}). What a `pulumi up` does is read from the renders: a
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

/**
 * What IAM database authentication changes in a stack that ran with the password user
 * (docs/operations.md, "Moving a stack to IAM database authentication"), besides the trust layout:
 * updated — the instance (its `cloudsql.iam_authentication` flag), the env ConfigMap and Secret (no
 * database user or password in them), the Jobs, Deployments and CronJobs (each container's own
 * login, the proxy's `--auto-iam-authn`, the migrate Job's identity and schema step); created — the
 * migrate identity's Kubernetes service account and Workload Identity binding, the IAM database users.
 */
const RUNTIME_SECURITY = {
    changed: /^django-(database-instance|workload-env|workload-migrate|workload-collectstatic|workload-web|schedule-[a-z0-9-]+-cron|worker-[a-z0-9-]+-pods)$/,
    added: /^django-(workload-migrate-ksa|workload-migrate-workload-identity|database-iam-(web|migrate|worker-[a-z0-9-]+))$/,
};

/**
 * Two more later changes (docs/architecture.md): egress (Cloud NAT logs every translation, the
 * pods' egress NetworkPolicy reaches Google's APIs on Private Google Access's range only, through a
 * private `googleapis.com` zone of the created VPC and its two records; the database only where it
 * is used, in a NetworkPolicy of its own) and Binary Authorization
 * (the cluster's `binaryAuthorization` is written, `DISABLED` when off: an in-place update); and
 * the load balancer's releases since the fixture (the BackendConfig's health check on the probes'
 * own port; the web Ingress), and the Redis image pinned by digest (the cache's StatefulSets). None
 * of them names an account.
 */
const LATER = {
    changed: /^django-(network-nat|workload-django-egress|cluster-gke|networking-backend|workload-web-ingress|cache-master|cache-replica)$/,
    added: /^django-(network-googleapis(-private|-wildcard)?|workload-django-database-egress)$/,
};

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

            test("today's program finds every resource of the edited state with the same inputs: pulumi up replaces and changes nothing, and deletes only the pods' old Token Creator on themselves", async () => {
                const { document } = migrateExport(before(stack));
                const { main: now } = await renderNew(stack);
                const nowByUrn = new Map(now.deployment.resources.map((r) => [r.urn, r]));
                const deleted = document.deployment.resources.filter((r) => !nowByUrn.has(r.urn));
                // Only the pods' Token Creator on themselves (the old Media's `<grantee>-signer`
                // bindings), replaced by the IAM step's URL signer role.
                assert.deepEqual(
                    deleted.map((r) => `${r.type} ${nameOf(r.urn)}`),
                    (stack === "staging" ? ["web"] : ["web", "worker-tasks"]).map((g) => `gcp:serviceaccount/iAMMember:IAMMember django-media-${g}-signer`),
                    "resources the next pulumi up would delete",
                );
                const changed = document.deployment.resources
                    .filter((r) => !r.type.startsWith("pulumi:") && nowByUrn.has(r.urn))
                    .filter((r) => {
                        const n = nowByUrn.get(r.urn);
                        return n?.type !== r.type || (r.inputsSha256 ? r.inputsSha256 !== inputsDigest(n?.inputs ?? {}) : inputsDigest(r.inputs) !== inputsDigest(n?.inputs ?? {}));
                    })
                    .map((r) => nameOf(r.urn));
                assert.deepEqual(changed.filter((n) => !RUNTIME_SECURITY.changed.test(n) && !LATER.changed.test(n)), [], "resources whose inputs differ (an update or a replacement) for another reason than the later changes");
                assert.ok(changed.includes("django-cluster-gke"), "the cluster gets binaryAuthorization DISABLED written");
                assert.ok(changed.includes("django-database-instance") && changed.includes("django-workload-web"), changed.join(", "));
                // And the program creates no account: it looks them up; it adds the migrate identity's
                // binding and the IAM database users.
                const added = now.deployment.resources.filter((r) => !document.deployment.resources.some((x) => x.urn === r.urn)).map((r) => nameOf(r.urn));
                assert.deepEqual(added.filter((n) => !RUNTIME_SECURITY.added.test(n) && !LATER.added.test(n)), []);
                assert.deepEqual(added.filter((n) => n.startsWith("django-database-iam-")).sort(), ["django-database-iam-migrate", "django-database-iam-web", ...(stack === "production" ? ["django-database-iam-worker-tasks"] : [])]);
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
                // The migrate identity came after the single-deployer layout: created, not imported.
                assert.ok(iam.resources.some((r) => r.type === "gcp:serviceaccount/account:Account" && String(r.inputs.accountId).endsWith("-migrate") && !r.importId));
                // The nodes' pull grant on the old registry: the IAM step makes the same binding (adding a
                // member that is there already changes nothing); the old one leaves with that registry.
                const oldPull = removed.find((r) => r.type === "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember");
                const newPull = iam.resources.find((r) => r.type === "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember");
                assert.deepEqual(newPull?.inputs, oldPull?.inputs);
                assert.equal(newPull?.importId, undefined);
                // New: what the deployer may do on the accounts (binder on pods, actAs on nodes), each
                // signing account's URL signer role on itself, the migrate account and its Cloud SQL
                // grants, and every database user's login (roles/cloudsql.instanceUser on the instance).
                const created = iam.resources.filter((r) => r.custom && !r.importId).map((r) => `${r.type} ${String(r.inputs.role)}`).sort();
                assert.ok(
                    created.every((c) => /iAMMember:IAMMember (projects\/.*\/roles\/(djangoPlatformPodIdentityBinder|djangoPlatformUrlSigner)|roles\/iam\.serviceAccountUser|roles\/cloudsql\.(client|instanceUser))$|RepositoryIamMember|account:Account undefined$/.test(c)),
                    created.join("\n"),
                );
                for (const grant of iam.resources.filter((r) => r.type === "gcp:projects/iAMMember:IAMMember" && r.inputs.role === "roles/cloudsql.instanceUser")) {
                    assert.ok(!grant.importId && (grant.inputs.condition as { expression?: string } | undefined)?.expression?.includes("sqladmin.googleapis.com/Instance"), `${grant.name} is new and conditioned on the instance`);
                }
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
