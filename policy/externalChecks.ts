/**
 * The external checks this pack is measured against: every check of Checkov, Polaris, kube-linter
 * and kube-score that applies to a resource type this platform deploys or could have to gate
 * (pod-bearing kinds, Service, Ingress, NetworkPolicy, PodDisruptionBudget, HPA, ConfigMap,
 * ServiceAccount, Kubernetes RBAC, GKE, Cloud SQL for PostgreSQL, Cloud Storage, VPC, KMS, project
 * IAM, service-account keys, Memorystore, Cloud Armor security policies). Checkov has no check for
 * the Cloud Monitoring types or for DNS record sets (its Cloud DNS checks are on managed zones,
 * which this platform does not create). Each rule is listed once: where two tools have the same
 * rule it is listed under one of them and the others are in {@link CHECK_ALIASES}.
 *
 * A policy names the checks it enforces in its `covers`; the rest are {@link EXCEPTIONS}, each with
 * the reason this platform deliberately does not enforce it. A claimed check is one of:
 * - covered: the pack fires on every case the peer's own test suite fails (tests/fixtures/policy/peers/,
 *   translated from the peer's repository at a pinned commit), except the peer's artefacts;
 * - partly covered ({@link PARTLY_COVERED}): some of those cases pass, and the reason says which and
 *   why they are left;
 * - looser on purpose ({@link LOOSER_ON_PURPOSE}): the pack passes some of them by decision, and the
 *   reason says why.
 * tests/policy-coverage.test.ts runs every peer case against the policies that claim the check and
 * fails when a claim has no such evidence; docs/policies.md renders the map.
 *
 * Ids: Checkov's own (`CKV_K8S_40`, `CKV2_GCP_18`); the other tools as `<tool>:<check>`
 * (`polaris:procMount`, `kube-linter:unsafe-sysctls`, `kube-score:service-type`).
 *
 * Not applicable, so not listed: PodSecurityPolicy checks (removed in Kubernetes 1.25), control-plane
 * flag checks (kube-apiserver, kubelet, etcd, controller-manager, scheduler: GKE manages them),
 * NGINX ingress annotations (the Ingress is class `gce`), Compute Engine instances, folder and
 * organisation IAM, MySQL and SQL Server flags, and services this platform does not use.
 */

/** A tool whose checks the pack is compared with. */
export type ExternalTool = "checkov" | "polaris" | "kube-linter" | "kube-score";

/** One external check. */
export interface ExternalCheck {
    /** `CKV_…`/`CKV2_…` for Checkov, `<tool>:<check>` for the others. */
    readonly id: string;
    readonly tool: ExternalTool;
    /** The tool's own title (shortened where it is a sentence). */
    readonly title: string;
    /** Which side of the platform it inspects. */
    readonly target: "kubernetes" | "gcp";
}

/** Every applicable external check, Checkov first, then the checks the other tools add. */
export const EXTERNAL_CHECKS: readonly ExternalCheck[] = [
    // Checkov, Kubernetes manifests (`checkov/kubernetes/checks`).
    { id: "CKV_K8S_8", tool: "checkov", title: "Liveness Probe Should be Configured", target: "kubernetes" },
    { id: "CKV_K8S_9", tool: "checkov", title: "Readiness Probe Should be Configured", target: "kubernetes" },
    { id: "CKV_K8S_10", tool: "checkov", title: "CPU requests should be set", target: "kubernetes" },
    { id: "CKV_K8S_11", tool: "checkov", title: "CPU limits should be set", target: "kubernetes" },
    { id: "CKV_K8S_12", tool: "checkov", title: "Memory requests should be set", target: "kubernetes" },
    { id: "CKV_K8S_13", tool: "checkov", title: "Memory limits should be set", target: "kubernetes" },
    { id: "CKV_K8S_14", tool: "checkov", title: "Image Tag should be fixed - not latest or blank", target: "kubernetes" },
    { id: "CKV_K8S_15", tool: "checkov", title: "Image Pull Policy should be Always", target: "kubernetes" },
    { id: "CKV_K8S_16", tool: "checkov", title: "Container should not be privileged", target: "kubernetes" },
    { id: "CKV_K8S_17", tool: "checkov", title: "Containers should not share the host process ID namespace", target: "kubernetes" },
    { id: "CKV_K8S_18", tool: "checkov", title: "Containers should not share the host IPC namespace", target: "kubernetes" },
    { id: "CKV_K8S_19", tool: "checkov", title: "Containers should not share the host network namespace", target: "kubernetes" },
    { id: "CKV_K8S_20", tool: "checkov", title: "Containers should not run with allowPrivilegeEscalation", target: "kubernetes" },
    { id: "CKV_K8S_21", tool: "checkov", title: "The default namespace should not be used", target: "kubernetes" },
    { id: "CKV_K8S_22", tool: "checkov", title: "Use read-only filesystem for containers where possible", target: "kubernetes" },
    { id: "CKV_K8S_23", tool: "checkov", title: "Minimize the admission of root containers", target: "kubernetes" },
    { id: "CKV_K8S_25", tool: "checkov", title: "Minimize the admission of containers with added capability", target: "kubernetes" },
    { id: "CKV_K8S_26", tool: "checkov", title: "Do not specify hostPort unless absolutely necessary", target: "kubernetes" },
    { id: "CKV_K8S_27", tool: "checkov", title: "Do not expose the docker daemon socket to containers", target: "kubernetes" },
    { id: "CKV_K8S_28", tool: "checkov", title: "Minimize the admission of containers with the NET_RAW capability", target: "kubernetes" },
    { id: "CKV_K8S_29", tool: "checkov", title: "Apply security context to your pods and containers", target: "kubernetes" },
    { id: "CKV_K8S_30", tool: "checkov", title: "Apply security context to your containers", target: "kubernetes" },
    { id: "CKV_K8S_31", tool: "checkov", title: "Ensure that the seccomp profile is set to docker/default or runtime/default", target: "kubernetes" },
    { id: "CKV_K8S_33", tool: "checkov", title: "Ensure the Kubernetes dashboard is not deployed", target: "kubernetes" },
    { id: "CKV_K8S_34", tool: "checkov", title: "Ensure that Tiller (Helm v2) is not deployed", target: "kubernetes" },
    { id: "CKV_K8S_35", tool: "checkov", title: "Prefer using secrets as files over secrets as environment variables", target: "kubernetes" },
    { id: "CKV_K8S_37", tool: "checkov", title: "Minimize the admission of containers with capabilities assigned", target: "kubernetes" },
    { id: "CKV_K8S_38", tool: "checkov", title: "Ensure that Service Account Tokens are only mounted where necessary", target: "kubernetes" },
    { id: "CKV_K8S_39", tool: "checkov", title: "Do not use the CAP_SYS_ADMIN linux capability", target: "kubernetes" },
    { id: "CKV_K8S_40", tool: "checkov", title: "Containers should run as a high UID to avoid host conflict", target: "kubernetes" },
    { id: "CKV_K8S_41", tool: "checkov", title: "Ensure that default service accounts are not actively used (default SA automount)", target: "kubernetes" },
    { id: "CKV_K8S_42", tool: "checkov", title: "Ensure that default service accounts are not actively used (bindings)", target: "kubernetes" },
    { id: "CKV_K8S_43", tool: "checkov", title: "Image should use digest", target: "kubernetes" },
    { id: "CKV_K8S_44", tool: "checkov", title: "Ensure that the Tiller Service (Helm v2) is deleted", target: "kubernetes" },
    { id: "CKV_K8S_45", tool: "checkov", title: "Ensure the Tiller Deployment (Helm V2) is not accessible from within the cluster", target: "kubernetes" },
    { id: "CKV_K8S_49", tool: "checkov", title: "Minimize wildcard use in Roles and ClusterRoles", target: "kubernetes" },
    { id: "CKV_K8S_155", tool: "checkov", title: "Minimize ClusterRoles that grant control over admission webhook configurations", target: "kubernetes" },
    { id: "CKV_K8S_156", tool: "checkov", title: "Minimize ClusterRoles that grant permissions to approve CertificateSigningRequests", target: "kubernetes" },
    { id: "CKV_K8S_157", tool: "checkov", title: "Minimize Roles and ClusterRoles that grant permissions to bind RoleBindings or ClusterRoleBindings", target: "kubernetes" },
    { id: "CKV_K8S_158", tool: "checkov", title: "Minimize Roles and ClusterRoles that grant permissions to escalate Roles or ClusterRoles", target: "kubernetes" },
    { id: "CKV_K8S_159", tool: "checkov", title: "Limit the use of git-sync to prevent code injection", target: "kubernetes" },
    { id: "CKV2_K8S_1", tool: "checkov", title: "RoleBinding should not allow privilege escalation to a ServiceAccount or Node on other RoleBinding", target: "kubernetes" },
    { id: "CKV2_K8S_2", tool: "checkov", title: "Granting create permissions to nodes/proxy or pods/exec sub resources allows potential privilege escalation", target: "kubernetes" },
    { id: "CKV2_K8S_3", tool: "checkov", title: "No ServiceAccount/Node should have impersonate permissions for groups/users/service-accounts", target: "kubernetes" },
    { id: "CKV2_K8S_4", tool: "checkov", title: "ServiceAccounts and nodes that can modify services/status (CVE-2020-8554)", target: "kubernetes" },
    { id: "CKV2_K8S_5", tool: "checkov", title: "No ServiceAccount/Node should be able to read all secrets", target: "kubernetes" },
    { id: "CKV2_K8S_6", tool: "checkov", title: "Minimize the admission of pods which lack an associated NetworkPolicy", target: "kubernetes" },
    // Checkov, Terraform Google provider (`checkov/terraform/checks/resource/gcp`, graph checks `CKV2_GCP_*`).
    { id: "CKV_GCP_1", tool: "checkov", title: "Ensure Stackdriver Logging is set to Enabled on Kubernetes Engine Clusters", target: "gcp" },
    { id: "CKV_GCP_7", tool: "checkov", title: "Ensure Legacy Authorization is set to Disabled on Kubernetes Engine Clusters", target: "gcp" },
    { id: "CKV_GCP_8", tool: "checkov", title: "Ensure Stackdriver Monitoring is set to Enabled on Kubernetes Engine Clusters", target: "gcp" },
    { id: "CKV_GCP_9", tool: "checkov", title: "Ensure 'Automatic node repair' is enabled for Kubernetes Clusters", target: "gcp" },
    { id: "CKV_GCP_10", tool: "checkov", title: "Ensure 'Automatic node upgrade' is enabled for Kubernetes Clusters", target: "gcp" },
    { id: "CKV_GCP_12", tool: "checkov", title: "Ensure Network Policy is enabled on Kubernetes Engine Clusters", target: "gcp" },
    { id: "CKV_GCP_13", tool: "checkov", title: "Ensure client certificate authentication to Kubernetes Engine Clusters is disabled", target: "gcp" },
    { id: "CKV_GCP_18", tool: "checkov", title: "Ensure GKE Control Plane is not public", target: "gcp" },
    { id: "CKV_GCP_20", tool: "checkov", title: "Ensure master authorized networks is set to enabled in GKE clusters", target: "gcp" },
    { id: "CKV_GCP_21", tool: "checkov", title: "Ensure Kubernetes Clusters are configured with Labels", target: "gcp" },
    { id: "CKV_GCP_23", tool: "checkov", title: "Ensure Kubernetes Cluster is created with Alias IP ranges enabled", target: "gcp" },
    { id: "CKV_GCP_25", tool: "checkov", title: "Ensure Kubernetes Cluster is created with Private cluster enabled", target: "gcp" },
    { id: "CKV_GCP_61", tool: "checkov", title: "Enable VPC Flow Logs and Intranode Visibility", target: "gcp" },
    { id: "CKV_GCP_64", tool: "checkov", title: "Ensure clusters are created with Private Nodes", target: "gcp" },
    { id: "CKV_GCP_65", tool: "checkov", title: "Manage Kubernetes RBAC users with Google Groups for GKE", target: "gcp" },
    { id: "CKV_GCP_66", tool: "checkov", title: "Ensure use of Binary Authorization", target: "gcp" },
    { id: "CKV_GCP_68", tool: "checkov", title: "Ensure Secure Boot for Shielded GKE Nodes is Enabled", target: "gcp" },
    { id: "CKV_GCP_69", tool: "checkov", title: "Ensure the GKE Metadata Server is Enabled", target: "gcp" },
    { id: "CKV_GCP_70", tool: "checkov", title: "Ensure the GKE Release Channel is set", target: "gcp" },
    { id: "CKV_GCP_71", tool: "checkov", title: "Ensure Shielded GKE Nodes are Enabled", target: "gcp" },
    { id: "CKV_GCP_72", tool: "checkov", title: "Ensure Integrity Monitoring for Shielded GKE Nodes is Enabled", target: "gcp" },
    { id: "CKV_GCP_123", tool: "checkov", title: "GKE Don't Use NodePools in the Cluster configuration", target: "gcp" },
    { id: "CKV2_GCP_1", tool: "checkov", title: "Ensure GKE clusters are not running using the Compute Engine default service account", target: "gcp" },
    { id: "CKV2_GCP_19", tool: "checkov", title: "Ensure GCP Kubernetes engine clusters have 'alpha cluster' feature disabled", target: "gcp" },
    { id: "CKV_GCP_6", tool: "checkov", title: "Ensure all Cloud SQL database instance requires all incoming connections to use SSL", target: "gcp" },
    { id: "CKV_GCP_11", tool: "checkov", title: "Ensure that Cloud SQL database Instances are not open to the world", target: "gcp" },
    { id: "CKV_GCP_14", tool: "checkov", title: "Ensure all Cloud SQL database instance have backup configuration enabled", target: "gcp" },
    { id: "CKV_GCP_51", tool: "checkov", title: "Ensure PostgreSQL database 'log_checkpoints' flag is set to 'on'", target: "gcp" },
    { id: "CKV_GCP_52", tool: "checkov", title: "Ensure PostgreSQL database 'log_connections' flag is set to 'on'", target: "gcp" },
    { id: "CKV_GCP_53", tool: "checkov", title: "Ensure PostgreSQL database 'log_disconnections' flag is set to 'on'", target: "gcp" },
    { id: "CKV_GCP_54", tool: "checkov", title: "Ensure PostgreSQL database 'log_lock_waits' flag is set to 'on'", target: "gcp" },
    { id: "CKV_GCP_55", tool: "checkov", title: "Ensure PostgreSQL database 'log_min_messages' flag is set to a valid value", target: "gcp" },
    { id: "CKV_GCP_56", tool: "checkov", title: "Ensure PostgreSQL database 'log_temp_files flag is set to '0'", target: "gcp" },
    { id: "CKV_GCP_57", tool: "checkov", title: "Ensure PostgreSQL database 'log_min_duration_statement' flag is set to '-1'", target: "gcp" },
    { id: "CKV_GCP_60", tool: "checkov", title: "Ensure Cloud SQL database does not have public IP", target: "gcp" },
    { id: "CKV_GCP_79", tool: "checkov", title: "Ensure SQL database is using latest Major version", target: "gcp" },
    { id: "CKV_GCP_108", tool: "checkov", title: "Ensure hostnames are logged for GCP PostgreSQL databases", target: "gcp" },
    { id: "CKV_GCP_109", tool: "checkov", title: "Ensure the GCP PostgreSQL database log levels are set to ERROR or lower", target: "gcp" },
    { id: "CKV_GCP_110", tool: "checkov", title: "Ensure pgAudit is enabled for your GCP PostgreSQL database", target: "gcp" },
    { id: "CKV_GCP_111", tool: "checkov", title: "Ensure GCP PostgreSQL logs SQL statements", target: "gcp" },
    { id: "CKV2_GCP_13", tool: "checkov", title: "Ensure PostgreSQL database flag 'log_duration' is set to 'on'", target: "gcp" },
    { id: "CKV2_GCP_14", tool: "checkov", title: "Ensure PostgreSQL database flag 'log_executor_stats' is set to 'off'", target: "gcp" },
    { id: "CKV2_GCP_15", tool: "checkov", title: "Ensure PostgreSQL database flag 'log_parser_stats' is set to 'off'", target: "gcp" },
    { id: "CKV2_GCP_16", tool: "checkov", title: "Ensure PostgreSQL database flag 'log_planner_stats' is set to 'off'", target: "gcp" },
    { id: "CKV2_GCP_17", tool: "checkov", title: "Ensure PostgreSQL database flag 'log_statement_stats' is set to 'off'", target: "gcp" },
    { id: "CKV_GCP_28", tool: "checkov", title: "Ensure that Cloud Storage bucket is not anonymously or publicly accessible", target: "gcp" },
    { id: "CKV_GCP_29", tool: "checkov", title: "Ensure that Cloud Storage buckets have uniform bucket-level access enabled", target: "gcp" },
    { id: "CKV_GCP_62", tool: "checkov", title: "Bucket should log access", target: "gcp" },
    { id: "CKV_GCP_63", tool: "checkov", title: "Bucket should not log to itself", target: "gcp" },
    { id: "CKV_GCP_78", tool: "checkov", title: "Ensure Cloud storage has versioning enabled", target: "gcp" },
    { id: "CKV_GCP_114", tool: "checkov", title: "Ensure public access prevention is enforced on Cloud Storage bucket", target: "gcp" },
    { id: "CKV_GCP_2", tool: "checkov", title: "Ensure Google compute firewall ingress does not allow unrestricted ssh access", target: "gcp" },
    { id: "CKV_GCP_3", tool: "checkov", title: "Ensure Google compute firewall ingress does not allow unrestricted rdp access", target: "gcp" },
    { id: "CKV_GCP_4", tool: "checkov", title: "Ensure no HTTPS or SSL proxy load balancers permit SSL policies with weak cipher suites", target: "gcp" },
    { id: "CKV_GCP_26", tool: "checkov", title: "Ensure that VPC Flow Logs is enabled for every subnet in a VPC Network", target: "gcp" },
    { id: "CKV_GCP_74", tool: "checkov", title: "Ensure that private_ip_google_access is enabled for Subnet", target: "gcp" },
    { id: "CKV_GCP_75", tool: "checkov", title: "Ensure Google compute firewall ingress does not allow unrestricted FTP access", target: "gcp" },
    { id: "CKV_GCP_77", tool: "checkov", title: "Ensure Google compute firewall ingress does not allow on ftp port", target: "gcp" },
    { id: "CKV_GCP_88", tool: "checkov", title: "Ensure Google compute firewall ingress does not allow unrestricted mysql access", target: "gcp" },
    { id: "CKV_GCP_106", tool: "checkov", title: "Ensure Google compute firewall ingress does not allow unrestricted http port 80 access", target: "gcp" },
    { id: "CKV2_GCP_2", tool: "checkov", title: "Ensure legacy networks do not exist for a project", target: "gcp" },
    { id: "CKV2_GCP_12", tool: "checkov", title: "Ensure GCP compute firewall ingress does not allow unrestricted access to all ports", target: "gcp" },
    { id: "CKV2_GCP_18", tool: "checkov", title: "Ensure GCP network defines a firewall and does not use the default firewall", target: "gcp" },
    { id: "CKV2_GCP_38", tool: "checkov", title: "Ensure GCP compute global forwarding rule does not use HTTP proxies with EXTERNAL load balancing scheme", target: "gcp" },
    { id: "CKV_GCP_73", tool: "checkov", title: "Ensure Cloud Armor prevents message lookup in Log4j2. See CVE-2021-44228 aka log4jshell", target: "gcp" },
    { id: "CKV_GCP_43", tool: "checkov", title: "Ensure KMS encryption keys are rotated within a period of 90 days", target: "gcp" },
    { id: "CKV_GCP_82", tool: "checkov", title: "Ensure KMS keys are protected from deletion", target: "gcp" },
    { id: "CKV_GCP_112", tool: "checkov", title: "Ensure KMS policy should not allow public access", target: "gcp" },
    { id: "CKV2_GCP_6", tool: "checkov", title: "Ensure that Cloud KMS cryptokeys are not anonymously or publicly accessible", target: "gcp" },
    { id: "CKV2_GCP_8", tool: "checkov", title: "Ensure that Cloud KMS Key Rings are not anonymously or publicly accessible", target: "gcp" },
    { id: "CKV_GCP_41", tool: "checkov", title: "Ensure that IAM users are not assigned the Service Account User or Service Account Token Creator roles at project level", target: "gcp" },
    { id: "CKV_GCP_42", tool: "checkov", title: "Ensure that Service Account has no Admin privileges", target: "gcp" },
    { id: "CKV_GCP_46", tool: "checkov", title: "Ensure Default Service account is not used at a project level", target: "gcp" },
    { id: "CKV_GCP_49", tool: "checkov", title: "Ensure roles do not impersonate or manage Service Accounts used at project level", target: "gcp" },
    { id: "CKV_GCP_117", tool: "checkov", title: "Ensure basic roles are not used at project level", target: "gcp" },
    { id: "CKV2_GCP_3", tool: "checkov", title: "Ensure that there are only GCP-managed service account keys for each service account", target: "gcp" },
    { id: "CKV_GCP_95", tool: "checkov", title: "Ensure Memorystore for Redis has AUTH enabled", target: "gcp" },
    { id: "CKV_GCP_97", tool: "checkov", title: "Ensure Memorystore for Redis uses intransit encryption", target: "gcp" },
    // Polaris default checks without a Checkov equivalent.
    { id: "polaris:hostProcess", tool: "polaris", title: "Privileged access to the host (windowsOptions.hostProcess) is disallowed", target: "kubernetes" },
    { id: "polaris:procMount", tool: "polaris", title: "Proc mount must not be changed from the default", target: "kubernetes" },
    { id: "polaris:hostPathSet", tool: "polaris", title: "HostPath volumes must not be used", target: "kubernetes" },
    { id: "polaris:linuxHardening", tool: "polaris", title: "Use one of AppArmor, Seccomp, SELinux, or dropping Linux Capabilities", target: "kubernetes" },
    { id: "polaris:dangerousCapabilities", tool: "polaris", title: "Container should not have dangerous capabilities (ALL, SYS_ADMIN, NET_ADMIN)", target: "kubernetes" },
    { id: "polaris:insecureCapabilities", tool: "polaris", title: "Container should drop ALL (or the insecure list of) capabilities", target: "kubernetes" },
    { id: "polaris:tlsSettingsMissing", tool: "polaris", title: "Ingress does not have TLS configured", target: "kubernetes" },
    { id: "polaris:sensitiveContainerEnvVar", tool: "polaris", title: "The container sets potentially sensitive environment variables", target: "kubernetes" },
    { id: "polaris:sensitiveConfigmapContent", tool: "polaris", title: "Potentially sensitive content is detected in the ConfigMap keys or values", target: "kubernetes" },
    { id: "polaris:missingNetworkPolicy", tool: "polaris", title: "A NetworkPolicy should match pod labels and contain applied egress and ingress rules", target: "kubernetes" },
    { id: "polaris:automountServiceAccountToken", tool: "polaris", title: "automountServiceAccountToken should be false", target: "kubernetes" },
    { id: "polaris:clusterrolePodExecAttach", tool: "polaris", title: "ClusterRole allows pods/exec or pods/attach", target: "kubernetes" },
    { id: "polaris:rolePodExecAttach", tool: "polaris", title: "Role allows pods/exec or pods/attach", target: "kubernetes" },
    { id: "polaris:clusterrolebindingPodExecAttach", tool: "polaris", title: "ClusterRoleBinding to a role allowing exec/attach", target: "kubernetes" },
    { id: "polaris:rolebindingClusterRolePodExecAttach", tool: "polaris", title: "RoleBinding to a ClusterRole allowing exec/attach", target: "kubernetes" },
    { id: "polaris:rolebindingRolePodExecAttach", tool: "polaris", title: "RoleBinding to a Role allowing exec/attach", target: "kubernetes" },
    { id: "polaris:clusterrolebindingClusterAdmin", tool: "polaris", title: "ClusterRoleBinding to cluster-admin", target: "kubernetes" },
    { id: "polaris:rolebindingClusterAdminClusterRole", tool: "polaris", title: "RoleBinding to the cluster-admin ClusterRole", target: "kubernetes" },
    { id: "polaris:rolebindingClusterAdminRole", tool: "polaris", title: "RoleBinding to a Role with cluster-admin-like permissions", target: "kubernetes" },
    { id: "polaris:missingPodDisruptionBudget", tool: "polaris", title: "Should have a PodDisruptionBudget", target: "kubernetes" },
    { id: "polaris:pdbDisruptionsIsZero", tool: "polaris", title: "PDB allows zero disruptions", target: "kubernetes" },
    { id: "polaris:hpaMinAvailability", tool: "polaris", title: "HPA minReplicas should be 2 or more", target: "kubernetes" },
    { id: "polaris:pdbMinAvailableGreaterThanHPAMinReplicas", tool: "polaris", title: "PDB minAvailable >= HPA minReplicas", target: "kubernetes" },
    // kube-linter checks without a Checkov or Polaris equivalent (default and opt-in).
    { id: "kube-linter:unsafe-sysctls", tool: "kube-linter", title: "unsafe sysctls", target: "kubernetes" },
    { id: "kube-linter:ssh-port", tool: "kube-linter", title: "deployment exposes port 22", target: "kubernetes" },
    { id: "kube-linter:run-as-non-root", tool: "kube-linter", title: "not runAsNonRoot, or explicitly the root group", target: "kubernetes" },
    { id: "kube-linter:pdb-unhealthy-pod-eviction-policy", tool: "kube-linter", title: "PDB does not set unhealthyPodEvictionPolicy", target: "kubernetes" },
    { id: "kube-linter:job-ttl-seconds-after-finished", tool: "kube-linter", title: "standalone Job without ttlSecondsAfterFinished", target: "kubernetes" },
    { id: "kube-linter:exposed-services", tool: "kube-linter", title: "Service of a forbidden type (NodePort/LoadBalancer)", target: "kubernetes" },
    { id: "kube-linter:access-to-create-pods", tool: "kube-linter", title: "subject can create pods (CIS 5.1.4)", target: "kubernetes" },
    { id: "kube-linter:privileged-ports", tool: "kube-linter", title: "container port below 1024", target: "kubernetes" },
    { id: "kube-linter:default-service-account", tool: "kube-linter", title: "pod uses the default service account", target: "kubernetes" },
    // kube-score checks without an equivalent above.
    { id: "kube-score:container-security-context-user-group-id", tool: "kube-score", title: "UID and GID must be >= 10000", target: "kubernetes" },
    { id: "kube-score:container-ephemeral-storage-request-and-limit", tool: "kube-score", title: "ephemeral-storage requests and limits set", target: "kubernetes" },
    { id: "kube-score:service-type", tool: "kube-score", title: "Service type is not NodePort", target: "kubernetes" },
    { id: "kube-score:statefulset-has-poddisruptionbudget", tool: "kube-score", title: "StatefulSets are targeted by a PDB", target: "kubernetes" },
    { id: "kube-score:deployment-targeted-by-hpa-does-not-have-replicas-configured", tool: "kube-score", title: "Deployment scaled by an HPA sets no replicas", target: "kubernetes" },
];

/** An external check this platform deliberately does not enforce, and why. */
export interface CheckException {
    readonly id: string;
    /** Why the check does not fit this platform (shown in docs/policies.md). */
    readonly reason: string;
}

/**
 * Deliberate non-coverage. An id here must not also be in a policy's `covers`. Google Cloud
 * exceptions are decided with the GCP policies (gke, cloudSql, storage, iamKms, compute).
 */
export const EXCEPTIONS: readonly CheckException[] = [
    {
        id: "CKV_K8S_11",
        reason: "GKE Autopilot sets every container's CPU limit to its CPU request, so a CPU limit in the manifest changes nothing; `pod-sets-resource-requests-and-limits` requires the CPU request (what Autopilot bills and sizes) and the memory limit.",
    },
    {
        id: "CKV_K8S_15",
        reason: "Images are pinned: by tag (`pod-pins-image-tags`, mandatory) and by digest (`pod-pins-image-digests`). A pinned reference cannot change under the node's cached copy, so `imagePullPolicy: Always` would only add a registry round trip, and a dependency on the registry being up, to every pod start.",
    },
    {
        id: "CKV_K8S_35",
        reason: "The app's configuration contract is environment variables (`DJANGO_APP_*`, read once in `app/config/settings.py`, from `envFrom` of the workload's Secret), and redis-server takes its password through `$(REDIS_PASSWORD)` in its arguments. The values live only in Secrets: `pod-forbids-literal-secrets-in-env` keeps literals out of the pod spec and `config-map-forbids-secret-values` out of ConfigMaps.",
    },
    {
        id: "CKV_GCP_108",
        reason: "`log_hostname` stays off (set explicitly in `CIS_DATABASE_FLAGS`, as the CIS GCP benchmark recommends): with it on, PostgreSQL does a reverse DNS lookup of every client before logging the connection, which its documentation says \"might impose a non-negligible performance penalty\". The clients are pods and the Cloud SQL Auth Proxy, whose names add nothing to the address `log_connections` already logs.",
    },
    {
        id: "CKV2_GCP_13",
        reason: "`log_duration` stays off (set explicitly): it writes a log line for every completed statement, so Cloud Logging volume and cost grow with traffic, and with `log_statement` at ddl those lines carry no statement text. Query Insights (`sql-instance-enables-query-insights`) records per-query latency instead.",
    },
];

/** A claimed check the pack enforces less strictly than the peer, and why. */
export interface CheckNote {
    readonly id: string;
    /** What the peer rejects and the pack lets through, and why (shown in docs/policies.md). */
    readonly reason: string;
}

/**
 * Claimed checks whose peer cases the pack catches only in part, for reasons it has not decided to
 * keep (each reason says what passes). None at the moment: every peer case the pack passes is a
 * decision ({@link LOOSER_ON_PURPOSE}) or the peer's artefact.
 */
export const PARTLY_COVERED: readonly CheckNote[] = [];

/** Claimed checks the pack enforces, but deliberately less strictly than the peer. */
export const LOOSER_ON_PURPOSE: readonly CheckNote[] = [
    {
        id: "CKV_GCP_6",
        reason: "`ENCRYPTED_ONLY` is accepted beside `TRUSTED_CLIENT_CERTIFICATE_REQUIRED`, which Checkov alone accepts for PostgreSQL: it is what the direct private-IP connector can enforce (TLS with the server's certificate and a password, no client certificate to distribute); the default connector, the Cloud SQL Auth Proxy, authenticates with IAM and runs with `TRUSTED_CLIENT_CERTIFICATE_REQUIRED` (components/database.ts `sslModeFor`).",
    },
    {
        id: "CKV_GCP_79",
        reason: "Every PostgreSQL major from 16 is accepted (`minimumMajorVersion`), not only the newest one Checkov wants: 16 has security fixes until November 2028, and a major upgrade takes planning. Other engines (MySQL, SQL Server) are refused outright, even their newest majors, which Checkov accepts: the platform runs PostgreSQL only.",
    },
    {
        id: "CKV_GCP_9",
        reason: "Only an explicit `autoRepair: false` is reported: unset, the provider defaults auto-repair to true (hashicorp/terraform-provider-google, resource_container_node_pool.go), where Checkov fails an empty `management` block.",
    },
    {
        id: "CKV_GCP_10",
        reason: "Only an explicit `autoUpgrade: false` is reported: unset, the provider defaults auto-upgrade to true (hashicorp/terraform-provider-google, resource_container_node_pool.go), where Checkov fails an empty `management` block.",
    },
    {
        id: "CKV_K8S_38",
        reason: "A pod that leaves `automountServiceAccountToken` unset passes when its ServiceAccount, declared in the stack, sets it false: the ServiceAccount's value applies then (https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting), as Polaris' automountServiceAccountToken also judges. Checkov reads the pod spec only.",
    },
    {
        id: "kube-linter:job-ttl-seconds-after-finished",
        reason: "Only the standalone-Job half is enforced. kube-linter also flags a CronJob whose `jobTemplate` sets `ttlSecondsAfterFinished`, because it interacts with the history limits; Kubernetes presents the TTL as another way to clean up a CronJob's finished Jobs (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#jobs-history-limits), whichever removes a Job first wins, so the pack does not refuse it.",
    },
];

/**
 * Checks of one tool that are the same rule as a listed check of another tool: they are not counted
 * again, and a policy covering `sameAs` covers them too.
 */
export const CHECK_ALIASES: ReadonlyArray<{ readonly id: string; readonly sameAs: string }> = [
    { id: "kube-linter:cluster-admin-role-binding", sameAs: "polaris:clusterrolebindingClusterAdmin" },
    { id: "kube-linter:wildcard-in-rules", sameAs: "CKV_K8S_49" },
    { id: "kube-linter:access-to-secrets", sameAs: "CKV2_K8S_5" },
    { id: "kube-linter:unsafe-proc-mount", sameAs: "polaris:procMount" },
    { id: "kube-linter:env-var-secret", sameAs: "polaris:sensitiveContainerEnvVar" },
    { id: "kube-linter:read-secret-from-env-var", sameAs: "CKV_K8S_35" },
    { id: "kube-linter:pdb-max-unavailable", sameAs: "polaris:pdbDisruptionsIsZero" },
    { id: "kube-linter:pdb-min-available", sameAs: "polaris:pdbMinAvailableGreaterThanHPAMinReplicas" },
    { id: "kube-linter:sensitive-host-mounts", sameAs: "polaris:hostPathSet" },
    { id: "kube-linter:writable-host-mount", sameAs: "polaris:hostPathSet" },
    { id: "kube-linter:docker-sock", sameAs: "CKV_K8S_27" },
    { id: "kube-linter:host-ipc", sameAs: "CKV_K8S_18" },
    { id: "kube-linter:host-network", sameAs: "CKV_K8S_19" },
    { id: "kube-linter:host-pid", sameAs: "CKV_K8S_17" },
    { id: "kube-linter:privileged-container", sameAs: "CKV_K8S_16" },
    { id: "kube-linter:privilege-escalation-container", sameAs: "CKV_K8S_20" },
    { id: "kube-linter:drop-net-raw-capability", sameAs: "CKV_K8S_28" },
    { id: "kube-linter:latest-tag", sameAs: "CKV_K8S_14" },
    { id: "kube-linter:no-read-only-root-fs", sameAs: "CKV_K8S_22" },
    { id: "kube-linter:unset-cpu-requirements", sameAs: "CKV_K8S_10" },
    { id: "kube-linter:unset-memory-requirements", sameAs: "CKV_K8S_13" },
    { id: "kube-linter:non-isolated-pod", sameAs: "CKV2_K8S_6" },
    { id: "kube-linter:use-namespace", sameAs: "CKV_K8S_21" },
    { id: "kube-score:horizontalpodautoscaler-replicas", sameAs: "polaris:hpaMinAvailability" },
    { id: "kube-score:container-image-tag", sameAs: "CKV_K8S_14" },
    { id: "kube-score:container-image-pull-policy", sameAs: "CKV_K8S_15" },
    { id: "kube-score:pod-networkpolicy", sameAs: "CKV2_K8S_6" },
    { id: "kube-score:pod-probes", sameAs: "CKV_K8S_9" },
    { id: "polaris:hostIPCSet", sameAs: "CKV_K8S_18" },
    { id: "polaris:hostNetworkSet", sameAs: "CKV_K8S_19" },
    { id: "polaris:hostPIDSet", sameAs: "CKV_K8S_17" },
    { id: "polaris:hostPortSet", sameAs: "CKV_K8S_26" },
    { id: "polaris:privilegeEscalationAllowed", sameAs: "CKV_K8S_20" },
    { id: "polaris:runAsPrivileged", sameAs: "CKV_K8S_16" },
    { id: "polaris:runAsRootAllowed", sameAs: "CKV_K8S_23" },
    { id: "polaris:notReadOnlyRootFilesystem", sameAs: "CKV_K8S_22" },
    { id: "polaris:tagNotSpecified", sameAs: "CKV_K8S_14" },
    { id: "polaris:pullPolicyNotAlways", sameAs: "CKV_K8S_15" },
    { id: "polaris:cpuRequestsMissing", sameAs: "CKV_K8S_10" },
    { id: "polaris:cpuLimitsMissing", sameAs: "CKV_K8S_11" },
    { id: "polaris:memoryRequestsMissing", sameAs: "CKV_K8S_12" },
    { id: "polaris:memoryLimitsMissing", sameAs: "CKV_K8S_13" },
    { id: "polaris:livenessProbeMissing", sameAs: "CKV_K8S_8" },
    { id: "polaris:readinessProbeMissing", sameAs: "CKV_K8S_9" },
];

/** The external check with this id, or `undefined`. */
export function externalCheck(id: string): ExternalCheck | undefined {
    return EXTERNAL_CHECKS.find((check) => check.id === id);
}

/** How the pack stands against one external check. */
export type CoverageStatus = "covered" | "partly covered" | "looser on purpose" | "exception" | "missing";

/** How the pack handles one external check. */
export interface CheckCoverage {
    readonly check: ExternalCheck;
    /** Names of the policies whose `covers` lists it (sorted). */
    readonly policies: string[];
    readonly status: CoverageStatus;
    /** The reason, for an exception, a partly covered check or one looser on purpose. */
    readonly reason?: string;
    /** The reason, when it is a deliberate exception. */
    readonly exception?: string;
}

/** The coverage of every external check by `policies` (anything with a name and optional `covers`). */
export function coverageOf(policies: ReadonlyArray<{ readonly name: string; readonly covers?: readonly string[] }>): CheckCoverage[] {
    return EXTERNAL_CHECKS.map((check) => {
        const claiming = policies.filter((p) => (p.covers ?? []).includes(check.id)).map((p) => p.name).sort();
        const exception = EXCEPTIONS.find((e) => e.id === check.id)?.reason;
        const partly = PARTLY_COVERED.find((e) => e.id === check.id)?.reason;
        const looser = LOOSER_ON_PURPOSE.find((e) => e.id === check.id)?.reason;
        const status: CoverageStatus = claiming.length === 0
            ? (exception !== undefined ? "exception" : "missing")
            : looser !== undefined ? "looser on purpose" : partly !== undefined ? "partly covered" : "covered";
        return {
            check, policies: claiming, status,
            ...(exception !== undefined ? { exception } : {}),
            ...((exception ?? looser ?? partly) !== undefined ? { reason: exception ?? looser ?? partly } : {}),
        };
    });
}

/** Where a claimed check's translated peer cases live (tests/policy-coverage.test.ts runs them). */
export function peerCasesPath(checkId: string): string {
    const colon = checkId.indexOf(":");
    const [tool, file] = colon < 0 ? ["checkov", checkId] : [checkId.slice(0, colon), checkId.slice(colon + 1)];
    return `tests/fixtures/policy/peers/${tool}/${file}.yaml`;
}
