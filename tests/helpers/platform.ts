/**
 * Test helpers: run the real program (index.ts) under Pulumi mocks with a stack's config, with
 * optional per-test overrides, and look resources up.
 */
import * as path from "node:path";
import { CapturedResource, CaptureResult, findAll, findOne, runProgram, RunOptions, withoutStackTraces } from "../../cli/lib/mockRuntime";
import { applyOverrides, secretKeysWith, type Overrides } from "../../maint/lib/configOverrides";
import { renderIamStep } from "../../cli/lib/iamStep";
import { fakeInvoke } from "../../cli/lib/mockValues";
import { loadStackConfig } from "../../cli/lib/stackConfig";

/** Re-exported for the tests that run synth or policies themselves. */
export { withoutStackTraces };

export const ROOT = path.resolve(__dirname, "../..");
const INDEX = path.join(ROOT, "index.ts");

/** Stack config keys (fully qualified) → override values (objects are deep-merged). */
export type { Overrides };

/** The raw config map of a stack file with overrides applied (as the CLI would pass it). */
export function stackConfig(stack: string, overrides: Overrides = {}): { config: Record<string, string>; secretKeys: string[] } {
    const loaded = loadStackConfig({ stack, projectDir: ROOT });
    return { config: applyOverrides(loaded.config, overrides), secretKeys: secretKeysWith(loaded.secretKeys, overrides) };
}

/**
 * Runs index.ts for a stack (with overrides) and returns everything it registered; `patchOutputs`
 * changes what the mocked cloud answers for a resource (see cli/lib/mockRuntime.ts).
 */
export async function renderStack(stack: string, overrides: Overrides = {}, patchOutputs?: RunOptions["patchOutputs"]): Promise<Rendered> {
    const { config, secretKeys } = stackConfig(stack, overrides);
    const result = await withoutStackTraces(() => runProgram({ project: "django-platform", stack, config, secretKeys, program: INDEX, patchOutputs }));
    return new Rendered(result);
}

/** Runs the IAM step (iam/) for a stack's config (with overrides), as its person would before `pulumi up`. */
export async function renderIamFor(stack: string, overrides: Overrides = {}): Promise<Rendered> {
    const { config } = stackConfig(stack, overrides);
    return new Rendered(await withoutStackTraces(() => renderIamStep({ stack, config })));
}

/** A rendered stack with typed finders. */
export class Rendered {
    constructor(readonly result: CaptureResult) {}
    get resources(): CapturedResource[] {
        return this.result.resources;
    }
    all(type: string, name?: string): CapturedResource[] {
        return findAll(this.resources, type, name);
    }
    one(type: string, name?: string): CapturedResource {
        return findOne(this.resources, type, name);
    }
    /** Inputs of exactly one resource, typed loosely for deep property access. */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    inputs(type: string, name?: string): any {
        return this.one(type, name).inputs;
    }
    byUrn(urn: string): CapturedResource | undefined {
        return this.resources.find((r) => r.urn === urn);
    }
    /**
     * A Google service account the program looked up (`gcp.serviceaccount.getAccountOutput`; the
     * IAM step creates them), as the mocked lookup answers: its email and `projects/…` name.
     */
    account(accountId: string): { email: string; name: string } {
        const call = this.result.invokes.find((i) => i.token === "gcp:serviceaccount/getAccount:getAccount" && i.inputs.accountId === accountId);
        if (!call) {
            throw new Error(`the program looks up no service account ${accountId}`);
        }
        const found = fakeInvoke(call.token, call.inputs);
        return { email: String(found.email), name: String(found.name) };
    }
}

/** Frequently used type tokens. */
export const T = {
    sqlInstance: "gcp:sql/databaseInstance:DatabaseInstance",
    sqlUser: "gcp:sql/user:User",
    sqlDatabase: "gcp:sql/database:Database",
    bucket: "gcp:storage/bucket:Bucket",
    bucketIam: "gcp:storage/bucketIAMMember:BucketIAMMember",
    cluster: "gcp:container/cluster:Cluster",
    connection: "gcp:servicenetworking/connection:Connection",
    globalAddress: "gcp:compute/globalAddress:GlobalAddress",
    backendBucket: "gcp:compute/backendBucket:BackendBucket",
    redis: "gcp:redis/instance:Instance",
    projectIam: "gcp:projects/iAMMember:IAMMember",
    saIam: "gcp:serviceaccount/iAMMember:IAMMember",
    namespace: "kubernetes:core/v1:Namespace",
    deployment: "kubernetes:apps/v1:Deployment",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
    service: "kubernetes:core/v1:Service",
    configMap: "kubernetes:core/v1:ConfigMap",
    secret: "kubernetes:core/v1:Secret",
    hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    pdb: "kubernetes:policy/v1:PodDisruptionBudget",
    job: "kubernetes:batch/v1:Job",
    networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    ingress: "kubernetes:networking.k8s.io/v1:Ingress",
    k8sProvider: "pulumi:providers:kubernetes",
} as const;
