/**
 * The rules a transition (plan.ts) must keep, whatever the config key:
 *
 * 1. Every changed input is decided by a provider rule (providerRules.ts): no guessing.
 * 2. Nothing data-bearing (see {@link dataBearing}) is replaced or deleted unless the engine
 *    refuses it (`protect`), keeps it (`retainOnDelete`), or the transition's row acknowledges it
 *    with the reason or the documented procedure (docs/transitions.md).
 * 3. A replacement whose new object keeps the old one's cloud name must delete first
 *    (`deleteBeforeReplace`): otherwise the create collides with the old object, or, for an IAM
 *    member, the delete of the old binding removes the one just "created".
 * 4. Nothing is deleted while still attached: no resource of the after render carries an output of
 *    a deleted one; a deleted resource that another deleted one references is deleted after it
 *    (the engine deletes dependents first, so the reference must be a dependency); and nothing a
 *    GKE controller attached from a Kubernetes object ({@link CONTROLLER_ATTACHMENTS}) is deleted by
 *    Pulumi, since the controller detaches on its own schedule after the object changes.
 * 6. What CI's deployer may not delete (bootstrap/permissionTable.ts `destroyOnly`: destroying KMS
 *    key material) is deleted only by a transition whose row says a human runs it.
 * 5. What the engine refuses (`protect`) is what the row says it refuses. A refusal fails the
 *    preview ("In Preview, we mark the deployment as Error but continue to next steps, so that the
 *    preview is shown to the user", pulumi/pulumi step_generator.go), and `pulumi up` stops there,
 *    so a refused transition changes nothing and rules 2–4 do not apply to it.
 */
import type { CapturedResource } from "../../../cli/lib/mockRuntime";
import { rowFor } from "../../../bootstrap/permissionTable";
import { computedValues, pathKeys, referencingPaths, type Plan, type Step } from "./plan";

/** One broken rule. */
export interface Finding {
    readonly rule: "unclassified" | "data" | "fixed-name" | "attached" | "refused" | "permission";
    readonly message: string;
}

/** What a transition's row says about it (table.ts). */
export interface Acknowledgements {
    /** Logical resource name → why its replacement or delete is acceptable, or the procedure. */
    readonly accept?: Readonly<Record<string, string>>;
    /** Logical names the engine refuses to replace or delete (protect). */
    readonly refused?: readonly string[];
    /** Why a person with more rights than CI's deployer runs this transition (rule 6). */
    readonly byHuman?: string;
}

/**
 * Why a resource holds data or serves traffic that a replacement or delete would lose; undefined
 * for the rest. Cloud SQL deletes an instance's automated backups with it
 * (https://cloud.google.com/sql/docs/postgres/backup-recovery/backups, "retained backups"), a bucket
 * delete deletes its objects (or fails without forceDestroy), Cloud KMS destroys a deleted key's
 * versions (terraform-provider-google `resourceKMSCryptoKeyDelete`), and a released static IP is
 * gone for good (https://cloud.google.com/vpc/docs/reserve-static-external-ip-address).
 */
export function dataBearing(r: CapturedResource): string | undefined {
    const inputs = r.inputs as Record<string, unknown>;
    switch (r.type) {
        case "gcp:sql/databaseInstance:DatabaseInstance":
            return "the Cloud SQL instance: every database in it and its automated backups";
        case "gcp:sql/database:Database":
            return "the app's database";
        case "gcp:sql/user:User":
            // An IAM database user owns no table: the migrate identity creates them as the schema
            // owner (components/databaseRoles.ts); a removed one is abandoned, not dropped.
            return inputs.type === "CLOUD_IAM_SERVICE_ACCOUNT" ? undefined : "the app's database login, which owns the tables it created";
        case "gcp:storage/bucket:Bucket":
            return "a bucket and its objects";
        case "gcp:redis/instance:Instance":
            return "the Memorystore instance: its contents, its IP and AUTH string";
        case "gcp:kms/cryptoKey:CryptoKey":
            return "a KMS key: deleting it destroys every key version, and what it encrypted becomes unreadable";
        case "gcp:kms/keyRing:KeyRing":
            return "a KMS key ring (Google never deletes one; Pulumi forgets it)";
        case "gcp:container/cluster:Cluster":
            return "the GKE cluster and everything in it (volumes, Secrets)";
        case "gcp:compute/globalAddress:GlobalAddress":
            return inputs.addressType === "EXTERNAL" ? "the reserved external IP that DNS points at" : undefined;
        case "gcp:dns/recordSet:RecordSet":
            return "a live DNS record";
        case "kubernetes:apps/v1:StatefulSet": {
            const spec = (inputs.spec ?? {}) as Record<string, unknown>;
            return Array.isArray(spec.volumeClaimTemplates) && spec.volumeClaimTemplates.length > 0 ? "a StatefulSet with persistent volumes" : undefined;
        }
        default:
            return undefined;
    }
}

/**
 * Fields of Kubernetes objects through which a GKE controller attaches a Google Cloud resource the
 * program manages, from ingress-gce (kubernetes/ingress-gce @ acbcf5d) and
 * https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration. Google refuses to
 * delete a security policy, an address or an SSL policy that is still in use.
 *
 * `frontend`: the load balancer's frontend (forwarding rules, target proxies) holds it. When the
 * Ingress is deleted, ingress-gce deletes the frontend and only then removes the Ingress's
 * finalizer `networking.gke.io/ingress-finalizer-V2` (pkg/sync/sync.go `GC`: `GCv2LoadBalancer`,
 * then `EnsureDeleteV2Finalizer`), and pulumi-kubernetes' delete returns only once the object is
 * gone (provider/pkg/await/await.go `Deletion`). So a frontend attachment is released before the
 * engine deletes what the Ingress depends on (dependents are deleted first). The security policy
 * sits on the backend service, which that frontend cleanup does not delete, and which a
 * BackendConfig update detaches on the controller's schedule (pkg/backends/features/securitypolicy.go).
 */
export const CONTROLLER_ATTACHMENTS: ReadonlyArray<{ readonly kind: string; readonly path: string; readonly frontend: boolean }> = [
    { kind: "BackendConfig", path: "spec.securityPolicy.name", frontend: false },
    { kind: "Ingress", path: 'metadata.annotations["kubernetes.io/ingress.global-static-ip-name"]', frontend: true },
    { kind: "FrontendConfig", path: "spec.sslPolicy", frontend: true },
];

/** URNs `r` depends on, directly or through others of `all`. */
function dependsOn(r: CapturedResource, all: ReadonlyMap<string, CapturedResource>): Set<string> {
    const seen = new Set<string>();
    const stack = [...r.dependencies];
    while (stack.length > 0) {
        const urn = stack.pop()!;
        if (!seen.has(urn)) {
            seen.add(urn);
            stack.push(...(all.get(urn)?.dependencies ?? []));
        }
    }
    return seen;
}

function valueAt(root: unknown, path: string): unknown {
    return pathKeys(path).reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), root);
}

/** Whether a step actually removes the cloud object (a delete or a replacement, not refused, not retained). */
function removes(step: Step): boolean {
    return (step.action === "delete" || step.action === "replace") && step.refused === undefined && !step.retained;
}

/**
 * The rules' findings for `plan`, given the row's acknowledgements. `only` keeps the findings of
 * some rules and checks them even when the engine refuses the transition (e.g. the attachments of
 * a `pulumi destroy` that protection would otherwise stop).
 */
export function checkPlan(plan: Plan, ack: Acknowledgements = {}, only?: readonly Finding["rule"][]): Finding[] {
    if (only) {
        return checkPlan({ ...plan, steps: plan.steps.map((s) => ({ ...s, refused: undefined })) }, { ...ack, refused: [] }).filter((f) => only.includes(f.rule));
    }
    const findings: Finding[] = [];
    const accept = ack.accept ?? {};
    for (const u of plan.unclassified) {
        findings.push({ rule: "unclassified", message: `no provider rule decides a change of ${u}: add it to maint/lib/transitions/providerRules.ts from the provider's source` });
    }
    const refused = plan.steps.filter((s) => s.refused !== undefined).map((s) => s.name).sort();
    const expected = [...(ack.refused ?? [])].sort();
    if (JSON.stringify(refused) !== JSON.stringify(expected)) {
        findings.push({ rule: "refused", message: `the engine refuses [${refused.join(", ")}] (protect), the row says [${expected.join(", ")}]` });
    }
    if (refused.length > 0) {
        return findings;
    }
    const afterResources = plan.steps.map((s) => s.after).filter((r): r is CapturedResource => r !== undefined);
    const beforeResources = plan.steps.map((s) => s.before).filter((r): r is CapturedResource => r !== undefined);
    const beforeByUrn = new Map(beforeResources.map((r) => [r.urn, r]));
    for (const step of plan.steps) {
        const data = step.before ? dataBearing(step.before) : undefined;
        if (data && removes(step) && accept[step.name] === undefined) {
            findings.push({ rule: "data", message: `${step.name} (${step.type}) is ${step.action === "delete" ? "deleted" : "replaced"}: ${data}. Protect it, retain it, or acknowledge it in the row with the procedure (${step.changes.filter((c) => c.effect === "replace").map((c) => c.path).join(", ") || step.action})` });
        }
        if (step.action === "replace" && step.sameIdentity && !step.deleteBeforeReplace && step.refused === undefined) {
            findings.push({ rule: "fixed-name", message: `${step.name} (${step.type}) is replaced under the same name without deleteBeforeReplace: the create collides with the old object, or for an IAM member the old binding's delete removes the new one` });
        }
        if (!removes(step) || !step.before) {
            continue;
        }
        const gone = step.before;
        const values = computedValues(gone);
        const missing = gone.inputs.deletionPolicy === "ABANDON" ? [] : rowFor(gone.type)?.destroyOnly ?? [];
        if (missing.length > 0 && ack.byHuman === undefined) {
            findings.push({ rule: "permission", message: `${gone.name} (${gone.type}) is ${step.action === "delete" ? "deleted" : "replaced"}, which needs ${missing.map((d) => d.permission).join(", ")}: CI's deployer does not have it (${missing[0].why})` });
        }
        if (step.action === "delete") {
            for (const r of afterResources) {
                const refs = referencingPaths(r.inputs, values);
                if (refs.length > 0 && accept[step.name] === undefined) {
                    findings.push({ rule: "attached", message: `${gone.name} (${gone.type}) is deleted while ${r.name} still references it (${refs.join(", ")})` });
                }
            }
            for (const other of plan.steps.filter((s) => s.action === "delete" && s.before && s.urn !== step.urn)) {
                const refs = referencingPaths(other.before!.inputs, values);
                if (refs.length > 0 && !other.before!.dependencies.includes(gone.urn)) {
                    findings.push({ rule: "attached", message: `${other.name} references ${gone.name} (${refs.join(", ")}) without depending on it, so the engine may delete ${gone.name} first` });
                }
            }
        }
        // The old object of a replacement is deleted at the end of the same `up`, like a delete.
        const ingressReleases = plan.steps.some((s) => s.action === "delete" && s.before?.inputs.kind === "Ingress" && dependsOn(s.before, beforeByUrn).has(gone.urn));
        for (const r of beforeResources.filter((x) => x.type.startsWith("kubernetes:"))) {
            for (const a of CONTROLLER_ATTACHMENTS.filter((x) => x.kind === r.inputs.kind)) {
                const held = valueAt(r.inputs, a.path);
                if (a.frontend && ingressReleases) {
                    continue;
                }
                if (typeof held === "string" && held !== "" && values.includes(held) && accept[step.name] === undefined) {
                    findings.push({ rule: "attached", message: `${gone.name} (${gone.type}) is ${step.action === "delete" ? "deleted" : "replaced"} while GKE's controller may still hold it through ${String(r.inputs.kind)} ${r.name} ${a.path}: the controller detaches asynchronously, so retain it (retainOnDelete) or acknowledge how it is detached first` });
                }
            }
        }
    }
    return findings;
}
