/**
 * Binary Authorization (`security.binaryAuthorization`, off by default): the project's admission
 * policy, which a GKE cluster with `binaryAuthorization.evaluationMode:
 * PROJECT_SINGLETON_POLICY_ENFORCE` checks every pod against when it is created.
 *
 * The policy is a singleton of the stack's project (`projects/<project>/policy`;
 * https://cloud.google.com/binary-authorization/docs/policy-yaml-reference): it admits Google's own
 * system images (`globalPolicyEvaluationMode: ENABLE`, "images that are required by GKE are not
 * blocked", https://cloud.google.com/binary-authorization/docs/example-policies, "Block (almost) all
 * deployments") and any tag or digest of exactly the image paths this stack runs
 * ({@link admissionPatterns}); everything else is denied (`ALWAYS_DENY`), blocked and logged with
 * `enforce`, only logged with `dry-run` (`DRYRUN_AUDIT_LOG_ONLY`). Not done here: attestations (an attestor that CI signs each image
 * for, `REQUIRE_ATTESTATION`), which need a KMS signing key and a CI step (docs/architecture.md,
 * "Binary Authorization").
 *
 * What it protects against: a Kubernetes identity that can create pods (a leaked kubeconfig, a
 * too-wide RBAC binding) running an image from anywhere. It does not restrict what an allowed image
 * runs (a pod can override the command), and whoever can push to the app's repository (CI) can
 * push anything: that is what attestations would add.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { CLOUD_SQL_PROXY_IMAGE } from "./kube";

/** `security.binaryAuthorization`. */
export type BinaryAuthorizationMode = "off" | "dry-run" | "enforce";

/** The cluster's evaluation mode for a setting (rendered explicitly, also when off: see cluster.ts). */
export function clusterEvaluationMode(mode: BinaryAuthorizationMode): "DISABLED" | "PROJECT_SINGLETON_POLICY_ENFORCE" {
    return mode === "off" ? "DISABLED" : "PROJECT_SINGLETON_POLICY_ENFORCE";
}

/**
 * True when an image reference names its registry (`host/…`): Binary Authorization's patterns
 * are "in the form registry/path/to/image", so a Docker Hub short name (`redis:7`) has none.
 */
export function namesRegistry(image: string): boolean {
    const first = image.split("/")[0] ?? "";
    return image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
}

/** The image's path: the reference without `@sha256:…` and without `:tag`. */
export function imagePath(image: string): string {
    const noDigest = image.replace(/@sha256:[0-9a-f]{64}$/, "");
    const slash = noDigest.lastIndexOf("/");
    const colon = noDigest.lastIndexOf(":");
    return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/**
 * The allowlist patterns for the images a stack runs: for each image's path, `path:*` (any tag,
 * also followed by a digest) and `path@sha256:*` (any digest), sorted and without duplicates.
 *
 * A pattern is matched against the reference as the pod spec writes it: without a wildcard it must
 * equal it, so a bare path would admit no tagged or pinned image; a trailing `*` matches any text
 * without `/` (the API reference's AdmissionWhitelistPattern: "gcr.io/nginx* matches
 * gcr.io/nginx@latest, but it does not match gcr.io/nginx/image"; grafeas/kritis
 * pkg/kritis/util/allowlist_test.go, "test untagged pattern mismatch"). `path*` would also admit
 * `path-debug` next to it; `path:*` and `path@sha256:*` admit this image only. The next release's
 * digest is admitted without a policy change, and so is an older one (a rollback, an old
 * ReplicaSet's pod). tests/binary-authorization.test.ts evaluates them
 * (tests/lib/binaryAuthorizationModel.ts).
 *
 * @throws {Error} for an image without a registry host (config.ts refuses those first).
 */
export function admissionPatterns(images: readonly string[]): string[] {
    for (const image of images) {
        if (!namesRegistry(image)) {
            throw new Error(`${image}: Binary Authorization needs the registry in the image name (e.g. docker.io/library/${image})`);
        }
    }
    return [...new Set(images.map(imagePath).flatMap((path) => [`${path}:*`, `${path}@sha256:*`]))].sort();
}

/** What {@link stackImages} reads of a stack's config. */
export interface ImagesConfig {
    readonly image: string;
    readonly database: { readonly connector: "auth-proxy" | "private-ip" };
    readonly cache: { readonly mode: "in-cluster" | "memorystore"; readonly image: string };
}

/**
 * Every image the stack's pods run: the app (web, workers, CronJobs, the release Jobs and
 * `npm run manage`), the Cloud SQL Auth Proxy sidecar with connector auth-proxy, and Redis with
 * cache.mode in-cluster.
 */
export function stackImages(cfg: ImagesConfig): string[] {
    return [
        cfg.image,
        ...(cfg.database.connector === "auth-proxy" ? [CLOUD_SQL_PROXY_IMAGE] : []),
        ...(cfg.cache.mode === "in-cluster" ? [cfg.cache.image] : []),
    ];
}

/** The policy's inputs for a stack (pure: tests read it without Pulumi). */
export function policyArgs(project: string, mode: Exclude<BinaryAuthorizationMode, "off">, images: readonly string[]): gcp.binaryauthorization.PolicyArgs {
    return {
        project,
        description: "django-platform: Google's system images and the stack's own images only (components/binaryAuthorization.ts).",
        globalPolicyEvaluationMode: "ENABLE",
        admissionWhitelistPatterns: admissionPatterns(images).map((namePattern) => ({ namePattern })),
        defaultAdmissionRule: {
            evaluationMode: "ALWAYS_DENY",
            enforcementMode: mode === "enforce" ? "ENFORCED_BLOCK_AND_AUDIT_LOG" : "DRYRUN_AUDIT_LOG_ONLY",
        },
    };
}

/**
 * The project's Binary Authorization policy. Deleting it (turning the setting off) puts back
 * Google's default policy, which allows every image (the provider's delete,
 * hashicorp/terraform-provider-google google/services/binaryauthorization/resource_binary_authorization_policy.go,
 * DefaultBinaryAuthorizationPolicy).
 */
export function binaryAuthorizationPolicy(name: string, project: string, mode: Exclude<BinaryAuthorizationMode, "off">, images: readonly string[], opts: pulumi.CustomResourceOptions): gcp.binaryauthorization.Policy {
    return new gcp.binaryauthorization.Policy(name, policyArgs(project, mode, images), opts);
}
