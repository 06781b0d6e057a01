/**
 * A model of how Binary Authorization decides a pod's image against a project's policy, for the
 * tests to evaluate the policy the program renders (not to restate how it is written).
 *
 * Allowlist patterns (`admissionWhitelistPatterns[].namePattern`), as the API reference defines
 * them: "An image name pattern to allowlist, in the form registry/path/to/image. This supports a
 * trailing * as a wildcard, but this is allowed only in text after the registry/ part. * wildcard
 * does not match /, i.e., gcr.io/nginx* matches gcr.io/nginx@latest, but it does not match
 * gcr.io/nginx/image. This also supports a trailing ** wildcard which matches subdirectories, i.e.,
 * gcr.io/nginx** matches gcr.io/nginx/image."
 * (https://cloud.google.com/binary-authorization/docs/reference/rest/v1/projects/getPolicy and the
 * client libraries' AdmissionWhitelistPattern, e.g.
 * https://cloud.google.com/python/docs/reference/binaryauthorization/latest/google.cloud.binaryauthorization_v1beta1.types.AdmissionWhitelistPattern).
 * A pattern without a wildcard is "a path to a single image by exact match": Kritis, Google's open
 * source implementation of the same policy model, compares the whole reference as written
 * (https://github.com/grafeas/kritis/blob/b32b6e3762a5845eb52e2052d90fb50b1b5a418c/pkg/kritis/util/allowlist.go
 * `imageNamePatternMatch`, which cites the policy YAML reference), and its tests say so
 * (https://github.com/grafeas/kritis/blob/0101e5d2ec52f8cf4204789843c9d39b224692ec/pkg/kritis/util/allowlist_test.go
 * "test untagged pattern mismatch": `gcr.io/3-my-untagged-image` does not admit
 * `gcr.io/3-my-untagged-image:tag`; `…:*` admits any tag, `…@sha256:*` any digest). This model
 * takes that narrower reading: a policy that admits an image here admits it under a wider one too.
 *
 * Then the default rule (`defaultAdmissionRule`; the program renders no cluster-specific rules):
 * `ALWAYS_ALLOW` admits, `ALWAYS_DENY` denies; a denial with `DRYRUN_AUDIT_LOG_ONLY` is only logged
 * and the pod is admitted (https://cloud.google.com/binary-authorization/docs/policy-yaml-reference).
 * Google's system-images policy (`globalPolicyEvaluationMode: ENABLE`) is not modelled: none of the
 * stack's images may rely on it, and an attacker's image is not a Google system image.
 */

/** The policy fields the model reads (gcp.binaryauthorization.PolicyArgs, unwrapped). */
export interface PolicyModelInput {
    readonly admissionWhitelistPatterns?: ReadonlyArray<{ readonly namePattern: string }>;
    readonly defaultAdmissionRule: { readonly evaluationMode: string; readonly enforcementMode: string };
    readonly clusterAdmissionRules?: readonly unknown[];
}

/** What Binary Authorization does with one image. */
export interface AdmissionDecision {
    /** Whether the pod may be created with this image. */
    readonly admitted: boolean;
    /** Whether an audit log entry says the image violates the policy (a denial, or a dry-run one). */
    readonly violation: boolean;
    /** The allowlist pattern that exempted it, if any. */
    readonly pattern?: string;
}

/** Whether an allowlist pattern matches an image reference as written in the pod spec. */
export function patternMatches(pattern: string, image: string): boolean {
    if (pattern.endsWith("**")) {
        return image.startsWith(pattern.slice(0, -2));
    }
    if (pattern.endsWith("*")) {
        const prefix = pattern.slice(0, -1);
        return image.startsWith(prefix) && !image.slice(prefix.length).includes("/");
    }
    return image === pattern;
}

/** Binary Authorization's decision for `image` under `policy` (see the file's comment). */
export function admission(policy: PolicyModelInput, image: string): AdmissionDecision {
    if ((policy.clusterAdmissionRules ?? []).length > 0) {
        throw new Error("cluster-specific admission rules are not modelled (the program renders none)");
    }
    const pattern = (policy.admissionWhitelistPatterns ?? []).map((p) => p.namePattern).find((p) => patternMatches(p, image));
    if (pattern !== undefined) {
        return { admitted: true, violation: false, pattern };
    }
    const rule = policy.defaultAdmissionRule;
    switch (rule.evaluationMode) {
        case "ALWAYS_ALLOW":
            return { admitted: true, violation: false };
        case "ALWAYS_DENY":
            return { admitted: rule.enforcementMode === "DRYRUN_AUDIT_LOG_ONLY", violation: true };
        default:
            throw new Error(`evaluationMode ${rule.evaluationMode} is not modelled`);
    }
}
