/**
 * Workload hygiene and availability: resources, probes, pinned images, service accounts,
 * namespaces, secrets kept out of env and ConfigMaps, Jobs, PodDisruptionBudgets and HPAs.
 */
import * as k8s from "@pulumi/kubernetes";
import type { PolicyResource } from "@pulumi/policy";
import { podPolicy } from "./podSecurity";
import {
    configOf, isProductionUrn, productionStacksSchema, stackPolicy, typedPolicy, DEFAULT_PRODUCTION_STACKS,
    stringList,
} from "./lib/define";
import { hpaTarget, namespaceKey, programSetsReplicas, replicaFloor, sameNamespace, selects, showNamespace } from "./lib/k8s";
import { containersOf, podOf } from "./lib/pods";
import { DEFAULT_SECRET_NAME_PATTERN, isSecretName, looksLikeSecretValue } from "./lib/secrets";
import { isUnknown, isUnset, knownEntries, knownItems, knownString, read, show, UNKNOWN } from "./lib/values";

export const podSetsResourceRequestsAndLimits = podPolicy({
    name: "pod-sets-resource-requests-and-limits",
    description: "Containers must request CPU and memory and limit memory, so scheduling and Autopilot billing are deliberate.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every container.",
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
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec)) {
        const image = knownString(read(() => container.image));
        if (image !== undefined && imageReference(image).digest === undefined) {
            report(`${label} uses image ${JSON.stringify(image)} by tag only; pin it by digest.`);
        }
    }
});

export const podDisablesServiceAccountTokenAutomount = podPolicy({
    name: "pod-disables-service-account-token-automount",
    description: "Pods must not mount a Kubernetes API token unless their service account is allow-listed as needing one.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set automountServiceAccountToken: false in the pod spec, or allow-list the service account in the policy config.",
    configSchema: {
        properties: { allowedServiceAccounts: stringList([], "Service account names whose pods may mount a token.") },
    },
}, (pod, report, args) => {
    const { allowedServiceAccounts } = configOf(args, { allowedServiceAccounts: [] as string[] });
    const automount = read(() => pod.spec.automountServiceAccountToken);
    const account = knownString(read(() => pod.spec.serviceAccountName)) ?? "default";
    if (!isUnknown(automount) && automount !== false && !allowedServiceAccounts.includes(account)) {
        report(`${pod.path}.automountServiceAccountToken is ${show(automount)} for service account "${account}"; set it to false.`);
    }
});

export const podUsesDedicatedServiceAccount = podPolicy({
    name: "pod-uses-dedicated-service-account",
    description: "Pods must run under their own Kubernetes service account, not `default`.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Create a ServiceAccount for the workload and set serviceAccountName in the pod spec.",
}, (pod, report) => {
    const name = read(() => pod.spec.serviceAccountName ?? pod.spec.serviceAccount);
    if (isUnset(name) || name === "" || name === "default") {
        report(`${pod.path}.serviceAccountName is ${show(name)}; use a dedicated service account.`);
    }
});

export const podAvoidsDefaultNamespace = podPolicy({
    name: "pod-avoids-default-namespace",
    description: "Workloads must live in their own namespace, not `default`.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set metadata.namespace to the stack's namespace (or give the Kubernetes provider a namespace).",
}, (_pod, report, args) => {
    const ns = read(() => args.props.metadata?.namespace);
    const effective = isUnset(ns) || ns === "" ? read(() => args.provider?.props.namespace) : ns;
    if (!isUnknown(effective) && (isUnset(effective) || effective === "" || effective === "default")) {
        report("the workload runs in the default namespace; set metadata.namespace.");
    }
});

export const podForbidsLiteralSecretsInEnv = podPolicy({
    name: "pod-forbids-literal-secrets-in-env",
    description: "Secret-looking environment variables must come from a Secret (valueFrom.secretKeyRef), never a literal value.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Put the value in a Kubernetes Secret and reference it with env[].valueFrom.secretKeyRef or envFrom.secretRef.",
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
    remediationSteps: "Use maxUnavailable: 1 (or a minAvailable below the replica count); never maxUnavailable 0 or minAvailable 100%.",
}, k8s.policy.v1.PodDisruptionBudget, (pdb, _args, report) => {
    const maxUnavailable = read(() => pdb.spec?.maxUnavailable);
    const minAvailable = read(() => pdb.spec?.minAvailable);
    if (maxUnavailable === 0 || maxUnavailable === "0%" || maxUnavailable === "0") {
        report(`spec.maxUnavailable is ${show(maxUnavailable)}: no pod may ever be evicted; use 1.`);
    }
    if (minAvailable === "100%") {
        report("spec.minAvailable is \"100%\": no pod may ever be evicted; use maxUnavailable: 1.");
    }
});

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
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

export const deploymentHasPodDisruptionBudget = stackPolicy({
    name: "deployment-has-pod-disruption-budget",
    description: "Every Deployment must be selected by a PodDisruptionBudget that still lets one pod go at its minimum replica count.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Add a PodDisruptionBudget in the same namespace whose selector matches the pod template labels, with maxUnavailable: 1.",
}, [DEPLOYMENT, PDB, HPA], (args, report) => {
    for (const deployment of args.resources.filter((r) => r.type === DEPLOYMENT)) {
        const { pdbs, undecided } = budgetsFor(deployment, args.resources);
        if (pdbs.length === 0 && !undecided) {
            report(`Deployment ${deployment.name} has no PodDisruptionBudget selecting its pods in ${showNamespace(String(namespaceKey(deployment)))}.`, deployment.urn);
        }
        const floor = replicaFloor(deployment, args.resources);
        for (const pdb of pdbs) {
            const minAvailable = read(() => pdb.props.spec?.minAvailable);
            if (typeof minAvailable === "number" && typeof floor === "number" && minAvailable >= floor) {
                report(`PodDisruptionBudget ${pdb.name} requires minAvailable ${minAvailable} but Deployment ${deployment.name} may run only ${floor} replica(s): no pod could ever be evicted; use maxUnavailable: 1.`, pdb.urn);
            }
        }
    }
});

export const hpaTargetOmitsReplicas = stackPolicy({
    name: "hpa-target-omits-replicas",
    description: "A workload scaled by a HorizontalPodAutoscaler must not set spec.replicas, or every update resets the scale.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove spec.replicas from the Deployment the HPA targets; the HPA's minReplicas/maxReplicas own the count.",
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

