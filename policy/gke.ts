/**
 * GKE clusters and node pools (CIS GKE benchmark). Autopilot clusters get shielded nodes, secure
 * boot, Workload Identity, the GKE metadata server and Dataplane V2 from Google, so those checks
 * only apply to Standard clusters and node pools.
 */
import * as gcp from "@pulumi/gcp";
import type { ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import type { Unwrap } from "@pulumi/pulumi";
import { configOf, DEFAULT_PRODUCTION_STACKS, isProductionUrn, PackPolicy, PolicyMeta, productionStacksSchema, requireValue, stackPolicy, tokenPolicy, typedPolicy, typeTokenOf } from "./lib/define";
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
    covers: ["CKV_GCP_25", "CKV_GCP_64"],
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
    covers: ["CKV_GCP_18", "CKV_GCP_20"],
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
    covers: ["CKV_GCP_69"],
    remediationSteps: "Set nodeConfig.workloadMetadataConfig.mode: GKE_METADATA on the cluster's default pool and every node pool.",
}, (nodeConfig, where, report) => {
    requireValue(report, `${where}.workloadMetadataConfig.mode`, read(() => nodeConfig?.workloadMetadataConfig?.mode), "GKE_METADATA");
});

export const gkeNodesUseShieldedSecureBoot = nodePolicy({
    name: "gke-nodes-use-shielded-secure-boot",
    description: "Standard GKE nodes must be shielded VMs with secure boot and integrity monitoring.",
    severity: "medium",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_68", "CKV_GCP_72"],
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
    covers: ["CKV_GCP_71"],
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
    covers: ["CKV_GCP_7"],
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
    covers: ["CKV_GCP_13"],
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
    covers: ["CKV_GCP_70"],
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
    covers: ["CKV_GCP_12"],
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
    covers: ["CKV_GCP_23"],
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
    covers: ["CKV_GCP_1", "CKV_GCP_8"],
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
    covers: ["CKV2_GCP_19"],
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
    covers: ["CKV2_GCP_1"],
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

type NodeManagement = { autoRepair?: boolean; autoUpgrade?: boolean } | null | undefined;

/** Reports `autoRepair` / `autoUpgrade` turned off (both default to true when unset). */
function reportManagement(report: ReportViolation, where: string, management: NodeManagement): void {
    const effect = { autoRepair: "broken nodes are not replaced", autoUpgrade: "the nodes miss security patches" } as const;
    for (const field of ["autoRepair", "autoUpgrade"] as const) {
        if (read(() => management?.[field]) === false) {
            report(`${where}.${field} is false: ${effect[field]}; remove it (the default is true).`);
        }
    }
}

/**
 * Node auto-repair and auto-upgrade (CIS GKE 5.5.2/5.5.3): both default to true in the provider
 * (hashicorp/terraform-provider-google, google/services/container/resource_container_node_pool.go,
 * `management.auto_repair` / `auto_upgrade`, `Default: true`), so only an explicit false is
 * reported; Checkov CKV_GCP_9/10 also fail an unset block. Autopilot has no node pools of ours.
 */
export const gkeNodesEnableAutoRepairAndUpgrade = tokenPolicy({
    name: "gke-nodes-enable-auto-repair-and-upgrade",
    description: "Standard GKE node pools must keep auto-repair and auto-upgrade on, so broken nodes are replaced and nodes get security patches with the control plane.",
    severity: "medium",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_9", "CKV_GCP_10"],
    remediationSteps: "Remove management.autoRepair/autoUpgrade: false (both default to true) from the gcp.container.NodePool, the cluster's nodePools and clusterAutoscaling.autoProvisioningDefaults.management.",
}, [CLUSTER, NODE_POOL], (props, args, report) => {
    if (args.type === NODE_POOL) {
        reportManagement(report, "management", read(() => props.management) as NodeManagement);
        return;
    }
    const autopilot = read(() => props.enableAutopilot);
    if (autopilot === true || isUnknown(autopilot)) {
        return;
    }
    knownItems(read(() => props.nodePools as { name?: string; management?: NodeManagement }[] | undefined)).forEach((nodePool, index) => {
        reportManagement(report, `nodePools[${index}].management`, read(() => nodePool.management) as NodeManagement);
    });
    const defaults = read(() => props.clusterAutoscaling?.autoProvisioningDefaults?.management) as NodeManagement;
    reportManagement(report, "clusterAutoscaling.autoProvisioningDefaults.management", isUnknown(defaults) ? undefined : defaults);
});

const PROJECT_SINGLETON_POLICY_ENFORCE = "PROJECT_SINGLETON_POLICY_ENFORCE";

/**
 * Binary Authorization: with `evaluationMode: PROJECT_SINGLETON_POLICY_ENFORCE` (Autopilot supports
 * it; the deprecated `enabled` conflicts with `enableAutopilot` in the provider's schema) every pod
 * is admitted against the project's Binary Authorization policy. The project's default policy
 * allows every image, so turning it on blocks nothing by itself: it is the switch that lets the
 * project restrict images later. Hence advisory.
 */
export const gkeClusterEnablesBinaryAuthorization = clusterPolicy({
    name: "gke-cluster-enables-binary-authorization",
    description: "GKE should admit pods through Binary Authorization (evaluationMode PROJECT_SINGLETON_POLICY_ENFORCE), so the project's policy can restrict which images run without touching the cluster.",
    severity: "medium",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_66"],
    remediationSteps: "Enable binaryauthorization.googleapis.com in the project, set binaryAuthorization.evaluationMode: PROJECT_SINGLETON_POLICY_ENFORCE, then narrow the project's policy (gcp.binaryauthorization.Policy: e.g. only images from your Artifact Registry).",
}, (cluster, _args, report) => {
    const mode = read(() => cluster.binaryAuthorization?.evaluationMode);
    const enabled = read(() => cluster.binaryAuthorization?.enabled);
    if (isUnknown(mode) || isUnknown(enabled) || mode === PROJECT_SINGLETON_POLICY_ENFORCE || (isUnset(mode) && enabled === true)) {
        return;
    }
    report(`binaryAuthorization.evaluationMode is ${show(mode)}; set it to ${PROJECT_SINGLETON_POLICY_ENFORCE}.`);
});

const BINAUTHZ_POLICY = "gcp:binaryauthorization/policy:Policy";

/**
 * Once a production stack writes its project's Binary Authorization policy
 * (`security.binaryAuthorization`, components/binaryAuthorization.ts), the policy must do what it
 * is there for: the cluster evaluates it, and it blocks (not only logs) images it does not allow.
 * The pack cannot read the stack's config, so "on" is the policy resource being in the stack; a
 * stack without one gets only the advisory gke-cluster-enables-binary-authorization. Dry runs belong
 * in staging (docs/operations.md, "Binary Authorization").
 */
export const gkeClusterEnforcesBinaryAuthorizationInProduction = stackPolicy({
    name: "gke-cluster-enforces-binary-authorization-in-production",
    description: "In a production stack that writes a Binary Authorization policy, the cluster must evaluate it (PROJECT_SINGLETON_POLICY_ENFORCE) and the policy must block what it does not allow (not ALWAYS_ALLOW, not a dry run).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set `security.binaryAuthorization` to enforce (`pulumi config set --path security.binaryAuthorization enforce -s production`); try dry-run in staging first.",
    configSchema: { properties: { productionStacks: productionStacksSchema } },
}, [CLUSTER, BINAUTHZ_POLICY], (args, report) => {
    const { productionStacks } = configOf(args, { productionStacks: DEFAULT_PRODUCTION_STACKS });
    const production = args.resources.filter((r) => isProductionUrn(r.urn, productionStacks));
    const policies = production.filter((r) => r.type === BINAUTHZ_POLICY);
    if (policies.length === 0) {
        return;
    }
    for (const policy of policies) {
        const rules: [string, unknown][] = [
            ["defaultAdmissionRule", read(() => policy.props.defaultAdmissionRule)],
            ...knownItems(read(() => policy.props.clusterAdmissionRules as unknown[] | undefined)).map((rule, i): [string, unknown] => [`clusterAdmissionRules[${i}]`, rule]),
        ];
        for (const [where, rule] of rules) {
            if (isUnknown(rule)) {
                continue; // known at `up`, checked then
            }
            const evaluation = read(() => (rule as { evaluationMode?: unknown } | undefined)?.evaluationMode);
            const enforcement = read(() => (rule as { enforcementMode?: unknown } | undefined)?.enforcementMode);
            if (evaluation === "ALWAYS_ALLOW") {
                report(`${where}.evaluationMode is "ALWAYS_ALLOW": the policy admits every image. Set security.binaryAuthorization to enforce.`, policy.urn);
            }
            if (!isUnknown(enforcement) && enforcement !== "ENFORCED_BLOCK_AND_AUDIT_LOG") {
                report(`${where}.enforcementMode is ${show(enforcement)}: a refused image is only logged. Set security.binaryAuthorization to enforce (dry runs belong in staging).`, policy.urn);
            }
        }
    }
    for (const cluster of production.filter((r) => r.type === CLUSTER)) {
        const mode = read(() => (cluster.props as Cluster).binaryAuthorization?.evaluationMode);
        if (!isUnknown(mode) && mode !== PROJECT_SINGLETON_POLICY_ENFORCE) {
            report(`binaryAuthorization.evaluationMode is ${show(mode)} while the stack writes its project's Binary Authorization policy: the cluster does not check it. Set it to ${PROJECT_SINGLETON_POLICY_ENFORCE}.`, cluster.urn);
        }
    }
});

/**
 * Intranode visibility routes pod-to-pod traffic on one node through the VPC, so flow logs and
 * firewall rules see it. Standard clusters only: the provider refuses `enable_intranode_visibility`
 * together with `enable_autopilot` (hashicorp/terraform-provider-google,
 * google/services/container/resource_container_cluster.go: `ConflictsWith: []string{"enable_autopilot"}`).
 */
export const gkeClusterEnablesIntranodeVisibility = clusterPolicy({
    name: "gke-cluster-enables-intranode-visibility",
    description: "Standard GKE clusters should enable intranode visibility, so traffic between pods on the same node shows in VPC flow logs (Autopilot clusters cannot set it and are skipped).",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_61"],
    remediationSteps: "Set enableIntranodeVisibility: true on the Standard cluster (and logConfig on its subnet, see compute-subnetwork-enables-flow-logs).",
}, (cluster, _args, report) => {
    if (!isAutopilot(cluster)) {
        requireValue(report, "enableIntranodeVisibility", read(() => cluster.enableIntranodeVisibility), true);
    }
});

/**
 * Google Groups for RBAC (https://cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac):
 * RoleBindings may name Google Groups only when the cluster names the Workspace / Cloud Identity
 * group `gke-security-groups@<domain>` that contains them. Advisory: the platform grants cluster
 * access through IAM (roles/container.*), and the group needs a Workspace domain.
 */
export const gkeClusterUsesGoogleGroupsForRbac = clusterPolicy({
    name: "gke-cluster-uses-google-groups-for-rbac",
    description: "GKE should enable Google Groups for RBAC (authenticatorGroupsConfig.securityGroup gke-security-groups@<domain>), so Kubernetes RBAC is granted to groups rather than to individual users.",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_65"],
    remediationSteps: "Create the Google Group gke-security-groups@<your domain>, make the groups you bind in RBAC its members, and set authenticatorGroupsConfig.securityGroup to it (ClusterArgs.rbacSecurityGroup in components/cluster.ts).",
}, (cluster, _args, report) => {
    const group = read(() => cluster.authenticatorGroupsConfig?.securityGroup);
    if (isUnknown(group)) {
        return;
    }
    if (typeof group !== "string" || group === "") {
        report("authenticatorGroupsConfig.securityGroup is unset: RBAC can only be granted to individual users; name the gke-security-groups@<domain> group.");
    } else if (!group.toLowerCase().startsWith("gke-security-groups@")) {
        report(`authenticatorGroupsConfig.securityGroup is ${show(group)}; GKE only reads a group named gke-security-groups@<domain>.`);
    }
});

export const gkeClusterSetsResourceLabels = clusterPolicy({
    name: "gke-cluster-sets-resource-labels",
    description: "GKE clusters should carry resource labels, which billing exports and inventories use to tell who owns the cluster.",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_21"],
    remediationSteps: "Set resourceLabels, e.g. { \"managed-by\": \"pulumi\", app: \"django-platform\" }.",
}, (cluster, _args, report) => {
    const labels = read(() => cluster.resourceLabels);
    if (!isUnknown(labels) && (isUnset(labels) || Object.keys(labels).length === 0)) {
        report(`resourceLabels is ${isUnset(labels) ? "unset" : "empty"}; label the cluster (owner, app).`);
    }
});

/**
 * Node pools declared inside the cluster "cannot be removed without re-creating the cluster" (the
 * provider's documentation, quoted by Checkov's GKEDontUseNodePools.py, CKV_GCP_123); separate
 * gcp.container.NodePool resources can be added and removed alone.
 */
export const gkeClusterAvoidsInlineNodePools = clusterPolicy({
    name: "gke-cluster-avoids-inline-node-pools",
    description: "Standard GKE clusters should declare their node pools as gcp.container.NodePool resources: a pool in the cluster's nodePools cannot be removed without recreating the cluster.",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_123"],
    remediationSteps: "Move each nodePools entry to a gcp.container.NodePool (with removeDefaultNodePool: true and initialNodeCount: 1 on the cluster).",
}, (cluster, _args, report) => {
    const pools = read(() => cluster.nodePools);
    if (!isUnknown(pools) && Array.isArray(pools) && pools.length > 0) {
        report(`nodePools declares ${pools.length} node pool(s) inside the cluster; removing one would recreate the cluster. Use gcp.container.NodePool resources.`);
    }
});
