/**
 * Who can reach what, computed from rendered graphs (the bootstrap, the IAM step, the main stacks)
 * the way Google's IAM would decide it, for one GitHub Actions context at a time:
 *
 * 1. The token: GitHub gives the job an OIDC token with these claims (or none: fork pull requests).
 * 2. Workload Identity Federation: the rendered provider's attribute condition must hold and every
 *    rendered attribute mapping must evaluate (tests/lib/cel.ts), giving `google.subject`.
 * 3. IAM: every binding rendered anywhere (project, bucket, key, repository, service account), its
 *    role's permissions (predefined roles from tests/fixtures/iam-roles, custom roles from the
 *    rendered `IAMCustomRole`s) and its condition, evaluated against each known resource's name and
 *    type (Cloud Storage and Cloud KMS honour resource attributes; IAM conditions on other services'
 *    resources see none), grant (permission, resource) pairs. A grant on a project reaches every
 *    resource in it; on a bucket, its objects.
 * 4. Escalation, until nothing changes: a principal that may get a token for a service account
 *    (`getAccessToken`), set its IAM policy, or act as it becomes it; one that may create pods in a
 *    project becomes every account a Kubernetes service account there is bound to (Workload
 *    Identity); one that may set a resource's IAM policy gets every permission on it (on a project:
 *    every role its `modifiedGrantsByRole` condition lets it grant, or all of them).
 *
 * The resources are the rendered ones plus what exists without being rendered: the state objects
 * of every Pulumi stack in the state bucket (laid out as pulumi/pulumi pkg/backend/diy does, see
 * bootstrap/stateBackend.ts) and each project's Compute Engine default service account, which holds
 * roles/editor on its project unless the organisation turns that automatic grant off.
 */
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import type { CaptureResult, CapturedResource } from "../../cli/lib/mockRuntime";
import { CelError, compileCel, type CelActivation } from "./cel";

/** The claims of a GitHub Actions OIDC token (all strings), or none (a fork's pull request). */
export type Claims = Readonly<Record<string, string>> | undefined;

/** A resource IAM can grant on. */
export interface ModelResource {
    /** Full resource name as IAM conditions see it (`resource.name`). */
    readonly name: string;
    /** `resource.type`. */
    readonly type: string;
    /** `resource.service`. */
    readonly service: string;
    /** The project it lives in (`_` for a bucket's own name). */
    readonly project: string;
    /** The bucket of an object. */
    readonly bucket?: string;
    /** Who it belongs to: a stack name, `iam:<stack>` (the IAM step's state), `home`, or `other`. */
    readonly owner: string;
}

/** One rendered role binding. */
export interface ModelBinding {
    readonly resource: string;
    readonly role: string;
    readonly member: string;
    readonly condition?: string;
    /** The rendered resource it comes from (`<program>: <name>`), for messages. */
    readonly from: string;
}

/** A permission on a resource. */
export interface Grant {
    readonly permission: string;
    readonly resource: string;
}

/** The programs' renders a model is built from. */
export interface ModelInputs {
    readonly bootstrap: CaptureResult;
    /** The IAM step per stack (none in the single-deployer layout). */
    readonly iam: Readonly<Record<string, CaptureResult>>;
    /** The main program per stack. */
    readonly stacks: Readonly<Record<string, CaptureResult>>;
}

const MAIN_PROJECT = "django-platform";
const IAM_PROJECT = "django-platform-iam";
const BOOTSTRAP_PROJECT = "django-platform-bootstrap";
/** The stack name of the bootstrap's own state (docs/bootstrap.md). */
const BOOTSTRAP_STACK = "bootstrap";
/** Every permission of a resource (roles/editor of a default account, or a setIamPolicy on it). */
export const ALL = "*";

/** Services whose resources carry `resource.name`/`resource.type` in IAM conditions (docs/gcp-facts.md). */
export const RESOURCE_ATTRIBUTE_SERVICES = new Set(["storage.googleapis.com", "cloudkms.googleapis.com", "cloudresourcemanager.googleapis.com", "sqladmin.googleapis.com"]);

const TYPES = {
    project: { type: "cloudresourcemanager.googleapis.com/Project", service: "cloudresourcemanager.googleapis.com" },
    bucket: { type: "storage.googleapis.com/Bucket", service: "storage.googleapis.com" },
    object: { type: "storage.googleapis.com/Object", service: "storage.googleapis.com" },
    key: { type: "cloudkms.googleapis.com/CryptoKey", service: "cloudkms.googleapis.com" },
    account: { type: "iam.googleapis.com/ServiceAccount", service: "iam.googleapis.com" },
    repository: { type: "artifactregistry.googleapis.com/Repository", service: "artifactregistry.googleapis.com" },
    sqlInstance: { type: "sqladmin.googleapis.com/Instance", service: "sqladmin.googleapis.com" },
} as const;

/** The kind of resource a permission is checked on (Google checks each method on one resource). */
export function permissionTarget(permission: string): keyof typeof TYPES {
    if (permission === "storage.objects.list" || /^storage\.(buckets|multipartUploads|managedFolders|folders|anywhereCaches)\./.test(permission)) {
        return "bucket";
    }
    if (permission.startsWith("storage.objects.")) {
        return "object";
    }
    if (/^cloudkms\.(cryptoKeys|cryptoKeyVersions)\./.test(permission) && !/\.(create|list)$/.test(permission)) {
        return "key";
    }
    if (permission.startsWith("iam.serviceAccounts.") && !/\.(create|list)$/.test(permission)) {
        return "account";
    }
    if (/^artifactregistry\.(repositories|dockerimages|tags|versions|files|packages|attachments|rules)\./.test(permission) && !/^artifactregistry\.repositories\.(create|list)$/.test(permission)) {
        return "repository";
    }
    if (permission.startsWith("cloudsql.instances.") && !/\.(create|list)$/.test(permission)) {
        return "sqlInstance";
    }
    return "project";
}

/** Permissions that change who may do what. */
export function changesIam(permission: string): boolean {
    return (
        permission === ALL ||
        permission.endsWith(".setIamPolicy") ||
        ["iam.serviceAccounts.actAs", "iam.serviceAccounts.create", "iam.serviceAccountKeys.create"].includes(permission) ||
        /^iam\.(roles|workloadIdentityPools|workloadIdentityPoolProviders)\.(create|update|delete|undelete)$/.test(permission)
    );
}

/**
 * Whether a permission changes something: its verb creates, updates, deletes, sets, uploads or acts
 * as. Kubernetes review APIs (`tokenReviews`, `*AccessReviews`) are "create" calls that change
 * nothing; a read role such as roles/container.viewer holds them.
 */
export function isWrite(permission: string): boolean {
    if (permission === ALL) {
        return true;
    }
    if (/^container\.(tokenReviews|subjectAccessReviews|selfSubjectAccessReviews|localSubjectAccessReviews|selfSubjectRulesReviews)\.create$/.test(permission)) {
        return false;
    }
    const verb = permission.split(".").pop() ?? "";
    return /^(create|update|delete|set|upload|actAs|destroy|restore|undelete|patch|move|import|attach|detach|enable|disable|approve|escalate|bind|impersonate|sign|getAccessToken|implicitDelegation|useToEncrypt|use$)/.test(verb);
}

/** Predefined roles' permissions, from the iam-dataset snapshot in tests/fixtures/iam-roles. */
export function predefinedRoles(dir = path.join(__dirname, "..", "fixtures", "iam-roles")): Map<string, string[]> {
    const roles = new Map<string, string[]>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
        const role = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as { name: string; includedPermissions: string[] };
        roles.set(role.name, role.includedPermissions);
    }
    // Not in the snapshot, and never granted by any program here: the default account's automatic grant.
    roles.set("roles/editor", [ALL]);
    return roles;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** The rendered world: resources, bindings, roles, the federation. */
export class TrustModel {
    readonly resources = new Map<string, ModelResource>();
    readonly bindings: ModelBinding[] = [];
    readonly roles: Map<string, string[]>;
    /** The rendered federation providers (condition, mapping) and their pool's name. */
    readonly providers: { pool: string; condition: string; mapping: Record<string, string> }[] = [];
    /** The stacks' projects, and the CI home project. */
    readonly stackProjects: Record<string, string> = {};
    readonly home: string;
    readonly stateBucket: string;

    constructor(private readonly inputs: ModelInputs, roles: Map<string, string[]> = predefinedRoles()) {
        this.roles = new Map(roles);
        const boot = inputs.bootstrap.resources;
        const stateBucket = boot.find((r) => r.type === "gcp:storage/bucket:Bucket" && r.protect);
        if (!stateBucket) {
            throw new Error("the bootstrap render has no protected state bucket");
        }
        this.home = String(stateBucket.inputs.project);
        this.stateBucket = String(stateBucket.outputs.name);
        for (const [stack, render] of Object.entries(inputs.stacks)) {
            const project = render.resources.find((r) => r.type === "gcp:container/cluster:Cluster" || r.type === "gcp:sql/databaseInstance:DatabaseInstance")?.inputs.project;
            this.stackProjects[stack] = String(project);
        }
        const programs: [string, CaptureResult][] = [["bootstrap", inputs.bootstrap], ...Object.entries(inputs.iam).map(([s, r]) => [`iam ${s}`, r] as [string, CaptureResult]), ...Object.entries(inputs.stacks).map(([s, r]) => [`stack ${s}`, r] as [string, CaptureResult])];
        for (const [program, render] of programs) {
            this.addResources(render, this.bucketNamer(program));
        }
        this.addStateObjects(Object.keys(inputs.stacks));
        for (const [program, render] of programs) {
            this.addBindings(program, render, this.bucketNamer(program));
        }
    }

    /**
     * Bucket names of a render. Mocks name a bucket after its logical name, so both stacks render
     * `django-statics-bucket-<same hash>`; Pulumi's real auto-names are random. Within a stack's
     * render its buckets get the stack as a suffix (still `django-…`, as conditions expect).
     */
    private bucketNamer(program: string): (name: string) => string {
        const stack = /^stack (.+)$/.exec(program)?.[1];
        return (name) => (stack ? `${name}-${stack}` : name);
    }

    /** Who a project belongs to. */
    private ownerOfProject(project: string): string {
        if (project === this.home) {
            return "home";
        }
        return Object.entries(this.stackProjects).find(([, p]) => p === project)?.[0] ?? "other";
    }

    private add(kind: keyof typeof TYPES, name: string, project: string, extra: Partial<ModelResource> = {}): void {
        if (!this.resources.has(name)) {
            this.resources.set(name, { name, ...TYPES[kind], project, ...extra, owner: extra.owner ?? this.ownerOfProject(project) });
        }
    }

    private addAccount(email: string, project: string): void {
        this.add("account", `projects/${project}/serviceAccounts/${email}`, project);
    }

    private addProject(project: string): void {
        if (this.resources.has(`projects/${project}`)) {
            return;
        }
        this.add("project", `projects/${project}`, project);
        // Every project has a Compute Engine default service account holding roles/editor on it
        // (unless the organisation disables the automatic grant): reaching it is owning the project.
        const email = `123456789012-compute@developer.gserviceaccount.com`;
        this.add("account", `projects/${project}/serviceAccounts/${email}#default`, project);
        this.bindings.push({ resource: `projects/${project}`, role: "roles/editor", member: `serviceAccount:${email}#${project}`, from: `default service account of ${project}` });
    }

    private addResources(render: CaptureResult, bucketName: (name: string) => string): void {
        const byId = (id: unknown) => render.resources.find((r) => r.id === id || r.outputs.id === id);
        for (const r of render.resources) {
            const project = str(r.inputs.project);
            if (project) {
                this.addProject(project);
            }
            switch (r.type) {
                case "gcp:storage/bucket:Bucket": {
                    const name = bucketName(String(r.outputs.name));
                    this.add("bucket", `projects/_/buckets/${name}`, String(project), { owner: r.protect && project === this.home ? "home" : undefined });
                    if (!r.protect) {
                        // The bucket's data (uploads, statics, logs).
                        this.add("object", `projects/_/buckets/${name}/objects/data`, String(project), { bucket: name });
                    }
                    break;
                }
                case "gcp:kms/cryptoKey:CryptoKey": {
                    const ring = byId(r.inputs.keyRing);
                    const ringProject = String(ring?.inputs.project);
                    this.addProject(ringProject);
                    this.add("key", `projects/${ringProject}/locations/${String(ring?.inputs.location)}/keyRings/${String(ring?.outputs.name)}/cryptoKeys/${String(r.outputs.name)}`, ringProject);
                    break;
                }
                case "gcp:serviceaccount/account:Account":
                    this.addAccount(String(r.outputs.email), String(project));
                    break;
                case "gcp:artifactregistry/repository:Repository":
                    this.add("repository", `projects/${String(project)}/locations/${String(r.inputs.location)}/repositories/${String(r.outputs.name)}`, String(project));
                    break;
                case "gcp:sql/databaseInstance:DatabaseInstance":
                    this.add("sqlInstance", `projects/${String(project)}/instances/${String(r.outputs.name)}`, String(project));
                    break;
                case "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": {
                    const pool = render.resources.find((p) => p.type === "gcp:iam/workloadIdentityPool:WorkloadIdentityPool");
                    this.providers.push({ pool: String(pool?.outputs.name), condition: String(r.inputs.attributeCondition), mapping: r.inputs.attributeMapping as Record<string, string> });
                    break;
                }
                case "gcp:projects/iAMCustomRole:IAMCustomRole":
                    this.roles.set(String(r.outputs.name), r.inputs.permissions as string[]);
                    break;
            }
        }
        for (const invoke of render.invokes.filter((i) => i.token === "gcp:serviceaccount/getAccount:getAccount")) {
            const project = String(invoke.inputs.project);
            this.addProject(project);
            const id = String(invoke.inputs.accountId);
            this.addAccount(id.includes("@") ? id : `${id}@${project}.iam.gserviceaccount.com`, project);
        }
    }

    /** The state objects of every Pulumi stack kept in the state bucket. */
    private addStateObjects(stacks: readonly string[]): void {
        const object = (o: string, owner: string) => this.add("object", `projects/_/buckets/${this.stateBucket}/objects/${o}`, this.home, { bucket: this.stateBucket, owner });
        const stackObjects = (project: string, stack: string, owner: string) => {
            object(`.pulumi/stacks/${project}/${stack}.json`, owner);
            object(`.pulumi/stacks/${project}/${stack}.json.bak`, owner);
            object(`.pulumi/history/${project}/${stack}/${stack}-1.history.json`, owner);
            object(`.pulumi/history/${project}/${stack}/${stack}-1.checkpoint.json`, owner);
            object(`.pulumi/backups/${project}/${stack}/${stack}.1.json`, owner);
            object(`.pulumi/locks/organization/${project}/${stack}/lock.json`, owner);
        };
        object(".pulumi/meta.yaml", "home");
        stackObjects(BOOTSTRAP_PROJECT, BOOTSTRAP_STACK, "home");
        for (const stack of stacks) {
            stackObjects(MAIN_PROJECT, stack, stack);
            stackObjects(IAM_PROJECT, stack, `iam:${stack}`);
        }
    }

    private resolveAccount(value: string): string | undefined {
        if (value.startsWith("projects/")) {
            return value;
        }
        const email = value.includes("@") ? value : undefined;
        return email ? [...this.resources.values()].find((r) => r.name.endsWith(`/serviceAccounts/${email}`))?.name : undefined;
    }

    private addBindings(program: string, render: CaptureResult, bucketName: (name: string) => string): void {
        const byId = (id: unknown) => render.resources.find((r) => r.id === id || r.outputs.id === id);
        const keyName = (key: CapturedResource | undefined) => [...this.resources.values()].find((m) => m.type === TYPES.key.type && key && m.name.endsWith(`/cryptoKeys/${String(key.outputs.name)}`) && m.name.includes(`/keyRings/${String(byId(key.inputs.keyRing)?.outputs.name)}/`))?.name;
        for (const r of render.resources) {
            let resource: string | undefined;
            switch (r.type) {
                case "gcp:projects/iAMMember:IAMMember":
                    resource = `projects/${String(r.inputs.project)}`;
                    break;
                case "gcp:storage/bucketIAMMember:BucketIAMMember":
                    resource = `projects/_/buckets/${bucketName(String(r.inputs.bucket))}`;
                    break;
                case "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember":
                    resource = keyName(byId(r.inputs.cryptoKeyId));
                    break;
                case "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember":
                    resource = `projects/${String(r.inputs.project)}/locations/${String(r.inputs.location)}/repositories/${String(r.inputs.repository)}`;
                    break;
                case "gcp:serviceaccount/iAMMember:IAMMember":
                    resource = this.resolveAccount(String(r.inputs.serviceAccountId));
                    break;
                default:
                    continue;
            }
            if (!resource || !this.resources.has(resource)) {
                throw new Error(`${program}: ${r.name} grants on ${String(resource)}, which the model does not know`);
            }
            const condition = (r.inputs.condition as { expression?: string } | undefined)?.expression;
            this.bindings.push({ resource, role: String(r.inputs.role), member: String(r.inputs.member), condition, from: `${program}: ${r.name}` });
        }
    }

    /** The resources a grant on `scope` reaches: itself; a project's resources; a bucket's objects. */
    private within(scope: ModelResource): ModelResource[] {
        return [...this.resources.values()].filter(
            (r) => r.name === scope.name || (scope.type === TYPES.project.type && r.project === scope.project && r.name !== scope.name) || (scope.type === TYPES.bucket.type && r.bucket !== undefined && `projects/_/buckets/${r.bucket}` === scope.name),
        );
    }

    /** The permissions of a role; throws for a role the model does not know (add its fixture). */
    rolePermissions(role: string): string[] {
        const perms = this.roles.get(role);
        if (!perms) {
            throw new Error(`unknown role ${role}: add tests/fixtures/iam-roles/${role.replace(/^roles\//, "")}.json from iann0036/iam-dataset`);
        }
        return perms;
    }

    /** Whether a binding's condition holds for `permission` on `resource` (granting `grantedRoles`, for setIamPolicy). */
    private conditionHolds(binding: ModelBinding, resource: ModelResource, grantedRoles: readonly string[] = []): boolean {
        if (!binding.condition) {
            return true;
        }
        const attributes = RESOURCE_ATTRIBUTE_SERVICES.has(resource.service) ? { name: resource.name.replace(/#default$/, ""), type: resource.type, service: resource.service } : { name: "", type: "", service: "" };
        const env: CelActivation = { resource: attributes, apiAttributes: { "iam.googleapis.com/modifiedGrantsByRole": grantedRoles } };
        try {
            return compileCel(binding.condition)(env) === true;
        } catch (err) {
            if (err instanceof CelError) {
                return false; // an error makes the binding not apply
            }
            throw err;
        }
    }

    /** What a job with `claims` may do: its federated identity, the accounts it becomes, and every (permission, resource). */
    reach(claims: Claims): { subject?: string; principals: string[]; grants: Grant[] } {
        const subjects = claims ? this.exchange(claims) : [];
        const reached = this.reachFrom(subjects.map((s) => `principal://iam.googleapis.com/${s.pool}/subject/${s.subject}`));
        return { subject: subjects[0]?.subject, ...reached };
    }

    /**
     * What holders of `members` (a stolen pod token: `serviceAccount:<email>`) may do, with the same
     * escalation as {@link reach}.
     */
    reachFrom(members: readonly string[]): { principals: string[]; grants: Grant[] } {
        const principals = new Set<string>(members);
        const grants = new Map<string, Grant>();
        let changed = true;
        const add = (permission: string, resource: string) => {
            const key = `${permission} ${resource}`;
            if (!grants.has(key)) {
                grants.set(key, { permission, resource });
                changed = true;
            }
        };
        const applies = (permission: string, r: ModelResource) => permission === ALL || TYPES[permissionTarget(permission)].type === r.type;
        const become = (member: string) => {
            if (!principals.has(member)) {
                principals.add(member);
                changed = true;
            }
        };
        while (changed) {
            changed = false;
            for (const b of this.bindings.filter((x) => principals.has(x.member))) {
                const scope = this.resources.get(b.resource) as ModelResource;
                const permissions = this.rolePermissions(b.role);
                for (const permission of permissions) {
                    for (const r of this.within(scope)) {
                        if (applies(permission, r) && this.conditionHolds(b, r)) {
                            add(permission, r.name);
                        }
                    }
                }
                // Setting a resource's IAM policy is granting oneself on it: every role the binding's
                // modifiedGrantsByRole condition allows, or, without such a condition, everything.
                for (const permission of permissions.filter((p) => p.endsWith(".setIamPolicy") || p === ALL)) {
                    for (const r of this.within(scope).filter((x) => applies(permission, x))) {
                        if (b.condition?.includes("modifiedGrantsByRole")) {
                            for (const role of [...this.roles.keys()].filter((role) => this.conditionHolds(b, r, [role]))) {
                                for (const p of this.rolePermissions(role)) {
                                    this.within(r).filter((x) => applies(p, x)).forEach((x) => add(p, x.name));
                                }
                            }
                        } else if (this.conditionHolds(b, r)) {
                            this.within(r).forEach((x) => add(ALL, x.name));
                        }
                    }
                }
            }
            for (const g of [...grants.values()]) {
                const r = this.resources.get(g.resource) as ModelResource;
                // Becoming a service account: a token for it, its IAM policy, or acting as it.
                if (r.type === TYPES.account.type && [ALL, "iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.setIamPolicy", "iam.serviceAccounts.actAs"].includes(g.permission)) {
                    become(this.accountMember(r));
                }
                // Creating pods in a project is becoming every account bound to its Kubernetes service accounts.
                if ((g.permission === "container.pods.create" || g.permission === ALL) && r.type === TYPES.project.type) {
                    for (const b of this.bindings.filter((x) => x.member.startsWith(`serviceAccount:${r.project}.svc.id.goog[`) && this.rolePermissions(x.role).includes("iam.serviceAccounts.getAccessToken"))) {
                        become(this.accountMember(this.resources.get(b.resource) as ModelResource));
                    }
                }
            }
        }
        return { principals: [...principals].sort(), grants: [...grants.values()] };
    }

    /** `serviceAccount:<email>` of an account resource (the default one carries its project). */
    private accountMember(r: ModelResource): string {
        const email = r.name.split("/serviceAccounts/")[1];
        return email.endsWith("#default") ? `serviceAccount:${email.replace(/#default$/, "")}#${r.project}` : `serviceAccount:${email}`;
    }

    /** The subjects `claims` map to at each rendered provider that admits them. */
    exchange(claims: Readonly<Record<string, string>>): { pool: string; subject: string }[] {
        const out: { pool: string; subject: string }[] = [];
        for (const p of this.providers) {
            try {
                if (compileCel(p.condition)({ assertion: claims }) !== true) {
                    continue;
                }
                const mapped = Object.fromEntries(Object.entries(p.mapping).map(([k, e]) => [k, compileCel(e)({ assertion: claims })]));
                if (Object.values(mapped).some((v) => typeof v !== "string" || Buffer.byteLength(v) > 127)) {
                    continue; // Google refuses the exchange
                }
                out.push({ pool: p.pool, subject: String(mapped["google.subject"]) });
            } catch (err) {
                if (!(err instanceof CelError)) {
                    throw err;
                }
            }
        }
        return out;
    }

    /** The renders this model was built from (to build a variant in a test). */
    inputsForTests(): ModelInputs {
        return this.inputs;
    }

    /** The owner of a resource. */
    ownerOf(resource: string): string {
        return this.resources.get(resource)?.owner ?? "other";
    }

    /** The secrets key of a stack (`…/keyRings/<ring>/cryptoKeys/<stack>` in its project). */
    secretsKey(stack: string): string {
        const key = [...this.resources.values()].find((r) => r.type === TYPES.key.type && r.project === this.stackProjects[stack] && r.name.endsWith(`/cryptoKeys/${stack}`));
        if (!key) {
            throw new Error(`no secrets key for ${stack}`);
        }
        return key.name;
    }

    /** The state file object of a main stack. */
    stateObject(stack: string): string {
        return `projects/_/buckets/${this.stateBucket}/objects/.pulumi/stacks/${MAIN_PROJECT}/${stack}.json`;
    }

    /** The image repositories. */
    repositories(): string[] {
        return [...this.resources.values()].filter((r) => r.type === TYPES.repository.type).map((r) => r.name);
    }
}

/** What a context's grants mean, in the terms of the assertions. */
export interface Capabilities {
    readonly deploy: string[];
    readonly decrypt: string[];
    readonly readState: string[];
    readonly writeState: string[];
    readonly pushImage: boolean;
    /** IAM-changing grants (setIamPolicy anywhere, actAs, account creation, pools): `permission resource (owner)`. */
    readonly changeIam: string[];
    /** Owners of every resource the context holds any permission on. */
    readonly touches: string[];
}

/** Summarises `grants` for the stacks of `model`. */
export function capabilities(model: TrustModel, grants: readonly Grant[]): Capabilities {
    const on = (resource: string, ...permissions: string[]) => grants.some((g) => g.resource === resource && (permissions.includes(g.permission) || g.permission === ALL));
    const stacks = Object.keys(model.stackProjects);
    return {
        deploy: stacks.filter((s) => on(`projects/${model.stackProjects[s]}`, "container.clusters.update", "container.deployments.update")),
        decrypt: stacks.filter((s) => on(model.secretsKey(s), "cloudkms.cryptoKeyVersions.useToDecrypt")),
        readState: stacks.filter((s) => on(model.stateObject(s), "storage.objects.get")),
        writeState: stacks.filter((s) => on(model.stateObject(s), "storage.objects.create", "storage.objects.delete", "storage.objects.update")),
        pushImage: model.repositories().some((r) => on(r, "artifactregistry.repositories.uploadArtifacts")),
        changeIam: grants.filter((g) => changesIam(g.permission)).map((g) => `${g.permission} ${g.resource} (${model.ownerOf(g.resource)})`).sort(),
        touches: [...new Set(grants.map((g) => model.ownerOf(g.resource)))].sort(),
    };
}
