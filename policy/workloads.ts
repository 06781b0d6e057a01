/**
 * Workload hygiene and availability: resources (ephemeral storage included), probes, pinned images,
 * service accounts and their tokens, namespaces, secrets kept out of env and ConfigMaps, Jobs,
 * PodDisruptionBudgets and HPAs, and no cluster-admin tools (Dashboard, Tiller, git-sync's git override).
 */
import * as k8s from "@pulumi/kubernetes";
import type { PolicyResource } from "@pulumi/policy";
import { podPolicy } from "./podSecurity";
import {
    configOf, isProductionUrn, PackPolicy, PolicyMeta, productionStacksSchema, stackPolicy, typedPolicy, DEFAULT_PRODUCTION_STACKS,
    stringList, tokenPolicy,
} from "./lib/define";
import {
    hpaTarget, intOrPercent, namespaceKey, podsOfPercent, programSetsReplicas, replicaFloor, sameNamespace, selects, showNamespace,
} from "./lib/k8s";
import { containersOf, podOf, POD_TYPES } from "./lib/pods";
import { DEFAULT_SECRET_NAME_PATTERN, isSecretName, looksLikeSecretValue } from "./lib/secrets";
import { isUnknown, isUnset, knownEntries, knownItems, knownString, read, show, UNKNOWN } from "./lib/values";

export const podSetsResourceRequestsAndLimits = podPolicy({
    name: "pod-sets-resource-requests-and-limits",
    description: "Containers must request CPU and memory and limit memory, so scheduling and Autopilot billing are deliberate.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every container.",
    covers: ["CKV_K8S_10", "CKV_K8S_12", "CKV_K8S_13"],
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec, ["containers", "initContainers"])) {
        const missing = [
            ["requests", "cpu"], ["requests", "memory"], ["limits", "memory"],
        ].filter(([kind, resource]) =>
            isUnset(read(() => (container.resources as Record<string, Record<string, unknown>> | undefined)?.[kind]?.[resource])));
        if (missing.length > 0) {
            report(`${label} does not set ${missing.map(([k, r]) => `resources.${k}.${r}`).join(", ")}.`);
        }
    }
});

export const podDefinesHealthProbes = podPolicy({
    name: "pod-defines-health-probes",
    description: "Long-running containers must have liveness and readiness probes (Jobs and CronJobs are exempt).",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Add a readinessProbe (traffic) and a livenessProbe (restart; must not depend on the database) to each container.",
    covers: ["CKV_K8S_8", "CKV_K8S_9"],
}, (pod, report) => {
    if (!pod.longRunning) {
        return;
    }
    for (const { container, label } of containersOf(pod.spec, ["containers"])) {
        for (const probe of ["livenessProbe", "readinessProbe"] as const) {
            if (isUnset(read(() => container[probe]))) {
                report(`${label} has no ${probe}.`);
            }
        }
    }
});

/** Splits an image reference into its tag and digest (registry ports are not tags). */
function imageReference(image: string): { tag?: string; digest?: string } {
    const [name, digest] = image.split("@", 2);
    const lastSegment = name.slice(name.lastIndexOf("/") + 1);
    const colon = lastSegment.indexOf(":");
    return { tag: colon >= 0 ? lastSegment.slice(colon + 1) : undefined, digest };
}

export const podPinsImageTags = podPolicy({
    name: "pod-pins-image-tags",
    description: "Container images must be pinned: a tag other than `latest`, or a digest.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Reference images as repo:1.2.3 or repo@sha256:…, e.g. `pulumi config set image …:v1.4.2`.",
    covers: ["CKV_K8S_14"],
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec)) {
        const image = knownString(read(() => container.image));
        if (image === undefined) {
            continue;
        }
        const { tag, digest } = imageReference(image);
        if (digest === undefined && (tag === undefined || tag === "latest")) {
            report(`${label} uses image ${JSON.stringify(image)} without a pinned tag; use a version tag or a digest.`);
        }
    }
});

export const podPinsImageDigests = podPolicy({
    name: "pod-pins-image-digests",
    description: "Container images should be referenced by digest so a re-pushed tag cannot change what runs.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Reference images as repo:tag@sha256:<digest> (CI can resolve the digest after the push).",
    covers: ["CKV_K8S_43"],
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec)) {
        const image = knownString(read(() => container.image));
        if (image !== undefined && imageReference(image).digest === undefined) {
            report(`${label} uses image ${JSON.stringify(image)} by tag only; pin it by digest.`);
        }
    }
});

const SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount";

/**
 * The ServiceAccount of the stack a workload's pods run as: by name in the workload's namespace;
 * else, when the account's name is computed, the only ServiceAccount without a declared name that
 * the workload depends on. `undefined` when it is not in the stack, UNKNOWN when a namespace is.
 */
function serviceAccountOf(workload: PolicyResource, account: string, resources: readonly PolicyResource[]): PolicyResource | undefined | typeof UNKNOWN {
    const ns = namespaceKey(workload);
    let undecided = false;
    const byName = resources.find((r) => {
        if (r.type !== SERVICE_ACCOUNT || read(() => r.props.metadata?.name) !== account) {
            return false;
        }
        const same = sameNamespace(namespaceKey(r), ns);
        undecided ||= same === UNKNOWN;
        return same === true;
    });
    if (byName !== undefined) {
        return byName;
    }
    const computed = workload.dependencies.filter((d) => d.type === SERVICE_ACCOUNT && typeof read(() => d.props.metadata?.name) !== "string");
    if (computed.length === 1) {
        return computed[0];
    }
    return undecided ? UNKNOWN : undefined;
}

/**
 * The pod's `automountServiceAccountToken` wins; when the pod leaves it unset, its ServiceAccount's
 * applies, and a ServiceAccount mounts its token unless it says false ("If both the ServiceAccount
 * and the Pod's .spec specify a value for automountServiceAccountToken, the Pod spec takes
 * precedence": https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting).
 * So an unset pod field is fine when the stack's ServiceAccount of that name, in that namespace,
 * disables it (Polaris' automountServiceAccountToken agrees; Checkov CKV_K8S_38 looks at the pod only).
 */
export const podDisablesServiceAccountTokenAutomount = stackPolicy({
    name: "pod-disables-service-account-token-automount",
    description: "Pods must not mount a Kubernetes API token unless their service account is allow-listed as needing one: the pod sets automountServiceAccountToken: false, or leaves it unset under a ServiceAccount of the stack that sets false. Code execution in the pod (an app exploit, a bad dependency) would otherwise reach the Kubernetes API with that identity.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set automountServiceAccountToken: false in the pod spec (or on its ServiceAccount, declared in the stack; the platform's pods reach Google APIs through Workload Identity, which needs no Kubernetes token). A pod that really calls the Kubernetes API allow-lists its service account in allowedServiceAccounts and gets a Role with only what it needs.",
    covers: ["CKV_K8S_38", "polaris:automountServiceAccountToken"],
    configSchema: {
        properties: { allowedServiceAccounts: stringList([], "Service account names whose pods may mount a token.") },
    },
}, [...POD_TYPES, SERVICE_ACCOUNT], (args, report) => {
    const { allowedServiceAccounts } = configOf(args, { allowedServiceAccounts: [] as string[] });
    for (const workload of args.resources.filter((r) => POD_TYPES.includes(r.type))) {
        const pod = podOf(workload.type, workload.props);
        if (pod === undefined || pod === UNKNOWN) {
            continue;
        }
        const automount = read(() => pod.spec.automountServiceAccountToken);
        const name = read(() => pod.spec.serviceAccountName ?? pod.spec.serviceAccount);
        if (isUnknown(automount) || isUnknown(name) || automount === false) {
            continue;
        }
        const account = knownString(name) || "default";
        if (allowedServiceAccounts.includes(account)) {
            continue;
        }
        const where = `${workload.name}: ${pod.path}.automountServiceAccountToken is ${show(automount)} for service account "${account}"`;
        if (automount === true) {
            report(`${where}; set it to false.`, workload.urn);
            continue;
        }
        const serviceAccount = serviceAccountOf(workload, account, args.resources);
        if (serviceAccount === UNKNOWN) {
            continue;
        }
        if (serviceAccount === undefined) {
            report(`${where}, which is not in this stack (a ServiceAccount mounts its token unless it says false); set it to false.`, workload.urn);
            continue;
        }
        const accountAutomount = read(() => serviceAccount.props.automountServiceAccountToken);
        if (!isUnknown(accountAutomount) && accountAutomount !== false) {
            report(`${where}, whose ServiceAccount does not disable it either (automountServiceAccountToken ${show(accountAutomount)}); set it to false.`, workload.urn);
        }
    }
});

export const podUsesDedicatedServiceAccount = podPolicy({
    name: "pod-uses-dedicated-service-account",
    description: "Pods must run under their own Kubernetes service account, not `default`.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Create a ServiceAccount for the workload and set serviceAccountName in the pod spec.",
    covers: ["kube-linter:default-service-account"],
}, (pod, report) => {
    const name = read(() => pod.spec.serviceAccountName ?? pod.spec.serviceAccount);
    if (isUnset(name) || name === "" || name === "default") {
        report(`${pod.path}.serviceAccountName is ${show(name)}; use a dedicated service account.`);
    }
});

/**
 * Whether an object lives in `default`: its namespace, else the Kubernetes provider's, else
 * `default`. UNKNOWN while either is computed.
 */
function inDefaultNamespace(props: Record<string, any>, args: { provider?: { props: Record<string, any> } }): boolean | typeof UNKNOWN {
    const ns = read(() => props.metadata?.namespace);
    const effective = isUnset(ns) || ns === "" ? read(() => args.provider?.props.namespace) : ns;
    return isUnknown(effective) ? UNKNOWN : isUnset(effective) || effective === "" || effective === "default";
}

/**
 * Objects Kubernetes itself keeps in `default`: its ServiceAccount `default` (a stack may manage it,
 * e.g. to turn its token off) and the API server's Service `kubernetes`. Checkov CKV_K8S_21 exempts
 * the same two (checkov/kubernetes/checks/resource/k8s/DefaultNamespace.py).
 */
const BUILT_IN_DEFAULT_OBJECTS: Readonly<Record<string, string>> = {
    "kubernetes:core/v1:ServiceAccount": "default",
    "kubernetes:core/v1:Service": "kubernetes",
};

export const podAvoidsDefaultNamespace = tokenPolicy({
    name: "pod-avoids-default-namespace",
    description: "Workloads must live in their own namespace, not `default` (judged from the object's metadata, whether or not its pod template is known yet).",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set metadata.namespace to the stack's namespace (or give the Kubernetes provider a namespace).",
    covers: ["CKV_K8S_21"],
}, POD_TYPES, (props, args, report) => {
    if (inDefaultNamespace(props, args) === true) {
        report("the workload runs in the default namespace; set metadata.namespace.");
    }
});

export const podForbidsLiteralSecretsInEnv = podPolicy({
    name: "pod-forbids-literal-secrets-in-env",
    description: "Secret-looking environment variables must come from a Secret (valueFrom.secretKeyRef), never a literal value.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Put the value in a Kubernetes Secret and reference it with env[].valueFrom.secretKeyRef or envFrom.secretRef.",
    covers: ["polaris:sensitiveContainerEnvVar"],
    configSchema: {
        properties: {
            secretNamePattern: {
                type: "string", default: DEFAULT_SECRET_NAME_PATTERN,
                description: "Case-insensitive regular expression for variable names that hold secrets.",
            },
        },
    },
}, (pod, report, args) => {
    const { secretNamePattern } = configOf(args, { secretNamePattern: DEFAULT_SECRET_NAME_PATTERN });
    for (const { container, label } of containersOf(pod.spec)) {
        for (const variable of knownItems(read(() => container.env))) {
            const name = knownString(read(() => variable.name));
            const value = knownString(read(() => variable.value));
            if (name === undefined || value === undefined || value === "") {
                continue;
            }
            if (isSecretName(name, secretNamePattern) || looksLikeSecretValue(value)) {
                report(`${label} sets env ${name} to a literal value; reference a Secret with valueFrom.secretKeyRef.`);
            }
        }
    }
});

export const configMapForbidsSecretValues = typedPolicy({
    name: "config-map-forbids-secret-values",
    description: "ConfigMaps must not hold secrets: no secret-looking keys, no private keys in values.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Move the entry into a Kubernetes Secret (our env contract puts every secret DJANGO_APP_* variable there).",
    covers: ["polaris:sensitiveConfigmapContent"],
    configSchema: {
        properties: {
            secretNamePattern: {
                type: "string", default: DEFAULT_SECRET_NAME_PATTERN,
                description: "Case-insensitive regular expression for keys that hold secrets.",
            },
        },
    },
}, k8s.core.v1.ConfigMap, (configMap, args, report) => {
    const { secretNamePattern } = configOf(args, { secretNamePattern: DEFAULT_SECRET_NAME_PATTERN });
    for (const [key, value] of knownEntries(read(() => configMap.data))) {
        if (isSecretName(key, secretNamePattern) || (typeof value === "string" && looksLikeSecretValue(value))) {
            report(`data key ${key} looks like a secret; move it into a Secret.`);
        }
    }
    for (const [key] of knownEntries(read(() => configMap.binaryData))) {
        if (isSecretName(key, secretNamePattern)) {
            report(`binaryData key ${key} looks like a secret; move it into a Secret.`);
        }
    }
});

export const jobSetsTtlAfterFinished = typedPolicy({
    name: "job-sets-ttl-after-finished",
    description: "Jobs must set ttlSecondsAfterFinished so finished pods (and their logs of secrets/env) are cleaned up.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set spec.ttlSecondsAfterFinished on the Job (e.g. 86400).",
    covers: ["kube-linter:job-ttl-seconds-after-finished"],
}, k8s.batch.v1.Job, (job, _args, report) => {
    if (isUnset(read(() => job.spec?.ttlSecondsAfterFinished))) {
        report("spec.ttlSecondsAfterFinished is unset; finished Jobs would stay forever.");
    }
});

export const podDisruptionBudgetAllowsDisruptions = typedPolicy({
    name: "pod-disruption-budget-allows-disruptions",
    description: "A PodDisruptionBudget must allow at least one voluntary disruption, or node upgrades (security patches) stall.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Use maxUnavailable: 1 (or a minAvailable below the replica count); never maxUnavailable 0 (or 0%) or minAvailable 100%.",
    covers: ["polaris:pdbDisruptionsIsZero", "polaris:pdbMinAvailableGreaterThanHPAMinReplicas"],
}, k8s.policy.v1.PodDisruptionBudget, (pdb, _args, report) => {
    // Whatever the replica count: maxUnavailable 0 (or 0%, which rounds up to 0 pods) and
    // minAvailable of 100% or more. A count or a lower percentage of minAvailable depends on the
    // replicas: the Deployment and StatefulSet budget policies compare it with the replica floor.
    const maxUnavailable = read(() => pdb.spec?.maxUnavailable);
    const minAvailable = read(() => pdb.spec?.minAvailable);
    const max = intOrPercent(maxUnavailable);
    const min = intOrPercent(minAvailable);
    if (maxUnavailable === "0" || (max !== undefined && ("count" in max ? max.count : max.percent) === 0)) {
        report(`spec.maxUnavailable is ${show(maxUnavailable)}: no pod may ever be evicted; use 1.`);
    }
    if (min !== undefined && "percent" in min && min.percent >= 100) {
        report(`spec.minAvailable is ${show(minAvailable)}: no pod may ever be evicted; use maxUnavailable: 1.`);
    }
});

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const STATEFUL_SET = "kubernetes:apps/v1:StatefulSet";
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";
const HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler";

/** The PDBs that select a workload's pods; `undecided` when an unknown value could change that. */
function budgetsFor(workload: PolicyResource, resources: readonly PolicyResource[]): { pdbs: PolicyResource[]; undecided: boolean } {
    const ns = namespaceKey(workload);
    const pod = podOf(workload.type, workload.props);
    if (ns === UNKNOWN || pod === UNKNOWN || pod === undefined) {
        return { pdbs: [], undecided: true };
    }
    let undecided = false;
    const pdbs = resources.filter((pdb) => {
        if (pdb.type !== PDB) {
            return false;
        }
        const same = sameNamespace(namespaceKey(pdb), ns);
        const match = same === UNKNOWN ? UNKNOWN : same && selects(read(() => pdb.props.spec?.selector), pod.labels);
        undecided ||= match === UNKNOWN;
        return match === true;
    });
    return { pdbs, undecided };
}

/**
 * A stack policy: every workload of `type` is selected by a PodDisruptionBudget, and no budget's
 * minAvailable reaches the workload's minimum replica count: a count as it is, a percentage as the
 * disruption controller turns it into pods (rounded up, see {@link podsOfPercent}).
 */
function budgetPolicy(meta: PolicyMeta, type: string, kind: string): PackPolicy {
    return stackPolicy(meta, [type, PDB, HPA], (args, report) => {
        for (const workload of args.resources.filter((r) => r.type === type)) {
            const { pdbs, undecided } = budgetsFor(workload, args.resources);
            if (pdbs.length === 0 && !undecided) {
                report(`${kind} ${workload.name} has no PodDisruptionBudget selecting its pods in ${showNamespace(String(namespaceKey(workload)))}.`, workload.urn);
            }
            const floor = replicaFloor(workload, args.resources);
            if (typeof floor !== "number") {
                continue;
            }
            for (const pdb of pdbs) {
                const value = read(() => pdb.props.spec?.minAvailable);
                const minAvailable = intOrPercent(value);
                if (minAvailable === undefined) {
                    continue;
                }
                // A percentage of 100 or more blocks every eviction at any scale: pod-disruption-budget-allows-disruptions reports it.
                const required = "count" in minAvailable ? minAvailable.count
                    : minAvailable.percent < 100 ? podsOfPercent(minAvailable.percent, floor) : 0;
                if (required > 0 && required >= floor) {
                    const shown = "count" in minAvailable ? String(required) : `${show(value)} (${required} of ${floor} pods, rounded up)`;
                    report(`PodDisruptionBudget ${pdb.name} requires minAvailable ${shown} but ${kind} ${workload.name} may run only ${floor} replica(s): no pod could ever be evicted; use maxUnavailable: 1.`, pdb.urn);
                }
            }
        }
    });
}

export const deploymentHasPodDisruptionBudget = budgetPolicy({
    name: "deployment-has-pod-disruption-budget",
    description: "Every Deployment must be selected by a PodDisruptionBudget that still lets one pod go at its minimum replica count (a percentage minAvailable counts as Kubernetes rounds it: up).",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Add a PodDisruptionBudget in the same namespace whose selector matches the pod template labels, with maxUnavailable: 1.",
    covers: ["polaris:missingPodDisruptionBudget", "polaris:pdbMinAvailableGreaterThanHPAMinReplicas"],
}, DEPLOYMENT, "Deployment");

export const statefulSetHasPodDisruptionBudget = budgetPolicy({
    name: "stateful-set-has-pod-disruption-budget",
    description: "Every StatefulSet must be selected by a PodDisruptionBudget that still lets one pod go, so node upgrades drain it one pod at a time and are never blocked by it.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Add a PodDisruptionBudget in the same namespace whose selector matches the StatefulSet's pod labels, with maxUnavailable: 1.",
    covers: ["kube-score:statefulset-has-poddisruptionbudget", "polaris:missingPodDisruptionBudget"],
}, STATEFUL_SET, "StatefulSet");

export const podDisruptionBudgetSetsUnhealthyPodEvictionPolicy = typedPolicy({
    name: "pod-disruption-budget-sets-unhealthy-pod-eviction-policy",
    description: "A PodDisruptionBudget should set unhealthyPodEvictionPolicy: AlwaysAllow, so pods that never became ready (crash loops) can be evicted and do not block node drains.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set spec.unhealthyPodEvictionPolicy: AlwaysAllow on the PodDisruptionBudget (IfHealthyBudget only if an unready pod must never be evicted).",
    covers: ["kube-linter:pdb-unhealthy-pod-eviction-policy"],
}, k8s.policy.v1.PodDisruptionBudget, (pdb, _args, report) => {
    const policy = read(() => pdb.spec?.unhealthyPodEvictionPolicy);
    if (isUnset(policy)) {
        report("spec.unhealthyPodEvictionPolicy is unset (IfHealthyBudget): a crash-looping pod blocks node drains; set it to AlwaysAllow.");
    }
});

export const hpaTargetOmitsReplicas = stackPolicy({
    name: "hpa-target-omits-replicas",
    description: "A workload scaled by a HorizontalPodAutoscaler must not set spec.replicas, or every update resets the scale.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove spec.replicas from the Deployment the HPA targets; the HPA's minReplicas/maxReplicas own the count.",
    covers: ["kube-score:deployment-targeted-by-hpa-does-not-have-replicas-configured"],
}, [HPA, DEPLOYMENT], (args, report) => {
    for (const hpa of args.resources.filter((r) => r.type === HPA)) {
        const target = hpaTarget(hpa, args.resources);
        if (target !== undefined && programSetsReplicas(target) === true) {
            report(`${target.name} sets spec.replicas (${show(read(() => target.props.spec?.replicas))}) but HorizontalPodAutoscaler ${hpa.name} scales it; remove spec.replicas.`, target.urn);
        }
    }
});

export const hpaKeepsTwoReplicasInProduction = typedPolicy({
    name: "hpa-keeps-two-replicas-in-production",
    description: "In production stacks an HPA must keep at least two replicas (minReplicas ≥ 2) so one pod can fail or move.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Raise minReplicas, e.g. `pulumi config set --path workload.minReplicas 2 -s production`.",
    covers: ["polaris:hpaMinAvailability"],
    configSchema: {
        properties: {
            minReplicas: { type: "integer", minimum: 1, default: 2, description: "Smallest minReplicas allowed in production." },
            productionStacks: productionStacksSchema,
        },
    },
}, k8s.autoscaling.v2.HorizontalPodAutoscaler, (hpa, args, report) => {
    const { minReplicas, productionStacks } = configOf(args, { minReplicas: 2, productionStacks: DEFAULT_PRODUCTION_STACKS });
    if (!isProductionUrn(args.urn, productionStacks)) {
        return;
    }
    const value = read(() => hpa.spec?.minReplicas);
    const effective = isUnset(value) ? 1 : value;
    if (typeof effective === "number" && effective < minReplicas) {
        report(`spec.minReplicas is ${show(value)} (effective ${effective}); production needs at least ${minReplicas}.`);
    }
});

export const namespaceEnforcesRestrictedPodSecurity = typedPolicy({
    name: "namespace-enforces-restricted-pod-security",
    description: "Namespaces must enforce the Pod Security Admission `restricted` profile (label pod-security.kubernetes.io/enforce).",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Label the namespace pod-security.kubernetes.io/enforce: restricted (and warn: restricted).",
}, k8s.core.v1.Namespace, (namespace, _args, report) => {
    const labels = read(() => namespace.metadata?.labels);
    if (isUnknown(labels)) {
        return;
    }
    const enforce = read(() => labels?.["pod-security.kubernetes.io/enforce"]);
    if (!isUnknown(enforce) && enforce !== "restricted") {
        report(`label pod-security.kubernetes.io/enforce is ${show(enforce)}; set it to "restricted".`);
    }
});


export const podSetsEphemeralStorageRequestsAndLimits = podPolicy({
    name: "pod-sets-ephemeral-storage-requests-and-limits",
    description: "Containers should request and limit ephemeral-storage (logs, disk-backed emptyDir, writable layer), so a runaway writer is evicted alone instead of filling the node, and Autopilot bills what the pod needs.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set resources.requests and resources.limits \"ephemeral-storage\" on every container (small: logs rotate at 50 MiB; add what disk-backed emptyDirs hold).",
    covers: ["kube-score:container-ephemeral-storage-request-and-limit"],
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec, ["containers", "initContainers"])) {
        const missing = ["requests", "limits"].filter((kind) =>
            isUnset(read(() => (container.resources as Record<string, Record<string, unknown>> | undefined)?.[kind]?.["ephemeral-storage"])));
        if (missing.length > 0) {
            report(`${label} does not set ${missing.map((kind) => `resources.${kind}.ephemeral-storage`).join(", ")}.`);
        }
    }
});

export const serviceAccountDisablesTokenAutomount = typedPolicy({
    name: "service-account-disables-token-automount",
    description: "ServiceAccounts (the namespace's `default` one included, when the stack manages it) should set automountServiceAccountToken: false, so a pod that forgets to opt out gets no API token either.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set automountServiceAccountToken: false on the ServiceAccount (pods are also required to set it: pod-disables-service-account-token-automount), or allow-list its name in allowedServiceAccounts.",
    covers: ["CKV_K8S_41"],
    configSchema: {
        properties: { allowedServiceAccounts: stringList([], "Service account names that may mount their token by default.") },
    },
}, k8s.core.v1.ServiceAccount, (account, args, report) => {
    const { allowedServiceAccounts } = configOf(args, { allowedServiceAccounts: [] as string[] });
    const name = knownString(read(() => account.metadata?.name));
    const automount = read(() => account.automountServiceAccountToken);
    if (!isUnknown(automount) && automount !== false && (name === undefined || !allowedServiceAccounts.includes(name))) {
        report(`automountServiceAccountToken is ${show(automount)}${name === "default" ? " on the namespace's default service account" : ""}; set it to false.`);
    }
});

/** Namespaced kinds other than pods that should not live in `default`. */
const NAMESPACED_TYPES: readonly string[] = [
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:networking.k8s.io/v1:Ingress",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "kubernetes:policy/v1:PodDisruptionBudget",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
];

export const namespacedObjectAvoidsDefaultNamespace = tokenPolicy({
    name: "namespaced-object-avoids-default-namespace",
    description: "Services, Secrets, ConfigMaps, ServiceAccounts, Ingresses, NetworkPolicies and the other namespaced objects must live in the stack's namespace, not `default` (pods: pod-avoids-default-namespace). The objects Kubernetes keeps there itself, the `default` ServiceAccount and the `kubernetes` Service, are exempt.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set metadata.namespace to the stack's namespace (or give the Kubernetes provider a namespace).",
    covers: ["CKV_K8S_21"],
}, NAMESPACED_TYPES, (props, args, report) => {
    if (inDefaultNamespace(props, args) !== true) {
        return;
    }
    const builtIn = BUILT_IN_DEFAULT_OBJECTS[args.type];
    if (builtIn !== undefined && read(() => props.metadata?.name) === builtIn) {
        return;
    }
    report(`${args.type.split(":").pop()} ${args.name} is in the default namespace; set metadata.namespace.`);
});

/** Kubernetes Dashboard images (kubernetesui/* since v2). */
function isDashboard(image: string): boolean {
    return image.includes("kubernetes-dashboard") || image.includes("kubernetesui/");
}

/** Helm v2's Tiller image (gcr.io/kubernetes-helm/tiller, ghcr.io/helm/tiller). */
function isTiller(image: string): boolean {
    return /(^|\/)tiller(:|@|$)/.test(image);
}

export const podForbidsClusterAdminTools = podPolicy({
    name: "pod-forbids-cluster-admin-tools",
    description: "Workloads must not run the Kubernetes Dashboard, Helm v2's Tiller (cluster-wide power behind an unauthenticated port), or git-sync with a configurable git binary (GITSYNC_GIT, a known code-injection path).",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove the Dashboard (use the Cloud Console) and Tiller (Helm 3 has no server side); run git-sync without GITSYNC_GIT/GIT_SYNC_GIT or --git.",
    covers: ["CKV_K8S_33", "CKV_K8S_34", "CKV_K8S_45", "CKV_K8S_159"],
}, (pod, report) => {
    const labels = pod.labels;
    const label = (key: string): unknown => (labels === undefined || labels === null || isUnknown(labels) ? undefined : read(() => labels[key]));
    if (label("app") === "kubernetes-dashboard" || label("k8s-app") === "kubernetes-dashboard") {
        report("the pod is labelled as the Kubernetes Dashboard; remove it.");
    }
    if (label("app") === "helm" && label("name") === "tiller") {
        report("the pod is labelled as Helm v2's Tiller; remove it.");
    }
    for (const { container, label: where } of containersOf(pod.spec)) {
        const image = knownString(read(() => container.image)) ?? "";
        if (isDashboard(image)) {
            report(`${where} runs the Kubernetes Dashboard (${image}); remove it and use the Cloud Console.`);
        }
        if (isTiller(image)) {
            report(`${where} runs Helm v2's Tiller (${image}); remove it (Helm 3 needs no in-cluster server).`);
        }
        const gitOverride = knownItems(read(() => container.env)).map((e) => knownString(read(() => e.name)))
            .filter((n) => n === "GITSYNC_GIT" || n === "GIT_SYNC_GIT");
        const gitArg = knownItems(read(() => container.args)).some((a) => typeof a === "string" && a.startsWith("--git="));
        if (gitOverride.length > 0 || (gitArg && image.includes("git-sync"))) {
            report(`${where} lets git-sync run another git binary (${[...gitOverride, ...(gitArg ? ["--git"] : [])].join(", ")}); remove it.`);
        }
    }
});

export const serviceForbidsTiller = typedPolicy({
    name: "service-forbids-tiller",
    description: "No Service may expose Helm v2's Tiller (its gRPC port accepts unauthenticated cluster-admin requests).",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Delete the Tiller Service and Deployment; Helm 3 needs no in-cluster server.",
    covers: ["CKV_K8S_44"],
}, k8s.core.v1.Service, (service, _args, report) => {
    const name = knownString(read(() => service.metadata?.name)) ?? "";
    const values = [
        ...knownEntries(read(() => service.metadata?.labels)).map(([, v]) => v),
        ...knownEntries(read(() => service.spec?.selector)).map(([, v]) => v),
    ];
    if (name.toLowerCase().includes("tiller") || values.some((v) => typeof v === "string" && v.toLowerCase().includes("tiller"))) {
        report(`the Service${name ? ` ${name}` : ""} exposes Helm v2's Tiller; delete it.`);
    }
});
