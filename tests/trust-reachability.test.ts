/**
 * What each GitHub Actions context can reach in Google Cloud, computed from the rendered bootstrap,
 * IAM step and main stacks (tests/lib/trustModel.ts: the federation's rendered condition and
 * mapping evaluated on the job's token, then impersonation, role bindings with their conditions
 * evaluated on the resources' names, custom roles' permissions and key grants, with escalation
 * through service accounts, Workload Identity and setIamPolicy, to a fixed point).
 *
 * The contexts are the jobs GitHub can run for this repository: a fork's pull request (no OIDC
 * token at all), pushes to other branches, pull requests, the image job and the two deploy jobs on
 * main, and the events that run on main but are not pushes (pull_request_target, workflow_run,
 * issue_comment, schedule, workflow_dispatch), each naming an environment where that is the attack.
 * What the model relies on, with sources: docs/gcp-facts.md ("Trust layout" rows).
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { DEPLOY_REF } from "../bootstrap/githubFederation";
import { JOBS, NOTHING, PR_REF, job, reachOf, violations } from "./lib/trustContexts";
import { RESOURCE_ATTRIBUTE_SERVICES, TrustModel, capabilities, changesIam } from "./lib/trustModel";
import { REPOSITORY, bootstrapConfig, renderLayout } from "./lib/trustRenders";

const STACK_PROJECTS = { staging: "acme-django-staging", production: "acme-django-prod" };

describe("reachability of the trust layout from every GitHub context", () => {
    let model: TrustModel;

    before(async () => {
        model = new TrustModel(await renderLayout({ bootstrap: bootstrapConfig(STACK_PROJECTS) }));
    });

    test("the layout holds: no violation", () => {
        assert.deepEqual(violations(model), []);
    });

    for (const name of Object.keys(NOTHING)) {
        test(`${name}: no account, nothing reachable`, () => {
            const reach = model.reach(NOTHING[name]);
            // At most a federated token (Google maps every admitted job), which nothing is bound to.
            assert.deepEqual({ accounts: reach.principals.filter((p) => !p.startsWith("principal://")), grants: reach.grants.length }, { accounts: [], grants: 0 });
        });
    }

    test("the image job pushes images to the one repository and reaches nothing else", () => {
        const reach = reachOf(model, JOBS.image);
        const c = capabilities(model, reach.grants);
        assert.equal(c.pushImage, true);
        assert.deepEqual([...new Set(reach.grants.map((g) => g.resource))], model.repositories());
        assert.deepEqual({ deploy: c.deploy, decrypt: c.decrypt, readState: c.readState, changeIam: c.changeIam }, { deploy: [], decrypt: [], readState: [], changeIam: [] });
        const forbidden = reach.grants.filter((g) => /^artifactregistry\.(repositories|packages|versions|tags|dockerimages)\.(delete|setIamPolicy)$/.test(g.permission));
        assert.deepEqual(forbidden, [], "cannot delete images or change who may push");
    });

    for (const [stack, other] of [["staging", "production"], ["production", "staging"]] as const) {
        test(`environment ${stack}: deploys, decrypts and keeps the state of ${stack} only; IAM changes only on ${stack}'s own resources`, () => {
            const reach = reachOf(model, JOBS[stack]);
            const c = capabilities(model, reach.grants);
            assert.deepEqual({ deploy: c.deploy, decrypt: c.decrypt, readState: c.readState, writeState: c.writeState, pushImage: c.pushImage }, { deploy: [stack], decrypt: [stack], readState: [stack], writeState: [stack], pushImage: false });
            assert.ok(!c.touches.includes(other) && !c.touches.includes(`iam:${other}`) && !c.touches.includes(`iam:${stack}`), `touches ${c.touches.join(", ")}`);
            assert.deepEqual(c.changeIam.filter((g) => !g.endsWith(`(${stack})`)), []);
            // What IAM it can change, and why: its pod accounts' Workload Identity bindings, its own buckets and Secrets key.
            assert.ok(c.changeIam.length > 0);
            // It becomes its own pod and node accounts (Kubernetes, actAs), never a CI or another stack's account.
            for (const principal of reach.principals.filter((p) => p.startsWith("serviceAccount:"))) {
                assert.ok(principal.endsWith(`@${model.stackProjects[stack]}.iam.gserviceaccount.com`) || principal.includes(`gh-deploy-${stack}@`), `${stack} becomes ${principal}`);
            }
        });
    }

    test("the approved preview of staging reads staging's state and secrets, writes nothing, reaches nothing else", () => {
        const reach = reachOf(model, JOBS.previewStaging);
        const c = capabilities(model, reach.grants);
        assert.deepEqual({ deploy: c.deploy, decrypt: c.decrypt, readState: c.readState, writeState: c.writeState, changeIam: c.changeIam, pushImage: c.pushImage }, { deploy: [], decrypt: ["staging"], readState: ["staging"], writeState: [], changeIam: [], pushImage: false });
        assert.deepEqual(c.touches, ["home", "staging"]);
        // Of the state bucket it reads the stack file of staging and the layout marker only.
        const objects = reach.grants.filter((g) => g.permission === "storage.objects.get").map((g) => g.resource.split("/objects/")[1]);
        assert.deepEqual([...new Set(objects)].sort(), [".pulumi/meta.yaml", ".pulumi/stacks/django-platform/staging.json", ".pulumi/stacks/django-platform/staging.json.bak"]);
    });

    test("a stolen pod token mints no token: each pod account signs blobs as itself and impersonates nobody", () => {
        // The accounts the IAM step creates for pods (web, migrate, collectstatic, workers), per stack.
        const pods = model.bindings.filter((b) => b.role === "roles/iam.workloadIdentityUser" && /\.svc\.id\.goog\[/.test(b.member)).map((b) => b.resource);
        assert.ok(pods.length >= 7, pods.join("\n"));
        const MINT = ["iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.signJwt", "iam.serviceAccounts.implicitDelegation", "iam.serviceAccounts.actAs", "iam.serviceAccounts.setIamPolicy"];
        for (const account of new Set(pods)) {
            const member = `serviceAccount:${account.split("/serviceAccounts/")[1]}`;
            const reach = model.reachFrom([member]);
            assert.deepEqual(reach.principals, [member], `${member} becomes ${reach.principals.join(", ")}`);
            assert.deepEqual(reach.grants.filter((g) => g.resource.includes("/serviceAccounts/") && (MINT.includes(g.permission) || g.permission === "*")), [], `${member} may mint tokens`);
            const signs = reach.grants.filter((g) => g.permission === "iam.serviceAccounts.signBlob").map((g) => g.resource);
            assert.ok(signs.every((r) => r === account), `${member} signs as ${signs.join(", ")}`);
        }
    });

    test("a pod account connects to and logs in to its own stack's Cloud SQL instance only, and administers none", () => {
        const instances = Object.fromEntries(Object.entries(model.stackProjects).map(([stack, project]) => [stack, [...model.resources.values()].filter((r) => r.type === "sqladmin.googleapis.com/Instance" && r.project === project).map((r) => r.name)]));
        for (const [stack, own] of Object.entries(instances)) {
            assert.equal(own.length, 1, `${stack}'s instance`);
            // Another instance in the same project: the conditions keep the pods out of it.
            const other = `projects/${model.stackProjects[stack]}/instances/someone-elses-db`;
            model.resources.set(other, { name: other, type: "sqladmin.googleapis.com/Instance", service: "sqladmin.googleapis.com", project: model.stackProjects[stack], owner: stack });
            try {
                for (const b of model.bindings.filter((x) => x.role === "roles/iam.workloadIdentityUser" && x.member.startsWith(`serviceAccount:${model.stackProjects[stack]}.svc.id.goog[`))) {
                    const member = `serviceAccount:${b.resource.split("/serviceAccounts/")[1]}`;
                    const sql = model.reachFrom([member]).grants.filter((g) => g.permission.startsWith("cloudsql."));
                    assert.ok(sql.every((g) => own.includes(g.resource)), `${member}: ${sql.map((g) => `${g.permission} ${g.resource}`).join(", ")}`);
                    assert.deepEqual(sql.filter((g) => !["cloudsql.instances.connect", "cloudsql.instances.get", "cloudsql.instances.login", "cloudsql.instances.executeSql"].includes(g.permission)), [], `${member} administers Cloud SQL`);
                    const logsIn = sql.some((g) => g.permission === "cloudsql.instances.login");
                    assert.equal(logsIn, !/-static@/.test(member), `${member}: logs in to the database ${logsIn ? "but should not" : "but must"}`);
                }
            } finally {
                model.resources.delete(other);
            }
        }
    });

    test("no CI context can change the federation, the CI accounts, the state bucket or the registry", () => {
        for (const claims of [JOBS.image, JOBS.staging, JOBS.production, JOBS.previewStaging]) {
            const changes = model.reach(claims).grants.filter((g) => changesIam(g.permission) && model.ownerOf(g.resource) === "home");
            assert.deepEqual(changes, []);
        }
    });

    test("each job of the workflows can become exactly the account its service_account names (and a pull request never a deployer)", () => {
        const printed = new Map(
            (model.inputsForTests().bootstrap.stackOutputs.githubVariableCommands as string[]).map((c) => {
                const m = /^gh variable set (\S+) --repo \S+ --body '([^']*)'$/.exec(c);
                return [m?.[1] ?? "", m?.[2] ?? ""];
            }),
        );
        const dir = join(__dirname, "..", ".github", "workflows");
        let checked = 0;
        for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
            const workflow = parse(readFileSync(join(dir, file), "utf8")) as {
                on: Record<string, { branches?: string[] } | null>;
                jobs: Record<string, { environment?: string | { name: string }; steps: { uses?: string; with?: Record<string, string> }[] }>;
            };
            for (const [name, j] of Object.entries(workflow.jobs)) {
                const auth = j.steps.find((s) => s.uses?.startsWith("google-github-actions/auth@"));
                if (!auth) {
                    continue;
                }
                const variable = /^\$\{\{ vars\.([A-Z0-9_]+) \}\}$/.exec(String(auth.with?.service_account))?.[1];
                const email = variable ? printed.get(variable) : undefined;
                assert.ok(email, `${file} job ${name}: service_account ${String(auth.with?.service_account)} is no variable the bootstrap prints`);
                const environment = typeof j.environment === "string" ? j.environment : j.environment?.name;
                for (const [event, filter] of Object.entries(workflow.on)) {
                    const refs = event === "pull_request" ? [PR_REF] : (filter?.branches ?? ["main"]).map((b) => `refs/heads/${b}`);
                    for (const ref of refs) {
                        const reach = model.reach(job(event, ref, file, environment ? { environment } : {}));
                        assert.ok(reach.principals.includes(`serviceAccount:${email}`), `${file} job ${name} (${event} on ${ref}) cannot become ${email}`);
                        if (event === "pull_request") {
                            assert.ok(!reach.principals.some((p) => /gh-(deploy|image)/.test(p)), `${file} job ${name}: a pull request run becomes ${reach.principals.join(", ")}`);
                        }
                        checked++;
                    }
                }
            }
        }
        assert.equal(checked, 4, "the image job, two deploy jobs and the preview job");
    });

    test("a renamed repository keeps deploying (trust is by id), another repository with the old name gets nothing", () => {
        const renamed = { ...(JOBS.staging as Record<string, string>), repository: "acme/django-site", job_workflow_ref: `acme/django-site/.github/workflows/deploy.yml@${DEPLOY_REF}` };
        assert.deepEqual(capabilities(model, model.reach(renamed).grants).deploy, ["staging"]);
    });

    test("conditions on resource names are only used where the service honours them (Cloud Storage, Cloud KMS, Cloud SQL)", () => {
        // On a bucket or key the resource is Cloud Storage's or Cloud KMS's; on a project, every
        // permission of the role is checked on some resource of the project.
        for (const b of model.bindings.filter((x) => x.condition?.includes("resource.") && x.resource.startsWith("projects/") && x.resource.split("/").length === 2)) {
            for (const permission of model.rolePermissions(b.role)) {
                const service = `${permission.split(".")[0].replace(/^resourcemanager$/, "cloudresourcemanager").replace(/^cloudsql$/, "sqladmin")}.googleapis.com`;
                assert.ok(RESOURCE_ATTRIBUTE_SERVICES.has(service), `${b.from}: ${permission} is checked by ${service}, which ignores resource attributes in conditions`);
            }
        }
    });

    test("the model itself: the single deployer of the old layout would fail these assertions (see docs/bootstrap.md)", () => {
        // A binding that gives the staging deployer production's key is reported.
        const widened = new TrustModel(model.inputsForTests(), model.roles);
        widened.bindings.push({ resource: widened.secretsKey("production"), role: "roles/cloudkms.cryptoKeyDecrypter", member: `serviceAccount:gh-deploy-staging@${widened.home}.iam.gserviceaccount.com`, from: "test" });
        assert.ok(violations(widened).some((v) => v === "environment staging: can decrypt production"), violations(widened).join("\n"));
        // A pool-wide binding on a deployer is reported for every context that exchanges a token.
        const open = new TrustModel(model.inputsForTests(), model.roles);
        open.bindings.push({ resource: `projects/${open.home}/serviceAccounts/gh-deploy-production@${open.home}.iam.gserviceaccount.com`, role: "roles/iam.workloadIdentityUser", member: `principal://iam.googleapis.com/${open.providers[0].pool}/subject/repo:${REPOSITORY.id}:pull_request`, from: "test" });
        assert.ok(violations(open).some((v) => v.startsWith("a pull request from a branch: reaches")), violations(open).join("\n"));
    });
});
