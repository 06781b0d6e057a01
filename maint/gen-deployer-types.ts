/**
 * Writes bootstrap/resourceTypes.json: every resource type and provider function (invoke) the main
 * program registers in any of its modes, found by running index.ts under mocks with the stack
 * files and the variants below, and (under `iam`) those of the IAM step (iam/) for the same
 * configs. The bootstrap computes the deployer's roles and the IAM step's role from it
 * (bootstrap/deployerRoles.ts) and the APIs it enables in the stacks' projects
 * (bootstrap/requiredApis.ts, bootstrap/apiTable.ts), because it cannot run either program itself.
 * tests/deployer-permissions.test.ts renders the same variants and fails when the file is stale.
 *
 *   npm run gen:deployer-types              # rewrite bootstrap/resourceTypes.json
 *   npm run gen:deployer-types -- --check   # exit 1 when it is stale
 *   npm run gen:deployer-types -- --known-permissions <iam-dataset checkout>
 *                                           # also rewrite tests/fixtures/deployer-permissions/known-permissions.json
 */
import { runCli } from "../cli/lib/cliIo";
import { Command } from "commander";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { PERMISSION_TABLE, rowPermissions, type ProgramTypes } from "../bootstrap/permissionTable";
import { PREFLIGHT_READS } from "../bootstrap/preflightReads";
import { RENDER_CI_PROJECT, renderIamStep } from "../cli/lib/iamStep";
import { runProgram, type CaptureResult } from "../cli/lib/mockRuntime";
import { loadStackConfig } from "../cli/lib/stackConfig";

const ROOT = path.resolve(__dirname, "..");

/** The committed list of types. */
export const RESOURCE_TYPES_FILE = path.join(ROOT, "bootstrap", "resourceTypes.json");

/** The snapshot of known permission names the tests check the table against. */
export const KNOWN_PERMISSIONS_FILE = path.join(ROOT, "tests", "fixtures", "deployer-permissions", "known-permissions.json");

/** One render of the program: a stack file plus config overrides (objects are deep-merged). */
export interface TypeRender {
    readonly name: string;
    readonly stack: string;
    readonly overrides: Record<string, unknown>;
}

const existingNetwork = { mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "google-managed-services-shared" };

/** Every mode of both stacks whose resource types differ. Add a variant when a mode adds types. */
export const TYPE_RENDERS: readonly TypeRender[] = [
    { name: "staging", stack: "staging", overrides: {} },
    { name: "production", stack: "production", overrides: {} },
    { name: "staging, database.connector private-ip", stack: "staging", overrides: { "django-platform:database": { connector: "private-ip" } } },
    { name: "staging, cache.mode memorystore", stack: "staging", overrides: { "django-platform:cache": { mode: "memorystore", memorySizeGb: 5 } } },
    { name: "production, cache.mode memorystore without transit encryption", stack: "production", overrides: { "django-platform:cache": { mode: "memorystore", memorySizeGb: 5, transitEncryption: false } } },
    { name: "staging, cache.persistence on", stack: "staging", overrides: { "django-platform:cache": { persistence: { enabled: true, sizeGb: 2 } } } },
    { name: "staging, statics.cdn on", stack: "staging", overrides: { "django-platform:statics": { cdn: { enabled: true, domain: "static.staging.example.com" } } } },
    { name: "production, statics.cdn off", stack: "production", overrides: { "django-platform:statics": { cdn: { enabled: false } } } },
    {
        name: "production, security.binaryAuthorization enforce",
        stack: "production",
        overrides: { "django-platform:security": { binaryAuthorization: "enforce" } },
    },
    { name: "staging, network.mode existing", stack: "staging", overrides: { "django-platform:network": existingNetwork } },
    {
        name: "staging, network.mode + cluster.mode existing",
        stack: "staging",
        overrides: { "django-platform:network": existingNetwork, "django-platform:cluster": { mode: "existing", name: "shared-gke", location: "europe-west1-b" } },
    },
    {
        name: "production, network.mode + cluster.mode existing with cluster.nodeServiceAccount",
        stack: "production",
        overrides: {
            "django-platform:network": existingNetwork,
            "django-platform:cluster": { mode: "existing", name: "shared-gke", location: "europe-west1-b", nodeServiceAccount: "gke-nodes@acme-shared.iam.gserviceaccount.com" },
        },
    },
];

function deepMerge(base: unknown, patch: unknown): unknown {
    const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
    if (!isObject(base) || !isObject(patch)) {
        return patch;
    }
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) {
        out[k] = deepMerge(out[k], v);
    }
    return out;
}

/** The raw config of one render: the stack file with the overrides merged in. */
function renderConfig(render: TypeRender): { project: string; stack: string; config: Record<string, string>; secretKeys: string[] } {
    const loaded = loadStackConfig({ stack: render.stack, projectDir: ROOT });
    const config = { ...loaded.config };
    for (const [key, value] of Object.entries(render.overrides)) {
        const current = config[key];
        const merged = deepMerge(current !== undefined && /^[{[]/.test(current) ? JSON.parse(current) : current, value);
        config[key] = typeof merged === "string" ? merged : JSON.stringify(merged);
    }
    return { project: loaded.project, stack: loaded.stack, config, secretKeys: loaded.secretKeys };
}

/** Runs index.ts under mocks for one render. */
export async function renderProgram(render: TypeRender): Promise<CaptureResult> {
    const { project, stack, config, secretKeys } = renderConfig(render);
    return runProgram({ project, stack, config, secretKeys, program: path.join(ROOT, "index.ts") });
}

export { RENDER_CI_PROJECT };

/** Runs the IAM step (iam/program.ts) under mocks for the config of one render. */
export async function renderIamProgram(render: TypeRender, adoptExisting = false): Promise<CaptureResult> {
    const { stack, config } = renderConfig(render);
    return renderIamStep({ stack, config, adoptExisting });
}

/** The types a run registered and the functions it invoked (sorted). */
export function typesOf(result: CaptureResult): ProgramTypes {
    return { resources: [...new Set(result.resources.map((r) => r.type))].sort(), invokes: [...new Set(result.invokes.map((i) => i.token))].sort() };
}

/** The types one render registers and invokes (sorted). */
export async function renderTypes(render: TypeRender): Promise<ProgramTypes> {
    return typesOf(await renderProgram(render));
}

/** The committed file's shape. */
export interface ResourceTypesFile {
    readonly comment: string;
    readonly renders: string[];
    readonly resources: string[];
    readonly invokes: string[];
    /** The IAM step's types for the same renders. */
    readonly iam: { readonly resources: string[]; readonly invokes: string[] };
}

/** The union of some renders' types, sorted. */
function union(types: readonly ProgramTypes[]): { resources: string[]; invokes: string[] } {
    return { resources: [...new Set(types.flatMap((t) => t.resources))].sort(), invokes: [...new Set(types.flatMap((t) => t.invokes))].sort() };
}

/**
 * The file's content for the types of every render (`types`, `iamTypes`: one entry per render of
 * the main program and of the IAM step, in order).
 */
export function typesFile(renders: readonly TypeRender[], types: readonly ProgramTypes[], iamTypes: readonly ProgramTypes[]): ResourceTypesFile {
    return {
        comment: "Generated by `npm run gen:deployer-types` (maint/gen-deployer-types.ts) from renders of index.ts and iam/; bootstrap/deployerRoles.ts computes the deployer's and the IAM step's roles from it. Do not edit.",
        renders: renders.map((r) => r.name),
        ...union(types),
        iam: union(iamTypes),
    };
}

/** Renders every variant of both programs and returns the file's content. */
export async function collectTypes(renders: readonly TypeRender[] = TYPE_RENDERS): Promise<ResourceTypesFile> {
    const types: ProgramTypes[] = [];
    const iamTypes: ProgramTypes[] = [];
    for (const render of renders) {
        types.push(await renderTypes(render));
        iamTypes.push(typesOf(await renderIamProgram(render)));
    }
    return typesFile(renders, types, iamTypes);
}

/** The text of the file. */
export function formatTypesFile(file: ResourceTypesFile): string {
    return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Writes the known-permissions snapshot from an iann0036/iam-dataset checkout: every permission of
 * Google's predefined roles (gcp/roles/*.json, service-agent roles left out: they hold internal
 * permissions custom roles cannot use) whose `service.resource` collection the table (or a request
 * of preflight, bootstrap/preflightReads.ts) uses, plus the
 * container.* permissions of roles/container.developer and roles/container.viewer.
 */
export function knownPermissionsSnapshot(datasetDir: string, commit: string): Record<string, unknown> {
    const rolesDir = path.join(datasetDir, "gcp", "roles");
    const read = (file: string): string[] => (JSON.parse(readFileSync(path.join(rolesDir, file), "utf8")) as { includedPermissions?: string[] }).includedPermissions ?? [];
    const all = new Set<string>();
    for (const file of readdirSync(rolesDir).filter((f) => f.endsWith(".json") && !/serviceAgent|ServiceAgent/.test(f))) {
        read(file).forEach((p) => all.add(p));
    }
    const collection = (p: string) => p.split(".").slice(0, 2).join(".");
    const used = new Set(
        [...PERMISSION_TABLE.flatMap((r) => [...rowPermissions(r), ...r.destroyOnly.map((d) => d.permission)]), ...PREFLIGHT_READS.flatMap((r) => (r.permission ? [r.permission] : []))].map(collection),
    );
    const container = (file: string) => read(file).filter((p) => p.startsWith("container.")).sort();
    return {
        source: `https://github.com/iann0036/iam-dataset/tree/${commit}/gcp/roles (MIT): union of includedPermissions of the predefined roles, service-agent roles excluded`,
        generatedBy: "npm run gen:deployer-types -- --known-permissions <iam-dataset checkout> [--dataset-commit <sha>]",
        collections: [...used].sort(),
        permissions: [...all].filter((p) => used.has(collection(p))).sort(),
        predefinedRoles: { "roles/container.developer": container("container.developer.json"), "roles/container.viewer": container("container.viewer.json") },
    };
}

async function main(argv: readonly string[]): Promise<number> {
    const program = new Command()
        .name("gen-deployer-types")
        .option("--check", "exit 1 when bootstrap/resourceTypes.json is stale, write nothing")
        .option("--known-permissions <dir>", "also rewrite the known-permissions snapshot from an iann0036/iam-dataset checkout")
        .option("--dataset-commit <sha>", "commit of that checkout, recorded in the snapshot", "unknown")
        .parse([...argv], { from: "node" });
    const opts = program.opts<{ check?: boolean; knownPermissions?: string; datasetCommit: string }>();
    const text = formatTypesFile(await collectTypes());
    if (opts.check) {
        const current = existsSync(RESOURCE_TYPES_FILE) ? readFileSync(RESOURCE_TYPES_FILE, "utf8") : "";
        if (current !== text) {
            process.stderr.write(`${path.relative(ROOT, RESOURCE_TYPES_FILE)} is stale. Fix: npm run gen:deployer-types\n`);
            return 1;
        }
        return 0;
    }
    writeFileSync(RESOURCE_TYPES_FILE, text);
    process.stdout.write(`wrote ${path.relative(ROOT, RESOURCE_TYPES_FILE)}\n`);
    if (opts.knownPermissions) {
        writeFileSync(KNOWN_PERMISSIONS_FILE, `${JSON.stringify(knownPermissionsSnapshot(opts.knownPermissions, opts.datasetCommit), null, 2)}\n`);
        process.stdout.write(`wrote ${path.relative(ROOT, KNOWN_PERMISSIONS_FILE)}\n`);
    }
    return 0;
}

if (require.main === module) {
    runCli("gen-deployer-types", () => main(process.argv), 3);
}
