/**
 * The second `pulumi up`: every key of the configuration reference changed after the first deploy
 * (maint/lib/transitions/table.ts), rendered before and after under the mocks, planned the way the
 * engine plans it (maint/lib/transitions/plan.ts) and checked against the rules
 * (maint/lib/transitions/check.ts): nothing data-bearing replaced or deleted without protection or
 * a documented procedure, no replacement under a fixed name without deleting first, nothing deleted
 * while attached, and what the engine refuses is what the table says.
 *
 * Facts relied on, each checked below on synthetic resources:
 * - The engine replaces a resource when its provider's Diff says so or `replaceOnChanges` names the
 *   path, skips `ignoreChanges` paths, replaces every resource of a replaced provider
 *   (`providerChanged`), refuses to delete a protected resource (`DeleteStep.Apply`) and to replace
 *   one protected before and after (`new.Protect && old.Protect`), and only forgets a
 *   `retainOnDelete` resource (pulumi/pulumi pkg/resource/deploy/step_generator.go, step.go @ 1b59498).
 * - terraform-provider-google plans a replacement for a changed ForceNew field, and for an unknown
 *   one (the output of a replaced dependency); the fields are vendored in providerRules.ts @ e03b762.
 * - CI's deployer may not destroy KMS key versions (bootstrap/permissionTable.ts `destroyOnly`), so a
 *   transition that deletes the cluster's Secrets key is run by a human.
 * - pulumi-kubernetes replaces on `.metadata.name`/`.namespace` and the kind's `forceNew` paths
 *   (matched as prefixes), on any data change of a Secret or ConfigMap unless made mutable, and
 *   deletes first when the user-given name stays (provider.go `Diff`, diff.go @ 9497796).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { formatPath } from "../config";
import { schemaLeaves } from "../maint/gen-config-docs";
import { TRANSITIONS_DOC } from "../maint/gen-transition-docs";
import type { CapturedResource } from "../cli/lib/mockRuntime";
import { CONTROLLER_ATTACHMENTS, checkPlan, dataBearing } from "../maint/lib/transitions/check";
import { changedPaths, planTransition, type Plan } from "../maint/lib/transitions/plan";
import { K8S_FORCE_NEW, TYPE_RULES, classifyPath } from "../maint/lib/transitions/providerRules";
import { renderTable, spliceTable, TransitionRunner, type RowResult } from "../maint/lib/transitions/run";
import { TRANSITIONS } from "../maint/lib/transitions/table";
import { ROOT } from "./helpers/platform";

let seq = 0;
/** A synthetic registered resource. */
function res(type: string, name: string, inputs: Record<string, unknown>, more: Partial<CapturedResource> = {}): CapturedResource {
    const urn = `urn:pulumi:t::p::${type}::${name}`;
    const id = `${name}-id`;
    return { urn, type, name, custom: true, dependencies: [], inputs, secretInputs: [], outputs: { ...inputs, name: (inputs.name as string) ?? `${name}-${++seq}abc` }, id, protect: false, ...more };
}
const step = (plan: Plan, name: string) => plan.steps.find((s) => s.name === name)!;

describe("the engine model (maint/lib/transitions/plan.ts)", () => {
    const BUCKET = "gcp:storage/bucket:Bucket";

    it("diffs inputs leaf by leaf; missing, null and empty containers are the same", () => {
        assert.deepEqual(changedPaths({ a: { b: 1, c: [1, 2] }, d: [] }, { a: { b: 2, c: [1] }, e: {} }), ["a.b", "a.c[1]"]);
        assert.deepEqual(changedPaths({ labels: { "app.kubernetes.io/name": "x" } }, { labels: { "app.kubernetes.io/name": "y" } }), ['labels["app.kubernetes.io/name"]']);
    });

    it("a ForceNew input replaces, an updatable one updates, an input no rule covers is reported by type and path", () => {
        const before = [res(BUCKET, "b", { location: "EU", cors: [{ origins: ["https://a"] }], autoclass: { enabled: false } })];
        const plan = planTransition(before, [res(BUCKET, "b", { location: "US", cors: [{ origins: ["https://b"] }], autoclass: { enabled: true } })]);
        assert.equal(step(plan, "b").action, "replace");
        assert.deepEqual(step(plan, "b").changes.map((c) => `${c.path} ${c.effect}`), ["location replace", "cors[0].origins[0] update"]);
        assert.deepEqual(plan.unclassified, [`${BUCKET} autoclass.enabled`]);
        assert.equal(classifyPath(TYPE_RULES[BUCKET], "lifecycleRules[0].condition.age"), "update");
    });

    it("ignoreChanges drops a path; replaceOnChanges makes a path replace", () => {
        const sql = "gcp:sql/databaseInstance:DatabaseInstance";
        const a = planTransition([res(sql, "db", { settings: { diskSize: 10 } })], [res(sql, "db", { settings: { diskSize: 20 } }, { ignoreChanges: ["settings.diskSize"] })]);
        assert.equal(step(a, "db").action, "same");
        const b = planTransition([res(BUCKET, "b", { cors: [] })], [res(BUCKET, "b", { cors: [{ origins: ["x"] }] }, { replaceOnChanges: ["cors"] })]);
        assert.equal(step(b, "b").action, "replace");
    });

    it("a replaced resource's outputs are unknown to its dependents: a ForceNew reference replaces them too", () => {
        const bucket = res(BUCKET, "b", { location: "EU" });
        const grant = res("gcp:storage/bucketIAMMember:BucketIAMMember", "g", { bucket: bucket.outputs.name, role: "r", member: "m" }, { dependencies: [bucket.urn] });
        const after = [res(BUCKET, "b", { location: "US" }, { outputs: bucket.outputs }), { ...grant }];
        const plan = planTransition([bucket, grant], after);
        assert.equal(step(plan, "g").action, "replace");
        assert.match(step(plan, "g").changes[0].why, /unknown until a replaced dependency exists/);
    });

    it("Kubernetes: forceNew paths as prefixes, Secret/ConfigMap data, and delete-first under the same user-given name", () => {
        const job = (image: string) => res("kubernetes:batch/v1:Job", "j", { apiVersion: "batch/v1", kind: "Job", metadata: { name: "migrate-abc" }, spec: { template: { spec: { containers: [{ image }] } } } });
        const j = step(planTransition([job("a")], [job("b")]), "j");
        assert.deepEqual([j.action, j.deleteBeforeReplace, j.sameIdentity], ["replace", true, true]);
        const deployment = (image: string) => res("kubernetes:apps/v1:Deployment", "d", { apiVersion: "apps/v1", kind: "Deployment", spec: { selector: { matchLabels: { a: "b" } }, template: { spec: { containers: [{ image }] } } } });
        assert.equal(step(planTransition([deployment("a")], [deployment("b")]), "d").action, "update");
        const cm = (v: string) => res("kubernetes:core/v1:ConfigMap", "c", { apiVersion: "v1", kind: "ConfigMap", data: { A: v } });
        const c = step(planTransition([cm("1")], [cm("2")]), "c");
        assert.deepEqual([c.action, c.deleteBeforeReplace, c.sameIdentity], ["replace", false, false], "auto-named: a new name, created first");
        assert.deepEqual(K8S_FORCE_NEW["batch/v1/Job"].slice(0, 4), ["spec.completions", "spec.parallelism", "spec.template", "spec.selector"]);
    });

    it("every resource of a replaced provider resource is replaced", () => {
        const provider = (kubeconfig: string) => res("pulumi:providers:kubernetes", "k8s", { kubeconfig });
        const ns = (p: CapturedResource) => res("kubernetes:core/v1:Namespace", "ns", { apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } }, { provider: `${p.urn}::${p.id}` });
        const [p1, p2] = [provider("cluster-a"), provider("cluster-b")];
        const plan = planTransition([p1, ns(p1)], [p2, ns(p2)]);
        assert.equal(step(plan, "k8s").action, "replace");
        assert.deepEqual(step(plan, "ns").changes.map((c) => c.path), ["(provider)"]);
        assert.equal(step(plan, "ns").deleteBeforeReplace, false, "in another cluster the new object meets no old one: created first");
    });

    it("protect refuses a delete when the state protects it, a replacement only when state and program both do; retainOnDelete only forgets", () => {
        const b = (loc: string, protect: boolean, retainOnDelete = false) => res(BUCKET, "b", { location: loc }, { protect, retainOnDelete });
        assert.match(step(planTransition([b("EU", true)], []), "b").refused!, /cannot be deleted because it is protected/);
        assert.match(step(planTransition([b("EU", true)], [b("US", true)]), "b").refused!, /marked for protection/);
        assert.equal(step(planTransition([b("EU", true)], [b("US", false)]), "b").refused, undefined, "unprotect and replace in one up (pulumi/pulumi#8873)");
        assert.equal(step(planTransition([b("EU", false, true)], []), "b").retained, true);
    });
});

describe("the rules (maint/lib/transitions/check.ts)", () => {
    const BUCKET = "gcp:storage/bucket:Bucket";

    it("a data-bearing delete needs protection, retention or an acknowledgement naming why", () => {
        const plan = planTransition([res(BUCKET, "uploads", { location: "EU" })], []);
        assert.deepEqual(checkPlan(plan).map((f) => f.rule), ["data"]);
        assert.deepEqual(checkPlan(plan, { accept: { uploads: "disposable" } }), []);
        assert.deepEqual(checkPlan(planTransition([res(BUCKET, "uploads", { location: "EU" }, { protect: true })], []), { refused: ["uploads"] }), []);
        assert.equal(dataBearing(res("gcp:compute/globalAddress:GlobalAddress", "range", { addressType: "INTERNAL" })), undefined);
    });

    it("a replacement under the same name must delete first", () => {
        const user = (password: string, deleteBeforeReplace: boolean) => res("gcp:sql/user:User", "u", { instance: "i", name: "django", password, type: "BUILT_IN" }, { deleteBeforeReplace });
        const plan = (dbr: boolean) => planTransition([user("a", dbr)], [{ ...user("a", dbr), inputs: { instance: "i", name: "django", password: "a", type: "CLOUD_IAM_USER" } }]);
        assert.deepEqual(checkPlan(plan(false), { accept: { u: "test" } }).map((f) => f.rule), ["fixed-name"]);
        assert.deepEqual(checkPlan(plan(true), { accept: { u: "test" } }), []);
    });

    it("nothing a GKE controller attached from a Kubernetes object is deleted by Pulumi", () => {
        const policy = res("gcp:compute/securityPolicy:SecurityPolicy", "armor", { type: "CLOUD_ARMOR" });
        const config = res("kubernetes:cloud.google.com/v1:BackendConfig", "web", { apiVersion: "cloud.google.com/v1", kind: "BackendConfig", spec: { securityPolicy: { name: policy.outputs.name } } });
        const off = { ...config, inputs: { ...config.inputs, spec: { securityPolicy: { name: "" } } } };
        assert.deepEqual(checkPlan(planTransition([policy, config], [off])).map((f) => f.rule), ["attached"]);
        assert.deepEqual(checkPlan(planTransition([{ ...policy, retainOnDelete: true }, config], [off])), []);
        assert.deepEqual(CONTROLLER_ATTACHMENTS.map((a) => a.kind), ["BackendConfig", "Ingress", "FrontendConfig"]);
    });

    it("a frontend attachment is released when the Ingress that depends on it is deleted first (its finalizer waits for the cleanup)", () => {
        const ip = res("gcp:compute/globalAddress:GlobalAddress", "ip", { addressType: "EXTERNAL" });
        const ingress = res("kubernetes:networking.k8s.io/v1:Ingress", "ing", { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { annotations: { "kubernetes.io/ingress.global-static-ip-name": ip.outputs.name } } }, { dependencies: [ip.urn] });
        assert.deepEqual(checkPlan(planTransition([ip, ingress], []), { accept: { ip: "test" } }), [], "pulumi destroy: the Ingress goes first");
        const unrelated = { ...ingress, dependencies: [] };
        assert.deepEqual(checkPlan(planTransition([ip, unrelated], [unrelated]), { accept: {} }, ["attached"]).map((f) => f.rule), ["attached", "attached"], "the address goes while the Ingress stays: it still names it, and its controller holds it");
    });

    it("what CI's deployer may not delete (destroying KMS key versions) needs a row saying a human runs it", () => {
        const key = res("gcp:kms/cryptoKey:CryptoKey", "key", { keyRing: "r", purpose: "ENCRYPT_DECRYPT" });
        const plan = planTransition([key], []);
        assert.deepEqual(checkPlan(plan, { accept: { key: "test" } }).map((f) => f.rule), ["permission"]);
        assert.deepEqual(checkPlan(plan, { accept: { key: "test" }, byHuman: "owner" }), []);
        const abandoned = res("gcp:servicenetworking/connection:Connection", "psa", { network: "n", service: "s", deletionPolicy: "ABANDON" });
        assert.deepEqual(checkPlan(planTransition([abandoned], [])), [], "ABANDON calls no delete");
    });

    it("a refusal the row does not expect, or an expected one that does not happen, is reported", () => {
        const plan = planTransition([res(BUCKET, "b", { location: "EU" }, { protect: true })], [res(BUCKET, "b", { location: "US" }, { protect: true })]);
        assert.deepEqual(checkPlan(plan).map((f) => f.rule), ["refused"]);
        assert.deepEqual(checkPlan(plan, { refused: ["b"] }), []);
    });
});

describe("the vendored provider rules name real inputs", () => {
    // Each Google row's paths start with an input property of the type's Args in @pulumi/gcp, so a
    // typo cannot make a rule that never matches.
    for (const [type, rules] of Object.entries(TYPE_RULES).filter(([t]) => t.startsWith("gcp:"))) {
        it(type, () => {
            const [, module, kind] = type.split(":");
            const [dir, file] = module.split("/");
            const folder = path.join(ROOT, "node_modules/@pulumi/gcp", dir);
            const dtsName = readdirSync(folder).find((f) => f.toLowerCase() === `${file.toLowerCase()}.d.ts`);
            assert.ok(dtsName, `${type}: no ${file}.d.ts in @pulumi/gcp/${dir}`);
            const dts = readFileSync(path.join(folder, dtsName), "utf8");
            const args = dts.slice(dts.indexOf(`export interface ${kind}Args {`));
            const block = args.slice(0, args.indexOf("\n}"));
            const props = new Set([...block.matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]));
            for (const p of [...rules.replace, ...rules.update, ...rules.identity]) {
                assert.ok(props.has(p.split(".")[0]), `${type}: ${p} is not an input of ${kind}Args`);
            }
        });
    }
});

describe("the transition table covers every key of the configuration reference", () => {
    const keys = [...["gcp:project", "gcp:region"], ...schemaLeaves().map((l) => formatPath(l.path))];

    it("every key has a row (a new key needs a decision about what changing it does)", () => {
        const covered = new Set(TRANSITIONS.flatMap((r) => [r.key, ...(r.alsoKeys ?? [])]));
        assert.deepEqual(keys.filter((k) => !covered.has(k)), []);
    });

    it("every row names a key of the reference", () => {
        assert.deepEqual(TRANSITIONS.flatMap((r) => [r.key, ...(r.alsoKeys ?? [])]).filter((k) => !keys.includes(k)), []);
    });
});

describe("transitions of the shipped stacks", () => {
    const runner = new TransitionRunner();
    const results: RowResult[] = [];
    before(async () => {
        for (const row of TRANSITIONS) {
            results.push(await runner.run(row));
        }
    });

    for (const [i, row] of TRANSITIONS.entries()) {
        it(`${row.key}: ${row.change} (${row.stack})`, () => {
            const result = results[i];
            if (row.refusedByValidation) {
                assert.match(result.configError ?? "(validation accepted it)", row.refusedByValidation);
                return;
            }
            assert.equal(result.configError, undefined);
            assert.deepEqual(result.findings.map((f) => `${f.rule}: ${f.message}`), []);
            // An acknowledgement of a step that does not happen is stale.
            const removing = new Set(result.plan?.steps.filter((s) => s.action === "replace" || s.action === "delete").map((s) => s.name));
            assert.deepEqual(Object.keys(row.accept ?? {}).filter((name) => !removing.has(name)), [], "accepted but neither replaced nor deleted");
        });
    }

    it("docs/transitions.md's table is the table's plan (npm run docs:transitions)", () => {
        const doc = readFileSync(TRANSITIONS_DOC, "utf8");
        assert.equal(doc, spliceTable(doc, renderTable(results)));
    });
});
