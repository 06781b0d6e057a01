/**
 * Pod security: the Kubernetes Pod Security Admission `restricted` profile plus read-only root
 * filesystems, for every pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
 * Pod) and every container list (containers, initContainers, ephemeralContainers).
 */
import { ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import { configOf, PackPolicy, PolicyMeta, stringList, tokenPolicy } from "./lib/define";
import { Container, containersOf, Pod, podOf, POD_TYPES } from "./lib/pods";
import { isUnknown, isUnset, knownItems, read, show, UNKNOWN } from "./lib/values";

/**
 * A resource policy over every pod-bearing kind; `check` gets the pod and is skipped when the pod
 * template is not set or not known yet.
 */
export function podPolicy(
    meta: PolicyMeta,
    check: (pod: Pod, report: ReportViolation, args: ResourceValidationArgs) => void,
): PackPolicy {
    return tokenPolicy(meta, POD_TYPES, (props, args, report) => {
        const pod = podOf(args.type, props);
        if (pod !== undefined && pod !== UNKNOWN) {
            check(pod, report, args);
        }
    });
}

/** Reads `container.securityContext.<field>`. */
function containerSecurity(container: Container, field: string): unknown {
    return read(() => (container.securityContext as Record<string, unknown> | undefined)?.[field]);
}

/** Reads `pod.spec.securityContext.<field>`. */
function podSecurity(pod: Pod, field: string): unknown {
    return read(() => (pod.spec.securityContext as Record<string, unknown> | undefined)?.[field]);
}

export const podForbidsHostNamespaces = podPolicy({
    name: "pod-forbids-host-namespaces",
    description: "Pods must not share the node's network, PID or IPC namespace (hostNetwork, hostPID, hostIPC).",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to false).",
}, (pod, report) => {
    for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
        if (read(() => (pod.spec as Record<string, unknown>)[field]) === true) {
            report(`${pod.path}.${field} is true; remove it so the pod keeps its own namespace.`);
        }
    }
});

export const podForbidsHostPathVolumes = podPolicy({
    name: "pod-forbids-host-path-volumes",
    description: "Pods must not mount directories of the node (hostPath volumes).",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Replace the hostPath volume with an emptyDir, a ConfigMap/Secret or a PersistentVolumeClaim.",
}, (pod, report) => {
    for (const volume of knownItems(read(() => pod.spec.volumes))) {
        const hostPath = read(() => volume.hostPath);
        if (!isUnset(hostPath)) {
            report(`volume ${show(read(() => volume.name))} in ${pod.path}.volumes is a hostPath volume; use emptyDir or a PersistentVolumeClaim.`);
        }
    }
});

export const podForbidsHostPorts = podPolicy({
    name: "pod-forbids-host-ports",
    description: "Containers must not bind ports on the node (hostPort).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove hostPort from the container ports and expose the port through a Service.",
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec)) {
        for (const port of knownItems(read(() => container.ports))) {
            const hostPort = read(() => port.hostPort);
            if (typeof hostPort === "number" && hostPort !== 0) {
                report(`${label} sets hostPort ${hostPort}; remove it and use a Service instead.`);
            }
        }
    }
});

export const podForbidsPrivilegedContainers = podPolicy({
    name: "pod-forbids-privileged-containers",
    description: "Containers must not run privileged.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove securityContext.privileged from the container (or set it to false).",
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec)) {
        if (containerSecurity(container, "privileged") === true) {
            report(`${label} sets securityContext.privileged: true; remove it.`);
        }
    }
});

/** Volume sources the `restricted` profile allows. */
const DEFAULT_VOLUME_TYPES = [
    "configMap", "downwardAPI", "emptyDir", "projected", "secret", "csi", "persistentVolumeClaim", "ephemeral",
];

export const podRestrictsVolumeTypes = podPolicy({
    name: "pod-restricts-volume-types",
    description: "Pods may only use the volume types of the Pod Security `restricted` profile.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Use configMap, downwardAPI, emptyDir, projected, secret, csi, persistentVolumeClaim or ephemeral volumes.",
    configSchema: {
        properties: { allowedVolumeTypes: stringList(DEFAULT_VOLUME_TYPES, "Volume source fields a pod may use.") },
    },
}, (pod, report, args) => {
    const { allowedVolumeTypes } = configOf(args, { allowedVolumeTypes: DEFAULT_VOLUME_TYPES });
    for (const volume of knownItems(read(() => pod.spec.volumes))) {
        const sources = Object.keys(volume).filter((key) => key !== "name");
        for (const source of sources.filter((s) => !allowedVolumeTypes.includes(s))) {
            report(`volume ${show(read(() => volume.name))} uses the ${source} volume type; allowed are ${allowedVolumeTypes.join(", ")}.`);
        }
    }
});

export const podForbidsPrivilegeEscalation = podPolicy({
    name: "pod-forbids-privilege-escalation",
    description: "Every container must set securityContext.allowPrivilegeEscalation: false explicitly.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.allowPrivilegeEscalation: false on every container, init container included.",
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec)) {
        const value = containerSecurity(container, "allowPrivilegeEscalation");
        if (!isUnknown(value) && value !== false) {
            report(`${label} has securityContext.allowPrivilegeEscalation ${show(value)}; set it to false.`);
        }
    }
});

export const podRunsAsNonRoot = podPolicy({
    name: "pod-runs-as-non-root",
    description: "Pods must run as a non-root user: runAsNonRoot true on the pod or on every container, and no runAsUser 0.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set spec.securityContext.runAsNonRoot: true (and a non-zero runAsUser) and build the image with a non-root USER.",
}, (pod, report) => {
    const podNonRoot = podSecurity(pod, "runAsNonRoot");
    if (podNonRoot === false) {
        report(`${pod.path}.securityContext.runAsNonRoot is false; set it to true.`);
    }
    if (podSecurity(pod, "runAsUser") === 0) {
        report(`${pod.path}.securityContext.runAsUser is 0 (root); use a non-zero user id.`);
    }
    for (const { container, label } of containersOf(pod.spec)) {
        const nonRoot = containerSecurity(container, "runAsNonRoot");
        if (nonRoot === false) {
            report(`${label} sets securityContext.runAsNonRoot: false; set it to true.`);
        } else if (isUnset(nonRoot) && isUnset(podNonRoot)) {
            report(`${label} may run as root: neither it nor the pod sets securityContext.runAsNonRoot: true.`);
        }
        if (containerSecurity(container, "runAsUser") === 0) {
            report(`${label} sets securityContext.runAsUser: 0 (root); use a non-zero user id.`);
        }
    }
});

const SECCOMP_TYPES = ["RuntimeDefault", "Localhost"];

export const podSetsSeccompProfile = podPolicy({
    name: "pod-sets-seccomp-profile",
    description: "Pods must run with the RuntimeDefault (or a Localhost) seccomp profile, set on the pod or on every container.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set spec.securityContext.seccompProfile.type: RuntimeDefault in the pod template.",
}, (pod, report) => {
    const podType = read(() => pod.spec.securityContext?.seccompProfile?.type);
    if (typeof podType === "string" && !isUnknown(podType) && !SECCOMP_TYPES.includes(podType)) {
        report(`${pod.path}.securityContext.seccompProfile.type is ${show(podType)}; use RuntimeDefault or Localhost.`);
    }
    for (const { container, label } of containersOf(pod.spec)) {
        const type = read(() => container.securityContext?.seccompProfile?.type);
        if (typeof type === "string" && !isUnknown(type) && !SECCOMP_TYPES.includes(type)) {
            report(`${label} sets seccompProfile.type ${show(type)}; use RuntimeDefault or Localhost.`);
        } else if (isUnset(type) && isUnset(podType)) {
            report(`${label} has no seccomp profile and the pod sets none; set spec.securityContext.seccompProfile.type: RuntimeDefault.`);
        }
    }
});

export const podDropsAllCapabilities = podPolicy({
    name: "pod-drops-all-capabilities",
    description: "Containers must drop ALL Linux capabilities and add back at most the allowed ones (NET_BIND_SERVICE).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.capabilities.drop: [\"ALL\"] on every container and remove other added capabilities.",
    configSchema: {
        properties: { allowedCapabilities: stringList(["NET_BIND_SERVICE"], "Capabilities a container may add back.") },
    },
}, (pod, report, args) => {
    const { allowedCapabilities } = configOf(args, { allowedCapabilities: ["NET_BIND_SERVICE"] });
    for (const { container, label } of containersOf(pod.spec)) {
        const drop = read(() => container.securityContext?.capabilities?.drop);
        const dropped = knownItems(drop);
        const complete = !isUnknown(drop) && dropped.length === (drop?.length ?? 0);
        if (!dropped.includes("ALL") && complete) {
            report(`${label} does not drop ALL capabilities (drop: ${show(drop)}); set securityContext.capabilities.drop: ["ALL"].`);
        }
        const added = knownItems(read(() => container.securityContext?.capabilities?.add));
        for (const capability of added.filter((c) => !isUnknown(c) && !allowedCapabilities.includes(c))) {
            report(`${label} adds capability ${capability}; allowed are ${allowedCapabilities.join(", ") || "none"}.`);
        }
    }
});

export const podUsesReadOnlyRootFilesystem = podPolicy({
    name: "pod-uses-read-only-root-filesystem",
    description: "Containers must mount their root filesystem read-only; writable paths come from volumes.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process writes (e.g. /tmp).",
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec, ["containers", "initContainers"])) {
        const value = containerSecurity(container, "readOnlyRootFilesystem");
        if (!isUnknown(value) && value !== true) {
            report(`${label} has securityContext.readOnlyRootFilesystem ${show(value)}; set it to true.`);
        }
    }
});
