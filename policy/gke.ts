/**
 * GKE clusters and node pools (CIS GKE benchmark). Autopilot clusters get shielded nodes, secure
 * boot, Workload Identity, the GKE metadata server and Dataplane V2 from Google, so those checks
 * only apply to Standard clusters and node pools.
 */
import * as gcp from "@pulumi/gcp";
import type { ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import type { Unwrap } from "@pulumi/pulumi";
import { PackPolicy, PolicyMeta, requireValue, tokenPolicy, typedPolicy, typeTokenOf } from "./lib/define";
import { isUnknown, isUnset, knownItems, knownString, read, show } from "./lib/values";

type Cluster = Unwrap<gcp.container.ClusterArgs>;
type NodeConfig = Unwrap<gcp.container.ClusterArgs["nodeConfig"]>;

/** A policy on `gcp.container.Cluster`. */
function clusterPolicy(
    meta: PolicyMeta,
    validate: (cluster: Cluster, args: ResourceValidationArgs, report: ReportViolation) => void,
): PackPolicy {
    return typedPolicy(meta, gcp.container.Cluster, validate);
}

const CLUSTER = typeTokenOf(gcp.container.Cluster);
const NODE_POOL = typeTokenOf(gcp.container.NodePool);

/**
 * A policy on the node settings of Standard clusters (`nodeConfig`, unless the default pool is
 * removed) and of node pools. Autopilot clusters are skipped: Google manages their nodes.
 */
function nodePolicy(
    meta: PolicyMeta,
    validate: (nodeConfig: NodeConfig | undefined, where: string, report: ReportViolation) => void,
): PackPolicy {
    return tokenPolicy(meta, [CLUSTER, NODE_POOL], (props, args, report) => {
        const autopilot = read(() => props.enableAutopilot);
        if (args.type === CLUSTER && (autopilot === true || isUnknown(autopilot) || read(() => props.removeDefaultNodePool) === true)) {
            return;
        }
        const nodeConfig = read(() => props.nodeConfig as NodeConfig | undefined);
        if (!isUnknown(nodeConfig)) {
            validate(nodeConfig ?? undefined, "nodeConfig", report);
        }
    });
}

/** True unless the cluster is known to be a Standard cluster. */
function isAutopilot(cluster: Cluster): boolean {
    const autopilot = read(() => cluster.enableAutopilot);
    return autopilot === true || isUnknown(autopilot);
}

export const gkeClusterUsesPrivateNodes = clusterPolicy({
    name: "gke-cluster-uses-private-nodes",
    description: "GKE nodes must have no public IP addresses (private nodes; egress through Cloud NAT).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set privateClusterConfig.enablePrivateNodes: true and give the VPC a Cloud NAT.",
}, (cluster, _args, report) => {
    requireValue(report, "privateClusterConfig.enablePrivateNodes", read(() => cluster.privateClusterConfig?.enablePrivateNodes), true);
});

/**
 * The control plane has two kinds of endpoint
 * (https://cloud.google.com/kubernetes-engine/docs/concepts/network-isolation):
 * - the DNS-based endpoint (`controlPlaneEndpointsConfig.dnsEndpointConfig`), reachable from any
 *   network that reaches Google APIs when `allowExternalTraffic` is true, but every request is
 *   checked by IAM (`container.clusters.connect`) before the API server: accepted as secure, it is
 *   how CI without stable IPs deploys;
 * - the IP-based endpoints, which only master authorized networks restrict: the public one must
 *   list CIDRs and never 0.0.0.0/0, unless it is turned off (`privateClusterConfig.enablePrivateEndpoint`
 *   or `controlPlaneEndpointsConfig.ipEndpointsConfig.enabled: false`).
 * Turning the DNS endpoint on does not close the IP endpoint, so an open IP endpoint is reported
 * either way.
 */
export const gkeClusterRestrictsControlPlaneAccess = clusterPolicy({
    name: "gke-cluster-restricts-control-plane-access",
    description: "The GKE control plane must not be reachable from the whole internet by IP: the DNS-based endpoint (IAM-checked) is fine; the public IP endpoint needs master authorized networks without 0.0.0.0/0, or must be off.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Reach the control plane through the DNS-based endpoint (controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic: true; access checked by IAM) and keep the IP endpoint closed: masterAuthorizedNetworksConfig.cidrBlocks with your office ranges only (never 0.0.0.0/0), privateClusterConfig.enablePrivateEndpoint: true, or controlPlaneEndpointsConfig.ipEndpointsConfig.enabled: false.",
}, (cluster, _args, report) => {
    if (read(() => cluster.controlPlaneEndpointsConfig?.ipEndpointsConfig?.enabled) === false) {
        return; // No IP endpoint at all: only the IAM-checked DNS endpoint remains.
    }
    if (read(() => cluster.privateClusterConfig?.enablePrivateEndpoint) === true) {
        return;
    }
    const config = read(() => cluster.masterAuthorizedNetworksConfig);
    if (isUnknown(config)) {
        return;
    }
    if (isUnset(config)) {
        const dns = read(() => cluster.controlPlaneEndpointsConfig?.dnsEndpointConfig?.allowExternalTraffic) === true;
        report(
            "masterAuthorizedNetworksConfig is unset: the public IP endpoint accepts any address; list the allowed CIDRs" +
                (dns ? ", or turn the IP endpoint off (controlPlaneEndpointsConfig.ipEndpointsConfig.enabled: false) and use only the DNS-based endpoint." : "."),
        );
        return;
    }
    for (const block of knownItems(read(() => config.cidrBlocks))) {
        const cidr = knownString(read(() => block.cidrBlock));
        if (cidr !== undefined && cidr.trim().endsWith("/0")) {
            report(`master authorized network ${cidr} opens the control plane to the internet; remove it.`);
        }
    }
});

export const gkeClusterEnablesWorkloadIdentity = clusterPolicy({
    name: "gke-cluster-enables-workload-identity",
    description: "GKE must use Workload Identity (workloadPool <project>.svc.id.goog) instead of node credentials.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set workloadIdentityConfig.workloadPool to \"<project>.svc.id.goog\" (Autopilot has it on by default).",
}, (cluster, _args, report) => {
    const pool = read(() => cluster.workloadIdentityConfig?.workloadPool);
    if (isUnknown(pool) || (isUnset(pool) && isAutopilot(cluster))) {
        return;
    }
    if (typeof pool !== "string" || !pool.endsWith(".svc.id.goog")) {
        report(`workloadIdentityConfig.workloadPool is ${show(pool)}; set it to "<project>.svc.id.goog".`);
    }
});

export const gkeNodesUseGkeMetadataServer = nodePolicy({
    name: "gke-nodes-use-gke-metadata-server",
    description: "Standard GKE nodes must run the GKE metadata server, which hides node credentials from pods (Workload Identity).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set nodeConfig.workloadMetadataConfig.mode: GKE_METADATA on the cluster's default pool and every node pool.",
}, (nodeConfig, where, report) => {
    requireValue(report, `${where}.workloadMetadataConfig.mode`, read(() => nodeConfig?.workloadMetadataConfig?.mode), "GKE_METADATA");
});

export const gkeNodesUseShieldedSecureBoot = nodePolicy({
    name: "gke-nodes-use-shielded-secure-boot",
    description: "Standard GKE nodes must be shielded VMs with secure boot and integrity monitoring.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Set nodeConfig.shieldedInstanceConfig { enableSecureBoot: true, enableIntegrityMonitoring: true }.",
}, (nodeConfig, where, report) => {
    const secureBoot = read(() => nodeConfig?.shieldedInstanceConfig?.enableSecureBoot);
    if (!isUnknown(secureBoot) && secureBoot !== true) {
        report(`${where}.shieldedInstanceConfig.enableSecureBoot is ${show(secureBoot)} (the default is false); set it to true.`);
    }
    if (read(() => nodeConfig?.shieldedInstanceConfig?.enableIntegrityMonitoring) === false) {
        report(`${where}.shieldedInstanceConfig.enableIntegrityMonitoring is false; set it to true.`);
    }
});

export const gkeClusterEnablesShieldedNodes = clusterPolicy({
    name: "gke-cluster-enables-shielded-nodes",
    description: "GKE must keep shielded nodes on (node identity is verified before it joins).",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove enableShieldedNodes: false (the default is true).",
}, (cluster, _args, report) => {
    if (read(() => cluster.enableShieldedNodes) === false) {
        report("enableShieldedNodes is false; remove it or set it to true.");
    }
});

export const gkeClusterDisablesLegacyAbac = clusterPolicy({
    name: "gke-cluster-disables-legacy-abac",
    description: "GKE must not enable legacy ABAC, which bypasses RBAC.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove enableLegacyAbac (or set it to false).",
}, (cluster, _args, report) => {
    if (read(() => cluster.enableLegacyAbac) === true) {
        report("enableLegacyAbac is true; remove it.");
    }
});

export const gkeClusterDisablesClientCertificate = clusterPolicy({
    name: "gke-cluster-disables-client-certificate",
    description: "GKE must not issue a client certificate (a non-revocable admin credential).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove masterAuth.clientCertificateConfig.issueClientCertificate: true; authenticate with gke-gcloud-auth-plugin.",
}, (cluster, _args, report) => {
    if (read(() => cluster.masterAuth?.clientCertificateConfig?.issueClientCertificate) === true) {
        report("masterAuth.clientCertificateConfig.issueClientCertificate is true; remove it.");
    }
});

const CHANNELS = ["RAPID", "REGULAR", "STABLE", "EXTENDED"];

export const gkeClusterSetsReleaseChannel = clusterPolicy({
    name: "gke-cluster-sets-release-channel",
    description: "GKE should follow a release channel so security patches arrive automatically.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set releaseChannel.channel to REGULAR (or STABLE).",
}, (cluster, _args, report) => {
    const channel = read(() => cluster.releaseChannel?.channel);
    if (isUnknown(channel) || (isUnset(channel) && isAutopilot(cluster))) {
        return;
    }
    if (typeof channel !== "string" || !CHANNELS.includes(channel)) {
        report(`releaseChannel.channel is ${show(channel)}; use one of ${CHANNELS.join(", ")}.`);
    }
});

export const gkeClusterEnforcesNetworkPolicy = clusterPolicy({
    name: "gke-cluster-enforces-network-policy",
    description: "GKE must enforce NetworkPolicies (Dataplane V2 or the network policy add-on), or our default-deny policies do nothing.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set datapathProvider: ADVANCED_DATAPATH (Dataplane V2; Autopilot has it) or networkPolicy.enabled: true.",
}, (cluster, _args, report) => {
    if (isAutopilot(cluster)) {
        return;
    }
    const datapath = read(() => cluster.datapathProvider);
    const enabled = read(() => cluster.networkPolicy?.enabled);
    if (!isUnknown(datapath) && !isUnknown(enabled) && datapath !== "ADVANCED_DATAPATH" && enabled !== true) {
        report(`datapathProvider is ${show(datapath)} and networkPolicy.enabled is ${show(enabled)}: NetworkPolicies are not enforced.`);
    }
});

export const gkeClusterIsVpcNative = clusterPolicy({
    name: "gke-cluster-is-vpc-native",
    description: "GKE should be VPC-native (alias IPs) so pod traffic is subject to VPC firewalls and private services access.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set ipAllocationPolicy with the subnet's secondary ranges for pods and services (networkingMode VPC_NATIVE).",
}, (cluster, _args, report) => {
    const mode = read(() => cluster.networkingMode);
    if (mode === "ROUTES") {
        report("networkingMode is ROUTES; use VPC_NATIVE with ipAllocationPolicy.");
    } else if (!isAutopilot(cluster) && isUnset(read(() => cluster.ipAllocationPolicy))) {
        report("ipAllocationPolicy is unset; give the cluster secondary ranges for pods and services.");
    }
});

export const gkeClusterEnablesLoggingAndMonitoring = clusterPolicy({
    name: "gke-cluster-enables-logging-and-monitoring",
    description: "GKE must send logs and metrics to Cloud Logging and Cloud Monitoring.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Remove loggingService/monitoringService \"none\" and keep loggingConfig.enableComponents non-empty.",
}, (cluster, _args, report) => {
    for (const field of ["loggingService", "monitoringService"] as const) {
        if (read(() => cluster[field]) === "none") {
            report(`${field} is "none"; remove it so the default Cloud ${field === "loggingService" ? "Logging" : "Monitoring"} is used.`);
        }
    }
    const components = read(() => cluster.loggingConfig?.enableComponents);
    if (Array.isArray(components) && components.length === 0) {
        report("loggingConfig.enableComponents is empty; include SYSTEM_COMPONENTS and WORKLOADS.");
    }
});

export const gkeClusterDisablesAlphaFeatures = clusterPolicy({
    name: "gke-cluster-disables-alpha-features",
    description: "GKE must not be an alpha cluster (no upgrades, no SLA, deleted after 30 days).",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove enableKubernetesAlpha.",
}, (cluster, _args, report) => {
    if (read(() => cluster.enableKubernetesAlpha) === true) {
        report("enableKubernetesAlpha is true; remove it.");
    }
});

/** True for the Compute Engine default service account (or the `default` alias). */
function isDefaultComputeAccount(account: string): boolean {
    return account === "default" || /-compute@developer\.gserviceaccount\.com$/.test(account);
}

export const gkeNodesUseDedicatedServiceAccount = tokenPolicy({
    name: "gke-nodes-use-dedicated-service-account",
    description: "GKE nodes must run as a dedicated least-privilege service account, never the Compute Engine default account (editor on the project).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Create a service account with roles/container.defaultNodeServiceAccount and set it in clusterAutoscaling.autoProvisioningDefaults.serviceAccount (Autopilot) or nodeConfig.serviceAccount.",
}, [CLUSTER, NODE_POOL], (props, args, report) => {
    const enableAutopilot = read(() => props.enableAutopilot);
    const autopilot = args.type === CLUSTER && enableAutopilot === true;
    if (args.type === CLUSTER && (isUnknown(enableAutopilot) || (!autopilot && read(() => props.removeDefaultNodePool) === true))) {
        return;
    }
    const where = autopilot ? "clusterAutoscaling.autoProvisioningDefaults.serviceAccount" : "nodeConfig.serviceAccount";
    const account = autopilot
        ? read(() => props.clusterAutoscaling?.autoProvisioningDefaults?.serviceAccount)
        : read(() => props.nodeConfig?.serviceAccount);
    if (isUnknown(account)) {
        return;
    }
    if (isUnset(account) || account === "" || (typeof account === "string" && isDefaultComputeAccount(account))) {
        report(`${where} is ${show(account)}: nodes would run as the Compute Engine default service account.`);
    }
});

export const gkeClusterEncryptsSecretsWithKms = clusterPolicy({
    name: "gke-cluster-encrypts-secrets-with-kms",
    description: "GKE should encrypt Kubernetes Secrets in etcd with a Cloud KMS key (application-layer secrets encryption).",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set databaseEncryption { state: ENCRYPTED, keyName: <crypto key id> } and grant the GKE service agent encrypt/decrypt on the key.",
}, (cluster, _args, report) => {
    const state = read(() => cluster.databaseEncryption?.state);
    const key = read(() => cluster.databaseEncryption?.keyName);
    if (!isUnknown(state) && state !== "ENCRYPTED") {
        report(`databaseEncryption.state is ${show(state)}; set it to ENCRYPTED with a KMS keyName.`);
    } else if (state === "ENCRYPTED" && (isUnset(key) || key === "")) {
        report("databaseEncryption.keyName is unset; name the KMS key.");
    }
});
