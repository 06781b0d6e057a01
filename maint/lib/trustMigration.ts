/**
 * Moving a main stack from the single-deployer layout (the program created its own service
 * accounts and project grants) to the IAM step's: the accounts and grants leave the main stack's
 * state without being deleted, and the IAM step adopts them (`adoptExisting`, Pulumi `import`).
 *
 * `pulumi state delete` cannot do it: it refuses a resource others depend on (the Workload Identity
 * bindings, the Kubernetes service accounts, the cluster all reference the accounts) unless
 * `--target-dependents` also forgets those (pulumi/pulumi pkg/cmd/pulumi/state/state_delete.go).
 * So the state is exported, edited and imported (`pulumi stack export` / `pulumi stack import`):
 * the moved resources are removed and every reference to their URNs (dependencies, property
 * dependencies, `deletedWith`) is dropped. Nothing else changes; the next `pulumi up` of the new
 * program looks the same accounts up and deletes nothing.
 *
 * Which types move is the permission table's word (`via: "iam-step"`, bootstrap/permissionTable.ts):
 * the types only the IAM step may create.
 */
import { createHash } from "node:crypto";
import { PERMISSION_TABLE } from "../../bootstrap/permissionTable";

/** The types that move to the IAM step. */
export const MOVED_TYPES: readonly string[] = PERMISSION_TABLE.filter((r) => r.via === "iam-step" && r.kind === "resource").map((r) => r.type).sort();

/** A resource of a `pulumi stack export` (only what this module reads; the rest is kept as is). */
export interface ExportResource {
    readonly urn: string;
    readonly type: string;
    readonly id?: string;
    readonly inputs?: Record<string, unknown>;
    readonly dependencies?: string[];
    readonly propertyDependencies?: Record<string, string[]>;
    readonly deletedWith?: string;
    readonly parent?: string;
    readonly [key: string]: unknown;
}

/** A `pulumi stack export` document (version 3). */
export interface ExportDocument {
    readonly version: number;
    readonly deployment: { readonly resources: ExportResource[]; readonly [key: string]: unknown };
    readonly [key: string]: unknown;
}

/** Raised for a document this tool must not edit. */
export class MigrationInputError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "MigrationInputError";
    }
}

/** The result of {@link migrateExport}. */
export interface Migration {
    readonly document: ExportDocument;
    /** The resources taken out of the state (still in Google Cloud). */
    readonly removed: ExportResource[];
}

/**
 * The export without the resources the IAM step now owns, and without any reference to them.
 * Refuses a document that is not a version 3 export, or whose moved resources have children.
 */
export function migrateExport(doc: ExportDocument): Migration {
    if (doc?.version !== 3 || !Array.isArray(doc.deployment?.resources)) {
        throw new MigrationInputError("not a `pulumi stack export` document of version 3 (deployment.resources missing). Fix: pulumi stack export --stack <stack> --file <file>, then pass that file.");
    }
    const resources = doc.deployment.resources;
    const removed = resources.filter((r) => MOVED_TYPES.includes(r.type));
    const gone = new Set(removed.map((r) => r.urn));
    const orphans = resources.filter((r) => r.parent && gone.has(r.parent));
    if (orphans.length > 0) {
        throw new MigrationInputError(`${orphans.map((r) => r.urn).join(", ")} would lose their parent; this tool only moves the program's own accounts and grants.`);
    }
    const kept = resources
        .filter((r) => !gone.has(r.urn))
        .map((r) => {
            const out: Record<string, unknown> = { ...r };
            if (r.dependencies) {
                out.dependencies = r.dependencies.filter((d) => !gone.has(d));
            }
            if (r.propertyDependencies) {
                out.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, v]) => [k, v.filter((d) => !gone.has(d))]));
            }
            if (r.deletedWith && gone.has(r.deletedWith)) {
                delete out.deletedWith;
            }
            return out as ExportResource;
        });
    return { document: { ...doc, deployment: { ...doc.deployment, resources: kept } }, removed };
}

/** SHA-256 of a value's canonical JSON (object keys sorted at every level). */
export function inputsDigest(value: unknown): string {
    const canonical = (v: unknown): unknown =>
        Array.isArray(v) ? v.map(canonical) : v !== null && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;
    return createHash("sha256").update(JSON.stringify(canonical(value))).digest("hex");
}

/**
 * A smaller form of an export for test fixtures: every resource with its URN, type, id, parent and
 * dependencies; inputs in full for the moved types and service-account-level grants, as
 * `inputsSha256` otherwise. Still a version 3 document {@link migrateExport} reads.
 */
export function compactExport(doc: ExportDocument, comment: string): ExportDocument & { comment: string } {
    const keepInputs = (type: string) => MOVED_TYPES.includes(type) || type === "gcp:serviceaccount/iAMMember:IAMMember";
    return {
        comment,
        version: 3,
        deployment: {
            resources: doc.deployment.resources.map((r) => ({
                urn: r.urn,
                type: r.type,
                ...(r.id ? { id: r.id } : {}),
                ...(r.parent ? { parent: r.parent } : {}),
                dependencies: r.dependencies ?? [],
                ...(keepInputs(r.type) ? { inputs: r.inputs ?? {} } : { inputsSha256: inputsDigest(r.inputs ?? {}) }),
            })),
        },
    };
}

/** The Pulumi import id of a moved resource, as the IAM step passes it (iam/stackIam.ts `adoptExisting`). */
export function importIdOf(r: ExportResource): string | undefined {
    const i = r.inputs ?? {};
    switch (r.type) {
        case "gcp:serviceaccount/account:Account":
            return `projects/${String(i.project)}/serviceAccounts/${String(i.accountId)}@${String(i.project)}.iam.gserviceaccount.com`;
        case "gcp:projects/iAMMember:IAMMember":
            return `${String(i.project)} ${String(i.role)} ${String(i.member)}`;
        default:
            return undefined;
    }
}
