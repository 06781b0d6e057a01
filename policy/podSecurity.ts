/**
 * Pod security: the Kubernetes Pod Security Admission `restricted` profile, with every `baseline`
 * control it includes (host namespaces, ports and paths, privileged, capabilities, procMount,
 * sysctls, HostProcess, AppArmor, SELinux), plus the root group, read-only root filesystems and high
 * user ids, for every pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
 * Pod) and every container list (containers, initContainers, ephemeralContainers). The policies run
 * at preview, before admission, and also cover namespaces without the PSA label.
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
    covers: ["CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"],
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
    covers: ["CKV_K8S_27", "polaris:hostPathSet"],
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
    covers: ["CKV_K8S_26"],
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
    covers: ["CKV_K8S_16"],
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
    covers: ["CKV_K8S_27", "polaris:hostPathSet"],
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
    covers: ["CKV_K8S_20", "CKV_K8S_30"],
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
    covers: ["CKV_K8S_23", "kube-linter:run-as-non-root"],
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
    covers: ["CKV_K8S_31", "polaris:linuxHardening"],
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
    covers: ["CKV_K8S_25", "CKV_K8S_28", "CKV_K8S_30", "CKV_K8S_37", "CKV_K8S_39", "polaris:dangerousCapabilities", "polaris:insecureCapabilities", "polaris:linuxHardening"],
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
    covers: ["CKV_K8S_22", "CKV_K8S_30"],
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec, ["containers", "initContainers"])) {
        const value = containerSecurity(container, "readOnlyRootFilesystem");
        if (!isUnknown(value) && value !== true) {
            report(`${label} has securityContext.readOnlyRootFilesystem ${show(value)}; set it to true.`);
        }
    }
});

/** Reads `securityContext.<field>` of the pod and of each container, with a path for messages. */
function securityContexts(pod: Pod): { where: string; context: Record<string, unknown> | undefined }[] {
    const podContext = read(() => pod.spec.securityContext as Record<string, unknown> | undefined);
    return [
        ...(isUnknown(podContext) ? [] : [{ where: `${pod.path}.securityContext`, context: podContext }]),
        ...containersOf(pod.spec).flatMap(({ container, label }) => {
            const context = read(() => container.securityContext as Record<string, unknown> | undefined);
            return isUnknown(context) ? [] : [{ where: `${label} securityContext`, context }];
        }),
    ];
}

export const podForbidsUnsafeProcMount = podPolicy({
    name: "pod-forbids-unsafe-proc-mount",
    description: "Containers must keep the default /proc mask (securityContext.procMount unset or Default), as Pod Security `baseline` requires.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove securityContext.procMount (or set it to Default); Unmasked exposes the host's /proc paths the runtime hides.",
    covers: ["polaris:procMount"],
}, (pod, report) => {
    for (const { container, label } of containersOf(pod.spec)) {
        const procMount = containerSecurity(container, "procMount");
        if (typeof procMount === "string" && !isUnknown(procMount) && procMount !== "Default") {
            report(`${label} sets securityContext.procMount ${show(procMount)}; remove it or use Default.`);
        }
    }
});

/** The sysctls Pod Security `baseline` allows (namespaced, isolated from other pods), Kubernetes 1.29+. */
const SAFE_SYSCTLS = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

export const podRestrictsSysctls = podPolicy({
    name: "pod-restricts-sysctls",
    description: "Pods may set only the safe sysctls of Pod Security `baseline`; any other sysctl can change the node's kernel for every pod on it.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove the sysctl from spec.securityContext.sysctls, or tune it on a dedicated node pool outside this platform.",
    covers: ["kube-linter:unsafe-sysctls"],
    configSchema: {
        properties: { allowedSysctls: stringList(SAFE_SYSCTLS, "Sysctl names a pod may set.") },
    },
}, (pod, report, args) => {
    const { allowedSysctls } = configOf(args, { allowedSysctls: SAFE_SYSCTLS });
    for (const sysctl of knownItems(read(() => pod.spec.securityContext?.sysctls))) {
        const name = read(() => sysctl.name);
        if (typeof name === "string" && !isUnknown(name) && !allowedSysctls.includes(name)) {
            report(`${pod.path}.securityContext.sysctls sets ${name}, which is not a safe sysctl; allowed are ${allowedSysctls.join(", ")}.`);
        }
    }
});

export const podForbidsHostProcess = podPolicy({
    name: "pod-forbids-host-process",
    description: "Pods must not run Windows HostProcess containers (securityContext.windowsOptions.hostProcess): they run as a process of the node.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove securityContext.windowsOptions.hostProcess from the pod and its containers.",
    covers: ["polaris:hostProcess"],
}, (pod, report) => {
    for (const { where, context } of securityContexts(pod)) {
        if (read(() => (context?.windowsOptions as { hostProcess?: unknown } | undefined)?.hostProcess) === true) {
            report(`${where}.windowsOptions.hostProcess is true; remove it.`);
        }
    }
});

const APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/";
const APPARMOR_TYPES = ["RuntimeDefault", "Localhost"];

export const podRestrictsAppArmorProfile = podPolicy({
    name: "pod-restricts-apparmor-profile",
    description: "Pods must not turn AppArmor off: securityContext.appArmorProfile.type and the legacy container.apparmor.security.beta.kubernetes.io annotations may only name RuntimeDefault or a Localhost profile.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove the Unconfined AppArmor profile (securityContext.appArmorProfile or the pod annotation); the runtime's default profile applies.",
    covers: ["polaris:linuxHardening"],
}, (pod, report) => {
    for (const { where, context } of securityContexts(pod)) {
        const type = read(() => (context?.appArmorProfile as { type?: unknown } | undefined)?.type);
        if (typeof type === "string" && !isUnknown(type) && !APPARMOR_TYPES.includes(type)) {
            report(`${where}.appArmorProfile.type is ${show(type)}; use RuntimeDefault or Localhost.`);
        }
    }
    const annotations = pod.annotations;
    if (annotations === undefined || annotations === null || isUnknown(annotations)) {
        return;
    }
    for (const key of Object.keys(annotations).filter((k) => k.startsWith(APPARMOR_ANNOTATION))) {
        const value = read(() => annotations[key]);
        if (typeof value === "string" && !isUnknown(value) && value !== "runtime/default" && !value.startsWith("localhost/")) {
            report(`annotation ${key} is ${show(value)}; use runtime/default or localhost/<profile>.`);
        }
    }
});

/** SELinux types Pod Security `baseline` allows (the empty string is the runtime's default). */
const SELINUX_TYPES = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

export const podRestrictsSelinuxOptions = podPolicy({
    name: "pod-restricts-selinux-options",
    description: "Pods must not pick a custom SELinux user or role, and only the container SELinux types Pod Security `baseline` allows (container_t, container_init_t, container_kvm_t, container_engine_t).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove seLinuxOptions.user and .role, and use one of the allowed types (or none: the runtime assigns container_t).",
    covers: ["polaris:linuxHardening"],
}, (pod, report) => {
    for (const { where, context } of securityContexts(pod)) {
        const options = read(() => context?.seLinuxOptions as Record<string, unknown> | undefined);
        if (options === undefined || options === null || isUnknown(options)) {
            continue;
        }
        const type = read(() => options.type);
        if (typeof type === "string" && !isUnknown(type) && !SELINUX_TYPES.includes(type)) {
            report(`${where}.seLinuxOptions.type is ${show(type)}; allowed are ${SELINUX_TYPES.filter((t) => t !== "").join(", ")}.`);
        }
        for (const field of ["user", "role"]) {
            const value = read(() => options[field]);
            if (typeof value === "string" && !isUnknown(value) && value !== "") {
                report(`${where}.seLinuxOptions.${field} is ${show(value)}; remove it.`);
            }
        }
    }
});

export const podForbidsRootGroup = podPolicy({
    name: "pod-forbids-root-group",
    description: "Pods must not run with the root group: no runAsGroup 0, fsGroup 0 or supplementalGroups 0 (a non-root user in group 0 still reads and writes root-group files).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set runAsGroup and fsGroup to the image user's non-zero group (e.g. 10001) and drop 0 from supplementalGroups.",
    covers: ["kube-linter:run-as-non-root"],
}, (pod, report) => {
    for (const { where, context } of securityContexts(pod)) {
        for (const field of ["runAsGroup", "fsGroup"]) {
            if (read(() => context?.[field]) === 0) {
                report(`${where}.${field} is 0 (root group); use a non-zero group id.`);
            }
        }
        if (knownItems(read(() => context?.supplementalGroups as unknown[] | undefined)).includes(0)) {
            report(`${where}.supplementalGroups contains 0 (root group); remove it.`);
        }
    }
});

export const podRunsAsHighIds = podPolicy({
    name: "pod-runs-as-high-ids",
    description: "Containers should run with a user and group id of 10000 or more (runAsUser, runAsGroup, fsGroup), so they share no id with a user of the node; a pod in its own user namespace (hostUsers: false) is exempt.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set runAsUser, runAsGroup and fsGroup to ids ≥ 10000 in the pod securityContext (the app image's user is 10001); the image must not need its own low-id user.",
    covers: ["CKV_K8S_40", "kube-score:container-security-context-user-group-id"],
    configSchema: {
        properties: { minimumId: { type: "integer", minimum: 1, default: 10000, description: "Smallest user/group id accepted." } },
    },
}, (pod, report, args) => {
    const { minimumId } = configOf(args, { minimumId: 10000 });
    // In its own user namespace a pod's ids map to unprivileged ids of the node, so they share none
    // with the node's users (https://kubernetes.io/docs/concepts/workloads/pods/user-namespaces/).
    if (read(() => (pod.spec as { hostUsers?: unknown }).hostUsers) === false) {
        return;
    }
    const fsGroup = podSecurity(pod, "fsGroup");
    if (typeof fsGroup === "number" && fsGroup < minimumId) {
        report(`${pod.path}.securityContext.fsGroup is ${fsGroup}; use an id ≥ ${minimumId}.`);
    }
    for (const { container, label } of containersOf(pod.spec, ["containers", "initContainers"])) {
        for (const field of ["runAsUser", "runAsGroup"]) {
            const own = containerSecurity(container, field);
            const value = isUnset(own) ? podSecurity(pod, field) : own;
            if (isUnknown(value)) {
                continue;
            }
            if (isUnset(value)) {
                report(`${label} sets no ${field} (nor does the pod); the image decides, so set an id ≥ ${minimumId}.`);
            } else if (typeof value === "number" && value < minimumId) {
                report(`${label} runs with ${field} ${value}; use an id ≥ ${minimumId}.`);
            }
        }
    }
});

export const podSetsPodSecurityContext = podPolicy({
    name: "pod-sets-pod-security-context",
    description: "Pods should set the restricted defaults on the pod securityContext (runAsNonRoot, seccompProfile), so containers added later, debug containers included, inherit them.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set spec.securityContext with runAsNonRoot: true and seccompProfile.type: RuntimeDefault (components/kube.ts restrictedPodSecurity).",
    covers: ["CKV_K8S_29"],
}, (pod, report) => {
    const context = read(() => pod.spec.securityContext);
    if (isUnknown(context)) {
        return;
    }
    if (isUnset(context)) {
        report(`${pod.path}.securityContext is unset; set runAsNonRoot and seccompProfile on the pod.`);
        return;
    }
    if (podSecurity(pod, "runAsNonRoot") === undefined) {
        report(`${pod.path}.securityContext.runAsNonRoot is unset; set it to true.`);
    }
    if (isUnset(read(() => pod.spec.securityContext?.seccompProfile))) {
        report(`${pod.path}.securityContext.seccompProfile is unset; set type RuntimeDefault.`);
    }
});
