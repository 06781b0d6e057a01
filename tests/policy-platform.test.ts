/**
 * The pack on our own platform, rendered offline from the real program (index.ts under mocks):
 * every supported stack and mode has no mandatory violation, and deliberately insecure variants —
 * through stack config, or by changing one rendered resource — are caught by the right policy.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runPolicies, type PolicyViolation } from "../cli/lib/policyRunner";
import { buildStackExport, type StackExport } from "../cli/lib/stackExport";
import { renderStack, stackConfig, withoutStackTraces, type Overrides, type Rendered } from "./helpers/platform";

/** Renders by stack and overrides: the program is rendered once per input in this file. */
const renders = new Map<string, Promise<Rendered>>();

/**
 * The stack export of the platform for a stack file, with config overrides: a fresh copy each
 * call (tests change it), built from the one render of that input.
 */
async function platformExport(stack: string, overrides: Overrides = {}): Promise<StackExport> {
    const key = JSON.stringify([stack, overrides]);
    let rendered = renders.get(key);
    if (!rendered) {
        rendered = renderStack(stack, overrides);
        renders.set(key, rendered);
    }
    const { config, secretKeys } = stackConfig(stack, overrides);
    return buildStackExport(structuredClone((await rendered).result), { project: "django-platform", stack, config, secretKeys });
}

/** The pack's violations on a stack export. */
const violationsOf = (doc: StackExport): Promise<PolicyViolation[]> => withoutStackTraces(() => runPolicies(doc));

const mandatory = (violations: readonly PolicyViolation[]): string[] =>
    violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName} ${v.urn.slice(v.urn.lastIndexOf("::") + 2)}: ${v.message}`);

type Resource = StackExport["deployment"]["resources"][number];

/** The rendered resource of this type and Pulumi name (fails clearly if the platform renamed it). */
function find(doc: StackExport, type: string, name: string): Resource & { inputs: Record<string, any> } {
    const found = doc.deployment.resources.filter((r) => r.type === type && r.urn.endsWith(`::${name}`));
    assert.equal(found.length, 1, `the rendered platform has no single ${type} named ${name}`);
    return found[0] as Resource & { inputs: Record<string, any> };
}

describe("the rendered platform", () => {
    for (const [stack, overrides] of [
        ["staging", {}],
        ["production", {}],
        ["production", { "django-platform:cache": { mode: "memorystore", memorySizeGb: 5 } }],
        ["staging", { "django-platform:database": { connector: "private-ip" } }],
        ["staging", { "django-platform:network": { mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "psa" }, "django-platform:cluster": { mode: "existing", name: "shared-gke" } }],
    ] as const) {
        it(`has no mandatory violation: ${stack} ${JSON.stringify(overrides)}`, async () => {
            const doc = await platformExport(stack, overrides);
            assert.ok(doc.deployment.resources.length > 40);
            assert.deepEqual(mandatory(await violationsOf(doc)), []);
        });
    }

    it("is caught when production is configured like staging (zonal, unprotected database; one replica)", async () => {
        const doc = await platformExport("production", {
            "django-platform:database": { highAvailability: false, deletionProtection: false },
            "django-platform:workload": { minReplicas: 1 },
        });
        const policies = new Set(mandatory(await violationsOf(doc)).map((v) => v.split(" ")[0]));
        assert.deepEqual([...policies].sort(), [
            "hpa-keeps-two-replicas-in-production",
            "sql-instance-enables-deletion-protection-in-production",
            "sql-instance-is-highly-available-in-production",
        ]);
    });
});

const DB = "gcp:sql/databaseInstance:DatabaseInstance";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember";

/** Insecure changes to one rendered resource, and what must catch them. */
const insecureVariants: { readonly change: string; readonly mutate: (doc: StackExport) => void; readonly expect: RegExp }[] = [
    {
        change: "public IP on the database",
        mutate: (doc) => { find(doc, DB, "django-database-instance").inputs.settings.ipConfiguration.ipv4Enabled = true; },
        expect: /^sql-instance-disables-public-ip django-database-instance: settings\.ipConfiguration\.ipv4Enabled is true/,
    },
    {
        change: "privileged web container",
        mutate: (doc) => { find(doc, DEPLOYMENT, "django-workload-web").inputs.spec.template.spec.containers[0].securityContext.privileged = true; },
        expect: /^pod-forbids-privileged-containers django-workload-web: container "web" sets securityContext\.privileged: true/,
    },
    {
        change: "public write on the statics bucket",
        mutate: (doc) => { find(doc, BUCKET_MEMBER, "django-statics-public-read").inputs.role = "roles/storage.objectAdmin"; },
        expect: /^storage-bucket-allows-public-read-only-on-statics django-statics-public-read: .*grants roles\/storage\.objectAdmin to allUsers/,
    },
    {
        change: "public read moved to the log bucket",
        mutate: (doc) => {
            const member = find(doc, BUCKET_MEMBER, "django-statics-public-read");
            const logs = find(doc, "gcp:storage/bucket:Bucket", "django-statics-logs");
            member.inputs.bucket = logs.inputs.name ?? "logs";
            (member as { dependencies: string[] }).dependencies = [logs.urn];
        },
        expect: /^storage-bucket-allows-public-read-only-on-statics django-statics-public-read: .*makes bucket django-statics-logs public to allUsers/,
    },
    {
        change: "replicas on the Deployment the HPA scales",
        mutate: (doc) => { find(doc, DEPLOYMENT, "django-workload-web").inputs.spec.replicas = 2; },
        expect: /^hpa-target-omits-replicas django-workload-web: django-workload-web sets spec\.replicas \(2\)/,
    },
    {
        change: "no default-deny NetworkPolicy",
        mutate: (doc) => {
            const deny = find(doc, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "django-workload-default-deny");
            doc.deployment.resources.splice(doc.deployment.resources.indexOf(deny), 1);
        },
        expect: /^workload-has-default-deny-network-policy django-workload-web: django-workload-web is not selected by a default-deny/,
    },
    {
        change: "no PodDisruptionBudget for the web Deployment",
        mutate: (doc) => {
            const pdb = find(doc, "kubernetes:policy/v1:PodDisruptionBudget", "django-workload-web");
            doc.deployment.resources.splice(doc.deployment.resources.indexOf(pdb), 1);
        },
        expect: /^deployment-has-pod-disruption-budget django-workload-web: Deployment django-workload-web has no PodDisruptionBudget/,
    },
];

describe("insecure variants of the rendered platform", () => {
    for (const variant of insecureVariants) {
        it(`are caught: ${variant.change}`, async () => {
            const doc = await platformExport("staging");
            variant.mutate(doc);
            const found = mandatory(await violationsOf(doc));
            assert.ok(found.some((v) => variant.expect.test(v)), `expected ${variant.expect}, got:\n${found.join("\n")}`);
        });
    }
});
