/**
 * The deployer role computed from the resource graph: every type the program registers in any mode
 * has a row in bootstrap/permissionTable.ts, the committed bootstrap/resourceTypes.json is what the
 * renders produce, the role holds every row's permissions (and none a destroy alone needs), every
 * permission name is well-formed and known, and every row says where its facts come from.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import {
    DEPLOYER_PERMISSIONS,
    DEPLOYER_PREDEFINED_ROLES,
    GRANTABLE_PROJECT_ROLES,
    IAM_PROGRAM_TYPES,
    PROGRAM_TYPES,
    deployerPermissions,
    destroyOnlyPermissions,
    iamStepPermissions,
    podBinderPermissions,
    previewInvokePermissions,
    previewerPermissions,
    programPermissions,
    resourceIamPermissions,
} from "../bootstrap/deployerRoles";
import { PERMISSION_NAME, PERMISSION_TABLE, kubernetesIamPermissions, permissionsFor, rowFor, rowPermissions, type PermissionRow, type ProgramTypes } from "../bootstrap/permissionTable";
import { KNOWN_PERMISSIONS_FILE, RESOURCE_TYPES_FILE, TYPE_RENDERS, formatTypesFile, renderIamProgram, renderProgram, typesFile, typesOf } from "../maint/gen-deployer-types";
import type { CaptureResult } from "../cli/lib/mockRuntime";
import type { SynthReport } from "../cli/lib/report";
import { synth } from "../cli/synth";
import { withoutStackTraces } from "./helpers/platform";

interface KnownPermissions {
    readonly source: string;
    readonly collections: string[];
    readonly permissions: string[];
    readonly predefinedRoles: Record<string, string[]>;
}
const KNOWN = JSON.parse(readFileSync(KNOWN_PERMISSIONS_FILE, "utf8")) as KnownPermissions;

/** Every permission a row names, destroy-only ones included. */
const allOf = (r: PermissionRow): string[] => [...rowPermissions(r), ...r.destroyOnly.map((d) => d.permission)];

describe("the permission table covers what the program renders, in every mode", () => {
    const runs: { name: string; result: CaptureResult }[] = [];
    const iamRuns: { name: string; result: CaptureResult }[] = [];
    let rendered: ProgramTypes;

    before(async () => {
        for (const render of TYPE_RENDERS) {
            runs.push({ name: render.name, result: await withoutStackTraces(() => renderProgram(render)) });
            iamRuns.push({ name: render.name, result: await withoutStackTraces(() => renderIamProgram(render)) });
        }
        const file = typesFile(TYPE_RENDERS, runs.map((r) => typesOf(r.result)), iamRuns.map((r) => typesOf(r.result)));
        rendered = { resources: file.resources, invokes: file.invokes };
    });

    test("every rendered resource type and invoked function has a row", () => {
        const missing = runs.flatMap(({ name, result }) => permissionsFor(typesOf(result)).missing.map((t) => `${t} (${name})`));
        assert.deepEqual(missing, [], `no row in bootstrap/permissionTable.ts for:\n  ${missing.join("\n  ")}\nFix: add a row (provider calls + sources), then \`npm run gen:deployer-types\`.`);
    });

    test("bootstrap/resourceTypes.json is what the renders produce (run `npm run gen:deployer-types` if this fails)", () => {
        const expected = formatTypesFile(typesFile(TYPE_RENDERS, runs.map((r) => typesOf(r.result)), iamRuns.map((r) => typesOf(r.result))));
        assert.equal(readFileSync(RESOURCE_TYPES_FILE, "utf8"), expected);
        assert.deepEqual(PROGRAM_TYPES, rendered);
    });

    test("the renders reach every mode: Memorystore, the CDN, the existing network and cluster", () => {
        for (const type of ["gcp:redis/instance:Instance", "gcp:compute/globalForwardingRule:GlobalForwardingRule", "gcp:servicenetworking/connection:Connection", "kubernetes:apps/v1:StatefulSet"]) {
            assert.ok(rendered.resources.includes(type), `no render registers ${type}`);
        }
        for (const token of ["gcp:container/getCluster:getCluster", "gcp:compute/getNetwork:getNetwork", "gcp:compute/getGlobalAddress:getGlobalAddress", "gcp:organizations/getProject:getProject"]) {
            assert.ok(rendered.invokes.includes(token), `no render invokes ${token}`);
        }
    });

    test("the main program creates no service account and changes no project IAM: those are the IAM step's, in every mode", () => {
        for (const { name, result } of runs) {
            const iamOnly = result.resources.filter((r) => rowFor(r.type)?.via === "iam-step").map((r) => `${r.type} ${r.name}`);
            assert.deepEqual(iamOnly, [], `${name}: the program registers what only the IAM step may create`);
            assert.deepEqual(programPermissions(typesOf(result)).iamStep, [], name);
        }
        assert.throws(() => deployerPermissions({ ...PROGRAM_TYPES, resources: [...PROGRAM_TYPES.resources, "gcp:serviceaccount/account:Account"] }), /only the IAM step \(iam\/\) may create/);
    });

    test("the IAM step's project grants are roles its condition lets it grant, in every mode", () => {
        for (const { name, result } of iamRuns) {
            for (const m of result.resources.filter((r) => r.type === "gcp:projects/iAMMember:IAMMember")) {
                assert.ok(GRANTABLE_PROJECT_ROLES.includes(String(m.inputs.role)), `${name}: ${m.name} grants ${String(m.inputs.role)}, which grantCondition refuses. Fix: add it to GRANTABLE_PROJECT_ROLES (bootstrap/deployerRoles.ts) if it is safe to grant`);
            }
        }
    });

    test("roles/container.developer allows every Kubernetes kind rendered; container.viewer reads all but Secrets", () => {
        const developer = new Set(KNOWN.predefinedRoles["roles/container.developer"]);
        const viewer = new Set(KNOWN.predefinedRoles["roles/container.viewer"]);
        const unreadable: string[] = [];
        for (const type of rendered.resources.filter((t) => t.startsWith("kubernetes:"))) {
            const { write, read } = kubernetesIamPermissions(type);
            assert.deepEqual([...write, ...read].filter((p) => !developer.has(p)), [], `${type}: not in roles/container.developer`);
            unreadable.push(...read.filter((p) => !viewer.has(p)));
        }
        // A refresh of the Secrets needs more than container.viewer (see PREVIEWER_PREDEFINED_ROLES).
        assert.deepEqual(unreadable, ["container.secrets.get", "container.secrets.list"]);
    });
});

describe("the deployer's custom role", () => {
    const role = new Set(deployerPermissions());

    test("holds every permission of the rows of the types present", () => {
        for (const type of [...PROGRAM_TYPES.resources, ...PROGRAM_TYPES.invokes]) {
            const row = rowFor(type);
            assert.ok(row, type);
            if (row.via === "deployer-role") {
                assert.deepEqual(rowPermissions(row).filter((p) => !role.has(p)), [], `${type}: missing from the role`);
            }
        }
        assert.deepEqual([...new Set(DEPLOYER_PERMISSIONS.flatMap((g) => g.permissions))].sort(), deployerPermissions());
    });

    test("includes what the hand-written role missed: setLabels after create, the cluster's instance group managers, subnet policy", () => {
        for (const p of ["compute.globalAddresses.setLabels", "compute.globalForwardingRules.setLabels", "compute.instanceGroupManagers.list", "compute.networks.updatePolicy", "container.operations.get", "redis.instances.getAuthString"]) {
            assert.ok(role.has(p), `${p} is not in the role`);
        }
    });

    test("is computed from the types present: a regional address would add compute.addresses.setLabels", () => {
        assert.ok(!role.has("compute.addresses.setLabels"), "no render creates a gcp:compute/address:Address");
        const withAddress = deployerPermissions({ ...PROGRAM_TYPES, resources: [...PROGRAM_TYPES.resources, "gcp:compute/address:Address"] });
        for (const p of ["compute.addresses.setLabels", "compute.addresses.create", "compute.addresses.createInternal"]) {
            assert.ok(withAddress.includes(p), p);
        }
    });

    test("a type without a row is reported, and the bootstrap refuses to compute a short role", () => {
        const types = { ...PROGRAM_TYPES, resources: [...PROGRAM_TYPES.resources, "gcp:foo/bar:Bar"] };
        assert.deepEqual(permissionsFor(types).missing, ["gcp:foo/bar:Bar"]);
        assert.deepEqual(permissionsFor({ resources: [], invokes: ["gcp:foo/getBar:getBar"] }).missing, ["gcp:foo/getBar:getBar"]);
        assert.throws(() => programPermissions(types), /no row for gcp:foo\/bar:Bar/);
        assert.throws(() => deployerPermissions(types), /no row for gcp:foo\/bar:Bar/);
    });

    test("holds no destroy-only permission, and cannot destroy key material", () => {
        const destroyOnly = PERMISSION_TABLE.flatMap((r) => r.destroyOnly.map((d) => d.permission));
        assert.deepEqual(destroyOnly.filter((p) => role.has(p)), []);
        assert.ok(!role.has("cloudkms.cryptoKeyVersions.destroy"));
        assert.deepEqual(destroyOnlyPermissions().map((d) => d.permission), ["cloudkms.cryptoKeyVersions.destroy", "cloudkms.cryptoKeyVersions.list", "servicenetworking.services.deleteConnection"]);
        // The table's own consistency: a permission some row deploys with is never another row's destroy-only one.
        const deployed = new Set(PERMISSION_TABLE.filter((r) => r.via === "deployer-role").flatMap(rowPermissions));
        assert.deepEqual(destroyOnly.filter((p) => deployed.has(p)), []);
        for (const r of PERMISSION_TABLE) {
            for (const d of r.destroyOnly) {
                assert.ok(d.why.length > 40, `${r.type}: say why ${d.permission} is destroy-only`);
            }
        }
    });

    test("holds no IAM administration: no project or account setIamPolicy, no actAs, no account creation; the rest is conditional or on single accounts", () => {
        for (const p of ["resourcemanager.projects.setIamPolicy", "iam.serviceAccounts.setIamPolicy", "iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.actAs", "iam.serviceAccounts.create", "iam.serviceAccounts.delete", "iam.serviceAccounts.update", "storage.buckets.setIamPolicy", "cloudkms.cryptoKeys.setIamPolicy", "artifactregistry.repositories.setIamPolicy"]) {
            assert.ok(!role.has(p), `the deploy role holds ${p}`);
        }
        assert.ok(![...role].some((p) => p.startsWith("iam.roles.") || p.startsWith("iam.serviceAccountKeys.")), "cannot edit roles or mint keys");
        assert.deepEqual(resourceIamPermissions(), ["cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy", "storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"]);
        assert.deepEqual(podBinderPermissions(), ["iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"]);
        assert.deepEqual(programPermissions().onServiceAccount, ["iam.serviceAccounts.actAs"]);
        // The IAM step's role: what creating the accounts and their grants calls.
        const iam = iamStepPermissions();
        for (const p of ["iam.serviceAccounts.create", "iam.serviceAccounts.setIamPolicy", "resourcemanager.projects.setIamPolicy", "artifactregistry.repositories.setIamPolicy"]) {
            assert.ok(iam.includes(p), `the IAM step's role lacks ${p}`);
        }
        assert.deepEqual(programPermissions(IAM_PROGRAM_TYPES).missing, []);
        const predefined = DEPLOYER_PREDEFINED_ROLES.map((r) => r.role);
        for (const r of PERMISSION_TABLE.filter((x) => x.via.startsWith("roles/"))) {
            assert.ok(predefined.includes(r.via), `${r.type} relies on ${r.via}, which the deployer is not granted`);
        }
    });
});

describe("every row", () => {
    test("names well-formed permissions known to Google's predefined roles", () => {
        const known = new Set(KNOWN.permissions);
        const collections = new Set(KNOWN.collections);
        for (const r of PERMISSION_TABLE) {
            for (const p of allOf(r)) {
                assert.match(p, PERMISSION_NAME, `${r.type}: ${p} is not service.resource.verb`);
                const collection = p.split(".").slice(0, 2).join(".");
                assert.ok(
                    known.has(p),
                    collections.has(collection)
                        ? `${r.type}: ${p} is in no predefined role (${KNOWN.source}): a typo, or a permission custom roles cannot hold`
                        : `${r.type}: ${p}: the snapshot has no ${collection}.* permissions. Fix: npm run gen:deployer-types -- --known-permissions <iam-dataset checkout>`,
                );
            }
        }
    });

    test("has sources, a user, and lists unverified permissions among its own", () => {
        const types = PERMISSION_TABLE.map((r) => r.type);
        assert.deepEqual(types.filter((t, i) => types.indexOf(t) !== i), [], "one row per type");
        for (const r of PERMISSION_TABLE) {
            assert.ok(r.source.length > 0 && r.source.every((s) => s.trim().length > 10), `${r.type} has no source`);
            assert.ok(r.usedBy.length > 0, `${r.type}: say which file uses it`);
            assert.deepEqual((r.unverified ?? []).filter((p) => !rowPermissions(r).includes(p)), [], r.type);
            if (r.via === "deployer-role" && r.kind === "resource") {
                assert.ok(r.read.length > 0, `${r.type}: a refresh reads it, list the read permission`);
                assert.ok(r.source.some((s) => s.includes("terraform-provider-google") || s.includes("pulumi")), `${r.type}: cite the provider code`);
            }
            if (r.kind === "invoke") {
                assert.deepEqual([...r.create, ...r.update, ...r.delete], [], `${r.type}: a function only reads`);
            }
        }
        assert.equal(rowFor("kubernetes:apps/v1:Deployment")?.via, "roles/container.developer");
        assert.equal(rowFor("random:index/randomPassword:RandomPassword")?.via, "none");
        assert.equal(rowFor("django-platform:index:DjangoPlatform")?.via, "none");
    });
});

describe("the read-only preview identity", () => {
    test("gets the read permissions of the types present, nothing that writes", () => {
        const read = previewerPermissions();
        const reads = new Set([...PROGRAM_TYPES.resources, ...PROGRAM_TYPES.invokes].flatMap((t) => rowFor(t)?.read ?? []));
        assert.deepEqual(read.filter((p) => !reads.has(p)), []);
        assert.deepEqual(read.filter((p) => /\.(create\w*|update|delete\w*|set\w+|destroy|actAs|addPeering|use)$/.test(p)), []);
        for (const p of previewInvokePermissions()) {
            assert.ok(read.includes(p), `${p}: a plain preview calls it`);
        }
        for (const p of ["container.clusters.get", "compute.instanceGroupManagers.list", "resourcemanager.projects.get", "cloudsql.instances.get", "redis.instances.getAuthString"]) {
            assert.ok(read.includes(p), p);
        }
    });
});

describe("synth reports the stack's permission set", () => {
    const run = (stack: string, json: boolean) =>
        withoutStackTraces(async () => {
            let stdout = "";
            const code = await synth({ stack, json }, { stdout: (t) => (stdout += `${t}\n`), stderr: () => undefined });
            return { code, stdout };
        }, (result) => result.code !== 0);

    test("--json: report.permissions holds the types, the deployer role and the destroy-only permissions of production", async () => {
        const { code, stdout } = await run("production", true);
        assert.equal(code, 0);
        const report = JSON.parse(stdout) as SynthReport;
        const { counts } = report;
        const permissions = report.permissions;
        assert.ok(permissions, "the main program's report has a permission section");
        // Every registered type, plus the provider functions the run invoked (getProject, …).
        const invokes = permissions.types.filter((t) => !(t in counts.byType));
        assert.deepEqual(permissions.types, [...Object.keys(counts.byType), ...invokes].sort());
        assert.deepEqual(invokes, ["gcp:dns/getRecordSets:getRecordSets", "gcp:organizations/getProject:getProject", "gcp:serviceaccount/getAccount:getAccount"]);
        assert.deepEqual(permissions.missing, []);
        assert.deepEqual(permissions.deployer, permissionsFor({ resources: Object.keys(counts.byType), invokes }).deployer);
        // Production has the CDN: its forwarding rules need setLabels; every permission is in the bootstrap's role.
        assert.ok(permissions.deployer.includes("compute.globalForwardingRules.setLabels"));
        assert.deepEqual(permissions.deployer.filter((p) => !deployerPermissions().includes(p)), []);
        assert.deepEqual(permissions.destroyOnly.map((d) => d.permission), ["cloudkms.cryptoKeyVersions.destroy", "cloudkms.cryptoKeyVersions.list", "servicenetworking.services.deleteConnection"]);
        assert.deepEqual(permissions.resourceIam, resourceIamPermissions());
        assert.deepEqual(permissions.iamStep, []);
        assert.deepEqual(permissions.predefinedRoles, ["roles/container.developer"]);
        assert.equal(permissions.source, "bootstrap/permissionTable.ts");
    });

    test("the summary prints the count", async () => {
        const { code, stdout } = await run("staging", false);
        assert.equal(code, 0);
        const count = permissionsFor(PROGRAM_TYPES).deployer.length;
        const match = /Deployer permissions \(bootstrap\/permissionTable\.ts\): (\d+) in the custom role for (\d+) types and functions, 4 through the conditional resource-IAM role, 3 on single service accounts, plus roles\/container\.developer; 3 destroy-only left out/.exec(stdout);
        assert.ok(match, stdout.split("\n").filter((l) => l.includes("ermission")).join("\n"));
        assert.ok(Number(match[1]) > 0 && Number(match[1]) < count, "staging (no CDN, no Memorystore) needs fewer than the union of all modes");
        assert.ok(!stdout.includes("MISSING"));
    });
});

test("the known-permissions snapshot says where it comes from", () => {
    assert.match(KNOWN.source, /iann0036\/iam-dataset\/tree\/[0-9a-f]{40}\//);
    assert.ok(KNOWN.permissions.length > 100 && KNOWN.predefinedRoles["roles/container.developer"].length > 100);
    assert.equal(path.basename(KNOWN_PERMISSIONS_FILE), "known-permissions.json");
});
