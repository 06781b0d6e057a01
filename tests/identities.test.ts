/**
 * One list of a stack's service accounts (components/identities.ts) for both programs: in every
 * mode the type generator renders, every account the main program looks up is one the IAM step
 * creates, and the other way round; the Workload Identity binding of each names the Kubernetes
 * service account its pods run as; the project grants the IAM step makes are what the pods use.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { databaseInstanceCondition, databaseInstancePrefix, stackIdentities } from "../components/identities";
import { TYPE_RENDERS, renderIamProgram, renderProgram } from "../maint/gen-deployer-types";
import { withoutStackTraces } from "./helpers/platform";

describe("the main program and the IAM step read one list of accounts", () => {
    for (const render of TYPE_RENDERS) {
        test(render.name, async () => {
            const main = await withoutStackTraces(() => renderProgram(render));
            const iam = await withoutStackTraces(() => renderIamProgram(render));
            const lookedUp = main.invokes.filter((i) => i.token === "gcp:serviceaccount/getAccount:getAccount").map((i) => `${String(i.inputs.project)}/${String(i.inputs.accountId)}`).sort();
            const created = iam.resources.filter((r) => r.type === "gcp:serviceaccount/account:Account").map((r) => `${String(r.inputs.project)}/${String(r.inputs.accountId)}`).sort();
            assert.deepEqual([...new Set(lookedUp)], created);
            assert.deepEqual(main.resources.filter((r) => r.type === "gcp:serviceaccount/account:Account"), [], "the program creates no account");
            // Each pod account's Workload Identity binding names the KSA its pods run as.
            const bindings = main.resources.filter((r) => r.type === "gcp:serviceaccount/iAMMember:IAMMember" && r.inputs.role === "roles/iam.workloadIdentityUser");
            const ksas = bindings.map((b) => /\[(.+)\/(.+)\]$/.exec(String(b.inputs.member))?.[2]).sort();
            const podAccounts = created.filter((a) => !a.includes("/gke-nodes-"));
            assert.equal(bindings.length, podAccounts.length, "one binding per pod account");
            for (const ksa of ksas) {
                assert.ok(main.resources.some((r) => r.type === "kubernetes:core/v1:ServiceAccount" && (r.inputs.metadata as { name?: string }).name === ksa), `no Kubernetes service account ${ksa}`);
            }
            // roles/cloudsql.client exactly where pods run the Auth Proxy sidecar.
            const proxied = main.resources.some((r) => JSON.stringify(r.inputs).includes("cloud-sql-proxy"));
            const sqlClients = iam.resources.filter((r) => r.type === "gcp:projects/iAMMember:IAMMember" && r.inputs.role === "roles/cloudsql.client");
            assert.equal(sqlClients.length > 0, proxied, `${render.name}: roles/cloudsql.client ${proxied ? "missing" : "granted without the proxy"}`);
        });
    }

    test("the IAM step's Cloud SQL grants are conditioned on the name the main program's instance gets", async () => {
        for (const render of TYPE_RENDERS.filter((r) => r.overrides["django-platform:database"] === undefined).slice(0, 2)) {
            const main = await withoutStackTraces(() => renderProgram(render));
            const iam = await withoutStackTraces(() => renderIamProgram(render));
            const instance = main.resources.find((r) => r.type === "gcp:sql/databaseInstance:DatabaseInstance");
            const name = `projects/${String(instance?.inputs.project)}/instances/${String(instance?.outputs.name)}`;
            const grants = iam.resources.filter((r) => r.type === "gcp:projects/iAMMember:IAMMember" && String(r.inputs.role).startsWith("roles/cloudsql."));
            assert.ok(grants.length >= 4, render.name);
            for (const g of grants) {
                const expression = String((g.inputs.condition as { expression?: string } | undefined)?.expression);
                assert.equal(expression, databaseInstanceCondition(String(g.inputs.project)));
                assert.ok(name.startsWith(databaseInstancePrefix(String(g.inputs.project))), `${name} does not match ${expression}`);
            }
        }
    });

    test("ids fit Google's rules and do not collide, however long the worker names", () => {
        const workers = Object.fromEntries(["tasks", "a-very-long-worker-name1", "a-very-long-worker-name2"].map((n) => [n, {}]));
        const ids = stackIdentities({ project: "acme-django-prod", stack: "production-eu-west", database: { connector: "auth-proxy" }, media: { enabled: true }, cluster: { mode: "autopilot" }, workers });
        const all = [...ids.pods.map((p) => p.accountId), ids.nodes?.accountId ?? ""];
        assert.equal(new Set(all).size, all.length);
        for (const id of all) {
            assert.match(id, /^[a-z]([-a-z0-9]{4,28})[a-z0-9]$/, id);
        }
    });
});
